//! The backend of `Isolation::Transaction` tests: one pooled connection, held for
//! the test, inside a transaction that is rolled back when the handle is dropped.
//! Connections are reused across tests (no connect per test); every call runs
//! in a savepoint so a failing statement does not abort the test's transaction.

use std::sync::Mutex;
use std::time::Duration;

use diesel::connection::TransactionManager;
use diesel::r2d2::{ConnectionManager, PooledConnection};
use diesel::{Connection as _, PgConnection};

use dataflow_core::{Backend, Capabilities, Connection, Error, Result};

use crate::backend::{migrate_on, TxError};
use crate::connection::{map_error, PgConn};

type Pooled = PooledConnection<ConnectionManager<PgConnection>>;
type Manager = <PgConnection as diesel::Connection>::TransactionManager;

pub(crate) struct PgTestTxBackend {
    conn: Mutex<Pooled>,
}

impl PgTestTxBackend {
    pub(crate) fn new(mut conn: Pooled) -> Result<Self> {
        Manager::begin_transaction(&mut *conn).map_err(map_error)?;
        Ok(PgTestTxBackend {
            conn: Mutex::new(conn),
        })
    }

    fn run(&self, f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>) -> Result<()> {
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| Error::Database("test connection poisoned by a panic".into()))?;
        conn.transaction(|c| f(&mut PgConn(c)).map_err(TxError::App))
            .map_err(TxError::into_error)
    }
}

impl Drop for PgTestTxBackend {
    fn drop(&mut self) {
        if let Ok(conn) = self.conn.get_mut() {
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

    fn with_migration(
        &self,
        lock_timeout: Duration,
        f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>,
    ) -> Result<()> {
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| Error::Database("test connection poisoned by a panic".into()))?;
        migrate_on(&mut conn, lock_timeout, f)
    }
}
