//! A model evolves: a field is dropped and one is renamed. dataflow shows the plan
//! with its risks, refuses it under default options, applies it when you opt in,
//! and rolls it back (a migration too, assessed the same way) with the dropped
//! values restored.
//!
//! Run it with `cargo run --example evolution`.

use dataflow_core::prelude::*;

mod v1 {
    use dataflow_core::prelude::*;

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "accounts")]
    pub struct Account {
        pub id: i64,
        pub owner: String,
        pub phone_number: Option<String>,
        pub legacy_score: i32,
    }
}

mod v2 {
    use dataflow_core::prelude::*;

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "accounts")]
    pub struct Account {
        pub id: i64,
        pub owner: String,
        #[dataflow(renamed_from = "phone_number")]
        pub phone: Option<String>,
        #[dataflow(default = true)]
        pub active: bool,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("dataflow-evolution-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("app.db");

    // Version 1 of the application.
    let db = dataflow_sqlite::open(&path)?;
    db.register::<v1::Account>()?;
    db.auto_migrate(MigrateOptions::default())?;
    let rows: Vec<v1::Account> = (1..=20)
        .map(|i| v1::Account {
            id: 0,
            owner: format!("owner{i}"),
            phone_number: Some(format!("555-01{i:02}")),
            legacy_score: i * 10,
        })
        .collect();
    v1::Account::bulk_create(&db, &rows)?;
    drop(db);

    // Version 2 is deployed: the same table, a new model.
    let db = dataflow_sqlite::open(&path)?;
    db.register::<v2::Account>()?;
    let plan = db.plan()?;
    println!("== plan ==\n{}", plan.preview());

    match db.auto_migrate(MigrateOptions::default()) {
        Err(Error::MigrationRefused { steps, .. }) => {
            println!("== default options: refused, nothing applied ==");
            for s in steps {
                println!("  {s}");
            }
        }
        other => println!("unexpected: {other:?}"),
    }

    let report = db.auto_migrate(
        MigrateOptions::default()
            .auto_confirm(true)
            .max_risk(RiskLevel::High),
    )?;
    println!(
        "\n== opted in: applied version {} ==",
        report.version.as_deref().unwrap_or("?")
    );
    let first = v2::Account::list(&db)
        .order_by(v2::Account::ID.asc())
        .first()?;
    println!("  first row now: {first:?}");

    // A rollback is a migration too: dropping `active`, whose rows hold
    // values, would destroy data, so default options refuse it.
    match db.rollback_last() {
        Err(Error::MigrationRefused { steps, .. }) => {
            println!("\n== rollback_last with default options: refused ==");
            for s in steps {
                println!("  {s}");
            }
        }
        other => println!("unexpected: {other:?}"),
    }
    let undone = db.rollback_last_with(
        MigrateOptions::default()
            .auto_confirm(true)
            .max_risk(RiskLevel::High),
    )?;
    println!("\n== rollback_last, opted in ==\n{}", undone.preview());
    println!("undid {:?}", undone.rolled_back);
    let old = dataflow_sqlite::open(&path)?;
    old.register::<v1::Account>()?;
    old.check()?;
    let first = v1::Account::list(&old)
        .order_by(v1::Account::ID.asc())
        .first()?;
    println!("  first row again: {first:?}");
    for r in old.migration_history()? {
        println!("  history: {} {:?} {}", r.version, r.status, r.name);
    }

    drop((db, old));
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
