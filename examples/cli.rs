//! The migration command line in the application's own binary: these few
//! lines are all a user writes.
//!
//! ```text
//! cargo run --example cli -- generate add_phone     # migrations/<timestamp>_add_phone/
//! cargo run --example cli -- apply                  # ./app.db (SQLite): the pending files
//! cargo run --example cli -- status                 # exit 2 while anything is pending
//! cargo run --example cli -- plan --sql
//! cargo run --example cli -- apply --yes --max-risk medium
//! cargo run --example cli -- history --json
//! cargo run --example cli -- --database-url postgres://postgres@127.0.0.1:5432/app status
//! ```
//!
//! Exit codes: 0 ok, 1 error, 2 drift or pending changes.

use std::process::ExitCode;

use dataflow_core::prelude::*;

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "customers")]
struct Customer {
    id: i64,
    name: String,
    #[dataflow(unique, max_length = 255)]
    email: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "orders")]
#[dataflow(foreign_key(
    field = "customer_id",
    references = "customers(id)",
    on_delete = "cascade"
))]
struct Order {
    id: i64,
    customer_id: i64,
    total_cents: i64,
}

fn main() -> ExitCode {
    // `--database-url` or `DATABASE_URL`: a postgres:// URL or an SQLite path.
    dataflow_core::cli::run_with(models![Customer, Order], |url| match url {
        Some(url) if url.starts_with("postgres") => dataflow_postgres::connect(url),
        other => dataflow_sqlite::open(other.unwrap_or("app.db")),
    })
}
