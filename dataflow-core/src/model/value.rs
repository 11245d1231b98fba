//! Runtime values: what crosses the boundary between models and backends.

use std::fmt;

/// The database-independent type of a column.
///
/// Every backend maps each logical type to one native type (see its dialect), and
/// maps its native types back when it describes a live database, so that a schema
/// built from models and one described from the database compare equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogicalType {
    /// `i16`
    SmallInt,
    /// `i32`
    Int,
    /// `i64`
    BigInt,
    /// `f32`
    Float,
    /// `f64`
    Double,
    /// `bool`
    Bool,
    /// `String`, unbounded unless the column has a `max_length`.
    Text,
    /// `Vec<u8>`
    Bytes,
    /// `chrono::NaiveDate`
    Date,
    /// `chrono::NaiveDateTime` (no time zone)
    Timestamp,
    /// `chrono::DateTime<Utc>`
    TimestampTz,
    /// `uuid::Uuid`
    Uuid,
    /// `serde_json::Value`
    Json,
    /// `rust_decimal::Decimal`, stored exactly.
    Decimal,
}

impl LogicalType {
    /// Every logical type, for code (and tests) that must cover each one.
    pub const ALL: [LogicalType; 14] = [
        LogicalType::SmallInt,
        LogicalType::Int,
        LogicalType::BigInt,
        LogicalType::Float,
        LogicalType::Double,
        LogicalType::Bool,
        LogicalType::Text,
        LogicalType::Bytes,
        LogicalType::Date,
        LogicalType::Timestamp,
        LogicalType::TimestampTz,
        LogicalType::Uuid,
        LogicalType::Json,
        LogicalType::Decimal,
    ];

    /// Lower-case name used in previews, errors and serialised plans.
    pub fn name(self) -> &'static str {
        match self {
            LogicalType::SmallInt => "smallint",
            LogicalType::Int => "int",
            LogicalType::BigInt => "bigint",
            LogicalType::Float => "float",
            LogicalType::Double => "double",
            LogicalType::Bool => "bool",
            LogicalType::Text => "text",
            LogicalType::Bytes => "bytes",
            LogicalType::Date => "date",
            LogicalType::Timestamp => "timestamp",
            LogicalType::TimestampTz => "timestamptz",
            LogicalType::Uuid => "uuid",
            LogicalType::Json => "json",
            LogicalType::Decimal => "decimal",
        }
    }

    /// Whether the type is one of the integer types.
    pub fn is_integer(self) -> bool {
        matches!(
            self,
            LogicalType::SmallInt | LogicalType::Int | LogicalType::BigInt
        )
    }
}

impl fmt::Display for LogicalType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One value bound to a statement or read from a row.
///
/// Values are always sent to the database as bound parameters, never spliced into
/// SQL text.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// SQL `NULL`.
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// A 16-bit integer.
    I16(i16),
    /// A 32-bit integer.
    I32(i32),
    /// A 64-bit integer.
    I64(i64),
    /// A 32-bit float.
    F32(f32),
    /// A 64-bit float.
    F64(f64),
    /// Text, stored verbatim.
    Text(String),
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// A calendar date.
    Date(chrono::NaiveDate),
    /// A date and time without a time zone.
    Timestamp(chrono::NaiveDateTime),
    /// An instant in UTC.
    TimestampTz(chrono::DateTime<chrono::Utc>),
    /// A UUID.
    Uuid(uuid::Uuid),
    /// A JSON document.
    Json(serde_json::Value),
    /// An exact decimal number.
    #[cfg(feature = "decimal")]
    Decimal(rust_decimal::Decimal),
}

impl Value {
    /// Whether this is `Value::Null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The logical type of a non-null value.
    pub fn logical_type(&self) -> Option<LogicalType> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(_) => LogicalType::Bool,
            Value::I16(_) => LogicalType::SmallInt,
            Value::I32(_) => LogicalType::Int,
            Value::I64(_) => LogicalType::BigInt,
            Value::F32(_) => LogicalType::Float,
            Value::F64(_) => LogicalType::Double,
            Value::Text(_) => LogicalType::Text,
            Value::Bytes(_) => LogicalType::Bytes,
            Value::Date(_) => LogicalType::Date,
            Value::Timestamp(_) => LogicalType::Timestamp,
            Value::TimestampTz(_) => LogicalType::TimestampTz,
            Value::Uuid(_) => LogicalType::Uuid,
            Value::Json(_) => LogicalType::Json,
            #[cfg(feature = "decimal")]
            Value::Decimal(_) => LogicalType::Decimal,
        })
    }

    /// Short name of the value's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        self.logical_type().map_or("null", LogicalType::name)
    }

    /// Checks that every backend stores this value and compares it the same
    /// way; the error says why not.
    ///
    /// Dates and timestamps must fall in the years [`MIN_YEAR`]..=[`MAX_YEAR`]
    /// (UTC for `TimestampTz`). chrono reaches further, PostgreSQL stores most of
    /// that, but SQLite stores times as text whose order is time order only for
    /// four-digit years (`+10000-01-01` sorts before `2024-01-01`), and ordering
    /// such text by its meaning would keep indexes from serving range filters.
    /// Four-digit years are also what ISO 8601 and RFC 3339 write without
    /// extensions, and what dataflow's JSON formats read.
    pub fn check_portable(&self) -> Result<(), String> {
        use chrono::Datelike;
        let year = match self {
            Value::Date(d) => d.year(),
            Value::Timestamp(t) => t.year(),
            Value::TimestampTz(t) => t.year(),
            _ => return Ok(()),
        };
        if (MIN_YEAR..=MAX_YEAR).contains(&year) {
            Ok(())
        } else {
            Err(format!(
                "{self} is outside the years {MIN_YEAR:04}-{MAX_YEAR} that every backend stores \
                 and orders alike"
            ))
        }
    }
}

/// The first year of the dates and timestamps dataflow accepts (year 0 is 1 BC;
/// PostgreSQL prints it `0001-01-01 BC`). See [`Value::check_portable`].
pub const MIN_YEAR: i32 = 0;

/// The last year of the dates and timestamps dataflow accepts. See
/// [`Value::check_portable`].
pub const MAX_YEAR: i32 = 9999;

impl fmt::Display for Value {
    /// Renders the value for humans (previews, error messages); never used to build SQL.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Bool(v) => write!(f, "{v}"),
            Value::I16(v) => write!(f, "{v}"),
            Value::I32(v) => write!(f, "{v}"),
            Value::I64(v) => write!(f, "{v}"),
            Value::F32(v) => write!(f, "{v}"),
            Value::F64(v) => write!(f, "{v}"),
            Value::Text(v) => write!(f, "{v:?}"),
            Value::Bytes(v) => write!(f, "<{} bytes>", v.len()),
            Value::Date(v) => write!(f, "{v}"),
            Value::Timestamp(v) => write!(f, "{v}"),
            Value::TimestampTz(v) => write!(f, "{}", v.to_rfc3339()),
            Value::Uuid(v) => write!(f, "{v}"),
            Value::Json(v) => write!(f, "{v}"),
            #[cfg(feature = "decimal")]
            Value::Decimal(v) => write!(f, "{v}"),
        }
    }
}
