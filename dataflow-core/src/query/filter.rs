//! The typed front ends of the query model: [`Column`], [`Filter`] and
//! [`Order`] of a model build the untyped [`Expr`] and [`OrderTerm`]
//! ([`crate::query::expr`]), and filters of different models do not mix.

use std::fmt;
use std::marker::PhantomData;

use crate::error::{Error, Result};
use crate::limits::MAX_FILTER_DEPTH;
use crate::model::field::{FieldType, Operand};
use crate::model::value::Value;
use crate::query::limits::{dispose_expr, expr_depth};

pub use crate::query::expr::{escape_like, CmpOp, Expr, OrderTerm, LIKE_ESCAPE};

/// A typed filter over the rows of model `M`.
///
/// Built from the model's column constants; filters of different models do not mix.
///
/// ```ignore
/// User::list(&db).filter(User::AGE.gt(18).and(User::NAME.like("A%"))).all()?;
/// ```
pub struct Filter<M> {
    expr: Expr,
    /// Nesting depth of `expr`, or `None` when the filter nests deeper than
    /// [`MAX_FILTER_DEPTH`]: then `expr` matches no row and using the filter is
    /// an `Error::InvalidInput`. Tracked as filters are combined, so a deep
    /// expression is never built (rendering, cloning and dropping it would
    /// recurse once per level).
    depth: Option<usize>,
    _model: PhantomData<fn() -> M>,
}

impl<M> Filter<M> {
    /// Wraps an untyped expression (for generated code and the JSON nodes). An
    /// expression nested deeper than [`MAX_FILTER_DEPTH`] is taken apart
    /// without recursion and the filter is refused when used.
    pub fn from_expr(expr: Expr) -> Self {
        let depth = expr_depth(&expr, MAX_FILTER_DEPTH);
        Self::with_depth(expr, Some(depth))
    }

    fn with_depth(expr: Expr, depth: Option<usize>) -> Self {
        match depth {
            Some(d) if d <= MAX_FILTER_DEPTH => Filter {
                expr,
                depth,
                _model: PhantomData,
            },
            _ => {
                dispose_expr(expr);
                Filter {
                    expr: Expr::Or(Vec::new()),
                    depth: None,
                    _model: PhantomData,
                }
            }
        }
    }

    /// Matches every row: the explicit way to address a whole table in
    /// `bulk_update` / `bulk_delete`.
    pub fn all() -> Self {
        Self::from_expr(Expr::True)
    }

    /// Both filters.
    pub fn and(self, other: Filter<M>) -> Self {
        let depth = match (self.depth, other.depth) {
            (Some(a), Some(b)) => Some(match (&self.expr, &other.expr) {
                (Expr::True, _) => b,
                (_, Expr::True) => a,
                (Expr::And(_), Expr::And(_)) => a.max(b),
                (Expr::And(_), _) => a.max(b + 1),
                (_, Expr::And(_)) => b.max(a + 1),
                _ => a.max(b) + 1,
            }),
            _ => None,
        };
        Self::with_depth(self.expr.and(other.expr), depth)
    }

    /// Either filter.
    pub fn or(self, other: Filter<M>) -> Self {
        let depth = match (self.depth, other.depth) {
            (Some(a), Some(b)) => Some(match (&self.expr, &other.expr) {
                (Expr::True, _) | (_, Expr::True) => 1,
                (Expr::Or(_), Expr::Or(_)) => a.max(b),
                (Expr::Or(_), _) => a.max(b + 1),
                _ => a.max(b) + 1,
            }),
            _ => None,
        };
        Self::with_depth(self.expr.or(other.expr), depth)
    }

    /// The negation.
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Self {
        let depth = self.depth.map(|d| d + 1);
        Self::with_depth(Expr::Not(Box::new(self.expr)), depth)
    }

    /// The untyped expression (one matching no row when the filter nests
    /// deeper than [`MAX_FILTER_DEPTH`]; [`Filter::try_expr`] says so).
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// The untyped expression, or `Error::InvalidInput` when the filter nests
    /// deeper than [`MAX_FILTER_DEPTH`].
    pub fn try_expr(&self) -> Result<&Expr> {
        match self.depth {
            Some(_) => Ok(&self.expr),
            None => Err(too_deep()),
        }
    }

    /// Consumes the filter, returning the untyped expression.
    pub fn into_expr(self) -> Expr {
        self.expr
    }

    /// Consumes the filter, returning the untyped expression, or
    /// `Error::InvalidInput` when the filter nests deeper than
    /// [`MAX_FILTER_DEPTH`].
    pub fn try_into_expr(self) -> Result<Expr> {
        match self.depth {
            Some(_) => Ok(self.expr),
            None => Err(too_deep()),
        }
    }
}

fn too_deep() -> Error {
    Error::InvalidInput(format!(
        "filter nested deeper than {MAX_FILTER_DEPTH} levels"
    ))
}

impl<M> Clone for Filter<M> {
    fn clone(&self) -> Self {
        Filter {
            expr: self.expr.clone(),
            depth: self.depth,
            _model: PhantomData,
        }
    }
}

impl<M> fmt::Debug for Filter<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.expr.fmt(f)
    }
}

impl<M> std::ops::Not for Filter<M> {
    type Output = Filter<M>;
    fn not(self) -> Self {
        Filter::not(self)
    }
}

/// A typed column of model `M` whose Rust type is `T`: `User::AGE` is a
/// `Column<User, Option<i32>>`.
pub struct Column<M, T> {
    name: &'static str,
    _marker: PhantomData<fn() -> (M, T)>,
}

impl<M, T> Clone for Column<M, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<M, T> Copy for Column<M, T> {}

impl<M, T> fmt::Debug for Column<M, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Column({})", self.name)
    }
}

impl<M, T> Column<M, T> {
    /// Used by the derive.
    #[doc(hidden)]
    pub const fn new(name: &'static str) -> Self {
        Column {
            name,
            _marker: PhantomData,
        }
    }

    /// The column name in the database.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// Ascending order on this column.
    pub fn asc(self) -> Order<M> {
        Order::new(self.name, false)
    }

    /// Descending order on this column.
    pub fn desc(self) -> Order<M> {
        Order::new(self.name, true)
    }
}

impl<M, T: FieldType> Column<M, T> {
    fn cmp(self, op: CmpOp, value: Value) -> Filter<M> {
        Filter::from_expr(Expr::Compare {
            column: self.name,
            op,
            value,
        })
    }

    /// `column = value`
    pub fn eq(self, value: impl Operand<T::Inner>) -> Filter<M> {
        self.cmp(CmpOp::Eq, value.into_operand())
    }
    /// `column <> value`
    pub fn ne(self, value: impl Operand<T::Inner>) -> Filter<M> {
        self.cmp(CmpOp::Ne, value.into_operand())
    }
    /// `column > value`
    pub fn gt(self, value: impl Operand<T::Inner>) -> Filter<M> {
        self.cmp(CmpOp::Gt, value.into_operand())
    }
    /// `column >= value`
    pub fn ge(self, value: impl Operand<T::Inner>) -> Filter<M> {
        self.cmp(CmpOp::Ge, value.into_operand())
    }
    /// `column < value`
    pub fn lt(self, value: impl Operand<T::Inner>) -> Filter<M> {
        self.cmp(CmpOp::Lt, value.into_operand())
    }
    /// `column <= value`
    pub fn le(self, value: impl Operand<T::Inner>) -> Filter<M> {
        self.cmp(CmpOp::Le, value.into_operand())
    }

    /// `column IN (values)`; an empty list matches no row.
    pub fn is_in<V: Operand<T::Inner>>(self, values: impl IntoIterator<Item = V>) -> Filter<M> {
        Filter::from_expr(Expr::In {
            column: self.name,
            values: values.into_iter().map(Operand::into_operand).collect(),
            negated: false,
        })
    }

    /// `column NOT IN (values)`; an empty list matches every row.
    pub fn not_in<V: Operand<T::Inner>>(self, values: impl IntoIterator<Item = V>) -> Filter<M> {
        Filter::from_expr(Expr::In {
            column: self.name,
            values: values.into_iter().map(Operand::into_operand).collect(),
            negated: true,
        })
    }
}

impl<M, T: FieldType<Inner = String>> Column<M, T> {
    /// `column LIKE pattern ESCAPE '\'`, case-sensitive: `%` matches any run of
    /// characters, `_` one character, and `\` makes the character after it
    /// literal (`like("50\\%")` matches the text `50%`). The same meaning on every
    /// backend; a pattern ending in a lone `\` is refused with
    /// `Error::InvalidInput` when the query runs. Text columns only.
    pub fn like(self, pattern: impl Into<String>) -> Filter<M> {
        Filter::from_expr(Expr::Like {
            column: self.name,
            pattern: pattern.into(),
        })
    }

    /// Rows whose text the regular expression `pattern` matches somewhere
    /// (anchor with `^` and `$`), case-sensitive: `~` on PostgreSQL, the
    /// `regex` crate on SQLite, with one meaning on both. Patterns outside the
    /// subset both read alike (backreferences, lookaround, `\d`, `\w`,
    /// `[[:alpha:]]`, inline flags, …; see [`crate::query::regex`]) are refused
    /// with `Error::InvalidInput` when the query runs. The node filter
    /// `{"name": {"$regex": "^A"}}` builds the same expression. Text columns only.
    pub fn regex(self, pattern: impl Into<String>) -> Filter<M> {
        Filter::from_expr(Expr::Regex {
            column: self.name,
            pattern: pattern.into(),
            case_insensitive: false,
        })
    }

    /// As [`Column::regex`], ASCII letters matching either case (`~*` on
    /// PostgreSQL); the pattern must be ASCII. The node filter's
    /// `{"$regex": p, "$options": "i"}`.
    pub fn regex_ignore_case(self, pattern: impl Into<String>) -> Filter<M> {
        Filter::from_expr(Expr::Regex {
            column: self.name,
            pattern: pattern.into(),
            case_insensitive: true,
        })
    }

    /// Rows whose text contains `text` (taken literally: `%`, `_` and `\` in
    /// it are not wildcards). Case-sensitive.
    pub fn contains(self, text: &str) -> Filter<M> {
        self.like(format!("%{}%", escape_like(text)))
    }

    /// Rows whose text starts with `text` (taken literally). Case-sensitive.
    pub fn starts_with(self, text: &str) -> Filter<M> {
        self.like(format!("{}%", escape_like(text)))
    }

    /// Rows whose text ends with `text` (taken literally). Case-sensitive.
    pub fn ends_with(self, text: &str) -> Filter<M> {
        self.like(format!("%{}", escape_like(text)))
    }
}

impl<M, T: crate::model::field::Scalar> Column<M, Option<T>> {
    /// `column IS NULL`. Nullable (`Option<T>`) columns only.
    pub fn is_null(self) -> Filter<M> {
        Filter::from_expr(Expr::IsNull {
            column: self.name,
            negated: false,
        })
    }

    /// `column IS NOT NULL`. Nullable (`Option<T>`) columns only.
    pub fn is_not_null(self) -> Filter<M> {
        Filter::from_expr(Expr::IsNull {
            column: self.name,
            negated: true,
        })
    }
}

/// One `ORDER BY` term on model `M`.
pub struct Order<M> {
    pub(crate) column: &'static str,
    pub(crate) descending: bool,
    _model: PhantomData<fn() -> M>,
}

impl<M> Order<M> {
    /// Used by generated code and the JSON nodes.
    #[doc(hidden)]
    pub fn new(column: &'static str, descending: bool) -> Self {
        Order {
            column,
            descending,
            _model: PhantomData,
        }
    }

    /// The untyped term.
    pub fn term(&self) -> OrderTerm {
        OrderTerm {
            column: self.column,
            descending: self.descending,
        }
    }
}

impl<M> Clone for Order<M> {
    fn clone(&self) -> Self {
        Order::new(self.column, self.descending)
    }
}

impl<M> fmt::Debug for Order<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.term().fmt(f)
    }
}
