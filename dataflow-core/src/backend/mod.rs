//! The seam between core and a database crate: [`Connection`] (statements,
//! binds, rows), [`Backend`] (pool, transactions, the migration lock) and
//! [`Capabilities`] (what the database supports, as data).
//!
//! Object-safe, so one `DataFlow` handle type serves every backend. A backend
//! crate provides three things, each implemented once: a `Backend`, a static
//! [`Dialect`](crate::Dialect) (how it spells SQL: the query layer's
//! [`QueryDialect`](crate::QueryDialect) and the migration layer's
//! [`SchemaDialect`](crate::SchemaDialect)) and a static
//! [`Describe`](crate::Describe) (how it reads the live schema). This layer
//! sits just above the model: it knows values and connections, not queries or
//! schemas.

pub(crate) mod bound;
pub mod capabilities;
pub(crate) mod lent;

use crate::backend::capabilities::Capabilities;
use crate::error::Result;
use crate::model::row::RowReader;
use crate::model::value::{LogicalType, Value};

/// One database connection (pooled, or inside a transaction).
pub trait Connection {
    /// Executes a statement, returning the number of affected rows.
    fn execute(&mut self, sql: &str, binds: &[Value]) -> Result<usize>;

    /// Runs a query, passing each row to `each` as a [`RowReader`]: typed
    /// getters read a column straight into a field; [`RowReader::value`] reads
    /// it as a value of its entry in `types`.
    fn query_rows(
        &mut self,
        sql: &str,
        binds: &[Value],
        types: &[LogicalType],
        each: &mut dyn FnMut(&mut dyn RowReader) -> Result<()>,
    ) -> Result<()>;

    /// Runs a query, decoding each row's columns as `types` into a reused buffer
    /// passed to `each` (take the values out of it; it is refilled per row).
    fn query(
        &mut self,
        sql: &str,
        binds: &[Value],
        types: &[LogicalType],
        each: &mut dyn FnMut(&mut [Value]) -> Result<()>,
    ) -> Result<()> {
        let mut buf = vec![Value::Null; types.len()];
        self.query_rows(sql, binds, types, &mut |row| {
            for (i, slot) in buf.iter_mut().enumerate() {
                *slot = row.value(i)?;
            }
            each(&mut buf)
        })
    }

    /// Executes SQL without binds (DDL; possibly several statements).
    fn batch_execute(&mut self, sql: &str) -> Result<()>;

    /// Executes a statement whose binds are whole columns, each bound as one
    /// array of `LogicalType` values (see [`QueryDialect::columnar_insert`]).
    /// Backends whose dialect renders no columnar statement need not support it.
    ///
    /// [`QueryDialect::columnar_insert`]: crate::QueryDialect::columnar_insert
    fn execute_columns(
        &mut self,
        sql: &str,
        columns: Vec<(LogicalType, Vec<Value>)>,
    ) -> Result<usize> {
        let _ = (sql, columns);
        Err(crate::error::Error::InvalidInput(
            "this backend has no columnar binds".into(),
        ))
    }
}

/// A pooled connection held for one user transaction
/// ([`DataFlow::transaction`](crate::DataFlow::transaction)): owned, so the
/// handle bound to the transaction keeps it between calls, and returned to the
/// pool when dropped (discarded instead if a transaction is still open on it).
pub trait HeldConnection: Send {
    /// Runs `f` on the held connection.
    fn run(&mut self, f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>) -> Result<()>;

    /// Opens a transaction, or a savepoint inside the one already open. A
    /// backend whose transactions take their write lock late (SQLite) takes it
    /// here, so two transactions never deadlock upgrading a read lock.
    fn begin(&mut self) -> Result<()>;

    /// Commits the innermost transaction (releases its savepoint when nested).
    fn commit(&mut self) -> Result<()>;

    /// Rolls the innermost transaction back (to its savepoint when nested).
    fn rollback(&mut self) -> Result<()>;
}

/// A database backend: connections from its pool, transactions and the
/// migration lock. How it spells SQL is its [`Dialect`](crate::Dialect), how
/// it reads the live schema its [`Describe`](crate::Describe).
pub trait Backend: Send + Sync + 'static {
    /// What this backend's database supports; core reads it instead of
    /// assuming. Asked once, when the handle is built.
    fn capabilities(&self) -> Capabilities;

    /// Runs `f` with a connection from the pool.
    fn with_connection(&self, f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>) -> Result<()>;

    /// Runs `f` with a connection for a read that is certainly read-only and
    /// outside any transaction: typed reads, lists, counts and aggregates,
    /// record and node reads, fixture dumps, and raw SQL the caller declares
    /// read-only ([`DataFlow::with_read_conn`](crate::DataFlow::with_read_conn)).
    /// Everything else, raw SQL of unknown kind included, goes through
    /// [`Backend::with_connection`].
    ///
    /// A backend with read replicas may run `f` on one; the default runs it
    /// as `with_connection` does. `f` may be called more than once: a backend
    /// whose replica fails before `f` has finished (the connection is lost)
    /// calls it again on another server, so `f` must start over each time
    /// (collect into what it clears first, never write). A backend retries
    /// only failures that come before any row was handed to `f`'s row
    /// callbacks (PostgreSQL's rows are handed out once the whole result has
    /// arrived), so a callback `f` merely forwards to never sees a row twice.
    fn with_read_connection(
        &self,
        f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>,
    ) -> Result<()> {
        self.with_connection(f)
    }

    /// Runs `f` inside a write transaction, committed when `f` returns `Ok` and
    /// rolled back otherwise.
    fn with_transaction(&self, f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>) -> Result<()>;

    /// A connection taken from the pool for the caller to keep, in no
    /// transaction yet: what a user transaction runs on. Backends that cannot
    /// hand one out refuse with `Error::InvalidInput` (the default).
    fn hold(&self) -> Result<Box<dyn HeldConnection>> {
        Err(crate::error::Error::InvalidInput(
            "this backend cannot hold a connection for a transaction".into(),
        ))
    }

    /// Runs `f` holding the migration lock, inside one transaction: the lock is the
    /// first thing taken and the last released; waiting for it longer than
    /// `lock_timeout` is `Error::LockTimeout`. Backends also verify integrity
    /// (e.g. foreign keys) before committing.
    fn with_migration(
        &self,
        lock_timeout: std::time::Duration,
        f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>,
    ) -> Result<()>;

    /// Like [`Backend::with_migration`], then, when `tx` returns `true`, runs
    /// `after` on the same connection after the commit, outside any
    /// transaction, still holding the migration lock (held for the session, so
    /// no other process can start in between).
    ///
    /// A backend that waits for the lock by polling calls `stop_waiting`
    /// between polls, outside any transaction; when it answers `true` the wait
    /// ends, nothing runs, and the result is `Ok(false)`. `Ok(true)`: `tx` ran.
    fn with_migration_then(
        &self,
        lock_timeout: std::time::Duration,
        stop_waiting: &mut dyn FnMut(&mut dyn Connection) -> Result<bool>,
        tx: &mut dyn FnMut(&mut dyn Connection) -> Result<bool>,
        after: &mut dyn FnMut(&mut dyn Connection) -> Result<()>,
    ) -> Result<bool> {
        let _ = stop_waiting;
        let mut online = false;
        self.with_migration(lock_timeout, &mut |c| {
            online = tx(c)?;
            Ok(())
        })?;
        if online {
            return Err(crate::error::Error::InvalidInput(
                "this backend cannot run online migration steps".into(),
            ));
        }
        let _ = after;
        Ok(true)
    }

    /// Runs `f` outside any transaction holding the migration lock for the
    /// session, to finish an interrupted online phase. When `wait` is false
    /// and another process holds the lock, returns `Ok(false)` without running
    /// `f`; otherwise waits at most `lock_timeout`.
    fn with_online_lock(
        &self,
        lock_timeout: std::time::Duration,
        wait: bool,
        f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>,
    ) -> Result<bool> {
        let _ = (lock_timeout, wait, f);
        Err(crate::error::Error::InvalidInput(
            "this backend cannot run online migration steps".into(),
        ))
    }
}

/// Runs `f` with a connection from `backend`'s pool, returning its result.
pub fn with_conn<R>(
    backend: &dyn Backend,
    f: impl FnOnce(&mut dyn Connection) -> Result<R>,
) -> Result<R> {
    let mut f = Some(f);
    let mut out = None;
    backend.with_connection(&mut |c| {
        if let Some(f) = f.take() {
            out = Some(f(c)?);
        }
        Ok(())
    })?;
    out.ok_or_else(|| crate::error::Error::Database("connection callback did not run".into()))
}

/// Runs the read-only `f` through `backend`'s read path
/// ([`Backend::with_read_connection`]), returning its last result: `f` may run
/// more than once (again on another server when a replica fails), so it must
/// start over each time.
pub fn with_read_conn<R>(
    backend: &dyn Backend,
    mut f: impl FnMut(&mut dyn Connection) -> Result<R>,
) -> Result<R> {
    let mut out = None;
    backend.with_read_connection(&mut |c| {
        out = Some(f(c)?);
        Ok(())
    })?;
    out.ok_or_else(|| crate::error::Error::Database("connection callback did not run".into()))
}

/// Runs `f` in a write transaction of `backend`: committed on `Ok`, rolled
/// back on `Err`.
pub fn with_tx<R>(
    backend: &dyn Backend,
    f: impl FnOnce(&mut dyn Connection) -> Result<R>,
) -> Result<R> {
    let mut f = Some(f);
    let mut out = None;
    backend.with_transaction(&mut |c| {
        if let Some(f) = f.take() {
            out = Some(f(c)?);
        }
        Ok(())
    })?;
    out.ok_or_else(|| crate::error::Error::Database("transaction callback did not run".into()))
}
