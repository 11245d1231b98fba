//! The query layer: filters, lists, statements and CRUD over registered models.
//!
//! [`expr`] is the one expression model (checked, and rendered with bound
//! values), [`filter`] its typed front end (model columns build it),
//! [`statement`] renders CRUD statements through the backend's dialect and
//! caches the fixed ones per model, [`record`] is the CRUD written once,
//! untyped, over a model descriptor and values, and [`crud`] and [`list`] are
//! the typed wrappers over it that the derive's functions call;
//! [`json`] holds the JSON filters and their reference meaning; [`aggregate`] adds `sum`/`avg`/`min`/`max`/`group_by` to lists. [`dialect`] is
//! how a backend spells these statements; [`limits`] measures and drops
//! expressions without recursion; [`regex`] is the regular-expression subset
//! every backend reads alike.
//!
//! The layer sees a database through [`QueryHandle`], which the `DataFlow`
//! handle implements: it reaches down to the backend seam and the model, never
//! up to migrations or the handle itself.

pub mod aggregate;
pub mod crud;
pub mod dialect;
pub mod expr;
pub mod filter;
pub mod json;
pub mod limits;
pub mod list;
pub mod record;
pub mod regex;
pub mod statement;

use crate::backend::capabilities::Capabilities;
use crate::backend::{Backend, Connection};
use crate::error::Result;
use crate::model::descriptor::ModelDescriptor;
use crate::query::dialect::QueryDialect;

/// What the query layer needs of a database handle. `DataFlow` implements
/// it; the CRUD functions, [`record::Records`] and [`list::List`] take `&dyn QueryHandle`, so the
/// layer does not depend on the handle above it.
pub trait QueryHandle: Send + Sync {
    /// How the backend spells CRUD statements.
    fn dialect(&self) -> &'static dyn QueryDialect;

    /// What the backend's database supports.
    fn capabilities(&self) -> &Capabilities;

    /// The backend: connections and transactions.
    fn backend(&self) -> &dyn Backend;

    /// The registered models, in registration order.
    fn models(&self) -> Vec<&'static ModelDescriptor>;

    /// The column names of live table `table`, `None` when it does not exist.
    /// Asked only on error paths, to name what a table lacks.
    fn live_columns(&self, table: &str) -> Result<Option<Vec<String>>>;
}

impl dyn QueryHandle + '_ {
    /// Runs `f` with a pooled connection.
    pub fn with_conn<R>(&self, f: impl FnOnce(&mut dyn Connection) -> Result<R>) -> Result<R> {
        crate::backend::with_conn(self.backend(), f)
    }

    /// Runs the read-only `f` through the backend's read path (a replica when
    /// there are some); `f` may run again, see
    /// [`Backend::with_read_connection`].
    pub(crate) fn with_read_conn<R>(
        &self,
        f: impl FnMut(&mut dyn Connection) -> Result<R>,
    ) -> Result<R> {
        crate::backend::with_read_conn(self.backend(), f)
    }

    /// Runs `f` in a write transaction: committed on `Ok`, rolled back on
    /// `Err`. On a handle bound to a user transaction, a savepoint of it.
    pub(crate) fn with_tx<R>(&self, f: impl FnOnce(&mut dyn Connection) -> Result<R>) -> Result<R> {
        crate::backend::with_tx(self.backend(), f)
    }
}
