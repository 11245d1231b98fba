//! A migrated PostgreSQL database per test, in one of two isolation modes.
//!
//! - [`Isolation::Database`] (default): a private database made by
//!   `CREATE DATABASE … TEMPLATE`, from a template migrated once per model set by
//!   the real migration engine; dropped after the test.
//! - [`Isolation::Transaction`]: one migrated database per model set, and each
//!   test's single connection works inside a transaction that is rolled back at
//!   the end (Django `TestCase` style): fastest, for tests that need no commit
//!   visible to another connection.
//!
//! ```no_run
//! # use dataflow_core::prelude::*;
//! # #[derive(Model, Debug, Clone, PartialEq)] struct User { id: i64, name: String }
//! use dataflow_postgres::testing::{Isolation, TestDb};
//! let db = TestDb::builder()
//!     .url("postgres://postgres@127.0.0.1:5432/postgres")
//!     .model::<User>()
//!     .isolation(Isolation::Transaction)
//!     .build()?;
//! # Ok::<(), dataflow_core::Error>(())
//! ```
//!
//! Template and shared databases are named after the sha256 of the model set's
//! schema, so a changed model set gets a new one, never a stale one; creating one
//! is serialised across processes by an advisory lock.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use dataflow_core::model::descriptor::ModelDescriptor;
use dataflow_core::{DataFlow, Error, LogicalType, MigrateOptions, Model, Result, Value};

use crate::PgOptions;

/// How tests are kept apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Isolation {
    /// A private database per test, cloned from a migrated template.
    #[default]
    Database,
    /// One shared migrated database; each test's work is rolled back.
    Transaction,
}

/// Builds a [`TestDb`].
#[derive(Debug, Default, Clone)]
#[must_use = "call .build()"]
pub struct TestDbBuilder {
    url: Option<String>,
    models: Vec<&'static ModelDescriptor>,
    fixtures: Vec<PathBuf>,
    isolation: Isolation,
}

impl TestDbBuilder {
    /// The server (any database on it); default: `DATABASE_URL`.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// Adds a model.
    pub fn model<M: Model>(mut self) -> Self {
        self.models.push(M::DESCRIPTOR);
        self
    }

    /// Adds several models: `.models(models![User, Post])`.
    pub fn models(mut self, models: &[&'static ModelDescriptor]) -> Self {
        self.models.extend_from_slice(models);
        self
    }

    /// Loads a fixture file (`.json` or `.sql`); all files in one transaction.
    pub fn fixtures(mut self, path: impl Into<PathBuf>) -> Self {
        self.fixtures.push(path.into());
        self
    }

    /// Chooses the isolation mode.
    pub fn isolation(mut self, isolation: Isolation) -> Self {
        self.isolation = isolation;
        self
    }

    /// Creates the database.
    pub fn build(self) -> Result<TestDb> {
        let url = match self.url {
            Some(u) => u,
            None => std::env::var("DATABASE_URL").map_err(|_| {
                Error::Connection(
                    "DATABASE_URL is not set: no PostgreSQL server for the test".into(),
                )
            })?,
        };
        // Fixtures go into the template (or the shared database) too: keyed by the
        // schema and the fixture files' contents.
        let key = dataflow_core::testing::template_key(&self.models, &self.fixtures)?;
        let admin = admin_for(&url)?;
        let (db, owned, db_url) = match self.isolation {
            Isolation::Database => {
                let template = ensure_migrated(
                    &admin,
                    &url,
                    &format!("df_tpl_{key}"),
                    &self.models,
                    &self.fixtures,
                )?;
                static SWEPT: std::sync::Once = std::sync::Once::new();
                let mut swept = Ok(());
                SWEPT.call_once(|| swept = sweep_dead(&admin));
                swept?;
                let name = take_clone(&admin, &template)?;
                let db_url = with_database(&url, &name);
                let db = PgOptions::new(db_url.as_str()).pool_size(4).connect();
                match db {
                    Ok(db) => (db, Some(name), db_url),
                    Err(e) => {
                        drop_database(&admin, &name);
                        return Err(e);
                    }
                }
            }
            Isolation::Transaction => {
                let shared = ensure_migrated(
                    &admin,
                    &url,
                    &format!("df_tx_{key}"),
                    &self.models,
                    &self.fixtures,
                )?;
                let db_url = with_database(&url, &shared);
                let conn = tx_pool(&db_url)?.get().map_err(|e| {
                    Error::Connection(format!("no PostgreSQL connection for the test: {e}"))
                })?;
                let db = DataFlow::new(crate::test_tx::PgTestTxBackend::new(conn)?);
                (db, None, db_url)
            }
        };
        let guard = TestDb {
            db: Some(db),
            admin,
            database: owned,
            url: db_url,
        };
        guard.register_all(&self.models)?;
        Ok(guard)
    }
}

/// A private database for one test; derefs to [`DataFlow`]. Dropping it drops
/// the database (or rolls the test transaction back); a panicking test keeps its
/// database and prints its name.
pub struct TestDb {
    db: Option<DataFlow>,
    admin: DataFlow,
    database: Option<String>,
    url: String,
}

impl TestDb {
    /// Starts a builder.
    pub fn builder() -> TestDbBuilder {
        TestDbBuilder::default()
    }

    /// The private database's name (`None` in transaction mode).
    pub fn database(&self) -> Option<&str> {
        self.database.as_deref()
    }

    /// The URL of the test's database (in transaction mode, the shared one: a
    /// second connection to it does not see the test's uncommitted rows).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A clone of the handle.
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
        f.debug_struct("TestDb")
            .field("database", &self.database)
            .finish()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Closing the pool ends the connections (and rolls a test transaction back).
        self.db = None;
        if let Some(name) = &self.database {
            if std::thread::panicking() {
                eprintln!("dataflow: test failed; its database {name} is kept for inspection");
            } else {
                drop_database(&self.admin, name);
            }
        }
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// How many clones of a template are kept ready ahead of the tests.
const PREPARED: usize = 2;

/// Clones of one template made ahead of time by a background thread, so a test
/// waits for `CREATE DATABASE … TEMPLATE` only when the pool is empty.
#[derive(Default)]
struct Prepared {
    ready: std::sync::Mutex<std::collections::VecDeque<String>>,
    filling: std::sync::atomic::AtomicBool,
}

fn create_clone(admin: &DataFlow, template: &str) -> Result<String> {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = format!("df_t_{}_{n}", std::process::id());
    admin.with_conn(|c| {
        c.batch_execute(&format!(
            "CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""
        ))
    })?;
    Ok(name)
}

fn take_clone(admin: &DataFlow, template: &str) -> Result<String> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    static POOLS: OnceLock<Mutex<HashMap<String, Arc<Prepared>>>> = OnceLock::new();
    let pool = {
        let mut map = POOLS
            .get_or_init(Default::default)
            .lock()
            .map_err(|_| Error::Database("clone pool poisoned".into()))?;
        Arc::clone(map.entry(template.to_owned()).or_default())
    };
    let ready = pool.ready.lock().ok().and_then(|mut q| q.pop_front());
    let name = match ready {
        Some(n) => n,
        None => create_clone(admin, template)?,
    };
    if !pool.filling.swap(true, Ordering::AcqRel) {
        let (admin, template, pool) = (admin.clone(), template.to_owned(), Arc::clone(&pool));
        std::thread::spawn(move || {
            while pool.ready.lock().map(|q| q.len()).unwrap_or(PREPARED) < PREPARED {
                match create_clone(&admin, &template) {
                    Ok(n) => {
                        if let Ok(mut q) = pool.ready.lock() {
                            q.push_back(n);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(target: "dataflow::testing", %e, "could not prepare a test database");
                        break;
                    }
                }
            }
            pool.filling.store(false, Ordering::Release);
        });
    }
    Ok(name)
}

/// Connections to a shared transaction-mode database, reused by every test of the
/// process (each test holds one for its duration and rolls back on drop).
fn tx_pool(
    url: &str,
) -> Result<diesel::r2d2::Pool<diesel::r2d2::ConnectionManager<diesel::PgConnection>>> {
    use diesel::r2d2::{ConnectionManager, Pool};
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    type Pools = Mutex<HashMap<String, Pool<ConnectionManager<diesel::PgConnection>>>>;
    static POOLS: OnceLock<Pools> = OnceLock::new();
    let mut map = POOLS
        .get_or_init(Default::default)
        .lock()
        .map_err(|_| Error::Database("pool registry poisoned".into()))?;
    if let Some(p) = map.get(url) {
        return Ok(p.clone());
    }
    let pool = Pool::builder()
        .max_size(32)
        .min_idle(Some(0))
        .test_on_check_out(false)
        .build(ConnectionManager::<diesel::PgConnection>::new(url))
        .map_err(|e| Error::Connection(format!("cannot connect to PostgreSQL: {e}")))?;
    map.insert(url.to_owned(), pool.clone());
    Ok(pool)
}

/// One maintenance handle per server URL and process.
fn admin_for(url: &str) -> Result<DataFlow> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static ADMINS: OnceLock<Mutex<HashMap<String, DataFlow>>> = OnceLock::new();
    let mut map = ADMINS
        .get_or_init(Default::default)
        .lock()
        .map_err(|_| Error::Database("admin registry poisoned".into()))?;
    if let Some(db) = map.get(url) {
        return Ok(db.clone());
    }
    let db = PgOptions::new(url).pool_size(2).connect()?;
    map.insert(url.to_owned(), db.clone());
    Ok(db)
}

fn drop_database(admin: &DataFlow, name: &str) {
    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
    if let Err(e) = admin.with_conn(|c| c.batch_execute(&sql)) {
        eprintln!("dataflow: could not drop test database {name}: {e}");
    }
}

/// `url` with its database replaced by `name` (query string kept).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let rest = base
        .strip_prefix("postgres://")
        .or_else(|| base.strip_prefix("postgresql://"))
        .unwrap_or(base);
    let host = rest.split('/').next().unwrap_or(rest);
    match query {
        Some(q) => format!("postgres://{host}/{name}?{q}"),
        None => format!("postgres://{host}/{name}"),
    }
}

/// Creates and migrates `name` unless it exists: once per process (cached), and
/// across processes under a session advisory lock held on one connection for the
/// whole check-create-migrate sequence. A marker comment says the migration
/// finished, so a half-built database left by a killed run is rebuilt.
fn ensure_migrated(
    admin: &DataFlow,
    url: &str,
    name: &str,
    models: &[&'static ModelDescriptor],
    fixtures: &[PathBuf],
) -> Result<String> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    type Cells = Mutex<HashMap<String, Arc<Mutex<bool>>>>;
    static BUILT: OnceLock<Cells> = OnceLock::new();
    let cell = {
        let mut map = BUILT
            .get_or_init(Default::default)
            .lock()
            .map_err(|_| Error::Database("template registry poisoned".into()))?;
        Arc::clone(map.entry(format!("{url}|{name}")).or_default())
    };
    // Failures are not cached and keep their kind (a bad fixture stays InvalidInput).
    let mut built = cell
        .lock()
        .map_err(|_| Error::Database("template registry poisoned".into()))?;
    if !*built {
        build_once(admin, url, name, models, fixtures)?;
        *built = true;
    }
    Ok(name.to_owned())
}

fn build_once(
    admin: &DataFlow,
    url: &str,
    name: &str,
    models: &[&'static ModelDescriptor],
    fixtures: &[PathBuf],
) -> Result<String> {
    const READY: &str = "dataflow: migrated";
    let mut lit = String::new();
    dataflow_core::Dialect::string_literal(&crate::POSTGRES, name, &mut lit);
    admin.with_conn(|c| {
        c.batch_execute(&format!("SELECT pg_advisory_lock(hashtext({lit}))"))?;
        let result = (|| {
            let mut ready = false;
            let mut exists = false;
            c.query(
                "SELECT (s.description IS NOT DISTINCT FROM $2)::bool FROM pg_database d \
                 LEFT JOIN pg_shdescription s ON s.objoid = d.oid WHERE d.datname = $1",
                &[Value::Text(name.to_owned()), Value::Text(READY.into())],
                &[LogicalType::Bool],
                &mut |row| {
                    exists = true;
                    ready = matches!(row[0], Value::Bool(true));
                    Ok(())
                },
            )?;
            if ready {
                return Ok(());
            }
            if exists {
                c.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))?;
            }
            c.batch_execute(&format!("CREATE DATABASE \"{name}\""))?;
            let loaded = (|| {
                let db = PgOptions::new(with_database(url, name))
                    .pool_size(1)
                    .connect()?;
                db.register_all(models)?;
                db.auto_migrate(MigrateOptions::default())?;
                if !fixtures.is_empty() {
                    dataflow_core::testing::load_fixture_files(&db, fixtures)?;
                }
                Ok(())
            })();
            if let Err(e) = loaded {
                c.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))?;
                return Err(e);
            }
            c.batch_execute(&format!("COMMENT ON DATABASE \"{name}\" IS '{READY}'"))
        })();
        let unlocked = c.batch_execute(&format!("SELECT pg_advisory_unlock(hashtext({lit}))"));
        result.and(unlocked)
    })?;
    Ok(name.to_owned())
}

/// Drops `df_t_<pid>_*` databases of test processes that no longer run here.
fn sweep_dead(admin: &DataFlow) -> Result<()> {
    let mut names = Vec::new();
    admin.with_conn(|c| {
        c.query(
            "SELECT datname::text FROM pg_database WHERE datname LIKE 'df\\_t\\_%'",
            &[],
            &[LogicalType::Text],
            &mut |row| {
                if let Value::Text(s) = std::mem::take(&mut row[0]) {
                    names.push(s);
                }
                Ok(())
            },
        )
    })?;
    for name in names {
        let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid {
            if pid != std::process::id()
                && std::path::Path::new("/proc").exists()
                && !std::path::Path::new("/proc").join(pid.to_string()).exists()
            {
                drop_database(admin, &name);
            }
        }
    }
    Ok(())
}

/// The server tests should use: `DATABASE_URL`. Without it, `None` after
/// printing why the test skips; under `CI=true` it panics instead, because a
/// PostgreSQL test must never silently skip in CI.
pub fn server_url() -> Option<String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) => Some(url),
        Err(_) => {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "CI=true but DATABASE_URL is not set: PostgreSQL tests must not skip in CI"
            );
            eprintln!("skipping PostgreSQL test: DATABASE_URL is not set");
            None
        }
    }
}
