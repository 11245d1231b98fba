//! CRUD scenarios, written once for every backend.

use std::sync::Arc;

use chrono::Utc;
use dataflow_core::prelude::*;

use crate::models::{Everything, EverythingPatch, Note, NotePatch, Post, Tag, User, UserPatch};

fn user(db: &DataFlow, name: &str, email: &str, age: Option<i32>) -> User {
    User::create(db, User::new(name, email, age)).expect("create user")
}

pub fn all_types_round_trip(db: &DataFlow) {
    for sample in [Everything::sample(), Everything::sample_full()] {
        let stored = Everything::create(db, sample.clone()).unwrap();
        assert!(stored.id > 0);
        assert_eq!(
            Everything {
                id: 0,
                ..stored.clone()
            },
            sample
        );
        let read = Everything::read(db, stored.id).unwrap().unwrap();
        assert_eq!(read, stored);
    }
}

pub fn bulk_create_round_trips_every_type(db: &DataFlow) {
    // Generated keys, then explicit keys (each batch one kind: PostgreSQL binds
    // each column as one array), then a mixed batch (multi-row VALUES).
    let samples = [
        Everything::sample(),
        Everything::sample_full(),
        Everything::sample(),
    ];
    assert_eq!(Everything::bulk_create(db, &samples).unwrap(), 3);
    let explicit: Vec<Everything> = samples
        .iter()
        .zip([1000, 1001, 1002])
        .map(|(s, id)| Everything { id, ..s.clone() })
        .collect();
    assert_eq!(Everything::bulk_create(db, &explicit).unwrap(), 3);
    let mixed = [
        Everything {
            id: 2000,
            ..Everything::sample_full()
        },
        Everything::sample(),
    ];
    assert_eq!(Everything::bulk_create(db, &mixed).unwrap(), 2);
    let all = Everything::list(db)
        .order_by(Everything::ID.asc())
        .all()
        .unwrap();
    assert_eq!(all.len(), 8);
    let strip = |e: &Everything| Everything { id: 0, ..e.clone() };
    let expected: Vec<Everything> = samples
        .iter()
        .chain(&samples)
        .chain(&[Everything::sample_full(), Everything::sample()])
        .cloned()
        .collect();
    let mut got: Vec<Everything> = all.iter().map(strip).collect();
    // Keys generated after the batches continue above every explicit one.
    let next = Everything::create(db, Everything::sample()).unwrap();
    assert!(next.id > 2000, "{}", next.id);
    let mut want = expected.clone();
    let key = |e: &Everything| format!("{e:?}");
    got.sort_by_key(key);
    want.sort_by_key(key);
    assert_eq!(got, want);
    assert_eq!(all[3].id, 1000);
}

pub fn nulls_round_trip(db: &DataFlow) {
    let full = Everything::create(db, Everything::sample_full()).unwrap();
    // Some(None) sets NULL on every nullable field.
    let patch = EverythingPatch {
        o_small: Some(None),
        o_int: Some(None),
        o_big: Some(None),
        o_single: Some(None),
        o_double: Some(None),
        o_flag: Some(None),
        o_text: Some(None),
        o_bytes: Some(None),
        o_date: Some(None),
        o_ts: Some(None),
        o_tstz: Some(None),
        o_uuid: Some(None),
        o_json: Some(None),
        o_dec: Some(None),
        ..Default::default()
    };
    let cleared = Everything::update(db, full.id, patch).unwrap();
    assert_eq!(
        cleared,
        Everything {
            id: full.id,
            ..Everything::sample()
        }
    );
    // JSON null inside a nullable JSON column is not SQL NULL.
    let json_null = Everything::update(
        db,
        full.id,
        EverythingPatch {
            o_json: Some(Some(serde_json::Value::Null)),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(json_null.o_json, Some(serde_json::Value::Null));
    assert_eq!(
        Everything::list(db)
            .filter(Everything::O_TEXT.is_null())
            .count()
            .unwrap(),
        1
    );
}

pub fn unicode_text_round_trips(db: &DataFlow) {
    let samples = [
        "héllo wörld",
        "日本語のテキスト",
        "emoji 👩‍👩‍👧‍👦 🇺🇦 🏳️‍🌈",
        "עברית right-to-left",
        "e\u{301} combining",
        "tab\tnewline\ncarriage\r",
        "",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 astral",
    ];
    for (i, s) in samples.iter().enumerate() {
        let u = user(db, s, &format!("u{i}@x"), None);
        assert_eq!(User::read(db, u.id).unwrap().unwrap().name, *s);
        let found = User::list(db).filter(User::NAME.eq(*s)).all().unwrap();
        assert_eq!(found.len(), 1, "{s:?}");
    }
}

pub fn blobs_round_trip(db: &DataFlow) {
    let every_byte: Vec<u8> = (0..=255).collect();
    let big: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    for bytes in [vec![], vec![0], every_byte, big] {
        let e = Everything::create(
            db,
            Everything {
                bytes: bytes.clone(),
                ..Everything::sample()
            },
        )
        .unwrap();
        assert_eq!(Everything::read(db, e.id).unwrap().unwrap().bytes, bytes);
    }
}

pub fn json_round_trips(db: &DataFlow) {
    let docs = [
        serde_json::json!({}),
        serde_json::json!([]),
        serde_json::json!(1e5),
        serde_json::json!(123),
        serde_json::json!("just a string"),
        serde_json::json!({"nested": {"deep": [[[]]], "quote": "it's \"quoted\""}, "ü": "ñ"}),
        serde_json::json!(i64::MAX),
        serde_json::json!(-0.5),
    ];
    for doc in docs {
        let e = Everything::create(
            db,
            Everything {
                json: doc.clone(),
                ..Everything::sample()
            },
        )
        .unwrap();
        let back = Everything::read(db, e.id).unwrap().unwrap().json;
        assert!(same_json(&back, &doc), "{doc} came back as {back}");
    }
}

/// JSON equality where numbers compare by value: PostgreSQL's jsonb prints `1e5`
/// as `100000` (the same number; documented in docs/API.md).
fn same_json(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (a, b) {
        (J::Number(x), J::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (J::Array(x), J::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_json(a, b))
        }
        (J::Object(x), J::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

pub fn float_edge_values(db: &DataFlow) {
    for v in [
        0.0,
        -0.0,
        f64::MAX,
        f64::MIN,
        f64::MIN_POSITIVE,
        f64::EPSILON,
        5e-324, // subnormal
        f64::INFINITY,
        f64::NEG_INFINITY,
        1.0 / 3.0,
    ] {
        let e = Everything::create(
            db,
            Everything {
                double: v,
                ..Everything::sample()
            },
        )
        .unwrap();
        let back = Everything::read(db, e.id).unwrap().unwrap().double;
        if v == 0.0 {
            // SQLite stores an integral REAL as an integer, so -0.0 reads back as
            // 0.0: equal as a number, not bit for bit (documented in docs/types.md).
            assert_eq!(back, v);
        } else {
            assert_eq!(back.to_bits(), v.to_bits(), "{v:e} came back as {back:e}");
        }
    }
    for v in [f32::MAX, f32::MIN_POSITIVE, -1.25] {
        let e = Everything::create(
            db,
            Everything {
                single: v,
                ..Everything::sample()
            },
        )
        .unwrap();
        assert_eq!(Everything::read(db, e.id).unwrap().unwrap().single, v);
    }
    // NaN either round-trips or is refused before writing; never silently changed.
    let before = Everything::list(db).count().unwrap();
    match Everything::create(
        db,
        Everything {
            double: f64::NAN,
            ..Everything::sample()
        },
    ) {
        Ok(e) => assert!(Everything::read(db, e.id).unwrap().unwrap().double.is_nan()),
        Err(Error::InvalidInput(msg)) => {
            assert!(msg.contains("NaN"), "{msg}");
            assert_eq!(Everything::list(db).count().unwrap(), before);
        }
        Err(other) => panic!("unexpected {other:?}"),
    }
}

pub fn integer_bounds(db: &DataFlow) {
    for (small, int, big) in [
        (i16::MIN, i32::MIN, i64::MIN),
        (i16::MAX, i32::MAX, i64::MAX),
        (0, 0, 0),
    ] {
        let e = Everything::create(
            db,
            Everything {
                small,
                int,
                big,
                ..Everything::sample()
            },
        )
        .unwrap();
        let r = Everything::read(db, e.id).unwrap().unwrap();
        assert_eq!((r.small, r.int, r.big), (small, int, big));
    }
    assert_eq!(
        Everything::list(db)
            .filter(Everything::BIG.eq(i64::MIN))
            .count()
            .unwrap(),
        1
    );
}

pub fn hostile_strings_are_values(db: &DataFlow) {
    let hostile = [
        "'; DROP TABLE users; --",
        "\" OR 1=1 --",
        "Robert'); DROP TABLE posts;--",
        "\\'\\\"\\\\",
        "$1 ? ?1 :name @p1",
        "%_[]^",
        "NULL",
        "DEL \u{7f} and BOM \u{feff}",
    ];
    for (i, s) in hostile.iter().enumerate() {
        let u = user(db, s, &format!("{s}{i}@x"), Some(i as i32));
        assert_eq!(User::read(db, u.id).unwrap().unwrap().name, *s);
        assert_eq!(User::list(db).filter(User::NAME.eq(*s)).count().unwrap(), 1);
        let updated = User::update(
            db,
            u.id,
            UserPatch {
                name: Some(format!("{s}!")),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(updated.name, format!("{s}!"));
    }
    // Every table is still there and holds exactly what was written.
    assert_eq!(User::list(db).count().unwrap(), hostile.len() as i64);
    // NUL is stored verbatim where the database can (SQLite) and refused with
    // InvalidInput where it cannot (PostgreSQL text); never altered.
    match User::create(db, User::new("nul\u{0}byte", "nul@x", None)) {
        Ok(u) => assert_eq!(User::read(db, u.id).unwrap().unwrap().name, "nul\u{0}byte"),
        Err(Error::InvalidInput(m)) => {
            assert!(m.contains("0x00"), "{m}");
            assert_eq!(User::list(db).count().unwrap(), hostile.len() as i64);
        }
        Err(other) => panic!("unexpected {other:?}"),
    }
    assert_eq!(Post::list(db).count().unwrap(), 0);
    db.check().expect("schema intact");
}

pub fn like_is_case_sensitive_with_wildcards(db: &DataFlow) {
    for (i, n) in ["Alice", "alice", "Alfred", "Bob", "A_x", "Abx"]
        .iter()
        .enumerate()
    {
        user(db, n, &format!("l{i}@x"), None);
    }
    let names = |f: Filter<User>| {
        let mut v: Vec<String> = User::list(db)
            .filter(f)
            .all()
            .unwrap()
            .into_iter()
            .map(|u| u.name)
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(User::NAME.like("Al%")), ["Alfred", "Alice"]);
    assert_eq!(names(User::NAME.like("al%")), ["alice"]);
    assert_eq!(names(User::NAME.like("A_x")), ["A_x", "Abx"]);
    assert_eq!(names(User::NAME.like("%o%")), ["Bob"]);
}

pub fn unique_violation_is_classified_and_writes_nothing(db: &DataFlow) {
    user(db, "Ann", "ann@x", None);
    let err = User::create(db, User::new("Other Ann", "ann@x", None)).unwrap_err();
    match err {
        Error::UniqueViolation { table, fields } => {
            assert_eq!(table, "users");
            assert_eq!(fields, ["email"]);
        }
        other => panic!("expected UniqueViolation, got {other:?}"),
    }
    assert_eq!(User::list(db).count().unwrap(), 1);
    // Update into a duplicate is classified the same way and changes nothing.
    let bob = user(db, "Bob", "bob@x", None);
    let err = User::update(
        db,
        bob.id,
        UserPatch {
            email: Some("ann@x".into()),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(matches!(err, Error::UniqueViolation { .. }), "{err:?}");
    assert_eq!(User::read(db, bob.id).unwrap().unwrap().email, "bob@x");
}

pub fn missing_rows(db: &DataFlow) {
    assert_eq!(User::read(db, 424_242).unwrap(), None);
    assert!(matches!(
        User::update(
            db,
            424_242,
            UserPatch {
                age: Some(Some(1)),
                ..Default::default()
            }
        ),
        Err(Error::NotFound { model: "User", .. })
    ));
    assert!(matches!(
        User::update(db, 424_242, UserPatch::default()),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        User::delete(db, 424_242),
        Err(Error::NotFound { .. })
    ));
    assert_eq!(
        User::list(db).filter(User::ID.eq(424_242)).first().unwrap(),
        None
    );
}

pub fn create_assigns_keys_and_keeps_explicit_ones(db: &DataFlow) {
    let a = user(db, "a", "a@x", None);
    let b = user(db, "b", "b@x", None);
    assert!(b.id > a.id);
    let explicit = User::create(
        db,
        User {
            id: 1000,
            ..User::new("c", "c@x", None)
        },
    )
    .unwrap();
    assert_eq!(explicit.id, 1000);
    let next = user(db, "d", "d@x", None);
    assert!(
        next.id > 1000,
        "keys continue after an explicit one: {}",
        next.id
    );
    // Deleted keys are not reused.
    User::delete(db, next.id).unwrap();
    let again = user(db, "e", "e@x", None);
    assert!(again.id > next.id);
    let err = User::create(
        db,
        User {
            id: 1000,
            ..User::new("dup", "dup@x", None)
        },
    )
    .unwrap_err();
    assert!(matches!(err, Error::UniqueViolation { .. }), "{err:?}");
}

pub fn update_applies_only_set_fields(db: &DataFlow) {
    let u = User::create(
        db,
        User {
            profile: Some(serde_json::json!({"k": 1})),
            ..User::new("Ann", "ann@x", Some(30))
        },
    )
    .unwrap();
    let after = User::update(
        db,
        u.id,
        UserPatch {
            age: Some(Some(31)),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        after,
        User {
            age: Some(31),
            ..u.clone()
        }
    );
    let unchanged = User::update(db, u.id, UserPatch::default()).unwrap();
    assert_eq!(unchanged, after);
    let cleared = User::update(
        db,
        u.id,
        UserPatch {
            age: Some(None),
            profile: Some(None),
            is_active: Some(false),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        cleared,
        User {
            age: None,
            profile: None,
            is_active: false,
            ..u
        }
    );
}

pub fn list_filters_orders_and_pages(db: &DataFlow) {
    for i in 0..30 {
        user(
            db,
            &format!("n{:02}", i),
            &format!("p{i}@x"),
            if i % 3 == 0 { None } else { Some(i) },
        );
    }
    let adults = User::list(db)
        .filter(User::AGE.ge(18))
        .order_by(User::AGE.desc())
        .all()
        .unwrap();
    let ages: Vec<i32> = adults.iter().map(|u| u.age.unwrap()).collect();
    let mut expected: Vec<i32> = (18..30).filter(|i| i % 3 != 0).collect();
    expected.reverse();
    assert_eq!(ages, expected);

    let page = User::list(db)
        .order_by(User::NAME.asc())
        .limit(5)
        .offset(10)
        .all()
        .unwrap();
    let names: Vec<&str> = page.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["n10", "n11", "n12", "n13", "n14"]);
    let tail = User::list(db)
        .order_by(User::NAME.asc())
        .offset(28)
        .all()
        .unwrap();
    assert_eq!(tail.len(), 2);

    assert_eq!(
        User::list(db).filter(User::AGE.is_null()).count().unwrap(),
        10
    );
    assert_eq!(
        User::list(db)
            .filter(User::AGE.is_not_null())
            .count()
            .unwrap(),
        20
    );
    // Two filter() calls combine with AND; ordering by two columns.
    let both = User::list(db)
        .filter(User::AGE.gt(5))
        .filter(User::AGE.lt(10))
        .order_by(User::IS_ACTIVE.asc())
        .order_by(User::ID.desc())
        .all()
        .unwrap();
    assert_eq!(
        both.iter().map(|u| u.age.unwrap()).collect::<Vec<_>>(),
        [8, 7]
    );
    assert_eq!(User::list(db).limit(0).all().unwrap().len(), 0);
    assert!(User::list(db)
        .filter(User::NAME.eq("n01"))
        .exists()
        .unwrap());
}

pub fn in_and_boolean_combinators(db: &DataFlow) {
    for i in 0..10 {
        user(db, &format!("c{i}"), &format!("c{i}@x"), Some(i));
    }
    let count = |f: Filter<User>| User::list(db).filter(f).count().unwrap();
    assert_eq!(count(User::AGE.is_in([1, 3, 5])), 3);
    assert_eq!(count(User::AGE.is_in(Vec::<i32>::new())), 0);
    assert_eq!(count(User::AGE.not_in(Vec::<i32>::new())), 10);
    assert_eq!(count(User::AGE.not_in([0, 1])), 8);
    assert_eq!(count(User::AGE.lt(2).or(User::AGE.gt(7))), 4);
    assert_eq!(count(User::AGE.lt(2).or(User::AGE.gt(7)).not()), 6);
    assert_eq!(count(!User::NAME.eq("c0")), 9);
    assert_eq!(
        count(
            User::AGE
                .ge(2)
                .and(User::AGE.le(4))
                .and(User::NAME.ne("c3"))
        ),
        2
    );
    assert_eq!(count(Filter::all()), 10);
    assert_eq!(count(User::NAME.is_in(["c1", "zz"])), 1);
}

pub fn bulk_create_is_all_or_nothing(db: &DataFlow) {
    user(db, "existing", "taken@x", None);
    let mut batch: Vec<User> = (0..50)
        .map(|i| User::new("b", &format!("b{i}@x"), Some(i)))
        .collect();
    batch[37].email = "taken@x".into();
    let err = User::bulk_create(db, &batch).unwrap_err();
    assert!(matches!(err, Error::UniqueViolation { .. }), "{err:?}");
    assert_eq!(
        User::list(db).count().unwrap(),
        1,
        "no row of the failed batch is kept"
    );
    // A too-long value is refused before anything is sent.
    batch[37].email = "x".repeat(256);
    assert!(matches!(
        User::bulk_create(db, &batch),
        Err(Error::InvalidInput(_))
    ));
    batch[37].email = "fine@x".into();
    assert_eq!(User::bulk_create(db, &batch).unwrap(), 50);
    assert_eq!(User::list(db).count().unwrap(), 51);
    assert_eq!(User::bulk_create(db, &[]).unwrap(), 0);
}

pub fn bulk_create_spans_many_statements(db: &DataFlow) {
    // More rows than one statement holds, with the failure in the last statement.
    let n = 2_345;
    let mut rows: Vec<User> = (0..n)
        .map(|i| User::new("many", &format!("m{i}@x"), Some(i)))
        .collect();
    rows[n as usize - 1].email = "m0@x".into();
    assert!(User::bulk_create(db, &rows).is_err());
    assert_eq!(User::list(db).count().unwrap(), 0);
    rows[n as usize - 1].email = "last@x".into();
    assert_eq!(User::bulk_create(db, &rows).unwrap(), n as usize);
    assert_eq!(User::list(db).count().unwrap(), i64::from(n));
    let ids: Vec<i64> = User::list(db)
        .order_by(User::ID.asc())
        .all()
        .unwrap()
        .iter()
        .map(|u| u.id)
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
}

pub fn bulk_update_and_delete(db: &DataFlow) {
    for i in 0..20 {
        user(db, "u", &format!("bu{i}@x"), Some(i));
    }
    let n = User::bulk_update(
        db,
        User::AGE.lt(5),
        UserPatch {
            is_active: Some(false),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(n, 5);
    assert_eq!(
        User::list(db)
            .filter(User::IS_ACTIVE.eq(false))
            .count()
            .unwrap(),
        5
    );
    assert_eq!(
        User::bulk_update(db, User::AGE.lt(5), UserPatch::default()).unwrap(),
        0
    );
    assert_eq!(User::bulk_delete(db, User::IS_ACTIVE.eq(false)).unwrap(), 5);
    assert_eq!(User::list(db).count().unwrap(), 15);
    assert_eq!(
        User::bulk_update(
            db,
            Filter::all(),
            UserPatch {
                name: Some("all".into()),
                ..Default::default()
            }
        )
        .unwrap(),
        15
    );
    assert_eq!(
        User::list(db).filter(User::NAME.eq("all")).count().unwrap(),
        15
    );
    assert_eq!(User::bulk_delete(db, Filter::all()).unwrap(), 15);
    assert_eq!(User::list(db).count().unwrap(), 0);
}

pub fn upsert_inserts_then_updates(db: &DataFlow) {
    let first = User::upsert(db, User::new("Ann", "ann@x", Some(1)), &[User::EMAIL]).unwrap();
    assert!(first.id > 0);
    let second = User::upsert(db, User::new("Ann B.", "ann@x", Some(2)), &[User::EMAIL]).unwrap();
    assert_eq!(second.id, first.id, "same row");
    assert_eq!((second.name.as_str(), second.age), ("Ann B.", Some(2)));
    assert_eq!(User::list(db).count().unwrap(), 1);
    // By primary key.
    let by_pk = User::upsert(
        db,
        User {
            id: first.id,
            ..User::new("Ann C.", "ann@x", None)
        },
        &[User::ID],
    )
    .unwrap();
    assert_eq!(
        (by_pk.id, by_pk.name.as_str(), by_pk.age),
        (first.id, "Ann C.", None)
    );
}

pub fn upsert_refuses_non_unique_target(db: &DataFlow) {
    let err = User::upsert(db, User::new("x", "x@x", None), &[User::NAME]).unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput(ref m) if m.contains("conflict target")),
        "{err:?}"
    );
    assert_eq!(User::list(db).count().unwrap(), 0);
}

pub fn bulk_upsert_last_row_wins(db: &DataFlow) {
    user(db, "old", "k1@x", Some(1));
    let rows = vec![
        User::new("first", "k1@x", Some(10)),
        User::new("new", "k2@x", Some(20)),
        User::new("second", "k1@x", Some(11)),
    ];
    let n = User::bulk_upsert(db, &rows, &[User::EMAIL]).unwrap();
    assert_eq!(n, 2);
    let all = User::list(db).order_by(User::EMAIL.asc()).all().unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!((all[0].name.as_str(), all[0].age), ("second", Some(11)));
    assert_eq!((all[1].name.as_str(), all[1].age), ("new", Some(20)));
}

pub fn max_length_is_enforced_before_writing(db: &DataFlow) {
    let ok = "é".repeat(255); // characters, not bytes
    let u = user(db, "n", &ok, None);
    assert_eq!(u.email, ok);
    let err = User::create(db, User::new("n", &"x".repeat(256), None)).unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput(ref m) if m.contains("max_length 255")),
        "{err:?}"
    );
    let err = User::update(
        db,
        u.id,
        UserPatch {
            email: Some("y".repeat(300)),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)));
    assert_eq!(User::read(db, u.id).unwrap().unwrap().email, ok);
    assert_eq!(User::list(db).count().unwrap(), 1);
}

pub fn foreign_keys_are_enforced_and_cascade(db: &DataFlow) {
    let err = Post::create(
        db,
        Post {
            id: 0,
            user_id: 999,
            title: "orphan".into(),
        },
    )
    .unwrap_err();
    assert!(matches!(err, Error::ForeignKeyViolation { .. }), "{err:?}");
    assert_eq!(Post::list(db).count().unwrap(), 0);
    let ann = user(db, "Ann", "ann@x", None);
    let bob = user(db, "Bob", "bob@x", None);
    let posts: Vec<Post> = (0..3)
        .map(|i| Post {
            id: 0,
            user_id: if i < 2 { ann.id } else { bob.id },
            title: format!("t{i}"),
        })
        .collect();
    Post::bulk_create(db, &posts).unwrap();
    User::delete(db, ann.id).unwrap();
    let left = Post::list(db).all().unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].user_id, bob.id);
}

pub fn timestamps_are_managed(db: &DataFlow) {
    let before = Utc::now() - chrono::Duration::seconds(1);
    let placeholder = chrono::DateTime::<Utc>::UNIX_EPOCH;
    let n = Note::create(
        db,
        Note {
            id: 0,
            body: "b".into(),
            created_at: placeholder,
            updated_at: placeholder,
            deleted_at: None,
        },
    )
    .unwrap();
    assert!(
        n.created_at > before,
        "created_at is set by dataflow, not taken from the struct"
    );
    assert_eq!(n.created_at, n.updated_at);
    assert_eq!(
        Note::read(db, n.id).unwrap().unwrap(),
        n,
        "timestamps round-trip exactly"
    );
    std::thread::sleep(std::time::Duration::from_millis(5));
    let u = Note::update(
        db,
        n.id,
        NotePatch {
            body: Some("c".into()),
        },
    )
    .unwrap();
    assert_eq!(u.created_at, n.created_at);
    assert!(u.updated_at > n.updated_at);
    assert_eq!(
        Note::list(db)
            .filter(Note::CREATED_AT.lt(u.updated_at))
            .count()
            .unwrap(),
        1
    );
}

pub fn soft_delete_hides_rows(db: &DataFlow) {
    let t = chrono::DateTime::<Utc>::UNIX_EPOCH;
    let mk = |b: &str| Note {
        id: 0,
        body: b.into(),
        created_at: t,
        updated_at: t,
        deleted_at: None,
    };
    let a = Note::create(db, mk("a")).unwrap();
    let b = Note::create(db, mk("b")).unwrap();
    Note::delete(db, a.id).unwrap();
    assert_eq!(Note::read(db, a.id).unwrap(), None);
    assert_eq!(Note::list(db).count().unwrap(), 1);
    let all = Note::list(db)
        .with_deleted()
        .order_by(Note::ID.asc())
        .all()
        .unwrap();
    assert_eq!(all.len(), 2);
    assert!(all[0].deleted_at.is_some() && all[1].deleted_at.is_none());
    assert!(
        matches!(Note::delete(db, a.id), Err(Error::NotFound { .. })),
        "already deleted"
    );
    assert!(matches!(
        Note::update(
            db,
            a.id,
            NotePatch {
                body: Some("x".into())
            }
        ),
        Err(Error::NotFound { .. })
    ));
    assert_eq!(Note::bulk_delete(db, Filter::all()).unwrap(), 1);
    assert_eq!(Note::list(db).count().unwrap(), 0);
    Note::hard_delete(db, b.id).unwrap();
    assert_eq!(Note::list(db).with_deleted().count().unwrap(), 1);
}

pub fn string_primary_key(db: &DataFlow) {
    let t = Tag::create(
        db,
        Tag {
            code: "rust".into(),
            label: "Rust".into(),
        },
    )
    .unwrap();
    assert_eq!(t.code, "rust");
    assert_eq!(Tag::read(db, "rust".into()).unwrap().unwrap().label, "Rust");
    let u = Tag::update(
        db,
        "rust".into(),
        crate::models::TagPatch {
            label: Some("Rust!".into()),
        },
    )
    .unwrap();
    assert_eq!(u.label, "Rust!");
    let err = Tag::create(
        db,
        Tag {
            code: "rust".into(),
            label: "again".into(),
        },
    )
    .unwrap_err();
    assert!(matches!(err, Error::UniqueViolation { .. }));
    Tag::delete(db, "rust".into()).unwrap();
    assert_eq!(Tag::read(db, "rust".into()).unwrap(), None);
}

pub fn concurrent_use_from_four_threads(db: &DataFlow) {
    let db = Arc::new(db.clone());
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let db = Arc::clone(&db);
            std::thread::spawn(move || {
                for i in 0..50 {
                    let u = User::create(
                        &db,
                        User::new(&format!("t{t}"), &format!("t{t}-{i}@x"), Some(i)),
                    )
                    .expect("create under concurrency");
                    assert_eq!(User::read(&db, u.id).unwrap().unwrap(), u);
                    if i % 10 == 0 {
                        User::bulk_create(
                            &db,
                            &[User::new("bulk", &format!("t{t}-bulk{i}@x"), None)],
                        )
                        .expect("bulk under concurrency");
                    }
                }
                User::list(&db)
                    .filter(User::NAME.eq(format!("t{t}").as_str()))
                    .count()
                    .unwrap()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().expect("thread"), 50);
    }
    assert_eq!(User::list(&db).count().unwrap(), 4 * 55);
}
