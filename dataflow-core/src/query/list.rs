//! `M::list(&db)`: the query builder for reading many rows.

use std::marker::PhantomData;

use crate::error::{Error, Result};
use crate::model::descriptor::Managed;
use crate::model::Model;
use crate::query::expr::Expr;
use crate::query::filter::{Filter, Order, OrderTerm};
use crate::query::record::{Records, Select};
use crate::query::QueryHandle;

/// Which rows of a soft-delete model a list sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deleted {
    /// Live rows only (the default).
    Hide,
    /// Live and soft-deleted rows.
    Include,
    /// Soft-deleted rows only.
    Only,
}

/// A query over the rows of `M`, built by chaining and run by [`List::all`],
/// [`List::first`], [`List::count`] or an aggregate ([`List::sum`],
/// [`List::group_by`], see [`crate::query::aggregate`]).
///
/// A `List` is `Clone`, so one builder can give both a page and the total:
///
/// ```ignore
/// let q = User::list(&db).filter(User::AGE.gt(18)).order_by(User::NAME.asc());
/// let total: i64 = q.clone().count()?;
/// let page = q.limit(20).offset(40).all()?;
/// ```
///
/// Counts, limits and offsets are `i64` throughout; a negative limit or
/// offset is an `Error::InvalidInput` when the query runs.
#[must_use = "a List does nothing until .all(), .first() or .count() runs it"]
pub struct List<'a, M> {
    db: &'a dyn QueryHandle,
    filter: Filter<M>,
    order: Vec<OrderTerm>,
    limit: Option<i64>,
    offset: Option<i64>,
    deleted: Deleted,
    _model: PhantomData<fn() -> M>,
}

impl<M> Clone for List<'_, M> {
    fn clone(&self) -> Self {
        List {
            db: self.db,
            filter: self.filter.clone(),
            order: self.order.clone(),
            limit: self.limit,
            offset: self.offset,
            deleted: self.deleted,
            _model: PhantomData,
        }
    }
}

impl<'a, M: Model> List<'a, M> {
    /// All rows of `M` (live rows only under soft delete).
    pub fn new(db: &'a dyn QueryHandle) -> Self {
        List {
            db,
            filter: Filter::all(),
            order: Vec::new(),
            limit: None,
            offset: None,
            deleted: Deleted::Hide,
            _model: PhantomData,
        }
    }

    /// Keeps rows matching `filter`; several calls combine with AND.
    pub fn filter(mut self, filter: Filter<M>) -> Self {
        self.filter = std::mem::replace(&mut self.filter, Filter::all()).and(filter);
        self
    }

    /// Adds an ordering term; several calls order by each in turn.
    pub fn order_by(mut self, order: Order<M>) -> Self {
        self.order.push(order.term());
        self
    }

    /// Returns at most `n` rows (`n` ≥ 0).
    pub fn limit(mut self, n: i64) -> Self {
        self.limit = Some(n);
        self
    }

    /// Skips the first `n` rows (`n` ≥ 0).
    pub fn offset(mut self, n: i64) -> Self {
        self.offset = Some(n);
        self
    }

    /// Includes soft-deleted rows (no effect on models without soft delete).
    pub fn with_deleted(mut self) -> Self {
        self.deleted = Deleted::Include;
        self
    }

    /// Only soft-deleted rows (the trash, for [`restore`](crate::query::crud::restore)).
    /// On a model without soft delete the query is refused with
    /// `Error::InvalidInput` when it runs.
    pub fn only_deleted(mut self) -> Self {
        self.deleted = Deleted::Only;
        self
    }

    /// The handle and the untyped selection this list stands for.
    pub(crate) fn into_select(self) -> Result<(&'a dyn QueryHandle, Select)> {
        let d = M::DESCRIPTOR;
        let mut filter = self.filter.try_into_expr()?;
        if self.deleted == Deleted::Only {
            let Some(col) = d.managed(Managed::DeletedAt) else {
                return Err(Error::InvalidInput(format!(
                    "{}: only_deleted() on a model without soft_delete",
                    d.name
                )));
            };
            filter = filter.and(Expr::IsNull {
                column: col.name,
                negated: true,
            });
        }
        let window = |v: Option<i64>, what: &str| match v {
            Some(n) if n < 0 => Err(Error::InvalidInput(format!(
                "{}: {what} {n} is negative",
                d.name
            ))),
            _ => Ok(v),
        };
        Ok((
            self.db,
            Select {
                filter,
                order: self.order,
                limit: window(self.limit, "limit")?,
                offset: window(self.offset, "offset")?,
                include_deleted: self.deleted != Deleted::Hide,
            },
        ))
    }

    /// Runs the query, returning every matching row.
    pub fn all(self) -> Result<Vec<M>> {
        let (db, select) = self.into_select()?;
        let mut out = Vec::new();
        Records::new(db, M::DESCRIPTOR).select_as(select, &mut out, &mut M::from_row)?;
        Ok(out)
    }

    /// Runs the query with `LIMIT 1` (or the smaller limit given: after
    /// `limit(0)`, `None`).
    pub fn first(self) -> Result<Option<M>> {
        let n = self.limit.map_or(1, |l| l.min(1));
        Ok(self.limit(n).all()?.into_iter().next())
    }

    /// Counts the matching rows (ignores order, limit and offset).
    pub fn count(self) -> Result<i64> {
        let (db, select) = self.into_select()?;
        Records::new(db, M::DESCRIPTOR).count(select.filter, select.include_deleted)
    }

    /// Whether any row matches.
    pub fn exists(self) -> Result<bool> {
        Ok(self.count()? > 0)
    }
}
