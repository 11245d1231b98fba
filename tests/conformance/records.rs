//! The untyped record layer (`Records`): the same CRUD as the typed API, found
//! by model or table name, over values and filter expressions; bad input is
//! refused before anything is written.

use dataflow_core::prelude::*;
use dataflow_core::query::record::{Records, Select};
use dataflow_core::{CmpOp, Expr, OrderTerm};

use crate::models::{Note, User};

fn user_row(name: &str, email: &str, age: Option<i32>) -> Vec<Value> {
    vec![
        Value::I64(0),
        Value::Text(name.into()),
        Value::Text(email.into()),
        age.map_or(Value::Null, Value::I32),
        Value::Bool(true),
        Value::Null,
    ]
}

fn invalid(r: Result<impl std::fmt::Debug>, needle: &str) {
    match r {
        Err(Error::InvalidInput(m)) => assert!(m.contains(needle), "{m}"),
        other => panic!("expected InvalidInput containing {needle:?}, got {other:?}"),
    }
}

pub fn untyped_crud_matches_the_typed_api(db: &DataFlow) {
    let users = Records::of(db, "users").unwrap();
    assert_eq!(users.model().name, "User");
    assert_eq!(Records::of(db, "User").unwrap().model().table, "users");

    let ann = users.insert(user_row("Ann", "ann@x", Some(31))).unwrap();
    let Value::I64(ann_id) = ann[0] else {
        panic!("{ann:?}")
    };
    assert!(ann_id > 0);
    users.insert(user_row("Bob", "bob@x", Some(17))).unwrap();
    users.insert(user_row("Cy", "cy@x", None)).unwrap();
    // The typed API sees what the untyped one wrote, and the other way round.
    let typed = User::read(db, ann_id).unwrap().unwrap();
    assert_eq!((typed.name.as_str(), typed.age), ("Ann", Some(31)));
    assert_eq!(users.get(Value::I64(ann_id)).unwrap(), Some(ann.clone()));

    let age = users.column_index("age").unwrap();
    let adults = users
        .select(Select {
            filter: Expr::Compare {
                column: "age",
                op: CmpOp::Ge,
                value: Value::I32(18),
            },
            ..Select::default()
        })
        .unwrap();
    assert_eq!(adults, vec![ann.clone()]);
    let by_name = users
        .select(Select {
            order: vec![OrderTerm {
                column: "name",
                descending: true,
            }],
            limit: Some(2),
            offset: Some(1),
            ..Select::default()
        })
        .unwrap();
    let names: Vec<&Value> = by_name.iter().map(|r| &r[1]).collect();
    assert_eq!(
        names,
        [&Value::Text("Bob".into()), &Value::Text("Ann".into())]
    );
    assert_eq!(users.count(Expr::True, false).unwrap(), 3);

    let updated = users
        .update(Value::I64(ann_id), vec![(age, Value::I32(32))])
        .unwrap();
    assert_eq!(updated[age], Value::I32(32));
    assert_eq!(User::read(db, ann_id).unwrap().unwrap().age, Some(32));
    let minors = Expr::Compare {
        column: "age",
        op: CmpOp::Lt,
        value: Value::I32(18),
    };
    assert_eq!(
        users
            .update_where(minors.clone(), vec![(age, Value::I32(18))])
            .unwrap(),
        1
    );

    let upserted = users
        .upsert(user_row("Ann B", "ann@x", Some(40)), &["email"])
        .unwrap();
    assert_eq!(upserted[0], Value::I64(ann_id));
    assert_eq!(upserted[1], Value::Text("Ann B".into()));
    assert_eq!(
        users
            .upsert_many(
                vec![user_row("Di", "di@x", None), user_row("Cy 2", "cy@x", None)],
                &["email"]
            )
            .unwrap(),
        2
    );
    assert_eq!(users.count(Expr::True, false).unwrap(), 4);
    assert_eq!(
        users
            .insert_many(vec![
                user_row("Ed", "ed@x", None),
                user_row("Flo", "flo@x", None)
            ])
            .unwrap(),
        2
    );

    users.delete(Value::I64(ann_id)).unwrap();
    assert!(matches!(
        users.delete(Value::I64(ann_id)),
        Err(Error::NotFound { .. })
    ));
    assert_eq!(users.get(Value::I64(ann_id)).unwrap(), None);
    let gone = users
        .delete_where(Expr::IsNull {
            column: "age",
            negated: false,
        })
        .unwrap();
    assert_eq!(gone, 4);
    assert_eq!(users.count(Expr::True, false).unwrap(), 1);
}

pub fn untyped_soft_delete_and_timestamps(db: &DataFlow) {
    let notes = Records::new(db, <Note as Model>::DESCRIPTOR);
    let epoch = Value::TimestampTz(chrono::DateTime::UNIX_EPOCH);
    let row = vec![
        Value::I64(0),
        Value::Text("a".into()),
        epoch.clone(),
        epoch.clone(),
        Value::Null,
    ];
    let stored = notes.insert(row).unwrap();
    // Managed timestamps are set by the insert, as in the typed API.
    assert_ne!(stored[2], epoch);
    let key = stored[0].clone();
    notes.delete(key.clone()).unwrap();
    assert_eq!(notes.get(key.clone()).unwrap(), None);
    assert_eq!(notes.count(Expr::True, false).unwrap(), 0);
    assert_eq!(notes.count(Expr::True, true).unwrap(), 1);
    let all = notes
        .select(Select {
            include_deleted: true,
            ..Select::default()
        })
        .unwrap();
    assert!(!all[0][4].is_null());
    notes.hard_delete(key).unwrap();
    assert_eq!(notes.count(Expr::True, true).unwrap(), 0);
}

pub fn untyped_bad_input_is_refused_before_writing(db: &DataFlow) {
    invalid(
        Records::of(db, "nope"),
        "no registered model or table named \"nope\"",
    );
    let users = Records::of(db, "users").unwrap();
    invalid(users.insert(vec![Value::I64(0)]), "one per column");
    let mut wrong = user_row("Ann", "ann@x", None);
    wrong[3] = Value::Text("old".into());
    invalid(
        users.insert(wrong),
        "User.age: expected a nullable int value",
    );
    let mut null = user_row("Ann", "ann@x", None);
    null[1] = Value::Null;
    invalid(users.insert(null), "User.name");
    invalid(users.get(Value::Text("1".into())), "User.id");
    invalid(
        users.select(Select::filtered(Expr::IsNull {
            column: "password",
            negated: false,
        })),
        "unknown column \"password\"",
    );
    invalid(
        users.select(Select {
            order: vec![OrderTerm {
                column: "password",
                descending: false,
            }],
            ..Select::default()
        }),
        "unknown column \"password\"",
    );
    invalid(
        users.update(Value::I64(1), vec![(0, Value::I64(2))]),
        "cannot be set",
    );
    invalid(
        users.update(Value::I64(1), vec![(99, Value::I64(2))]),
        "no column",
    );
    invalid(
        users.upsert(user_row("Ann", "ann@x", None), &["name"]),
        "conflict target",
    );
    let long = "x".repeat(300);
    invalid(
        users.insert_many(vec![
            user_row("Ann", "ann@x", None),
            user_row("Bob", &long, None),
        ]),
        "exceed max_length",
    );
    let mut deep = Expr::True;
    for _ in 0..100 {
        deep = Expr::Not(Box::new(deep));
    }
    invalid(users.count(deep, false), "nested deeper");
    assert_eq!(users.count(Expr::True, true).unwrap(), 0, "nothing written");
}
