//! `default_sql`: a default the database evaluates, written as SQL. The
//! expressions are portable (`lower`, arithmetic, `CURRENT_DATE`), so the same
//! model runs on every backend; each backend prints them its own way, which
//! must not show as a change.

use dataflow_core::migrate::schema::SchemaDefault;
use dataflow_core::prelude::*;

use crate::backends::TestBackend;
use crate::migrate::{next, start};

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "sql_defaults")]
struct V1 {
    id: i64,
    name: String,
    #[dataflow(default_sql = "lower('X')")]
    code: String,
    #[dataflow(default_sql = "1 + 2")]
    n: i64,
    #[dataflow(default_sql = "CURRENT_DATE")]
    day: Option<chrono::NaiveDate>,
}

/// The same table with one expression changed.
#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "sql_defaults")]
struct V2 {
    id: i64,
    name: String,
    #[dataflow(default_sql = "upper('y')")]
    code: String,
    #[dataflow(default_sql = "1 + 2")]
    n: i64,
    #[dataflow(default_sql = "CURRENT_DATE")]
    day: Option<chrono::NaiveDate>,
}

/// Inserts a row naming only `id` and `name`, as another writer would.
fn insert_bare(h: &DataFlow, id: i64, name: &str) {
    h.with_conn(|c| {
        c.batch_execute(&format!(
            "INSERT INTO sql_defaults (id, name) VALUES ({id}, '{name}')"
        ))
    })
    .unwrap();
}

fn column_default(h: &DataFlow, column: &str) -> Option<SchemaDefault> {
    h.describe().unwrap().tables["sql_defaults"]
        .column(column)
        .and_then(|c| c.default.clone())
}

pub fn sql_defaults_fill_rows_and_plan_nothing_more(db: &TestBackend) {
    let h = start::<V1>(db, &[]);
    let plan = h.plan().unwrap();
    assert!(
        plan.steps.is_empty(),
        "the database's printing of the expressions is no change: {:?}",
        plan.steps
    );
    // A key far from the generator's next value: PostgreSQL's identity does
    // not move past keys written by hand.
    insert_bare(&h, 100, "bare");
    let row = V1::read(&h, 100).unwrap().unwrap();
    assert_eq!((row.code.as_str(), row.n), ("x", 3));
    let today = chrono::Utc::now().date_naive();
    let day = row.day.expect("CURRENT_DATE filled the day");
    assert!((day - today).num_days().abs() <= 1, "{day} vs {today}");
    // `create` writes what the struct holds, as for `default =`.
    let made = V1::create(
        &h,
        V1Draft {
            name: "made".into(),
            code: "given".into(),
            n: 7,
            day: None,
        },
    )
    .unwrap();
    let stored = V1::read(&h, made.id).unwrap().unwrap();
    assert_eq!(
        (stored.code.as_str(), stored.n, stored.day),
        ("given", 7, None)
    );
}

pub fn a_changed_sql_default_is_one_safe_step(db: &TestBackend) {
    let h1 = start::<V1>(db, &[]);
    insert_bare(&h1, 1, "before");
    let h = next::<V2>(db);
    let plan = h.plan().unwrap();
    let steps: Vec<_> = plan.steps.iter().map(|s| (s.operation, s.risk)).collect();
    assert_eq!(
        steps,
        [(Operation::AlterColumn, RiskLevel::Safe)],
        "{:?}",
        plan.steps
    );
    assert!(
        plan.steps[0].detail.contains("upper('y')"),
        "{}",
        plan.steps[0].detail
    );
    let r = h.auto_migrate(MigrateOptions::default()).unwrap();
    assert!(r.applied);
    assert_eq!(
        column_default(&h, "code"),
        Some(SchemaDefault::Sql("upper('y')".into()))
    );
    assert_eq!(
        column_default(&h, "n"),
        Some(SchemaDefault::Sql("1 + 2".into()))
    );
    assert!(h.plan().unwrap().steps.is_empty());
    insert_bare(&h, 2, "after");
    let rows = V2::list(&h).order_by(V2::ID.asc()).all().unwrap();
    let codes: Vec<&str> = rows.iter().map(|r| r.code.as_str()).collect();
    assert_eq!(codes, ["x", "Y"], "the old row keeps its value");
}

pub fn an_added_column_with_a_sql_default_fills_existing_rows(db: &TestBackend) {
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "sql_defaults")]
    struct Before {
        id: i64,
        name: String,
    }
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "sql_defaults")]
    struct After {
        id: i64,
        name: String,
        #[dataflow(default_sql = "lower('X') || 'y'")]
        code: String,
    }
    start(
        db,
        &[Before {
            id: 0,
            name: "a".into(),
        }],
    );
    let h = next::<After>(db);
    let r = h.auto_migrate(MigrateOptions::default()).unwrap();
    assert!(r.applied);
    assert_eq!(
        r.steps.iter().map(|s| s.risk).max(),
        Some(RiskLevel::Safe),
        "{:?}",
        r.steps
    );
    assert_eq!(After::list(&h).all().unwrap()[0].code, "xy");
    assert!(h.plan().unwrap().steps.is_empty());
}
