//! A cacheable diesel query: core's SQL text (`$n` placeholders) plus typed binds.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{
    BigInt, Binary, Bool, Date, Double, Float, Integer, Jsonb, Numeric, SmallInt, Text, Timestamp,
    Timestamptz, Untyped, Uuid,
};
use diesel::QueryResult;

use dataflow_core::{LogicalType, Value};

/// A parameter PostgreSQL types from its context (OID 0): the only honest type
/// for a NULL that carries none.
#[derive(diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
#[diesel(postgres_type(oid = 0, array_oid = 0))]
pub(crate) struct Unknown;

/// The NULL value of [`Unknown`].
#[derive(Debug)]
pub(crate) struct Null;

impl diesel::serialize::ToSql<Unknown, Pg> for Null {
    fn to_sql<'b>(
        &'b self,
        _out: &mut diesel::serialize::Output<'b, '_, Pg>,
    ) -> diesel::serialize::Result {
        Ok(diesel::serialize::IsNull::Yes)
    }
}

static NULL: Null = Null;

pub(crate) struct BoundQuery<'a> {
    pub sql: &'a str,
    pub binds: &'a [Value],
}

impl QueryId for BoundQuery<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for BoundQuery<'_> {
    type SqlType = Untyped;
}

impl QueryFragment<Pg> for BoundQuery<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(self.sql);
        for v in self.binds {
            match v {
                Value::Null => out.push_bind_param_value_only::<Unknown, _>(&NULL)?,
                Value::Bool(b) => out.push_bind_param_value_only::<Bool, _>(b)?,
                Value::I16(i) => out.push_bind_param_value_only::<SmallInt, _>(i)?,
                Value::I32(i) => out.push_bind_param_value_only::<Integer, _>(i)?,
                Value::I64(i) => out.push_bind_param_value_only::<BigInt, _>(i)?,
                Value::F32(f) => out.push_bind_param_value_only::<Float, _>(f)?,
                Value::F64(f) => out.push_bind_param_value_only::<Double, _>(f)?,
                Value::Text(s) => out.push_bind_param_value_only::<Text, _>(s)?,
                Value::Bytes(b) => out.push_bind_param_value_only::<Binary, _>(b)?,
                Value::Date(d) => out.push_bind_param_value_only::<Date, _>(d)?,
                Value::Timestamp(t) => out.push_bind_param_value_only::<Timestamp, _>(t)?,
                Value::TimestampTz(t) => out.push_bind_param_value_only::<Timestamptz, _>(t)?,
                Value::Uuid(u) => out.push_bind_param_value_only::<Uuid, _>(u)?,
                Value::Json(j) => out.push_bind_param_value_only::<Jsonb, _>(j)?,
                Value::Decimal(d) => out.push_bind_param_value_only::<Numeric, _>(d)?,
            }
        }
        Ok(())
    }
}

/// One column of a columnar statement, typed for its array bind.
enum ColumnArray {
    Bool(Vec<Option<bool>>),
    I16(Vec<Option<i16>>),
    I32(Vec<Option<i32>>),
    I64(Vec<Option<i64>>),
    F32(Vec<Option<f32>>),
    F64(Vec<Option<f64>>),
    Text(Vec<Option<String>>),
    Bytes(Vec<Option<Vec<u8>>>),
    Date(Vec<Option<chrono::NaiveDate>>),
    Timestamp(Vec<Option<chrono::NaiveDateTime>>),
    TimestampTz(Vec<Option<chrono::DateTime<chrono::Utc>>>),
    Uuid(Vec<Option<uuid::Uuid>>),
    Json(Vec<Option<serde_json::Value>>),
    Decimal(Vec<Option<rust_decimal::Decimal>>),
}

fn typed<T>(
    values: Vec<Value>,
    ty: LogicalType,
    get: impl Fn(Value) -> Option<T>,
) -> dataflow_core::Result<Vec<Option<T>>> {
    values
        .into_iter()
        .map(|v| match v {
            Value::Null => Ok(None),
            v => get(v).map(Some).ok_or_else(|| {
                dataflow_core::Error::InvalidInput(format!(
                    "a {ty} column holds a value of another type"
                ))
            }),
        })
        .collect()
}

impl ColumnArray {
    fn new(ty: LogicalType, values: Vec<Value>) -> dataflow_core::Result<Self> {
        use LogicalType as T;
        Ok(match ty {
            T::Bool => Self::Bool(typed(values, ty, |v| match v {
                Value::Bool(b) => Some(b),
                _ => None,
            })?),
            T::SmallInt => Self::I16(typed(values, ty, |v| match v {
                Value::I16(i) => Some(i),
                _ => None,
            })?),
            T::Int => Self::I32(typed(values, ty, |v| match v {
                Value::I32(i) => Some(i),
                _ => None,
            })?),
            T::BigInt => Self::I64(typed(values, ty, |v| match v {
                Value::I64(i) => Some(i),
                _ => None,
            })?),
            T::Float => Self::F32(typed(values, ty, |v| match v {
                Value::F32(f) => Some(f),
                _ => None,
            })?),
            T::Double => Self::F64(typed(values, ty, |v| match v {
                Value::F64(f) => Some(f),
                _ => None,
            })?),
            T::Text => Self::Text(typed(values, ty, |v| match v {
                Value::Text(s) => Some(s),
                _ => None,
            })?),
            T::Bytes => Self::Bytes(typed(values, ty, |v| match v {
                Value::Bytes(b) => Some(b),
                _ => None,
            })?),
            T::Date => Self::Date(typed(values, ty, |v| match v {
                Value::Date(d) => Some(d),
                _ => None,
            })?),
            T::Timestamp => Self::Timestamp(typed(values, ty, |v| match v {
                Value::Timestamp(t) => Some(t),
                _ => None,
            })?),
            T::TimestampTz => Self::TimestampTz(typed(values, ty, |v| match v {
                Value::TimestampTz(t) => Some(t),
                _ => None,
            })?),
            T::Uuid => Self::Uuid(typed(values, ty, |v| match v {
                Value::Uuid(u) => Some(u),
                _ => None,
            })?),
            T::Json => Self::Json(typed(values, ty, |v| match v {
                Value::Json(j) => Some(j),
                _ => None,
            })?),
            T::Decimal => Self::Decimal(typed(values, ty, |v| match v {
                Value::Decimal(d) => Some(d),
                _ => None,
            })?),
        })
    }
}

/// A statement whose binds are whole columns, each one array.
pub(crate) struct ColumnsQuery<'a> {
    sql: &'a str,
    columns: Vec<ColumnArray>,
}

impl<'a> ColumnsQuery<'a> {
    pub(crate) fn new(
        sql: &'a str,
        columns: Vec<(LogicalType, Vec<Value>)>,
    ) -> dataflow_core::Result<Self> {
        let columns = columns
            .into_iter()
            .map(|(ty, values)| ColumnArray::new(ty, values))
            .collect::<dataflow_core::Result<_>>()?;
        Ok(ColumnsQuery { sql, columns })
    }
}

impl QueryId for ColumnsQuery<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for ColumnsQuery<'_> {
    type SqlType = Untyped;
}

impl QueryFragment<Pg> for ColumnsQuery<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        use diesel::sql_types::{Array, Nullable};
        out.push_sql(self.sql);
        for c in &self.columns {
            match c {
                ColumnArray::Bool(v) => {
                    out.push_bind_param_value_only::<Array<Nullable<Bool>>, _>(v)?
                }
                ColumnArray::I16(v) => {
                    out.push_bind_param_value_only::<Array<Nullable<SmallInt>>, _>(v)?
                }
                ColumnArray::I32(v) => {
                    out.push_bind_param_value_only::<Array<Nullable<Integer>>, _>(v)?
                }
                ColumnArray::I64(v) => {
                    out.push_bind_param_value_only::<Array<Nullable<BigInt>>, _>(v)?
                }
                ColumnArray::F32(v) => {
                    out.push_bind_param_value_only::<Array<Nullable<Float>>, _>(v)?
                }
                ColumnArray::F64(v) => {
                    out.push_bind_param_value_only::<Array<Nullable<Double>>, _>(v)?
                }
                ColumnArray::Text(v) => {
                    out.push_bind_param_value_only::<Array<Nullable<Text>>, _>(v)?
                }
                ColumnArray::Bytes(v) => {
                    out.push_bind_param_value_only::<Array<Nullable<Binary>>, _>(v)?
                }
                ColumnArray::Date(v) => {
                    out.push_bind_param_value_only::<Array<Nullable<Date>>, _>(v)?
                }
                ColumnArray::Timestamp(v) => {
                    out.push_bind_param_value_only::<Array<Nullable<Timestamp>>, _>(v)?
                }
                ColumnArray::TimestampTz(v) => {
                    out.push_bind_param_value_only::<Array<Nullable<Timestamptz>>, _>(v)?
                }
                ColumnArray::Uuid(v) => {
                    out.push_bind_param_value_only::<Array<Nullable<Uuid>>, _>(v)?
                }
                ColumnArray::Json(v) => {
                    out.push_bind_param_value_only::<Array<Nullable<Jsonb>>, _>(v)?
                }
                ColumnArray::Decimal(v) => {
                    out.push_bind_param_value_only::<Array<Nullable<Numeric>>, _>(v)?
                }
            }
        }
        Ok(())
    }
}
