//! A cacheable diesel query: core's SQL text (`$n` placeholders) plus typed binds.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{
    BigInt, Binary, Bool, Date, Double, Float, Integer, Jsonb, Numeric, SmallInt, Text, Timestamp,
    Timestamptz, Untyped, Uuid,
};
use diesel::QueryResult;

use dataflow_core::Value;

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
