//! Mongo-style JSON filters, parsed into the one [`Expr`] model the typed API
//! builds, so a node's filter and a typed filter run through the same checks
//! and the same SQL.
//!
//! `{"age": {"$gte": 18}, "name": {"$like": "A%"}}` is the conjunction of its
//! fields; a bare value is `$eq`; `$and`/`$or` take arrays of filters and
//! `$not` one filter, at the top or under a field. Values convert through the
//! field's type by the path fixtures use ([`value_from_json`]). `$regex` takes
//! a pattern of the subset every backend reads alike (see
//! [`crate::query::regex`]), with `"$options": "i"` beside it to ignore ASCII
//! case.

use serde_json::{Map, Value as Json};

use crate::error::{Error, Result};
use crate::fixtures::json::value_from_json;
use crate::limits::MAX_FILTER_DEPTH;
use crate::model::descriptor::{ColumnDescriptor, ModelDescriptor};
use crate::model::value::{LogicalType, Value};
use crate::query::expr::{CmpOp, Expr};
use crate::query::regex::check_regex;

/// Every operator a filter accepts, for messages.
pub const OPERATORS: &[&str] = &[
    "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$like", "$regex", "$options",
    "$null", "$exists", "$and", "$or", "$not",
];

/// Parses a JSON filter for model `d` into an expression. `null` and `{}`
/// match every row. Errors are [`Error::InvalidInput`] naming the path
/// (`filter.age.$gt`).
pub fn parse_filter(d: &'static ModelDescriptor, json: &Json) -> Result<Expr> {
    match json {
        Json::Null => Ok(Expr::True),
        other => top(d, other, "filter", 1),
    }
}

fn bad(path: &str, why: impl std::fmt::Display) -> Error {
    Error::InvalidInput(format!("{path}: {why}"))
}

fn deeper(path: &str, depth: usize) -> Result<()> {
    if depth > MAX_FILTER_DEPTH {
        return Err(bad(
            path,
            format!("filter nested deeper than {MAX_FILTER_DEPTH} levels"),
        ));
    }
    Ok(())
}

/// A filter object: fields and `$and`/`$or`/`$not`, all of them required.
fn top(d: &'static ModelDescriptor, json: &Json, path: &str, depth: usize) -> Result<Expr> {
    deeper(path, depth)?;
    let Json::Object(map) = json else {
        return Err(bad(
            path,
            format!("expected a filter object, found {}", kind(json)),
        ));
    };
    let mut out = Expr::True;
    for (key, value) in map {
        let here = format!("{path}.{key}");
        let e = match key.as_str() {
            "$and" | "$or" => {
                let items = list_of_filters(d, value, &here, depth)?;
                if key == "$and" {
                    Expr::And(items)
                } else if items.is_empty() {
                    return Err(bad(
                        &here,
                        "an empty $or matches nothing; give at least one filter",
                    ));
                } else {
                    Expr::Or(items)
                }
            }
            "$not" => Expr::Not(Box::new(top(d, value, &here, depth + 1)?)),
            k if k.starts_with('$') => return Err(unknown_operator(&here, k, true)),
            field => {
                let c = column(d, field, &here)?;
                on_field(c, value, &here, depth + 1)?
            }
        };
        out = out.and(e);
    }
    Ok(out)
}

fn list_of_filters(
    d: &'static ModelDescriptor,
    json: &Json,
    path: &str,
    depth: usize,
) -> Result<Vec<Expr>> {
    let Json::Array(items) = json else {
        return Err(bad(
            path,
            format!("expected an array of filters, found {}", kind(json)),
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| top(d, item, &format!("{path}[{i}]"), depth + 1))
        .collect()
}

/// The column a filter names, by field or column name.
pub(crate) fn column(
    d: &'static ModelDescriptor,
    name: &str,
    path: &str,
) -> Result<&'static ColumnDescriptor> {
    d.columns
        .iter()
        .find(|c| c.field == Some(name))
        .or_else(|| d.columns.iter().find(|c| c.name == name))
        .ok_or_else(|| unknown_field(d, name, path))
}

/// `InvalidInput` for a field `d` lacks, listing close matches (or all fields).
pub(crate) fn unknown_field(d: &ModelDescriptor, name: &str, path: &str) -> Error {
    let fields: Vec<&str> = d
        .columns
        .iter()
        .map(|c| c.field.unwrap_or(c.name))
        .collect();
    let close = close_matches(name, fields.iter().copied());
    let hint = if close.is_empty() {
        format!("fields: {}", fields.join(", "))
    } else {
        format!("did you mean {}?", close.join(", "))
    };
    bad(
        path,
        format!("unknown field {name:?} of model {} ({hint})", d.name),
    )
}

fn unknown_operator(path: &str, op: &str, top_level: bool) -> Error {
    let allowed: Vec<&str> = if top_level {
        vec!["$and", "$or", "$not"]
    } else {
        OPERATORS.to_vec()
    };
    let close = close_matches(op, allowed.iter().copied());
    let hint = if close.is_empty() {
        format!("operators: {}", allowed.join(" "))
    } else {
        format!("did you mean {}?", close.join(", "))
    };
    bad(path, format!("unknown operator {op:?} here ({hint})"))
}

/// What a field's condition is: a bare value (`$eq`) or an object of operators.
fn on_field(c: &'static ColumnDescriptor, json: &Json, path: &str, depth: usize) -> Result<Expr> {
    deeper(path, depth)?;
    match json {
        Json::Object(ops) if c.ty != LogicalType::Json || is_operator_map(ops) => {
            if ops.is_empty() {
                return Err(bad(
                    path,
                    "expected a value or an object of operators, found an empty object",
                ));
            }
            let mut out = Expr::True;
            for (op, value) in ops {
                let here = format!("{path}.{op}");
                let e = match op.as_str() {
                    "$regex" => regex(c, value, ops.get("$options"), &here, path)?,
                    "$options" if ops.contains_key("$regex") => continue,
                    "$options" => {
                        return Err(bad(
                            &here,
                            "$options qualifies a $regex beside it; none here",
                        ))
                    }
                    _ => operator(c, op, value, &here, depth)?,
                };
                out = out.and(e);
            }
            Ok(out)
        }
        _ => operator(c, "$eq", json, path, depth),
    }
}

fn is_operator_map(ops: &Map<String, Json>) -> bool {
    !ops.is_empty() && ops.keys().all(|k| k.starts_with('$'))
}

fn operator(
    c: &'static ColumnDescriptor,
    op: &str,
    json: &Json,
    path: &str,
    depth: usize,
) -> Result<Expr> {
    let column = c.name;
    let cmp = |op| -> Result<Expr> {
        Ok(Expr::Compare {
            column,
            op,
            value: value(c, json, path)?,
        })
    };
    match op {
        "$eq" | "$ne" if json.is_null() => Ok(Expr::IsNull {
            column,
            negated: op == "$ne",
        }),
        "$eq" | "$ne" => {
            comparable(c, op, path, false)?;
            cmp(if op == "$eq" { CmpOp::Eq } else { CmpOp::Ne })
        }
        "$gt" | "$gte" | "$lt" | "$lte" => {
            comparable(c, op, path, true)?;
            cmp(match op {
                "$gt" => CmpOp::Gt,
                "$gte" => CmpOp::Ge,
                "$lt" => CmpOp::Lt,
                _ => CmpOp::Le,
            })
        }
        "$in" | "$nin" => {
            comparable(c, op, path, false)?;
            let Json::Array(items) = json else {
                return Err(bad(
                    path,
                    format!("expected an array, found {}", kind(json)),
                ));
            };
            let values = items
                .iter()
                .enumerate()
                .map(|(i, v)| value(c, v, &format!("{path}[{i}]")))
                .collect::<Result<Vec<Value>>>()?;
            Ok(Expr::In {
                column,
                values,
                negated: op == "$nin",
            })
        }
        "$like" => {
            // An enum column is compared with its values only, as in the typed API.
            if c.ty != LogicalType::Text || c.enum_type.is_some() {
                return Err(type_refuses(c, op, path));
            }
            let Json::String(pattern) = json else {
                return Err(bad(
                    path,
                    format!("expected a LIKE pattern string, found {}", kind(json)),
                ));
            };
            Ok(Expr::Like {
                column,
                pattern: pattern.clone(),
            })
        }
        "$null" | "$exists" => {
            let Json::Bool(b) = json else {
                return Err(bad(
                    path,
                    format!("expected true or false, found {}", kind(json)),
                ));
            };
            // A column always exists in SQL; `$exists` asks whether it holds a value.
            let is_null = if op == "$null" { *b } else { !*b };
            Ok(Expr::IsNull {
                column,
                negated: !is_null,
            })
        }
        "$not" => {
            deeper(path, depth + 1)?;
            Ok(Expr::Not(Box::new(on_field(c, json, path, depth + 1)?)))
        }
        other => Err(unknown_operator(path, other, false)),
    }
}

/// `{"$regex": pattern, "$options": "i"}`: a pattern of the subset every
/// backend reads alike ([`check_regex`]), checked here so the error names it.
fn regex(
    c: &'static ColumnDescriptor,
    json: &Json,
    options: Option<&Json>,
    path: &str,
    field_path: &str,
) -> Result<Expr> {
    if c.ty != LogicalType::Text {
        return Err(type_refuses(c, "$regex", path));
    }
    let Json::String(pattern) = json else {
        return Err(bad(
            path,
            format!("expected a regular expression string, found {}", kind(json)),
        ));
    };
    let case_insensitive = match options {
        None => false,
        Some(Json::String(o)) if o.is_empty() || o == "i" => o == "i",
        Some(other) => {
            return Err(bad(
                &format!("{field_path}.$options"),
                format!(
                    "expected \"i\" (ignore ASCII case) or \"\", found {}; other flags are \
                     not supported",
                    match other {
                        Json::String(s) => format!("{s:?}"),
                        o => kind(o).to_owned(),
                    }
                ),
            ))
        }
    };
    check_regex(pattern, case_insensitive).map_err(|why| bad(path, why))?;
    Ok(Expr::Regex {
        column: c.name,
        pattern: pattern.clone(),
        case_insensitive,
    })
}

/// Refuses comparisons that would not mean the same on every backend: JSON
/// documents compare by text on one and by structure on another, and
/// booleans and bytes have no portable order.
fn comparable(c: &ColumnDescriptor, op: &str, path: &str, ordering: bool) -> Result<()> {
    let refused = match c.ty {
        LogicalType::Json => true,
        LogicalType::Bool | LogicalType::Bytes => ordering,
        _ => false,
    };
    if refused {
        return Err(type_refuses(c, op, path));
    }
    Ok(())
}

fn type_refuses(c: &ColumnDescriptor, op: &str, path: &str) -> Error {
    bad(
        path,
        format!(
            "operator {op} does not apply to field {:?} of type {}",
            c.field.unwrap_or(c.name),
            match c.enum_type {
                Some(e) => format!("{} (enum)", e.name),
                None => c.ty.to_string(),
            }
        ),
    )
}

fn value(c: &ColumnDescriptor, json: &Json, path: &str) -> Result<Value> {
    if json.is_null() {
        return Err(bad(path, "null is not a value to compare with; use $null"));
    }
    value_from_json(c, json).map_err(|why| bad(path, why))
}

/// Short description of a JSON value's kind, for messages.
pub(crate) fn kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// The candidates within a small edit distance of `name` (case-insensitive),
/// or containing it, closest first.
pub(crate) fn close_matches<'c>(
    name: &str,
    candidates: impl Iterator<Item = &'c str>,
) -> Vec<&'c str> {
    // A long name is no typo of a field name; measuring it would only cost time.
    if name.chars().count() > 64 {
        return Vec::new();
    }
    let lower = name.to_lowercase();
    let mut scored: Vec<(usize, &str)> = candidates
        .filter_map(|c| {
            let cl = c.to_lowercase();
            let dist = edit_distance(&lower, &cl);
            let near = dist <= 2.max(lower.chars().count() / 3)
                || (lower.len() >= 3 && cl.contains(&lower));
            near.then_some((dist, c))
        })
        .collect();
    scored.sort();
    scored.into_iter().map(|(_, c)| c).take(5).collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}
