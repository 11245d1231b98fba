//! The untyped record layer: CRUD over a model descriptor, [`Value`]s and a
//! filter [`Expr`], found by model or table name.
//!
//! This is the one CRUD implementation. The functions `#[derive(Model)]`
//! generates ([`crate::query::crud`], [`crate::query::list`]) are thin typed
//! wrappers over it that decode rows straight into the struct; fixtures insert
//! through it; tools that only know a model's name at run time (JSON nodes, admin
//! tools) use it directly:
//!
//! ```ignore
//! let users = Records::of(&db, "users")?;
//! let row = users.insert(vec![Value::I64(0), Value::Text("Ann".into())])?;
//! let adults = users.select(Select::filtered(Expr::Compare {
//!     column: "age", op: CmpOp::Ge, value: Value::I16(18),
//! }))?;
//! ```
//!
//! A row is one value per column of the descriptor, in its order (managed
//! columns included). Every write validates its values before anything is
//! sent (declared lengths, portable ranges, nesting limits); untyped calls are
//! also checked against the model (row length, value types, known columns), so
//! identifiers only ever come from the descriptor and values are always bound.
//! Single-row writes are one statement (in a transaction when more has to
//! follow it); bulk writes run in one transaction, all or nothing.

pub(crate) mod check;
mod read;
pub(crate) mod sql;
mod write;

use crate::error::{Error, Result};
use crate::model::descriptor::ModelDescriptor;
use crate::model::row::RowReader;
use crate::model::value::Value;
use crate::query::filter::{Expr, OrderTerm};
use crate::query::QueryHandle;

pub use check::{now, wants_generated_key};
pub use sql::rows_per_statement;

/// What [`Records::select`] returns: filter, order, window, and whether
/// soft-deleted rows count.
#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    /// Rows to keep ([`Expr::True`] for all).
    pub filter: Expr,
    /// `ORDER BY` terms, applied in turn.
    pub order: Vec<OrderTerm>,
    /// At most this many rows (negative: `Error::InvalidInput`).
    pub limit: Option<i64>,
    /// Skip this many rows first (negative: `Error::InvalidInput`).
    pub offset: Option<i64>,
    /// Include soft-deleted rows (no effect on models without soft delete).
    pub include_deleted: bool,
}

impl Default for Select {
    fn default() -> Self {
        Select::filtered(Expr::True)
    }
}

impl Select {
    /// Every row matching `filter`, unordered, live rows only.
    pub fn filtered(filter: Expr) -> Self {
        Select {
            filter,
            order: Vec::new(),
            limit: None,
            offset: None,
            include_deleted: false,
        }
    }
}

/// What [`Records::aggregate`] computes: one aggregate over the rows matching
/// `filter`, per value of `group_by` when given (see [`crate::query::aggregate`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregation {
    /// Rows to aggregate ([`Expr::True`] for all).
    pub filter: Expr,
    /// Include soft-deleted rows.
    pub include_deleted: bool,
    /// The key column; `None`: one aggregate over every matching row.
    pub group_by: Option<&'static str>,
    /// The aggregate function.
    pub func: crate::query::aggregate::Aggregate,
    /// The aggregated column (`None` for `Count`).
    pub column: Option<&'static str>,
}

/// CRUD over the rows of one model, untyped. See the [module docs](self).
#[derive(Clone, Copy)]
pub struct Records<'a> {
    db: &'a dyn QueryHandle,
    model: &'static ModelDescriptor,
}

impl std::fmt::Debug for Records<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Records")
            .field("model", &self.model.name)
            .finish()
    }
}

/// Decodes one row read back from the database: the typed API straight into
/// the struct (`Model::from_row`), the untyped one into values.
pub(crate) trait Decode<O>: FnMut(&mut dyn RowReader) -> Result<O> {}
impl<O, F: FnMut(&mut dyn RowReader) -> Result<O>> Decode<O> for F {}

/// The untyped decoding: the row's values.
fn values(row: &mut dyn RowReader) -> Result<Vec<Value>> {
    crate::model::row::values(row)
}

impl<'a> Records<'a> {
    /// The records of `model` (registered or not).
    pub fn new(db: &'a dyn QueryHandle, model: &'static ModelDescriptor) -> Self {
        Records { db, model }
    }

    /// The records of the registered model named `name`, by model name
    /// (`User`) or table name (`users`); `Error::InvalidInput` listing the
    /// registered models when there is none.
    pub fn of(db: &'a dyn QueryHandle, name: &str) -> Result<Self> {
        let models = db.models();
        models
            .iter()
            .find(|m| m.name == name)
            .or_else(|| models.iter().find(|m| m.table == name))
            .map(|&model| Records { db, model })
            .ok_or_else(|| {
                let known: Vec<String> = models
                    .iter()
                    .map(|m| format!("{} ({})", m.name, m.table))
                    .collect();
                Error::InvalidInput(format!(
                    "no registered model or table named {name:?} (registered: {})",
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                ))
            })
    }

    /// The model these records belong to.
    pub fn model(&self) -> &'static ModelDescriptor {
        self.model
    }

    /// The index of a column, by field name or column name.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        let cols = self.model.columns;
        cols.iter()
            .position(|c| c.field == Some(name))
            .or_else(|| cols.iter().position(|c| c.name == name))
    }

    fn live(&self, include_deleted: bool) -> Option<&'static str> {
        if include_deleted {
            None
        } else {
            self.model
                .sql(self.db.dialect(), self.db.capabilities())
                .live_only
                .as_deref()
        }
    }
}
