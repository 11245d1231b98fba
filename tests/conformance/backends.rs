//! One fresh, migrated database per test, per backend.

use std::ops::Deref;

use dataflow_core::prelude::*;

use crate::models::{Everything, Note, Post, Tag, User};

/// A database that lives as long as the test.
pub struct TestBackend {
    db: DataFlow,
    // Keeps the SQLite file's directory alive; removed on drop.
    _dir: Option<tempfile::TempDir>,
}

impl Deref for TestBackend {
    type Target = DataFlow;
    fn deref(&self) -> &DataFlow {
        &self.db
    }
}

impl TestBackend {
    /// Where the SQLite file lives (for tests that open a second handle).
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        self._dir.as_ref().map(|d| d.path().join("test.db"))
    }
}

fn migrate(db: &DataFlow) {
    db.register_all(models![User, Post, Everything, Note, Tag])
        .expect("register");
    db.auto_migrate(MigrateOptions::default()).expect("migrate");
}

/// A fresh SQLite file with every test model's table.
pub fn sqlite() -> TestBackend {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dataflow_sqlite::open(dir.path().join("test.db")).expect("open sqlite");
    migrate(&db);
    TestBackend {
        db,
        _dir: Some(dir),
    }
}

impl TestBackend {
    /// A second handle on the same database with nothing registered, as another
    /// process of the application would have.
    pub fn reopen(&self) -> DataFlow {
        match self.sqlite_path() {
            Some(p) => dataflow_sqlite::open(p).expect("reopen sqlite"),
            None => unreachable!("only SQLite so far"),
        }
    }
}
