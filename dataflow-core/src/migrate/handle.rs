//! What migrations need of a database handle, as a trait the `DataFlow`
//! handle implements: the migration layer takes `&dyn MigrateHandle` instead
//! of importing the handle above it.

use std::sync::Arc;

use crate::backend::capabilities::Capabilities;
use crate::backend::{Backend, Connection};
use crate::error::Result;
use crate::migrate::describe::Describe;
use crate::migrate::dialect::Dialect;
use crate::migrate::schema::Schema;
use crate::model::descriptor::ModelDescriptor;
use crate::query::QueryHandle;
use crate::terminal::Interaction;

/// A database handle as migrations see it.
pub trait MigrateHandle: Send + Sync {
    /// How the backend spells SQL, DDL included.
    fn dialect(&self) -> &'static dyn Dialect;

    /// What the backend's database supports.
    fn capabilities(&self) -> &Capabilities;

    /// The backend: connections, transactions, the migration lock.
    fn backend(&self) -> &dyn Backend;

    /// How the backend reads the live schema.
    fn describer(&self) -> &'static dyn Describe;

    /// The registered models, in registration order.
    fn models(&self) -> Vec<&'static ModelDescriptor>;

    /// The schema the registered models declare, normalised for the dialect.
    fn target_schema(&self) -> Schema;

    /// The live schema read on `conn`, normalised for the dialect.
    fn describe_with(&self, conn: &mut dyn Connection) -> Result<Schema>;

    /// Replaces each live partial-index condition and `CHECK` condition by
    /// the model's spelling when the database printed the same condition
    /// differently.
    fn align_predicates(
        &self,
        conn: &mut dyn Connection,
        live: &mut Schema,
        target: &Schema,
    ) -> Result<()>;

    /// Who migrations ask for consent and show progress to.
    fn interaction(&self) -> Arc<dyn Interaction>;

    /// The same handle as the query layer sees it (fixtures insert through it).
    fn as_query(&self) -> &dyn QueryHandle;

    /// Runs a data step's function `f` with a handle bound to the migration's
    /// connection `conn` (in its transaction when `in_transaction`), so what
    /// the step does commits or rolls back with the migration.
    fn run_data_step(
        &self,
        conn: &mut dyn Connection,
        in_transaction: bool,
        f: &crate::migrate::files::source::DataFn,
    ) -> Result<()>;
}

impl dyn MigrateHandle + '_ {
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
