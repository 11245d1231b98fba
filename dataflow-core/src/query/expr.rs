//! The untyped expression model: [`Expr`] over one table's columns, checked
//! for what would not mean the same on every backend, and rendered by the
//! dialects; [`OrderTerm`] for `ORDER BY`; the one `LIKE` escape.
//!
//! The typed API ([`crate::query::filter`]) and the JSON nodes both produce
//! it. Column names inside an `Expr` are `&'static str` taken from model
//! descriptors, so an identifier can never come from user input.

use crate::error::Result;
use crate::model::value::Value;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
}

impl CmpOp {
    /// The SQL operator.
    pub fn sql(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
        }
    }
}

/// An untyped boolean expression over one table's columns.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Matches every row.
    True,
    /// `column <op> value`
    Compare {
        /// Column name.
        column: &'static str,
        /// Operator.
        op: CmpOp,
        /// Bound value.
        value: Value,
    },
    /// `column IN (values)` or `NOT IN`.
    In {
        /// Column name.
        column: &'static str,
        /// Bound values; an empty list matches nothing (or everything when negated).
        values: Vec<Value>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `column IS NULL` or `IS NOT NULL`.
    IsNull {
        /// Column name.
        column: &'static str,
        /// `IS NOT NULL`.
        negated: bool,
    },
    /// `column LIKE pattern ESCAPE '\'`: `%` and `_` wildcards, `\` escapes
    /// the next character, case-sensitive on every backend.
    Like {
        /// Column name.
        column: &'static str,
        /// Bound pattern.
        pattern: String,
    },
    /// The regular expression `pattern` matches somewhere in the column's
    /// text (`~` on PostgreSQL, a registered `regexp()` on SQLite), with the
    /// one meaning [`crate::query::regex`] documents; patterns outside that
    /// subset are refused. Text columns only.
    Regex {
        /// Column name.
        column: &'static str,
        /// Bound pattern.
        pattern: String,
        /// ASCII letters match either case (the pattern must be ASCII).
        case_insensitive: bool,
    },
    /// The JSON document in `column` contains `value`, as PostgreSQL's `@>`
    /// (see [`crate::query::json`]).
    JsonContains {
        /// Column name (a JSON column).
        column: &'static str,
        /// The template.
        value: serde_json::Value,
    },
    /// The value at `path` in the JSON document in `column` compared with a
    /// JSON scalar (see [`crate::query::json`]).
    JsonPath {
        /// Column name (a JSON column).
        column: &'static str,
        /// The path, or why it could not be parsed (refused when run).
        path: std::result::Result<Vec<crate::query::json::JsonSegment>, String>,
        /// Operator.
        op: CmpOp,
        /// A string, number, boolean or null.
        value: serde_json::Value,
    },
    /// All of the expressions.
    And(Vec<Expr>),
    /// Any of the expressions.
    Or(Vec<Expr>),
    /// The negation.
    Not(Box<Expr>),
}

impl Expr {
    /// Conjunction that flattens nested `And`s and drops `True`.
    pub fn and(self, other: Expr) -> Expr {
        match (self, other) {
            (Expr::True, e) | (e, Expr::True) => e,
            (Expr::And(mut a), Expr::And(b)) => {
                a.extend(b);
                Expr::And(a)
            }
            (Expr::And(mut a), e) => {
                a.push(e);
                Expr::And(a)
            }
            (e, Expr::And(mut b)) => {
                b.insert(0, e);
                Expr::And(b)
            }
            (a, b) => Expr::And(vec![a, b]),
        }
    }

    /// Disjunction that flattens nested `Or`s.
    pub fn or(self, other: Expr) -> Expr {
        match (self, other) {
            (Expr::True, _) | (_, Expr::True) => Expr::True,
            (Expr::Or(mut a), Expr::Or(b)) => {
                a.extend(b);
                Expr::Or(a)
            }
            (Expr::Or(mut a), e) => {
                a.push(e);
                Expr::Or(a)
            }
            (a, b) => Expr::Or(vec![a, b]),
        }
    }

    /// Whether the expression matches every row.
    pub fn is_true(&self) -> bool {
        matches!(self, Expr::True)
    }

    /// Refuses what would not mean the same on every backend: values outside
    /// the range every backend orders alike (see [`Value::check_portable`]) and
    /// `LIKE` patterns ending in a lone escape (PostgreSQL rejects them, SQLite
    /// matches nothing), and regular expressions outside the subset every
    /// backend reads alike ([`check_regex`](crate::query::regex::check_regex)).
    /// Walks the tree without recursion, so any depth is safe.
    pub fn check(&self) -> Result<(), crate::error::Error> {
        let bad = |column: &str, why: String| {
            crate::error::Error::InvalidInput(format!("filter on column {column:?}: {why}"))
        };
        let mut stack = vec![self];
        while let Some(e) = stack.pop() {
            match e {
                Expr::True | Expr::IsNull { .. } => {}
                Expr::Compare { column, value, .. } => {
                    value.check_portable().map_err(|why| bad(column, why))?;
                }
                Expr::In { column, values, .. } => {
                    for v in values {
                        v.check_portable().map_err(|why| bad(column, why))?;
                    }
                }
                Expr::Like { column, pattern } => {
                    if ends_in_lone_escape(pattern) {
                        return Err(bad(
                            column,
                            format!(
                                "LIKE pattern {pattern:?} ends with the escape character \
                                 `{LIKE_ESCAPE}`; write `{LIKE_ESCAPE}{LIKE_ESCAPE}` for a literal one"
                            ),
                        ));
                    }
                }
                Expr::Regex {
                    column,
                    pattern,
                    case_insensitive,
                } => {
                    crate::query::regex::check_regex(pattern, *case_insensitive)
                        .map_err(|why| bad(column, why))?;
                }
                Expr::JsonContains { column, value } => {
                    crate::query::json::check_contains(value).map_err(|why| bad(column, why))?;
                }
                Expr::JsonPath {
                    column,
                    path,
                    op,
                    value,
                } => {
                    path.as_ref().map_err(|why| bad(column, why.clone()))?;
                    crate::query::json::check_path_compare(*op, value)
                        .map_err(|why| bad(column, why))?;
                }
                Expr::And(items) | Expr::Or(items) => stack.extend(items),
                Expr::Not(inner) => stack.push(inner),
            }
        }
        Ok(())
    }
}

/// Whether a `LIKE` pattern ends with an escape that escapes nothing.
fn ends_in_lone_escape(pattern: &str) -> bool {
    let mut escaped = false;
    for ch in pattern.chars() {
        escaped = !escaped && ch == LIKE_ESCAPE;
    }
    escaped
}

/// The escape character of every `LIKE` dataflow renders (`ESCAPE '\'`).
pub const LIKE_ESCAPE: char = '\\';

/// `text` as a `LIKE` pattern that matches exactly `text`: `%`, `_` and the
/// escape character itself are escaped.
pub fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | LIKE_ESCAPE) {
            out.push(LIKE_ESCAPE);
        }
        out.push(ch);
    }
    out
}

/// An untyped `ORDER BY` term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderTerm {
    /// Column name.
    pub column: &'static str,
    /// `DESC` instead of `ASC`.
    pub descending: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_text_matches_only_itself() {
        assert_eq!(escape_like("50%_a\\b"), "50\\%\\_a\\\\b");
        assert_eq!(escape_like(""), "");
    }

    #[test]
    fn a_lone_trailing_escape_is_refused() {
        let like = |p: &str| Expr::Like {
            column: "t",
            pattern: p.to_owned(),
        };
        for ok in ["", "a", "a\\\\", "\\%", "%\\\\\\_"] {
            assert!(like(ok).check().is_ok(), "{ok:?}");
        }
        for bad in ["\\", "a\\", "a\\\\\\"] {
            let nested = Expr::Not(Box::new(Expr::True.and(like("x")).and(like(bad))));
            assert!(
                matches!(nested.check(), Err(crate::Error::InvalidInput(m)) if m.contains("escape")),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn dates_outside_four_digit_years_are_refused_in_filters() {
        let day = |y| Value::Date(chrono::NaiveDate::from_ymd_opt(y, 1, 1).unwrap());
        let cmp = |v| Expr::Compare {
            column: "d",
            op: CmpOp::Lt,
            value: v,
        };
        assert!(cmp(day(0)).check().is_ok());
        assert!(cmp(day(9999)).check().is_ok());
        assert!(cmp(day(10_000)).check().is_err());
        let within_in = Expr::In {
            column: "d",
            values: vec![day(2000), day(-1)],
            negated: true,
        };
        assert!(Expr::True.or(cmp(day(1))).and(within_in).check().is_err());
    }
}
