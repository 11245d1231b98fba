//! The `Backend` trait: what a database crate provides to core.
//!
//! Object-safe, so one `DataFlow` handle type serves every backend. Backends own
//! connections, pooling, binding and decoding, error classification and schema
//! description; core owns everything above SQL text and values.

pub mod capabilities;
pub mod dialect;

use crate::backend::capabilities::Capabilities;
use crate::backend::dialect::Dialect;
use crate::error::Result;
use crate::migrate::schema::Schema;
use crate::model::value::{LogicalType, Value};

/// One database connection (pooled, or inside a transaction).
pub trait Connection {
    /// Executes a statement, returning the number of affected rows.
    fn execute(&mut self, sql: &str, binds: &[Value]) -> Result<usize>;

    /// Runs a query, decoding each row's columns as `types` into a reused buffer
    /// passed to `each` (take the values out of it; it is refilled per row).
    fn query(
        &mut self,
        sql: &str,
        binds: &[Value],
        types: &[LogicalType],
        each: &mut dyn FnMut(&mut [Value]) -> Result<()>,
    ) -> Result<()>;

    /// Executes SQL without binds (DDL; possibly several statements).
    fn batch_execute(&mut self, sql: &str) -> Result<()>;

    /// Executes a statement whose binds are whole columns, each bound as one
    /// array of `LogicalType` values (see [`Dialect::columnar_insert`]).
    /// Backends whose dialect renders no columnar statement need not support it.
    ///
    /// [`Dialect::columnar_insert`]: crate::Dialect::columnar_insert
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

/// A database backend.
pub trait Backend: Send + Sync + 'static {
    /// How this backend spells SQL.
    fn dialect(&self) -> &'static dyn Dialect;

    /// What this backend's database supports; core reads it instead of
    /// assuming. Asked once, when the handle is built.
    fn capabilities(&self) -> Capabilities;

    /// Runs `f` with a connection from the pool.
    fn with_connection(&self, f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>) -> Result<()>;

    /// Runs `f` inside a write transaction, committed when `f` returns `Ok` and
    /// rolled back otherwise.
    fn with_transaction(&self, f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>) -> Result<()>;

    /// Describes the live schema (user tables only; dataflow's own tables excluded).
    fn describe(&self, conn: &mut dyn Connection) -> Result<Schema>;

    /// How the database itself prints each partial-index condition when it is
    /// declared over `table` (the target shape), in order. Used only when a
    /// described condition and the model's spelling differ in text, so a
    /// database that rewrites conditions (literals, casts) does not show its
    /// own spelling as drift. The default returns them as written.
    fn reprint_predicates(
        &self,
        conn: &mut dyn Connection,
        table: &crate::migrate::schema::Table,
        predicates: &[String],
    ) -> Result<Vec<String>> {
        let _ = (conn, table);
        Ok(predicates.to_vec())
    }

    /// Whether a table (including dataflow's own) exists.
    fn has_table(&self, conn: &mut dyn Connection, name: &str) -> Result<bool>;

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
