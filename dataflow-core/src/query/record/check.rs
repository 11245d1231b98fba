//! What the record layer checks before anything is written: values against
//! their columns (declared lengths, portable ranges, nesting limits), and, for
//! untyped callers, that rows, keys, filters and orderings fit the model.
//!
//! The typed API builds its values and filters from the model, so it skips the
//! shape checks; the value checks run for every caller.

use chrono::{DurationRound, Utc};

use crate::backend::capabilities::Capabilities;
use crate::error::{Error, Result};
use crate::limits::{check_value, dispose_values, MAX_FILTER_DEPTH};
use crate::model::descriptor::{Managed, ModelDescriptor};
use crate::model::key::KeyValues;
use crate::model::value::{LogicalType, Value};
use crate::query::filter::{Expr, OrderTerm};
use crate::query::limits::{check_expr_values, dispose_expr, expr_depth};

/// The current instant, truncated to microseconds: the precision every backend
/// stores, so a value read back equals the value written.
pub fn now() -> Value {
    let now = Utc::now();
    Value::TimestampTz(
        now.duration_trunc(chrono::Duration::microseconds(1))
            .unwrap_or(now),
    )
}

/// Whether the database should assign this row's key (`0` in an
/// auto-increment key); `row` holds one value per column of the model.
pub fn wants_generated_key(d: &ModelDescriptor, row: &[Value]) -> bool {
    d.auto_key().is_some_and(|(i, _)| {
        matches!(
            row.get(i),
            Some(Value::I16(0) | Value::I32(0) | Value::I64(0))
        )
    })
}

/// How an insert treats managed columns (`created_at`, `updated_at`,
/// `deleted_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stamp {
    /// Set them as the typed API does: the current time, `deleted_at` NULL.
    Now,
    /// Keep the values given (fixtures restore rows as written).
    Keep,
}

/// Fills managed columns for an insert and checks declared length limits.
fn prepare_insert(
    d: &ModelDescriptor,
    values: &mut [Value],
    now: &Value,
    stamp: Stamp,
) -> Result<()> {
    if stamp == Stamp::Now && (d.timestamps || d.soft_delete) {
        for (c, v) in d.columns.iter().zip(values.iter_mut()) {
            match c.managed {
                Some(Managed::CreatedAt | Managed::UpdatedAt) => *v = now.clone(),
                Some(Managed::DeletedAt) => *v = Value::Null,
                None => {}
            }
        }
    }
    check_values(d, values.iter().enumerate())
}

/// Checks every value of a row before it is written; on failure the values are
/// taken apart without recursion (they may hold JSON too deep to drop).
pub(crate) fn checked_row(
    d: &ModelDescriptor,
    mut values: Vec<Value>,
    now: &Value,
    stamp: Stamp,
) -> Result<Vec<Value>> {
    match prepare_insert(d, &mut values, now, stamp) {
        Ok(()) => Ok(values),
        Err(e) => {
            dispose_values(values);
            Err(e)
        }
    }
}

/// [`checked_row`] for every row; on failure every row is taken apart.
pub(crate) fn checked_rows(
    d: &ModelDescriptor,
    rows: Vec<Vec<Value>>,
    stamp: Stamp,
) -> Result<Vec<Vec<Value>>> {
    let now = now();
    let mut out = Vec::with_capacity(rows.len());
    let mut rows = rows.into_iter();
    while let Some(row) = rows.next() {
        match checked_row(d, row, &now, stamp) {
            Ok(v) => out.push(v),
            Err(e) => {
                dispose_values(out.into_iter().chain(rows).flatten());
                return Err(e);
            }
        }
    }
    Ok(out)
}

/// Checks a patch's values before they are written (see [`checked_row`]).
pub(crate) fn checked_assignments(
    d: &ModelDescriptor,
    assignments: Vec<(usize, Value)>,
) -> Result<Vec<(usize, Value)>> {
    match check_values(d, assignments.iter().map(|(i, v)| (*i, v))) {
        Ok(()) => Ok(assignments),
        Err(e) => {
            dispose_values(assignments.into_iter().map(|(_, v)| v));
            Err(e)
        }
    }
}

/// The filter's expression once it is known to be usable: not nested too
/// deeply, naming only columns of the model (regular expressions only text
/// ones, where the database has them), holding only values that can be bound.
/// Refused filters are taken apart without recursion.
pub(crate) fn checked_expr(d: &ModelDescriptor, caps: &Capabilities, expr: Expr) -> Result<Expr> {
    let result = if expr_depth(&expr, MAX_FILTER_DEPTH) > MAX_FILTER_DEPTH {
        Err(Error::InvalidInput(format!(
            "filter nested deeper than {MAX_FILTER_DEPTH} levels"
        )))
    } else {
        expr_columns(d, caps, &expr).and_then(|()| check_expr_values(&expr, d.name))
    };
    match result {
        Ok(()) => Ok(expr),
        Err(e) => {
            dispose_expr(expr);
            Err(e)
        }
    }
}

/// Refuses a filter naming a column the model does not have, or matching a
/// regular expression against a column that is not text or on a database
/// without regular expressions.
fn expr_columns(d: &ModelDescriptor, caps: &Capabilities, expr: &Expr) -> Result<()> {
    let mut stack = vec![expr];
    while let Some(e) = stack.pop() {
        match e {
            Expr::True => {}
            Expr::Compare { column, .. }
            | Expr::In { column, .. }
            | Expr::IsNull { column, .. }
            | Expr::Like { column, .. } => known_column(d, column, "filter")?,
            Expr::Regex { column, .. } => {
                known_column(d, column, "filter")?;
                let text = d.column(column).is_some_and(|c| c.ty == LogicalType::Text);
                if !text || !caps.regex {
                    return Err(Error::InvalidInput(format!(
                        "{}: a regular expression on column {column:?} {}",
                        d.name,
                        if text {
                            "needs a database with regular expressions"
                        } else {
                            "applies to text columns only"
                        }
                    )));
                }
            }
            Expr::JsonContains { column, .. } | Expr::JsonPath { column, .. } => {
                known_column(d, column, "filter")?;
                if d.column(column).is_some_and(|c| c.ty != LogicalType::Json) {
                    return Err(Error::InvalidInput(format!(
                        "{}: JSON filter on column {column:?}, which is not JSON",
                        d.name
                    )));
                }
            }
            Expr::And(items) | Expr::Or(items) => stack.extend(items),
            Expr::Not(inner) => stack.push(inner),
        }
    }
    Ok(())
}

/// Refuses an ordering on a column the model does not have.
pub(crate) fn check_order(d: &ModelDescriptor, order: &[OrderTerm]) -> Result<()> {
    order
        .iter()
        .try_for_each(|t| known_column(d, t.column, "order"))
}

pub(crate) fn known_column(d: &ModelDescriptor, column: &str, what: &str) -> Result<()> {
    if d.column(column).is_some() {
        return Ok(());
    }
    Err(Error::InvalidInput(format!(
        "{}: {what} on unknown column {column:?} (columns: {})",
        d.name,
        d.columns
            .iter()
            .map(|c| c.name)
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// Refuses, before anything is written, values some backend would store or
/// compare differently, or could not read back: text over `max_length` (SQLite
/// does not enforce `VARCHAR(n)`), text that is none of an enum column's
/// values (the database's `CHECK` would refuse it less clearly), dates and
/// times outside the range every backend orders alike
/// ([`Value::check_portable`]), JSON nested too deeply ([`crate::limits`]).
fn check_values<'v>(
    d: &ModelDescriptor,
    values: impl Iterator<Item = (usize, &'v Value)>,
) -> Result<()> {
    for (i, v) in values {
        let c = &d.columns[i];
        // The path is only spelled out for an error: this runs for every value
        // of every write.
        let path = || format!("{}.{}", d.name, c.field.unwrap_or(c.name));
        match v {
            Value::Json(_) => check_value(v, &path())?,
            Value::Date(_) | Value::Timestamp(_) | Value::TimestampTz(_) => v
                .check_portable()
                .map_err(|why| Error::InvalidInput(format!("{}: {why}", path())))?,
            Value::Text(s) => {
                if let Some(e) = c.enum_type.filter(|e| !e.contains(s)) {
                    return Err(Error::InvalidInput(format!("{}: {}", path(), e.unknown(s))));
                }
                // A string holds at least as many bytes as characters.
                if let Some(max) = c.max_length.filter(|&m| s.len() > m as usize) {
                    let len = s.chars().count();
                    if len > max as usize {
                        return Err(Error::InvalidInput(format!(
                            "{}: {len} characters exceed max_length {max}",
                            path()
                        )));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Refuses a value of another type than its column's, or a NULL where the
/// column does not take one (managed columns, which the insert fills, may be
/// NULL).
fn value_fits(d: &ModelDescriptor, i: usize, v: &Value) -> Result<()> {
    let c = &d.columns[i];
    let ok = match v.logical_type() {
        None => c.nullable || c.managed.is_some(),
        Some(ty) => ty == c.ty,
    };
    if ok {
        return Ok(());
    }
    Err(Error::InvalidInput(format!(
        "{}.{}: expected a {}{} value, found {}",
        d.name,
        c.field.unwrap_or(c.name),
        if c.nullable { "nullable " } else { "" },
        c.ty,
        v.kind()
    )))
}

/// Refuses a row that does not hold one value of the right type per column.
pub(crate) fn row_fits(d: &ModelDescriptor, row: &[Value]) -> Result<()> {
    if row.len() != d.columns.len() {
        return Err(Error::InvalidInput(format!(
            "{}: a row holds {} values, one per column; found {}",
            d.name,
            d.columns.len(),
            row.len()
        )));
    }
    row.iter()
        .enumerate()
        .try_for_each(|(i, v)| value_fits(d, i, v))
}

/// Refuses a key of another shape or type than the model's key.
pub(crate) fn key_fits(d: &ModelDescriptor, key: &KeyValues) -> Result<()> {
    let values = key.as_slice();
    if values.len() != d.primary_key.len() {
        return Err(Error::InvalidInput(format!(
            "{}: the key has {} column{} ({}); found {} value{}",
            d.name,
            d.primary_key.len(),
            if d.primary_key.len() == 1 { "" } else { "s" },
            key_names(d),
            values.len(),
            if values.len() == 1 { "" } else { "s" },
        )));
    }
    for (&i, v) in d.primary_key.iter().zip(values) {
        if v.is_null() {
            return Err(Error::InvalidInput(format!(
                "{}.{}: the key is NULL",
                d.name,
                d.columns[i].field.unwrap_or(d.columns[i].name)
            )));
        }
        value_fits(d, i, v)?;
    }
    Ok(())
}

/// The key's field names, comma-separated.
fn key_names(d: &ModelDescriptor) -> String {
    d.key_columns()
        .map(|c| c.field.unwrap_or(c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Refuses assignments to unknown columns, to the key, or of the wrong type.
pub(crate) fn assignments_fit(d: &ModelDescriptor, assignments: &[(usize, Value)]) -> Result<()> {
    for (i, v) in assignments {
        let Some(c) = d.columns.get(*i) else {
            return Err(Error::InvalidInput(format!(
                "{}: no column at index {i}",
                d.name
            )));
        };
        if c.primary_key || c.managed.is_some() {
            return Err(Error::InvalidInput(format!(
                "{}.{}: cannot be set by an update",
                d.name,
                c.field.unwrap_or(c.name)
            )));
        }
        value_fits(d, *i, v)?;
    }
    Ok(())
}

/// The key as text for `Error::NotFound`: `id = 7`, or
/// `order_id = 1, line_no = 2` for a composite key.
pub(crate) fn key_string(d: &ModelDescriptor, key: &KeyValues) -> String {
    d.key_columns()
        .zip(key.as_slice())
        .map(|(c, v)| format!("{} = {v}", c.field.unwrap_or(c.name)))
        .collect::<Vec<_>>()
        .join(", ")
}
