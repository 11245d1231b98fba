//! `dataflow_core::Connection` over a diesel `PgConnection`, and SQLSTATE-based
//! error classification.

use diesel::connection::{Connection as _, LoadConnection, SimpleConnection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::PgConnection;

use dataflow_core::{Connection, Error, LogicalType, Result, RowReader, Value};

use crate::decode::{Decoder, PgRowReader};
use crate::query::{BoundQuery, ColumnsQuery};
use crate::relay::{waiting, Relay};

/// Turns diesel's statement cache off for `conn` unless `prepared` (see
/// `PgOptions::prepared_statements`): diesel then sends every statement unnamed,
/// parsed, bound and run in one message, so a transaction pooler never meets a
/// named statement.
pub(crate) fn set_prepared_statements(conn: &mut PgConnection, prepared: bool) {
    if !prepared {
        conn.set_prepared_statement_cache_size(diesel::connection::CacheSize::Disabled);
    }
}

/// The boolean of a one-row, one-column `sql` (`false` for NULL or no row):
/// what the advisory-lock functions answer.
pub(crate) fn select_bool(conn: &mut dyn Connection, sql: &str) -> Result<bool> {
    let mut got = false;
    conn.query(sql, &[], &[LogicalType::Bool], &mut |row| {
        got = matches!(row[0], Value::Bool(true));
        Ok(())
    })?;
    Ok(got)
}

/// A borrowed diesel connection seen through dataflow's `Connection` trait.
pub struct PgConn<'c>(pub &'c mut PgConnection);

impl Connection for PgConn<'_> {
    fn execute(&mut self, sql: &str, binds: &[Value]) -> Result<usize> {
        self.0
            .execute_returning_count(&BoundQuery { sql, binds })
            .map_err(map_error)
    }

    fn query_rows(
        &mut self,
        sql: &str,
        binds: &[Value],
        types: &[LogicalType],
        each: &mut dyn FnMut(&mut dyn RowReader) -> Result<()>,
    ) -> Result<()> {
        query_rows(self.0, sql, binds, types, || {}, each)
    }

    fn batch_execute(&mut self, sql: &str) -> Result<()> {
        self.0.batch_execute(sql).map_err(map_error)
    }

    fn execute_columns(
        &mut self,
        sql: &str,
        columns: Vec<(LogicalType, Vec<Value>)>,
    ) -> Result<usize> {
        let q = ColumnsQuery::new(sql, columns)?;
        self.0.execute_returning_count(&q).map_err(map_error)
    }
}

/// Runs a query and hands each row to `each`; `loaded` is called once the
/// whole result has arrived (diesel's default loading mode reads it all before
/// the first row), before any row is handed out.
fn query_rows(
    conn: &mut PgConnection,
    sql: &str,
    binds: &[Value],
    types: &[LogicalType],
    loaded: impl FnOnce(),
    each: &mut dyn FnMut(&mut dyn RowReader) -> Result<()>,
) -> Result<()> {
    let cursor = <PgConnection as LoadConnection<diesel::connection::DefaultLoadingMode>>::load(
        conn,
        BoundQuery { sql, binds },
    );
    loaded();
    let cursor = cursor.map_err(map_error)?;
    // Per column, the decoder for its type OID, set from the column's first
    // non-NULL value (a column's OID is the same in every row).
    let mut decoders: Vec<Option<Decoder>> = vec![None; types.len()];
    for row in cursor {
        let row = row.map_err(map_error)?;
        each(&mut PgRowReader {
            row: &row,
            decoders: &mut decoders,
        })?;
    }
    Ok(())
}

/// A pooled connection's calls, each marked on its socket-timeout relay as
/// waiting for the server while libpq waits (and only then: not while rows
/// are handed to the caller).
pub(crate) struct Watched<'c> {
    pub(crate) conn: &'c mut PgConnection,
    pub(crate) relay: &'c Relay,
}

impl Connection for Watched<'_> {
    fn execute(&mut self, sql: &str, binds: &[Value]) -> Result<usize> {
        waiting(Some(self.relay), || PgConn(self.conn).execute(sql, binds))
    }

    fn query_rows(
        &mut self,
        sql: &str,
        binds: &[Value],
        types: &[LogicalType],
        each: &mut dyn FnMut(&mut dyn RowReader) -> Result<()>,
    ) -> Result<()> {
        self.relay.set_waiting(true);
        query_rows(
            self.conn,
            sql,
            binds,
            types,
            || self.relay.set_waiting(false),
            each,
        )
    }

    fn batch_execute(&mut self, sql: &str) -> Result<()> {
        waiting(Some(self.relay), || PgConn(self.conn).batch_execute(sql))
    }

    fn execute_columns(
        &mut self,
        sql: &str,
        columns: Vec<(LogicalType, Vec<Value>)>,
    ) -> Result<usize> {
        waiting(Some(self.relay), || {
            PgConn(self.conn).execute_columns(sql, columns)
        })
    }
}

/// `Key (a, b)=(…) already exists.` → `["a", "b"]`.
fn key_columns(details: Option<&str>) -> Vec<String> {
    details
        .and_then(|d| d.strip_prefix("Key ("))
        .and_then(|d| d.split_once(")="))
        .map(|(cols, _)| {
            cols.split(", ")
                .map(|c| c.trim_matches('"').to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Classifies a diesel/PostgreSQL error by SQLSTATE into dataflow's `Error`.
pub(crate) fn map_error(e: DieselError) -> Error {
    match e {
        DieselError::DatabaseError(kind, info) => {
            let message = info.message().to_owned();
            let table = info.table_name().unwrap_or_default().to_owned();
            match kind {
                // 23505
                DatabaseErrorKind::UniqueViolation => {
                    let mut fields = key_columns(info.details());
                    if fields.is_empty() {
                        fields.extend(info.column_name().map(str::to_owned));
                    }
                    Error::UniqueViolation { table, fields }
                }
                // 23503
                DatabaseErrorKind::ForeignKeyViolation => Error::ForeignKeyViolation {
                    message: match info.details() {
                        Some(d) => format!("{message}: {d}"),
                        None => message,
                    },
                },
                // 23502
                DatabaseErrorKind::NotNullViolation => Error::NotNullViolation {
                    table,
                    column: info.column_name().unwrap_or_default().to_owned(),
                },
                // 23514
                DatabaseErrorKind::CheckViolation => Error::CheckViolation { message },
                // The server went away (restart, idle timeout, terminated).
                DatabaseErrorKind::ClosedConnection => {
                    Error::Connection(format!("PostgreSQL connection lost: {message}"))
                }
                // 57P01-57P05 (admin_shutdown, crash_shutdown, idle timeouts,
                // a conflict with recovery on a replica): the server ended the
                // session, so the connection is lost, not merely failed.
                _ if message.starts_with("terminating connection") => {
                    Error::Connection(format!("PostgreSQL connection lost: {message}"))
                }
                // 40001
                DatabaseErrorKind::SerializationFailure => Error::Busy {
                    message: format!("serialization failure, retry the transaction: {message}"),
                },
                // 55P03 (lock_not_available) and 40P01 (deadlock_detected)
                // have no kind of their own in diesel; both are contention,
                // worth retrying.
                _ if message.contains("lock timeout")
                    || message.contains("could not obtain lock")
                    || message.contains("deadlock detected") =>
                {
                    Error::Busy { message }
                }
                // 57014 after `PgOptions::statement_timeout`.
                _ if message.contains("statement timeout") => Error::Connection(format!(
                    "statement timeout exceeded, the statement was cancelled: {message}"
                )),
                _ if message.contains("invalid byte sequence") => Error::InvalidInput(message),
                _ => Error::Database(message),
            }
        }
        other => Error::Database(other.to_string()),
    }
}
