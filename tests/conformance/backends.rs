//! One fresh, migrated database per test, per backend.

use std::ops::Deref;

use dataflow_core::prelude::*;

use crate::models::{Everything, Note, Post, Tag, User};

/// A database that lives as long as the test.
pub struct TestBackend {
    db: DataFlow,
    // Keeps the SQLite file's directory alive; removed on drop.
    _dir: Option<tempfile::TempDir>,
    pg: Option<PgSchema>,
}

/// A private PostgreSQL schema, dropped with the test.
struct PgSchema {
    admin: DataFlow,
    name: String,
    url: String,
}

impl Drop for TestBackend {
    fn drop(&mut self) {
        if let Some(pg) = &self.pg {
            let sql = format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", pg.name);
            if let Err(e) = pg.admin.with_conn(|c| c.batch_execute(&sql)) {
                eprintln!("could not drop test schema {}: {e}", pg.name);
            }
        }
    }
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
        pg: None,
    }
}

/// A fresh PostgreSQL schema with every test model's table, or `None` (with the
/// reason printed) when no server is configured. Under `CI=true` a missing
/// server fails the test instead.
pub fn postgres() -> Option<TestBackend> {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true but DATABASE_URL is not set: PostgreSQL tests must not skip in CI");
        }
        eprintln!("skipping PostgreSQL test: DATABASE_URL is not set");
        return None;
    };
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let name = format!(
        "df_test_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    );
    let admin = dataflow_postgres::PgOptions::new(url.as_str())
        .pool_size(1)
        .connect()
        .expect("connect to DATABASE_URL");
    admin
        .with_conn(|c| c.batch_execute(&format!("CREATE SCHEMA \"{name}\"")))
        .expect("create test schema");
    let sep = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{sep}options=-csearch_path%3D{name}");
    let db = dataflow_postgres::PgOptions::new(url.as_str())
        .pool_size(6)
        .connect()
        .expect("connect to test schema");
    migrate(&db);
    Some(TestBackend {
        db,
        _dir: None,
        pg: Some(PgSchema { admin, name, url }),
    })
}

impl TestBackend {
    /// A second handle on the same database with nothing registered, as another
    /// process of the application would have.
    pub fn reopen(&self) -> DataFlow {
        match (&self.pg, self.sqlite_path()) {
            (Some(pg), _) => dataflow_postgres::PgOptions::new(pg.url.as_str())
                .pool_size(4)
                .connect()
                .expect("reconnect"),
            (None, Some(p)) => dataflow_sqlite::open(p).expect("reopen sqlite"),
            (None, None) => unreachable!("every backend has a location"),
        }
    }
}
