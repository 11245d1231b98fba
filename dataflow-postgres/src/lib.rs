//! # dataflow-postgres
//!
//! The PostgreSQL backend of dataflow: `connect` to a server and get the same
//! pooled, thread-safe [`DataFlow`] handle the SQLite backend gives, with the same
//! generated code. DDL is transactional, the migration lock is a
//! `pg_advisory_xact_lock` (so many application instances starting together
//! migrate once), constraint errors are classified by SQLSTATE, and libpq is built
//! from source (no system package needed).
//!
//! ```no_run
//! let db = dataflow_postgres::connect("postgres://postgres@127.0.0.1:5432/app")?;
//! # Ok::<(), dataflow_core::Error>(())
//! ```

mod backend;
mod connection;
mod decode;
mod describe;
mod dialect;
mod json;
mod opening;
mod options;
mod query;
mod relay;
mod replicas;
mod reprint;
mod test_tx;
pub mod testing;

pub use backend::{PgBackend, CAPABILITIES};
pub use connection::PgConn;
pub use dataflow_core::DataFlow;
pub use describe::{PgDescribe, PG_DESCRIBE};
pub use dialect::{PgDialect, POSTGRES};
pub use options::{PgOptions, Pooler, READ_YOUR_WRITES, TCP_DEFAULTS};

/// Connects to the PostgreSQL database at `url` with default options.
pub fn connect(url: &str) -> dataflow_core::Result<DataFlow> {
    PgOptions::new(url).connect()
}
