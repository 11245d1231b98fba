//! `M::list(&db)`: the query builder for reading many rows.

use std::marker::PhantomData;

use crate::error::Result;
use crate::model::Model;
use crate::query::filter::{Filter, Order, OrderTerm};
use crate::query::record::{Records, Select};
use crate::query::QueryHandle;

/// A query over the rows of `M`, built by chaining and run by [`List::all`],
/// [`List::first`] or [`List::count`].
///
/// ```ignore
/// let adults = User::list(&db)
///     .filter(User::AGE.gt(18))
///     .order_by(User::NAME.asc())
///     .limit(20)
///     .all()?;
/// ```
#[must_use = "a List does nothing until .all(), .first() or .count() runs it"]
pub struct List<'a, M> {
    db: &'a dyn QueryHandle,
    filter: Filter<M>,
    order: Vec<OrderTerm>,
    limit: Option<u64>,
    offset: Option<u64>,
    with_deleted: bool,
    _model: PhantomData<fn() -> M>,
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
            with_deleted: false,
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

    /// Returns at most `n` rows.
    pub fn limit(mut self, n: u64) -> Self {
        self.limit = Some(n);
        self
    }

    /// Skips the first `n` rows.
    pub fn offset(mut self, n: u64) -> Self {
        self.offset = Some(n);
        self
    }

    /// Includes soft-deleted rows (no effect on models without soft delete).
    pub fn with_deleted(mut self) -> Self {
        self.with_deleted = true;
        self
    }

    fn select(&mut self) -> Result<Select> {
        let filter = std::mem::replace(&mut self.filter, Filter::all()).try_into_expr()?;
        Ok(Select {
            filter,
            order: std::mem::take(&mut self.order),
            limit: self.limit,
            offset: self.offset,
            include_deleted: self.with_deleted,
        })
    }

    /// Runs the query, returning every matching row.
    pub fn all(mut self) -> Result<Vec<M>> {
        let select = self.select()?;
        let mut out = Vec::new();
        Records::new(self.db, M::DESCRIPTOR).select_as(select, &mut out, &mut M::from_row)?;
        Ok(out)
    }

    /// Runs the query with `LIMIT 1` (or the smaller limit given: after
    /// `limit(0)`, `None`).
    pub fn first(self) -> Result<Option<M>> {
        let n = self.limit.map_or(1, |l| l.min(1));
        Ok(self.limit(n).all()?.into_iter().next())
    }

    /// Counts the matching rows (ignores order, limit and offset).
    pub fn count(mut self) -> Result<i64> {
        let select = self.select()?;
        Records::new(self.db, M::DESCRIPTOR).count(select.filter, select.include_deleted)
    }

    /// Whether any row matches.
    pub fn exists(self) -> Result<bool> {
        Ok(self.count()? > 0)
    }
}
