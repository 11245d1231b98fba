//! Reading SQLite values back as the logical types the model declares.
//!
//! Strict about storage classes: text found in an integer column is a decode
//! error, not a silent 0.

use diesel::sqlite::{SqliteType, SqliteValue};

use dataflow_core::{LogicalType, Value};

use crate::dialect::{DATE_FORMAT, TIMESTAMP_FORMAT};

fn expect(ty: LogicalType, found: Option<SqliteType>) -> String {
    format!("expected {ty}, found SQLite {found:?}")
}

/// Decodes one non-NULL SQLite value as `ty`.
pub(crate) fn decode(mut v: SqliteValue<'_, '_, '_>, ty: LogicalType) -> Result<Value, String> {
    let st = v.value_type();
    if ty == LogicalType::Text {
        if st != Some(SqliteType::Text) {
            return Err(expect(ty, st));
        }
        // diesel's String conversion checks UTF-8 once; read_text twice.
        return <String as diesel::deserialize::FromSql<
            diesel::sql_types::Text,
            diesel::sqlite::Sqlite,
        >>::from_sql(v)
        .map(Value::Text)
        .map_err(|e| e.to_string());
    }
    let v = &mut v;
    let int = |v: &mut SqliteValue<'_, '_, '_>| match st {
        Some(SqliteType::Long) => Ok(v.read_long()),
        other => Err(expect(ty, other)),
    };
    Ok(match ty {
        LogicalType::SmallInt => {
            let i = int(v)?;
            Value::I16(i16::try_from(i).map_err(|_| format!("{i} does not fit in smallint"))?)
        }
        LogicalType::Int => {
            let i = int(v)?;
            Value::I32(i32::try_from(i).map_err(|_| format!("{i} does not fit in int"))?)
        }
        LogicalType::BigInt => Value::I64(int(v)?),
        LogicalType::Bool => Value::Bool(int(v)? != 0),
        LogicalType::Float | LogicalType::Double => {
            let f = match st {
                Some(SqliteType::Double) => v.read_double(),
                Some(SqliteType::Long) => v.read_long() as f64,
                other => return Err(expect(ty, other)),
            };
            if ty == LogicalType::Float {
                Value::F32(f as f32)
            } else {
                Value::F64(f)
            }
        }
        LogicalType::Bytes => match st {
            Some(SqliteType::Binary) => Value::Bytes(v.read_blob().to_vec()),
            Some(SqliteType::Text) => Value::Bytes(v.read_text().as_bytes().to_vec()),
            other => return Err(expect(ty, other)),
        },
        _ => {
            if st != Some(SqliteType::Text) {
                return Err(expect(ty, st));
            }
            let s = v.read_text();
            match ty {
                LogicalType::Date => Value::Date(
                    chrono::NaiveDate::parse_from_str(s, DATE_FORMAT)
                        .map_err(|e| format!("bad date {s:?}: {e}"))?,
                ),
                LogicalType::Timestamp => Value::Timestamp(
                    chrono::NaiveDateTime::parse_from_str(s, TIMESTAMP_FORMAT)
                        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S"))
                        .map_err(|e| format!("bad timestamp {s:?}: {e}"))?,
                ),
                LogicalType::TimestampTz => Value::TimestampTz(parse_timestamptz(s)?),
                LogicalType::Uuid => Value::Uuid(
                    uuid::Uuid::parse_str(s).map_err(|e| format!("bad uuid {s:?}: {e}"))?,
                ),
                LogicalType::Json => {
                    Value::Json(serde_json::from_str(s).map_err(|e| format!("bad JSON: {e}"))?)
                }
                LogicalType::Decimal => Value::Decimal(
                    s.parse::<rust_decimal::Decimal>()
                        .map_err(|e| format!("bad decimal {s:?}: {e}"))?,
                ),
                _ => unreachable!("numeric types handled above"),
            }
        }
    })
}

fn parse_timestamptz(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    // `CURRENT_TIMESTAMP` written by SQLite itself: UTC without a zone.
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
        .map(|n| n.and_utc())
        .map_err(|e| format!("bad timestamp {s:?}: {e}"))
}
