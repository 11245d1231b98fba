//! Writing rows: insert, update, delete, restore and upsert, one row or many.
//!
//! Over 500 lines: one `impl Records` of the write operations, which share
//! their checks and read-back helpers and read best side by side.

use crate::backend::Connection;
use crate::error::{Error, Result};
use crate::limits::dispose_values;
use crate::model::descriptor::Managed;
use crate::model::descriptor::ModelDescriptor;
use crate::model::key::KeyValues;
use crate::model::row::RowReader;
use crate::model::value::Value;
use crate::query::filter::Expr;
use crate::query::limits::dispose_expr;
use crate::query::record::check::{
    assignments_fit, checked_assignments, checked_expr, checked_row, checked_rows, key_fits,
    key_string, now, row_fits, wants_generated_key, Stamp,
};
use crate::query::record::read::{
    query_one, query_one_checked, undo_generated_insert, write_then_read, ReadBack,
};
use crate::query::record::sql::{
    after_explicit_keys, any_explicit_key, check_conflict_target, check_generated_keys, explain,
    insert_needs_transaction, insert_rows, last_per_conflict, multi_row_insert, narrow_key_limit,
    needs_transaction, render_assignments, rows_per_statement, split_by_key, upsert_tail,
    where_clause, with_touch,
};
use crate::query::record::{values, Decode, Records};
use crate::query::statement::{select_by, ModelSql, SqlWriter};
use crate::query::QueryHandle;

impl Records<'_> {
    /// Inserts one row and returns it as stored: an auto-increment key of `0`
    /// is assigned by the database, managed timestamps are set now.
    pub fn insert(&self, row: Vec<Value>) -> Result<Vec<Value>> {
        if let Err(e) = row_fits(self.model, &row) {
            dispose_values(row);
            return Err(e);
        }
        self.insert_as(row, &mut values)
    }

    pub(crate) fn insert_as<O>(&self, row: Vec<Value>, decode: &mut impl Decode<O>) -> Result<O> {
        let (db, d) = (self.db, self.model);
        let sql = d.sql(db.dialect(), db.capabilities());
        let mut values = checked_row(d, row, &now(), Stamp::Now)?;
        let generated = wants_generated_key(d, &values);
        let text = match d.auto_key() {
            Some((i, _)) if generated => {
                values.remove(i);
                &sql.insert_auto
            }
            _ => &sql.insert_all,
        };
        let key_limit = narrow_key_limit(db, d).filter(|_| generated);
        let key = (!generated).then(|| d.primary_key.iter().map(|&i| values[i].clone()).collect());
        let in_tx = insert_needs_transaction(db, d, generated);
        let insert = |c: &mut dyn Connection| {
            let row =
                if sql.returning.is_some() && !in_tx && !db.capabilities().enforces_column_types {
                    // Written on its own: a row the table stored differently from
                    // what was sent (a table that drifted from the model) is removed
                    // again before the error is returned.
                    let mut unreadable = false;
                    let mut watched = |row: &mut dyn RowReader| {
                        let r = decode(row);
                        unreadable = r.is_err();
                        r
                    };
                    match query_one_checked(c, d, None, text, &values, &sql.types, &mut watched) {
                        Err(e) if unreadable => return Err(undo_generated_insert(db, c, d, e)),
                        r => r?,
                    }
                } else if sql.returning.is_some() {
                    query_one_checked(c, d, key_limit, text, &values, &sql.types, decode)?
                } else {
                    let read = ReadBack {
                        sql: &sql.read_by_pk,
                        key: key.clone(),
                    };
                    write_then_read(db, c, d, key_limit, text, &values, read, &sql.types, decode)?
                };
            if !generated {
                after_explicit_keys(db, d, c)?;
            }
            Ok(row)
        };
        let row = if in_tx {
            db.with_tx(insert)
        } else {
            db.with_conn(insert)
        };
        explain(db, d, row)?
            .ok_or_else(|| Error::Database(format!("insert into {} returned no row", d.table)))
    }

    /// Inserts every row in one transaction (multi-row or columnar
    /// statements); all or nothing. Returns the number of rows inserted.
    pub fn insert_many(&self, rows: Vec<Vec<Value>>) -> Result<usize> {
        if let Some(e) = rows.iter().find_map(|r| row_fits(self.model, r).err()) {
            dispose_values(rows.into_iter().flatten());
            return Err(e);
        }
        self.insert_many_unchecked(rows)
    }

    /// [`Records::insert_many`] for rows built from the model's own fields.
    pub(crate) fn insert_many_unchecked(&self, rows: Vec<Vec<Value>>) -> Result<usize> {
        let (db, d) = (self.db, self.model);
        let rows = checked_rows(d, rows, Stamp::Now)?;
        if rows.is_empty() {
            return Ok(0);
        }
        let (mut explicit, mut generated) = split_by_key(d, rows, |r| r);
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

    /// Inserts rows as given (managed columns kept) on a connection the caller
    /// holds, in one multi-row statement; a generated key (`0`) is assigned.
    /// The caller keeps the key generator ahead ([`Records::after_explicit_keys`])
    /// and owns the transaction. Used by fixtures, which retry a failed chunk
    /// row by row to name the failing row.
    pub(crate) fn insert_verbatim(
        &self,
        c: &mut dyn Connection,
        rows: Vec<Vec<Value>>,
    ) -> Result<usize> {
        let d = self.model;
        let mut rows = checked_rows(d, rows, Stamp::Keep)?;
        if rows.is_empty() {
            return Ok(0);
        }
        let s = multi_row_insert(self.db, d, &mut rows).finish();
        c.execute(&s.text, &s.binds)
    }

    /// Moves the key generator past keys inserted explicitly on `c`.
    pub(crate) fn after_explicit_keys(&self, c: &mut dyn Connection) -> Result<()> {
        after_explicit_keys(self.db, self.model, c)
    }

    /// Sets columns (by index) of one row and returns the stored row
    /// (`updated_at` is set now); `Error::NotFound` when the row does not exist.
    pub fn update(
        &self,
        key: impl Into<KeyValues>,
        assignments: Vec<(usize, Value)>,
    ) -> Result<Vec<Value>> {
        let key = key.into();
        key_fits(self.model, &key)?;
        assignments_fit(self.model, &assignments)?;
        self.update_as(key, assignments, &mut values)
    }

    pub(crate) fn update_as<O>(
        &self,
        key: KeyValues,
        assignments: Vec<(usize, Value)>,
        decode: &mut impl Decode<O>,
    ) -> Result<O> {
        let (db, d) = (self.db, self.model);
        let dialect = db.dialect();
        let sql = d.sql(dialect, db.capabilities());
        let assignments = checked_assignments(d, assignments)?;
        let found = if assignments.is_empty() {
            let binds = key.as_slice();
            let r = db.with_conn(|c| query_one(c, d, &sql.read_by_pk, binds, &sql.types, decode));
            explain(db, d, r)?
        } else {
            let mut w = SqlWriter::new(dialect);
            w.push("UPDATE ").ident(d.table);
            render_assignments(&mut w, d, with_touch(d, assignments));
            where_key(&mut w, d, &key);
            if let Some(live) = &sql.live_only {
                w.push(" AND ").push(live);
            }
            if let Some(returning) = &sql.returning {
                w.push(returning);
            }
            write_one_by_key(db, d, sql, &w.finish(), &key, decode)?
        };
        found.ok_or_else(|| Error::NotFound {
            model: d.name,
            key: key_string(d, &key),
        })
    }

    /// Brings back one soft-deleted row (`deleted_at` set to NULL, `updated_at`
    /// to now) and returns it; `Error::NotFound` when no soft-deleted row has
    /// this key (missing, or not deleted); `Error::InvalidInput` on a model
    /// without soft delete.
    pub fn restore(&self, key: impl Into<KeyValues>) -> Result<Vec<Value>> {
        let key = key.into();
        key_fits(self.model, &key)?;
        self.restore_as(key, &mut values)
    }

    pub(crate) fn restore_as<O>(&self, key: KeyValues, decode: &mut impl Decode<O>) -> Result<O> {
        let (db, d) = (self.db, self.model);
        let Some(deleted_at) = d.managed(Managed::DeletedAt) else {
            return Err(Error::InvalidInput(format!(
                "{}: restore on a model without soft_delete",
                d.name
            )));
        };
        let dialect = db.dialect();
        let sql = d.sql(dialect, db.capabilities());
        let mut w = SqlWriter::new(dialect);
        w.push("UPDATE ")
            .ident(d.table)
            .push(" SET ")
            .ident(deleted_at.name)
            .push(" = NULL");
        if let Some(updated) = d.managed(Managed::UpdatedAt) {
            w.push(", ").ident(updated.name).push(" = ");
            w.bind(now());
        }
        where_key(&mut w, d, &key);
        w.push(" AND ").ident(deleted_at.name).push(" IS NOT NULL");
        if let Some(returning) = &sql.returning {
            w.push(returning);
        }
        write_one_by_key(db, d, sql, &w.finish(), &key, decode)?.ok_or_else(|| Error::NotFound {
            model: d.name,
            key: key_string(d, &key),
        })
    }

    /// Sets columns of every row matching `filter`, in one statement. Returns
    /// the number of rows changed.
    pub fn update_where(&self, filter: Expr, assignments: Vec<(usize, Value)>) -> Result<usize> {
        if let Err(e) = assignments_fit(self.model, &assignments) {
            dispose_values(assignments.into_iter().map(|(_, v)| v));
            dispose_expr(filter);
            return Err(e);
        }
        self.update_where_unchecked(filter, assignments)
    }

    pub(crate) fn update_where_unchecked(
        &self,
        filter: Expr,
        assignments: Vec<(usize, Value)>,
    ) -> Result<usize> {
        let (db, d) = (self.db, self.model);
        let dialect = db.dialect();
        let sql = d.sql(dialect, db.capabilities());
        let assignments = match checked_assignments(d, assignments) {
            Ok(a) => a,
            Err(e) => {
                dispose_expr(filter);
                return Err(e);
            }
        };
        let expr = match checked_expr(d, db.capabilities(), filter) {
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

    /// Deletes one row (sets `deleted_at` under soft delete); `Error::NotFound`
    /// when the row does not exist.
    pub fn delete(&self, key: impl Into<KeyValues>) -> Result<()> {
        let key = key.into();
        key_fits(self.model, &key)?;
        self.delete_unchecked(key)
    }

    pub(crate) fn delete_unchecked(&self, key: KeyValues) -> Result<()> {
        let (db, d) = (self.db, self.model);
        let sql = d.sql(db.dialect(), db.capabilities());
        let (n, key) = match (&sql.soft_delete_by_pk, key) {
            (Some(text), KeyValues::One(key)) => {
                let binds = [now(), key];
                let n = explain(db, d, db.with_conn(|c| c.execute(text, &binds)))?;
                let [_, key] = binds;
                (n, KeyValues::One(key))
            }
            (Some(text), KeyValues::Many(key)) => {
                let mut binds = Vec::with_capacity(key.len() + 1);
                binds.push(now());
                binds.extend(key);
                let n = explain(db, d, db.with_conn(|c| c.execute(text, &binds)))?;
                binds.remove(0);
                (n, KeyValues::Many(binds))
            }
            (None, key) => {
                let n = explain(
                    db,
                    d,
                    db.with_conn(|c| c.execute(&sql.delete_by_pk, key.as_slice())),
                )?;
                (n, key)
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

    /// Removes one row, even under soft delete; `Error::NotFound` when the row
    /// does not exist.
    pub fn hard_delete(&self, key: impl Into<KeyValues>) -> Result<()> {
        let key = key.into();
        key_fits(self.model, &key)?;
        self.hard_delete_unchecked(key)
    }

    pub(crate) fn hard_delete_unchecked(&self, key: KeyValues) -> Result<()> {
        let (db, d) = (self.db, self.model);
        let sql = d.sql(db.dialect(), db.capabilities());
        let binds = key.as_slice();
        if explain(db, d, db.with_conn(|c| c.execute(&sql.delete_by_pk, binds)))? == 0 {
            return Err(Error::NotFound {
                model: d.name,
                key: key_string(d, &key),
            });
        }
        Ok(())
    }

    /// Deletes every row matching `filter` (soft delete sets `deleted_at`).
    /// Returns the number of rows deleted.
    pub fn delete_where(&self, filter: Expr) -> Result<usize> {
        let (db, d) = (self.db, self.model);
        let dialect = db.dialect();
        let sql = d.sql(dialect, db.capabilities());
        let expr = checked_expr(d, db.capabilities(), filter)?;
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

    /// Inserts the row, or updates the existing row with the same values in the
    /// `conflict` columns (the key, a unique field or a unique index); returns
    /// the stored row.
    pub fn upsert(&self, row: Vec<Value>, conflict: &[&str]) -> Result<Vec<Value>> {
        if let Err(e) = row_fits(self.model, &row) {
            dispose_values(row);
            return Err(e);
        }
        self.upsert_as(row, conflict, &mut values)
    }

    pub(crate) fn upsert_as<O>(
        &self,
        row: Vec<Value>,
        conflict: &[&str],
        decode: &mut impl Decode<O>,
    ) -> Result<O> {
        let (db, d) = (self.db, self.model);
        if let Err(e) = check_conflict_target(d, conflict) {
            dispose_values(row);
            return Err(e);
        }
        let sql = d.sql(db.dialect(), db.capabilities());
        let mut rows = vec![checked_row(d, row, &now(), Stamp::Now)?];
        let explicit = any_explicit_key(d, &rows);
        let key_limit = narrow_key_limit(db, d).filter(|_| !explicit);
        let read_back = upsert_read_back(db, d, sql, conflict, &rows[0], explicit);
        let mut w = multi_row_insert(db, d, &mut rows);
        upsert_tail(db, d, conflict, &mut w);
        if let Some(returning) = &sql.returning {
            w.push(returning);
        }
        let s = w.finish();
        let upsert = |c: &mut dyn Connection| {
            let row = match &read_back {
                None => query_one_checked(c, d, key_limit, &s.text, &s.binds, &sql.types, decode)?,
                Some((select, key)) => {
                    let read = ReadBack {
                        sql: select,
                        key: key.clone(),
                    };
                    write_then_read(
                        db, c, d, key_limit, &s.text, &s.binds, read, &sql.types, decode,
                    )?
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

    /// Upserts every row in one transaction, all or nothing. When several rows
    /// share conflict values the last one wins (the same on every backend).
    /// Returns the number of rows inserted or updated.
    pub fn upsert_many(&self, rows: Vec<Vec<Value>>, conflict: &[&str]) -> Result<usize> {
        if let Some(e) = rows.iter().find_map(|r| row_fits(self.model, r).err()) {
            dispose_values(rows.into_iter().flatten());
            return Err(e);
        }
        self.upsert_many_unchecked(rows, conflict)
    }

    pub(crate) fn upsert_many_unchecked(
        &self,
        rows: Vec<Vec<Value>>,
        conflict: &[&str],
    ) -> Result<usize> {
        let (db, d) = (self.db, self.model);
        if let Err(e) = check_conflict_target(d, conflict) {
            dispose_values(rows.into_iter().flatten());
            return Err(e);
        }
        let rows = checked_rows(d, rows, Stamp::Now)?;
        let rows = last_per_conflict(d, conflict, rows);
        if rows.is_empty() {
            return Ok(0);
        }
        let per = rows_per_statement(db, d.columns.len());
        // Rows left after the last-wins pass have distinct conflict values, so
        // their order does not matter: explicit keys go first (see `split_by_key`).
        let (mut explicit, mut generated) = split_by_key(d, rows, |r| r);
        let result = db.with_tx(|c| {
            let mut total = 0;
            for (rows, generated) in [(&mut explicit, false), (&mut generated, true)] {
                for chunk in rows.chunks_mut(per) {
                    let mut w = multi_row_insert(db, d, chunk);
                    upsert_tail(db, d, conflict, &mut w);
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
}

/// How an upsert without `RETURNING` reads its row back: by the generated key
/// when the conflict target is a key the database generates (such a row never
/// conflicts), else by the row's conflict values. `None` with `RETURNING`.
fn upsert_read_back(
    db: &dyn QueryHandle,
    d: &ModelDescriptor,
    sql: &ModelSql,
    conflict: &[&str],
    row: &[Value],
    explicit_key: bool,
) -> Option<(String, Option<Vec<Value>>)> {
    if sql.returning.is_some() {
        return None;
    }
    if !explicit_key
        && d.auto_key()
            .is_some_and(|(_, k)| conflict.contains(&k.name))
    {
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

/// Runs an `UPDATE` of the row with key `key` (ending in `RETURNING` when the
/// database has it) and returns the stored row, `None` when no row matched:
/// without `RETURNING` the row is read back by key in the same transaction.
fn write_one_by_key<O>(
    db: &dyn QueryHandle,
    d: &ModelDescriptor,
    sql: &ModelSql,
    s: &crate::query::dialect::Sql,
    key: &KeyValues,
    decode: &mut impl Decode<O>,
) -> Result<Option<O>> {
    let write = |c: &mut dyn Connection| match sql.returning {
        Some(_) => query_one(c, d, &s.text, &s.binds, &sql.types, decode),
        None => {
            let read = ReadBack {
                sql: &sql.read_by_pk,
                key: Some(key.as_slice().to_vec()),
            };
            write_then_read(db, c, d, None, &s.text, &s.binds, read, &sql.types, decode)
        }
    };
    // A stored row that does not read back must not stay written.
    let r = if needs_transaction(db, d, false) {
        db.with_tx(write)
    } else {
        db.with_conn(write)
    };
    explain(db, d, r)
}

/// Appends ` WHERE k1 = ? AND k2 = ? …`: the row with this key.
fn where_key(w: &mut SqlWriter<'_>, d: &ModelDescriptor, key: &KeyValues) {
    for (n, (c, v)) in d.key_columns().zip(key.as_slice()).enumerate() {
        w.push(if n == 0 { " WHERE " } else { " AND " });
        w.ident(c.name).push(" = ");
        w.bind(v.clone());
    }
}
