//! Reading rows: one by key, a selection, a count.

use crate::backend::Connection;
use crate::error::{Error, Result};
use crate::model::descriptor::ModelDescriptor;
use crate::model::key::KeyValues;
use crate::model::value::{LogicalType, Value};
use crate::query::aggregate::Aggregate;
use crate::query::filter::Expr;
use crate::query::record::check::{check_order, checked_expr, key_fits, known_column};
use crate::query::record::sql::{explain, key_out_of_range, where_clause};
use crate::query::record::{values, Aggregation, Decode, Records, Select};
use crate::query::statement::SqlWriter;
use crate::query::QueryHandle;

pub(super) fn query_one<O>(
    c: &mut dyn Connection,
    d: &ModelDescriptor,
    sql: &str,
    binds: &[Value],
    types: &[LogicalType],
    decode: &mut impl Decode<O>,
) -> Result<Option<O>> {
    query_one_checked(c, d, None, sql, binds, types, decode)
}

/// Like `query_one`, refusing a generated key past `key_limit`, which the
/// model's field cannot hold (SQLite generates keys past `i32::MAX` for an
/// `INTEGER` key): the key is read as the widest integer first, so its range
/// is checked here with a clear error rather than by the decoder.
pub(super) fn query_one_checked<O>(
    c: &mut dyn Connection,
    d: &ModelDescriptor,
    key_limit: Option<i64>,
    sql: &str,
    binds: &[Value],
    types: &[LogicalType],
    decode: &mut impl Decode<O>,
) -> Result<Option<O>> {
    let mut found = None;
    c.query_rows(sql, binds, types, &mut |row| {
        if let (Some(limit), Some((i, _))) = (key_limit, d.auto_key()) {
            if let Some(k) = row.i64(i)? {
                if k > limit {
                    return Err(key_out_of_range(d, &Value::I64(k)));
                }
            }
        }
        if found.is_none() {
            found = Some(decode(row)?);
        }
        Ok(())
    })
    .map_err(|e| e.for_model(d))?;
    Ok(found)
}

/// Where a write without `RETURNING` finds the row it stored.
pub(super) struct ReadBack<'s> {
    /// Selects the row; binds `key`.
    pub sql: &'s str,
    /// The values to select by; `None`: the key the database just generated.
    pub key: Option<Vec<Value>>,
}

/// Without `RETURNING` (see [`Capabilities::returning`]): runs the write, then
/// reads the stored row back on the same connection, inside the write's
/// transaction. `None` when the write touched no row.
///
/// [`Capabilities::returning`]: crate::Capabilities::returning
#[allow(clippy::too_many_arguments)]
pub(super) fn write_then_read<O>(
    db: &dyn QueryHandle,
    c: &mut dyn Connection,
    d: &ModelDescriptor,
    key_limit: Option<i64>,
    write: &str,
    binds: &[Value],
    read: ReadBack<'_>,
    types: &[LogicalType],
    decode: &mut impl Decode<O>,
) -> Result<Option<O>> {
    if c.execute(write, binds)? == 0 {
        return Ok(None);
    }
    let key = match read.key {
        Some(key) => key,
        None => vec![last_generated_key(db, d, c, key_limit)?],
    };
    query_one(c, d, read.sql, &key, types, decode)
}

/// The key the connection's last insert generated, as the key field's type;
/// refused past `key_limit`.
fn last_generated_key(
    db: &dyn QueryHandle,
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
    Ok(match d.auto_key().map(|(_, c)| c.ty) {
        Some(LogicalType::SmallInt) => Value::I16(k as i16),
        Some(LogicalType::Int) => Value::I32(k as i32),
        _ => key,
    })
}

/// After an insert with a generated key wrote a row that then failed to read
/// back (see `insert_needs_transaction`): deletes that row again, on the same
/// connection, and returns `error`; an error naming both when the row could
/// not be removed.
pub(super) fn undo_generated_insert(
    db: &dyn QueryHandle,
    c: &mut dyn Connection,
    d: &'static ModelDescriptor,
    error: Error,
) -> Error {
    let sql = d.sql(db.dialect(), db.capabilities());
    let undone =
        last_generated_key(db, d, c, None).and_then(|key| c.execute(&sql.delete_by_pk, &[key]));
    match undone {
        Ok(_) => error,
        Err(undo) => Error::Database(format!(
            "{error}; the row the insert into {} wrote could not be removed again: {undo}",
            d.table
        )),
    }
}

fn bound(v: Option<i64>, what: &str) -> Result<Option<i64>> {
    match v {
        Some(n) if n < 0 => Err(Error::InvalidInput(format!("{what} {n} is negative"))),
        _ => Ok(v),
    }
}

impl Records<'_> {
    /// One row by primary key, `None` when missing (or soft-deleted). The key
    /// is a `Value`, or one value per key column in key order for a composite
    /// key (`vec![Value::I64(1), Value::I32(2)]`).
    pub fn get(&self, key: impl Into<KeyValues>) -> Result<Option<Vec<Value>>> {
        let key = key.into();
        key_fits(self.model, &key)?;
        self.get_as(key, &mut values)
    }

    pub(crate) fn get_as<O>(
        &self,
        key: KeyValues,
        decode: &mut impl Decode<O>,
    ) -> Result<Option<O>> {
        let (db, d) = (self.db, self.model);
        let sql = d.sql(db.dialect(), db.capabilities());
        let binds = key.as_slice();
        explain(
            db,
            d,
            db.with_read_conn(|c| query_one(c, d, &sql.read_by_pk, binds, &sql.types, decode)),
        )
    }

    /// The rows `select` asks for.
    pub fn select(&self, select: Select) -> Result<Vec<Vec<Value>>> {
        check_order(self.model, &select.order)?;
        let mut out = Vec::new();
        self.select_as(select, &mut out, &mut values)?;
        Ok(out)
    }

    pub(crate) fn select_as<O>(
        &self,
        select: Select,
        out: &mut Vec<O>,
        decode: &mut impl Decode<O>,
    ) -> Result<()> {
        let (db, d) = (self.db, self.model);
        let dialect = db.dialect();
        let sql = d.sql(dialect, db.capabilities());
        let filter = checked_expr(d, db.capabilities(), select.filter)?;
        let mut w = SqlWriter::from_text(dialect, &sql.select, Vec::new()).for_model(d);
        where_clause(&mut w, &filter, self.live(select.include_deleted))?;
        w.order_by(&select.order);
        dialect.limit_offset(
            bound(select.limit, "limit")?,
            bound(select.offset, "offset")?,
            &mut w,
        );
        let s = w.finish();
        out.reserve(select.limit.map_or(16, |l| l.min(1024) as usize));
        let start = out.len();
        let r = db.with_read_conn(|c| {
            // A read retried on another server starts over.
            out.truncate(start);
            c.query_rows(&s.text, &s.binds, &sql.types, &mut |row| {
                out.push(decode(row)?);
                Ok(())
            })
            .map_err(|e| e.for_model(d))
        });
        explain(db, d, r)
    }

    /// The number of rows matching `filter`.
    pub fn count(&self, filter: Expr, include_deleted: bool) -> Result<i64> {
        let (db, d) = (self.db, self.model);
        let filter = checked_expr(d, db.capabilities(), filter)?;
        let mut w = SqlWriter::new(db.dialect()).for_model(d);
        w.push("SELECT COUNT(*) FROM ").ident(d.table);
        where_clause(&mut w, &filter, self.live(include_deleted))?;
        let s = w.finish();
        let mut n = 0;
        let r = db.with_read_conn(|c| {
            c.query(&s.text, &s.binds, &[LogicalType::BigInt], &mut |row| {
                if let Value::I64(v) = row[0] {
                    n = v;
                }
                Ok(())
            })
        });
        explain(db, d, r)?;
        Ok(n)
    }

    /// Computes `aggregation`: one row, or one row per group ordered by key,
    /// each `[key, aggregate]` (or `[aggregate]` without a key). See
    /// [`crate::query::aggregate`] for result types and NULLs.
    pub fn aggregate(&self, aggregation: Aggregation) -> Result<Vec<Vec<Value>>> {
        let mut out = Vec::new();
        self.aggregate_as(aggregation, &mut |row| {
            out.push(values(row)?);
            Ok(())
        })?;
        Ok(out)
    }

    pub(crate) fn aggregate_as(
        &self,
        a: Aggregation,
        each: &mut dyn FnMut(&mut dyn crate::model::row::RowReader) -> Result<()>,
    ) -> Result<()> {
        let (db, d) = (self.db, self.model);
        let dialect = db.dialect();
        let filter = checked_expr(d, db.capabilities(), a.filter)?;
        let mut types = Vec::with_capacity(2);
        let mut w = SqlWriter::new(dialect).for_model(d);
        w.push("SELECT ");
        if let Some(key) = a.group_by {
            known_column(d, key, "group_by")?;
            types.push(d.column(key).map_or(LogicalType::BigInt, |c| c.ty));
            w.column(key, None).push(", ");
        }
        let ty = match (a.func, a.column) {
            (Aggregate::Count, _) => LogicalType::BigInt,
            (_, Some(c)) => {
                known_column(d, c, "aggregate")?;
                d.column(c).map_or(LogicalType::BigInt, |c| c.ty)
            }
            (f, None) => {
                return Err(Error::InvalidInput(format!(
                    "{}: {f:?} needs a column",
                    d.name
                )))
            }
        };
        types.push(a.func.result_type(ty));
        let mut operand = SqlWriter::new(dialect).for_model(d);
        if let Some(c) = a.column {
            operand.column(c, None);
        }
        let operand = operand.finish().text;
        let mut text = String::new();
        dialect.aggregate(a.func, &operand, ty, &mut text);
        w.push(&text).push(" FROM ").ident(d.table);
        where_clause(&mut w, &filter, self.live(a.include_deleted))?;
        if let Some(key) = a.group_by {
            w.push(" GROUP BY ").column(key, None);
            w.order_by(&[crate::query::expr::OrderTerm {
                column: key,
                descending: false,
            }]);
        }
        let s = w.finish();
        // `each` cannot start over, but a backend retries a read only when
        // its connection failed before any row was handed out (see
        // `Backend::with_read_connection`), so it never sees a row twice.
        let r = db.with_read_conn(|c| {
            c.query_rows(&s.text, &s.binds, &types, &mut |row| each(row))
                .map_err(|e| e.for_model(d))
        });
        explain(db, d, r)
    }
}
