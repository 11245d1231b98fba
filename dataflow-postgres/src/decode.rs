//! Reading PostgreSQL values (binary format) by their type OID.

use diesel::connection::{DefaultLoadingMode, LoadConnection};
use diesel::deserialize::FromSql;
use diesel::pg::{Pg, PgConnection, PgValue};
use diesel::row::{Field, Row};
use diesel::sql_types as st;

use dataflow_core::{Error, Result as DfResult, RowReader, Scalar, Value};

fn from<T: FromSql<S, Pg>, S>(v: PgValue<'_>) -> Result<T, String> {
    T::from_sql(v).map_err(|e| e.to_string())
}

/// How a column's values are decoded, chosen from its type OID.
///
/// Every value of a result column has the same OID, so the connection resolves
/// it once per column (on the column's first non-NULL value) and reuses it for
/// every row: asking diesel for the OID goes through `PQftype` each time and
/// the sparse OID match is a chain of compares; resolving once saved about 28
/// instructions per field (callgrind, 6-column list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decoder {
    Bool,
    I16,
    I32,
    I64,
    F32,
    F64,
    Text,
    Bytes,
    Date,
    Timestamp,
    TimestampTz,
    Uuid,
    Jsonb,
    Json,
    Numeric,
    /// Reported when a non-NULL value of this OID is decoded.
    Unsupported(u32),
}

impl Decoder {
    /// The decoder for a value's type OID.
    pub(crate) fn for_value(v: &PgValue<'_>) -> Decoder {
        match v.get_oid().get() {
            16 => Decoder::Bool,
            21 => Decoder::I16,
            23 => Decoder::I32,
            20 => Decoder::I64,
            700 => Decoder::F32,
            701 => Decoder::F64,
            25 | 1043 | 1042 | 19 => Decoder::Text,
            17 => Decoder::Bytes,
            1082 => Decoder::Date,
            1114 => Decoder::Timestamp,
            1184 => Decoder::TimestampTz,
            2950 => Decoder::Uuid,
            3802 => Decoder::Jsonb,
            114 => Decoder::Json,
            1700 => Decoder::Numeric,
            other => Decoder::Unsupported(other),
        }
    }
}

/// Decodes one non-NULL value with the decoder chosen for its column's OID
/// ([`Decoder::for_value`]). The OID decides, so a column whose live type
/// differs from the model still decodes (the field conversion then checks it).
pub(crate) fn decode(v: PgValue<'_>, decoder: Decoder) -> Result<Value, String> {
    Ok(match decoder {
        Decoder::Bool => Value::Bool(from::<bool, st::Bool>(v)?),
        Decoder::I16 => Value::I16(from::<i16, st::SmallInt>(v)?),
        Decoder::I32 => Value::I32(from::<i32, st::Integer>(v)?),
        Decoder::I64 => Value::I64(from::<i64, st::BigInt>(v)?),
        Decoder::F32 => Value::F32(from::<f32, st::Float>(v)?),
        Decoder::F64 => Value::F64(from::<f64, st::Double>(v)?),
        Decoder::Text => Value::Text(from::<String, st::Text>(v)?),
        Decoder::Bytes => Value::Bytes(from::<Vec<u8>, st::Binary>(v)?),
        Decoder::Date => Value::Date(from::<chrono::NaiveDate, st::Date>(v)?),
        Decoder::Timestamp => Value::Timestamp(from::<chrono::NaiveDateTime, st::Timestamp>(v)?),
        Decoder::TimestampTz => {
            Value::TimestampTz(from::<chrono::DateTime<chrono::Utc>, st::Timestamptz>(v)?)
        }
        Decoder::Uuid => Value::Uuid(from::<uuid::Uuid, st::Uuid>(v)?),
        Decoder::Jsonb => Value::Json(from::<serde_json::Value, st::Jsonb>(v)?),
        Decoder::Json => Value::Json(from::<serde_json::Value, st::Json>(v)?),
        Decoder::Numeric => Value::Decimal(from::<rust_decimal::Decimal, st::Numeric>(v)?),
        Decoder::Unsupported(oid) => return Err(format!("unsupported PostgreSQL type OID {oid}")),
    })
}

/// One PostgreSQL result row read through dataflow's [`RowReader`]: a column
/// whose OID is the field's own type is read straight into it; any other goes
/// through [`decode`] and the field type's conversion.
pub(crate) struct PgRowReader<'r, 'c: 'r, 'q: 'r> {
    pub row: &'r <PgConnection as LoadConnection<DefaultLoadingMode>>::Row<'c, 'q>,
    /// The decoder of each column, chosen on its first non-NULL value.
    pub decoders: &'r mut [Option<Decoder>],
}

impl PgRowReader<'_, '_, '_> {
    fn read<T: Scalar>(
        &mut self,
        i: usize,
        direct: Decoder,
        read: impl FnOnce(PgValue<'_>) -> Result<T, String>,
    ) -> DfResult<Option<T>> {
        let field = self
            .row
            .get(i)
            .ok_or_else(|| Error::Database(format!("row has no column {i}")))?;
        let Some(raw) = field.value() else {
            return Ok(None);
        };
        let slot = self
            .decoders
            .get_mut(i)
            .ok_or_else(|| Error::Database(format!("row has no column {i}")))?;
        let decoder = *slot.get_or_insert_with(|| Decoder::for_value(&raw));
        let r = if decoder == direct {
            read(raw)
        } else {
            decode(raw, decoder).and_then(T::from_scalar_value)
        };
        r.map(Some)
            .map_err(|m| Error::undecodable(field.field_name().unwrap_or("?"), m))
    }
}

impl RowReader for PgRowReader<'_, '_, '_> {
    fn columns(&self) -> usize {
        self.decoders.len()
    }

    fn column_name(&self, i: usize) -> String {
        self.row
            .get(i)
            .and_then(|f| f.field_name().map(str::to_owned))
            .unwrap_or_else(|| "?".to_owned())
    }

    fn value(&mut self, i: usize) -> DfResult<Value> {
        let field = self
            .row
            .get(i)
            .ok_or_else(|| Error::Database(format!("row has no column {i}")))?;
        let Some(raw) = field.value() else {
            return Ok(Value::Null);
        };
        let slot = self
            .decoders
            .get_mut(i)
            .ok_or_else(|| Error::Database(format!("row has no column {i}")))?;
        let decoder = *slot.get_or_insert_with(|| Decoder::for_value(&raw));
        decode(raw, decoder).map_err(|m| Error::undecodable(field.field_name().unwrap_or("?"), m))
    }

    fn bool(&mut self, i: usize) -> DfResult<Option<bool>> {
        self.read(i, Decoder::Bool, from::<bool, st::Bool>)
    }
    fn i16(&mut self, i: usize) -> DfResult<Option<i16>> {
        self.read(i, Decoder::I16, from::<i16, st::SmallInt>)
    }
    fn i32(&mut self, i: usize) -> DfResult<Option<i32>> {
        self.read(i, Decoder::I32, from::<i32, st::Integer>)
    }
    fn i64(&mut self, i: usize) -> DfResult<Option<i64>> {
        self.read(i, Decoder::I64, from::<i64, st::BigInt>)
    }
    fn f32(&mut self, i: usize) -> DfResult<Option<f32>> {
        self.read(i, Decoder::F32, from::<f32, st::Float>)
    }
    fn f64(&mut self, i: usize) -> DfResult<Option<f64>> {
        self.read(i, Decoder::F64, from::<f64, st::Double>)
    }
    fn text(&mut self, i: usize) -> DfResult<Option<String>> {
        self.read(i, Decoder::Text, from::<String, st::Text>)
    }
    fn bytes(&mut self, i: usize) -> DfResult<Option<Vec<u8>>> {
        self.read(i, Decoder::Bytes, from::<Vec<u8>, st::Binary>)
    }
    fn date(&mut self, i: usize) -> DfResult<Option<chrono::NaiveDate>> {
        self.read(i, Decoder::Date, from::<chrono::NaiveDate, st::Date>)
    }
    fn timestamp(&mut self, i: usize) -> DfResult<Option<chrono::NaiveDateTime>> {
        self.read(
            i,
            Decoder::Timestamp,
            from::<chrono::NaiveDateTime, st::Timestamp>,
        )
    }
    fn timestamptz(&mut self, i: usize) -> DfResult<Option<chrono::DateTime<chrono::Utc>>> {
        self.read(
            i,
            Decoder::TimestampTz,
            from::<chrono::DateTime<chrono::Utc>, st::Timestamptz>,
        )
    }
    fn uuid(&mut self, i: usize) -> DfResult<Option<uuid::Uuid>> {
        self.read(i, Decoder::Uuid, from::<uuid::Uuid, st::Uuid>)
    }
}
