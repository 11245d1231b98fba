//! A small application with its tests: the models, one piece of business logic,
//! and `#[dataflow_core::test]` tests that each get a private, migrated database
//! loaded from `examples/fixtures/shop.json`.
//!
//! `cargo run --example shop` runs it; `cargo test --example shop` (and the
//! workspace's `cargo test`) runs its tests.

use dataflow_core::prelude::*;

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "customers")]
struct Customer {
    id: i64,
    name: String,
    #[dataflow(unique)]
    email: String,
    #[dataflow(default = false)]
    vip: bool,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "orders", timestamps)]
#[dataflow(foreign_key(
    field = "customer_id",
    references = "customers(id)",
    on_delete = "cascade"
))]
struct Order {
    id: i64,
    customer_id: i64,
    total_cents: i64,
    #[dataflow(index)]
    status: String,
}

/// Marks every open order of a customer paid; returns how many changed.
fn pay_open_orders(db: &DataFlow, customer_id: i64) -> Result<usize, Error> {
    Order::bulk_update(
        db,
        Order::CUSTOMER_ID
            .eq(customer_id)
            .and(Order::STATUS.eq("open")),
        OrderPatch {
            status: Some("paid".into()),
            ..Default::default()
        },
    )
}

/// Revenue of paid orders, in cents.
fn revenue(db: &DataFlow) -> Result<i64, Error> {
    Ok(Order::list(db)
        .filter(Order::STATUS.eq("paid"))
        .all()?
        .iter()
        .map(|o| o.total_cents)
        .sum())
}

fn main() -> Result<(), Error> {
    let db = dataflow_sqlite::open(":memory:")?;
    db.register_all(models![Customer, Order])?;
    db.auto_migrate(MigrateOptions::default())?;
    dataflow_core::testing::load_fixtures(
        &db,
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/fixtures/shop.json"),
    )?;
    println!("revenue before: {} cents", revenue(&db)?);
    println!("paid {} open orders of Ann", pay_open_orders(&db, 1)?);
    println!("revenue after: {} cents", revenue(&db)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[dataflow_core::test(models(Customer, Order), fixtures("examples/fixtures/shop.json"))]
    fn paying_moves_only_that_customers_open_orders(db: DataFlow) -> Result<(), Error> {
        assert_eq!(revenue(&db)?, 990);
        assert_eq!(pay_open_orders(&db, 1)?, 1);
        assert_eq!(revenue(&db)?, 990 + 2500);
        assert_eq!(
            Order::read(&db, 12)?.unwrap().status,
            "open",
            "Bob's order untouched"
        );
        Ok(())
    }

    // The same body on SQLite and PostgreSQL (skipped locally without DATABASE_URL).
    #[dataflow_core::test(
        models(Customer, Order),
        fixtures("examples/fixtures/shop.json"),
        backends(sqlite, postgres)
    )]
    fn deleting_a_customer_cascades(db: DataFlow) -> Result<(), Error> {
        Customer::delete(&db, 1)?;
        assert_eq!(Order::list(&db).count()?, 1);
        // Fixture ids were explicit; new ids continue after them.
        let c = Customer::create(
            &db,
            Customer {
                id: 0,
                name: "Cy".into(),
                email: "cy@example.org".into(),
                vip: false,
            },
        )?;
        assert!(c.id > 2);
        Ok(())
    }
}
