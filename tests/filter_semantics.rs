//! Property test of the query model: random filters over random rows select, in a
//! real SQLite database, exactly the rows a reference evaluator with SQL's
//! three-valued logic selects. Proves rendering (placeholders, parentheses,
//! NULL handling, empty IN lists) against the database rather than by reading SQL.

use dataflow_core::prelude::*;
use dataflow_core::{CmpOp, Expr};
use proptest::prelude::*;

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "items")]
struct Item {
    id: i64,
    name: String,
    age: Option<i32>,
    flag: bool,
}

/// SQL truth values.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Truth {
    True,
    False,
    Unknown,
}

impl Truth {
    fn from(b: Option<bool>) -> Truth {
        match b {
            Some(true) => Truth::True,
            Some(false) => Truth::False,
            None => Truth::Unknown,
        }
    }
    fn not(self) -> Truth {
        match self {
            Truth::True => Truth::False,
            Truth::False => Truth::True,
            Truth::Unknown => Truth::Unknown,
        }
    }
}

fn cell(item: &Item, column: &str) -> Value {
    match column {
        "name" => Value::Text(item.name.clone()),
        "age" => item.age.map_or(Value::Null, Value::I32),
        "flag" => Value::Bool(item.flag),
        "id" => Value::I64(item.id),
        other => panic!("unknown column {other}"),
    }
}

fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Null, _) | (_, Value::Null) => None,
        (Value::Text(x), Value::Text(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::I32(x), Value::I32(y)) => Some(x.cmp(y)),
        (Value::I64(x), Value::I64(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => panic!("mismatched {a:?} {b:?}"),
    }
}

/// `LIKE` with `%` and `_`, case-sensitive (as dataflow configures every backend).
fn like(text: &str, pattern: &str) -> bool {
    fn go(t: &[char], p: &[char]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some(('%', rest)) => (0..=t.len()).any(|i| go(&t[i..], rest)),
            Some(('_', rest)) => !t.is_empty() && go(&t[1..], rest),
            Some((c, rest)) => t.first() == Some(c) && go(&t[1..], rest),
        }
    }
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    go(&t, &p)
}

fn eval(e: &Expr, item: &Item) -> Truth {
    use std::cmp::Ordering::*;
    match e {
        Expr::True => Truth::True,
        Expr::Compare { column, op, value } => {
            Truth::from(compare(&cell(item, column), value).map(|o| match op {
                CmpOp::Eq => o == Equal,
                CmpOp::Ne => o != Equal,
                CmpOp::Gt => o == Greater,
                CmpOp::Ge => o != Less,
                CmpOp::Lt => o == Less,
                CmpOp::Le => o != Greater,
            }))
        }
        Expr::In {
            column,
            values,
            negated,
        } => {
            if values.is_empty() {
                return if *negated { Truth::True } else { Truth::False };
            }
            let v = cell(item, column);
            let results: Vec<Truth> = values
                .iter()
                .map(|x| Truth::from(compare(&v, x).map(|o| o == Equal)))
                .collect();
            let t = if results.contains(&Truth::True) {
                Truth::True
            } else if results.contains(&Truth::Unknown) {
                Truth::Unknown
            } else {
                Truth::False
            };
            if *negated {
                t.not()
            } else {
                t
            }
        }
        Expr::IsNull { column, negated } => {
            let null = cell(item, column).is_null();
            if null != *negated {
                Truth::True
            } else {
                Truth::False
            }
        }
        Expr::Like { column, pattern } => match cell(item, column) {
            Value::Text(s) => {
                if like(&s, pattern) {
                    Truth::True
                } else {
                    Truth::False
                }
            }
            _ => Truth::Unknown,
        },
        Expr::And(items) => items
            .iter()
            .fold(Truth::True, |acc, e| match (acc, eval(e, item)) {
                (Truth::False, _) | (_, Truth::False) => Truth::False,
                (Truth::Unknown, _) | (_, Truth::Unknown) => Truth::Unknown,
                _ => Truth::True,
            }),
        Expr::Or(items) => items
            .iter()
            .fold(Truth::False, |acc, e| match (acc, eval(e, item)) {
                (Truth::True, _) | (_, Truth::True) => Truth::True,
                (Truth::Unknown, _) | (_, Truth::Unknown) => Truth::Unknown,
                _ => Truth::False,
            }),
        Expr::Not(inner) => eval(inner, item).not(),
    }
}

fn name() -> impl Strategy<Value = String> {
    // Small alphabet with wildcard characters and quotes, so patterns and equality hit.
    proptest::string::string_regex("[ab%_'A]{0,3}").unwrap()
}

fn leaf() -> impl Strategy<Value = Filter<Item>> {
    let age = -3i32..4;
    prop_oneof![
        (name(), 0..6usize).prop_map(|(n, op)| match op {
            0 => Item::NAME.eq(n.as_str()),
            1 => Item::NAME.ne(n.as_str()),
            2 => Item::NAME.gt(n.as_str()),
            3 => Item::NAME.le(n.as_str()),
            4 => Item::NAME.like(n),
            _ => Item::NAME.is_in([n.as_str(), "b"]),
        }),
        (age.clone(), 0..6usize).prop_map(|(a, op)| match op {
            0 => Item::AGE.eq(a),
            1 => Item::AGE.ne(a),
            2 => Item::AGE.gt(a),
            3 => Item::AGE.ge(a),
            4 => Item::AGE.lt(a),
            _ => Item::AGE.le(a),
        }),
        proptest::collection::vec(age, 0..3).prop_map(|v| Item::AGE.is_in(v)),
        proptest::collection::vec(-3i32..4, 0..3).prop_map(|v| Item::AGE.not_in(v)),
        any::<bool>().prop_map(|b| if b {
            Item::AGE.is_null()
        } else {
            Item::AGE.is_not_null()
        }),
        any::<bool>().prop_map(|b| Item::FLAG.eq(b)),
        Just(Filter::all()),
    ]
}

fn filter() -> impl Strategy<Value = Filter<Item>> {
    leaf().prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.and(b)),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.or(b)),
            inner.prop_map(|a| a.not()),
        ]
    })
}

fn item() -> impl Strategy<Value = Item> {
    (name(), proptest::option::of(-3i32..4), any::<bool>()).prop_map(|(name, age, flag)| Item {
        id: 0,
        name,
        age,
        flag,
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn sqlite_selects_what_sql_logic_selects(
        items in proptest::collection::vec(item(), 0..25),
        filters in proptest::collection::vec(filter(), 1..8),
    ) {
        let db = dataflow_sqlite::open(":memory:").unwrap();
        db.register::<Item>().unwrap();
        db.auto_migrate(MigrateOptions::default()).unwrap();
        Item::bulk_create(&db, &items).unwrap();
        let stored = Item::list(&db).order_by(Item::ID.asc()).all().unwrap();
        prop_assert_eq!(stored.len(), items.len());
        for f in filters {
            let expected: Vec<i64> = stored
                .iter()
                .filter(|i| eval(f.expr(), i) == Truth::True)
                .map(|i| i.id)
                .collect();
            let got: Vec<i64> = Item::list(&db)
                .filter(f.clone())
                .order_by(Item::ID.asc())
                .all()
                .unwrap()
                .into_iter()
                .map(|i| i.id)
                .collect();
            prop_assert_eq!(&got, &expected, "filter {:?}", f);
            prop_assert_eq!(Item::list(&db).filter(f).count().unwrap(), expected.len() as i64);
        }
    }
}
