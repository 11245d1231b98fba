//! The backend-conformance suite on PostgreSQL: every scenario of
//! `dataflow-conformance` on a private database per test, on the server of
//! `DATABASE_URL` (skipped without it, except under `CI=true`, where that fails).

use dataflow_conformance::TestBackend;
use dataflow_core::model::descriptor::ModelDescriptor;
use dataflow_postgres::testing::{server_url, TestDb};

fn test_db(models: &[&'static ModelDescriptor]) -> Option<TestBackend> {
    server_url()?;
    let db = TestDb::builder()
        .models(models)
        .build()
        .expect("postgres test database");
    let url = db.url().to_owned();
    Some(TestBackend::new(db, move || {
        dataflow_postgres::PgOptions::new(url.as_str())
            .pool_size(4)
            .connect()
            .expect("reconnect")
    }))
}

dataflow_conformance::dataflow_conformance!(postgres, test_db);
