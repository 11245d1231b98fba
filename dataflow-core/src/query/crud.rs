//! The generated CRUD functions, written once, generic over the model.
//!
//! `#[derive(Model)]` emits thin inherent methods (`User::create`, …) that call
//! these. Each single-row operation is one statement and one round trip where
//! the database has `RETURNING` (it hands back the stored row); elsewhere the
//! write and a read by key run in one transaction (see
//! [`Capabilities::returning`](crate::Capabilities::returning)). Bulk
//! operations run in one transaction and are all-or-nothing.

use std::collections::HashMap;

use chrono::{DurationRound, Utc};

use crate::backend::Connection;
use crate::dataflow::DataFlow;
use crate::error::{Error, Result};
use crate::limits::{check_expr_values, check_value, dispose_expr, dispose_values};
use crate::model::descriptor::{Managed, ModelDescriptor};
use crate::model::field::FieldType;
use crate::model::value::{LogicalType, Value};
use crate::model::{Model, Patch};
use crate::query::filter::{Column, Expr, Filter};
use crate::query::statement::{select_by, ModelSql, SqlWriter};

/// The current instant, truncated to microseconds: the precision every backend
/// stores, so a value read back equals the value written.
pub fn now() -> Value {
    let now = Utc::now();
    Value::TimestampTz(
        now.duration_trunc(chrono::Duration::microseconds(1))
            .unwrap_or(now),
    )
}

/// Runs a query and decodes every row into `M`.
pub(crate) fn query_models<M: Model>(
    conn: &mut dyn Connection,
    sql: &str,
    binds: &[Value],
    types: &[LogicalType],
    out: &mut Vec<M>,
) -> Result<()> {
    conn.query(sql, binds, types, &mut |row| {
        out.push(M::from_row(row)?);
        Ok(())
    })
    .map_err(|e| e.for_model(M::DESCRIPTOR))
}

fn query_one<M: Model>(
    conn: &mut dyn Connection,
    sql: &str,
    binds: &[Value],
    types: &[LogicalType],
) -> Result<Option<M>> {
    let mut found = None;
    conn.query(sql, binds, types, &mut |row| {
        if found.is_none() {
            found = Some(M::from_row(row)?);
        }
        Ok(())
    })
    .map_err(|e| e.for_model(M::DESCRIPTOR))?;
    Ok(found)
}

/// Whether the database should assign this key (`0` in an auto-increment key).
pub(crate) fn wants_generated_key(d: &ModelDescriptor, key: &Value) -> bool {
    d.pk().auto_increment && matches!(key, Value::I16(0) | Value::I32(0) | Value::I64(0))
}

/// Fills managed columns for an insert and checks declared length limits.
fn prepare_insert(d: &ModelDescriptor, values: &mut [Value], now: &Value) -> Result<()> {
    if d.timestamps || d.soft_delete {
        for (c, v) in d.columns.iter().zip(values.iter_mut()) {
            match c.managed {
                Some(Managed::CreatedAt | Managed::UpdatedAt) => *v = now.clone(),
                Some(Managed::DeletedAt) => *v = Value::Null,
                None => {}
            }
        }
    }
    check_values(
        d,
        d.columns
            .iter()
            .enumerate()
            .map(|(i, _)| i)
            .zip(values.iter()),
    )
}

/// Checks every value of a row before it is written; on failure the values are
/// taken apart without recursion (they may hold JSON too deep to drop).
fn checked_row(d: &ModelDescriptor, mut values: Vec<Value>, now: &Value) -> Result<Vec<Value>> {
    match prepare_insert(d, &mut values, now) {
        Ok(()) => Ok(values),
        Err(e) => {
            dispose_values(values);
            Err(e)
        }
    }
}

/// Checks a patch's values before they are written (see [`checked_row`]).
fn checked_assignments(
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
/// deeply, holding only values that can be bound. Refused filters are taken
/// apart without recursion.
pub(crate) fn checked_filter<M: Model>(filter: Filter<M>) -> Result<Expr> {
    let expr = filter.try_into_expr()?;
    match check_expr_values(&expr, M::DESCRIPTOR.name) {
        Ok(()) => Ok(expr),
        Err(e) => {
            dispose_expr(expr);
            Err(e)
        }
    }
}

/// Refuses, before anything is written, values some backend would store or
/// compare differently, or could not read back: text over `max_length` (SQLite
/// does not enforce `VARCHAR(n)`), dates and times outside the range every
/// backend orders alike ([`Value::check_portable`]), JSON nested too deeply
/// ([`crate::limits`]).
fn check_values<'v>(
    d: &ModelDescriptor,
    values: impl Iterator<Item = (usize, &'v Value)>,
) -> Result<()> {
    for (i, v) in values {
        let c = &d.columns[i];
        check_value(v, &format!("{}.{}", d.name, c.field.unwrap_or(c.name)))?;
        v.check_portable().map_err(|why| {
            Error::InvalidInput(format!(
                "{}.{}: {why}",
                d.name,
                d.columns[i].field.unwrap_or(d.columns[i].name)
            ))
        })?;
        if let (Some(max), Value::Text(s)) = (d.columns[i].max_length, v) {
            let len = s.chars().count();
            if len > max as usize {
                return Err(Error::InvalidInput(format!(
                    "{}.{}: {len} characters exceed max_length {max}",
                    d.name,
                    d.columns[i].field.unwrap_or(d.columns[i].name)
                )));
            }
        }
    }
    Ok(())
}

fn key_string(d: &ModelDescriptor, v: &Value) -> String {
    format!("{} = {v}", d.pk().field.unwrap_or(d.pk().name))
}

/// `M::create`: inserts one row and returns it as stored.
pub fn create<M: Model>(db: &DataFlow, value: M) -> Result<M> {
    let d = M::DESCRIPTOR;
    let dialect = db.dialect();
    let sql = d.sql(dialect, db.capabilities());
    let mut values = checked_row(d, value.into_values(), &now())?;
    let generated = wants_generated_key(d, &values[d.primary_key]);
    let text = if generated {
        values.remove(d.primary_key);
        &sql.insert_auto
    } else {
        &sql.insert_all
    };
    let key_limit = narrow_key_limit(db, d).filter(|_| generated);
    let key = (!generated).then(|| vec![values[d.primary_key].clone()]);
    let insert = |c: &mut dyn Connection| {
        let row = if sql.returning.is_some() {
            query_one_checked::<M>(c, d, key_limit, text, &values, &sql.types)?
        } else {
            let read = ReadBack {
                sql: &sql.read_by_pk,
                key: key.clone(),
            };
            write_then_read::<M>(db, c, d, key_limit, text, &values, read, &sql.types)?
        };
        if !generated {
            after_explicit_keys(db, d, c)?;
        }
        Ok(row)
    };
    // One statement is atomic by itself; a transaction is needed when more
    // follows it (the key generator's adjustment) or when a row the database
    // accepted may not read back (then the failed read undoes the write).
    let row = if needs_transaction(db, d, !generated) {
        db.with_tx(insert)
    } else {
        db.with_conn(insert)
    };
    explain(db, d, row)?
        .ok_or_else(|| Error::Database(format!("insert into {} returned no row", d.table)))
}

/// Whether a single-row write must run in a transaction (see [`create`]).
fn needs_transaction(db: &DataFlow, d: &ModelDescriptor, explicit_key: bool) -> bool {
    let caps = db.capabilities();
    (explicit_key
        && d.pk().auto_increment
        && db.dialect().reset_key_sequence(d.table, d.pk().name).is_some())
        || !caps.enforces_column_types
        // The write and the read that fetches the stored row are one unit.
        || !caps.returning
}

/// The largest key a narrow auto-increment key field holds, when the database
/// does not refuse larger generated keys itself.
fn narrow_key_limit(db: &DataFlow, d: &ModelDescriptor) -> Option<i64> {
    if !d.pk().auto_increment || db.capabilities().enforces_column_types {
        return None;
    }
    match d.pk().ty {
        LogicalType::SmallInt => Some(i64::from(i16::MAX)),
        LogicalType::Int => Some(i64::from(i32::MAX)),
        _ => None,
    }
}

fn key_out_of_range(d: &ModelDescriptor, key: &Value) -> Error {
    Error::InvalidInput(format!(
        "{}.{}: the generated key {key} does not fit in the field's {} type; nothing was written",
        d.name,
        d.pk().field.unwrap_or(d.pk().name),
        d.pk().ty
    ))
}

/// Where a write without `RETURNING` finds the row it stored.
struct ReadBack<'s> {
    /// Selects the row; binds `key`.
    sql: &'s str,
    /// The values to select by; `None`: the key the database just generated.
    key: Option<Vec<Value>>,
}

/// Without `RETURNING` (see [`Capabilities::returning`]): runs the write, then
/// reads the stored row back on the same connection, inside the write's
/// transaction. `None` when the write touched no row.
///
/// [`Capabilities::returning`]: crate::Capabilities::returning
#[allow(clippy::too_many_arguments)]
fn write_then_read<M: Model>(
    db: &DataFlow,
    c: &mut dyn Connection,
    d: &ModelDescriptor,
    key_limit: Option<i64>,
    write: &str,
    binds: &[Value],
    read: ReadBack<'_>,
    types: &[LogicalType],
) -> Result<Option<M>> {
    if c.execute(write, binds)? == 0 {
        return Ok(None);
    }
    let key = match read.key {
        Some(key) => key,
        None => vec![last_generated_key(db, d, c, key_limit)?],
    };
    query_one::<M>(c, read.sql, &key, types)
}

/// The key the connection's last insert generated, as the key field's type;
/// refused past `key_limit`.
fn last_generated_key(
    db: &DataFlow,
    d: &ModelDescriptor,
    c: &mut dyn Connection,
    key_limit: Option<i64>,
) -> Result<Value> {
    let sql = db.dialect().last_insert_id().ok_or_else(|| {
        Error::InvalidInput(format!(
            "{}: this database has neither RETURNING nor a way to read a generated key",
            d.name
        ))
    })?;
    let mut key = Value::Null;
    c.query(sql, &[], &[LogicalType::BigInt], &mut |row| {
        key = std::mem::take(&mut row[0]);
        Ok(())
    })?;
    let Value::I64(k) = key else {
        return Err(Error::Database(format!(
            "insert into {} generated no key",
            d.table
        )));
    };
    if key_limit.is_some_and(|limit| k > limit) {
        return Err(key_out_of_range(d, &key));
    }
    // In range: checked above, or the database enforces the column's type.
    Ok(match d.pk().ty {
        LogicalType::SmallInt => Value::I16(k as i16),
        LogicalType::Int => Value::I32(k as i32),
        _ => key,
    })
}

/// Like `query_one`, refusing a generated key the model's field cannot hold
/// (SQLite generates keys past `i32::MAX` for an `INTEGER` key).
fn query_one_checked<M: Model>(
    c: &mut dyn Connection,
    d: &ModelDescriptor,
    key_limit: Option<i64>,
    sql: &str,
    binds: &[Value],
    types: &[LogicalType],
) -> Result<Option<M>> {
    let Some(limit) = key_limit else {
        return query_one::<M>(c, sql, binds, types);
    };
    // Read the key as the widest integer, so its range is checked here with a
    // clear error rather than by the decoder.
    let mut types = types.to_vec();
    types[d.primary_key] = LogicalType::BigInt;
    let mut found = None;
    c.query(sql, binds, &types, &mut |row| {
        if let Value::I64(k) = row[d.primary_key] {
            if k > limit {
                return Err(key_out_of_range(d, &row[d.primary_key]));
            }
        }
        if found.is_none() {
            found = Some(M::from_row(row)?);
        }
        Ok(())
    })
    .map_err(|e| e.for_model(M::DESCRIPTOR))?;
    Ok(found)
}

/// After generated keys were inserted: refuses keys past a narrow key field's
/// range (checked inside the transaction, so refusing undoes the insert).
fn check_generated_keys(db: &DataFlow, d: &ModelDescriptor, c: &mut dyn Connection) -> Result<()> {
    let Some(limit) = narrow_key_limit(db, d) else {
        return Ok(());
    };
    let mut w = SqlWriter::new(db.dialect());
    w.push("SELECT MAX(")
        .ident(d.pk().name)
        .push(") FROM ")
        .ident(d.table);
    let s = w.finish();
    let mut max = Value::Null;
    c.query(&s.text, &s.binds, &[LogicalType::BigInt], &mut |row| {
        max = std::mem::take(&mut row[0]);
        Ok(())
    })?;
    match max {
        Value::I64(k) if k > limit => Err(key_out_of_range(d, &max)),
        _ => Ok(()),
    }
}

/// Keeps the key generator ahead of keys that were inserted explicitly.
fn after_explicit_keys(db: &DataFlow, d: &ModelDescriptor, c: &mut dyn Connection) -> Result<()> {
    if d.pk().auto_increment {
        if let Some(sql) = db.dialect().reset_key_sequence(d.table, d.pk().name) {
            c.batch_execute(&sql)?;
        }
    }
    Ok(())
}

/// Turns the database's complaint about a missing column or table into an
/// error naming the model, its table and what the table lacks, when that is
/// the cause (a process still running an older model after a migration). Only
/// on the error path: it describes the live table.
pub(crate) fn explain<R>(db: &DataFlow, d: &ModelDescriptor, result: Result<R>) -> Result<R> {
    let Err(Error::Database(message)) = result else {
        return result;
    };
    let Ok(live) = db.describe() else {
        return Err(Error::Database(message));
    };
    let difference = match live.tables.get(d.table) {
        None => format!(
            "model {} maps to table {}, which does not exist",
            d.name, d.table
        ),
        Some(t) => {
            let missing: Vec<&str> = d
                .columns
                .iter()
                .map(|c| c.name)
                .filter(|name| !t.columns.iter().any(|lc| lc.name == *name))
                .collect();
            if missing.is_empty() {
                return Err(Error::Database(message));
            }
            format!(
                "model {} does not match table {}: the table has no column {}",
                d.name,
                d.table,
                missing.join(", ")
            )
        }
    };
    Err(Error::Drift {
        differences: vec![difference, format!("the database said: {message}")],
    })
}

fn any_explicit_key(d: &ModelDescriptor, rows: &[Vec<Value>]) -> bool {
    d.pk().auto_increment
        && rows
            .iter()
            .any(|r| !wants_generated_key(d, &r[d.primary_key]))
}

/// `M::read`: one row by primary key, `None` when missing.
pub fn read<M: Model>(db: &DataFlow, key: M::Key) -> Result<Option<M>> {
    let sql = M::DESCRIPTOR.sql(db.dialect(), db.capabilities());
    let binds = [key.into_value()];
    let d = M::DESCRIPTOR;
    explain(
        db,
        d,
        db.with_conn(|c| query_one::<M>(c, &sql.read_by_pk, &binds, &sql.types)),
    )
}

fn render_assignments(
    w: &mut SqlWriter<'_>,
    d: &ModelDescriptor,
    assignments: Vec<(usize, Value)>,
) {
    for (n, (i, v)) in assignments.into_iter().enumerate() {
        w.push(if n == 0 { " SET " } else { ", " });
        w.ident(d.columns[i].name).push(" = ");
        w.bind(v);
    }
}

fn with_touch(d: &ModelDescriptor, mut assignments: Vec<(usize, Value)>) -> Vec<(usize, Value)> {
    if let Some(i) = d
        .columns
        .iter()
        .position(|c| c.managed == Some(Managed::UpdatedAt))
    {
        assignments.push((i, now()));
    }
    assignments
}

/// `M::update`: applies a patch to one row and returns the stored row;
/// `Error::NotFound` when the row does not exist.
pub fn update<M: Model>(db: &DataFlow, key: M::Key, patch: M::Patch) -> Result<M> {
    let d = M::DESCRIPTOR;
    let dialect = db.dialect();
    let sql = d.sql(dialect, db.capabilities());
    let key = key.into_value();
    let assignments = checked_assignments(d, patch.into_assignments())?;
    let found = if assignments.is_empty() {
        let binds = [key.clone()];
        let r = db.with_conn(|c| query_one::<M>(c, &sql.read_by_pk, &binds, &sql.types));
        explain(db, d, r)?
    } else {
        let mut w = SqlWriter::new(dialect);
        w.push("UPDATE ").ident(d.table);
        render_assignments(&mut w, d, with_touch(d, assignments));
        w.push(" WHERE ").ident(d.pk().name).push(" = ");
        w.bind(key.clone());
        if let Some(live) = &sql.live_only {
            w.push(" AND ").push(live);
        }
        if let Some(returning) = &sql.returning {
            w.push(returning);
        }
        let s = w.finish();
        let update = |c: &mut dyn Connection| match sql.returning {
            Some(_) => query_one::<M>(c, &s.text, &s.binds, &sql.types),
            None => {
                let read = ReadBack {
                    sql: &sql.read_by_pk,
                    key: Some(vec![key.clone()]),
                };
                write_then_read::<M>(db, c, d, None, &s.text, &s.binds, read, &sql.types)
            }
        };
        // A stored row that does not read back must not stay written.
        let r = if needs_transaction(db, d, false) {
            db.with_tx(update)
        } else {
            db.with_conn(update)
        };
        explain(db, d, r)?
    };
    found.ok_or_else(|| Error::NotFound {
        model: d.name,
        key: key_string(d, &key),
    })
}

/// `M::delete`: deletes one row (sets `deleted_at` under soft delete);
/// `Error::NotFound` when the row does not exist.
pub fn delete<M: Model>(db: &DataFlow, key: M::Key) -> Result<()> {
    let d = M::DESCRIPTOR;
    let sql = d.sql(db.dialect(), db.capabilities());
    let key = key.into_value();
    let n = match &sql.soft_delete_by_pk {
        Some(text) => {
            let binds = [now(), key.clone()];
            explain(db, d, db.with_conn(|c| c.execute(text, &binds)))?
        }
        None => {
            let binds = [key.clone()];
            explain(
                db,
                d,
                db.with_conn(|c| c.execute(&sql.delete_by_pk, &binds)),
            )?
        }
    };
    if n == 0 {
        return Err(Error::NotFound {
            model: d.name,
            key: key_string(d, &key),
        });
    }
    Ok(())
}

/// `M::hard_delete`: removes one row even under soft delete.
pub fn hard_delete<M: Model>(db: &DataFlow, key: M::Key) -> Result<()> {
    let d = M::DESCRIPTOR;
    let sql = d.sql(db.dialect(), db.capabilities());
    let binds = [key.into_value()];
    if explain(
        db,
        d,
        db.with_conn(|c| c.execute(&sql.delete_by_pk, &binds)),
    )? == 0
    {
        return Err(Error::NotFound {
            model: d.name,
            key: key_string(d, &binds[0]),
        });
    }
    Ok(())
}

/// Rows per multi-row statement: as many as the bind limit allows, capped so one
/// statement's text stays small enough to prepare quickly.
pub(crate) fn rows_per_statement(db: &DataFlow, columns: usize) -> usize {
    (db.capabilities().max_bind_params / columns.max(1)).clamp(1, 500)
}

/// Renders `INSERT INTO t (all columns) VALUES (…), (…)` for a chunk of rows.
pub(crate) fn multi_row_insert(
    db: &DataFlow,
    d: &ModelDescriptor,
    rows: &mut [Vec<Value>],
) -> SqlWriter<'static> {
    let dialect = db.dialect();
    let mut w = SqlWriter::new(dialect);
    w.push("INSERT INTO ").ident(d.table).push(" (");
    for (i, c) in d.columns.iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        w.ident(c.name);
    }
    w.push(") VALUES ");
    for (r, row) in rows.iter_mut().enumerate() {
        w.push(if r == 0 { "(" } else { ", (" });
        let generated = wants_generated_key(d, &row[d.primary_key]);
        for (i, v) in row.iter_mut().enumerate() {
            if i > 0 {
                w.push(", ");
            }
            if generated && i == d.primary_key {
                w.push(dialect.generated_key_marker());
            } else {
                w.bind(std::mem::take(v));
            }
        }
        w.push(")");
    }
    w
}

fn prepared_rows<M: Model>(d: &ModelDescriptor, items: &[M]) -> Result<Vec<Vec<Value>>> {
    let now = now();
    let mut rows = Vec::with_capacity(items.len());
    for m in items {
        match checked_row(d, m.to_values(), &now) {
            Ok(v) => rows.push(v),
            Err(e) => {
                dispose_values(rows.into_iter().flatten());
                return Err(e);
            }
        }
    }
    Ok(rows)
}

/// Splits rows into those with explicit keys and those whose key the database
/// generates. They are inserted in that order, with the key generator moved
/// past the explicit keys in between, so a generated key never collides with
/// an explicit one of the same batch (SQLite's AUTOINCREMENT gives each row
/// the largest key so far plus one; PostgreSQL's identity knows nothing of
/// explicit keys).
fn split_by_key(d: &ModelDescriptor, rows: Vec<Vec<Value>>) -> (Vec<Vec<Value>>, Vec<Vec<Value>>) {
    if !d.pk().auto_increment {
        return (rows, Vec::new());
    }
    rows.into_iter()
        .partition(|r| !wants_generated_key(d, &r[d.primary_key]))
}

/// `M::bulk_create`: inserts every row in one transaction (multi-row statements);
/// all or nothing. Returns the number of rows inserted.
pub fn bulk_create<M: Model>(db: &DataFlow, items: &[M]) -> Result<usize> {
    let d = M::DESCRIPTOR;
    let rows = prepared_rows(d, items)?;
    if rows.is_empty() {
        return Ok(0);
    }
    let (mut explicit, mut generated) = split_by_key(d, rows);
    let result = db.with_tx(|c| {
        let mut total = insert_rows(db, d, c, &mut explicit, false)?;
        if !explicit.is_empty() {
            after_explicit_keys(db, d, c)?;
        }
        if !generated.is_empty() {
            total += insert_rows(db, d, c, &mut generated, true)?;
            check_generated_keys(db, d, c)?;
        }
        Ok(total)
    });
    explain(db, d, result)
}

/// Rows per columnar statement: large enough that round trips do not matter,
/// small enough that one statement's arrays stay a few megabytes.
const COLUMNAR_ROWS: usize = 20_000;

/// Inserts rows whose keys are all explicit or all generated: through the
/// dialect's columnar insert when it has one, else multi-row `VALUES`.
fn insert_rows(
    db: &DataFlow,
    d: &ModelDescriptor,
    c: &mut dyn Connection,
    rows: &mut [Vec<Value>],
    generated: bool,
) -> Result<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    let cols: Vec<(usize, &str, LogicalType)> = d
        .columns
        .iter()
        .enumerate()
        .filter(|(i, _)| !(generated && *i == d.primary_key))
        .map(|(i, c)| (i, c.name, c.ty))
        .collect();
    let names: Vec<(&str, LogicalType)> = cols.iter().map(|(_, n, t)| (*n, *t)).collect();
    // Only a generated key: nothing to bind, so `VALUES (DEFAULT)` it is.
    let columnar = if cols.is_empty() {
        None
    } else {
        db.dialect().columnar_insert(d.table, &names)
    };
    let mut total = 0;
    match columnar {
        Some(sql) => {
            for chunk in rows.chunks_mut(COLUMNAR_ROWS) {
                let columns: Vec<(LogicalType, Vec<Value>)> = cols
                    .iter()
                    .map(|(i, _, ty)| {
                        (
                            *ty,
                            chunk
                                .iter_mut()
                                .map(|r| std::mem::take(&mut r[*i]))
                                .collect(),
                        )
                    })
                    .collect();
                total += c.execute_columns(&sql, columns)?;
            }
        }
        None => {
            let per = rows_per_statement(db, d.columns.len());
            for chunk in rows.chunks_mut(per) {
                let s = multi_row_insert(db, d, chunk).finish();
                total += c.execute(&s.text, &s.binds)?;
            }
        }
    }
    Ok(total)
}

/// Columns an upsert may use as its conflict target.
pub trait ConflictTarget<M> {
    /// Column names.
    fn columns(&self) -> Vec<&'static str>;
}

impl<M, T> ConflictTarget<M> for [Column<M, T>] {
    fn columns(&self) -> Vec<&'static str> {
        self.iter().map(|c| c.name()).collect()
    }
}
impl<M, T, const N: usize> ConflictTarget<M> for [Column<M, T>; N] {
    fn columns(&self) -> Vec<&'static str> {
        self.iter().map(|c| c.name()).collect()
    }
}
impl<M, A, B> ConflictTarget<M> for (Column<M, A>, Column<M, B>) {
    fn columns(&self) -> Vec<&'static str> {
        vec![self.0.name(), self.1.name()]
    }
}
impl<M, A, B, C> ConflictTarget<M> for (Column<M, A>, Column<M, B>, Column<M, C>) {
    fn columns(&self) -> Vec<&'static str> {
        vec![self.0.name(), self.1.name(), self.2.name()]
    }
}

/// The conflict target must be the primary key, a unique field or a unique index:
/// anything else cannot detect a conflict, so it is refused before any write.
fn check_conflict_target(d: &ModelDescriptor, cols: &[&'static str]) -> Result<()> {
    let same = |other: &[&str]| other.len() == cols.len() && other.iter().all(|c| cols.contains(c));
    let ok = (cols.len() == 1 && d.column(cols[0]).is_some_and(|c| c.primary_key || c.unique))
        || d.indexes.iter().any(|i| i.unique && same(i.columns));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "{}: upsert conflict target ({}) is not the primary key or a unique constraint",
            d.name,
            cols.join(", ")
        )))
    }
}

fn upsert_tail(
    db: &DataFlow,
    d: &ModelDescriptor,
    conflict: &[&'static str],
    w: &mut SqlWriter<'_>,
) {
    let update: Vec<&str> = d
        .columns
        .iter()
        .filter(|c| {
            !c.primary_key && !conflict.contains(&c.name) && c.managed != Some(Managed::CreatedAt)
        })
        .map(|c| c.name)
        .collect();
    let mut tail = String::new();
    db.dialect().upsert_clause(conflict, &update, &mut tail);
    w.push(&tail);
}

/// `M::upsert`: inserts the row, or updates the existing row that has the same
/// values in `conflict` columns; returns the stored row.
pub fn upsert<M: Model, C: ConflictTarget<M> + ?Sized>(
    db: &DataFlow,
    value: M,
    conflict: &C,
) -> Result<M> {
    let d = M::DESCRIPTOR;
    let conflict = conflict.columns();
    check_conflict_target(d, &conflict)?;
    let sql = d.sql(db.dialect(), db.capabilities());
    let mut rows = vec![checked_row(d, value.into_values(), &now())?];
    let explicit = any_explicit_key(d, &rows);
    let key_limit = narrow_key_limit(db, d).filter(|_| !explicit);
    let read_back = upsert_read_back(db, d, sql, &conflict, &rows[0], explicit);
    let mut w = multi_row_insert(db, d, &mut rows);
    upsert_tail(db, d, &conflict, &mut w);
    if let Some(returning) = &sql.returning {
        w.push(returning);
    }
    let s = w.finish();
    let upsert = |c: &mut dyn Connection| {
        let row = match &read_back {
            None => query_one_checked::<M>(c, d, key_limit, &s.text, &s.binds, &sql.types)?,
            Some((select, key)) => {
                let read = ReadBack {
                    sql: select,
                    key: key.clone(),
                };
                write_then_read::<M>(db, c, d, key_limit, &s.text, &s.binds, read, &sql.types)?
            }
        };
        if explicit {
            after_explicit_keys(db, d, c)?;
        }
        Ok(row)
    };
    let row = if needs_transaction(db, d, explicit) {
        db.with_tx(upsert)
    } else {
        db.with_conn(upsert)
    };
    explain(db, d, row)?
        .ok_or_else(|| Error::Database(format!("upsert into {} returned no row", d.table)))
}

/// How an upsert without `RETURNING` reads its row back: by the generated key
/// when the conflict target is a key the database generates (such a row never
/// conflicts), else by the row's conflict values. `None` with `RETURNING`.
fn upsert_read_back(
    db: &DataFlow,
    d: &ModelDescriptor,
    sql: &ModelSql,
    conflict: &[&'static str],
    row: &[Value],
    explicit_key: bool,
) -> Option<(String, Option<Vec<Value>>)> {
    if sql.returning.is_some() {
        return None;
    }
    if !explicit_key && d.pk().auto_increment && conflict.contains(&d.pk().name) {
        return Some((sql.read_by_pk.clone(), None));
    }
    let values = conflict
        .iter()
        .map(|c| {
            d.columns
                .iter()
                .position(|x| x.name == *c)
                .map_or(Value::Null, |i| row[i].clone())
        })
        .collect();
    Some((select_by(d, db.dialect(), conflict), Some(values)))
}

/// `M::bulk_upsert`: upserts every row in one transaction. When several rows share
/// conflict values the last one wins (the same on every backend). Returns the
/// number of rows inserted or updated.
pub fn bulk_upsert<M: Model, C: ConflictTarget<M> + ?Sized>(
    db: &DataFlow,
    items: &[M],
    conflict: &C,
) -> Result<usize> {
    let d = M::DESCRIPTOR;
    let conflict = conflict.columns();
    check_conflict_target(d, &conflict)?;
    let rows = prepared_rows(d, items)?;
    let idx: Vec<usize> = conflict
        .iter()
        .map(|c| d.columns.iter().position(|x| x.name == *c).unwrap_or(0))
        .collect();
    // Last occurrence of each conflict key wins; keep the original order otherwise.
    let mut last: HashMap<String, usize> = HashMap::with_capacity(rows.len());
    for (n, row) in rows.iter().enumerate() {
        let key: Vec<&Value> = idx.iter().map(|&i| &row[i]).collect();
        last.insert(format!("{key:?}"), n);
    }
    let mut keep: Vec<usize> = last.into_values().collect();
    keep.sort_unstable();
    let rows: Vec<Vec<Value>> = {
        let mut rows: Vec<Option<Vec<Value>>> = rows.into_iter().map(Some).collect();
        keep.iter().filter_map(|&i| rows[i].take()).collect()
    };
    if rows.is_empty() {
        return Ok(0);
    }
    let per = rows_per_statement(db, d.columns.len());
    // Rows left after the last-wins pass have distinct conflict values, so
    // their order does not matter: explicit keys go first (see `split_by_key`).
    let (mut explicit, mut generated) = split_by_key(d, rows);
    let result = db.with_tx(|c| {
        let mut total = 0;
        for (rows, generated) in [(&mut explicit, false), (&mut generated, true)] {
            for chunk in rows.chunks_mut(per) {
                let mut w = multi_row_insert(db, d, chunk);
                upsert_tail(db, d, &conflict, &mut w);
                let s = w.finish();
                total += c.execute(&s.text, &s.binds)?;
            }
            if rows.is_empty() {
                continue;
            }
            if generated {
                check_generated_keys(db, d, c)?;
            } else {
                after_explicit_keys(db, d, c)?;
            }
        }
        Ok(total)
    });
    explain(db, d, result)
}

/// `M::bulk_update`: applies a patch to every row matching the filter, in one
/// statement. Returns the number of rows changed.
pub fn bulk_update<M: Model>(db: &DataFlow, filter: Filter<M>, patch: M::Patch) -> Result<usize> {
    let d = M::DESCRIPTOR;
    let dialect = db.dialect();
    let sql = d.sql(dialect, db.capabilities());
    let assignments = checked_assignments(d, patch.into_assignments())?;
    let expr = match checked_filter(filter) {
        Ok(e) => e,
        Err(e) => {
            dispose_values(assignments.into_iter().map(|(_, v)| v));
            return Err(e);
        }
    };
    if assignments.is_empty() {
        return Ok(0);
    }
    let mut w = SqlWriter::new(dialect).for_model(d);
    w.push("UPDATE ").ident(d.table);
    render_assignments(&mut w, d, with_touch(d, assignments));
    where_clause(&mut w, &expr, sql.live_only.as_deref())?;
    let s = w.finish();
    explain(db, d, db.with_conn(|c| c.execute(&s.text, &s.binds)))
}

/// `M::bulk_delete`: deletes every row matching the filter (soft delete sets
/// `deleted_at`). Returns the number of rows deleted.
pub fn bulk_delete<M: Model>(db: &DataFlow, filter: Filter<M>) -> Result<usize> {
    let d = M::DESCRIPTOR;
    let dialect = db.dialect();
    let sql = d.sql(dialect, db.capabilities());
    let expr = checked_filter(filter)?;
    let mut w = SqlWriter::new(dialect).for_model(d);
    match d.managed(Managed::DeletedAt) {
        Some(col) => {
            w.push("UPDATE ")
                .ident(d.table)
                .push(" SET ")
                .ident(col.name)
                .push(" = ");
            w.bind(now());
        }
        None => {
            w.push("DELETE FROM ").ident(d.table);
        }
    }
    where_clause(&mut w, &expr, sql.live_only.as_deref())?;
    let s = w.finish();
    explain(db, d, db.with_conn(|c| c.execute(&s.text, &s.binds)))
}

/// Appends ` WHERE <filter> [AND <live only>]`, omitting what matches everything;
/// refuses a filter that would not mean the same on every backend (see
/// [`Expr::check`](crate::query::filter::Expr::check)).
pub(crate) fn where_clause(
    w: &mut SqlWriter<'_>,
    expr: &crate::query::filter::Expr,
    live: Option<&str>,
) -> Result<()> {
    expr.check()?;
    match (expr.is_true(), live) {
        (true, None) => {}
        (true, Some(l)) => {
            w.push(" WHERE ").push(l);
        }
        (false, None) => {
            w.push(" WHERE ");
            w.expr(expr);
        }
        (false, Some(l)) => {
            w.push(" WHERE ");
            w.expr(expr);
            w.push(" AND ").push(l);
        }
    }
    Ok(())
}
