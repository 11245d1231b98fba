//! JSON filters on PostgreSQL: containment is `jsonb @>` itself; a path is a
//! chain of `->` steps (a bound text key, or a bound integer index into an
//! array only, so a key never reaches an array element nor an index an object
//! member or a scalar), compared by
//! kind with the meaning `dataflow_core::query::json` defines.

use dataflow_core::query::json::JsonSegment;
use dataflow_core::query::statement::SqlWriter;
use dataflow_core::{CmpOp, Value};
use serde_json::Value as Json;

pub(crate) fn contains(column: &str, template: &Json, out: &mut SqlWriter<'_>) {
    out.push("(").push(column).push(" @> CAST(");
    out.bind(Value::Json(template.clone()));
    out.push(" AS jsonb))");
}

/// The value at `path`: `->` per key; per index only into an array (PostgreSQL
/// would read index 0 of a scalar as the scalar itself).
fn step(column: &str, path: &[JsonSegment], out: &mut SqlWriter<'_>) {
    let Some((last, before)) = path.split_last() else {
        out.push(column);
        return;
    };
    match last {
        JsonSegment::Key(k) => {
            out.push("(");
            step(column, before, out);
            out.push(" -> ");
            out.bind(Value::Text(k.clone()));
            out.push(")");
        }
        JsonSegment::Index(i) => {
            out.push("(CASE WHEN jsonb_typeof(");
            step(column, before, out);
            out.push(") = 'array' THEN ");
            step(column, before, out);
            out.push(" -> ");
            out.bind(Value::I32(*i as i32));
            out.push(" END)");
        }
    }
}

pub(crate) fn path_compare(
    column: &str,
    path: &[JsonSegment],
    op: CmpOp,
    value: &Json,
    out: &mut SqlWriter<'_>,
) {
    let at = |out: &mut SqlWriter<'_>| step(column, path, out);
    let kind = match value {
        Json::String(_) => "string",
        Json::Number(_) => "number",
        Json::Bool(_) => "boolean",
        _ => "null",
    };
    // NULL for a NULL column, as every SQL test of it; else never NULL.
    out.push("(CASE WHEN ")
        .push(column)
        .push(" IS NULL THEN NULL ELSE COALESCE(jsonb_typeof(");
    at(out);
    out.push(") = '").push(kind).push("'");
    match value {
        // Byte order, as SQLite compares text.
        Json::String(s) => {
            out.push(" AND (");
            at(out);
            out.push(" #>> '{}') COLLATE \"C\" ")
                .push(op.sql())
                .push(" ");
            out.bind(Value::Text(s.clone()));
        }
        Json::Null if op == CmpOp::Ne => {
            out.push(" AND FALSE");
        }
        Json::Null => {}
        // Numbers by value (jsonb compares numbers numerically), booleans by value.
        _ => {
            out.push(" AND ");
            at(out);
            out.push(" ").push(op.sql()).push(" CAST(");
            out.bind(Value::Json(value.clone()));
            out.push(" AS jsonb)");
        }
    }
    out.push(", FALSE) END)");
}
