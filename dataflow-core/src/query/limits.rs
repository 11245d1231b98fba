//! The filter-expression side of [`crate::limits`]: expressions of any depth
//! are measured, checked and dropped without recursion.

use crate::error::Result;
use crate::limits::{check_value, dispose_value, dispose_values};
use crate::query::expr::Expr;

/// Drops an expression of any depth, and the values in it, without recursion.
pub fn dispose_expr(expr: Expr) {
    let mut stack = vec![expr];
    while let Some(e) = stack.pop() {
        match e {
            Expr::And(items) | Expr::Or(items) => stack.extend(items),
            Expr::Not(inner) => stack.push(*inner),
            Expr::Compare { value, .. } => dispose_value(value),
            Expr::In { values, .. } => dispose_values(values),
            Expr::JsonContains { value, .. } | Expr::JsonPath { value, .. } => {
                crate::limits::dispose_json(value)
            }
            _ => {}
        }
    }
}

/// The nesting depth of an expression (a leaf is 1), found without recursion
/// and stopping at the first level past `max` (then `max + 1`).
pub fn expr_depth(expr: &Expr, max: usize) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(expr, 1)];
    while let Some((e, depth)) = stack.pop() {
        deepest = deepest.max(depth);
        if deepest > max {
            return deepest;
        }
        match e {
            Expr::And(items) | Expr::Or(items) => {
                stack.extend(items.iter().map(|i| (i, depth + 1)))
            }
            Expr::Not(inner) => stack.push((inner, depth + 1)),
            _ => {}
        }
    }
    deepest
}

/// Checks every value bound in `expr` (whose depth is already bounded).
pub fn check_expr_values(expr: &Expr, what: &str) -> Result<()> {
    let mut stack = vec![expr];
    while let Some(e) = stack.pop() {
        match e {
            Expr::And(items) | Expr::Or(items) => stack.extend(items),
            Expr::Not(inner) => stack.push(inner),
            Expr::Compare { value, column, .. } => {
                check_value(value, &format!("{what} filter on {column}"))?
            }
            Expr::In { values, column, .. } => {
                for v in values {
                    check_value(v, &format!("{what} filter on {column}"))?;
                }
            }
            Expr::JsonContains { value, column } | Expr::JsonPath { value, column, .. } => {
                crate::limits::check_json(value, &format!("{what} filter on {column}"))?
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::MAX_FILTER_DEPTH;

    fn on_small_stack(f: impl FnOnce() + Send + 'static) {
        std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn deep_expressions_are_measured_and_dropped_without_recursion() {
        on_small_stack(|| {
            let mut e = Expr::True;
            for _ in 0..200_000 {
                e = Expr::Not(Box::new(e));
            }
            assert_eq!(expr_depth(&e, MAX_FILTER_DEPTH), MAX_FILTER_DEPTH + 1);
            dispose_expr(e);
        });
    }
}
