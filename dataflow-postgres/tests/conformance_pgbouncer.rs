//! The conformance scenarios that exercise the data path and migrations, on
//! PostgreSQL through PgBouncer in transaction mode (`DATAFLOW_PGBOUNCER_URL`,
//! which `.ci/run` starts in front of the test server): each test's CRUD,
//! nodes, workflows and transactions go through the pooler with prepared
//! statements off (the pooler declared in the URL), its administration and
//! migrations to the server directly (`DATABASE_URL`, the migration URL).
//! Skipped without the pooler, except under `CI=true`, where that fails.
//!
//! Only these groups: the rest of the suite (planning, rollback, enums,
//! regex, ...) runs its statements the same way through either route, and a
//! whole second run would double the suite's time in CI.

use dataflow_conformance::TestBackend;
use dataflow_core::model::descriptor::ModelDescriptor;
use dataflow_postgres::testing::{server_url, service_url, TestDb};

fn test_db(models: &[&'static ModelDescriptor]) -> Option<TestBackend> {
    let pooler = service_url("DATAFLOW_PGBOUNCER_URL")?;
    let direct = server_url()?;
    let pooled = format!("{}?pooler=transaction", pooler.split('?').next()?);
    let db = TestDb::builder()
        .url(pooled)
        .migration_url(direct)
        .models(models)
        .build()
        .expect("postgres test database behind the pooler");
    let url = db.url().to_owned();
    let migration_url = db.migration_url().map(str::to_owned);
    Some(TestBackend::new(db, move || {
        let options = dataflow_postgres::PgOptions::new(url.as_str()).pool_size(4);
        match &migration_url {
            Some(m) => options.migration_url(m.as_str()),
            None => options,
        }
        .connect()
        .expect("reconnect")
    }))
}

dataflow_conformance::dataflow_conformance!(
    postgres_pgbouncer,
    test_db,
    groups(
        crud,
        writes,
        transactions,
        migrate,
        nodes,
        workflows,
        records
    )
);
