//! Aggregates over a filtered [`List`]: `count`,
//! `sum`, `avg`, `min`, `max` of a typed column, over all matching rows or per
//! group of a key column ([`Grouped`]), each one statement.
//!
//! Result types, the same on every backend:
//!
//! | aggregate | of a column of type `T` | result |
//! |-----------|-------------------------|--------|
//! | `count`   | (rows)                  | `i64` |
//! | `sum`     | `i16`, `i32`, `i64`     | `i64` |
//! | `sum`     | `f32`, `f64`            | `f64` |
//! | `sum`     | `Decimal`               | `Decimal` (exact) |
//! | `avg`     | integers and floats     | `Option<f64>` |
//! | `avg`     | `Decimal`               | `Option<Decimal>` ([`DECIMAL_AVG_SCALE`] places) |
//! | `min`/`max` | any                   | `Option<T>` |
//!
//! NULLs: like SQL, `sum`, `avg`, `min` and `max` skip NULL values; `count`
//! counts rows. With no non-NULL value, `sum` is `0` (not NULL: the sum of
//! nothing), `avg`/`min`/`max` are `None`. A sum past the result type's range
//! is an `Error::Database` on every backend, never a wrapped value.
//!
//! `sum` and `avg` take numeric columns only ([`Numeric`]); anything else does
//! not compile. Order, limit and offset of the list do not apply: aggregates
//! see every row the filter matches (soft-deleted rows only after
//! `with_deleted()` / `only_deleted()`). Groups come back ordered by key,
//! ascending, a NULL key last.

use std::marker::PhantomData;

use crate::error::Result;
use crate::model::field::{FieldType, Scalar};
use crate::model::value::LogicalType;
use crate::model::Model;
use crate::query::filter::Column;
use crate::query::list::List;
use crate::query::record::{Aggregation, Records};

/// Decimal places of the average of a decimal column: the exact sum divided
/// by the count, rounded half away from zero, on every backend.
pub const DECIMAL_AVG_SCALE: u32 = 16;

/// The sum of a column whose field type is `T`.
pub type SumOf<T> = <<T as FieldType>::Inner as Numeric>::Sum;
/// The average of a column whose field type is `T`.
pub type AvgOf<T> = <<T as FieldType>::Inner as Numeric>::Avg;

/// An aggregate function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Aggregate {
    /// `COUNT(*)`: the number of rows.
    Count,
    /// `SUM(column)`, `0` over no value.
    Sum,
    /// `AVG(column)`, NULL over no value.
    Avg,
    /// `MIN(column)`.
    Min,
    /// `MAX(column)`.
    Max,
}

impl Aggregate {
    /// The logical type of the aggregate of a column of type `ty`.
    pub fn result_type(self, ty: LogicalType) -> LogicalType {
        use LogicalType as L;
        match (self, ty) {
            (Aggregate::Count, _) => L::BigInt,
            (Aggregate::Sum, L::SmallInt | L::Int | L::BigInt) => L::BigInt,
            (Aggregate::Sum | Aggregate::Avg, L::Decimal) => L::Decimal,
            (Aggregate::Sum | Aggregate::Avg, _) => L::Double,
            (Aggregate::Min | Aggregate::Max, t) => t,
        }
    }
}

/// A column type `sum` and `avg` accept: the integers, the floats and
/// `Decimal`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a numeric column type: sum and avg take integer, float or Decimal columns",
    label = "not numeric"
)]
pub trait Numeric: Scalar {
    /// The type of a sum: `i64` for integers, `f64` for floats, `Decimal`.
    type Sum: Scalar + FieldType;
    /// The type of an average: `f64`, or `Decimal` for decimals.
    type Avg: Scalar;
}

macro_rules! numeric {
    ($($t:ty => $sum:ty, $avg:ty;)*) => {
        $(impl Numeric for $t {
            type Sum = $sum;
            type Avg = $avg;
        })*
    };
}

numeric! {
    i16 => i64, f64;
    i32 => i64, f64;
    i64 => i64, f64;
    f32 => f64, f64;
    f64 => f64, f64;
}
#[cfg(feature = "decimal")]
numeric! {
    rust_decimal::Decimal => rust_decimal::Decimal, rust_decimal::Decimal;
}

/// Runs one aggregate over the rows of `list`, with or without a key column.
fn run<M: Model, K: FieldType, V: FieldType>(
    list: List<'_, M>,
    key: Option<&'static str>,
    func: Aggregate,
    column: Option<&'static str>,
) -> Result<Vec<(K, V)>> {
    let (db, select) = list.into_select()?;
    let mut out = Vec::new();
    Records::new(db, M::DESCRIPTOR).aggregate_as(
        Aggregation {
            filter: select.filter,
            include_deleted: select.include_deleted,
            group_by: key,
            func,
            column,
        },
        &mut |row| {
            let k = match key {
                Some(_) => K::read(row, 0)?,
                // Ungrouped: a placeholder key the caller drops.
                None => K::from_value(crate::model::value::Value::Null)
                    .map_err(crate::error::Error::Database)?,
            };
            let v = V::read(row, usize::from(key.is_some()))?;
            out.push((k, v));
            Ok(())
        },
    )?;
    Ok(out)
}

/// The one value of an ungrouped aggregate.
pub(crate) fn single<M: Model, V: FieldType>(
    list: List<'_, M>,
    func: Aggregate,
    column: Option<&'static str>,
) -> Result<V> {
    let rows = run::<M, Option<i64>, V>(list, None, func, column)?;
    match rows.into_iter().next() {
        Some((_, v)) => Ok(v),
        None => Err(crate::error::Error::Database(format!(
            "{}: the aggregate returned no row",
            M::DESCRIPTOR.name
        ))),
    }
}

impl<'a, M: Model> List<'a, M> {
    /// The sum of `column` over the matching rows; `0` when no value is
    /// non-NULL. Integer columns sum to `i64`, floats to `f64`, decimals
    /// exactly. See the [module docs](crate::query::aggregate).
    pub fn sum<T: FieldType>(self, column: Column<M, T>) -> Result<SumOf<T>>
    where
        T::Inner: Numeric,
    {
        single(self, Aggregate::Sum, Some(column.name()))
    }

    /// The average of the non-NULL values of `column`; `None` when there is
    /// none. `f64` (or `Decimal` for a decimal column).
    pub fn avg<T: FieldType>(self, column: Column<M, T>) -> Result<Option<AvgOf<T>>>
    where
        T::Inner: Numeric,
    {
        single(self, Aggregate::Avg, Some(column.name()))
    }

    /// The smallest non-NULL value of `column`; `None` when there is none.
    pub fn min<T: FieldType>(self, column: Column<M, T>) -> Result<Option<T::Inner>> {
        single(self, Aggregate::Min, Some(column.name()))
    }

    /// The largest non-NULL value of `column`; `None` when there is none.
    pub fn max<T: FieldType>(self, column: Column<M, T>) -> Result<Option<T::Inner>> {
        single(self, Aggregate::Max, Some(column.name()))
    }

    /// Groups the matching rows by the value of `key`, for a per-group
    /// aggregate: `Issue::list(&db).group_by(Issue::PROJECT_ID).count()` is one
    /// `(project_id, count)` pair per project, ordered by key (a NULL key
    /// last; rows with a NULL key form one group).
    pub fn group_by<K: FieldType>(self, key: Column<M, K>) -> Grouped<'a, M, K> {
        Grouped {
            list: self,
            key: key.name(),
            _key: PhantomData,
        }
    }
}

/// The rows of a [`List`] grouped by a key column of type `K`; each aggregate
/// returns one `(key, value)` pair per group, ordered by key, in one statement.
#[must_use = "a Grouped does nothing until an aggregate runs it"]
pub struct Grouped<'a, M, K> {
    list: List<'a, M>,
    key: &'static str,
    _key: PhantomData<fn() -> K>,
}

impl<M, K> Clone for Grouped<'_, M, K> {
    fn clone(&self) -> Self {
        Grouped {
            list: self.list.clone(),
            key: self.key,
            _key: PhantomData,
        }
    }
}

impl<M: Model, K: FieldType> Grouped<'_, M, K> {
    fn run<V: FieldType>(
        self,
        func: Aggregate,
        column: Option<&'static str>,
    ) -> Result<Vec<(K, V)>> {
        run(self.list, Some(self.key), func, column)
    }

    /// The number of rows per group.
    pub fn count(self) -> Result<Vec<(K, i64)>> {
        self.run(Aggregate::Count, None)
    }

    /// The sum of `column` per group (`0` for a group without a non-NULL value).
    pub fn sum<T: FieldType>(self, column: Column<M, T>) -> Result<Vec<(K, SumOf<T>)>>
    where
        T::Inner: Numeric,
    {
        self.run(Aggregate::Sum, Some(column.name()))
    }

    /// The average of `column` per group (`None` for a group without a non-NULL value).
    pub fn avg<T: FieldType>(self, column: Column<M, T>) -> Result<Vec<(K, Option<AvgOf<T>>)>>
    where
        T::Inner: Numeric,
    {
        self.run(Aggregate::Avg, Some(column.name()))
    }

    /// The smallest value of `column` per group.
    pub fn min<T: FieldType>(self, column: Column<M, T>) -> Result<Vec<(K, Option<T::Inner>)>> {
        self.run(Aggregate::Min, Some(column.name()))
    }

    /// The largest value of `column` per group.
    pub fn max<T: FieldType>(self, column: Column<M, T>) -> Result<Vec<(K, Option<T::Inner>)>> {
        self.run(Aggregate::Max, Some(column.name()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_types_follow_the_table() {
        use LogicalType as L;
        assert_eq!(Aggregate::Sum.result_type(L::SmallInt), L::BigInt);
        assert_eq!(Aggregate::Sum.result_type(L::Float), L::Double);
        assert_eq!(Aggregate::Avg.result_type(L::Int), L::Double);
        assert_eq!(Aggregate::Avg.result_type(L::Decimal), L::Decimal);
        assert_eq!(Aggregate::Max.result_type(L::Date), L::Date);
        assert_eq!(Aggregate::Count.result_type(L::Text), L::BigInt);
    }
}
