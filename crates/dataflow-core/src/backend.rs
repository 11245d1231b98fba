//! The `Backend` trait: what a database crate provides to core.
//!
//! Object-safe, so one `DataFlow` handle type serves every backend. Backends own
//! connections, pooling, binding and decoding, error classification and schema
//! description; core owns everything above SQL text and values.

use crate::dialect::Dialect;
use crate::error::Result;
use crate::schema::Schema;
use crate::value::{LogicalType, Value};

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
}

/// A database backend.
pub trait Backend: Send + Sync + 'static {
    /// How this backend spells SQL.
    fn dialect(&self) -> &'static dyn Dialect;

    /// Runs `f` with a connection from the pool.
    fn with_connection(&self, f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>) -> Result<()>;

    /// Runs `f` inside a write transaction, committed when `f` returns `Ok` and
    /// rolled back otherwise.
    fn with_transaction(&self, f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>) -> Result<()>;

    /// Describes the live schema (user tables only; dataflow's own tables excluded).
    fn describe(&self, conn: &mut dyn Connection) -> Result<Schema>;

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
}
