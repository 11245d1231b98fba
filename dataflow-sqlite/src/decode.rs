//! Reading SQLite values back as the logical types the model declares.
//!
//! Strict about storage classes: text found in an integer column is a decode
//! error, not a silent 0.

use diesel::connection::LoadConnection;
use diesel::row::{Field, Row};
use diesel::sqlite::{SqliteType, SqliteValue};
use diesel::SqliteConnection;

use dataflow_core::{Error, LogicalType, Result as DfResult, RowReader, Value};

use crate::dialect::{DATE_FORMAT, TIMESTAMP_FORMAT};

fn expect(ty: LogicalType, found: Option<SqliteType>) -> String {
    format!("expected {ty}, found SQLite {found:?}")
}

/// Decodes one non-NULL SQLite value as `ty`.
pub(crate) fn decode(mut v: SqliteValue<'_, '_, '_>, ty: LogicalType) -> Result<Value, String> {
    let st = v.value_type();
    if ty == LogicalType::Text {
        return text(v).map(Value::Text);
    }
    let v = &mut v;
    Ok(match ty {
        LogicalType::SmallInt => Value::I16(small(v)?),
        LogicalType::Int => Value::I32(int(v)?),
        LogicalType::BigInt => Value::I64(long(v, ty)?),
        LogicalType::Bool => Value::Bool(long(v, ty)? != 0),
        LogicalType::Float => Value::F32(double(v, ty)? as f32),
        LogicalType::Double => Value::F64(double(v, ty)?),
        LogicalType::Bytes => Value::Bytes(bytes(v)?),
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

fn long(v: &mut SqliteValue<'_, '_, '_>, ty: LogicalType) -> Result<i64, String> {
    match v.value_type() {
        Some(SqliteType::Long) => Ok(v.read_long()),
        other => Err(expect(ty, other)),
    }
}

fn small(v: &mut SqliteValue<'_, '_, '_>) -> Result<i16, String> {
    let i = long(v, LogicalType::SmallInt)?;
    i16::try_from(i).map_err(|_| format!("{i} does not fit in smallint"))
}

fn int(v: &mut SqliteValue<'_, '_, '_>) -> Result<i32, String> {
    let i = long(v, LogicalType::Int)?;
    i32::try_from(i).map_err(|_| format!("{i} does not fit in int"))
}

fn double(v: &mut SqliteValue<'_, '_, '_>, ty: LogicalType) -> Result<f64, String> {
    match v.value_type() {
        Some(SqliteType::Double) => Ok(v.read_double()),
        Some(SqliteType::Long) => Ok(v.read_long() as f64),
        other => Err(expect(ty, other)),
    }
}

fn text(v: SqliteValue<'_, '_, '_>) -> Result<String, String> {
    let st = v.value_type();
    if st != Some(SqliteType::Text) {
        return Err(expect(LogicalType::Text, st));
    }
    // diesel's String conversion checks UTF-8 once; read_text twice.
    <String as diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::sqlite::Sqlite>>::from_sql(v)
        .map_err(|e| e.to_string())
}

fn bytes(v: &mut SqliteValue<'_, '_, '_>) -> Result<Vec<u8>, String> {
    match v.value_type() {
        Some(SqliteType::Binary) => Ok(v.read_blob().to_vec()),
        Some(SqliteType::Text) => Ok(v.read_text().as_bytes().to_vec()),
        other => Err(expect(LogicalType::Bytes, other)),
    }
}

/// One SQLite result row read through dataflow's [`RowReader`]: the hot
/// types straight from SQLite's storage classes, the others through
/// [`decode`].
pub(crate) struct SqliteRowReader<'r, 'c: 'r, 'q: 'r> {
    pub row: &'r <SqliteConnection as LoadConnection>::Row<'c, 'q>,
    /// The logical type of each column, for [`RowReader::value`].
    pub types: &'r [LogicalType],
}

impl SqliteRowReader<'_, '_, '_> {
    fn read<T>(
        &self,
        i: usize,
        f: impl FnOnce(SqliteValue<'_, '_, '_>) -> Result<T, String>,
    ) -> DfResult<Option<T>> {
        let field = self
            .row
            .get(i)
            .ok_or_else(|| Error::Database(format!("row has no column {i}")))?;
        let read = match field.value() {
            None => Ok(None),
            Some(raw) => f(raw)
                .map(Some)
                .map_err(|m| Error::undecodable(field.field_name().unwrap_or("?"), m)),
        };
        read
    }
}

impl RowReader for SqliteRowReader<'_, '_, '_> {
    fn columns(&self) -> usize {
        self.types.len()
    }

    fn column_name(&self, i: usize) -> String {
        self.row
            .get(i)
            .and_then(|f| f.field_name().map(str::to_owned))
            .unwrap_or_else(|| "?".to_owned())
    }

    fn value(&mut self, i: usize) -> DfResult<Value> {
        let ty = *self
            .types
            .get(i)
            .ok_or_else(|| Error::Database(format!("row has no column {i}")))?;
        Ok(self.read(i, |v| decode(v, ty))?.unwrap_or(Value::Null))
    }

    fn bool(&mut self, i: usize) -> DfResult<Option<bool>> {
        self.read(i, |mut v| long(&mut v, LogicalType::Bool).map(|l| l != 0))
    }
    fn i16(&mut self, i: usize) -> DfResult<Option<i16>> {
        self.read(i, |mut v| small(&mut v))
    }
    fn i32(&mut self, i: usize) -> DfResult<Option<i32>> {
        self.read(i, |mut v| int(&mut v))
    }
    fn i64(&mut self, i: usize) -> DfResult<Option<i64>> {
        self.read(i, |mut v| long(&mut v, LogicalType::BigInt))
    }
    fn f32(&mut self, i: usize) -> DfResult<Option<f32>> {
        self.read(i, |mut v| {
            double(&mut v, LogicalType::Float).map(|f| f as f32)
        })
    }
    fn f64(&mut self, i: usize) -> DfResult<Option<f64>> {
        self.read(i, |mut v| double(&mut v, LogicalType::Double))
    }
    fn text(&mut self, i: usize) -> DfResult<Option<String>> {
        self.read(i, text)
    }
    fn bytes(&mut self, i: usize) -> DfResult<Option<Vec<u8>>> {
        self.read(i, |mut v| bytes(&mut v))
    }
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
