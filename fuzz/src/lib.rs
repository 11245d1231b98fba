//! What the fuzz targets run, as plain functions (replay a finding with
//! `cargo fuzz run <target> <file>`).

use std::sync::OnceLock;

use chrono::{DateTime, NaiveDate, Utc};
use dataflow_core::nodes::filter::parse_filter;
use dataflow_core::prelude::*;
use dataflow_core::query::statement::SqlWriter;
use dataflow_core::QueryDialect;
use rust_decimal::Decimal;
use serde_json::Value as Json;
use uuid::Uuid;

/// A model with a field of every kind a filter treats differently.
#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "items", timestamps, soft_delete)]
pub struct Item {
    pub id: i64,
    pub name: String,
    #[dataflow(unique, max_length = 64)]
    pub email: String,
    pub age: Option<i32>,
    pub small: Option<i16>,
    pub big: i64,
    pub score: f64,
    pub ratio: Option<f32>,
    pub flag: bool,
    pub data: Option<serde_json::Value>,
    pub bytes: Option<Vec<u8>>,
    pub day: Option<NaiveDate>,
    pub at: Option<DateTime<Utc>>,
    pub uid: Option<Uuid>,
    pub price: Option<Decimal>,
}

/// Parses `data` as a filter of [`Item`]; an accepted filter that passes
/// `Expr::check` is rendered by both dialects and its SQL checked
/// ([`assert_only_bound_values`]).
pub fn filter(data: &[u8]) {
    let Ok(json) = serde_json::from_slice::<Json>(data) else {
        return;
    };
    let d = Item::DESCRIPTOR;
    let expr = match parse_filter(d, &json) {
        Ok(e) => e,
        Err(Error::InvalidInput(_)) => return,
        Err(other) => panic!("parse_filter returned {other:?}, not InvalidInput"),
    };
    if expr.check().is_err() {
        return;
    }
    let dialects: [&'static dyn QueryDialect; 2] =
        [&dataflow_sqlite::SQLITE, &dataflow_postgres::POSTGRES];
    for dialect in dialects {
        let mut w = SqlWriter::new(dialect).for_model(d);
        w.expr(&expr);
        let sql = w.finish();
        assert_only_bound_values(d, &sql.text, sql.binds.len());
    }
}

/// Panics unless `text` is made only of the model's quoted identifiers,
/// placeholders (exactly `binds` of them), SQL keywords, operators and the
/// fixed `ESCAPE '\'`: no value of the filter ever reaches the text.
pub fn assert_only_bound_values(d: &dataflow_core::ModelDescriptor, text: &str, binds: usize) {
    const WORDS: &[&str] = &[
        "NOT",
        "AND",
        "OR",
        "IN",
        "IS",
        "NULL",
        "LIKE",
        "ILIKE",
        "ESCAPE",
        "COLLATE",
        "dataflow_decimal",
        "regexp",
        "dataflow_iregexp",
        "SELECT",
        "CAST",
        "AS",
        "FROM",
        "jsonb_array_elements_text",
        "json_each",
        "value",
        "e",
        "BIGINT",
        "INTEGER",
        "SMALLINT",
        "TEXT",
        "REAL",
        "DOUBLE",
        "PRECISION",
        "BOOLEAN",
        "BYTEA",
        "DATE",
        "TIMESTAMP",
        "TIMESTAMPTZ",
        "UUID",
        "NUMERIC",
        "JSONB",
        "WITH",
        "TIME",
        "ZONE",
    ];
    let fail = |why: &str| panic!("{why} in rendered SQL {text:?}");
    let chars: Vec<char> = text.chars().collect();
    let mut placeholders = 0;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() || "(),=<>!~*.".contains(c) {
            i += 1;
        } else if c == '"' {
            let mut ident = String::new();
            i += 1;
            loop {
                match (chars.get(i), chars.get(i + 1)) {
                    (Some('"'), Some('"')) => {
                        ident.push('"');
                        i += 2;
                    }
                    (Some('"'), _) => {
                        i += 1;
                        break;
                    }
                    (Some(&ch), _) => {
                        ident.push(ch);
                        i += 1;
                    }
                    (None, _) => fail("unterminated identifier"),
                }
            }
            if d.table != ident && d.column(&ident).is_none() {
                fail(&format!("identifier {ident:?} not of the model"));
            }
        } else if c == '?' {
            placeholders += 1;
            i += 1;
        } else if c == '$' {
            i += 1;
            let start = i;
            while chars.get(i).is_some_and(char::is_ascii_digit) {
                i += 1;
            }
            if i == start {
                fail("a lone $");
            }
            placeholders += 1;
        } else if c == '\'' {
            if chars.get(i..i + 3) != Some(&['\'', '\\', '\''][..]) {
                fail("a string literal");
            }
            i += 3;
        } else if c.is_ascii_digit() {
            let start = i;
            while chars.get(i).is_some_and(char::is_ascii_digit) {
                i += 1;
            }
            let n: String = chars[start..i].iter().collect();
            if n != "0" && n != "1" {
                fail(&format!("the number {n}"));
            }
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while chars
                .get(i)
                .is_some_and(|ch| ch.is_ascii_alphanumeric() || *ch == '_')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if !WORDS.iter().any(|w| w.eq_ignore_ascii_case(&word)) {
                fail(&format!("the word {word:?}"));
            }
        } else {
            fail(&format!("the character {c:?}"));
        }
    }
    if placeholders != binds {
        fail(&format!("{placeholders} placeholders for {binds} binds"));
    }
}

const OPS: [&str; 11] = [
    "Create",
    "Read",
    "Update",
    "Delete",
    "List",
    "Count",
    "BulkCreate",
    "BulkUpdate",
    "BulkDelete",
    "Upsert",
    "BulkUpsert",
];

fn db() -> &'static DataFlow {
    static DB: OnceLock<DataFlow> = OnceLock::new();
    DB.get_or_init(|| {
        let db = dataflow_sqlite::open(":memory:").expect("in-memory database");
        db.register::<Item>().expect("register");
        db.auto_migrate(MigrateOptions::default()).expect("migrate");
        // A few rows for reads, updates and conflicts to find.
        for i in 0..3 {
            Item::create(
                &db,
                Item {
                    id: 0,
                    name: format!("n{i}"),
                    email: format!("e{i}@x"),
                    age: Some(i),
                    small: None,
                    big: i.into(),
                    score: 1.5,
                    ratio: None,
                    flag: i % 2 == 0,
                    data: None,
                    bytes: None,
                    day: None,
                    at: None,
                    uid: None,
                    price: None,
                },
            )
            .expect("seed");
        }
        db
    })
}

/// The first byte picks a node of [`Item`], the rest is its JSON parameters;
/// the node runs in a transaction that is always rolled back. Any error is
/// fine; a panic is a finding.
pub fn nodes(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(params) = serde_json::from_slice::<Json>(rest) else {
        return;
    };
    let name = format!("Item{}Node", OPS[pick as usize % OPS.len()]);
    let db = db();
    let rolled_back = db.transaction(|tx| {
        let _ = tx.node(&name)?.run(params);
        Err::<(), _>(Error::InvalidInput("roll back".into()))
    });
    assert!(matches!(rolled_back, Err(Error::InvalidInput(m)) if m == "roll back"));
    assert_eq!(
        Item::list(db).with_deleted().count().unwrap(),
        3,
        "a rolled-back node left rows"
    );
}
