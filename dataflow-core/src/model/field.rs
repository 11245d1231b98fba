//! Conversions between Rust field types and [`Value`]s.

use crate::error::{Error, Result as DfResult};
use crate::model::enums::EnumDescriptor;
use crate::model::row::RowReader;
use crate::model::value::{LogicalType, Value};

/// A Rust type that can be stored in a model field.
///
/// Implemented for the supported scalar types and `Option<T>` of each. The derive
/// checks field types against this trait, so an unsupported type is a compile error
/// at the field.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a supported dataflow field type",
    label = "unsupported field type",
    note = "supported: i16, i32, i64, f32, f64, bool, String, Vec<u8>, chrono::NaiveDate, chrono::NaiveDateTime, chrono::DateTime<Utc>, uuid::Uuid, serde_json::Value, rust_decimal::Decimal, a fieldless enum with #[derive(ModelEnum)], and Option<T> of each"
)]
pub trait FieldType: Sized {
    /// The non-null scalar type (`T` for both `T` and `Option<T>`).
    type Inner: Scalar;
    /// Whether the column accepts NULL.
    const NULLABLE: bool;
    /// The logical column type.
    const LOGICAL: LogicalType = <Self::Inner as Scalar>::LOGICAL;
    /// The allowed stored names, for an enum field.
    const ENUM: Option<&'static EnumDescriptor> = <Self::Inner as Scalar>::ENUM;
    /// Converts a borrowed field into a value (clones heap data).
    fn to_value(&self) -> Value;
    /// Converts an owned field into a value.
    fn into_value(self) -> Value;
    /// Converts a value read from the database back into the field type.
    fn from_value(value: Value) -> Result<Self, String>;
    /// Reads column `i` of a result row into the field type.
    fn read(row: &mut dyn RowReader, i: usize) -> DfResult<Self>;
}

/// A non-null field type.
pub trait Scalar: Sized + Clone {
    /// The logical column type.
    const LOGICAL: LogicalType;
    /// The allowed stored names, for an enum (see [`crate::model::enums`]).
    const ENUM: Option<&'static EnumDescriptor> = None;
    /// Converts into a value.
    fn into_scalar_value(self) -> Value;
    /// Converts a non-null value back.
    fn from_scalar_value(value: Value) -> Result<Self, String>;
    /// Converts a borrowed value (clones heap data).
    fn to_scalar_value(&self) -> Value {
        self.clone().into_scalar_value()
    }
    /// Reads column `i` of a result row through the row's getter for this
    /// type (`None` for NULL).
    fn read_scalar(row: &mut dyn RowReader, i: usize) -> DfResult<Option<Self>>;
}

/// A value that may be compared with a column whose scalar type is `T`.
///
/// Exactly one numeric type implements `Operand<N>` for each numeric `N`, so an
/// integer literal takes the column's type (`User::AGE.gt(18)` on an `i16` column
/// needs no suffix), and a value of another type does not compile.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be compared with a column of type `{T}`",
    label = "expected a value of the column's type `{T}`"
)]
pub trait Operand<T> {
    /// Converts the operand into a bound value.
    fn into_operand(self) -> Value;
}

fn mismatch(expected: LogicalType, got: &Value) -> String {
    format!("expected a {expected} value, found {}", got.kind())
}

macro_rules! scalar {
    ($t:ty, $logical:ident, $variant:ident, $getter:ident, [$($alt:ident => $conv:expr),*] $(, clone = $clone:expr)?) => {
        impl Scalar for $t {
            fn read_scalar(row: &mut dyn RowReader, i: usize) -> DfResult<Option<Self>> {
                row.$getter(i)
            }
            $(
            #[allow(clippy::redundant_closure_call)]
            fn to_scalar_value(&self) -> Value {
                Value::$variant(($clone)(self))
            }
            )?
            const LOGICAL: LogicalType = LogicalType::$logical;
            fn into_scalar_value(self) -> Value {
                Value::$variant(self)
            }
            #[allow(clippy::redundant_closure_call)]
            fn from_scalar_value(value: Value) -> Result<Self, String> {
                match value {
                    Value::$variant(v) => Ok(v),
                    $(Value::$alt(v) => ($conv)(v),)*
                    other => Err(mismatch(LogicalType::$logical, &other)),
                }
            }
        }
        impl Operand<$t> for $t {
            fn into_operand(self) -> Value {
                Value::$variant(self)
            }
        }
        impl FieldType for $t {
            type Inner = $t;
            const NULLABLE: bool = false;
            fn to_value(&self) -> Value {
                <$t as Scalar>::to_scalar_value(self)
            }
            fn into_value(self) -> Value {
                Value::$variant(self)
            }
            fn from_value(value: Value) -> Result<Self, String> {
                <$t as Scalar>::from_scalar_value(value)
            }
            #[inline]
            fn read(row: &mut dyn RowReader, i: usize) -> DfResult<Self> {
                row.$getter(i)?.ok_or_else(|| null_in(row, i, LogicalType::$logical))
            }
        }
    };
}

/// The error for a NULL in a column whose field does not take one.
fn null_in(row: &mut dyn RowReader, i: usize, expected: LogicalType) -> Error {
    Error::undecodable(&row.column_name(i), mismatch(expected, &Value::Null))
}

fn narrow<S, T: TryFrom<S>>(v: S, what: &str) -> Result<T, String>
where
    S: std::fmt::Display + Copy,
{
    T::try_from(v).map_err(|_| format!("{v} does not fit in {what}"))
}

scalar!(i16, SmallInt, I16, i16, [I32 => |v| narrow(v, "i16"), I64 => |v| narrow(v, "i16")]);
scalar!(i32, Int, I32, i32, [I16 => |v: i16| Ok(i32::from(v)), I64 => |v| narrow(v, "i32")]);
scalar!(i64, BigInt, I64, i64, [I16 => |v: i16| Ok(i64::from(v)), I32 => |v: i32| Ok(i64::from(v))]);
scalar!(f32, Float, F32, f32, [F64 => |v: f64| Ok(v as f32)]);
scalar!(f64, Double, F64, f64, [F32 => |v: f32| Ok(f64::from(v))]);
scalar!(bool, Bool, Bool, bool, [I64 => |v: i64| Ok(v != 0), I32 => |v: i32| Ok(v != 0)]);
scalar!(String, Text, Text, text, []);
scalar!(Vec<u8>, Bytes, Bytes, bytes, []);
scalar!(chrono::NaiveDate, Date, Date, date, []);
scalar!(chrono::NaiveDateTime, Timestamp, Timestamp, timestamp, []);
scalar!(
    chrono::DateTime<chrono::Utc>,
    TimestampTz,
    TimestampTz,
    timestamptz,
    []
);
scalar!(uuid::Uuid, Uuid, Uuid, uuid, []);
// A document nested too deeply to clone by recursion is copied without it, so
// that it can be refused instead of aborting the process.
scalar!(
    serde_json::Value,
    Json,
    Json,
    json,
    [],
    clone = crate::limits::clone_json
);
#[cfg(feature = "decimal")]
scalar!(rust_decimal::Decimal, Decimal, Decimal, decimal, []);

impl Operand<String> for &str {
    fn into_operand(self) -> Value {
        Value::Text(self.to_owned())
    }
}
impl Operand<String> for &String {
    fn into_operand(self) -> Value {
        Value::Text(self.clone())
    }
}
impl Operand<Vec<u8>> for &[u8] {
    fn into_operand(self) -> Value {
        Value::Bytes(self.to_vec())
    }
}

impl<T: Scalar> FieldType for Option<T> {
    type Inner = T;
    const NULLABLE: bool = true;
    fn to_value(&self) -> Value {
        match self {
            Some(v) => v.to_scalar_value(),
            None => Value::Null,
        }
    }
    fn into_value(self) -> Value {
        match self {
            Some(v) => v.into_scalar_value(),
            None => Value::Null,
        }
    }
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Null => Ok(None),
            v => T::from_scalar_value(v).map(Some),
        }
    }
    #[inline]
    fn read(row: &mut dyn RowReader, i: usize) -> DfResult<Self> {
        T::read_scalar(row, i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_narrow_only_when_they_fit() {
        assert_eq!(i16::from_value(Value::I64(300)), Ok(300));
        assert!(i16::from_value(Value::I64(70_000)).is_err());
        assert_eq!(i32::from_value(Value::I64(-5)), Ok(-5));
        assert!(i32::from_value(Value::I64(i64::MAX)).is_err());
    }

    #[test]
    fn option_maps_null_to_none_and_scalar_refuses_it() {
        assert_eq!(Option::<String>::from_value(Value::Null), Ok(None));
        assert!(String::from_value(Value::Null).is_err());
        assert_eq!(
            Option::<bool>::from_value(Value::I64(1)).unwrap(),
            Some(true)
        );
    }
}
