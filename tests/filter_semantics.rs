//! Property test of the query model: random filters and orderings over random
//! rows select, on SQLite and on PostgreSQL (when `DATABASE_URL` is set), exactly
//! the rows, in exactly the order, that a reference evaluator with SQL's
//! three-valued logic selects. The rows include decimals, dates and timestamps at
//! the extremes dataflow accepts, and text with `%`, `_`, `\` and quotes, so the
//! backends must agree on exact decimal comparison, chronological order, `LIKE`
//! escapes and NULL placement. Proves rendering (placeholders, parentheses,
//! collations, NULL handling, empty IN lists) against the databases rather than
//! by reading SQL.

use std::cmp::Ordering;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use dataflow_core::prelude::*;
use dataflow_core::{CmpOp, Expr};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rust_decimal::Decimal;

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "items")]
struct Item {
    #[dataflow(primary_key, auto_increment = false)]
    id: i64,
    name: String,
    age: Option<i32>,
    flag: bool,
    amount: Option<Decimal>,
    day: Option<NaiveDate>,
    at: NaiveDateTime,
    at_tz: DateTime<Utc>,
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
        "amount" => item.amount.map_or(Value::Null, Value::Decimal),
        "day" => item.day.map_or(Value::Null, Value::Date),
        "at" => Value::Timestamp(item.at),
        "at_tz" => Value::TimestampTz(item.at_tz),
        other => panic!("unknown column {other}"),
    }
}

/// What every backend must do: text byte by byte, decimals by exact value,
/// times chronologically.
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Null, _) | (_, Value::Null) => None,
        (Value::Text(x), Value::Text(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::I32(x), Value::I32(y)) => Some(x.cmp(y)),
        (Value::I64(x), Value::I64(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Decimal(x), Value::Decimal(y)) => Some(x.cmp(y)),
        (Value::Date(x), Value::Date(y)) => Some(x.cmp(y)),
        (Value::Timestamp(x), Value::Timestamp(y)) => Some(x.cmp(y)),
        (Value::TimestampTz(x), Value::TimestampTz(y)) => Some(x.cmp(y)),
        _ => panic!("mismatched {a:?} {b:?}"),
    }
}

/// `LIKE … ESCAPE '\'`, case-sensitive (as dataflow renders it on every
/// backend); `None` for a pattern ending in a lone escape, which is refused.
fn like(text: &str, pattern: &str) -> Option<bool> {
    enum Tok {
        Any,
        One,
        Lit(char),
    }
    let mut toks = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        toks.push(match c {
            '%' => Tok::Any,
            '_' => Tok::One,
            '\\' => Tok::Lit(chars.next()?),
            c => Tok::Lit(c),
        });
    }
    fn go(t: &[char], p: &[Tok]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some((Tok::Any, rest)) => (0..=t.len()).any(|i| go(&t[i..], rest)),
            Some((Tok::One, rest)) => !t.is_empty() && go(&t[1..], rest),
            Some((Tok::Lit(c), rest)) => t.first() == Some(c) && go(&t[1..], rest),
        }
    }
    let t: Vec<char> = text.chars().collect();
    Some(go(&t, &toks))
}

/// Whether dataflow runs the filter (every `LIKE` pattern well formed).
fn runs(e: &Expr) -> bool {
    match e {
        Expr::Like { pattern, .. } => like("", pattern).is_some(),
        Expr::And(items) | Expr::Or(items) => items.iter().all(runs),
        Expr::Not(inner) => runs(inner),
        _ => true,
    }
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
            Value::Text(s) => Truth::from(like(&s, pattern)),
            _ => Truth::Unknown,
        },
        Expr::Regex {
            column,
            pattern,
            case_insensitive,
        } => match (
            cell(item, column),
            dataflow_core::query::regex::PortableRegex::new(pattern, *case_insensitive),
        ) {
            (Value::Text(s), Ok(re)) => Truth::from(Some(re.is_match(&s))),
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
        // JSON filters have their own reference (dataflow_core::query::json)
        // and corpus (the conformance group json_filters).
        Expr::JsonContains { column, value } => match cell(item, column) {
            Value::Json(doc) => {
                Truth::from(Some(dataflow_core::query::json::contains(&doc, value)))
            }
            _ => Truth::Unknown,
        },
        Expr::JsonPath {
            column,
            path: Ok(path),
            op,
            value,
        } => match cell(item, column) {
            Value::Json(doc) => Truth::from(Some(dataflow_core::query::json::path_matches(
                &doc, path, *op, value,
            ))),
            _ => Truth::Unknown,
        },
        Expr::JsonPath { path: Err(_), .. } => Truth::Unknown,
    }
}

/// PostgreSQL's order, which every backend must give: NULLs last ascending,
/// first descending; ties by key.
fn reference_order(items: &[Item], column: &str, descending: bool) -> Vec<i64> {
    let mut v: Vec<&Item> = items.iter().collect();
    v.sort_by(|a, b| {
        let (x, y) = (cell(a, column), cell(b, column));
        let by_value = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => compare(&x, &y).unwrap(),
        };
        let by_value = if descending {
            by_value.reverse()
        } else {
            by_value
        };
        by_value.then(a.id.cmp(&b.id))
    });
    v.into_iter().map(|i| i.id).collect()
}

fn name() -> impl Strategy<Value = String> {
    // Small alphabet with wildcards, the escape and a quote, so patterns and
    // equality hit.
    proptest::string::string_regex("[ab%_\\\\'A]{0,3}").unwrap()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn amounts() -> Vec<Decimal> {
    [
        "0",
        "-0",
        "1.1",
        "1.10",
        "1.1000000000000000000000000001",
        "2",
        "9.99",
        "10.00",
        "45",
        "100",
        "1000.5",
        "-10.5",
        "0.0000000000000000000000000001",
        "-0.0000000000000000000000000001",
        "79228162514264337593543950335",
        "-79228162514264337593543950335",
    ]
    .map(dec)
    .to_vec()
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn days() -> Vec<NaiveDate> {
    vec![
        ymd(0, 1, 1),
        ymd(0, 12, 31),
        ymd(1, 1, 1),
        ymd(999, 12, 31),
        ymd(1969, 12, 31),
        ymd(1970, 1, 1),
        ymd(2024, 2, 29),
        ymd(9999, 12, 31),
    ]
}

fn instants() -> Vec<NaiveDateTime> {
    let t = |d: NaiveDate, h, m, s, us| d.and_hms_micro_opt(h, m, s, us).unwrap();
    vec![
        t(ymd(0, 1, 1), 0, 0, 0, 0),
        t(ymd(0, 1, 1), 0, 0, 0, 1),
        t(ymd(999, 12, 31), 23, 59, 59, 999_999),
        t(ymd(1000, 1, 1), 0, 0, 0, 0),
        t(ymd(1970, 1, 1), 0, 0, 0, 0),
        t(ymd(2024, 2, 29), 12, 30, 0, 500_000),
        t(ymd(9999, 12, 31), 23, 59, 59, 999_998),
        t(ymd(9999, 12, 31), 23, 59, 59, 999_999),
    ]
}

fn amount() -> impl Strategy<Value = Decimal> {
    proptest::sample::select(amounts())
}

fn day() -> impl Strategy<Value = NaiveDate> {
    proptest::sample::select(days())
}

fn instant() -> impl Strategy<Value = NaiveDateTime> {
    proptest::sample::select(instants())
}

fn leaf() -> impl Strategy<Value = Filter<Item>> {
    let age = -3i32..4;
    prop_oneof![
        (name(), 0..9usize).prop_map(|(n, op)| match op {
            0 => Item::NAME.eq(n.as_str()),
            1 => Item::NAME.ne(n.as_str()),
            2 => Item::NAME.gt(n.as_str()),
            3 => Item::NAME.le(n.as_str()),
            4 => Item::NAME.like(n),
            5 => Item::NAME.contains(&n),
            6 => Item::NAME.starts_with(&n),
            7 => Item::NAME.ends_with(&n),
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
        (amount(), 0..8usize).prop_map(|(d, op)| match op {
            0 => Item::AMOUNT.eq(d),
            1 => Item::AMOUNT.ne(d),
            2 => Item::AMOUNT.gt(d),
            3 => Item::AMOUNT.ge(d),
            4 => Item::AMOUNT.lt(d),
            5 => Item::AMOUNT.le(d),
            6 => Item::AMOUNT.is_null(),
            _ => Item::AMOUNT.is_not_null(),
        }),
        (proptest::collection::vec(amount(), 0..3), any::<bool>()).prop_map(|(v, neg)| {
            if neg {
                Item::AMOUNT.not_in(v)
            } else {
                Item::AMOUNT.is_in(v)
            }
        }),
        (day(), 0..7usize).prop_map(|(d, op)| match op {
            0 => Item::DAY.eq(d),
            1 => Item::DAY.ne(d),
            2 => Item::DAY.gt(d),
            3 => Item::DAY.ge(d),
            4 => Item::DAY.lt(d),
            5 => Item::DAY.le(d),
            _ => Item::DAY.is_in([d, ymd(1970, 1, 1)]),
        }),
        (instant(), 0..6usize).prop_map(|(t, op)| match op {
            0 => Item::AT.eq(t),
            1 => Item::AT.gt(t),
            2 => Item::AT.le(t),
            3 => Item::AT_TZ.ne(t.and_utc()),
            4 => Item::AT_TZ.ge(t.and_utc()),
            _ => Item::AT_TZ.lt(t.and_utc()),
        }),
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
    (
        name(),
        proptest::option::of(-3i32..4),
        any::<bool>(),
        proptest::option::of(amount()),
        proptest::option::of(day()),
        instant(),
        instant(),
    )
        .prop_map(|(name, age, flag, amount, day, at, at_tz)| Item {
            id: 0,
            name,
            age,
            flag,
            amount,
            day,
            at,
            at_tz: at_tz.and_utc(),
        })
}

/// The orderable columns, as `(name, ascending, descending)`.
fn orders() -> Vec<(&'static str, Order<Item>, Order<Item>)> {
    vec![
        ("name", Item::NAME.asc(), Item::NAME.desc()),
        ("age", Item::AGE.asc(), Item::AGE.desc()),
        ("amount", Item::AMOUNT.asc(), Item::AMOUNT.desc()),
        ("day", Item::DAY.asc(), Item::DAY.desc()),
        ("at", Item::AT.asc(), Item::AT.desc()),
        ("at_tz", Item::AT_TZ.asc(), Item::AT_TZ.desc()),
    ]
}

fn ids(items: Vec<Item>) -> Vec<i64> {
    items.into_iter().map(|i| i.id).collect()
}

/// One case on one backend: replace the rows, then every filter and ordering
/// must match the reference over the rows as stored.
fn check(
    backend: &str,
    db: &DataFlow,
    items: &[Item],
    filters: &[Filter<Item>],
) -> Result<(), TestCaseError> {
    Item::bulk_delete(db, Filter::all()).unwrap();
    Item::bulk_create(db, items).unwrap();
    let stored = Item::list(db).order_by(Item::ID.asc()).all().unwrap();
    prop_assert_eq!(stored.len(), items.len());
    for f in filters {
        let got = Item::list(db)
            .filter(f.clone())
            .order_by(Item::ID.asc())
            .all();
        if !runs(f.expr()) {
            prop_assert!(
                matches!(got, Err(Error::InvalidInput(_))),
                "{}: filter {:?} should be refused, got {:?}",
                backend,
                f,
                got
            );
            continue;
        }
        let expected: Vec<i64> = stored
            .iter()
            .filter(|i| eval(f.expr(), i) == Truth::True)
            .map(|i| i.id)
            .collect();
        prop_assert_eq!(
            ids(got.unwrap()),
            expected.clone(),
            "{}: filter {:?}",
            backend,
            f
        );
        prop_assert_eq!(
            Item::list(db).filter(f.clone()).count().unwrap(),
            expected.len() as i64,
            "{}: count of {:?}",
            backend,
            f
        );
    }
    for (column, asc, desc) in orders() {
        for (descending, order) in [(false, asc), (true, desc)] {
            let got = ids(Item::list(db)
                .order_by(order)
                .order_by(Item::ID.asc())
                .all()
                .unwrap());
            prop_assert_eq!(
                got,
                reference_order(&stored, column, descending),
                "{}: order by {} {}",
                backend,
                column,
                if descending { "desc" } else { "asc" }
            );
        }
    }
    Ok(())
}

#[test]
fn every_backend_selects_and_orders_what_sql_logic_selects() {
    let sqlite = dataflow_sqlite::open(":memory:").unwrap();
    sqlite.register::<Item>().unwrap();
    sqlite.auto_migrate(MigrateOptions::default()).unwrap();
    let postgres = dataflow_postgres::testing::server_url().map(|_| {
        dataflow_postgres::testing::TestDb::builder()
            .model::<Item>()
            .build()
            .expect("postgres test database")
    });
    let mut backends: Vec<(&str, &DataFlow)> = vec![("sqlite", &sqlite)];
    if let Some(pg) = &postgres {
        backends.push(("postgres", pg));
    }
    let cases = (
        proptest::collection::vec(item(), 0..25),
        proptest::collection::vec(filter(), 1..8),
    );
    let mut runner = TestRunner::new(Config {
        cases: 64,
        ..Config::default()
    });
    runner
        .run(&cases, |(mut items, filters)| {
            for (n, item) in items.iter_mut().enumerate() {
                item.id = n as i64 + 1;
            }
            for (name, db) in &backends {
                check(name, db, &items, &filters)?;
            }
            Ok(())
        })
        .unwrap();
}
