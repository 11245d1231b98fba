//! One fresh, migrated database per test, per backend.

use std::ops::Deref;

use dataflow_core::prelude::*;

use crate::models::{Everything, Note, Post, Tag, User};

/// A database that lives as long as the test: the testing support users get
/// (`TestDb`), so the suite dogfoods it.
pub enum TestBackend {
    /// A private SQLite file.
    Sqlite(dataflow_sqlite::testing::TestDb),
    /// A private PostgreSQL database.
    Postgres(dataflow_postgres::testing::TestDb),
}

impl Deref for TestBackend {
    type Target = DataFlow;
    fn deref(&self) -> &DataFlow {
        match self {
            TestBackend::Sqlite(t) => t,
            TestBackend::Postgres(t) => t,
        }
    }
}

impl TestBackend {
    /// A second handle on the same database with nothing registered, as another
    /// process of the application would have.
    pub fn reopen(&self) -> DataFlow {
        match self {
            TestBackend::Sqlite(t) => dataflow_sqlite::open(t.path()).expect("reopen sqlite"),
            TestBackend::Postgres(t) => dataflow_postgres::PgOptions::new(t.url())
                .pool_size(4)
                .connect()
                .expect("reconnect"),
        }
    }
}

/// A fresh SQLite file with every test model's table.
pub fn sqlite() -> TestBackend {
    TestBackend::Sqlite(
        dataflow_sqlite::testing::TestDb::builder()
            .models(models![User, Post, Everything, Note, Tag])
            .build()
            .expect("sqlite test database"),
    )
}

/// A fresh PostgreSQL database with every test model's table, or `None` (with the
/// reason printed) when no server is configured. Under `CI=true` a missing
/// server fails the test instead.
pub fn postgres() -> Option<TestBackend> {
    dataflow_postgres::testing::server_url()?;
    Some(TestBackend::Postgres(
        dataflow_postgres::testing::TestDb::builder()
            .models(models![User, Post, Everything, Note, Tag])
            .build()
            .expect("postgres test database"),
    ))
}
