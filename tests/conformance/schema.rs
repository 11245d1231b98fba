//! Reconciliation scenarios available before the full migration engine.

use dataflow_core::migrate::schema::Schema;
use dataflow_core::prelude::*;

use crate::backends::TestBackend;
use crate::models::{Everything, Note, Post, Tag, User};

/// A different model claiming the `users` table: one extra column.
#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "users")]
pub struct UserWithPhone {
    pub id: i64,
    pub name: String,
    #[dataflow(unique, max_length = 255)]
    pub email: String,
    pub age: Option<i32>,
    #[dataflow(default = true)]
    pub is_active: bool,
    pub profile: Option<serde_json::Value>,
    pub phone: Option<String>,
}

pub fn auto_migrate_creates_tables_once(db: &DataFlow) {
    // The fixture already migrated: a second run plans and applies nothing.
    let again = db.auto_migrate(MigrateOptions::default()).unwrap();
    assert!(again.steps.is_empty(), "{}", again.preview());
    assert!(!again.applied);
    db.check().unwrap();
}

pub fn changed_model_is_planned_not_ignored(db: &TestBackend) {
    User::create(db, User::new("Ann", "ann@x", None)).unwrap();
    let other = db.reopen();
    other.register::<UserWithPhone>().unwrap();
    // The new model adds a column (SAFE) and lacks the composite index (MEDIUM):
    // check() names both; default options refuse the plan and change nothing.
    match other.check() {
        Err(Error::Drift { differences }) => {
            assert!(
                differences
                    .iter()
                    .any(|d| d.contains("add column") && d.contains("phone")),
                "{differences:?}"
            );
            assert!(
                differences.iter().any(|d| d.contains("drop index")),
                "{differences:?}"
            );
        }
        r => panic!("expected Drift, got {r:?}"),
    }
    let err = other.auto_migrate(MigrateOptions::default()).unwrap_err();
    assert!(
        matches!(err, Error::MigrationRefused { ref steps, .. } if steps.len() == 1 && steps[0].contains("drop index")),
        "{err:?}"
    );
    assert_eq!(User::list(db).count().unwrap(), 1);
    db.check().unwrap();
}

pub fn check_reports_missing_tables(db: &TestBackend) {
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "not_yet_created")]
    struct Fresh {
        id: i64,
        value: Option<String>,
    }
    let other = db.reopen();
    other.register::<Fresh>().unwrap();
    match other.check() {
        Err(Error::Drift { differences }) => {
            assert!(
                differences[0].contains("not_yet_created"),
                "{differences:?}"
            );
            // The fixture's tables belong to another model set: listed, not differences.
            assert!(
                differences[1].starts_with("unmanaged tables"),
                "{differences:?}"
            );
            assert_eq!(differences.len(), 2);
        }
        r => panic!("expected drift, got {r:?}"),
    }
    let plan = other.plan().unwrap();
    assert_eq!(plan.steps.len(), 1);
    assert_eq!(plan.steps[0].operation, Operation::CreateTable);
    assert_eq!(plan.steps[0].risk, RiskLevel::Safe);
    assert!(!plan.steps[0].sql_down.is_empty());
    other.auto_migrate(MigrateOptions::default()).unwrap();
    other.check().unwrap();
    let row = Fresh::create(
        &other,
        Fresh {
            id: 0,
            value: Some("v".into()),
        },
    )
    .unwrap();
    assert_eq!(Fresh::read(&other, row.id).unwrap(), Some(row));
}

pub fn described_schema_equals_target(db: &DataFlow) {
    let live: Schema = db.describe().unwrap();
    let target = db.target_schema();
    for (name, table) in &target.tables {
        assert_eq!(live.tables.get(name), Some(table), "table {name}");
    }
    for name in ["users", "posts", "everything", "notes", "tags", "tickets"] {
        assert!(live.tables.contains_key(name), "{name}");
    }
    // An enum column is described with the values its check allows.
    let status = live.tables["tickets"].column("status").unwrap();
    assert_eq!(
        status.enum_values.as_deref(),
        Some(&["closed".to_owned(), "in-progress".into(), "open".into()][..])
    );
    let _ = (
        User::DESCRIPTOR,
        Post::DESCRIPTOR,
        Everything::DESCRIPTOR,
        Note::DESCRIPTOR,
        Tag::DESCRIPTOR,
    );
}

pub fn dry_run_touches_nothing(db: &TestBackend) {
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "dry_run_only")]
    struct DryRun {
        id: i64,
    }
    let other = db.reopen();
    other.register::<DryRun>().unwrap();
    let report = other
        .auto_migrate(MigrateOptions::default().dry_run(true))
        .unwrap();
    assert!(!report.applied);
    assert_eq!(report.steps.len(), 1);
    assert!(report.preview().contains("dry_run_only"));
    assert!(!other
        .describe()
        .unwrap()
        .tables
        .contains_key("dry_run_only"));
}

pub fn two_models_for_one_table_are_refused(db: &DataFlow) {
    let err = db.register::<UserWithPhone>().unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput(ref m) if m.contains("users")),
        "{err:?}"
    );
    // Registering the same model twice is fine.
    db.register::<User>().unwrap();
}
