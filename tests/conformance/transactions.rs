//! User transactions (`db.transaction(|tx| ..)`): every call on `tx` — typed
//! functions, records, nodes, raw SQL — runs on the transaction's one
//! connection; `Ok` commits, `Err` and panics roll back, a nested
//! `transaction` is a savepoint.

use std::panic::{catch_unwind, AssertUnwindSafe};

use dataflow_core::prelude::*;
use dataflow_core::{LogicalType, Records};
use serde_json::json;

use crate::models::{Post, User, UserPatch};
use crate::TestBackend;

fn stop() -> Error {
    Error::InvalidInput("stop".into())
}

fn names(db: &DataFlow) -> Vec<String> {
    let mut n: Vec<String> = User::list(db)
        .all()
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    n.sort();
    n
}

fn age(db: &DataFlow, id: i64) -> Option<i32> {
    User::read(db, id).unwrap().unwrap().age
}

fn set_age(age: i32) -> UserPatch {
    UserPatch {
        age: Some(Some(age)),
        ..Default::default()
    }
}

/// Rows of `table` counted through raw SQL on `db`'s own connection.
fn count_raw(db: &DataFlow, table: &str) -> i64 {
    let mut n = -1;
    db.with_conn(|c| {
        c.query(
            &format!("SELECT COUNT(*) FROM {table}"),
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

pub fn typed_transaction_commits(db: &DataFlow) {
    let a = User::create(db, User::new("A", "a@x", Some(100))).unwrap();
    let b = User::create(db, User::new("B", "b@x", Some(0))).unwrap();
    let moved = db
        .transaction(|tx| {
            assert!(tx.in_transaction());
            User::update(tx, a.id, set_age(90))?;
            User::update(tx, b.id, set_age(10))?;
            // The transaction sees its own writes.
            assert_eq!(age(tx, a.id), Some(90));
            Ok(10)
        })
        .unwrap();
    assert_eq!(moved, 10);
    assert!(!db.in_transaction());
    assert_eq!((age(db, a.id), age(db, b.id)), (Some(90), Some(10)));
}

pub fn transaction_rolls_back_on_err(db: &DataFlow) {
    let a = User::create(db, User::new("A", "a@x", Some(100))).unwrap();
    let r: Result<()> = db.transaction(|tx| {
        User::update(tx, a.id, set_age(1))?;
        User::create(tx, User::new("New", "new@x", None))?;
        User::bulk_create(tx, &[User::new("Bulk", "bulk@x", None)])?;
        Err(stop())
    });
    assert!(
        matches!(r, Err(Error::InvalidInput(ref m)) if m == "stop"),
        "{r:?}"
    );
    assert_eq!(age(db, a.id), Some(100));
    assert_eq!(names(db), ["A"]);
}

pub fn transaction_rolls_back_on_panic(db: &DataFlow) {
    let a = User::create(db, User::new("A", "a@x", Some(100))).unwrap();
    let caught = catch_unwind(AssertUnwindSafe(|| {
        db.transaction(|tx| -> Result<()> {
            User::update(tx, a.id, set_age(1))?;
            User::create(tx, User::new("New", "new@x", None))?;
            panic!("boom");
        })
    }));
    let payload = caught.expect_err("the panic propagates");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    assert_eq!(age(db, a.id), Some(100));
    assert_eq!(names(db), ["A"]);
    // The connection went back to the pool in a usable state.
    db.transaction(|tx| User::create(tx, User::new("After", "after@x", None)))
        .unwrap();
    assert_eq!(names(db), ["A", "After"]);
}

pub fn nested_transaction_is_a_savepoint(db: &DataFlow) {
    db.transaction(|tx| {
        User::create(tx, User::new("Outer", "outer@x", None))?;
        let inner: Result<()> = tx.transaction(|tx2| {
            User::create(tx2, User::new("Inner", "inner@x", None))?;
            Err(stop())
        });
        assert!(inner.is_err());
        // A failing statement inside a savepoint leaves the outer
        // transaction usable (on PostgreSQL too).
        let dup = tx.transaction(|tx2| User::create(tx2, User::new("Dup", "outer@x", None)));
        assert!(matches!(dup, Err(Error::UniqueViolation { .. })), "{dup:?}");
        let kept = tx.transaction(|tx2| User::create(tx2, User::new("Kept", "kept@x", None)))?;
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            tx.transaction(|tx2| -> Result<()> {
                User::create(tx2, User::new("Panicked", "p@x", None))?;
                panic!("inner boom")
            })
        }));
        assert!(panicked.is_err());
        assert_eq!(names(tx), ["Kept", "Outer"]);
        Ok(kept)
    })
    .unwrap();
    assert_eq!(names(db), ["Kept", "Outer"]);
}

pub fn nodes_records_and_raw_sql_join_the_transaction(db: &DataFlow) {
    let r: Result<()> = db.transaction(|tx| {
        let ann = tx
            .node("UserCreateNode")?
            .run(json!({"name": "Ann", "email": "ann@x", "age": 31}))?;
        let id = ann["id"].as_i64().unwrap();
        tx.node("PostCreateNode")?
            .run(json!({"user_id": id, "title": "hello"}))?;
        Records::of(tx, "users")?.update(Value::I64(id), vec![(3, Value::I32(32))])?;
        tx.with_conn(|c| c.batch_execute("UPDATE posts SET title = 'changed'"))?;
        // Everything is visible inside, through every layer.
        assert_eq!(User::read(tx, id)?.unwrap().age, Some(32));
        let listed = tx.node("PostListNode")?.run(json!({}))?;
        assert_eq!(listed["records"][0]["title"], json!("changed"));
        assert_eq!(count_raw(tx, "users"), 1);
        Err(stop())
    });
    assert!(r.is_err());
    assert_eq!(count_raw(db, "users"), 0);
    assert_eq!(count_raw(db, "posts"), 0);

    // And the same committed.
    db.transaction(|tx| {
        let ann = tx
            .node("UserCreateNode")?
            .run(json!({"name": "Ann", "email": "ann@x"}))?;
        Post::create(
            tx,
            Post {
                id: 0,
                user_id: ann["id"].as_i64().unwrap(),
                title: "t".into(),
            },
        )
    })
    .unwrap();
    assert_eq!((count_raw(db, "users"), count_raw(db, "posts")), (1, 1));
}

/// Every typed operation inside one transaction, on a test database whose
/// SQLite pool holds one connection: none of them may wait for a second
/// connection or for the transaction's own write lock.
pub fn typed_calls_inside_a_transaction_use_its_connection(db: &DataFlow) {
    let out = db
        .transaction(|tx| {
            let a = User::create(tx, User::new("A", "a@x", Some(1)))?;
            User::bulk_create(
                tx,
                &[User::new("B", "b@x", Some(2)), User::new("C", "c@x", None)],
            )?;
            User::update(tx, a.id, set_age(5))?;
            User::upsert(tx, User::new("A2", "a@x", Some(7)), &[User::EMAIL])?;
            User::bulk_upsert(tx, &[User::new("D", "d@x", None)], &[User::EMAIL])?;
            User::bulk_update(tx, User::AGE.is_null(), set_age(0))?;
            let c = User::list(tx).filter(User::NAME.eq("C")).first()?.unwrap();
            User::delete(tx, c.id)?;
            User::bulk_delete(tx, User::NAME.eq("B"))?;
            User::list(tx).order_by(User::NAME.asc()).all()
        })
        .unwrap();
    let got: Vec<(String, Option<i32>)> = out.into_iter().map(|u| (u.name, u.age)).collect();
    assert_eq!(got, [("A2".to_owned(), Some(7)), ("D".to_owned(), Some(0))]);
    assert_eq!(names(db), ["A2", "D"]);
}

pub fn another_connection_does_not_see_uncommitted_rows(t: &TestBackend) {
    let db: &DataFlow = t;
    let other = t.reopen();
    db.transaction(|tx| {
        User::create(tx, User::new("Hidden", "h@x", None))?;
        assert_eq!(count_raw(tx, "users"), 1);
        assert_eq!(count_raw(&other, "users"), 0, "uncommitted row seen");
        Ok(())
    })
    .unwrap();
    assert_eq!(count_raw(&other, "users"), 1);
}

pub fn a_bound_handle_is_shared_with_threads_and_ends_with_its_transaction(db: &DataFlow) {
    let mut kept = None;
    let r: Result<()> = db.transaction(|tx| {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..3)
                .map(|i| {
                    s.spawn(move || {
                        User::create(tx, User::new(&format!("T{i}"), &format!("t{i}@x"), None))
                    })
                })
                .collect();
            for h in handles {
                h.join()
                    .expect("thread")
                    .expect("create on the bound handle");
            }
        });
        assert_eq!(count_raw(tx, "users"), 3);
        kept = Some(tx.clone());
        Err(stop())
    });
    assert!(r.is_err());
    assert_eq!(
        count_raw(db, "users"),
        0,
        "threads' rows rolled back with it"
    );
    // A clone kept past the transaction cannot write outside it.
    let kept = kept.unwrap();
    let late = User::create(&kept, User::new("Late", "late@x", None));
    assert!(
        matches!(late, Err(Error::InvalidInput(ref m)) if m.contains("ended")),
        "{late:?}"
    );
    assert_eq!(count_raw(db, "users"), 0);
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "ledger_entries")]
pub struct LedgerEntry {
    pub id: i64,
    pub amount: i64,
}

pub fn migrations_are_refused_inside_a_transaction(db: &DataFlow) {
    db.register::<LedgerEntry>().unwrap();
    let r = db.transaction(|tx| {
        // A dry run only reads: it works on the transaction's connection.
        let plan = tx.auto_migrate(MigrateOptions::default().dry_run(true))?;
        assert!(!plan.steps.is_empty());
        tx.auto_migrate(MigrateOptions::default())
    });
    assert!(
        matches!(r, Err(Error::InvalidInput(ref m)) if m.contains("migrations cannot run inside")),
        "{r:?}"
    );
    assert!(!db.describe().unwrap().tables.contains_key("ledger_entries"));
    db.auto_migrate(MigrateOptions::default()).unwrap();
    assert!(db.describe().unwrap().tables.contains_key("ledger_entries"));
}
