//! The collation that makes SQLite compare decimals as numbers.
//!
//! Decimals are stored as their exact text (`"1.10"`, `"-45"`): readable by any
//! tool, exact, and what databases written by earlier versions already hold.
//! SQLite compares text byte by byte, which puts `"100"` before `"45"` and
//! `"1.10"` apart from `"1.1"`. Filters and `ORDER BY` on decimal columns are
//! therefore rendered `"col" COLLATE dataflow_decimal` (see
//! `Dialect::collation`), and every connection registers that collation:
//! it parses both sides with `rust_decimal` and compares the numbers, exactly.
//!
//! A sortable encoding of the stored text would let plain indexes serve range
//! filters, but the stored values would no longer be readable decimals and
//! existing databases would need rewriting; a REAL column would round. Keeping
//! the collation out of the table definitions keeps the file usable by tools
//! that do not have it (only dataflow's own statements name it), at the price
//! that an index on a decimal column does not serve those comparisons.

use std::cmp::Ordering;
use std::str::FromStr;

use rust_decimal::Decimal;

/// The collation's name, as statements spell it.
pub(crate) const DECIMAL_COLLATION: &str = "dataflow_decimal";

/// Orders decimal text by value: `"1.1"` equals `"1.10"`, `"-1"` < `"2"` <
/// `"10"`. Text that is not a decimal (written by something other than dataflow)
/// sorts after every number, byte by byte, so the order stays total.
pub(crate) fn compare_decimal_text(a: &str, b: &str) -> Ordering {
    match (Decimal::from_str(a), Decimal::from_str(b)) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => a.as_bytes().cmp(b.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_value_exactly() {
        let mut v = vec![
            "100",
            "9.99",
            "-1",
            "1.10",
            "10.00",
            "2",
            "x",
            "79228162514264337593543950335",
            "79228162514264337593543950334",
            "0.0000000000000000000000000001",
            "0",
        ];
        v.sort_by(|a, b| compare_decimal_text(a, b));
        assert_eq!(
            v,
            [
                "-1",
                "0",
                "0.0000000000000000000000000001",
                "1.10",
                "2",
                "9.99",
                "10.00",
                "100",
                "79228162514264337593543950334",
                "79228162514264337593543950335",
                "x"
            ]
        );
        assert_eq!(compare_decimal_text("1.1", "1.10"), Ordering::Equal);
        assert_eq!(compare_decimal_text("-0", "0.000"), Ordering::Equal);
    }
}
