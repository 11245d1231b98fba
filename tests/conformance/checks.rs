//! Table `CHECK` constraints and column collations declared by models
//! (`#[dataflow(check(...))]`, `#[dataflow(collation = "...")]`): created,
//! enforced, kept by later migrations (a SQLite table rebuild included),
//! verified against the rows before they are added, and — on a table written
//! by hand — never dropped without a visible step.

use dataflow_core::prelude::*;
use dataflow_core::LogicalType;

use crate::backends::TestBackend;
use crate::migrate::{next, opted_in};

/// The same models per backend, over a collation each database has: SQLite's
/// case-insensitive `NOCASE`, PostgreSQL's byte-order `C`.
macro_rules! checked_models {
    ($m:ident, $collation:literal) => {
        pub mod $m {
            use dataflow_core::prelude::*;

            /// The first version: a collated unique code and two checks, one
            /// PostgreSQL prints back with a cast it adds (`code` is varchar).
            #[derive(Model, Debug, Clone, PartialEq)]
            #[dataflow(table = "ck_items")]
            #[dataflow(check(name = "ck_items_price_positive", expr = "price > 0"))]
            #[dataflow(check(name = "ck_items_code_present", expr = "length(code) > 0"))]
            pub struct V1 {
                pub id: i64,
                #[dataflow(unique, max_length = 20, collation = $collation)]
                pub code: String,
                pub price: i64,
                pub label: Option<String>,
            }

            /// `label` becomes NOT NULL: SQLite rebuilds the table.
            #[derive(Model, Debug, Clone, PartialEq)]
            #[dataflow(table = "ck_items")]
            #[dataflow(check(name = "ck_items_price_positive", expr = "price > 0"))]
            #[dataflow(check(name = "ck_items_code_present", expr = "length(code) > 0"))]
            pub struct V2 {
                pub id: i64,
                #[dataflow(unique, max_length = 20, collation = $collation)]
                pub code: String,
                pub price: i64,
                #[dataflow(default = "")]
                pub label: String,
            }

            /// A third check, which a row of the test violates.
            #[derive(Model, Debug, Clone, PartialEq)]
            #[dataflow(table = "ck_items")]
            #[dataflow(check(name = "ck_items_price_positive", expr = "price > 0"))]
            #[dataflow(check(name = "ck_items_code_present", expr = "length(code) > 0"))]
            #[dataflow(check(name = "ck_items_price_small", expr = "price < 100"))]
            pub struct V3 {
                pub id: i64,
                #[dataflow(unique, max_length = 20, collation = $collation)]
                pub code: String,
                pub price: i64,
                #[dataflow(default = "")]
                pub label: String,
            }

            /// The hand-written table of the safety-net scenario, as a model
            /// that declares neither its check nor its collation, and makes
            /// `name` NOT NULL (a rebuild on SQLite).
            #[derive(Model, Debug, Clone, PartialEq)]
            #[dataflow(table = "hand_checked")]
            pub struct Hand {
                pub id: i64,
                pub qty: i32,
                #[dataflow(default = "")]
                pub name: String,
            }
        }
    };
}

checked_models!(sqlite_models, "NOCASE");
checked_models!(pg_models, "C");

fn is_pg(db: &DataFlow) -> bool {
    db.dialect().name() == "postgres"
}

/// The codes of `ck_items` in the order the database sorts them.
fn codes_in_order(db: &DataFlow) -> Vec<String> {
    let mut out = Vec::new();
    db.with_conn(|c| {
        c.query(
            "SELECT code FROM ck_items ORDER BY code",
            &[],
            &[LogicalType::Text],
            &mut |row| {
                if let Value::Text(t) = std::mem::take(&mut row[0]) {
                    out.push(t);
                }
                Ok(())
            },
        )
    })
    .unwrap();
    out
}

/// Inserts with raw SQL (the model of the moment may not have every column).
fn insert(db: &DataFlow, code: &str, price: i64) -> Result<usize> {
    let sql = format!("INSERT INTO ck_items (code, price, label) VALUES ('{code}', {price}, 'x')");
    db.with_conn(|c| c.execute(&sql, &[]))
}

fn assert_check_violation(r: Result<usize>) {
    assert!(
        matches!(r, Err(Error::CheckViolation { .. })),
        "expected CheckViolation, got {r:?}"
    );
}

/// Whether the collation still holds: on SQLite `NOCASE` makes `A1` collide
/// with the unique `a1`; on PostgreSQL `C` sorts capitals first.
fn assert_collation_holds(db: &DataFlow) {
    if is_pg(db) {
        assert_eq!(codes_in_order(db), ["B2", "a1"]);
    } else {
        assert!(
            matches!(insert(db, "A1", 5), Err(Error::UniqueViolation { .. })),
            "NOCASE uniqueness lost"
        );
        assert_eq!(codes_in_order(db), ["a1", "B2"]);
    }
}

fn has_part(step: &dataflow_core::MigrationStep, op: Operation) -> bool {
    step.operation == op || step.parts.iter().any(|p| p.operation == op)
}

macro_rules! per_backend {
    ($db:expr, |$m:ident| $body:block) => {
        if is_pg(&$db.reopen()) {
            use pg_models as $m;
            $body
        } else {
            use sqlite_models as $m;
            $body
        }
    };
}

pub fn checks_and_collations_migrate_and_survive_a_rebuild(db: &TestBackend) {
    per_backend!(db, |m| {
        let h = next::<m::V1>(db);
        let r = h.auto_migrate(MigrateOptions::default()).unwrap();
        assert!(r.applied, "{}", r.preview());
        assert!(
            h.plan().unwrap().steps.is_empty(),
            "{}",
            h.plan().unwrap().preview()
        );
        insert(&h, "a1", 10).unwrap();
        insert(&h, "B2", 500).unwrap();
        assert_check_violation(insert(&h, "c3", 0));
        assert_check_violation(insert(&h, "", 5));
        assert_collation_holds(&h);

        // A change SQLite makes by copying the table keeps both.
        let h2 = next::<m::V2>(db);
        let r = h2.auto_migrate(opted_in(RiskLevel::Medium)).unwrap();
        assert!(r.applied, "{}", r.preview());
        if !is_pg(&h2) {
            assert!(
                r.steps.iter().any(|s| s
                    .sql_up
                    .iter()
                    .any(|q| q.contains("_dataflow_new_ck_items"))),
                "a rebuild: {}",
                r.preview()
            );
        }
        assert!(
            h2.plan().unwrap().steps.is_empty(),
            "{}",
            h2.plan().unwrap().preview()
        );
        assert_check_violation(insert(&h2, "c3", -4));
        assert_collation_holds(&h2);
        let live = h2.describe().unwrap();
        let t = &live.tables["ck_items"];
        assert_eq!(
            t.checks.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["ck_items_code_present", "ck_items_price_positive"]
        );
        assert!(t.column("code").unwrap().collation.is_some());

        // A check the rows violate is refused with their count; nothing changes.
        let h3 = next::<m::V3>(db);
        let plan = h3.plan().unwrap();
        assert_eq!(plan.steps.len(), 1, "{}", plan.preview());
        let step = &plan.steps[0];
        assert!(has_part(step, Operation::AddCheck), "{}", plan.preview());
        assert_eq!(step.risk, RiskLevel::High);
        let why = step.blocked.as_deref().unwrap_or_default();
        assert!(
            why.contains("1 rows") && why.contains("ck_items_price_small"),
            "{why}"
        );
        match h3.auto_migrate(opted_in(RiskLevel::High)) {
            Err(Error::MigrationRefused { steps, .. }) => {
                assert!(steps[0].contains("BLOCKED"), "{steps:?}")
            }
            other => panic!("expected MigrationRefused, got {other:?}"),
        }
        assert_eq!(h3.describe().unwrap(), live, "nothing changed");
        insert(&h3, "d4", 700).unwrap();
    })
}

pub fn a_check_or_collation_the_model_leaves_out_is_a_visible_step(db: &TestBackend) {
    per_backend!(db, |m| {
        let h = db.reopen();
        let (key, collation) = if is_pg(&h) {
            ("id BIGSERIAL PRIMARY KEY", "\"C\"")
        } else {
            ("id INTEGER PRIMARY KEY", "NOCASE")
        };
        h.with_conn(|c| {
            c.batch_execute(&format!(
                "CREATE TABLE hand_checked ({key}, qty INTEGER NOT NULL CHECK (qty >= 0), \
                 name TEXT COLLATE {collation})"
            ))
        })
        .unwrap();
        let live = h.describe().unwrap();
        let t = &live.tables["hand_checked"];
        // The unnamed check reads under PostgreSQL's name for it on both.
        assert_eq!(
            t.checks.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["hand_checked_qty_check"]
        );
        let h = next::<m::Hand>(db);
        let plan = h.plan().unwrap();
        let drop = plan
            .steps
            .iter()
            .find(|s| has_part(s, Operation::DropCheck))
            .unwrap_or_else(|| panic!("no drop check: {}", plan.preview()));
        assert!(drop.risk >= RiskLevel::Medium, "{}", plan.preview());
        assert!(
            plan.preview().contains("hand_checked_qty_check"),
            "{}",
            plan.preview()
        );
        assert!(
            plan.steps.iter().any(|s| s.reason.contains("collation")),
            "{}",
            plan.preview()
        );
        // Not applied unless allowed: the check still refuses a negative qty.
        assert!(h.auto_migrate(MigrateOptions::default()).is_err());
        let bad = h
            .with_conn(|c| c.execute("INSERT INTO hand_checked (qty, name) VALUES (-1, 'x')", &[]));
        assert_check_violation(bad);
        assert_eq!(h.describe().unwrap(), live, "nothing changed");
    })
}
