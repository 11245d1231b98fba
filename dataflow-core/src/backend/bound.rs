//! The backend of a handle bound to one user transaction
//! ([`DataFlow::transaction`](crate::DataFlow::transaction)): every call runs
//! on the one [`HeldConnection`], so typed functions, the record layer, nodes
//! and fixtures all join the transaction instead of taking another pooled
//! connection. A write that needs a transaction of its own (a bulk insert, a
//! write read back) gets a savepoint, so it stays all or nothing inside the
//! user's transaction.
//!
//! The connection sits behind a mutex: a bound handle is still `Send + Sync`,
//! and calls from several threads run on the connection one at a time. When
//! the transaction ends the connection is taken out, so a clone of the handle
//! kept past the closure fails with `Error::InvalidInput` instead of writing
//! outside the transaction.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::backend::capabilities::Capabilities;
use crate::backend::{Backend, Connection, HeldConnection};
use crate::error::{Error, Result};

/// A [`Backend`] over one held connection in a transaction.
pub(crate) struct Bound {
    held: Mutex<Option<Box<dyn HeldConnection>>>,
    capabilities: Capabilities,
}

impl Bound {
    /// Binds `held`, on which a transaction has been opened.
    pub(crate) fn new(held: Box<dyn HeldConnection>, capabilities: Capabilities) -> Self {
        Bound {
            held: Mutex::new(Some(held)),
            capabilities,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<Box<dyn HeldConnection>>> {
        // A panic inside a call leaves the connection as it was: the
        // transaction it belongs to is rolled back when the panic reaches it.
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the held connection; `Error::InvalidInput` once the
    /// transaction has ended.
    pub(crate) fn with_held<R>(
        &self,
        f: impl FnOnce(&mut dyn HeldConnection) -> Result<R>,
    ) -> Result<R> {
        match self.lock().as_deref_mut() {
            Some(held) => f(held),
            None => Err(Error::InvalidInput(
                "this handle's transaction has ended: use the handle the transaction was \
                 called on, not one kept from inside its closure"
                    .into(),
            )),
        }
    }

    /// Takes the connection out, ending what the handle can do.
    pub(crate) fn take(&self) -> Option<Box<dyn HeldConnection>> {
        self.lock().take()
    }
}

/// Runs `f` in a nested transaction (savepoint) of `held`: committed on `Ok`,
/// rolled back on `Err`.
fn in_savepoint(
    held: &mut dyn HeldConnection,
    f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>,
) -> Result<()> {
    held.begin()?;
    match held.run(f) {
        Ok(()) => held.commit(),
        Err(e) => {
            if let Err(undo) = held.rollback() {
                tracing::warn!("rolling back to a savepoint failed: {undo}");
            }
            Err(e)
        }
    }
}

fn no_migrations() -> Error {
    Error::InvalidInput(
        "migrations cannot run inside DataFlow::transaction: they take the migration lock and \
         a transaction of their own; run them on the handle outside the transaction"
            .into(),
    )
}

impl Backend for Bound {
    fn capabilities(&self) -> Capabilities {
        self.capabilities
    }

    fn with_connection(&self, f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>) -> Result<()> {
        self.with_held(|held| held.run(f))
    }

    fn with_transaction(&self, f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>) -> Result<()> {
        self.with_held(|held| in_savepoint(held, f))
    }

    fn with_migration(
        &self,
        _lock_timeout: Duration,
        _f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>,
    ) -> Result<()> {
        Err(no_migrations())
    }

    fn with_migration_then(
        &self,
        _lock_timeout: Duration,
        _stop_waiting: &mut dyn FnMut(&mut dyn Connection) -> Result<bool>,
        _tx: &mut dyn FnMut(&mut dyn Connection) -> Result<bool>,
        _after: &mut dyn FnMut(&mut dyn Connection) -> Result<()>,
    ) -> Result<bool> {
        Err(no_migrations())
    }

    fn with_online_lock(
        &self,
        _lock_timeout: Duration,
        _wait: bool,
        _f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>,
    ) -> Result<bool> {
        Err(no_migrations())
    }

    fn hold(&self) -> Result<Box<dyn HeldConnection>> {
        Err(Error::InvalidInput(
            "a handle bound to a transaction holds its one connection: nest with \
             tx.transaction(..), which makes a savepoint"
                .into(),
        ))
    }
}
