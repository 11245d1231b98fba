//! The backend-conformance suite on SQLite: every scenario of
//! `dataflow-conformance` on a private database file per test.

use dataflow_conformance::TestBackend;
use dataflow_core::model::descriptor::ModelDescriptor;
use dataflow_sqlite::testing::TestDb;

fn test_db(models: &[&'static ModelDescriptor]) -> Option<TestBackend> {
    let db = TestDb::builder()
        .models(models)
        .build()
        .expect("sqlite test database");
    let path = db.path().to_owned();
    Some(TestBackend::new(db, move || {
        dataflow_sqlite::open(&path).expect("reopen sqlite")
    }))
}

dataflow_conformance::dataflow_conformance!(sqlite, test_db);
