//! The CRUD path for a database without `RETURNING`, run on a real SQLite
//! database whose backend reports `returning: false`: every single-row write
//! reads its row back by key in the write's transaction, with the same
//! results the `RETURNING` path gives.

use std::time::Duration;

use dataflow_core::prelude::*;
use dataflow_core::{Backend, Capabilities, Connection};
use dataflow_sqlite::{SqliteBackend, SqliteOptions, SQLITE, SQLITE_DESCRIBE};

/// SQLite, reporting no `RETURNING`; everything else is SQLite's own.
struct NoReturning(SqliteBackend);

impl Backend for NoReturning {
    fn capabilities(&self) -> Capabilities {
        self.0.capabilities().with_returning(false)
    }
    fn with_connection(&self, f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>) -> Result<()> {
        self.0.with_connection(f)
    }
    fn with_transaction(&self, f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>) -> Result<()> {
        self.0.with_transaction(f)
    }
    fn with_migration(
        &self,
        lock_timeout: Duration,
        f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>,
    ) -> Result<()> {
        self.0.with_migration(lock_timeout, f)
    }
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "members", timestamps)]
struct Member {
    id: i32,
    #[dataflow(unique)]
    email: String,
    visits: i64,
}

fn open(dir: &tempfile::TempDir) -> DataFlow {
    let backend =
        SqliteBackend::open(SqliteOptions::new(dir.path().join("db.sqlite"))).expect("open SQLite");
    let db = DataFlow::new(NoReturning(backend), &SQLITE, &SQLITE_DESCRIBE);
    assert!(!db.capabilities().returning);
    db.register::<Member>().unwrap();
    db.auto_migrate(MigrateOptions::default()).unwrap();
    db
}

fn member(id: i32, email: &str, visits: i64) -> Member {
    Member {
        id,
        email: email.into(),
        visits,
    }
}

#[test]
fn single_row_writes_read_their_row_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);

    let ann = Member::create(&db, member(0, "ann@x", 1)).unwrap();
    assert_eq!((ann.id, ann.email.as_str(), ann.visits), (1, "ann@x", 1));
    let bob = Member::create(&db, member(10, "bob@x", 2)).unwrap();
    assert_eq!(bob.id, 10);
    // The generator moved past the explicit key.
    let cy = Member::create(&db, member(0, "cy@x", 3)).unwrap();
    assert_eq!(cy.id, 11);
    assert_eq!(Member::read(&db, 11).unwrap(), Some(cy.clone()));

    let patched = Member::update(
        &db,
        ann.id,
        MemberPatch {
            visits: Some(5),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!((patched.id, patched.visits), (1, 5));
    assert!(matches!(
        Member::update(
            &db,
            99,
            MemberPatch {
                visits: Some(1),
                ..Default::default()
            }
        ),
        Err(Error::NotFound { .. })
    ));

    // Conflict on a unique column: the existing row is updated and read back.
    let up = Member::upsert(&db, member(0, "bob@x", 7), &[Member::EMAIL]).unwrap();
    assert_eq!((up.id, up.email.as_str(), up.visits), (10, "bob@x", 7));
    // No conflict: inserted, with a generated key.
    let new = Member::upsert(&db, member(0, "dee@x", 8), &[Member::EMAIL]).unwrap();
    assert!(new.id > cy.id && new.visits == 8, "{new:?}");
    assert_eq!(Member::read(&db, new.id).unwrap(), Some(new.clone()));
    // Conflict target the generated key: always an insert.
    let by_key = Member::upsert(&db, member(0, "eve@x", 9), &[Member::ID]).unwrap();
    assert!(by_key.id > new.id && by_key.email == "eve@x", "{by_key:?}");
    // Explicit key conflicting on the key: updated.
    let again = Member::upsert(&db, member(by_key.id, "eve@y", 10), &[Member::ID]).unwrap();
    assert_eq!(
        (again.id, again.email.as_str(), again.visits),
        (by_key.id, "eve@y", 10)
    );
    assert_eq!(Member::list(&db).all().unwrap().len(), 5);
}
