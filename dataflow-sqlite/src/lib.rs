//! # dataflow-sqlite
//!
//! The embedded SQLite backend of dataflow: `open` a file (or `":memory:"`) and get
//! a pooled, thread-safe [`DataFlow`] handle.
//!
//! Every connection runs with `foreign_keys = ON`, a busy timeout (writers wait
//! instead of failing), `synchronous = NORMAL`, case-sensitive `LIKE` (the same
//! semantics as PostgreSQL), the `dataflow_decimal` collation, under which
//! filters and ordering compare decimals (stored as exact text) as numbers, and
//! the `regexp()` function behind regular-expression filters; files use WAL so
//! readers never block the writer.
//! Write transactions start with `BEGIN IMMEDIATE`, so two writers queue on the
//! busy timeout instead of deadlocking on a lock upgrade.
//!
//! ```no_run
//! let db = dataflow_sqlite::open("app.db")?;
//! # Ok::<(), dataflow_core::Error>(())
//! ```

mod aggregate;
mod backend;
mod checks;
mod collation;
mod connection;
mod decode;
mod describe;
mod dialect;
mod json;
mod query;
mod rebuild;
mod regexp;
mod table_text;
pub mod testing;

pub use backend::{SqliteBackend, SqliteOptions, CAPABILITIES};
pub use connection::SqliteConn;
pub use dataflow_core::DataFlow;
pub use describe::{SqliteDescribe, SQLITE_DESCRIBE};
pub use dialect::{SqliteDialect, SQLITE};

/// Opens (creating if needed) the SQLite database at `path` with default options.
/// `":memory:"` opens a private in-memory database shared by every use of the
/// returned handle.
pub fn open(path: impl AsRef<std::path::Path>) -> dataflow_core::Result<DataFlow> {
    SqliteOptions::new(path).open()
}
