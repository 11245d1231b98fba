//! `dataflow_core::Connection` over a diesel `SqliteConnection`.

use diesel::connection::{Connection as _, LoadConnection, SimpleConnection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::SqliteConnection;

use dataflow_core::{Connection, Error, LogicalType, Result, RowReader, Value};

use crate::decode::SqliteRowReader;
use crate::query::BoundQuery;

/// A borrowed diesel connection seen through dataflow's `Connection` trait.
pub struct SqliteConn<'c>(pub &'c mut SqliteConnection);

impl Connection for SqliteConn<'_> {
    fn execute(&mut self, sql: &str, binds: &[Value]) -> Result<usize> {
        let q = BoundQuery::new(sql, binds)?;
        self.0.execute_returning_count(&q).map_err(map_error)
    }

    fn query_rows(
        &mut self,
        sql: &str,
        binds: &[Value],
        types: &[LogicalType],
        each: &mut dyn FnMut(&mut dyn RowReader) -> Result<()>,
    ) -> Result<()> {
        let q = BoundQuery::new(sql, binds)?;
        let cursor = LoadConnection::load(self.0, q).map_err(map_error)?;
        for row in cursor {
            let row = row.map_err(map_error)?;
            each(&mut SqliteRowReader { row: &row, types })?;
        }
        Ok(())
    }

    fn batch_execute(&mut self, sql: &str) -> Result<()> {
        self.0.batch_execute(sql).map_err(map_error)
    }
}

/// Classifies a diesel/SQLite error into dataflow's `Error`.
pub(crate) fn map_error(e: DieselError) -> Error {
    match e {
        DieselError::DatabaseError(kind, info) => {
            let message = info.message().to_owned();
            match kind {
                DatabaseErrorKind::UniqueViolation => {
                    // "UNIQUE constraint failed: users.email, users.name"
                    let cols = message.split_once(": ").map_or("", |(_, c)| c);
                    let mut table = String::new();
                    let fields = cols
                        .split(", ")
                        .filter_map(|tc| tc.split_once('.'))
                        .map(|(t, c)| {
                            table = t.to_owned();
                            c.to_owned()
                        })
                        .collect();
                    Error::UniqueViolation { table, fields }
                }
                DatabaseErrorKind::ForeignKeyViolation => Error::ForeignKeyViolation { message },
                DatabaseErrorKind::NotNullViolation => {
                    let tc = message.split_once(": ").map_or("", |(_, c)| c);
                    let (table, column) = tc.split_once('.').unwrap_or(("", tc));
                    Error::NotNullViolation {
                        table: table.to_owned(),
                        column: column.to_owned(),
                    }
                }
                DatabaseErrorKind::CheckViolation => Error::CheckViolation { message },
                _ if message.contains("database is locked")
                    || message.contains("database table is locked") =>
                {
                    Error::Busy { message }
                }
                // SQLite parses `a OR b OR c …` into a tree as deep as the
                // terms are many, and refuses trees deeper than 1000.
                _ if message.starts_with("Expression tree is too large") => {
                    Error::InvalidInput(format!(
                        "the filter is too large for SQLite ({message}): SQLite refuses expressions \
                         nested deeper than its limit, and each OR/AND term or NOT adds a level; \
                         use is_in for many alternatives"
                    ))
                }
                _ if message.starts_with("too many SQL variables") => {
                    Error::InvalidInput(format!(
                        "the statement has more values than SQLite binds in one statement \
                         ({message}); split the call"
                    ))
                }
                _ => Error::Database(message),
            }
        }
        other => {
            let message = other.to_string();
            if message.contains("database is locked") {
                Error::Busy { message }
            } else {
                Error::Database(message)
            }
        }
    }
}
