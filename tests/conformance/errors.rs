//! Errors as documented, and limits that must not surface as errors: decode
//! failures, IN lists over a backend's bind limit, expression depth, `limit(0)`.

use dataflow_core::prelude::*;

use crate::models::{Everything, Note, User};

/// Whether the database stores any value in any column (SQLite's flexible
/// typing), so junk can be written behind dataflow's back as plain text.
fn stores_anything(db: &DataFlow) -> bool {
    !db.capabilities().enforces_column_types
}

fn users(db: &DataFlow, n: usize) -> Vec<User> {
    (0..n)
        .map(|i| {
            User::create(
                db,
                User::new(
                    &format!("u{i}"),
                    &format!("u{i}@example.org"),
                    Some(i as i32),
                ),
            )
            .unwrap()
        })
        .collect()
}

pub fn limit_zero_returns_no_row(db: &DataFlow) {
    users(db, 2);
    assert_eq!(User::list(db).limit(0).first().unwrap(), None);
    assert!(User::list(db).limit(0).all().unwrap().is_empty());
    assert!(User::list(db).limit(1).first().unwrap().is_some());
}

/// Asserts `err` is `Error::Decode` naming `model` and `field`.
fn assert_decode(err: Error, model: &str, field: &str) {
    match &err {
        Error::Decode {
            model: m, field: f, ..
        } => assert_eq!((*m, *f), (model, field), "{err}"),
        other => panic!("expected Decode {{ {model}, {field} }}, got {other:?}"),
    }
}

pub fn undecodable_values_are_decode_errors(db: &DataFlow) {
    let note = Note::create(
        db,
        Note {
            id: 0,
            body: "b".into(),
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
            deleted_at: None,
        },
    )
    .unwrap();
    // A timestamp the field cannot hold, written behind dataflow's back.
    let bad_time = if stores_anything(db) {
        "UPDATE notes SET created_at = 'not a time'"
    } else {
        "UPDATE notes SET created_at = 'infinity'"
    };
    db.with_conn(|c| c.batch_execute(bad_time)).unwrap();
    assert_decode(Note::read(db, note.id).unwrap_err(), "Note", "created_at");
    assert_decode(Note::list(db).all().unwrap_err(), "Note", "created_at");

    let u = users(db, 1).remove(0);
    if stores_anything(db) {
        // Values a database that enforces column types refuses to store.
        db.with_conn(|c| c.batch_execute("UPDATE users SET profile = '{not json'"))
            .unwrap();
        assert_decode(User::read(db, u.id).unwrap_err(), "User", "profile");
        db.with_conn(|c| {
            c.batch_execute("UPDATE users SET profile = NULL, name = CAST(X'FF61' AS TEXT)")
        })
        .unwrap();
        assert_decode(User::list(db).all().unwrap_err(), "User", "name");
    } else {
        Everything::create(db, Everything::sample()).unwrap();
        db.with_conn(|c| c.batch_execute("UPDATE everything SET dec = 'NaN'"))
            .unwrap();
        assert_decode(Everything::list(db).all().unwrap_err(), "Everything", "dec");
    }
}

pub fn in_list_over_the_bind_limit_works(db: &DataFlow) {
    let created = users(db, 3);
    // More values than either backend takes as parameters of one statement.
    let n: i64 = 70_000;
    let ids: Vec<i64> = (1_000_000..1_000_000 + n)
        .chain(created.iter().take(2).map(|u| u.id))
        .collect();
    let found = User::list(db)
        .filter(User::ID.is_in(ids.clone()))
        .order_by(User::ID.asc())
        .all()
        .unwrap();
    assert_eq!(
        found.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![created[0].id, created[1].id]
    );
    assert_eq!(
        User::list(db)
            .filter(User::ID.not_in(ids.clone()))
            .count()
            .unwrap(),
        1
    );
    let names: Vec<String> = (0..n)
        .map(|i| format!("nobody {i}"))
        .chain(["u2".into()])
        .collect();
    assert_eq!(
        User::list(db)
            .filter(User::NAME.is_in(names))
            .count()
            .unwrap(),
        1
    );
    assert_eq!(User::bulk_delete(db, User::ID.is_in(ids)).unwrap(), 2);
    assert_eq!(User::list(db).count().unwrap(), 1);
}

pub fn very_many_or_terms_work_or_are_invalid_input(db: &DataFlow) {
    let created = users(db, 2);
    let mut filter = User::ID.eq(created[0].id);
    for i in 0..3_000 {
        filter = filter.or(User::NAME.eq(format!("nobody {i}")));
    }
    match User::list(db).filter(filter).all() {
        Ok(found) => assert_eq!(found.len(), 1),
        Err(Error::InvalidInput(m)) => assert!(m.contains("depth"), "{m}"),
        Err(other) => panic!("expected rows or InvalidInput, got {other:?}"),
    }
}

/// A long list (bound as one value where the backend can) selects the same rows
/// as a comparison, for every type.
pub fn long_in_lists_match_like_short_ones(db: &DataFlow) {
    let a = Everything::create(db, Everything::sample()).unwrap();
    Everything::create(db, Everything::sample_full()).unwrap();
    let mut other = Everything::sample();
    other.small = 7;
    other.int = 7;
    other.big = 7;
    other.single = 0.1;
    other.double = -0.1;
    other.flag = false;
    other.text = "o'ther \\ \"x\"".into();
    other.bytes = vec![9];
    other.date = chrono::NaiveDate::from_ymd_opt(2001, 1, 1).unwrap();
    other.ts = other.date.and_hms_micro_opt(1, 2, 3, 4).unwrap();
    other.tstz = other.ts.and_utc();
    other.uuid = uuid::Uuid::nil();
    other.dec = "-0.000001".parse().unwrap();
    Everything::create(db, other.clone()).unwrap();
    macro_rules! same {
        ($($konst:ident . $field:ident),* $(,)?) => {$(
            for v in [a.$field.clone(), other.$field.clone()] {
                let expect = Everything::list(db)
                    .filter(Everything::$konst.eq(v.clone()))
                    .count()
                    .unwrap();
                assert!(expect >= 1, "{}", stringify!($field));
                for negated in [false, true] {
                    let long = vec![v.clone(); 300];
                    let f = if negated {
                        Everything::$konst.not_in(long)
                    } else {
                        Everything::$konst.is_in(long)
                    };
                    let n = Everything::list(db).filter(f).count().unwrap();
                    let want = if negated { 3 - expect } else { expect };
                    assert_eq!(n, want, "{} negated={negated}", stringify!($field));
                }
            }
        )*};
    }
    same!(
        SMALL.small,
        INT.int,
        BIG.big,
        SINGLE.single,
        DOUBLE.double,
        FLAG.flag,
        TEXT.text,
        BYTES.bytes,
        DATE.date,
        TS.ts,
        TSTZ.tstz,
        UUID.uuid,
        DEC.dec,
    );
}
