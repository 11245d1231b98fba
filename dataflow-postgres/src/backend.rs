//! The pooled PostgreSQL backend.
//!
//! Kept whole (about 700 lines): the pool's connection manager, the checkout
//! check, held transactions and the session lock all act on the same pooled
//! connection type, and their invariants (a lost connection is never reused,
//! a lock is released on the connection that took it) read best together.
//! Where reads go when there are read replicas is `replicas.rs`.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, ManageConnection, Pool, PooledConnection};
use diesel::{Connection as _, PgConnection};

use dataflow_core::{
    Backend, Capabilities, Connection, Error, HeldConnection, LogicalType, Result, Value,
};

use crate::connection::{map_error, PgConn, Watched};
use crate::opening::Opening;
use crate::options::{conninfo, take_url_options, PgOptions, Pooler};
use crate::relay::{waiting, Relay, Upstream};
use crate::replicas::{Replicas, Wrote};

/// A PostgreSQL database behind an r2d2 pool of diesel connections, and,
/// with [`PgOptions::read_urls`], a pool per read replica.
pub struct PgBackend {
    pool: Pool<Manager>,
    /// `None` without read replicas: every call then takes the same path as
    /// with none configured, one branch more.
    replicas: Option<Box<Replicas>>,
    test_transaction: bool,
    url: String,
    opening: Arc<Opening>,
    connect_timeout: Duration,
    prepared_statements: bool,
    sessions: Sessions,
    /// With [`Sessions::Unknown`]: whether the probe found the handle's URL
    /// sharing server sessions between clients (probed once, when a
    /// migration first needs a session-level lock).
    shared: OnceLock<bool>,
}

/// Where the migration gets a server session that outlives its transaction.
#[derive(Debug)]
enum Sessions {
    /// Connections to this URL are sessions of their own: the migration URL,
    /// or the handle's own behind no pooler or a session pooler.
    Own { url: String, prepared: bool },
    /// The handle's URL is a declared transaction pooler and there is no
    /// migration URL: nothing may rely on a session.
    Pooled,
    /// Nothing declared: the handle's URL is probed before the first
    /// session-level lock ([`shares_sessions`]).
    Unknown,
}

/// Where one migration runs.
enum Route<'a> {
    /// On its own session at this URL, with or without named statements.
    Own(&'a str, bool),
    /// Through the transaction pooler of the handle's URL.
    Pooled,
}

impl Drop for PgBackend {
    fn drop(&mut self) {
        self.opening
            .wait_none(self.connect_timeout + Duration::from_secs(1));
    }
}

/// diesel's r2d2 manager plus a flag set when a call finds the server gone:
/// diesel's own `is_broken` only knows about broken transactions, so without
/// it a dropped connection would go back to the pool and fail every later call
/// (with the checkout check off).
pub(crate) struct Manager {
    inner: ConnectionManager<PgConnection>,
    url: String,
    relay: Option<RelayTo>,
    opening: Arc<Opening>,
    prepared_statements: bool,
    /// The pooler the URL or the options declare, if any.
    pooler: Option<Pooler>,
    /// Prepared statements as chosen in the URL or the options, before the
    /// pooler's default: what a migration URL without its own choice follows.
    chosen_prepared: Option<bool>,
}

/// Where and how each pooled connection's socket-timeout relay connects.
struct RelayTo {
    upstream: Upstream,
    connect_timeout: Duration,
    socket_timeout: Duration,
}

/// A pooled connection, whether the server dropped it, and when it last
/// completed a call.
pub(crate) struct Pooled {
    conn: PgConnection,
    relay: Option<Relay>,
    lost: bool,
    last_ok: std::time::Instant,
}

/// A connection that completed a call this recently is not pinged on checkout
/// (HikariCP's "alive bypass window"): a hot pool pays no extra round trip,
/// an idle connection is still proven alive before use.
const VALIDATION_BYPASS: Duration = Duration::from_secs(1);

impl ManageConnection for Manager {
    type Connection = Pooled;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> std::result::Result<Pooled, Self::Error> {
        let _opening = self.opening.start();
        let (mut conn, relay) = match &self.relay {
            None => (self.inner.connect()?, None),
            Some(to) => {
                let relay = Relay::start(&to.upstream, to.connect_timeout, to.socket_timeout)
                    .map_err(|e| {
                        diesel::r2d2::Error::ConnectionError(
                            diesel::ConnectionError::BadConnection(format!(
                                "cannot connect to PostgreSQL at {}: {e}",
                                to.upstream
                            )),
                        )
                    })?;
                // Later parameters override earlier ones and the URL's host
                // and port.
                let sep = if self.url.contains('?') { '&' } else { '?' };
                let local = format!("{}{sep}hostaddr=127.0.0.1&port={}", self.url, relay.port());
                match PgConnection::establish(&local) {
                    Ok(conn) => {
                        relay.established();
                        (conn, Some(relay))
                    }
                    Err(e) => {
                        relay.abandon();
                        return Err(diesel::r2d2::Error::ConnectionError(e));
                    }
                }
            }
        };
        crate::connection::set_prepared_statements(&mut conn, self.prepared_statements);
        Ok(Pooled {
            conn,
            relay,
            lost: false,
            last_ok: std::time::Instant::now(),
        })
    }

    fn is_valid(&self, c: &mut Pooled) -> std::result::Result<(), Self::Error> {
        // Without a round trip: read what the server sent while the connection
        // sat in the pool. A server that dropped the session (terminated
        // backend, shutdown, idle timeout) has sent its FATAL message and closed
        // the socket, which libpq's non-blocking `PQconsumeInput` (behind
        // diesel's notification polling) reports as an error. So even a
        // connection inside the bypass window is replaced before a statement
        // runs on it, rather than failing the caller's call. Twice: the first
        // read takes the FATAL message (which libpq hands to the notice
        // processor), only the next one meets the end of the stream.
        for _ in 0..2 {
            if let Some(Err(e)) = c.conn.notifications_iter().next() {
                c.lost = true;
                return Err(diesel::r2d2::Error::QueryError(e));
            }
        }
        if c.last_ok.elapsed() < VALIDATION_BYPASS {
            return Ok(());
        }
        let pinged = waiting(c.relay.as_ref(), || self.inner.is_valid(&mut c.conn));
        if let Some(relay) = c.relay.as_ref().filter(|r| r.fired()) {
            // The pool reports the last error it saw when it gives up.
            return Err(diesel::r2d2::Error::ConnectionError(
                diesel::ConnectionError::BadConnection(format!(
                    "PostgreSQL sent nothing within the socket timeout ({:?}) to the \
                     checkout's liveness check; the connection was closed",
                    relay.timeout()
                )),
            ));
        }
        pinged?;
        c.last_ok = std::time::Instant::now();
        Ok(())
    }

    fn has_broken(&self, c: &mut Pooled) -> bool {
        c.lost || c.relay.as_ref().is_some_and(Relay::fired) || self.inner.has_broken(&mut c.conn)
    }
}

impl Pooled {
    /// Runs `f` on the connection as it is (no transaction), its statements
    /// watched by the socket-timeout relay if there is one.
    pub(crate) fn run_plain(
        &mut self,
        f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>,
    ) -> Result<()> {
        self.run(|c, relay| match relay {
            None => f(&mut PgConn(c)),
            Some(relay) => f(&mut Watched { conn: c, relay }),
        })
    }

    /// Runs `f` (given the connection's socket-timeout relay, if any),
    /// remembering when it found the connection lost.
    fn run<R>(
        &mut self,
        f: impl FnOnce(&mut PgConnection, Option<&Relay>) -> Result<R>,
    ) -> Result<R> {
        let r = f(&mut self.conn, self.relay.as_ref());
        if let Some(relay) = self.relay.as_ref().filter(|r| r.fired()) {
            self.lost = true;
            // The error libpq saw is only "server closed the connection".
            return r.map_err(|e| {
                let seen = match e {
                    Error::Connection(m) | Error::Database(m) => m,
                    other => other.to_string(),
                };
                Error::Connection(format!(
                    "PostgreSQL sent nothing within the socket timeout ({:?}); \
                     the connection was closed and is not reused ({})",
                    relay.timeout(),
                    seen.trim_end()
                ))
            });
        }
        match &r {
            Err(Error::Connection(_)) => self.lost = true,
            // Any answer from the server proves the connection alive.
            _ => self.last_ok = std::time::Instant::now(),
        }
        r
    }
}

/// Sets up each new pooled connection: its statement timeout, and for a test
/// handle the never-committed transaction.
#[derive(Debug)]
pub(crate) struct OnAcquire {
    pub(crate) statement_timeout: Option<Duration>,
    pub(crate) test_transaction: bool,
}

impl diesel::r2d2::CustomizeConnection<Pooled, diesel::r2d2::Error> for OnAcquire {
    fn on_acquire(&self, conn: &mut Pooled) -> std::result::Result<(), diesel::r2d2::Error> {
        let Pooled { conn, relay, .. } = conn;
        if let Some(t) = self.statement_timeout {
            // At least 1 ms: 0 would mean no limit.
            let ms = t.as_millis().max(1);
            waiting(relay.as_ref(), || {
                conn.batch_execute(&format!("SET statement_timeout = {ms}"))
            })
            .map_err(diesel::r2d2::Error::QueryError)?;
        }
        if self.test_transaction {
            waiting(relay.as_ref(), || conn.begin_test_transaction())
                .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for PgBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgBackend").finish_non_exhaustive()
    }
}

pub(crate) enum TxError {
    Diesel(diesel::result::Error),
    App(Error),
}

impl From<diesel::result::Error> for TxError {
    fn from(e: diesel::result::Error) -> Self {
        TxError::Diesel(e)
    }
}

impl TxError {
    pub(crate) fn into_error(self) -> Error {
        match self {
            TxError::App(e) => e,
            TxError::Diesel(e) => map_error(e),
        }
    }
}

/// The advisory-lock class of dataflow's migration lock ("df" in ASCII); the
/// second key is the schema's hash, so schemas migrate independently.
const LOCK_CLASS: i32 = 0x6466;

/// Why a statement timeout is refused behind a transaction pooler.
const STATEMENT_TIMEOUT_POOLED: &str = "statement_timeout is a session setting, and behind a \
     transaction pooler it would stay on whichever server session the pooler picked, for its \
     other clients too; set it for the role on the server (ALTER ROLE … SET \
     statement_timeout = '5s') or use the pooler's own (PgBouncer's query_timeout)";

impl PgBackend {
    /// Connects with `options`.
    pub fn connect(options: PgOptions) -> Result<Self> {
        let opening = Arc::new(Opening::default());
        // A declared transaction pooler with a statement_timeout is refused
        // by `Manager::for_url`, for the primary and each replica URL alike.
        let manager = Manager::for_url(&options.url, &options, &opening)?;
        let (url, prepared_statements) = (manager.url.clone(), manager.prepared_statements);
        let shared = OnceLock::new();
        if options.statement_timeout.is_some() && manager.pooler.is_none() {
            // Undeclared, the URL is probed now rather than before the first
            // migration: the setting is made on every pooled connection.
            // Replica URLs are not probed: they are not reached at connect.
            let found = shares_sessions(&url)?;
            if *shared.get_or_init(|| found) {
                return Err(Error::InvalidInput(STATEMENT_TIMEOUT_POOLED.into()));
            }
        }
        let sessions = match &options.migration_url {
            Some(m) => {
                let (m, m_options) = take_url_options(m)?;
                if !(m.starts_with("postgres://") || m.starts_with("postgresql://")) {
                    return Err(Error::InvalidInput(format!(
                        "migration_url is not a PostgreSQL URL (expected postgres://…): {m:?}"
                    )));
                }
                if m_options.pooler == Some(Pooler::Transaction) {
                    return Err(Error::InvalidInput(
                        "migration_url must reach a session of its own (the server, or a \
                         pooler in session mode), not a transaction pooler"
                            .into(),
                    ));
                }
                Sessions::Own {
                    url: conninfo(&m, options.connect_timeout),
                    prepared: m_options
                        .prepared_statements
                        .or(manager.chosen_prepared)
                        .unwrap_or(true),
                }
            }
            None => match manager.pooler {
                Some(Pooler::Transaction) => Sessions::Pooled,
                Some(Pooler::Direct | Pooler::Session) => Sessions::Own {
                    url: url.clone(),
                    prepared: prepared_statements,
                },
                None => Sessions::Unknown,
            },
        };
        // Checked before the primary is reached: a wrong replica URL is a
        // mistake to report now, a replica that is down only sends its reads
        // to the primary.
        let replicas = if options.read_urls.is_empty() || options.test_transaction {
            None
        } else {
            Some(Box::new(Replicas::new(&options, &opening)?))
        };
        // Connect once up front for a clear error instead of the pool's retries.
        PgConnection::establish(&url)
            .map_err(|e| Error::Connection(format!("cannot connect to PostgreSQL: {e}")))?;
        let builder = pool_builder(&options).connection_customizer(Box::new(OnAcquire {
            statement_timeout: options.statement_timeout,
            test_transaction: options.test_transaction,
        }));
        // A test transaction lives exactly as long as its one connection.
        let builder = if options.test_transaction {
            builder
                .max_size(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .test_on_check_out(false)
        } else {
            builder
        };
        let pool = builder
            .build(manager)
            .map_err(|e| Error::Connection(format!("cannot connect to PostgreSQL: {e}")))?;
        Ok(PgBackend {
            pool,
            replicas,
            test_transaction: options.test_transaction,
            url,
            opening,
            connect_timeout: options.connect_timeout,
            prepared_statements,
            sessions,
            shared,
        })
    }

    /// Where a migration runs: on a session of its own (the migration URL, or
    /// the handle's URL when it reaches one) or through a transaction pooler.
    fn route(&self) -> Result<Route<'_>> {
        match &self.sessions {
            Sessions::Own { url, prepared } => Ok(Route::Own(url, *prepared)),
            Sessions::Pooled => Ok(Route::Pooled),
            Sessions::Unknown => {
                let shared = match self.shared.get() {
                    Some(shared) => *shared,
                    None => {
                        let shared = shares_sessions(&self.url)?;
                        if shared {
                            tracing::warn!(target: "dataflow::migrate",
                                "the server sessions behind the URL are shared between clients \
                                 (a transaction pooler): migrations take no session-level lock, and \
                                 online steps are refused; declare it with PgOptions::pooler and \
                                 give PgOptions::migration_url the server's direct URL");
                        }
                        *self.shared.get_or_init(|| shared)
                    }
                };
                Ok(if shared {
                    Route::Pooled
                } else {
                    Route::Own(&self.url, self.prepared_statements)
                })
            }
        }
    }

    fn get(&self) -> Result<PooledConnection<Manager>> {
        self.pool
            .get()
            .map_err(|e| Error::Connection(format!("no PostgreSQL connection available: {e}")))
    }

    /// Runs `f` with a connection of the primary's pool: what
    /// `with_connection` does, and where a read goes that a replica cannot
    /// serve. Not counted as a write.
    pub(crate) fn on_primary(
        &self,
        f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>,
    ) -> Result<()> {
        let mut conn = self.get()?;
        if self.test_transaction {
            // A savepoint per call: an error rolls back to it instead of aborting
            // the test's whole transaction.
            return conn.run(|c, relay| in_transaction(c, relay, f));
        }
        conn.run_plain(f)
    }

    /// Runs `write`, which may write: with read replicas, reads right after
    /// it go to the primary (see [`PgOptions::read_your_writes`]).
    fn writing<R>(&self, write: impl FnOnce() -> R) -> R {
        match &self.replicas {
            None => write(),
            Some(replicas) => {
                // Marked when dropped, so also when `write` panics.
                let _wrote = replicas.wrote();
                write()
            }
        }
    }
}

impl Manager {
    /// The manager of the server at `url`, with `options` and the URL's own
    /// parameters (which take precedence); `opening` counts the connections
    /// being opened, for the backend's drop.
    pub(crate) fn for_url(url: &str, options: &PgOptions, opening: &Arc<Opening>) -> Result<Self> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(Error::InvalidInput(format!(
                "not a PostgreSQL URL (expected postgres://…): {url:?}"
            )));
        }
        let (url, in_url) = take_url_options(url)?;
        // Each URL (the primary's, each replica's) may name its own pooler.
        let pooler = in_url.pooler.or(options.pooler);
        let chosen_prepared = in_url.prepared_statements.or(options.prepared_statements);
        let prepared_statements = chosen_prepared.unwrap_or(pooler != Some(Pooler::Transaction));
        if pooler == Some(Pooler::Transaction) && options.statement_timeout.is_some() {
            return Err(Error::InvalidInput(STATEMENT_TIMEOUT_POOLED.into()));
        }
        let socket_timeout = match in_url.socket_timeout {
            Some(t) => Some(t).filter(|t| !t.is_zero()),
            None => options.socket_timeout,
        };
        let url = conninfo(&url, options.connect_timeout);
        let relay = match socket_timeout {
            None => None,
            Some(socket_timeout) => Some(RelayTo {
                upstream: Upstream::from_url(&url).map_err(Error::InvalidInput)?,
                connect_timeout: options.connect_timeout,
                socket_timeout,
            }),
        };
        Ok(Manager {
            inner: ConnectionManager::<PgConnection>::new(&url),
            url,
            relay,
            opening: Arc::clone(opening),
            prepared_statements,
            pooler,
            chosen_prepared,
        })
    }
}

/// A pool's settings from `options`, its connection customizer aside.
pub(crate) fn pool_builder(options: &PgOptions) -> diesel::r2d2::Builder<Manager> {
    Pool::builder()
        .max_size(options.pool_size)
        .min_idle(Some(1))
        .connection_timeout(options.connect_timeout)
        .test_on_check_out(options.check_on_checkout)
}

/// A connection of its own, outside the pool, to `url`: a session-level lock
/// it holds ends with it, whatever happens, instead of staying on a pooled
/// connection.
fn dedicated(url: &str, prepared: bool) -> Result<PgConnection> {
    let mut conn = PgConnection::establish(url)
        .map_err(|e| Error::Connection(format!("cannot connect to PostgreSQL: {e}")))?;
    crate::connection::set_prepared_statements(&mut conn, prepared);
    Ok(conn)
}

/// Leaves a migration's own session as it found the server: `DISCARD ALL`
/// releases its session-level locks and resets the settings the online phase
/// made, before the connection closes. Closing does as much on the server
/// itself; a session pooler with no reset query would otherwise hand them on
/// to its next client. Best effort: the connection is closed either way.
fn end_session(mut conn: PgConnection) {
    if let Err(e) = conn.batch_execute("DISCARD ALL") {
        tracing::debug!(target: "dataflow::migrate", error = %e, "DISCARD ALL before closing the migration's session");
    }
}

/// Whether the server sessions behind `url` are shared between client
/// connections, as a transaction pooler shares them. Two probe connections, A
/// and B, neither taking a lock nor setting anything: A reads its server
/// process id, B opens a transaction and reads its own, A reads again, B
/// commits. On sessions of their own, B's id always differs from A's and A's
/// never changes; a transaction pooler hands B the session A just released
/// (PgBouncer reuses the last released first) or A another one. Three rounds,
/// as other clients of a busy pooler can hide the sharing once.
pub(crate) fn shares_sessions(url: &str) -> Result<bool> {
    let mut a = dedicated(url, false)?;
    let mut b = dedicated(url, false)?;
    for _ in 0..3 {
        let a1 = backend_pid(&mut a)?;
        b.batch_execute("BEGIN").map_err(map_error)?;
        let b1 = backend_pid(&mut b)?;
        let a2 = backend_pid(&mut a)?;
        b.batch_execute("COMMIT").map_err(map_error)?;
        if b1 == a1 || a2 != a1 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The server process serving `conn`'s current statement.
fn backend_pid(conn: &mut PgConnection) -> Result<i32> {
    let mut pid = 0;
    PgConn(conn).query(
        "SELECT pg_backend_pid()",
        &[],
        &[LogicalType::Int],
        &mut |row| {
            if let Value::I32(p) = row[0] {
                pid = p;
            }
            Ok(())
        },
    )?;
    Ok(pid)
}

/// The refusal of what needs a session behind a transaction pooler.
fn needs_session(operation: &str) -> Error {
    Error::NeedsSession {
        operation: operation.to_owned(),
        remedy: "Give PgOptions::migration_url the server's direct URL (or a session-mode \
                 pooler's), or migrate with MigrateOptions::online(false), which runs every \
                 step inside the migration's transaction"
            .to_owned(),
    }
}

/// What PostgreSQL supports, as the core reads it.
pub const CAPABILITIES: Capabilities = Capabilities::new()
    .with_returning(true)
    .with_transactional_ddl(true)
    .with_alter_column_type(true)
    .with_case_sensitive_like(true)
    .with_online_index_builds(true)
    // The protocol counts parameters in an i16... as u16: 65 535.
    .with_max_bind_params(65_535)
    // NAMEDATALEN - 1; longer names are cut silently.
    .with_max_identifier_bytes(Some(63))
    .with_enforces_column_types(true)
    .with_forward_references(false)
    .with_non_btree_indexes(true)
    .with_regex(true);

impl Backend for PgBackend {
    fn capabilities(&self) -> Capabilities {
        // A test transaction never commits, and CONCURRENTLY cannot run inside one.
        CAPABILITIES.with_online_index_builds(!self.test_transaction)
    }

    fn with_connection(&self, f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>) -> Result<()> {
        // Raw SQL and describe: unknown, so counted as a write.
        self.writing(|| self.on_primary(f))
    }

    /// On a read replica when there are some, no write through this handle
    /// is recent and one is up; on the primary otherwise, and when the
    /// replica fails (see [`PgOptions::read_urls`]).
    fn with_read_connection(
        &self,
        f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>,
    ) -> Result<()> {
        match &self.replicas {
            None => self.on_primary(f),
            Some(replicas) => replicas.read(self, f),
        }
    }

    fn with_transaction(&self, f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>) -> Result<()> {
        self.writing(|| {
            let mut conn = self.get()?;
            conn.run(|c, relay| in_transaction(c, relay, f))
        })
    }

    fn hold(&self) -> Result<Box<dyn HeldConnection>> {
        // The transaction's writes are marked when it ends (the held
        // connection is dropped right after its commit or rollback).
        let wrote = self.replicas.as_ref().map(|r| r.wrote());
        Ok(Box::new(Held {
            conn: self.get()?,
            _wrote: wrote,
        }))
    }

    /// The migration lock is waited for on a dedicated connection outside any
    /// transaction, polling so that the waiter holds no snapshot; then the
    /// migration runs in one transaction on that connection, and closing it
    /// releases the lock. DDL is transactional, so every step commits together
    /// or not at all. Through a transaction pooler (without a migration URL)
    /// the lock is the transaction's own, polled for in short transactions.
    fn with_migration(
        &self,
        lock_timeout: Duration,
        f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>,
    ) -> Result<()> {
        // DDL and data steps: reads right after them go to the primary.
        let _wrote = self.replicas.as_ref().map(|r| r.wrote());
        if self.test_transaction {
            // Everything already runs inside the test's one transaction: there
            // is no outside to wait in.
            let mut conn = self.get()?;
            return conn.run(|c, _| migrate_on(c, lock_timeout, f));
        }
        match self.route()? {
            Route::Own(url, prepared) => {
                let mut conn = dedicated(url, prepared)?;
                let r = lock_session(&mut conn, lock_timeout, None)
                    .and_then(|_| migrate_on(&mut conn, lock_timeout, f));
                end_session(conn);
                r
            }
            Route::Pooled => {
                let mut conn = dedicated(&self.url, false)?;
                migrate_polled(&mut conn, lock_timeout, None, f).map(|_| ())
            }
        }
    }

    /// The migration's transaction on a dedicated connection that first waited
    /// for the session-level migration lock outside any transaction, polling
    /// so that it holds no snapshot; the lock is kept through `after` and
    /// released when the session ends. Through a transaction pooler (without
    /// a migration URL) there is no session to keep it in: the migration runs
    /// under its transaction's lock, and work for `after` is refused with
    /// `Error::NeedsSession` inside that transaction, so nothing is applied.
    fn with_migration_then(
        &self,
        lock_timeout: Duration,
        stop_waiting: &mut dyn FnMut(&mut dyn Connection) -> Result<bool>,
        tx: &mut dyn FnMut(&mut dyn Connection) -> Result<bool>,
        after: &mut dyn FnMut(&mut dyn Connection) -> Result<()>,
    ) -> Result<bool> {
        // DDL and data steps: reads right after them go to the primary.
        let _wrote = self.replicas.as_ref().map(|r| r.wrote());
        if self.test_transaction {
            let mut online = false;
            self.with_migration(lock_timeout, &mut |c| {
                online = tx(c)?;
                Ok(())
            })?;
            return if online {
                Err(Error::InvalidInput(
                    "online steps cannot run inside a test transaction".into(),
                ))
            } else {
                Ok(true)
            };
        }
        let (url, prepared) = match self.route()? {
            Route::Own(url, prepared) => (url, prepared),
            Route::Pooled => {
                let mut conn = dedicated(&self.url, false)?;
                return migrate_polled(&mut conn, lock_timeout, Some(stop_waiting), &mut |c| {
                    if tx(c)? {
                        // Rolls the migration's transaction back.
                        return Err(needs_session("this migration's online phase (statements that run after its transaction commits: CREATE INDEX CONCURRENTLY, constraint validations, batched backfills, or a -- dataflow:no-transaction migration file)"));
                    }
                    Ok(())
                });
            }
        };
        let mut conn = dedicated(url, prepared)?;
        let r = (|| {
            if !lock_session(&mut conn, lock_timeout, Some(stop_waiting))? {
                return Ok(false);
            }
            let mut online = false;
            migrate_on(&mut conn, lock_timeout, &mut |c| {
                online = tx(c)?;
                Ok(())
            })?;
            if online {
                after(&mut PgConn(&mut conn))?;
            }
            Ok(true)
        })();
        end_session(conn);
        r
    }

    fn with_online_lock(
        &self,
        lock_timeout: Duration,
        wait: bool,
        f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>,
    ) -> Result<bool> {
        // DDL and data steps: reads right after them go to the primary.
        let _wrote = self.replicas.as_ref().map(|r| r.wrote());
        let Route::Own(url, prepared) = self.route()? else {
            return Err(needs_session(
                "finishing the online phase an earlier migration left unfinished",
            ));
        };
        let mut conn = dedicated(url, prepared)?;
        let r = (|| {
            if wait {
                lock_session(&mut conn, lock_timeout, None)?;
            } else if !try_lock_session(&mut conn)? {
                return Ok(false);
            }
            f(&mut PgConn(&mut conn))?;
            Ok(true)
        })();
        end_session(conn);
        r
    }
}

/// A pooled connection held for a user transaction. On a test handle its
/// transaction is a savepoint inside the test's.
struct Held {
    conn: PooledConnection<Manager>,
    /// With read replicas, the mark of the transaction's writes, set when
    /// this is dropped.
    _wrote: Option<Wrote>,
}

type DieselManager = <PgConnection as diesel::Connection>::TransactionManager;

impl Held {
    /// Runs one of diesel's transaction statements, marked as waiting for the
    /// server on the socket-timeout relay.
    fn manage(&mut self, f: fn(&mut PgConnection) -> diesel::QueryResult<()>) -> Result<()> {
        self.conn
            .run(|c, relay| waiting(relay, || f(c)).map_err(map_error))
    }
}

impl HeldConnection for Held {
    fn run(&mut self, f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>) -> Result<()> {
        self.conn.run_plain(f)
    }

    fn begin(&mut self) -> Result<()> {
        use diesel::connection::TransactionManager;
        self.manage(DieselManager::begin_transaction)
    }

    fn commit(&mut self) -> Result<()> {
        use diesel::connection::TransactionManager;
        self.manage(DieselManager::commit_transaction)
    }

    fn rollback(&mut self) -> Result<()> {
        use diesel::connection::TransactionManager;
        self.manage(DieselManager::rollback_transaction)
    }
}

/// `f` in a transaction on `c`. With a socket-timeout relay, diesel's own
/// statements (BEGIN, COMMIT, ROLLBACK, savepoints) are marked as waiting for
/// the server, and `f`'s statements through [`Watched`].
fn in_transaction(
    c: &mut PgConnection,
    relay: Option<&Relay>,
    f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>,
) -> Result<()> {
    let Some(relay) = relay else {
        return c
            .transaction(|c| f(&mut PgConn(c)).map_err(TxError::App))
            .map_err(TxError::into_error);
    };
    waiting(Some(relay), || {
        c.transaction(|c| {
            relay.set_waiting(false);
            let r = f(&mut Watched { conn: c, relay }).map_err(TxError::App);
            relay.set_waiting(true);
            r
        })
    })
    .map_err(TxError::into_error)
}

/// Asked between polls for the migration lock: `true` ends the wait.
type StopWaiting<'a> = dyn FnMut(&mut dyn Connection) -> Result<bool> + 'a;

/// Takes the session-level migration lock once it is free (`Ok(true)`), or
/// gives up with `Error::LockTimeout` after `lock_timeout`, or stops waiting
/// (`Ok(false)`) as soon as `stop_waiting`, asked between polls, says so.
/// `conn` must not be inside a transaction.
///
/// It polls `pg_try_advisory_lock` instead of blocking in `pg_advisory_lock`:
/// a statement blocked on a lock keeps its snapshot for as long as it waits,
/// and the holder's `CREATE INDEX CONCURRENTLY` waits for every transaction
/// with an older snapshot to end. A blocked waiter and a concurrent build would
/// wait for each other (`deadlock detected`, or both stuck until a timeout);
/// a poll holds its snapshot for a moment only, outside any transaction, so
/// the build waits at most for that moment. Polling is a few lines, so no
/// crate is brought in for it.
fn lock_session(
    conn: &mut PgConnection,
    lock_timeout: Duration,
    stop_waiting: Option<&mut StopWaiting<'_>>,
) -> Result<bool> {
    poll(conn, lock_timeout, stop_waiting, try_lock_session)
}

/// Calls `attempt` until it returns `true` (`Ok(true)`), giving up with
/// `Error::LockTimeout` after `lock_timeout`, or stopping (`Ok(false)`) when
/// `stop_waiting`, asked between attempts, says so.
fn poll(
    conn: &mut PgConnection,
    lock_timeout: Duration,
    mut stop_waiting: Option<&mut StopWaiting<'_>>,
    mut attempt: impl FnMut(&mut PgConnection) -> Result<bool>,
) -> Result<bool> {
    let started = std::time::Instant::now();
    let mut delay = Duration::from_millis(5);
    loop {
        if attempt(conn)? {
            return Ok(true);
        }
        if let Some(stop) = stop_waiting.as_mut() {
            if stop(&mut PgConn(conn))? {
                return Ok(false);
            }
        }
        let left = lock_timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Err(Error::LockTimeout {
                waited: lock_timeout,
            });
        }
        std::thread::sleep(delay.min(left));
        // Backs off to a few polls a second: cheap for the server with many
        // waiters, and a waiter starts soon after the holder is done.
        delay = (delay * 2).min(Duration::from_millis(200));
    }
}

/// A migration through a transaction pooler, where no session outlives a
/// transaction: each attempt is a short transaction that tries the
/// transaction-level migration lock (`pg_try_advisory_xact_lock`); the one
/// that gets it runs `f` in the same transaction, and the commit or rollback
/// releases the lock on the server session that took it. Waiting by polling
/// holds no snapshot for longer than an attempt, for the same reason
/// [`lock_session`] polls. `Ok(false)`: `stop_waiting` ended the wait.
fn migrate_polled(
    conn: &mut PgConnection,
    lock_timeout: Duration,
    stop_waiting: Option<&mut StopWaiting<'_>>,
    f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>,
) -> Result<bool> {
    poll(conn, lock_timeout, stop_waiting, |conn| {
        conn.transaction(|c| {
            if !try_lock(c, "pg_try_advisory_xact_lock").map_err(TxError::App)? {
                return Ok(false);
            }
            // As in `migrate_on`: the steps set their own lock timeouts.
            c.batch_execute("SET LOCAL lock_timeout = 0")?;
            f(&mut PgConn(c)).map_err(TxError::App)?;
            Ok(true)
        })
        .map_err(TxError::into_error)
    })
}

/// `pg_try_advisory_lock` on the migration lock: whether this session holds it now.
fn try_lock_session(conn: &mut PgConnection) -> Result<bool> {
    try_lock(conn, "pg_try_advisory_lock")
}

/// `function` (`pg_try_advisory_lock` or `pg_try_advisory_xact_lock`) on the
/// migration lock: whether it was granted.
fn try_lock(conn: &mut PgConnection, function: &str) -> Result<bool> {
    crate::connection::select_bool(
        &mut PgConn(conn),
        &format!("SELECT {function}({LOCK_CLASS}, hashtext(current_schema()))"),
    )
}

/// Runs a migration on `conn`: a transaction (a savepoint when one is already
/// open) holding the schema's advisory lock. Waiting for that lock here holds
/// a snapshot, so outside test transactions the session lock is taken first
/// ([`lock_session`]) and this one is then granted at once.
pub(crate) fn migrate_on(
    conn: &mut PgConnection,
    lock_timeout: Duration,
    f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>,
) -> Result<()> {
    conn.transaction(|c| {
        c.batch_execute(&format!(
            "SET LOCAL lock_timeout = '{}ms'",
            lock_timeout.as_millis().max(1)
        ))?;
        PgConn(c)
            .execute(
                &format!("SELECT pg_advisory_xact_lock({LOCK_CLASS}, hashtext(current_schema()))"),
                &[],
            )
            .map_err(|e| match e {
                Error::Busy { .. } => TxError::App(Error::LockTimeout {
                    waited: lock_timeout,
                }),
                other => TxError::App(other),
            })?;
        c.batch_execute("SET LOCAL lock_timeout = 0")?;
        f(&mut PgConn(c)).map_err(TxError::App)
    })
    .map_err(TxError::into_error)
}
