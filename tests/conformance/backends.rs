//! One fresh, migrated database per test, made by the backend under test.

use std::ops::Deref;

use dataflow_core::model::descriptor::ModelDescriptor;
use dataflow_core::prelude::*;

use crate::models::{Everything, Issue, Note, Post, Project, Tag, Ticket, User};

/// Every model the scenarios use: each test's database has all their tables.
pub const MODELS: &[&ModelDescriptor] =
    models![User, Post, Everything, Note, Tag, Project, Issue, Ticket];

/// What a backend crate hands the suite: how to make a fresh database with the
/// tables of the given models (its `testing::TestDb`, so the suite dogfoods what
/// users get), or `None` after printing why the backend is not available here
/// (a server backend without `DATABASE_URL`; under `CI=true` that must panic).
pub type Hook = fn(&[&'static ModelDescriptor]) -> Option<TestBackend>;

/// A database that lives as long as the test.
pub struct TestBackend {
    // Declared first so it drops first: the guard then discards a database no
    // handle of the test holds.
    db: Box<dyn Deref<Target = DataFlow>>,
    reopen: Box<dyn Fn() -> DataFlow>,
}

impl TestBackend {
    /// Wraps a backend's test database (usually its `testing::TestDb`) and how
    /// to open a second handle on it.
    pub fn new(
        db: impl Deref<Target = DataFlow> + 'static,
        reopen: impl Fn() -> DataFlow + 'static,
    ) -> TestBackend {
        TestBackend {
            db: Box::new(db),
            reopen: Box::new(reopen),
        }
    }

    /// A second handle on the same database with nothing registered, as another
    /// process of the application would have.
    pub fn reopen(&self) -> DataFlow {
        (self.reopen)()
    }
}

impl Deref for TestBackend {
    type Target = DataFlow;
    fn deref(&self) -> &DataFlow {
        &self.db
    }
}
