//! Opening SQLite databases: bad paths, in-memory sharing, locked files.

use std::sync::mpsc;
use std::time::Duration;

use dataflow_core::prelude::*;
use dataflow_sqlite::SqliteOptions;

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "kv")]
struct Kv {
    #[dataflow(primary_key)]
    key: String,
    value: i64,
}

fn kv(key: &str, value: i64) -> Kv {
    Kv {
        key: key.into(),
        value,
    }
}

fn migrated(db: &DataFlow) {
    db.register::<Kv>().unwrap();
    db.auto_migrate(MigrateOptions::default()).unwrap();
}

#[test]
fn a_path_in_a_missing_directory_is_a_connection_error() {
    let err = dataflow_sqlite::open("/definitely/not/here/app.db").unwrap_err();
    assert!(
        matches!(err, Error::Connection(ref m) if m.contains("/definitely/not/here")),
        "{err:?}"
    );
    assert!(matches!(
        dataflow_sqlite::open(""),
        Err(Error::InvalidInput(_))
    ));
}

#[test]
fn a_file_that_is_not_a_database_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not.db");
    std::fs::write(
        &path,
        b"this is not an SQLite file, just some text long enough..........",
    )
    .unwrap();
    let err = dataflow_sqlite::open(&path).unwrap_err();
    assert!(
        matches!(err, Error::Connection(_) | Error::Database(_)),
        "{err:?}"
    );
}

#[test]
fn memory_database_is_one_database_across_threads() {
    let db = dataflow_sqlite::open(":memory:").unwrap();
    migrated(&db);
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let db = db.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    Kv::create(&db, kv(&format!("{t}-{i}"), i)).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(Kv::list(&db).count().unwrap(), 100);
    // Two separate opens are two separate databases.
    let other = dataflow_sqlite::open(":memory:").unwrap();
    assert!(other.describe().unwrap().tables.is_empty());
}

#[test]
fn a_locked_database_is_busy_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.db");
    let holder = dataflow_sqlite::open(&path).unwrap();
    migrated(&holder);
    let waiter = SqliteOptions::new(&path)
        .busy_timeout(Duration::from_millis(100))
        .open()
        .unwrap();

    let (locked_tx, locked_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let h = holder.clone();
    let thread = std::thread::spawn(move || {
        h.transaction(|tx| {
            tx.with_conn(|c| {
                c.execute(
                    "INSERT INTO kv (key, value) VALUES (?, ?)",
                    &[Value::Text("holder".into()), Value::I64(1)],
                )?;
                locked_tx.send(()).unwrap();
                release_rx.recv().unwrap();
                Ok(())
            })
        })
        .unwrap();
    });
    locked_rx.recv().unwrap();

    let err = Kv::create(&waiter, kv("waiter", 2)).unwrap_err();
    assert!(matches!(err, Error::Busy { .. }), "{err:?}");
    let err = Kv::bulk_create(&waiter, &[kv("a", 1), kv("b", 2)]).unwrap_err();
    assert!(matches!(err, Error::Busy { .. }), "{err:?}");

    release_tx.send(()).unwrap();
    thread.join().unwrap();
    let keys: Vec<String> = Kv::list(&waiter)
        .all()
        .unwrap()
        .into_iter()
        .map(|k| k.key)
        .collect();
    assert_eq!(keys, ["holder"]);
    // Once the lock is gone the same call succeeds.
    Kv::create(&waiter, kv("waiter", 2)).unwrap();
    assert_eq!(Kv::list(&holder).count().unwrap(), 2);
}

#[test]
fn a_read_only_file_refuses_writes_with_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro.db");
    {
        let db = dataflow_sqlite::open(&path).unwrap();
        migrated(&db);
        Kv::create(&db, kv("x", 1)).unwrap();
    }
    let uri = format!("file:{}?mode=ro", path.display());
    let ro = dataflow_sqlite::open(uri).unwrap();
    assert_eq!(Kv::read(&ro, "x".into()).unwrap(), Some(kv("x", 1)));
    let err = Kv::create(&ro, kv("y", 2)).unwrap_err();
    assert!(
        matches!(err, Error::Database(ref m) if m.contains("readonly")),
        "{err:?}"
    );
}
