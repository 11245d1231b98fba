//! Generated JSON nodes (`db.node("UserListNode")?.run(json!(..))`): the same
//! CRUD as the typed API over JSON, filters giving the same rows as typed
//! filters, values stored verbatim, bad input refused by path before anything
//! is written.

use dataflow_core::prelude::*;
use serde_json::{json, Value as Json};

use crate::assert_invalid as invalid;
use crate::models::{Note, User};

fn run(db: &DataFlow, node: &str, params: Json) -> Result<Json> {
    db.node(node)?.run(params)
}

fn id_of(record: &Json) -> i64 {
    record["id"].as_i64().unwrap_or_else(|| panic!("{record}"))
}

fn ids(out: &Json) -> Vec<i64> {
    out["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect()
}

fn seed(db: &DataFlow) -> Vec<User> {
    let people = [
        ("Ann", Some(31)),
        ("Bob", Some(17)),
        ("Cy", None),
        ("Abe", Some(64)),
        ("ann", Some(18)),
        ("Al_x", Some(40)),
    ];
    people
        .iter()
        .map(|(name, age)| User::create(db, User::new(name, &format!("{name}@x"), *age)).unwrap())
        .collect()
}

pub fn nodes_round_trip(db: &DataFlow) {
    let names = db.nodes();
    for n in [
        "UserCreateNode",
        "UserListNode",
        "NoteCountNode",
        "UserBulkDeleteNode",
    ] {
        assert!(names.iter().any(|x| x == n), "{n} not in {names:?}");
    }
    invalid(run(db, "UserListNod", json!({})), &["UserListNode"]);
    assert_eq!(names.len(), 11 * crate::MODELS.len(), "{names:?}");

    let ann = run(
        db,
        "UserCreateNode",
        json!({"name": "Ann", "email": "ann@x", "age": 31, "profile": {"a": [1, 2]}}),
    )
    .unwrap();
    let id = id_of(&ann);
    assert!(id > 0);
    assert_eq!(ann["is_active"], json!(true), "default applied: {ann}");
    assert_eq!(ann["profile"], json!({"a": [1, 2]}));
    let typed = User::read(db, id).unwrap().unwrap();
    assert_eq!(
        (typed.name.as_str(), typed.age, typed.is_active),
        ("Ann", Some(31), true)
    );
    assert_eq!(run(db, "UserReadNode", json!({"id": id})).unwrap(), ann);
    assert_eq!(
        run(db, "UserReadNode", json!({"id": id + 1000})).unwrap(),
        Json::Null
    );

    let updated = run(
        db,
        "UserUpdateNode",
        json!({"id": id, "age": null, "name": "Ann B"}),
    )
    .unwrap();
    assert_eq!(
        (updated["name"].clone(), updated["age"].clone()),
        (json!("Ann B"), Json::Null)
    );
    assert_eq!(User::read(db, id).unwrap().unwrap().age, None);
    assert!(matches!(
        run(db, "UserUpdateNode", json!({"id": id + 1000, "age": 3})),
        Err(Error::NotFound { .. })
    ));

    run(
        db,
        "UserCreateNode",
        json!({"name": "Bob", "email": "bob@x", "age": 17}),
    )
    .unwrap();
    let list = run(db, "UserListNode", json!({})).unwrap();
    assert_eq!(list["count"], json!(2));
    assert_eq!(
        run(db, "UserCountNode", json!({})).unwrap(),
        json!({"count": 2})
    );
    assert_eq!(
        run(db, "UserCountNode", Json::Null).unwrap(),
        json!({"count": 2})
    );

    assert_eq!(
        run(db, "UserDeleteNode", json!({"id": id})).unwrap(),
        json!({"affected": 1})
    );
    assert!(matches!(
        run(db, "UserDeleteNode", json!({"id": id})),
        Err(Error::NotFound { .. })
    ));
    assert_eq!(
        run(db, "UserReadNode", json!({"id": id})).unwrap(),
        Json::Null
    );
    assert_eq!(User::list(db).count().unwrap(), 1);
}

pub fn node_filters_match_the_typed_api(db: &DataFlow) {
    seed(db);
    let cases: Vec<(Json, Filter<User>)> = vec![
        (json!({"age": {"$gte": 18}}), User::AGE.ge(18)),
        (
            json!({"age": {"$gt": 17, "$lt": 64}}),
            User::AGE.gt(17).and(User::AGE.lt(64)),
        ),
        (json!({"age": {"$lte": 18}}), User::AGE.le(18)),
        (json!({"name": "ann"}), User::NAME.eq("ann")),
        (json!({"name": {"$ne": "ann"}}), User::NAME.ne("ann")),
        (json!({"name": {"$like": "A%"}}), User::NAME.like("A%")),
        (
            json!({"name": {"$like": "Al\\_%"}}),
            User::NAME.like("Al\\_%"),
        ),
        (
            json!({"age": {"$in": [17, 64, 5]}}),
            User::AGE.is_in([17, 64, 5]),
        ),
        (
            json!({"age": {"$nin": [17, 64]}}),
            User::AGE.not_in([17, 64]),
        ),
        (json!({"age": {"$null": true}}), User::AGE.is_null()),
        (json!({"age": {"$exists": true}}), User::AGE.is_not_null()),
        (json!({"age": null}), User::AGE.is_null()),
        (
            json!({"$or": [{"age": {"$lt": 18}}, {"name": {"$like": "C%"}}]}),
            User::AGE.lt(18).or(User::NAME.like("C%")),
        ),
        (
            json!({"$not": {"age": {"$gte": 30}}}),
            User::AGE.ge(30).not(),
        ),
        (
            json!({"age": {"$not": {"$gte": 30}}, "name": {"$like": "%n%"}}),
            User::AGE.ge(30).not().and(User::NAME.like("%n%")),
        ),
        (
            json!({"$and": [{"age": {"$gte": 18}}, {"$or": [{"name": "Ann"}, {"name": "Abe"}]}]}),
            User::AGE
                .ge(18)
                .and(User::NAME.eq("Ann").or(User::NAME.eq("Abe"))),
        ),
    ];
    for (json_filter, typed) in cases {
        let mut want: Vec<i64> = User::list(db)
            .filter(typed)
            .all()
            .unwrap()
            .iter()
            .map(|u| u.id)
            .collect();
        want.sort();
        let out = run(db, "UserListNode", json!({"filter": json_filter})).unwrap();
        let mut got = ids(&out);
        got.sort();
        assert_eq!(got, want, "filter {json_filter}");
        assert_eq!(out["count"], json!(want.len()), "filter {json_filter}");
        let count = run(db, "UserCountNode", json!({"filter": json_filter})).unwrap();
        assert_eq!(count, json!({"count": want.len()}), "filter {json_filter}");
    }

    // Ordering and paging as the typed API does them; count ignores the window.
    let typed: Vec<i64> = User::list(db)
        .filter(User::AGE.is_not_null())
        .order_by(User::AGE.desc())
        .order_by(User::NAME.asc())
        .offset(1)
        .limit(3)
        .all()
        .unwrap()
        .iter()
        .map(|u| u.id)
        .collect();
    let out = run(
        db,
        "UserListNode",
        json!({"filter": {"age": {"$exists": true}}, "order_by": ["-age", "name"],
               "limit": 3, "offset": 1}),
    )
    .unwrap();
    assert_eq!(ids(&out), typed);
    assert_eq!(out["count"], json!(5));
    let none = run(db, "UserListNode", json!({"limit": 0})).unwrap();
    assert_eq!((ids(&none).len(), none["count"].clone()), (0, json!(6)));
}

const HOSTILE: &[&str] = &[
    "Robert'); DROP TABLE users;--",
    "\" OR 1=1 --",
    "/* comment */ SELECT",
    "a; DELETE FROM users",
    "$where",
    "{\"$gt\": \"\"}",
    "%_\\",
    "Ａｄｍｉｎ",
    "аdmin",
    "e\u{301}\u{202e}\u{feff}",
    "\u{1F600}\u{200d}",
    "'';\\'",
];

pub fn node_hostile_strings_are_stored_verbatim(db: &DataFlow) {
    for (i, s) in HOSTILE.iter().enumerate() {
        let created = run(
            db,
            "UserCreateNode",
            json!({"name": s, "email": format!("{i}@x"), "profile": {"$gt": s}}),
        )
        .unwrap();
        assert_eq!(created["name"], json!(s));
        let id = id_of(&created);
        assert_eq!(User::read(db, id).unwrap().unwrap().name, *s);
        let found = run(db, "UserListNode", json!({"filter": {"name": s}})).unwrap();
        assert_eq!(ids(&found), vec![id], "{s:?}");
        let found = run(
            db,
            "UserListNode",
            json!({"filter": {"name": {"$in": [s]}}}),
        )
        .unwrap();
        assert_eq!(ids(&found), vec![id], "{s:?}");
        let read = run(db, "UserReadNode", json!({"id": id})).unwrap();
        assert_eq!(read["profile"], json!({"$gt": s}));
    }
    assert_eq!(User::list(db).count().unwrap(), HOSTILE.len() as i64);
    // A NUL character is stored verbatim or refused, never cut short.
    match run(
        db,
        "UserCreateNode",
        json!({"name": "a\u{0}b", "email": "nul@x"}),
    ) {
        Ok(r) => assert_eq!(User::read(db, id_of(&r)).unwrap().unwrap().name, "a\u{0}b"),
        Err(Error::InvalidInput(_) | Error::Database(..)) => {
            assert_eq!(User::list(db).count().unwrap(), HOSTILE.len() as i64)
        }
        Err(e) => panic!("{e:?}"),
    }
}

pub fn node_bad_input_names_the_field_and_writes_nothing(db: &DataFlow) {
    let before: Vec<User> = seed(db);
    let ann = before[0].id;
    let bad: Vec<(&str, Json, Vec<&str>)> = vec![
        (
            "UserCreateNode",
            json!({"name": "X", "email": "x@x", "agee": 3}),
            vec!["\"agee\"", "age"],
        ),
        (
            "UserCreateNode",
            json!({"name": "X", "email": "x@x", "age": "3"}),
            vec!["params.age"],
        ),
        (
            "UserCreateNode",
            json!({"name": "X", "email": "x@x", "age": 1e12}),
            vec!["params.age"],
        ),
        (
            "UserCreateNode",
            json!({"name": "X"}),
            vec!["email", "missing"],
        ),
        ("UserCreateNode", json!([1]), vec!["params", "object"]),
        (
            "UserCreateNode",
            json!({"name": "X", "email": "x".repeat(300)}),
            vec!["email"],
        ),
        (
            "UserUpdateNode",
            json!({"id": ann, "age": "old"}),
            vec!["params.age"],
        ),
        (
            "UserUpdateNode",
            json!({"id": ann, "nmae": "Z"}),
            vec!["\"nmae\"", "name"],
        ),
        (
            "UserUpdateNode",
            json!({"name": "Z"}),
            vec!["params.id", "missing"],
        ),
        (
            "UserUpdateNode",
            json!({"id": "one", "name": "Z"}),
            vec!["params.id"],
        ),
        ("UserReadNode", json!({"id": ann, "x": 1}), vec!["params.x"]),
        ("UserDeleteNode", json!({"id": null}), vec!["params.id"]),
        ("UserListNode", json!({"limit": -1}), vec!["params.limit"]),
        (
            "UserListNode",
            json!({"limit": 10_001}),
            vec!["params.limit", "10000"],
        ),
        (
            "UserListNode",
            json!({"offset": 1.5}),
            vec!["params.offset"],
        ),
        (
            "UserListNode",
            json!({"order_by": ["-agee"]}),
            vec!["params.order_by[0]", "\"agee\""],
        ),
        (
            "UserListNode",
            json!({"filters": {}}),
            vec!["params.filters", "filter"],
        ),
        (
            "UserListNode",
            json!({"filter": {"age": {"$gt": "x"}}}),
            vec!["filter.age.$gt"],
        ),
        (
            "UserCountNode",
            json!({"filter": {"age": {"$regex": "1"}}}),
            vec!["filter.age.$regex", "does not apply"],
        ),
        (
            "UserCountNode",
            json!({"filter": {"name": {"$foo": 1}}}),
            vec!["filter.name.$foo"],
        ),
        ("UserBulkDeleteNode", json!({}), vec!["confirmed"]),
        (
            "UserBulkDeleteNode",
            json!({"filter": {}}),
            vec!["confirmed"],
        ),
        (
            "UserBulkDeleteNode",
            json!({"filter": {"agee": 1}}),
            vec!["\"agee\""],
        ),
        (
            "UserBulkUpdateNode",
            json!({"fields": {"age": 1}}),
            vec!["confirmed"],
        ),
        (
            "UserBulkUpdateNode",
            json!({"filter": {"age": 17}, "fields": {"age": "x"}}),
            vec!["params.fields.age"],
        ),
        (
            "UserBulkUpdateNode",
            json!({"filter": {"age": 17}, "fields": {"id": 5}}),
            vec!["params.fields.id", "key"],
        ),
        (
            "NoteCreateNode",
            json!({"body": "b", "created_at": "2020-01-01T00:00:00Z"}),
            vec!["params.created_at", "managed"],
        ),
    ];
    for (node, params, needles) in bad {
        invalid(run(db, node, params.clone()), &needles);
        let mut now = User::list(db).all().unwrap();
        now.sort_by_key(|u| u.id);
        assert_eq!(now, before, "{node} {params} wrote something");
    }
    assert_eq!(Note::list(db).with_deleted().count().unwrap(), 0);
}

pub fn node_bulk_writes_and_soft_delete(db: &DataFlow) {
    seed(db);
    let out = run(
        db,
        "UserBulkUpdateNode",
        json!({"filter": {"age": {"$lt": 18}}, "fields": {"age": 18}}),
    )
    .unwrap();
    assert_eq!(out, json!({"affected": 1}));
    assert_eq!(User::list(db).filter(User::AGE.eq(18)).count().unwrap(), 2);
    let out = run(db, "UserBulkDeleteNode", json!({"filter": {"age": null}})).unwrap();
    assert_eq!(out, json!({"affected": 1}));
    let out = run(
        db,
        "UserBulkUpdateNode",
        json!({"fields": {"is_active": false}, "confirmed": true}),
    )
    .unwrap();
    assert_eq!(out, json!({"affected": 5}));
    let out = run(db, "UserBulkDeleteNode", json!({"confirmed": true})).unwrap();
    assert_eq!(out, json!({"affected": 5}));
    assert_eq!(User::list(db).count().unwrap(), 0);

    let a = run(db, "NoteCreateNode", json!({"body": "a"})).unwrap();
    let b = run(db, "NoteCreateNode", json!({"body": "b"})).unwrap();
    assert!(
        a["created_at"].is_string() && a["deleted_at"].is_null(),
        "{a}"
    );
    run(db, "NoteDeleteNode", json!({"id": id_of(&a)})).unwrap();
    assert_eq!(
        run(db, "NoteReadNode", json!({"id": id_of(&a)})).unwrap(),
        Json::Null
    );
    let live = run(db, "NoteListNode", json!({})).unwrap();
    assert_eq!(ids(&live), vec![id_of(&b)]);
    let all = run(
        db,
        "NoteListNode",
        json!({"include_deleted": true, "order_by": ["id"]}),
    )
    .unwrap();
    assert_eq!(ids(&all), vec![id_of(&a), id_of(&b)]);
    assert_eq!(all["count"], json!(2));
    assert_eq!(
        run(
            db,
            "NoteCountNode",
            json!({"include_deleted": true, "filter": {"deleted_at": {"$exists": true}}})
        )
        .unwrap(),
        json!({"count": 1})
    );
}

pub fn node_bulk_create_and_upserts(db: &DataFlow) {
    let out = run(
        db,
        "UserBulkCreateNode",
        json!({"records": [
            {"name": "Ann", "email": "ann@x", "age": 31},
            {"name": "Bob", "email": "bob@x"},
        ]}),
    )
    .unwrap();
    assert_eq!(out, json!({"affected": 2}));
    // All or nothing: a bad third record writes none of the three.
    invalid(
        run(
            db,
            "UserBulkCreateNode",
            json!({"records": [
                {"name": "Cy", "email": "cy@x"},
                {"name": "Di", "email": "di@x"},
                {"name": "Ed", "email": "ed@x", "age": "x"},
            ]}),
        ),
        &["params.records[2].age"],
    );
    invalid(
        run(db, "UserBulkCreateNode", json!({"records": {}})),
        &["params.records", "array"],
    );
    assert_eq!(User::list(db).count().unwrap(), 2);

    let ann = run(
        db,
        "UserUpsertNode",
        json!({"record": {"name": "Ann B", "email": "ann@x", "age": 40}, "conflict_on": ["email"]}),
    )
    .unwrap();
    assert_eq!(
        (ann["name"].clone(), ann["age"].clone()),
        (json!("Ann B"), json!(40))
    );
    let typed = User::list(db)
        .filter(User::EMAIL.eq("ann@x"))
        .all()
        .unwrap();
    assert_eq!((typed.len(), typed[0].id), (1, id_of(&ann)));
    let new = run(
        db,
        "UserUpsertNode",
        json!({"record": {"name": "Cy", "email": "cy@x"}, "conflict_on": ["email"]}),
    )
    .unwrap();
    assert!(id_of(&new) > id_of(&ann));
    invalid(
        run(
            db,
            "UserUpsertNode",
            json!({"record": {"name": "Z", "email": "z@x"}, "conflict_on": ["emial"]}),
        ),
        &["params.conflict_on[0]", "\"emial\"", "email"],
    );
    invalid(
        run(
            db,
            "UserUpsertNode",
            json!({"record": {"name": "Z", "email": "z@x"}, "conflict_on": ["name"]}),
        ),
        &["conflict target"],
    );
    invalid(
        run(
            db,
            "UserUpsertNode",
            json!({"record": {"name": "Z", "email": "z@x"}}),
        ),
        &["params.conflict_on"],
    );

    let out = run(
        db,
        "UserBulkUpsertNode",
        json!({"records": [
            {"name": "Bob 2", "email": "bob@x", "age": 18},
            {"name": "Di", "email": "di@x"},
        ], "conflict_on": ["email"]}),
    )
    .unwrap();
    assert_eq!(out, json!({"affected": 2}));
    let mut names: Vec<String> = User::list(db)
        .all()
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    names.sort();
    assert_eq!(names, ["Ann B", "Bob 2", "Cy", "Di"]);
}

/// A small deterministic generator (xorshift), so a failing tree can be
/// reproduced from the printed seed and iteration.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// A random filter as JSON and as the typed API builds it.
fn random_filter(rng: &mut Rng, depth: usize) -> (Json, Filter<User>) {
    const AGES: [i32; 6] = [5, 17, 18, 31, 40, 64];
    const NAMES: [&str; 5] = ["Ann", "ann", "Bob", "Zed", "Al_x"];
    const PATTERNS: [&str; 5] = ["A%", "%n%", "_o_", "Al\\_%", "%"];
    if depth > 0 && rng.below(3) > 0 {
        let n = 1 + rng.below(3);
        let mut kids: Vec<(Json, Filter<User>)> =
            (0..n).map(|_| random_filter(rng, depth - 1)).collect();
        return match rng.below(3) {
            0 => {
                let (j, f) = kids.remove(0);
                (json!({"$not": j}), f.not())
            }
            op => {
                let (first_j, mut f) = kids.remove(0);
                let mut js = vec![first_j];
                for (j, g) in kids {
                    js.push(j);
                    f = if op == 1 { f.and(g) } else { f.or(g) };
                }
                let key = if op == 1 { "$and" } else { "$or" };
                (json!({ key: js }), f)
            }
        };
    }
    let age = AGES[rng.below(AGES.len())];
    let ages: Vec<i32> = (0..rng.below(3) + 1)
        .map(|_| AGES[rng.below(AGES.len())])
        .collect();
    let name = NAMES[rng.below(NAMES.len())];
    let (j, f) = match rng.below(14) {
        0 => (json!({"age": age}), User::AGE.eq(age)),
        1 => (json!({"age": {"$ne": age}}), User::AGE.ne(age)),
        2 => (json!({"age": {"$gt": age}}), User::AGE.gt(age)),
        3 => (json!({"age": {"$gte": age}}), User::AGE.ge(age)),
        4 => (json!({"age": {"$lt": age}}), User::AGE.lt(age)),
        5 => (json!({"age": {"$lte": age}}), User::AGE.le(age)),
        6 => (json!({"age": {"$in": ages}}), User::AGE.is_in(ages.clone())),
        7 => (
            json!({"age": {"$nin": ages}}),
            User::AGE.not_in(ages.clone()),
        ),
        8 => (json!({"age": {"$null": true}}), User::AGE.is_null()),
        9 => (json!({"age": {"$exists": true}}), User::AGE.is_not_null()),
        10 => (json!({"name": name}), User::NAME.eq(name)),
        11 => (json!({"name": {"$ne": name}}), User::NAME.ne(name)),
        12 => {
            let p = PATTERNS[rng.below(PATTERNS.len())];
            (json!({"name": {"$like": p}}), User::NAME.like(p))
        }
        _ => (
            json!({"age": {"$not": {"$gte": age}}}),
            User::AGE.ge(age).not(),
        ),
    };
    (j, f)
}

pub fn random_node_filters_match_the_typed_api(db: &DataFlow) {
    seed(db);
    let seed_value = 0x9E37_79B9_7F4A_7C15_u64;
    let mut rng = Rng(seed_value);
    let mut distinct = std::collections::BTreeSet::new();
    for i in 0..150 {
        let (json_filter, typed) = random_filter(&mut rng, 3);
        let mut want: Vec<i64> = User::list(db)
            .filter(typed)
            .all()
            .unwrap()
            .iter()
            .map(|u| u.id)
            .collect();
        want.sort();
        let out = run(db, "UserListNode", json!({"filter": json_filter})).unwrap();
        let mut got = ids(&out);
        got.sort();
        assert_eq!(got, want, "seed {seed_value:#x}, tree {i}: {json_filter}");
        distinct.insert(got);
    }
    // The trees select many different row sets, not all or nothing.
    assert!(distinct.len() >= 15, "{} distinct results", distinct.len());
}

pub fn node_schemas_describe_parameters_and_output(db: &DataFlow) {
    for name in db.nodes() {
        let d = db.node(&name).unwrap().describe();
        assert_eq!(d["name"], json!(name));
        assert!(
            d["parameters"].is_object() && d["output"].is_object(),
            "{d}"
        );
    }
    let create = db.node("UserCreateNode").unwrap().describe();
    let params = &create["parameters"];
    assert_eq!(params["required"], json!(["name", "email"]), "{params}");
    assert_eq!(params["additionalProperties"], json!(false));
    assert_eq!(params["properties"]["email"]["maxLength"], json!(255));
    assert_eq!(
        params["properties"]["age"]["anyOf"][1],
        json!({"type": "null"})
    );
    // The output schema names exactly the fields a created record has.
    let created = run(db, "UserCreateNode", json!({"name": "A", "email": "a@x"})).unwrap();
    let mut have: Vec<&String> = created.as_object().unwrap().keys().collect();
    let out = create["output"]["properties"].as_object().unwrap();
    let mut described: Vec<&String> = out.keys().collect();
    have.sort();
    described.sort();
    assert_eq!(have, described);

    let list = db.node("UserListNode").unwrap().describe();
    let order = list["parameters"]["properties"]["order_by"]["items"]["enum"]
        .as_array()
        .unwrap();
    assert!(order.contains(&json!("-age")) && order.contains(&json!("name")));
    assert_eq!(
        list["parameters"]["properties"]["limit"]["maximum"],
        json!(10_000)
    );
    let update = db.node("NoteUpdateNode").unwrap().describe();
    let props = update["parameters"]["properties"].as_object().unwrap();
    assert!(props.contains_key("body") && props.contains_key("id"));
    assert!(!props.contains_key("created_at") && !props.contains_key("deleted_at"));
}

pub fn node_injection_corpus_is_refused_or_plain(db: &DataFlow) {
    seed(db);
    let before = User::list(db).count().unwrap();
    let mut deep = json!({"age": 1});
    for _ in 0..200 {
        deep = json!({"$or": [deep]});
    }
    let refused: Vec<(&str, Json)> = vec![
        ("UserListNode", json!({"filter": deep})),
        (
            "UserListNode",
            json!({"filter": {"age; DROP TABLE users": 1}}),
        ),
        ("UserListNode", json!({"filter": {"name\" OR 1=1 --": "x"}})),
        (
            "UserListNode",
            json!({"order_by": ["name; DROP TABLE users"]}),
        ),
        (
            "UserListNode",
            json!({"order_by": ["-name DESC, (SELECT 1)"]}),
        ),
        ("UserListNode", json!({"filter": {"age": u64::MAX}})),
        ("UserListNode", json!({"filter": {"age": {"$in": [1e308]}}})),
        ("UserListNode", json!({"limit": u64::MAX})),
        ("UserListNode", json!({"filter": {"$where": "1=1"}})),
        (
            "UserListNode",
            json!({"filter": {"name": {"$like": "x\\"}}}),
        ),
        (
            "UserCreateNode",
            json!({"name": "x", "email": "x@x", "age": i64::MAX}),
        ),
        (
            "UserCreateNode",
            json!({"name": "x", "email": "x@x", "id); DROP TABLE users;--": 1}),
        ),
        ("UserUpdateNode", json!({"id": "1 OR 1=1", "name": "x"})),
        ("UserDeleteNode", json!({"id": "1; DELETE FROM users"})),
    ];
    for (node, params) in refused {
        match run(db, node, params) {
            Err(Error::InvalidInput(m)) => assert!(!m.is_empty()),
            other => panic!("{node}: expected InvalidInput, got {other:?}"),
        }
    }
    assert_eq!(User::list(db).count().unwrap(), before);
    // Hostile values in filters are plain values: they match nothing.
    for s in HOSTILE {
        let out = run(
            db,
            "UserCountNode",
            json!({"filter": {"$or": [{"name": s}, {"email": s}]}}),
        )
        .unwrap();
        assert_eq!(out, json!({"count": 0}), "{s:?}");
    }
    assert_eq!(User::list(db).count().unwrap(), before);
}
