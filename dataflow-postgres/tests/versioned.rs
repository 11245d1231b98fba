//! Migration files checked by ordinary tests on PostgreSQL: generated from
//! models, up to date, reversible, and a test database that starts at a
//! migration. Skipped without `DATABASE_URL` (failing under `CI=true`).

use chrono::{TimeZone, Utc};
use dataflow_core::prelude::*;
use dataflow_core::GenerateOptions;
use dataflow_postgres::testing::{
    assert_migrations_reversible, assert_migrations_up_to_date, server_url, TestDb,
};

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "vm_authors")]
struct V1 {
    id: i64,
    phone_number: Option<String>,
    legacy: Option<String>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "vm_authors")]
#[dataflow(index(fields("phone")))]
struct V2 {
    id: i64,
    #[dataflow(renamed_from = "phone_number")]
    phone: Option<String>,
    #[dataflow(default = 1)]
    rank: i32,
}

#[test]
fn generated_migrations_are_up_to_date_reversible_and_a_test_starts_between_them() {
    if server_url().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let at = |m| GenerateOptions::default().at(Utc.with_ymd_and_hms(2026, 1, 1, 12, m, 0).unwrap());
    let db = TestDb::builder().build().unwrap();
    db.register::<V1>().unwrap();
    assert!(!db
        .generate_migration_with(dir.path(), "init", at(0))
        .unwrap()
        .is_up_to_date());
    let db2 = TestDb::builder().build().unwrap();
    db2.register::<V2>().unwrap();
    assert!(!db2
        .generate_migration_with(dir.path(), "phone", at(1))
        .unwrap()
        .is_up_to_date());
    assert_migrations_up_to_date(dir.path(), models![V2]);
    assert!(
        std::panic::catch_unwind(|| assert_migrations_up_to_date(dir.path(), models![V1])).is_err()
    );
    assert_migrations_reversible(dir.path());

    let migrations = Migrations::from_dir(dir.path()).unwrap();
    let t = TestDb::builder()
        .models(models![V1])
        .migrations(&migrations)
        .at_migration("20260101120000_init")
        .build()
        .unwrap();
    let row = V1::create(
        &t,
        V1 {
            id: 0,
            phone_number: Some("555".into()),
            legacy: None,
        },
    )
    .unwrap();
    t.upgrade(
        &migrations,
        "20260101120100_phone",
        MigrateOptions::default()
            .auto_confirm(true)
            .max_risk(RiskLevel::High),
    )
    .unwrap();
    let now = dataflow_postgres::connect(t.url()).unwrap();
    now.register::<V2>().unwrap();
    let after = V2::read(&now, row.id).unwrap().unwrap();
    assert_eq!((after.phone.as_deref(), after.rank), (Some("555"), 1));
}
