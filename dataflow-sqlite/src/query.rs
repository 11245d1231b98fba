//! A diesel query of our own: SQL text rendered by core plus bound `Value`s.
//!
//! Unlike `diesel::sql_query`, it stays safe to cache, so diesel's prepared
//! statement cache keys it by SQL text: a model's fixed statements are prepared
//! once per connection, not once per call.

use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Binary, Double, Nullable, Text, Untyped};
use diesel::sqlite::Sqlite;
use diesel::QueryResult;

use dataflow_core::{Error, Result, Value};

use crate::dialect::{DATE_FORMAT, TIMESTAMPTZ_FORMAT, TIMESTAMP_FORMAT};

/// A value in one of SQLite's storage classes, borrowing where it can.
pub(crate) enum Bind<'a> {
    Null,
    Integer(i64),
    Real(f64),
    Text(&'a str),
    OwnedText(String),
    Blob(&'a [u8]),
}

static NULL: Option<i64> = None;

impl<'a> Bind<'a> {
    pub(crate) fn from_value(v: &'a Value) -> Result<Bind<'a>> {
        Ok(match v {
            Value::Null => Bind::Null,
            Value::Bool(b) => Bind::Integer(i64::from(*b)),
            Value::I16(i) => Bind::Integer(i64::from(*i)),
            Value::I32(i) => Bind::Integer(i64::from(*i)),
            Value::I64(i) => Bind::Integer(*i),
            // SQLite stores NaN as NULL; refuse it rather than lose it.
            Value::F32(f) if f.is_nan() => return Err(nan()),
            Value::F64(f) if f.is_nan() => return Err(nan()),
            Value::F32(f) => Bind::Real(f64::from(*f)),
            Value::F64(f) => Bind::Real(*f),
            Value::Text(s) => Bind::Text(s),
            Value::Bytes(b) => Bind::Blob(b),
            Value::Date(d) => Bind::OwnedText(d.format(DATE_FORMAT).to_string()),
            Value::Timestamp(t) => Bind::OwnedText(t.format(TIMESTAMP_FORMAT).to_string()),
            Value::TimestampTz(t) => Bind::OwnedText(t.format(TIMESTAMPTZ_FORMAT).to_string()),
            Value::Uuid(u) => Bind::OwnedText(u.hyphenated().to_string()),
            Value::Json(j) => Bind::OwnedText(j.to_string()),
            Value::Decimal(d) => Bind::OwnedText(d.to_string()),
        })
    }
}

fn nan() -> Error {
    Error::InvalidInput("SQLite cannot store NaN (it would be read back as NULL)".into())
}

/// SQL text with placeholders already in it, and its binds.
pub(crate) struct BoundQuery<'a> {
    pub sql: &'a str,
    pub binds: Vec<Bind<'a>>,
}

impl<'a> BoundQuery<'a> {
    pub(crate) fn new(sql: &'a str, values: &'a [Value]) -> Result<Self> {
        let binds = values.iter().map(Bind::from_value).collect::<Result<_>>()?;
        Ok(BoundQuery { sql, binds })
    }
}

impl QueryId for BoundQuery<'_> {
    type QueryId = ();
    // Keyed by SQL text instead of by type.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for BoundQuery<'_> {
    type SqlType = Untyped;
}

impl QueryFragment<Sqlite> for BoundQuery<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql(self.sql);
        for b in &self.binds {
            match b {
                Bind::Null => out.push_bind_param_value_only::<Nullable<BigInt>, _>(&NULL)?,
                Bind::Integer(i) => out.push_bind_param_value_only::<BigInt, _>(i)?,
                Bind::Real(f) => out.push_bind_param_value_only::<Double, _>(f)?,
                Bind::Text(s) => out.push_bind_param_value_only::<Text, _>(*s)?,
                Bind::OwnedText(s) => out.push_bind_param_value_only::<Text, _>(s)?,
                Bind::Blob(b) => out.push_bind_param_value_only::<Binary, _>(*b)?,
            }
        }
        Ok(())
    }
}
