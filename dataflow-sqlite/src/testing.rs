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
//! schema, so a changed model never meets a stale template. The builder and the
//! guard are [`dataflow_core::testing`]'s; this module says how SQLite makes,
//! opens and removes a database.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use dataflow_core::testing::{process_is_gone, TestHooks};
use dataflow_core::{DataFlow, Error, Result};

/// A private database file for one test; derefs to [`DataFlow`]. Dropping it
/// removes the file, unless the test panicked: then the file is kept and its path
/// printed.
pub type TestDb = dataflow_core::testing::TestDb<SqliteTestHooks>;

/// Builds a [`TestDb`].
pub type TestDbBuilder = dataflow_core::testing::TestDbBuilder<SqliteTestHooks>;

/// Panics, showing the pending plan, when `models` need a migration the
/// files of `dir` lack: put it in a test so `cargo test` fails when a model
/// changed and nobody generated its migration.
pub fn assert_migrations_up_to_date(
    dir: impl AsRef<Path>,
    models: &[&'static dataflow_core::ModelDescriptor],
) {
    dataflow_core::testing::assert_migrations_up_to_date::<SqliteTestHooks>(dir, models);
}

/// Runs up → down → up for every migration of `dir` on a fresh database and
/// panics naming the first whose `down.sql` does not undo its `up.sql`.
pub fn assert_migrations_reversible(dir: impl AsRef<Path>) {
    dataflow_core::testing::assert_migrations_reversible::<SqliteTestHooks>(dir);
}

/// How SQLite makes test databases: template files in `$TMPDIR/dataflow-tests`,
/// copied per test.
#[derive(Debug, Clone, Copy)]
pub struct SqliteTestHooks;

impl TestHooks for SqliteTestHooks {
    type Settings = ();
    type Template = PathBuf;
    type Database = PathBuf;

    fn new((): ()) -> Result<Self> {
        Ok(SqliteTestHooks)
    }

    fn template_name(&self, key: &str) -> String {
        format!("tpl-{}-{key}.db", std::process::id())
    }

    fn build_template(
        &self,
        name: &str,
        fill: &dyn Fn(&DataFlow) -> Result<()>,
    ) -> Result<PathBuf> {
        let path = work_dir()?.join(name);
        remove_db_files(&path);
        let built = (|| {
            let db = crate::SqliteOptions::new(&path).pool_size(1).open()?;
            fill(&db)?;
            // Everything into the main file, so copying that one file is a full copy.
            db.with_conn(|c| c.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)"))
        })();
        if let Err(e) = built {
            remove_db_files(&path);
            return Err(e);
        }
        Ok(path)
    }

    fn create(&self, template: &PathBuf) -> Result<PathBuf> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = work_dir()?.join(format!("test-{}-{n}.db", std::process::id()));
        std::fs::copy(template, &path)
            .map_err(|e| Error::Connection(format!("cannot copy template {template:?}: {e}")))?;
        Ok(path)
    }

    fn connect(&self, path: &PathBuf) -> Result<DataFlow> {
        crate::SqliteOptions::new(path)
            .pool_size(4)
            .durable(false)
            .open()
    }

    fn discard(&self, path: &PathBuf) {
        remove_db_files(path);
    }

    fn kept(path: &PathBuf) -> Option<String> {
        Some(format!("at {}", path.display()))
    }
}

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
        if pid.is_some_and(process_is_gone) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}
