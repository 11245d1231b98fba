//! Adopting SQLite databases dataflow did not create: for each hand-written
//! schema of `tests/adopt/*.sql`, the models generated from it are the ones
//! compiled here (`tests/adopt/*.rs`, rewritten by `DATAFLOW_BLESS=1`), and
//! registering them, `plan()` finds nothing to do (or only what the generated
//! comments explain). See `dataflow_conformance::adopt::round_trip`.

use dataflow_sqlite::testing::TestDb;

fn fresh() -> Option<TestDb> {
    Some(TestDb::builder().build().expect("test database"))
}

dataflow_conformance::adopt_corpus! { fresh;
    shop;
    blog;
    tree;
    legacy_log;
    weird_names;
    inventory;
    hr;
    composite_fk;
    enums;
    sessions;
    nullable_key explained("kv");
    expression_defaults;
}

/// A model's integer key that the database does not assign keeps reading as
/// such: only a table's lone `INTEGER` key declared by hand is a rowid alias.
#[test]
fn an_explicit_integer_key_is_not_read_as_auto_increment() {
    use dataflow_core::prelude::*;

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "codes")]
    struct Code {
        #[dataflow(primary_key, auto_increment = false)]
        code: i32,
        label: String,
    }

    let db = TestDb::builder()
        .model::<Code>()
        .build()
        .expect("test database");
    assert!(db.plan().expect("plan").steps.is_empty());
    Code::create(
        &db,
        Code {
            code: 7,
            label: "seven".into(),
        },
    )
    .expect("create");
    assert_eq!(Code::read(&db, 7).expect("read").map(|c| c.code), Some(7));
}
