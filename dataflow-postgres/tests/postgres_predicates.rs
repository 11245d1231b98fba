//! Partial-index conditions against a real PostgreSQL: for random conditions
//! (comparisons of every column type, negative numbers, quotes, IN lists,
//! timestamps, AND/OR/NOT), the condition PostgreSQL describes back must be
//! recognised as the model's own (no drift on the next start), and a condition
//! that differs in one literal must not be (a real change is never hidden).

use dataflow_core::migrate::schema::Table;
use dataflow_core::prelude::*;
use dataflow_postgres::testing::TestDb;
use proptest::prelude::*;

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "probe")]
struct Probe {
    id: i64,
    name: String,
    #[dataflow(max_length = 20)]
    code: String,
    n: i32,
    big: i64,
    active: bool,
    score: f64,
    created_at: chrono::DateTime<chrono::Utc>,
    born: Option<chrono::NaiveDate>,
}

fn text_literal() -> impl Strategy<Value = String> {
    "[a-z' %]{0,6}".prop_map(|s| format!("'{}'", s.replace('\'', "''")))
}

fn atom() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            prop_oneof![Just("="), Just("<>"), Just(">")],
            text_literal()
        )
            .prop_map(|(op, l)| format!("name {op} {l}")),
        text_literal().prop_map(|l| format!("code LIKE {l}")),
        (
            prop_oneof![Just("<"), Just(">="), Just("=")],
            -1000i32..1000
        )
            .prop_map(|(op, k)| format!("n {op} {k}")),
        (-100_000i64..100_000).prop_map(|k| format!("big <= {k}")),
        prop_oneof![
            Just("active".to_owned()),
            Just("NOT active".to_owned()),
            Just("active = TRUE".to_owned())
        ],
        (-50i32..50).prop_map(|k| format!("score >= {}.5", k)),
        (2000u32..2030).prop_map(|y| format!("created_at > '{y}-01-01'")),
        (2000u32..2030).prop_map(|y| format!("born < '{y}-06-01'")),
        prop_oneof![Just("born IS NULL"), Just("born IS NOT NULL")].prop_map(str::to_owned),
        proptest::collection::vec(-20i32..20, 1..4).prop_map(|v| format!(
            "n IN ({})",
            v.iter().map(i32::to_string).collect::<Vec<_>>().join(", ")
        )),
    ]
}

fn condition() -> impl Strategy<Value = String> {
    atom().prop_recursive(2, 6, 2, |inner| {
        (inner.clone(), prop_oneof![Just("AND"), Just("OR")], inner)
            .prop_map(|(a, op, b)| format!("({a}) {op} ({b})"))
    })
}

struct Fixture {
    _db: TestDb,
    h: DataFlow,
    table: Table,
}

fn fixture() -> Option<Fixture> {
    dataflow_postgres::testing::server_url()?;
    let db = TestDb::builder().model::<Probe>().build().unwrap();
    let h = db.handle();
    let table = h.target_schema().tables["probe"].clone();
    Some(Fixture { _db: db, h, table })
}

/// Creates the partial index and returns the condition as described back.
fn described(f: &Fixture, cond: &str) -> String {
    f.h.with_conn(|c| {
        c.batch_execute("DROP INDEX IF EXISTS px_probe")?;
        c.batch_execute(&format!("CREATE INDEX px_probe ON probe (id) WHERE {cond}"))
    })
    .unwrap();
    let live = f.h.describe().unwrap();
    live.tables["probe"]
        .indexes
        .iter()
        .find(|i| i.name == "px_probe")
        .and_then(|i| i.predicate.clone())
        .expect("described")
}

/// What the engine does: the described text must equal the database's own
/// printing of the model's condition, exactly.
fn recognised(f: &Fixture, live: &str, model: &str) -> bool {
    live == model
        || f.h
            .with_conn(|c| {
                f.h.describer()
                    .reprint_predicates(c, &f.table, &[model.to_owned()])
            })
            .unwrap()
            .iter()
            .all(|p| p == live)
}

#[test]
fn described_conditions_are_recognised_and_changes_are_not_hidden() {
    let Some(f) = fixture() else { return };
    // One database for every case: a manual runner instead of `proptest!`.
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 48,
        ..ProptestConfig::default()
    });
    runner
        .run(&(condition(), -1000i32..1000), |(cond, k)| {
            let model = format!("({cond}) AND n > {k}");
            let live = described(&f, &model);
            prop_assert!(
                recognised(&f, &live, &model),
                "live {live:?} vs model {model:?}"
            );
            let changed = format!("({cond}) AND n > {}", k + 1);
            prop_assert!(
                !recognised(&f, &live, &changed),
                "live {live:?} vs changed {changed:?}"
            );
            Ok(())
        })
        .unwrap();
}

#[test]
fn regrouping_a_condition_is_a_change() {
    let Some(f) = fixture() else { return };
    let model = "(n > 1 OR big < 2) AND active";
    let live = described(&f, model);
    assert!(recognised(&f, &live, model), "{live}");
    assert!(
        !recognised(&f, &live, "n > 1 OR (big < 2 AND active)"),
        "{live}"
    );
}

#[test]
fn a_rewritten_condition_is_not_drift_end_to_end() {
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "events")]
    #[dataflow(partial_index(
        fields("kind"),
        condition = "kind IN ('a', 'b') AND at > '2024-01-01'"
    ))]
    struct Event {
        id: i64,
        kind: String,
        at: chrono::DateTime<chrono::Utc>,
    }
    if fixture().is_none() {
        return;
    }
    let db = TestDb::builder().model::<Event>().build().unwrap();
    // PostgreSQL prints it as `((kind = ANY (ARRAY['a'::text, 'b'::text])) AND (at > '2024-01-01 00:00:00+00'::timestamp with time zone))`.
    let live = db.describe().unwrap();
    let p = live.tables["events"].indexes[0].predicate.clone().unwrap();
    assert!(p.contains("ANY"), "{p}");
    db.check().unwrap();
    assert!(db
        .auto_migrate(MigrateOptions::default())
        .unwrap()
        .steps
        .is_empty());
}
