//! JSON filters on SQLite: containment compiled from the template into
//! `json_each` tests, path comparisons with `json_type` / `json_extract`, with
//! the meaning `dataflow_core::query::json` defines (PostgreSQL's `@>` and
//! typed comparisons). Keys, path strings and values are bound; only aliases
//! and type names are written into the SQL.

use dataflow_core::query::json::JsonSegment;
use dataflow_core::query::statement::SqlWriter;
use dataflow_core::{CmpOp, Value};
use serde_json::Value as Json;

/// Binds a JSON scalar as the SQL value `json_extract` / `json_each` yield.
fn bind_scalar(v: &Json, out: &mut SqlWriter<'_>) {
    match v {
        Json::String(s) => {
            out.bind(Value::Text(s.clone()));
        }
        Json::Number(n) => {
            out.bind(match n.as_i64() {
                Some(i) => Value::I64(i),
                None => Value::F64(n.as_f64().unwrap_or(f64::NAN)),
            });
        }
        // Booleans and null are tested by type alone.
        _ => {}
    }
}

/// The `json_type` names of a scalar's kind.
fn kind(v: &Json) -> &'static str {
    match v {
        Json::String(_) => "('text')",
        Json::Number(_) => "('integer', 'real')",
        Json::Bool(true) => "('true')",
        Json::Bool(false) => "('false')",
        Json::Null => "('null')",
        Json::Array(_) => "('array')",
        Json::Object(_) => "('object')",
    }
}

/// `<alias>` (a row of `json_each`) holds a value containing `v`.
fn element(alias: &str, v: &Json, depth: usize, out: &mut SqlWriter<'_>) {
    out.push("(").push(alias).push(".type IN ").push(kind(v));
    match v {
        Json::String(_) | Json::Number(_) => {
            out.push(" AND ").push(alias).push(".value = ");
            bind_scalar(v, out);
        }
        Json::Array(_) | Json::Object(_) => {
            out.push(" AND ");
            document(&format!("{alias}.value"), v, depth, out);
        }
        _ => {}
    }
    out.push(")");
}

/// The JSON text `doc` is an array or object containing `template`.
fn document(doc: &str, template: &Json, depth: usize, out: &mut SqlWriter<'_>) {
    let alias = format!("dfj{depth}");
    out.push("(json_type(")
        .push(doc)
        .push(") IN ")
        .push(kind(template));
    match template {
        Json::Object(map) => {
            for (k, v) in map {
                out.push(" AND EXISTS (SELECT 1 FROM json_each(")
                    .push(doc)
                    .push(") AS ")
                    .push(&alias)
                    .push(" WHERE ")
                    .push(&alias)
                    .push(".key = ");
                out.bind(Value::Text(k.clone()));
                out.push(" AND ");
                element(&alias, v, depth + 1, out);
                out.push(")");
            }
        }
        Json::Array(items) => {
            for v in items {
                out.push(" AND EXISTS (SELECT 1 FROM json_each(")
                    .push(doc)
                    .push(") AS ")
                    .push(&alias)
                    .push(" WHERE ");
                element(&alias, v, depth + 1, out);
                out.push(")");
            }
        }
        _ => {}
    }
    out.push(")");
}

/// NULL for a NULL column (as every SQL test of it), else the test, never NULL.
fn unless_null(column: &str, out: &mut SqlWriter<'_>, test: impl FnOnce(&mut SqlWriter<'_>)) {
    out.push("(CASE WHEN ")
        .push(column)
        .push(" IS NULL THEN NULL ELSE COALESCE(");
    test(out);
    out.push(", 0) END)");
}

pub(crate) fn contains(column: &str, template: &Json, out: &mut SqlWriter<'_>) {
    unless_null(column, out, |out| match template {
        Json::Array(_) | Json::Object(_) => document(column, template, 0, out),
        // At the top level an array contains its scalar elements too; a
        // scalar document is its own only row of json_each.
        scalar => {
            out.push("(json_type(")
                .push(column)
                .push(") <> 'object' AND EXISTS (SELECT 1 FROM json_each(")
                .push(column)
                .push(") AS dfj0 WHERE ");
            element("dfj0", scalar, 1, out);
            out.push("))");
        }
    });
}

/// `$."a"[0]`: keys quoted (they hold no `"`: refused when parsed).
fn path_text(path: &[JsonSegment]) -> String {
    let mut s = String::from("$");
    for seg in path {
        match seg {
            JsonSegment::Key(k) => {
                s.push_str(".\"");
                s.push_str(k);
                s.push('"');
            }
            JsonSegment::Index(i) => {
                s.push('[');
                s.push_str(&i.to_string());
                s.push(']');
            }
        }
    }
    s
}

pub(crate) fn path_compare(
    column: &str,
    path: &[JsonSegment],
    op: CmpOp,
    value: &Json,
    out: &mut SqlWriter<'_>,
) {
    let path = path_text(path);
    unless_null(column, out, |out| {
        out.push("(json_type(").push(column).push(", ");
        out.bind(Value::Text(path.clone()));
        match (value, op) {
            (Json::String(_) | Json::Number(_), _) => {
                out.push(") IN ")
                    .push(kind(value))
                    .push(" AND json_extract(")
                    .push(column)
                    .push(", ");
                out.bind(Value::Text(path));
                out.push(") ").push(op.sql()).push(" ");
                bind_scalar(value, out);
            }
            (Json::Bool(b), CmpOp::Ne) => {
                out.push(") IN ").push(kind(&Json::Bool(!b)));
            }
            (Json::Null, CmpOp::Ne) => {
                out.push(") IS NULL AND 1 = 0");
            }
            _ => {
                out.push(") IN ").push(kind(value));
            }
        }
        out.push(")");
    });
}
