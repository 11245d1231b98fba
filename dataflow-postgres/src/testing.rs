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
//!
//! Behind a transaction pooler, give the server's direct URL as
//! [`TestDbBuilder::migration_url`]: creating, cloning and dropping databases,
//! the build lock and the migrations go there, and the test's handle sends its
//! CRUD through the pooler (declare it in its URL, so prepared statements are
//! off):
//!
//! ```no_run
//! # use dataflow_core::prelude::*;
//! # #[derive(Model, Debug, Clone, PartialEq)] struct User { id: i64, name: String }
//! use dataflow_postgres::testing::TestDb;
//! let db = TestDb::builder()
//!     .url("postgres://postgres@127.0.0.1:6432/postgres?pooler=transaction")
//!     .migration_url("postgres://postgres@127.0.0.1:5432/postgres")
//!     .model::<User>()
//!     .build()?;
//! # Ok::<(), dataflow_core::Error>(())
//! ```

use std::sync::atomic::{AtomicU64, Ordering};

use dataflow_core::testing::{process_is_gone, ServerDatabase, ServerSettings, TestHooks};
use dataflow_core::{DataFlow, Error, LogicalType, Result, Value};

use crate::connection::select_bool;
use crate::PgOptions;

pub use dataflow_core::testing::{server_url, service_url, Isolation};

/// Panics, showing the pending plan, when `models` need a migration the
/// files of `dir` lack. Skipped (with a message) without `DATABASE_URL`,
/// except under `CI=true`.
pub fn assert_migrations_up_to_date(
    dir: impl AsRef<std::path::Path>,
    models: &[&'static dataflow_core::ModelDescriptor],
) {
    if server_url().is_some() {
        dataflow_core::testing::assert_migrations_up_to_date::<PgTestHooks>(dir, models);
    }
}

/// Runs up → down → up for every migration of `dir` on a fresh database and
/// panics naming the first whose `down.sql` does not undo its `up.sql`.
/// Skipped (with a message) without `DATABASE_URL`, except under `CI=true`.
pub fn assert_migrations_reversible(dir: impl AsRef<std::path::Path>) {
    if server_url().is_some() {
        dataflow_core::testing::assert_migrations_reversible::<PgTestHooks>(dir);
    }
}

/// A private database for one test; derefs to [`DataFlow`]. Dropping it drops
/// the database (or rolls the test transaction back); a panicking test keeps its
/// database and prints its name.
pub type TestDb = dataflow_core::testing::TestDb<PgTestHooks>;

/// Builds a [`TestDb`].
pub type TestDbBuilder = dataflow_core::testing::TestDbBuilder<PgTestHooks>;

/// How PostgreSQL makes test databases: templates on the server, cloned per test
/// by `CREATE DATABASE … TEMPLATE` or shared under a rolled-back transaction.
#[derive(Debug, Clone)]
pub struct PgTestHooks {
    /// Where the tests' handles send their CRUD.
    url: String,
    /// Where databases are made and migrated: the migration URL, else `url`.
    admin_url: String,
    migration_url: Option<String>,
    admin: DataFlow,
    isolation: Isolation,
}

impl TestHooks for PgTestHooks {
    type Settings = ServerSettings;
    type Template = String;
    type Database = ServerDatabase;

    fn new(settings: ServerSettings) -> Result<Self> {
        let url = settings.resolve_url()?;
        let admin_url = settings
            .migration_url
            .clone()
            .unwrap_or_else(|| url.clone());
        Ok(PgTestHooks {
            admin: admin_for(&admin_url)?,
            admin_url,
            migration_url: settings.migration_url,
            url,
            isolation: settings.isolation,
        })
    }

    fn place(&self) -> String {
        self.admin_url.clone()
    }

    fn template_name(&self, key: &str) -> String {
        match self.isolation {
            Isolation::Database => format!("df_tpl_{key}"),
            Isolation::Transaction => format!("df_tx_{key}"),
        }
    }

    fn build_template(&self, name: &str, fill: &dyn Fn(&DataFlow) -> Result<()>) -> Result<String> {
        build_once(&self.admin, &self.admin_url, name, fill)
    }

    fn create(&self, template: &String) -> Result<ServerDatabase> {
        Ok(match self.isolation {
            Isolation::Database => {
                static SWEPT: std::sync::Once = std::sync::Once::new();
                let mut swept = Ok(());
                SWEPT.call_once(|| swept = sweep_dead(&self.admin));
                swept?;
                let name = take_clone(&self.admin, template)?;
                ServerDatabase {
                    url: with_database(&self.url, &name),
                    migration_url: self.migration_url.as_ref().map(|m| with_database(m, &name)),
                    name: Some(name),
                }
            }
            Isolation::Transaction => ServerDatabase {
                name: None,
                url: with_database(&self.url, template),
                migration_url: self
                    .migration_url
                    .as_ref()
                    .map(|m| with_database(m, template)),
            },
        })
    }

    fn connect(&self, database: &ServerDatabase) -> Result<DataFlow> {
        match database.name {
            Some(_) => {
                let options = PgOptions::new(database.url.as_str()).pool_size(4);
                match &database.migration_url {
                    Some(m) => options.migration_url(m.as_str()),
                    None => options,
                }
                .connect()
            }
            None => {
                let conn = tx_pool(&database.url)?.get().map_err(|e| {
                    Error::Connection(format!("no PostgreSQL connection for the test: {e}"))
                })?;
                Ok(DataFlow::new(
                    crate::test_tx::PgTestTxBackend::new(conn)?,
                    &crate::dialect::POSTGRES,
                    &crate::describe::PG_DESCRIBE,
                ))
            }
        }
    }

    fn discard(&self, database: &ServerDatabase) {
        if let Some(name) = &database.name {
            drop_database(&self.admin, name);
        }
    }

    fn kept(database: &ServerDatabase) -> Option<String> {
        database.name.clone()
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
    let (conn_url, options) = crate::options::take_url_options(url)?;
    let pool = Pool::builder()
        .max_size(32)
        .min_idle(Some(0))
        .test_on_check_out(false)
        .connection_customizer(Box::new(Statements(
            options
                .prepared_statements
                .unwrap_or(options.pooler != Some(crate::Pooler::Transaction)),
        )))
        .build(ConnectionManager::<diesel::PgConnection>::new(conn_url))
        .map_err(|e| Error::Connection(format!("cannot connect to PostgreSQL: {e}")))?;
    map.insert(url.to_owned(), pool.clone());
    Ok(pool)
}

/// Applies the URL's `prepared_statements` to each connection of a test pool.
#[derive(Debug)]
struct Statements(bool);

impl diesel::r2d2::CustomizeConnection<diesel::PgConnection, diesel::r2d2::Error> for Statements {
    fn on_acquire(
        &self,
        conn: &mut diesel::PgConnection,
    ) -> std::result::Result<(), diesel::r2d2::Error> {
        crate::connection::set_prepared_statements(conn, self.0);
        Ok(())
    }
}

/// One maintenance handle per server URL and process. It needs sessions of
/// its own (`CREATE DATABASE` cannot run in a transaction, and the build lock
/// is held across statements), so a transaction pooler, declared in the URL
/// or found by the same probe migrations use, is refused: through one, the
/// lock would stay on a pooled server session and the next build wait for ever.
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
    let (plain, options) = crate::options::take_url_options(url)?;
    if options.pooler == Some(crate::Pooler::Transaction)
        || (options.pooler.is_none()
            && crate::backend::shares_sessions(&crate::options::conninfo(
                &plain,
                std::time::Duration::from_secs(10),
            ))?)
    {
        return Err(Error::NeedsSession {
            operation: "TestDb's administration (CREATE DATABASE … TEMPLATE, dropping test \
                        databases, the lock that builds each template once)"
                .into(),
            remedy: "Give TestDbBuilder::migration_url the server's direct URL, and keep the \
                     pooler as its url for the tests' CRUD"
                .into(),
        });
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

/// How long a build waits for another process building the same template.
const BUILD_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

/// Creates `name` and lets `fill` migrate it, unless a finished one exists:
/// across processes under a session advisory lock held on one connection for
/// the whole check-create-migrate sequence (the core builds it once per process)
/// and released on it. The lock is polled for, at most [`BUILD_WAIT`].
/// A marker comment says the migration finished, so a half-built database left
/// by a killed run is rebuilt.
fn build_once(
    admin: &DataFlow,
    url: &str,
    name: &str,
    fill: &dyn Fn(&DataFlow) -> Result<()>,
) -> Result<String> {
    const READY: &str = "dataflow: migrated";
    let mut lit = String::new();
    dataflow_core::SchemaDialect::string_literal(&crate::POSTGRES, name, &mut lit);
    admin.with_conn(|c| {
        lock_build(c, &lit)?;
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
                fill(&db)
            })();
            if let Err(e) = loaded {
                c.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))?;
                return Err(e);
            }
            c.batch_execute(&format!("COMMENT ON DATABASE \"{name}\" IS '{READY}'"))
        })();
        let unlocked = unlock_build(c, &lit);
        result.and(unlocked)
    })?;
    Ok(name.to_owned())
}

/// Takes the build lock of the template whose name is the literal `lit`,
/// polling `pg_try_advisory_lock` for at most [`BUILD_WAIT`].
fn lock_build(c: &mut dyn dataflow_core::Connection, lit: &str) -> Result<()> {
    let started = std::time::Instant::now();
    let mut delay = std::time::Duration::from_millis(10);
    loop {
        if select_bool(c, &format!("SELECT pg_try_advisory_lock(hashtext({lit}))"))? {
            return Ok(());
        }
        if started.elapsed() >= BUILD_WAIT {
            return Err(Error::LockTimeout { waited: BUILD_WAIT });
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(std::time::Duration::from_millis(200));
    }
}

/// Releases the build lock on the session that took it. `false` from
/// `pg_advisory_unlock` means this session did not hold it: the statements
/// reached another server session, which a pooler sharing sessions does.
fn unlock_build(c: &mut dyn dataflow_core::Connection, lit: &str) -> Result<()> {
    if select_bool(c, &format!("SELECT pg_advisory_unlock(hashtext({lit}))"))? {
        Ok(())
    } else {
        Err(Error::Database(format!(
            "the template build lock {lit} was not held by the session releasing it: \
             the server sessions behind the URL are shared (a transaction pooler); give \
             TestDbBuilder::migration_url the server's direct URL"
        )))
    }
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
        if pid.is_some_and(process_is_gone) {
            drop_database(admin, &name);
        }
    }
    Ok(())
}
