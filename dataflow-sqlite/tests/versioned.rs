//! Versioned migration files on SQLite: what `generate_migration` writes
//! (insta snapshots), and a committed migration directory compiled in with
//! `embed_migrations!`, up to date with its models and applied from the
//! binary.

use chrono::{TimeZone, Utc};
use dataflow_core::prelude::*;
use dataflow_core::GenerateOptions;

mod v1 {
    use dataflow_core::prelude::*;

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "authors")]
    pub struct Author {
        pub id: i64,
        #[dataflow(unique, max_length = 200)]
        pub email: String,
        pub phone_number: Option<String>,
        pub legacy: Option<String>,
    }

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "books")]
    #[dataflow(index(fields("author_id", "title")))]
    #[dataflow(foreign_key(
        field = "author_id",
        references = "authors(id)",
        on_delete = "cascade"
    ))]
    pub struct Book {
        pub id: i64,
        pub author_id: i64,
        pub title: String,
    }
}

mod v2 {
    use dataflow_core::prelude::*;

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "authors")]
    pub struct Author {
        pub id: i64,
        #[dataflow(unique, max_length = 200)]
        pub email: String,
        #[dataflow(renamed_from = "phone_number")]
        pub phone: Option<String>,
        #[dataflow(default = true)]
        pub active: bool,
    }
}

fn at(minute: u32) -> GenerateOptions {
    GenerateOptions::default().at(Utc.with_ymd_and_hms(2026, 1, 1, 12, minute, 0).unwrap())
}

fn written(g: Generated) -> std::path::PathBuf {
    match g {
        Generated::Written { dir, .. } => dir,
        Generated::UpToDate => panic!("nothing generated"),
    }
}

#[test]
fn generated_files_are_reviewable() {
    let dir = tempfile::tempdir().unwrap();
    let db = dataflow_sqlite::open(":memory:").unwrap();
    db.register_all(models![v1::Author, v1::Book]).unwrap();
    let first = written(
        db.generate_migration_with(dir.path(), "init", at(0))
            .unwrap(),
    );
    let db = dataflow_sqlite::open(":memory:").unwrap();
    db.register_all(models![v2::Author, v1::Book]).unwrap();
    let second = written(
        db.generate_migration_with(dir.path(), "phone", at(1))
            .unwrap(),
    );
    for (label, d) in [("init", &first), ("phone", &second)] {
        for f in ["up.sql", "down.sql", "plan.json"] {
            let text = std::fs::read_to_string(d.join(f)).unwrap();
            insta::assert_snapshot!(format!("{label}_{f}"), text);
        }
    }
}

static MIGRATIONS: Migrations = dataflow_core::embed_migrations!("tests/migrations");

#[test]
fn embedded_migrations_are_the_directory_up_to_date_and_apply() {
    let from_dir =
        Migrations::from_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/migrations")).unwrap();
    assert_eq!(MIGRATIONS.sources(), from_dir.sources());
    assert_eq!(MIGRATIONS.len(), 2);
    let db = dataflow_sqlite::open(":memory:").unwrap();
    db.register_all(models![v2::Author, v1::Book]).unwrap();
    assert_eq!(db.pending_migration(&MIGRATIONS).unwrap(), None);
    let r = db
        .apply_migrations(
            &MIGRATIONS,
            MigrateOptions::default()
                .auto_confirm(true)
                .max_risk(RiskLevel::High),
        )
        .unwrap();
    assert_eq!(r.ids().len(), 2);
    db.check().unwrap();
}

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/migrations");

#[test]
fn committed_migrations_are_up_to_date_and_reversible() {
    dataflow_sqlite::testing::assert_migrations_up_to_date(DIR, models![v2::Author, v1::Book]);
    dataflow_sqlite::testing::assert_migrations_reversible(DIR);
}

#[test]
fn a_model_changed_without_a_migration_fails_with_the_pending_plan() {
    let panic = std::panic::catch_unwind(|| {
        dataflow_sqlite::testing::assert_migrations_up_to_date(DIR, models![v1::Author, v1::Book]);
    })
    .unwrap_err();
    let msg = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("has no migration for it"), "{msg}");
    assert!(
        msg.contains("drop column") && msg.contains("legacy"),
        "{msg}"
    );
}

#[test]
fn an_irreversible_migration_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let db = dataflow_sqlite::open(":memory:").unwrap();
    db.register_all(models![v1::Author, v1::Book]).unwrap();
    let first = written(
        db.generate_migration_with(dir.path(), "init", at(0))
            .unwrap(),
    );
    // A down.sql that forgets a table.
    std::fs::write(first.join("down.sql"), "DROP TABLE books;\n").unwrap();
    let panic = std::panic::catch_unwind(|| {
        dataflow_sqlite::testing::assert_migrations_reversible(dir.path());
    })
    .unwrap_err();
    let msg = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        msg.contains("20260101120000_init: down.sql does not restore"),
        "{msg}"
    );
    assert!(msg.contains("table authors is left over"), "{msg}");
}

#[test]
fn a_test_database_starts_at_a_migration_and_is_migrated_with_its_rows() {
    let db = dataflow_sqlite::testing::TestDb::builder()
        .models(models![v1::Author, v1::Book])
        .migrations(&MIGRATIONS)
        .at_migration("20260101120000_init")
        .build()
        .unwrap();
    let ann = v1::Author::create(
        &db,
        v1::Author {
            id: 0,
            email: "ann@example.org".into(),
            phone_number: Some("555".into()),
            legacy: Some("x".into()),
        },
    )
    .unwrap();
    db.upgrade(
        &MIGRATIONS,
        "20260101120100_phone",
        MigrateOptions::default()
            .auto_confirm(true)
            .max_risk(RiskLevel::High),
    )
    .unwrap();
    let now = dataflow_sqlite::open(db.path()).unwrap();
    now.register::<v2::Author>().unwrap();
    let after = v2::Author::read(&now, ann.id).unwrap().unwrap();
    assert_eq!(after.phone.as_deref(), Some("555"));
    assert!(after.active);
}
