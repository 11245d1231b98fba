//! Exact sums and averages of decimal columns on SQLite.
//!
//! SQLite stores decimals as text (see [`crate::collation`]); its own `SUM`
//! and `AVG` would read them as 8-byte floats and lose digits. Every
//! connection registers these two aggregates instead, which add the values
//! with `rust_decimal`, so sums are exact and averages are the exact sum
//! divided by the count, rounded to [`AVG_SCALE`] places (half away from
//! zero) as PostgreSQL's rendering does. A sum past the decimal range
//! finishes as text that is not a decimal, which the reader refuses with an
//! error naming the column.

use std::str::FromStr;

use diesel::sql_types::{Nullable, Text};
use diesel::sqlite::{SqliteAggregateFunction, SqliteConnection};
use diesel::QueryResult;
use rust_decimal::{Decimal, RoundingStrategy};

/// `SUM` of a decimal column, as SQL spells it.
pub(crate) const DECIMAL_SUM: &str = "dataflow_decimal_sum";
/// `AVG` of a decimal column, as SQL spells it.
pub(crate) const DECIMAL_AVG: &str = "dataflow_decimal_avg";

/// Decimal places of an average of decimals, on every backend.
pub use dataflow_core::query::aggregate::DECIMAL_AVG_SCALE as AVG_SCALE;

/// The running state: the exact sum of the non-NULL values and their count;
/// `None` once the sum left the decimal range or met text that is no decimal.
#[derive(Default)]
struct Running {
    sum: Option<Decimal>,
    count: u64,
    failed: bool,
}

impl Running {
    fn add(&mut self, value: Option<String>) {
        let Some(text) = value else { return };
        let next = Decimal::from_str(&text)
            .ok()
            .and_then(|v| self.sum.unwrap_or_default().checked_add(v));
        match next {
            Some(s) => {
                self.sum = Some(s);
                self.count += 1;
            }
            None => self.failed = true,
        }
    }
}

const FAILED: &str = "decimal sum out of range";

#[derive(Default)]
struct Sum(Running);

impl SqliteAggregateFunction<Option<String>> for Sum {
    type Output = Option<String>;
    fn step(&mut self, value: Option<String>) {
        self.0.add(value);
    }
    fn finalize(state: Option<Self>) -> Option<String> {
        match state {
            Some(Sum(r)) if r.failed => Some(FAILED.to_owned()),
            Some(Sum(r)) => r.sum.map(|s| s.to_string()),
            None => None,
        }
    }
}

#[derive(Default)]
struct Avg(Running);

impl SqliteAggregateFunction<Option<String>> for Avg {
    type Output = Option<String>;
    fn step(&mut self, value: Option<String>) {
        self.0.add(value);
    }
    fn finalize(state: Option<Self>) -> Option<String> {
        let r = state?.0;
        if r.failed {
            return Some(FAILED.to_owned());
        }
        let avg = r
            .sum?
            .checked_div(Decimal::from(r.count))?
            .round_dp_with_strategy(AVG_SCALE, RoundingStrategy::MidpointAwayFromZero);
        Some(avg.normalize().to_string())
    }
}

/// Registers both aggregates on a new connection.
pub(crate) fn register(conn: &mut SqliteConnection) -> QueryResult<()> {
    conn.register_aggregate_function::<Nullable<Text>, Nullable<Text>, Option<String>, Option<String>, Sum>(
        DECIMAL_SUM,
    )?;
    conn.register_aggregate_function::<Nullable<Text>, Nullable<Text>, Option<String>, Option<String>, Avg>(
        DECIMAL_AVG,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<A: SqliteAggregateFunction<Option<String>, Output = Option<String>>>(
        values: &[Option<&str>],
    ) -> Option<String> {
        if values.is_empty() {
            return A::finalize(None);
        }
        let mut a = A::default();
        for v in values {
            a.step(v.map(str::to_owned));
        }
        A::finalize(Some(a))
    }

    #[test]
    fn sums_exactly_and_skips_nulls() {
        assert_eq!(
            run::<Sum>(&[Some("0.1"), None, Some("0.2")]).as_deref(),
            Some("0.3")
        );
        assert_eq!(run::<Sum>(&[None]), None);
        assert_eq!(run::<Sum>(&[]), None);
        let max = Decimal::MAX.to_string();
        assert_eq!(
            run::<Sum>(&[Some(&max), Some("1")]).as_deref(),
            Some(FAILED)
        );
    }

    #[test]
    fn averages_round_half_away_from_zero() {
        assert_eq!(
            run::<Avg>(&[Some("1"), Some("2"), Some("2")]).as_deref(),
            Some("1.6666666666666667")
        );
        assert_eq!(
            run::<Avg>(&[Some("-1"), Some("-2")]).as_deref(),
            Some("-1.5")
        );
        assert_eq!(run::<Avg>(&[None]), None);
    }
}
