//! The generated CRUD functions, written once, generic over the model.
//!
//! `#[derive(Model)]` emits thin inherent methods (`User::create`, …) that call
//! these. Each single-row operation is one statement and one round trip
//! (`RETURNING` hands back the stored row); bulk operations run in one
//! transaction and are all-or-nothing.

use std::collections::HashMap;

use chrono::{DurationRound, Utc};

use crate::backend::Connection;
use crate::dataflow::DataFlow;
use crate::descriptor::{Managed, ModelDescriptor};
use crate::error::{Error, Result};
use crate::field::FieldType;
use crate::filter::{Column, Filter};
use crate::model::{Model, Patch};
use crate::statement::SqlWriter;
use crate::value::{LogicalType, Value};

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

/// Refuses, before anything is written, values some backend would store or
/// compare differently: text over `max_length` (SQLite does not enforce
/// `VARCHAR(n)`), dates and times outside the range every backend orders alike
/// ([`Value::check_portable`]).
fn check_values<'v>(
    d: &ModelDescriptor,
    values: impl Iterator<Item = (usize, &'v Value)>,
) -> Result<()> {
    for (i, v) in values {
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
    let sql = d.sql(db.dialect());
    let mut values = value.into_values();
    prepare_insert(d, &mut values, &now())?;
    let generated = wants_generated_key(d, &values[d.primary_key]);
    let text = if generated {
        values.remove(d.primary_key);
        &sql.insert_auto
    } else {
        &sql.insert_all
    };
    db.with_conn(|c| {
        let row = query_one::<M>(c, text, &values, &sql.types)?;
        if !generated {
            after_explicit_keys(db, d, c)?;
        }
        Ok(row)
    })?
    .ok_or_else(|| Error::Database(format!("insert into {} returned no row", d.table)))
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

fn any_explicit_key(d: &ModelDescriptor, rows: &[Vec<Value>]) -> bool {
    d.pk().auto_increment
        && rows
            .iter()
            .any(|r| !wants_generated_key(d, &r[d.primary_key]))
}

/// `M::read`: one row by primary key, `None` when missing.
pub fn read<M: Model>(db: &DataFlow, key: M::Key) -> Result<Option<M>> {
    let sql = M::DESCRIPTOR.sql(db.dialect());
    let binds = [key.into_value()];
    db.with_conn(|c| query_one::<M>(c, &sql.read_by_pk, &binds, &sql.types))
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
    let sql = d.sql(dialect);
    let key = key.into_value();
    let assignments = patch.into_assignments();
    check_values(d, assignments.iter().map(|(i, v)| (*i, v)))?;
    let found = if assignments.is_empty() {
        let binds = [key.clone()];
        db.with_conn(|c| query_one::<M>(c, &sql.read_by_pk, &binds, &sql.types))?
    } else {
        let mut w = SqlWriter::new(dialect);
        w.push("UPDATE ").ident(d.table);
        render_assignments(&mut w, d, with_touch(d, assignments));
        w.push(" WHERE ").ident(d.pk().name).push(" = ");
        w.bind(key.clone());
        if let Some(live) = &sql.live_only {
            w.push(" AND ").push(live);
        }
        w.push(&sql.returning);
        let s = w.finish();
        db.with_conn(|c| query_one::<M>(c, &s.text, &s.binds, &sql.types))?
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
    let sql = d.sql(db.dialect());
    let key = key.into_value();
    let n = match &sql.soft_delete_by_pk {
        Some(text) => {
            let binds = [now(), key.clone()];
            db.with_conn(|c| c.execute(text, &binds))?
        }
        None => {
            let binds = [key.clone()];
            db.with_conn(|c| c.execute(&sql.delete_by_pk, &binds))?
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
    let sql = d.sql(db.dialect());
    let binds = [key.into_value()];
    if db.with_conn(|c| c.execute(&sql.delete_by_pk, &binds))? == 0 {
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
    (db.dialect().max_bind_params() / columns.max(1)).clamp(1, 500)
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
    items
        .iter()
        .map(|m| {
            let mut v = m.to_values();
            prepare_insert(d, &mut v, &now)?;
            Ok(v)
        })
        .collect()
}

/// `M::bulk_create`: inserts every row in one transaction (multi-row statements);
/// all or nothing. Returns the number of rows inserted.
pub fn bulk_create<M: Model>(db: &DataFlow, items: &[M]) -> Result<usize> {
    let d = M::DESCRIPTOR;
    let mut rows = prepared_rows(d, items)?;
    if rows.is_empty() {
        return Ok(0);
    }
    let explicit = any_explicit_key(d, &rows);
    if let Some(total) = columnar_bulk_create(db, d, &mut rows, explicit)? {
        return Ok(total);
    }
    let per = rows_per_statement(db, d.columns.len());
    db.with_tx(|c| {
        let mut total = 0;
        for chunk in rows.chunks_mut(per) {
            let s = multi_row_insert(db, d, chunk).finish();
            total += c.execute(&s.text, &s.binds)?;
        }
        if explicit {
            after_explicit_keys(db, d, c)?;
        }
        Ok(total)
    })
}

/// Rows per columnar statement: large enough that round trips do not matter,
/// small enough that one statement's arrays stay a few megabytes.
const COLUMNAR_ROWS: usize = 20_000;

/// `bulk_create` through the dialect's columnar insert, when it has one and the
/// rows do not mix generated and explicit keys (a generated key is the column's
/// default, which an array cannot ask for per row). `None`: use `VALUES`.
fn columnar_bulk_create(
    db: &DataFlow,
    d: &ModelDescriptor,
    rows: &mut [Vec<Value>],
    explicit: bool,
) -> Result<Option<usize>> {
    let generated = if d.pk().auto_increment {
        rows.iter()
            .filter(|r| wants_generated_key(d, &r[d.primary_key]))
            .count()
    } else {
        0
    };
    if generated != 0 && generated != rows.len() {
        return Ok(None);
    }
    let all_generated = generated != 0;
    let cols: Vec<(usize, &str, LogicalType)> = d
        .columns
        .iter()
        .enumerate()
        .filter(|(i, _)| !(all_generated && *i == d.primary_key))
        .map(|(i, c)| (i, c.name, c.ty))
        .collect();
    if cols.is_empty() {
        // Only a generated key: nothing to bind; `VALUES (DEFAULT)` it is.
        return Ok(None);
    }
    let names: Vec<(&str, LogicalType)> = cols.iter().map(|(_, n, t)| (*n, *t)).collect();
    let Some(sql) = db.dialect().columnar_insert(d.table, &names) else {
        return Ok(None);
    };
    db.with_tx(|c| {
        let mut total = 0;
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
        if explicit {
            after_explicit_keys(db, d, c)?;
        }
        Ok(Some(total))
    })
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
    let sql = d.sql(db.dialect());
    let mut rows = vec![value.into_values()];
    prepare_insert(d, &mut rows[0], &now())?;
    let explicit = any_explicit_key(d, &rows);
    let mut w = multi_row_insert(db, d, &mut rows);
    upsert_tail(db, d, &conflict, &mut w);
    w.push(&sql.returning);
    let s = w.finish();
    db.with_conn(|c| {
        let row = query_one::<M>(c, &s.text, &s.binds, &sql.types)?;
        if explicit {
            after_explicit_keys(db, d, c)?;
        }
        Ok(row)
    })?
    .ok_or_else(|| Error::Database(format!("upsert into {} returned no row", d.table)))
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
    let mut rows: Vec<Vec<Value>> = {
        let mut rows: Vec<Option<Vec<Value>>> = rows.into_iter().map(Some).collect();
        keep.iter().filter_map(|&i| rows[i].take()).collect()
    };
    if rows.is_empty() {
        return Ok(0);
    }
    let per = rows_per_statement(db, d.columns.len());
    let explicit = any_explicit_key(d, &rows);
    db.with_tx(|c| {
        let mut total = 0;
        for chunk in rows.chunks_mut(per) {
            let mut w = multi_row_insert(db, d, chunk);
            upsert_tail(db, d, &conflict, &mut w);
            let s = w.finish();
            total += c.execute(&s.text, &s.binds)?;
        }
        if explicit {
            after_explicit_keys(db, d, c)?;
        }
        Ok(total)
    })
}

/// `M::bulk_update`: applies a patch to every row matching the filter, in one
/// statement. Returns the number of rows changed.
pub fn bulk_update<M: Model>(db: &DataFlow, filter: Filter<M>, patch: M::Patch) -> Result<usize> {
    let d = M::DESCRIPTOR;
    let dialect = db.dialect();
    let sql = d.sql(dialect);
    let assignments = patch.into_assignments();
    if assignments.is_empty() {
        return Ok(0);
    }
    check_values(d, assignments.iter().map(|(i, v)| (*i, v)))?;
    let mut w = SqlWriter::new(dialect).for_model(d);
    w.push("UPDATE ").ident(d.table);
    render_assignments(&mut w, d, with_touch(d, assignments));
    where_clause(&mut w, filter.expr(), sql.live_only.as_deref())?;
    let s = w.finish();
    db.with_conn(|c| c.execute(&s.text, &s.binds))
}

/// `M::bulk_delete`: deletes every row matching the filter (soft delete sets
/// `deleted_at`). Returns the number of rows deleted.
pub fn bulk_delete<M: Model>(db: &DataFlow, filter: Filter<M>) -> Result<usize> {
    let d = M::DESCRIPTOR;
    let dialect = db.dialect();
    let sql = d.sql(dialect);
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
    where_clause(&mut w, filter.expr(), sql.live_only.as_deref())?;
    let s = w.finish();
    db.with_conn(|c| c.execute(&s.text, &s.binds))
}

/// Appends ` WHERE <filter> [AND <live only>]`, omitting what matches everything;
/// refuses a filter that would not mean the same on every backend (see
/// [`Expr::check`](crate::filter::Expr::check)).
pub(crate) fn where_clause(
    w: &mut SqlWriter<'_>,
    expr: &crate::filter::Expr,
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
