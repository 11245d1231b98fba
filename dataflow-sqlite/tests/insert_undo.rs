//! A single-row insert with a generated key runs without a transaction on
//! SQLite (see `insert_needs_transaction` in the core): a table as the model
//! declares it stores the checked values as sent. These tests cover the case
//! where the live table drifted from the model, so SQLite stores a value as
//! another type and the row fails to read back: the insert removes the row it
//! wrote before returning the error, so an error still means nothing was
//! written.

use dataflow_core::prelude::*;
use dataflow_core::{Connection, LogicalType, Records};

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "docs")]
struct Doc {
    id: i64,
    title: String,
}

/// A database where `docs.title` was re-declared `INTEGER` behind the model's
/// back: SQLite's integer affinity stores numeric-looking text as an integer.
fn drifted() -> (tempfile::TempDir, DataFlow) {
    let dir = tempfile::tempdir().unwrap();
    let db = dataflow_sqlite::open(dir.path().join("db.sqlite")).unwrap();
    db.register::<Doc>().unwrap();
    db.auto_migrate(MigrateOptions::default()).unwrap();
    db.with_conn(|c| {
        c.batch_execute(
            "DROP TABLE docs; \
             CREATE TABLE docs (id INTEGER PRIMARY KEY AUTOINCREMENT, title INTEGER NOT NULL)",
        )
    })
    .unwrap();
    (dir, db)
}

fn rows(db: &DataFlow) -> i64 {
    let mut n = 0;
    db.with_conn(|c: &mut dyn Connection| {
        c.query(
            "SELECT COUNT(*) FROM docs",
            &[],
            &[LogicalType::BigInt],
            &mut |row| {
                if let Value::I64(v) = row[0] {
                    n = v;
                }
                Ok(())
            },
        )
    })
    .unwrap();
    n
}

#[test]
fn a_row_that_does_not_read_back_is_removed_again() {
    let (_dir, db) = drifted();
    let err = Doc::create(
        &db,
        Doc {
            id: 0,
            title: "42".into(),
        },
    )
    .unwrap_err();
    assert!(
        matches!(err, Error::Decode { field: "title", .. }),
        "{err:?}"
    );
    assert_eq!(
        rows(&db),
        0,
        "the insert that returned an error left its row"
    );

    // The untyped path takes the same route.
    let records = Records::of(&db, "docs").unwrap();
    let err = records
        .insert(vec![Value::I64(0), Value::Text("7".into())])
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert_eq!(rows(&db), 0);
}

#[test]
fn rows_that_read_back_are_kept() {
    let (_dir, db) = drifted();
    // Text that does not look like a number stays text, so it reads back.
    let doc = Doc::create(
        &db,
        Doc {
            id: 0,
            title: "forty-two".into(),
        },
    )
    .unwrap();
    assert_eq!(doc.title, "forty-two");
    assert_eq!(Doc::read(&db, doc.id).unwrap(), Some(doc));
    assert_eq!(rows(&db), 1);
}
