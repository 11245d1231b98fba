//! A fresh, migrated SQLite database per test, cloned from a per-process template.
//!
//! ```no_run
//! # use dataflow_core::prelude::*;
//! # #[derive(Model, Debug, Clone, PartialEq)] struct User { id: i64, name: String }
//! let db = dataflow_sqlite::testing::TestDb::builder()
//!     .model::<User>()
//!     .fixtures("tests/fixtures/users.json")
//!     .build()?;
//! assert!(User::list(&db).count()? >= 0);
//! # Ok::<(), dataflow_core::Error>(())
//! ```
//!
//! The schema is built once per model set and process by the real migration
//! engine (`auto_migrate`, the path production takes), checkpointed into a
//! template file, and copied for every test: a file copy instead of a migration
//! per test. Each model set has its own template keyed by the sha256 of its
//! schema, so a changed model never meets a stale template.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use dataflow_core::model::descriptor::ModelDescriptor;
use dataflow_core::{DataFlow, Error, MigrateOptions, Model, Result};

/// Builds a [`TestDb`].
#[derive(Debug, Default, Clone)]
#[must_use = "call .build()"]
pub struct TestDbBuilder {
    models: Vec<&'static ModelDescriptor>,
    fixtures: Vec<PathBuf>,
}

impl TestDbBuilder {
    /// Adds a model whose table the database should have.
    pub fn model<M: Model>(mut self) -> Self {
        self.models.push(M::DESCRIPTOR);
        self
    }

    /// Adds several models: `.models(models![User, Post])`.
    pub fn models(mut self, models: &[&'static ModelDescriptor]) -> Self {
        self.models.extend_from_slice(models);
        self
    }

    /// Loads a fixture file (`.json` or `.sql`) after the schema is built. All
    /// files load in one transaction.
    pub fn fixtures(mut self, path: impl Into<PathBuf>) -> Self {
        self.fixtures.push(path.into());
        self
    }

    /// Creates the database.
    pub fn build(self) -> Result<TestDb> {
        // Fixtures are loaded into the template too: a test costs one file copy.
        let template = template_for(&self.models, &self.fixtures)?;
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = work_dir()?.join(format!("test-{}-{n}.db", std::process::id()));
        std::fs::copy(&template, &path)
            .map_err(|e| Error::Connection(format!("cannot copy template {template:?}: {e}")))?;
        // The guard exists before anything can fail, so a failed setup still
        // removes its file.
        let mut guard = TestDb { db: None, path };
        let db = crate::SqliteOptions::new(&guard.path)
            .pool_size(4)
            .durable(false)
            .open()?;
        db.register_all(&self.models)?;
        guard.db = Some(db);
        Ok(guard)
    }
}

/// A private database for one test; derefs to [`DataFlow`]. Dropping it removes
/// the file, unless the test panicked: then the file is kept and its path printed.
pub struct TestDb {
    db: Option<DataFlow>,
    path: PathBuf,
}

impl TestDb {
    /// Starts a builder.
    pub fn builder() -> TestDbBuilder {
        TestDbBuilder::default()
    }

    /// Where the database file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A clone of the handle (for code that takes `DataFlow` by value).
    pub fn handle(&self) -> DataFlow {
        (**self).clone()
    }
}

impl std::ops::Deref for TestDb {
    type Target = DataFlow;
    fn deref(&self) -> &DataFlow {
        self.db.as_ref().expect("a built TestDb has a handle")
    }
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb").field("path", &self.path).finish()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        self.db = None;
        if std::thread::panicking() {
            eprintln!(
                "dataflow: test failed; its database is kept at {}",
                self.path.display()
            );
            return;
        }
        remove_db_files(&self.path);
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn remove_db_files(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

/// `$TMPDIR/dataflow-tests`, created once; files left by processes that no longer
/// run (a killed test run) are removed the first time.
fn work_dir() -> Result<PathBuf> {
    static DIR: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join("dataflow-tests");
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {dir:?}: {e}"))?;
        sweep_dead(&dir);
        Ok(dir)
    })
    .clone()
    .map_err(Error::Connection)
}

/// Removes `test-<pid>-*` and `tpl-<pid>-*` files of processes that are gone.
fn sweep_dead(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let pid = name.split('-').nth(1).and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid {
            if pid != std::process::id() && !Path::new("/proc").join(pid.to_string()).exists() {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

type Templates = Mutex<HashMap<String, Arc<Mutex<Option<PathBuf>>>>>;

/// The template file for a model set and its fixtures, built on first use by
/// `auto_migrate` and the fixture loader. A failed build is not cached, and its
/// error keeps its kind (a bad fixture stays `InvalidInput`).
fn template_for(models: &[&'static ModelDescriptor], fixtures: &[PathBuf]) -> Result<PathBuf> {
    static TEMPLATES: OnceLock<Templates> = OnceLock::new();
    let key = dataflow_core::testing::template_key(models, fixtures)?;
    let cell = {
        let mut map = TEMPLATES
            .get_or_init(Default::default)
            .lock()
            .map_err(|_| Error::Database("template registry poisoned".into()))?;
        Arc::clone(map.entry(key.clone()).or_default())
    };
    let mut slot = cell
        .lock()
        .map_err(|_| Error::Database("template registry poisoned".into()))?;
    if let Some(path) = slot.as_ref() {
        return Ok(path.clone());
    }
    let path = build_template(models, fixtures, &key)?;
    *slot = Some(path.clone());
    Ok(path)
}

fn build_template(
    models: &[&'static ModelDescriptor],
    fixtures: &[PathBuf],
    key: &str,
) -> Result<PathBuf> {
    let path = work_dir()?.join(format!("tpl-{}-{key}.db", std::process::id()));
    remove_db_files(&path);
    let built = (|| {
        let db = crate::SqliteOptions::new(&path).pool_size(1).open()?;
        db.register_all(models)?;
        db.auto_migrate(MigrateOptions::default())?;
        if !fixtures.is_empty() {
            dataflow_core::testing::load_fixture_files(&db, fixtures)?;
        }
        // Everything into the main file, so copying that one file is a full copy.
        db.with_conn(|c| c.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)"))
    })();
    if let Err(e) = built {
        remove_db_files(&path);
        return Err(e);
    }
    Ok(path)
}
