//! The backend of `Isolation::Transaction` tests: one pooled connection, held for
//! the test, inside a transaction that is rolled back when the handle is dropped.
//! Connections are reused across tests (no connect per test); every call runs
//! in a savepoint so a failing statement does not abort the test's transaction.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use diesel::connection::TransactionManager;
use diesel::r2d2::{ConnectionManager, PooledConnection};
use diesel::{Connection as _, PgConnection};

use dataflow_core::{Backend, Capabilities, Connection, Error, HeldConnection, Result};

use crate::backend::{migrate_on, TxError};
use crate::connection::{map_error, PgConn};

type Pooled = PooledConnection<ConnectionManager<PgConnection>>;
type Manager = <PgConnection as diesel::Connection>::TransactionManager;

pub(crate) struct PgTestTxBackend {
    /// Shared with the connection a user transaction holds ([`TestHeld`]).
    conn: Arc<Mutex<Pooled>>,
}

fn lock(conn: &Mutex<Pooled>) -> Result<MutexGuard<'_, Pooled>> {
    conn.lock()
        .map_err(|_| Error::Database("test connection poisoned by a panic".into()))
}

impl PgTestTxBackend {
    pub(crate) fn new(mut conn: Pooled) -> Result<Self> {
        Manager::begin_transaction(&mut *conn).map_err(map_error)?;
        Ok(PgTestTxBackend {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    fn run(&self, f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>) -> Result<()> {
        let mut conn = lock(&self.conn)?;
        conn.transaction(|c| f(&mut PgConn(c)).map_err(TxError::App))
            .map_err(TxError::into_error)
    }
}

impl Drop for PgTestTxBackend {
    fn drop(&mut self) {
        if let Ok(mut conn) = self.conn.lock() {
            // Back to no transaction, so the pool can hand the connection out again.
            let _ = Manager::rollback_transaction(&mut **conn);
        }
    }
}

impl Backend for PgTestTxBackend {
    fn capabilities(&self) -> Capabilities {
        // The test's transaction never commits: no online steps after a commit.
        crate::backend::CAPABILITIES.with_online_index_builds(false)
    }

    fn with_connection(&self, f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>) -> Result<()> {
        self.run(f)
    }

    fn with_transaction(&self, f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>) -> Result<()> {
        self.run(f)
    }

    fn hold(&self) -> Result<Box<dyn HeldConnection>> {
        Ok(Box::new(TestHeld(Arc::clone(&self.conn))))
    }

    fn with_migration(
        &self,
        lock_timeout: Duration,
        f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>,
    ) -> Result<()> {
        let mut conn = lock(&self.conn)?;
        migrate_on(&mut conn, lock_timeout, f)
    }
}

/// The test's connection held for a user transaction: its transaction is a
/// savepoint inside the test's.
struct TestHeld(Arc<Mutex<Pooled>>);

impl TestHeld {
    fn manage(&self, f: fn(&mut PgConnection) -> diesel::QueryResult<()>) -> Result<()> {
        let mut conn = lock(&self.0)?;
        f(&mut conn).map_err(map_error)
    }
}

impl HeldConnection for TestHeld {
    fn run(&mut self, f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>) -> Result<()> {
        let mut conn = lock(&self.0)?;
        f(&mut PgConn(&mut conn))
    }

    fn begin(&mut self) -> Result<()> {
        self.manage(Manager::begin_transaction)
    }

    fn commit(&mut self) -> Result<()> {
        self.manage(Manager::commit_transaction)
    }

    fn rollback(&mut self) -> Result<()> {
        self.manage(Manager::rollback_transaction)
    }
}
