//! JSON filters of the generated nodes: what they parse into, and that bad or
//! random input is an `InvalidInput`, never a panic.

// The test model's fields are named for what they hold.
#![allow(missing_docs)]

use dataflow_core::nodes::filter::parse_filter;
use dataflow_core::prelude::*;
use dataflow_core::{CmpOp, Expr, ModelDescriptor};
use proptest::prelude::*;
use serde_json::{json, Value as Json};

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "people")]
pub struct Person {
    pub id: i64,
    pub name: String,
    pub age: Option<i32>,
    pub active: bool,
    pub data: Option<serde_json::Value>,
}

fn d() -> &'static ModelDescriptor {
    Person::DESCRIPTOR
}

fn parse(j: Json) -> Result<Expr> {
    parse_filter(d(), &j)
}

fn invalid(j: Json, needles: &[&str]) {
    match parse(j.clone()) {
        Err(Error::InvalidInput(m)) => {
            for n in needles {
                assert!(m.contains(n), "{j}: {m:?} lacks {n:?}");
            }
        }
        other => panic!("{j}: expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn operators_parse_into_the_typed_expression() {
    assert_eq!(parse(json!(null)).unwrap(), Expr::True);
    assert_eq!(parse(json!({})).unwrap(), Expr::True);
    assert_eq!(
        parse(json!({"age": {"$gte": 18}, "name": "Ann"})).unwrap(),
        Expr::And(vec![
            Expr::Compare {
                column: "age",
                op: CmpOp::Ge,
                value: Value::I32(18)
            },
            Expr::Compare {
                column: "name",
                op: CmpOp::Eq,
                value: Value::Text("Ann".into())
            },
        ])
    );
    assert_eq!(
        parse(json!({"age": {"$in": [1, 2]}})).unwrap(),
        Expr::In {
            column: "age",
            values: vec![Value::I32(1), Value::I32(2)],
            negated: false
        }
    );
    assert_eq!(
        parse(json!({"age": null})).unwrap(),
        Expr::IsNull {
            column: "age",
            negated: false
        }
    );
    assert_eq!(
        parse(json!({"age": {"$exists": true}})).unwrap(),
        Expr::IsNull {
            column: "age",
            negated: true
        }
    );
    assert_eq!(
        parse(json!({"$or": [{"name": {"$like": "A%"}}, {"$not": {"active": true}}]})).unwrap(),
        Expr::Or(vec![
            Expr::Like {
                column: "name",
                pattern: "A%".into()
            },
            Expr::Not(Box::new(Expr::Compare {
                column: "active",
                op: CmpOp::Eq,
                value: Value::Bool(true)
            })),
        ])
    );
    // The same as the typed API builds.
    let typed = Person::AGE.ge(18).into_expr();
    assert_eq!(parse(json!({"age": {"$gte": 18}})).unwrap(), typed);
    assert_eq!(
        parse(json!({"name": {"$regex": "^A[a-z]+$"}})).unwrap(),
        Person::NAME.regex("^A[a-z]+$").into_expr()
    );
    assert_eq!(
        parse(json!({"name": {"$not": {"$options": "i", "$regex": "^a"}}})).unwrap(),
        Person::NAME.regex_ignore_case("^a").not().into_expr()
    );
    assert_eq!(
        parse(json!({"name": {"$regex": "b", "$options": ""}})).unwrap(),
        Person::NAME.regex("b").into_expr()
    );
}

#[test]
fn bad_filters_name_the_path() {
    invalid(json!({"agee": 1}), &["filter", "\"agee\"", "age"]);
    invalid(json!({"age": {"$gtt": 1}}), &["filter.age.$gtt", "$gt"]);
    invalid(
        json!({"age": {"$regex": "a"}}),
        &["filter.age.$regex", "does not apply"],
    );
    invalid(
        json!({"name": {"$regex": "(a)\\1"}}),
        &["filter.name.$regex", "backreference"],
    );
    invalid(
        json!({"name": {"$regex": "\\d+"}}),
        &["filter.name.$regex", "[0-9]"],
    );
    invalid(
        json!({"name": {"$regex": 5}}),
        &["filter.name.$regex", "string"],
    );
    invalid(
        json!({"name": {"$regex": "a", "$options": "m"}}),
        &["filter.name.$options", "\"m\""],
    );
    invalid(
        json!({"name": {"$options": "i"}}),
        &["filter.name.$options", "$regex"],
    );
    invalid(
        json!({"name": {"$regex": "é", "$options": "i"}}),
        &["filter.name.$regex", "ASCII"],
    );
    invalid(json!({"age": {"$gt": "x"}}), &["filter.age.$gt"]);
    invalid(json!({"age": {"$gt": 1e40}}), &["filter.age.$gt"]);
    invalid(
        json!({"age": {"$like": "1%"}}),
        &["filter.age.$like", "does not apply"],
    );
    invalid(
        json!({"active": {"$gt": true}}),
        &["filter.active.$gt", "does not apply"],
    );
    invalid(
        json!({"data": {"$eq": 1}}),
        &["filter.data.$eq", "does not apply"],
    );
    invalid(json!({"age": {"$in": 3}}), &["filter.age.$in", "array"]);
    invalid(json!({"age": {"$in": [1, "2"]}}), &["filter.age.$in[1]"]);
    invalid(json!({"$or": []}), &["filter.$or"]);
    invalid(json!({"$and": {}}), &["filter.$and", "array"]);
    invalid(json!({"$or": [{"x": 1}]}), &["filter.$or[0]", "\"x\""]);
    invalid(json!({"$nor": []}), &["filter.$nor", "unknown operator"]);
    invalid(json!([1]), &["filter", "object"]);
    invalid(json!({"age": {}}), &["filter.age"]);
    invalid(json!({"age": {"$null": 1}}), &["filter.age.$null"]);
    invalid(
        json!({"name": {"$gt": null}}),
        &["filter.name.$gt", "$null"],
    );
}

#[test]
fn deep_filters_are_refused() {
    let mut f = json!({"age": 1});
    for _ in 0..100 {
        f = json!({"$not": f});
    }
    invalid(f, &["deeper"]);
    let mut g = json!(1);
    for _ in 0..100 {
        g = json!({"$not": g});
    }
    invalid(json!({"age": g}), &["deeper"]);
}

fn arb_json() -> impl Strategy<Value = Json> {
    let key = prop_oneof![
        Just("id".to_owned()),
        Just("name".to_owned()),
        Just("age".to_owned()),
        Just("active".to_owned()),
        Just("data".to_owned()),
        Just("$and".to_owned()),
        Just("$or".to_owned()),
        Just("$not".to_owned()),
        Just("$eq".to_owned()),
        Just("$ne".to_owned()),
        Just("$gt".to_owned()),
        Just("$lte".to_owned()),
        Just("$in".to_owned()),
        Just("$nin".to_owned()),
        Just("$like".to_owned()),
        Just("$null".to_owned()),
        Just("$exists".to_owned()),
        Just("$regex".to_owned()),
        ".{0,6}",
    ];
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number)),
        ".{0,8}".prop_map(Json::String),
    ];
    leaf.prop_recursive(8, 64, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
            prop::collection::vec((key.clone(), inner), 0..4)
                .prop_map(|kv| Json::Object(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn random_filters_never_panic(f in arb_json()) {
        match parse(f) {
            Ok(e) => { let _ = e.check(); }
            Err(Error::InvalidInput(_)) => {}
            Err(other) => prop_assert!(false, "not InvalidInput: {other:?}"),
        }
    }
}
