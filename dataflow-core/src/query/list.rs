//! `M::list(&db)`: the query builder for reading many rows.

use std::marker::PhantomData;

use crate::dataflow::DataFlow;
use crate::error::{Error, Result};
use crate::model::value::{LogicalType, Value};
use crate::model::Model;
use crate::query::crud::{checked_filter, explain, query_models, where_clause};
use crate::query::filter::{Filter, Order, OrderTerm};
use crate::query::statement::SqlWriter;

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
    db: &'a DataFlow,
    filter: Filter<M>,
    order: Vec<OrderTerm>,
    limit: Option<u64>,
    offset: Option<u64>,
    with_deleted: bool,
    _model: PhantomData<fn() -> M>,
}

impl<'a, M: Model> List<'a, M> {
    /// All rows of `M` (live rows only under soft delete).
    pub fn new(db: &'a DataFlow) -> Self {
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

    fn live(&self) -> Option<&'static str> {
        if self.with_deleted {
            None
        } else {
            M::DESCRIPTOR
                .sql(self.db.dialect(), self.db.capabilities())
                .live_only
                .as_deref()
        }
    }

    fn bound(v: Option<u64>, what: &str) -> Result<Option<i64>> {
        v.map(|n| {
            i64::try_from(n).map_err(|_| Error::InvalidInput(format!("{what} {n} is too large")))
        })
        .transpose()
    }

    /// Runs the query, returning every matching row.
    pub fn all(mut self) -> Result<Vec<M>> {
        let dialect = self.db.dialect();
        let sql = M::DESCRIPTOR.sql(dialect, self.db.capabilities());
        let filter = checked_filter(std::mem::replace(&mut self.filter, Filter::all()))?;
        let mut w = SqlWriter::from_text(dialect, &sql.select, Vec::new()).for_model(M::DESCRIPTOR);
        where_clause(&mut w, &filter, self.live())?;
        w.order_by(&self.order);
        dialect.limit_offset(
            Self::bound(self.limit, "limit")?,
            Self::bound(self.offset, "offset")?,
            &mut w,
        );
        let s = w.finish();
        let mut out = Vec::with_capacity(self.limit.map_or(16, |l| l.min(1024) as usize));
        let r = self
            .db
            .with_conn(|c| query_models::<M>(c, &s.text, &s.binds, &sql.types, &mut out));
        explain(self.db, M::DESCRIPTOR, r)?;
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
        let dialect = self.db.dialect();
        let d = M::DESCRIPTOR;
        let filter = checked_filter(std::mem::replace(&mut self.filter, Filter::all()))?;
        let mut w = SqlWriter::new(dialect).for_model(d);
        w.push("SELECT COUNT(*) FROM ").ident(d.table);
        where_clause(&mut w, &filter, self.live())?;
        let s = w.finish();
        let mut n = 0;
        let r = self.db.with_conn(|c| {
            c.query(&s.text, &s.binds, &[LogicalType::BigInt], &mut |row| {
                if let Value::I64(v) = row[0] {
                    n = v;
                }
                Ok(())
            })
        });
        explain(self.db, d, r)?;
        Ok(n)
    }

    /// Whether any row matches.
    pub fn exists(self) -> Result<bool> {
        Ok(self.count()? > 0)
    }
}
