//! Adopting a database dataflow did not create, on an SQLite file: models
//! generated from it, a check that never alters it, CRUD on its tables, then
//! the hand-over after which model changes migrate it as usual.
//!
//! Run it with `cargo run --example adopt`.

use dataflow_core::introspect::{generate_models, IntrospectOptions};
use dataflow_core::prelude::*;

/// Someone else's schema: a rowid key, a CHECK "enum" (written without a
/// name: it is read under the name PostgreSQL would give it), a view, and a
/// table with a key over two columns.
const LEGACY: &str = "
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name VARCHAR(100) NOT NULL
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'paid'))
);
CREATE TABLE order_tags (order_id BIGINT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (order_id, tag));
CREATE VIEW open_orders AS SELECT * FROM orders WHERE status = 'open';
INSERT INTO customers (email, name) VALUES ('ann@example.org', 'Ann');
";

// What `generate_models` writes for `customers` and `orders` (checked below),
// pasted into the application.

/// The table `customers`.
#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "customers")]
#[dataflow(index(fields("email"), name = "sqlite_autoindex_customers_1", unique))]
struct Customer {
    id: i64,
    email: String,
    #[dataflow(max_length = 100)]
    name: String,
}

/// The table `orders`.
#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "orders")]
#[dataflow(foreign_key(
    field = "customer_id",
    references = "customers(id)",
    on_delete = "cascade"
))]
#[dataflow(check(name = "orders_status_check", expr = "status IN ('open', 'paid')"))]
struct Order {
    id: i64,
    customer_id: i64,
    #[dataflow(default = "open")]
    status: String,
}

/// `orders` one release later: a nullable column added.
#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "orders")]
#[dataflow(foreign_key(
    field = "customer_id",
    references = "customers(id)",
    on_delete = "cascade"
))]
#[dataflow(check(name = "orders_status_check", expr = "status IN ('open', 'paid')"))]
struct OrderV2 {
    id: i64,
    customer_id: i64,
    #[dataflow(default = "open")]
    status: String,
    note: Option<String>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("dataflow-adopt-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("legacy.db");
    println!("database: {}", path.display());
    let db = dataflow_sqlite::open(&path)?;
    db.with_conn(|c| c.batch_execute(LEGACY))?;

    // 1. Models from the live database.
    let source = generate_models(&db, IntrospectOptions::default())?;
    println!("\n== generate_models ==\n{source}");
    assert!(source.contains("pub struct Customer {") && source.contains("pub struct Order {"));
    // A key over several columns is declared on the struct.
    assert!(source.contains(r#"primary_key("order_id", "tag")"#));

    // 2. Existing-schema mode: checks the models, alters nothing.
    db.register_all(models![Customer, Order])?;
    let report = db.auto_migrate(MigrateOptions::default().existing_schema(true))?;
    println!(
        "== existing_schema(true) ==\ncompatible; {} difference(s) a migration would make",
        report.steps.len()
    );
    assert!(db.plan()?.steps.is_empty(), "the generated models match");

    // CRUD on tables dataflow did not create.
    let ann = Customer::list(&db)
        .filter(Customer::NAME.eq("Ann"))
        .first()?;
    let ann = ann.ok_or("Ann is missing")?;
    let order = Order::create(
        &db,
        Order {
            id: 0,
            customer_id: ann.id,
            status: "paid".into(),
        },
    )?;
    println!("created order {} for {}", order.id, ann.name);

    // 3. Hand-over: the tables become dataflow's; nothing is altered.
    let adopted = db.adopt(["customers", "orders"])?;
    println!(
        "\n== adopt ==\nbaseline migration {}",
        adopted.version.as_deref().unwrap_or("-")
    );

    // 4. Later model changes migrate them under the usual risk policy.
    let next = dataflow_sqlite::open(&path)?;
    next.register_all(models![Customer, OrderV2])?;
    let report = next.auto_migrate(MigrateOptions::default())?;
    println!("\n== the next release ==\n{}", report.preview());
    assert!(report.applied);
    let history = next.migration_history()?;
    println!(
        "history: {}",
        history
            .iter()
            .map(|m| m.name.as_str())
            .collect::<Vec<_>>()
            .join(" | ")
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_walkthrough_runs() {
        super::main().expect("the example runs");
    }
}
