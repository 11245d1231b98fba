//! What writes share: statements for inserts and upserts, the key
//! generator kept ahead of explicit keys, generated keys checked against narrow
//! key fields, and the database's complaints explained.

use std::collections::HashMap;

use crate::backend::Connection;
use crate::error::{Error, Result};
use crate::model::descriptor::{Managed, ModelDescriptor};
use crate::model::value::{LogicalType, Value};
use crate::query::record::check::wants_generated_key;
use crate::query::statement::SqlWriter;
use crate::query::QueryHandle;

/// Whether a single-row write must run in a transaction: when more follows it
/// (the key generator's adjustment after an explicit key, the read that
/// fetches the stored row without `RETURNING`) or when a row the database
/// accepted may not read back (then the failed read undoes the write).
pub(crate) fn needs_transaction(
    db: &dyn QueryHandle,
    d: &ModelDescriptor,
    explicit_key: bool,
) -> bool {
    let caps = db.capabilities();
    (explicit_key
        && d.auto_key().is_some_and(|(_, k)| {
            db.dialect()
                .reset_key_sequence(d.table, k.name)
                .is_some()
        }))
        || !caps.enforces_column_types
        // The write and the read that fetches the stored row are one unit.
        || !caps.returning
}

/// Whether a single-row insert must run in a transaction: as any single-row
/// write ([`needs_transaction`]) when the key is explicit; with a generated key
/// only when the stored row is read back by a second statement (no
/// `RETURNING`) or the database may generate a key the field cannot hold
/// ([`narrow_key_limit`]).
///
/// Otherwise the values were checked against their columns before the insert,
/// so a table as the model declares it stores them as sent and the row reads
/// back. On a database that does not enforce column types, a table that
/// drifted from the model (a column's declared type changed behind the
/// model's back) may store a value as another type; the insert then removes
/// the row it wrote before returning the error (`undo_generated_insert`), so a
/// returned error still means nothing was written. Sparing the transaction
/// spares SQLite parsing `BEGIN`/`COMMIT` and a statement journal on every
/// insert.
pub(crate) fn insert_needs_transaction(
    db: &dyn QueryHandle,
    d: &ModelDescriptor,
    generated: bool,
) -> bool {
    if !generated {
        return needs_transaction(db, d, true);
    }
    !db.capabilities().returning || narrow_key_limit(db, d).is_some()
}

/// The largest key a narrow auto-increment key field holds, when the database
/// does not refuse larger generated keys itself.
pub(crate) fn narrow_key_limit(db: &dyn QueryHandle, d: &ModelDescriptor) -> Option<i64> {
    let (_, key) = d.auto_key()?;
    if db.capabilities().enforces_column_types {
        return None;
    }
    match key.ty {
        LogicalType::SmallInt => Some(i64::from(i16::MAX)),
        LogicalType::Int => Some(i64::from(i32::MAX)),
        _ => None,
    }
}

/// A generated key is only ever that of a single auto-increment key column.
pub(crate) fn key_out_of_range(d: &ModelDescriptor, key: &Value) -> Error {
    let (field, ty) = d
        .auto_key()
        .map_or((d.name, LogicalType::BigInt), |(_, c)| {
            (c.field.unwrap_or(c.name), c.ty)
        });
    Error::InvalidInput(format!(
        "{}.{field}: the generated key {key} does not fit in the field's {ty} type; nothing was written",
        d.name,
    ))
}

/// After generated keys were inserted: refuses keys past a narrow key field's
/// range (checked inside the transaction, so refusing undoes the insert).
pub(crate) fn check_generated_keys(
    db: &dyn QueryHandle,
    d: &ModelDescriptor,
    c: &mut dyn Connection,
) -> Result<()> {
    let (Some(limit), Some((_, key))) = (narrow_key_limit(db, d), d.auto_key()) else {
        return Ok(());
    };
    let mut w = SqlWriter::new(db.dialect());
    w.push("SELECT MAX(")
        .ident(key.name)
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
pub(crate) fn after_explicit_keys(
    db: &dyn QueryHandle,
    d: &ModelDescriptor,
    c: &mut dyn Connection,
) -> Result<()> {
    if let Some((_, key)) = d.auto_key() {
        if let Some(sql) = db.dialect().reset_key_sequence(d.table, key.name) {
            c.batch_execute(&sql)?;
        }
    }
    Ok(())
}

/// Turns the database's complaint about a missing column or table into an
/// error naming the model, its table and what the table lacks, when that is
/// the cause (a process still running an older model after a migration). Only
/// on the error path: it describes the live table.
pub(crate) fn explain<R>(
    db: &dyn QueryHandle,
    d: &ModelDescriptor,
    result: Result<R>,
) -> Result<R> {
    let result = name_foreign_keys(db, d, result);
    let Err(Error::Database(message)) = result else {
        return result;
    };
    let Ok(live) = db.live_columns(d.table) else {
        return Err(Error::Database(message));
    };
    let difference = match live {
        None => format!(
            "model {} maps to table {}, which does not exist",
            d.name, d.table
        ),
        Some(t) => {
            let missing: Vec<&str> = d
                .columns
                .iter()
                .map(|c| c.name)
                .filter(|name| !t.iter().any(|lc| lc == name))
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

/// Adds to a foreign-key violation that names nothing (SQLite's bare
/// `FOREIGN KEY constraint failed`) the table written and the keys that can
/// have failed: the model's own foreign keys (a row pointing at nothing) and
/// those of registered models referencing its table (a row still pointed at).
fn name_foreign_keys<R>(db: &dyn QueryHandle, d: &ModelDescriptor, result: Result<R>) -> Result<R> {
    match result {
        Err(Error::ForeignKeyViolation { message }) if !message.contains(d.table) => {
            let own: Vec<String> = d
                .foreign_keys
                .iter()
                .map(|f| {
                    format!(
                        "{}.{} -> {}({})",
                        d.table, f.column, f.references_table, f.references_column
                    )
                })
                .collect();
            let referencing: Vec<String> = db
                .models()
                .iter()
                .flat_map(|m| {
                    m.foreign_keys
                        .iter()
                        .filter(|f| f.references_table == d.table)
                        .map(|f| {
                            format!(
                                "{}.{} -> {}({})",
                                m.table, f.column, f.references_table, f.references_column
                            )
                        })
                })
                .collect();
            let mut parts = Vec::new();
            if !own.is_empty() {
                parts.push(format!(
                    "a key of the row has no match ({})",
                    own.join(", ")
                ));
            }
            if !referencing.is_empty() {
                parts.push(format!(
                    "rows still reference it ({})",
                    referencing.join(", ")
                ));
            }
            Err(Error::ForeignKeyViolation {
                message: format!(
                    "{message} on table {}{}",
                    d.table,
                    if parts.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", parts.join(", or "))
                    }
                ),
            })
        }
        other => other,
    }
}

/// Whether any row carries an explicit key for an auto-increment key.
pub(crate) fn any_explicit_key(d: &ModelDescriptor, rows: &[Vec<Value>]) -> bool {
    d.auto_key().is_some() && rows.iter().any(|r| !wants_generated_key(d, r))
}

/// Rows per multi-row statement: as many as the bind limit allows, capped so one
/// statement's text stays small enough to prepare quickly.
pub fn rows_per_statement(db: &dyn QueryHandle, columns: usize) -> usize {
    (db.capabilities().max_bind_params / columns.max(1)).clamp(1, 500)
}

/// Renders `INSERT INTO t (all columns) VALUES (…), (…)` for a chunk of rows,
/// taking the values out of the rows.
pub(crate) fn multi_row_insert(
    db: &dyn QueryHandle,
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
    let auto_key = d.auto_key().map(|(i, _)| i);
    for (r, row) in rows.iter_mut().enumerate() {
        w.push(if r == 0 { "(" } else { ", (" });
        let generated = auto_key.filter(|_| wants_generated_key(d, row));
        for (i, v) in row.iter_mut().enumerate() {
            if i > 0 {
                w.push(", ");
            }
            if generated == Some(i) {
                w.push(dialect.generated_key_marker());
            } else {
                w.bind(std::mem::take(v));
            }
        }
        w.push(")");
    }
    w
}

/// Splits rows into those with explicit keys and those whose key the database
/// generates. They are inserted in that order, with the key generator moved
/// past the explicit keys in between, so a generated key never collides with
/// an explicit one of the same batch (SQLite's AUTOINCREMENT gives each row
/// the largest key so far plus one; PostgreSQL's identity knows nothing of
/// explicit keys).
pub(crate) fn split_by_key<R>(
    d: &ModelDescriptor,
    rows: Vec<R>,
    values: impl Fn(&R) -> &[Value],
) -> (Vec<R>, Vec<R>) {
    if d.auto_key().is_none() {
        return (rows, Vec::new());
    }
    rows.into_iter()
        .partition(|r| !wants_generated_key(d, values(r)))
}

/// Rows per columnar statement: large enough that round trips do not matter,
/// small enough that one statement's arrays stay a few megabytes.
const COLUMNAR_ROWS: usize = 20_000;

/// Inserts rows whose keys are all explicit or all generated: through the
/// dialect's columnar insert when it has one, else multi-row `VALUES`.
pub(crate) fn insert_rows(
    db: &dyn QueryHandle,
    d: &ModelDescriptor,
    c: &mut dyn Connection,
    rows: &mut [Vec<Value>],
    generated: bool,
) -> Result<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    let skipped = d.auto_key().map(|(i, _)| i).filter(|_| generated);
    let cols: Vec<(usize, &str, LogicalType)> = d
        .columns
        .iter()
        .enumerate()
        .filter(|(i, _)| skipped != Some(*i))
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

/// The conflict target must be the primary key, a unique field or a unique index:
/// anything else cannot detect a conflict, so it is refused before any write.
pub(crate) fn check_conflict_target(d: &ModelDescriptor, cols: &[&str]) -> Result<()> {
    let same = |other: &[&str]| other.len() == cols.len() && other.iter().all(|c| cols.contains(c));
    let whole_key =
        cols.len() == d.primary_key.len() && d.key_columns().all(|k| cols.contains(&k.name));
    let ok = whole_key
        || (cols.len() == 1 && d.column(cols[0]).is_some_and(|c| c.unique))
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

/// Appends the dialect's `ON CONFLICT … DO UPDATE` for an upsert on `conflict`.
pub(crate) fn upsert_tail(
    db: &dyn QueryHandle,
    d: &ModelDescriptor,
    conflict: &[&str],
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

/// Keeps, of rows sharing conflict values, the last (the same on every
/// backend), in their original order otherwise.
pub(crate) fn last_per_conflict(
    d: &ModelDescriptor,
    conflict: &[&str],
    rows: Vec<Vec<Value>>,
) -> Vec<Vec<Value>> {
    let idx: Vec<usize> = conflict
        .iter()
        .map(|c| d.columns.iter().position(|x| x.name == *c).unwrap_or(0))
        .collect();
    let mut last: HashMap<String, usize> = HashMap::with_capacity(rows.len());
    for (n, row) in rows.iter().enumerate() {
        let key: Vec<&Value> = idx.iter().map(|&i| &row[i]).collect();
        last.insert(format!("{key:?}"), n);
    }
    let mut keep: Vec<usize> = last.into_values().collect();
    keep.sort_unstable();
    let mut rows: Vec<Option<Vec<Value>>> = rows.into_iter().map(Some).collect();
    keep.iter().filter_map(|&i| rows[i].take()).collect()
}

/// Appends `SET a = ?, b = ?` (column indexes into the model).
pub(crate) fn render_assignments(
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

/// Adds `updated_at = now` when the model has it.
pub(crate) fn with_touch(
    d: &ModelDescriptor,
    mut assignments: Vec<(usize, Value)>,
) -> Vec<(usize, Value)> {
    if let Some(i) = d
        .columns
        .iter()
        .position(|c| c.managed == Some(Managed::UpdatedAt))
    {
        assignments.push((i, crate::query::record::check::now()));
    }
    assignments
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
