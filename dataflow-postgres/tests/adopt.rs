//! Adopting PostgreSQL databases dataflow did not create: for each
//! hand-written schema of `tests/adopt/*.sql`, the models generated from it are
//! the ones compiled here (`tests/adopt/*.rs`, rewritten by
//! `DATAFLOW_BLESS=1`), and registering them, `plan()` finds nothing to do (or
//! only what the generated comments explain). See
//! `dataflow_conformance::adopt::round_trip`. Skipped without `DATABASE_URL`
//! (failing under `CI=true`).

use dataflow_postgres::testing::{server_url, TestDb};

fn fresh() -> Option<TestDb> {
    server_url()?;
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
    generated_keys explained("lookups");
    expression_defaults;
}
