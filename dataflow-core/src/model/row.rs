//! Reading one result row: the interface backends implement over their
//! native rows, so the generated `Model::from_row` decodes each column straight
//! into its field, while untyped readers still get [`Value`]s.

use crate::error::{Error, Result};
use crate::model::field::Scalar;
use crate::model::value::Value;

/// One row of a query result, read column by column (by index, in the order
/// of the statement's select list).
///
/// Backends implement [`RowReader::value`] and override the typed getters
/// they can read without building a [`Value`] first; the provided getters go
/// through `value` and convert. A getter returns `Ok(None)` for SQL NULL, and
/// an error made with [`Error::undecodable`] when the column holds something
/// the type cannot represent.
pub trait RowReader {
    /// The number of columns.
    fn columns(&self) -> usize;

    /// The name of column `i`, for error messages.
    fn column_name(&self, i: usize) -> String;

    /// Column `i` as a value of the logical type the query asked for
    /// (`Value::Null` for NULL).
    fn value(&mut self, i: usize) -> Result<Value>;

    /// Column `i` as a `bool`.
    fn bool(&mut self, i: usize) -> Result<Option<bool>> {
        converted(self, i)
    }
    /// Column `i` as an `i16`.
    fn i16(&mut self, i: usize) -> Result<Option<i16>> {
        converted(self, i)
    }
    /// Column `i` as an `i32`.
    fn i32(&mut self, i: usize) -> Result<Option<i32>> {
        converted(self, i)
    }
    /// Column `i` as an `i64`.
    fn i64(&mut self, i: usize) -> Result<Option<i64>> {
        converted(self, i)
    }
    /// Column `i` as an `f32`.
    fn f32(&mut self, i: usize) -> Result<Option<f32>> {
        converted(self, i)
    }
    /// Column `i` as an `f64`.
    fn f64(&mut self, i: usize) -> Result<Option<f64>> {
        converted(self, i)
    }
    /// Column `i` as text.
    fn text(&mut self, i: usize) -> Result<Option<String>> {
        converted(self, i)
    }
    /// Column `i` as bytes.
    fn bytes(&mut self, i: usize) -> Result<Option<Vec<u8>>> {
        converted(self, i)
    }
    /// Column `i` as a date.
    fn date(&mut self, i: usize) -> Result<Option<chrono::NaiveDate>> {
        converted(self, i)
    }
    /// Column `i` as a date and time without a time zone.
    fn timestamp(&mut self, i: usize) -> Result<Option<chrono::NaiveDateTime>> {
        converted(self, i)
    }
    /// Column `i` as an instant in UTC.
    fn timestamptz(&mut self, i: usize) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
        converted(self, i)
    }
    /// Column `i` as a UUID.
    fn uuid(&mut self, i: usize) -> Result<Option<uuid::Uuid>> {
        converted(self, i)
    }
    /// Column `i` as a JSON document.
    fn json(&mut self, i: usize) -> Result<Option<serde_json::Value>> {
        converted(self, i)
    }
    /// Column `i` as an exact decimal.
    #[cfg(feature = "decimal")]
    fn decimal(&mut self, i: usize) -> Result<Option<rust_decimal::Decimal>> {
        converted(self, i)
    }
}

/// Reads column `i` as a [`Value`] and converts it to `T`, for getters a
/// backend does not read directly.
pub fn converted<T: Scalar, R: RowReader + ?Sized>(row: &mut R, i: usize) -> Result<Option<T>> {
    match row.value(i)? {
        Value::Null => Ok(None),
        v => T::from_scalar_value(v)
            .map(Some)
            .map_err(|m| Error::undecodable(&row.column_name(i), m)),
    }
}

/// Every column of the row as values (the untyped record layer's rows).
pub fn values(row: &mut dyn RowReader) -> Result<Vec<Value>> {
    (0..row.columns()).map(|i| row.value(i)).collect()
}
