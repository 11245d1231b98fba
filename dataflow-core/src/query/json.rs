//! Filters on JSON fields (`serde_json::Value` columns): containment and
//! comparisons of the value at a path, with one meaning on every backend, and
//! the reference evaluator that defines it.
//!
//! ```ignore
//! Issue::list(&db).filter(Issue::LABELS.contains(json!(["bug"])));
//! User::list(&db).filter(User::PROFILE.path("address.city").eq("Oslo"));
//! ```
//!
//! **Containment** ([`contains`]) is PostgreSQL's `jsonb @>`: a scalar contains
//! an equal scalar; an object contains an object when it has each of its keys
//! with a value containing that key's value; an array contains an array when
//! each element of the latter is contained by some element of the former
//! (order and repetition do not matter); and, at the top level only, an array
//! contains a scalar that is one of its elements. Numbers compare as numbers
//! (`1` and `1.0` are equal), strings exactly. PostgreSQL renders it as `@>`,
//! SQLite as nested `json_each` tests compiled from the template.
//!
//! **Paths** ([`JsonPath`]) are written `"address.city"` or `"tags.0"`: keys
//! separated by dots; a segment of ASCII digits is an array index, anything
//! else an object key (a key that is all digits, holds a dot or a `"`, or is
//! empty cannot be addressed). The value at the path is compared with a JSON
//! scalar of the same kind only: a string with strings (byte order for
//! `gt`/`lt`), a number with numbers (by value), `true`/`false` and `null`
//! with `eq`/`ne`. A missing path, or a value of another kind, matches
//! neither `eq` nor `ne` (like SQL NULL); `ne` matches values of the same kind
//! that differ. Comparing with an array or object, or ordering booleans or
//! null, is refused with `Error::InvalidInput`. Path segments are always bound
//! values, never spliced into the SQL.
//!
//! Numbers must be integers that fit `i64` or finite `f64`s; SQLite reads
//! larger or more precise numbers in documents as 8-byte floats.

use std::marker::PhantomData;

use serde_json::Value as Json;

use crate::error::{Error, Result};
use crate::query::expr::{CmpOp, Expr};
use crate::query::filter::{Column, Filter};

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum JsonSegment {
    /// An object member.
    Key(String),
    /// An array element (0-based, at most `i32::MAX`).
    Index(u32),
}

/// Parses `"a.b.0"`: keys separated by dots, all-digit segments as indexes.
pub fn parse_path(path: &str) -> Result<Vec<JsonSegment>> {
    let bad = |why: String| Error::InvalidInput(format!("JSON path {path:?}: {why}"));
    if path.is_empty() {
        return Err(bad("is empty".into()));
    }
    path.split('.')
        .map(|s| {
            if s.is_empty() {
                Err(bad("has an empty segment".into()))
            } else if s.bytes().all(|b| b.is_ascii_digit()) {
                s.parse::<i32>()
                    .map(|i| JsonSegment::Index(i.unsigned_abs()))
                    .map_err(|_| bad(format!("index {s} is too large")))
            } else if s.contains('"') {
                Err(bad(format!("key {s:?} holds a `\"`")))
            } else {
                Ok(JsonSegment::Key(s.to_owned()))
            }
        })
        .collect()
}

/// Refuses what a JSON path comparison cannot mean the same on every backend.
pub(crate) fn check_path_compare(op: CmpOp, value: &Json) -> std::result::Result<(), String> {
    match value {
        Json::Array(_) | Json::Object(_) => {
            Err("a JSON path compares with a string, number, boolean or null; use contains() for arrays and objects".into())
        }
        Json::Bool(_) | Json::Null if !matches!(op, CmpOp::Eq | CmpOp::Ne) => Err(format!(
            "{} on a JSON path takes a string or a number, not {value}",
            op.sql()
        )),
        Json::Number(n) if !portable_number(n) => {
            Err(format!("the number {n} does not fit i64 or f64"))
        }
        _ => Ok(()),
    }
}

/// An integer that fits `i64` or a float: what both backends compare alike
/// (an integer past `i64` is a float to SQLite, exact to PostgreSQL).
fn portable_number(n: &serde_json::Number) -> bool {
    n.is_i64() || n.is_f64()
}

/// Refuses numbers in a containment template that SQLite would read inexactly.
pub(crate) fn check_contains(value: &Json) -> std::result::Result<(), String> {
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Json::Number(n) if !portable_number(n) => {
                return Err(format!("the number {n} does not fit i64 or f64"))
            }
            Json::Array(items) => stack.extend(items),
            Json::Object(map) => stack.extend(map.values()),
            _ => {}
        }
    }
    Ok(())
}

/// Whether JSON numbers or other scalars are equal as containment and `eq`
/// compare them (numbers by value).
fn scalar_eq(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        _ => a == b,
    }
}

/// The reference meaning of `doc @> template` (see the [module docs](self)).
pub fn contains(doc: &Json, template: &Json) -> bool {
    match (doc, template) {
        (Json::Array(items), t) if !t.is_array() && !t.is_object() => {
            items.iter().any(|i| deep_contains(i, t))
        }
        _ => deep_contains(doc, template),
    }
}

fn deep_contains(doc: &Json, template: &Json) -> bool {
    match (doc, template) {
        (Json::Object(d), Json::Object(t)) => t
            .iter()
            .all(|(k, tv)| d.get(k).is_some_and(|dv| deep_contains(dv, tv))),
        (Json::Array(d), Json::Array(t)) => {
            t.iter().all(|tv| d.iter().any(|dv| deep_contains(dv, tv)))
        }
        (Json::Object(_) | Json::Array(_), _) | (_, Json::Object(_) | Json::Array(_)) => false,
        (a, b) => scalar_eq(a, b),
    }
}

/// The value at `path` in `doc`, if any.
pub fn at_path<'j>(doc: &'j Json, path: &[JsonSegment]) -> Option<&'j Json> {
    path.iter().try_fold(doc, |v, s| match (v, s) {
        (Json::Object(m), JsonSegment::Key(k)) => m.get(k),
        (Json::Array(a), JsonSegment::Index(i)) => a.get(*i as usize),
        _ => None,
    })
}

/// The reference meaning of a path comparison (see the [module docs](self)):
/// `None` where SQL would give NULL (missing path, another kind of value).
pub fn path_matches(doc: &Json, path: &[JsonSegment], op: CmpOp, value: &Json) -> bool {
    let Some(v) = at_path(doc, path) else {
        return false;
    };
    let ord = match (v, value) {
        (Json::String(a), Json::String(b)) => a.as_bytes().cmp(b.as_bytes()),
        (Json::Number(_), Json::Number(_)) if scalar_eq(v, value) => std::cmp::Ordering::Equal,
        (Json::Number(a), Json::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(i), Some(j)) => i.cmp(&j),
            _ => match a.as_f64().partial_cmp(&b.as_f64()) {
                Some(o) => o,
                None => return false,
            },
        },
        (Json::Bool(a), Json::Bool(b)) => a.cmp(b),
        (Json::Null, Json::Null) => std::cmp::Ordering::Equal,
        _ => return false,
    };
    match op {
        CmpOp::Eq => ord.is_eq(),
        CmpOp::Ne => ord.is_ne(),
        CmpOp::Gt => ord.is_gt(),
        CmpOp::Ge => ord.is_ge(),
        CmpOp::Lt => ord.is_lt(),
        CmpOp::Le => ord.is_le(),
    }
}

// One impl per concrete column type rather than one over `FieldType<Inner =
// Json>`: text columns have a `contains` of their own, and impls bounded by
// two different associated types would overlap.
macro_rules! json_column {
    ($($t:ty),*) => {$(
        impl<M> Column<M, $t> {
            /// Rows whose document contains `template`, as PostgreSQL's `@>`
            /// (see [`crate::query::json`]): `LABELS.contains(json!(["bug"]))`.
            pub fn contains(self, template: impl Into<Json>) -> Filter<M> {
                Filter::from_expr(Expr::JsonContains {
                    column: self.name(),
                    value: template.into(),
                })
            }

            /// The value at `path` (`"address.city"`, `"tags.0"`), to compare:
            /// `PROFILE.path("address.city").eq("Oslo")`. A malformed path is
            /// an `Error::InvalidInput` when the query runs.
            pub fn path(self, path: &str) -> JsonPath<M> {
                JsonPath {
                    column: self.name(),
                    path: parse_path(path).map_err(|e| e.to_string()),
                    _model: PhantomData,
                }
            }
        }
    )*};
}

json_column!(Json, Option<Json>);

/// The value at a path of a JSON column, to compare with a JSON scalar.
pub struct JsonPath<M> {
    column: &'static str,
    path: std::result::Result<Vec<JsonSegment>, String>,
    _model: PhantomData<fn() -> M>,
}

impl<M> JsonPath<M> {
    fn cmp(self, op: CmpOp, value: Json) -> Filter<M> {
        Filter::from_expr(Expr::JsonPath {
            column: self.column,
            path: self.path,
            op,
            value,
        })
    }
    /// The value equals `value` (a string, number, boolean or null).
    pub fn eq(self, value: impl Into<Json>) -> Filter<M> {
        self.cmp(CmpOp::Eq, value.into())
    }
    /// The value is of the same kind as `value` and differs from it.
    pub fn ne(self, value: impl Into<Json>) -> Filter<M> {
        self.cmp(CmpOp::Ne, value.into())
    }
    /// `>` on a string (byte order) or a number.
    pub fn gt(self, value: impl Into<Json>) -> Filter<M> {
        self.cmp(CmpOp::Gt, value.into())
    }
    /// `>=` on a string or a number.
    pub fn ge(self, value: impl Into<Json>) -> Filter<M> {
        self.cmp(CmpOp::Ge, value.into())
    }
    /// `<` on a string or a number.
    pub fn lt(self, value: impl Into<Json>) -> Filter<M> {
        self.cmp(CmpOp::Lt, value.into())
    }
    /// `<=` on a string or a number.
    pub fn le(self, value: impl Into<Json>) -> Filter<M> {
        self.cmp(CmpOp::Le, value.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn containment_follows_postgres() {
        let doc = json!({"a": [1, 2, {"b": "x"}], "c": {"d": true}, "n": 1.0});
        assert!(contains(&doc, &json!({})));
        assert!(contains(&doc, &json!({"a": [2, 1]})));
        assert!(contains(&doc, &json!({"a": [{"b": "x"}], "n": 1})));
        assert!(contains(&doc, &json!({"c": {}})));
        assert!(
            !contains(&doc, &json!({"a": 1})),
            "nested: no array/scalar exception"
        );
        assert!(!contains(&doc, &json!({"c": {"d": false}})));
        assert!(!contains(&doc, &json!([])));
        assert!(
            contains(&json!(["bug", "ui"]), &json!("bug")),
            "top level exception"
        );
        assert!(contains(&json!(["bug", "ui"]), &json!(["ui", "ui"])));
        assert!(!contains(&json!("bug"), &json!(["bug"])));
        assert!(contains(&json!("bug"), &json!("bug")));
        assert!(contains(&json!([[1, 2]]), &json!([[2]])));
        assert!(!contains(&json!([[1, 2]]), &json!([2])));
    }

    #[test]
    fn paths_parse_and_compare_by_kind() {
        assert_eq!(
            parse_path("a.0.b").unwrap(),
            vec![
                JsonSegment::Key("a".into()),
                JsonSegment::Index(0),
                JsonSegment::Key("b".into())
            ]
        );
        for bad in ["", "a..b", ".a", "a\"b", "99999999999"] {
            assert!(parse_path(bad).is_err(), "{bad:?}");
        }
        let doc = json!({"n": 5, "s": "5", "t": true, "z": null, "l": [10, "x"]});
        let p = |s: &str| parse_path(s).unwrap();
        assert!(path_matches(&doc, &p("n"), CmpOp::Eq, &json!(5.0)));
        assert!(!path_matches(&doc, &p("s"), CmpOp::Eq, &json!(5)));
        assert!(
            !path_matches(&doc, &p("s"), CmpOp::Ne, &json!(5)),
            "other kind"
        );
        assert!(path_matches(&doc, &p("s"), CmpOp::Ne, &json!("6")));
        assert!(path_matches(&doc, &p("t"), CmpOp::Eq, &json!(true)));
        assert!(path_matches(&doc, &p("z"), CmpOp::Eq, &json!(null)));
        assert!(!path_matches(&doc, &p("missing"), CmpOp::Ne, &json!(null)));
        assert!(path_matches(&doc, &p("l.0"), CmpOp::Gt, &json!(9.5)));
        assert!(path_matches(&doc, &p("l.1"), CmpOp::Lt, &json!("y")));
        assert!(check_path_compare(CmpOp::Gt, &json!(true)).is_err());
        assert!(check_path_compare(CmpOp::Eq, &json!([1])).is_err());
        assert!(check_path_compare(CmpOp::Le, &json!(1.5)).is_ok());
    }
}
