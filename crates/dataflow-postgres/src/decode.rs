//! Reading PostgreSQL values (binary format) by their type OID.

use diesel::deserialize::FromSql;
use diesel::pg::{Pg, PgValue};
use diesel::sql_types as st;

use dataflow_core::Value;

fn from<T: FromSql<S, Pg>, S>(v: PgValue<'_>) -> Result<T, String> {
    T::from_sql(v).map_err(|e| e.to_string())
}

/// Decodes one non-NULL value. The OID decides, so a column whose live type
/// differs from the model still decodes (the field conversion then checks it).
pub(crate) fn decode(v: PgValue<'_>) -> Result<Value, String> {
    Ok(match v.get_oid().get() {
        16 => Value::Bool(from::<bool, st::Bool>(v)?),
        21 => Value::I16(from::<i16, st::SmallInt>(v)?),
        23 => Value::I32(from::<i32, st::Integer>(v)?),
        20 => Value::I64(from::<i64, st::BigInt>(v)?),
        700 => Value::F32(from::<f32, st::Float>(v)?),
        701 => Value::F64(from::<f64, st::Double>(v)?),
        25 | 1043 | 1042 | 19 => Value::Text(from::<String, st::Text>(v)?),
        17 => Value::Bytes(from::<Vec<u8>, st::Binary>(v)?),
        1082 => Value::Date(from::<chrono::NaiveDate, st::Date>(v)?),
        1114 => Value::Timestamp(from::<chrono::NaiveDateTime, st::Timestamp>(v)?),
        1184 => Value::TimestampTz(from::<chrono::DateTime<chrono::Utc>, st::Timestamptz>(v)?),
        2950 => Value::Uuid(from::<uuid::Uuid, st::Uuid>(v)?),
        3802 => Value::Json(from::<serde_json::Value, st::Jsonb>(v)?),
        114 => Value::Json(from::<serde_json::Value, st::Json>(v)?),
        1700 => Value::Decimal(from::<rust_decimal::Decimal, st::Numeric>(v)?),
        other => return Err(format!("unsupported PostgreSQL type OID {other}")),
    })
}
