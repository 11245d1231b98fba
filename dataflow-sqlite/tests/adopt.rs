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
}
