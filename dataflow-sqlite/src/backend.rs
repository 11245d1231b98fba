//! The pooled SQLite backend.

use std::path::Path;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::{Connection as _, SqliteConnection};

use dataflow_core::{Backend, Capabilities, Connection, DataFlow, Error, HeldConnection, Result};

use crate::collation::{compare_decimal_text, DECIMAL_COLLATION};
use crate::connection::{map_error, SqliteConn};
use crate::dialect::SQLITE;

/// Options for opening an SQLite database, builder style.
///
/// ```no_run
/// use std::time::Duration;
/// let db = dataflow_sqlite::SqliteOptions::new("app.db")
///     .pool_size(4)
///     .busy_timeout(Duration::from_secs(10))
///     .open()?;
/// # Ok::<(), dataflow_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    path: std::path::PathBuf,
    pool_size: u32,
    busy_timeout: Duration,
    durable: bool,
}

impl SqliteOptions {
    /// Options for the database at `path` (`":memory:"` for an in-memory one).
    pub fn new(path: impl AsRef<Path>) -> Self {
        SqliteOptions {
            path: path.as_ref().to_path_buf(),
            pool_size: 8,
            busy_timeout: Duration::from_secs(5),
            durable: true,
        }
    }

    /// Maximum pooled connections (in-memory databases always use one).
    pub fn pool_size(mut self, n: u32) -> Self {
        self.pool_size = n.max(1);
        self
    }

    /// How long a statement waits for another writer before `Error::Busy`.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// `false` skips fsync (`synchronous = OFF`): for throwaway databases such as
    /// tests', never for data you keep.
    pub fn durable(mut self, yes: bool) -> Self {
        self.durable = yes;
        self
    }

    /// Opens the database.
    pub fn open(self) -> Result<DataFlow> {
        SqliteBackend::open(self)
            .map(|b| DataFlow::new(b, &SQLITE, &crate::describe::SQLITE_DESCRIBE))
    }
}

#[derive(Debug)]
struct Setup {
    busy_timeout_ms: u128,
    memory: bool,
    durable: bool,
}

impl Setup {
    fn apply(&self, conn: &mut SqliteConnection) -> diesel::QueryResult<()> {
        // diesel 2.3 hands the collation its operands swapped (right, left): flip
        // them back. The conformance suite's decimal ordering test fails if this
        // ever changes.
        conn.register_collation(DECIMAL_COLLATION, |right, left| {
            compare_decimal_text(left, right)
        })?;
        crate::regexp::register(conn)?;
        crate::aggregate::register(conn)?;
        // busy_timeout first, so the journal-mode switch itself waits for a lock.
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {}; PRAGMA foreign_keys = ON; \
             PRAGMA case_sensitive_like = ON; PRAGMA synchronous = {};",
            self.busy_timeout_ms,
            if self.durable { "NORMAL" } else { "OFF" }
        ))?;
        if !self.memory {
            // Switching a fresh file to WAL needs a moment of exclusive access and
            // can answer SQLITE_BUSY without consulting the busy handler when
            // several connections open it at once: retry within the busy timeout.
            let start = std::time::Instant::now();
            let mut pause = Duration::from_millis(2);
            loop {
                match conn.batch_execute("PRAGMA journal_mode = WAL;") {
                    Ok(()) => break,
                    Err(e)
                        if e.to_string().contains("locked")
                            && start.elapsed().as_millis() < self.busy_timeout_ms =>
                    {
                        std::thread::sleep(pause);
                        pause = (pause * 2).min(Duration::from_millis(50));
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }
}

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for Setup {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        self.apply(conn).map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Logs a warning when this SQLite turns a double-quoted name that is no
/// column into a string (built without `SQLITE_DQS=0`, e.g. in a workspace
/// whose `.cargo/config.toml` does not set `LIBSQLITE3_FLAGS`): then a model
/// column missing from its table reads back as its own name instead of failing.
/// Turning the fallback off per connection needs the C API (`unsafe`), so a
/// warning is what can be done here.
fn warn_if_double_quoted_strings(conn: &mut SqliteConnection) {
    if conn.batch_execute("SELECT \"dataflow_dqs_probe\"").is_ok() {
        tracing::warn!(
            "this SQLite accepts double-quoted strings (built without SQLITE_DQS=0): a model \
             column missing from its table reads as its own name; set LIBSQLITE3_FLAGS = \
             \"-DSQLITE_DQS=0\" in .cargo/config.toml [env] and rebuild"
        );
    }
}

/// An SQLite database behind an r2d2 pool of diesel connections.
pub struct SqliteBackend {
    pool: Pool<ConnectionManager<SqliteConnection>>,
    busy_timeout: Duration,
    /// The directory of a file database (not in-memory, not opened read-only).
    dir: Option<std::path::PathBuf>,
}

/// The directory holding the database file `raw` (a path or a `file:` URI),
/// where SQLite creates the file and its journal / WAL files; `None` for
/// in-memory and read-only databases.
fn database_dir(raw: &str, memory: bool) -> Option<std::path::PathBuf> {
    if memory {
        return None;
    }
    let (path, query) = match raw.strip_prefix("file:") {
        Some(uri) => uri.split_once('?').unwrap_or((uri, "")),
        None => (raw, ""),
    };
    if query
        .split('&')
        .any(|p| p == "mode=ro" || p == "immutable=1")
    {
        return None;
    }
    let path = std::path::Path::new(path);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => std::path::PathBuf::from("."),
    };
    Some(dir)
}

/// Whether this process may create files in `dir` (`false` only when it
/// exists and refuses; a missing directory is SQLite's own error to report).
fn dir_is_unwritable(dir: &std::path::Path) -> bool {
    #[cfg(unix)]
    {
        use rustix::fs::{access, Access};
        dir.is_dir() && access(dir, Access::WRITE_OK | Access::EXEC_OK).is_err()
    }
    #[cfg(not(unix))]
    {
        dir.metadata()
            .is_ok_and(|m| m.is_dir() && m.permissions().readonly())
    }
}

/// SQLite says "attempt to write a readonly database" (or "unable to open
/// database file") when it cannot create its journal next to the database;
/// say what is actually wrong.
fn explain_unwritable_dir(dir: Option<&std::path::Path>, e: Error) -> Error {
    let relevant = match &e {
        Error::Database(m) => m.contains("readonly database") || m.contains("unable to open"),
        Error::Connection(_) => true,
        _ => false,
    };
    // The access(2) check only on the errors it can explain.
    let Some(dir) = dir.filter(|d| relevant && dir_is_unwritable(d)) else {
        return e;
    };
    let because = format!(
        "the directory {} is not writable by this process (SQLite creates the \
         database's journal files next to it)",
        dir.display()
    );
    match e {
        Error::Database(m) => Error::Database(format!("cannot write: {because}; SQLite said: {m}")),
        Error::Connection(m) => Error::Connection(format!("{m}: {because}")),
        other => other,
    }
}

impl std::fmt::Debug for SqliteBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteBackend").finish_non_exhaustive()
    }
}

/// Distinguishes errors of the closure from diesel's own inside a transaction.
enum TxError {
    Diesel(diesel::result::Error),
    App(Error),
}

impl From<diesel::result::Error> for TxError {
    fn from(e: diesel::result::Error) -> Self {
        TxError::Diesel(e)
    }
}

impl SqliteBackend {
    /// Opens the database described by `options`.
    pub fn open(options: SqliteOptions) -> Result<Self> {
        let raw = options.path.to_str().ok_or_else(|| {
            Error::InvalidInput(format!("path {:?} is not valid UTF-8", options.path))
        })?;
        let raw = raw.strip_prefix("sqlite://").unwrap_or(raw);
        if raw.is_empty() {
            return Err(Error::InvalidInput("empty SQLite path".into()));
        }
        let memory = raw == ":memory:" || raw.contains("mode=memory");
        let setup = Setup {
            busy_timeout_ms: options.busy_timeout.as_millis(),
            memory,
            durable: options.durable,
        };
        // Connect once up front: a bad path fails now with SQLite's message instead
        // of inside the pool's retry loop.
        let dir = database_dir(raw, memory);
        let mut first = SqliteConnection::establish(raw).map_err(|e| {
            explain_unwritable_dir(
                dir.as_deref(),
                Error::Connection(format!("cannot open SQLite database {raw:?}: {e}")),
            )
        })?;
        setup.apply(&mut first).map_err(|e| {
            explain_unwritable_dir(
                dir.as_deref(),
                Error::Connection(format!("cannot set up {raw:?}: {e}")),
            )
        })?;
        warn_if_double_quoted_strings(&mut first);
        drop(first);
        let manager = ConnectionManager::<SqliteConnection>::new(raw);
        // No `SELECT 1` ping per checkout: a local file connection does not go
        // stale, and the ping cost ~10% of a read by key (callgrind).
        let builder = Pool::builder()
            .connection_timeout(Duration::from_secs(30))
            .test_on_check_out(false)
            .connection_customizer(Box::new(setup));
        // An in-memory database lives as long as its one connection: never let the
        // pool close it.
        let builder = if memory {
            builder
                .max_size(1)
                .min_idle(Some(1))
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            builder.max_size(options.pool_size).min_idle(Some(1))
        };
        let pool = builder
            .build(manager)
            .map_err(|e| Error::Connection(format!("cannot open SQLite database {raw:?}: {e}")))?;
        Ok(SqliteBackend {
            pool,
            busy_timeout: options.busy_timeout,
            dir,
        })
    }

    fn get(&self) -> Result<PooledConnection<ConnectionManager<SqliteConnection>>> {
        self.pool
            .get()
            .map_err(|e| Error::Connection(format!("no SQLite connection available: {e}")))
    }
}

/// What SQLite supports, as the core reads it.
pub const CAPABILITIES: Capabilities = Capabilities::new()
    // Since 3.35; the bundled SQLite is newer.
    .with_returning(true)
    .with_transactional_ddl(true)
    // A type change rebuilds the table.
    .with_alter_column_type(false)
    // Set on every connection (`PRAGMA case_sensitive_like = ON`).
    .with_case_sensitive_like(true)
    // SQLITE_MAX_VARIABLE_NUMBER since 3.32.
    .with_max_bind_params(32_766)
    .with_max_identifier_bytes(None)
    .with_enforces_column_types(false)
    .with_forward_references(true)
    // `regexp()` and `dataflow_iregexp()`, registered on every connection.
    .with_regex(true);

impl Backend for SqliteBackend {
    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    fn with_connection(&self, f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>) -> Result<()> {
        let mut conn = self.get()?;
        f(&mut SqliteConn(&mut conn)).map_err(|e| explain_unwritable_dir(self.dir.as_deref(), e))
    }

    fn with_transaction(&self, f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>) -> Result<()> {
        let mut conn = self.get()?;
        conn.immediate_transaction(|c| f(&mut SqliteConn(c)).map_err(TxError::App))
            .map_err(|e| match e {
                TxError::App(e) => e,
                TxError::Diesel(e) => map_error(e),
            })
            .map_err(|e| explain_unwritable_dir(self.dir.as_deref(), e))
    }

    fn hold(&self) -> Result<Box<dyn HeldConnection>> {
        Ok(Box::new(Held {
            conn: self.get()?,
            dir: self.dir.clone(),
        }))
    }

    /// The lock is the database's write lock, taken by `BEGIN IMMEDIATE` with the
    /// busy timeout set to `lock_timeout`: it spans connections and processes, and
    /// waits rather than fails. Foreign keys are off for the transaction (table
    /// rebuilds need that, and it cannot change inside a transaction), and
    /// `foreign_key_check` must come back clean before the commit.
    fn with_migration(
        &self,
        lock_timeout: Duration,
        f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>,
    ) -> Result<()> {
        let mut conn = self.get()?;
        conn.batch_execute(&format!(
            "PRAGMA foreign_keys = OFF; PRAGMA busy_timeout = {};",
            lock_timeout.as_millis()
        ))
        .map_err(map_error)?;
        let result = conn
            .immediate_transaction(|c| {
                f(&mut SqliteConn(c)).map_err(TxError::App)?;
                let mut violations = Vec::new();
                SqliteConn(c)
                    .query(
                        "SELECT \"table\", rowid, parent FROM pragma_foreign_key_check",
                        &[],
                        &[
                            dataflow_core::LogicalType::Text,
                            dataflow_core::LogicalType::BigInt,
                            dataflow_core::LogicalType::Text,
                        ],
                        &mut |row| {
                            violations.push(format!("{} row {} → {}", row[0], row[1], row[2]));
                            Ok(())
                        },
                    )
                    .map_err(TxError::App)?;
                if violations.is_empty() {
                    Ok(())
                } else {
                    Err(TxError::App(Error::ForeignKeyViolation {
                        message: format!(
                            "the migration would leave rows without their referenced row: {}",
                            violations.join(", ")
                        ),
                    }))
                }
            })
            .map_err(|e| match e {
                TxError::App(e) => e,
                TxError::Diesel(e) => match map_error(e) {
                    Error::Busy { .. } => Error::LockTimeout {
                        waited: lock_timeout,
                    },
                    other => other,
                },
            });
        // legacy_alter_table too: a rebuild that failed between turning it on
        // and off must not leave it on for the pooled connection's next user.
        let restore = conn
            .batch_execute(&format!(
                "PRAGMA foreign_keys = ON; PRAGMA legacy_alter_table = OFF; \
                 PRAGMA busy_timeout = {};",
                self.busy_timeout.as_millis()
            ))
            .map_err(map_error);
        result.and(restore)
    }
}

/// A pooled connection held for a user transaction.
struct Held {
    conn: PooledConnection<ConnectionManager<SqliteConnection>>,
    dir: Option<std::path::PathBuf>,
}

type Manager = <SqliteConnection as diesel::Connection>::TransactionManager;

impl Held {
    fn diesel(&self, r: diesel::QueryResult<()>) -> Result<()> {
        r.map_err(|e| explain_unwritable_dir(self.dir.as_deref(), map_error(e)))
    }
}

impl HeldConnection for Held {
    fn run(&mut self, f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>) -> Result<()> {
        f(&mut SqliteConn(&mut self.conn))
            .map_err(|e| explain_unwritable_dir(self.dir.as_deref(), e))
    }

    /// The outermost transaction is `BEGIN IMMEDIATE`: it takes the write lock
    /// now (waiting up to the busy timeout) instead of at its first write,
    /// where two readers upgrading at once fail with `SQLITE_BUSY` at once.
    fn begin(&mut self) -> Result<()> {
        use diesel::connection::TransactionManager;
        let conn = &mut *self.conn;
        let open = Manager::transaction_manager_status_mut(conn)
            .transaction_depth()
            .map_err(map_error)?
            .is_some();
        let r = if open {
            Manager::begin_transaction(conn)
        } else {
            Manager::begin_transaction_sql(conn, "BEGIN IMMEDIATE")
        };
        self.diesel(r)
    }

    fn commit(&mut self) -> Result<()> {
        use diesel::connection::TransactionManager;
        let r = Manager::commit_transaction(&mut *self.conn);
        self.diesel(r)
    }

    fn rollback(&mut self) -> Result<()> {
        use diesel::connection::TransactionManager;
        let r = Manager::rollback_transaction(&mut *self.conn);
        self.diesel(r)
    }
}
