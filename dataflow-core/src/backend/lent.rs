//! A borrowed connection lent out as a [`HeldConnection`] for the length of
//! one call: what a migration's data step runs on, so a handle bound to it
//! (typed functions, records, nodes) works inside the migration's own
//! transaction.
//!
//! A held connection is owned (`'static`), the migration's connection is only
//! borrowed, and `unsafe` is forbidden; so the borrower runs on a scoped
//! thread and sends each statement, with owned SQL, binds and rows, to the
//! lending thread, which runs it on the borrowed connection. Nested
//! transactions are savepoints inside the lender's transaction, which only
//! the lender ends.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Receiver, Sender};

use crate::backend::{Connection, HeldConnection};
use crate::error::{Error, Result};
use crate::model::row::RowReader;
use crate::model::value::{LogicalType, Value};

/// One statement sent to the lender.
enum Call {
    Execute(String, Vec<Value>),
    Query(String, Vec<Value>, Vec<LogicalType>),
    Batch(String),
    Columns(String, Vec<(LogicalType, Vec<Value>)>),
}

/// Its answer.
enum Answer {
    Count(Result<usize>),
    Rows(Result<Rows>),
    Done(Result<()>),
}

/// Rows read whole: their column names and values.
struct Rows {
    names: Vec<String>,
    rows: Vec<Vec<Value>>,
}

enum Message {
    Call(Call),
    /// The borrower has finished: the lender stops serving.
    Finished,
}

/// Runs `f` with `conn` lent as a held connection, and returns what `f` does.
/// `in_transaction`: whether a transaction is open on `conn` (the borrower's
/// outermost transaction is then a savepoint, else a transaction of its own).
/// A panic in `f` continues on the caller's thread once `f` has unwound.
pub(crate) fn lend<R: Send>(
    conn: &mut dyn Connection,
    in_transaction: bool,
    f: impl FnOnce(Box<dyn HeldConnection>) -> R + Send,
) -> R {
    let (to_lender, calls) = channel::<Message>();
    let (answer, answers) = channel::<Answer>();
    std::thread::scope(|scope| {
        let finished = to_lender.clone();
        let borrower = scope.spawn(move || {
            let held = Lent {
                calls: to_lender,
                answers,
                savepoints: 0,
                own: !in_transaction,
            };
            let out = catch_unwind(AssertUnwindSafe(|| f(Box::new(held))));
            let _ = finished.send(Message::Finished);
            out
        });
        while let Ok(Message::Call(call)) = calls.recv() {
            if answer.send(serve(conn, call)).is_err() {
                break;
            }
        }
        match borrower.join() {
            Ok(Ok(out)) => out,
            Ok(Err(panic)) | Err(panic) => resume_unwind(panic),
        }
    })
}

fn serve(conn: &mut dyn Connection, call: Call) -> Answer {
    match call {
        Call::Execute(sql, binds) => Answer::Count(conn.execute(&sql, &binds)),
        Call::Batch(sql) => Answer::Done(conn.batch_execute(&sql)),
        Call::Columns(sql, columns) => Answer::Count(conn.execute_columns(&sql, columns)),
        Call::Query(sql, binds, types) => {
            let mut out = Rows {
                names: Vec::new(),
                rows: Vec::new(),
            };
            let read = conn.query_rows(&sql, &binds, &types, &mut |row| {
                if out.names.is_empty() {
                    out.names = (0..row.columns()).map(|i| row.column_name(i)).collect();
                }
                let values = (0..types.len().min(row.columns()))
                    .map(|i| row.value(i))
                    .collect::<Result<Vec<_>>>()?;
                out.rows.push(values);
                Ok(())
            });
            Answer::Rows(read.map(|()| out))
        }
    }
}

/// The borrower's side: a held connection whose statements run on the
/// lender's connection.
struct Lent {
    calls: Sender<Message>,
    answers: Receiver<Answer>,
    /// Transactions open, innermost last (savepoints named by depth).
    savepoints: usize,
    /// Whether the outermost one is a transaction of the borrower's own (no
    /// transaction was open on the lent connection).
    own: bool,
}

fn ended() -> Error {
    Error::InvalidInput(
        "the migration's connection is no longer lent: use the handle only inside the data step"
            .into(),
    )
}

impl Lent {
    fn ask(&mut self, call: Call) -> Result<Answer> {
        self.calls.send(Message::Call(call)).map_err(|_| ended())?;
        self.answers.recv().map_err(|_| ended())
    }
}

impl Connection for Lent {
    fn execute(&mut self, sql: &str, binds: &[Value]) -> Result<usize> {
        match self.ask(Call::Execute(sql.to_owned(), binds.to_vec()))? {
            Answer::Count(n) => n,
            _ => Err(ended()),
        }
    }

    fn query_rows(
        &mut self,
        sql: &str,
        binds: &[Value],
        types: &[LogicalType],
        each: &mut dyn FnMut(&mut dyn RowReader) -> Result<()>,
    ) -> Result<()> {
        let Answer::Rows(rows) =
            self.ask(Call::Query(sql.to_owned(), binds.to_vec(), types.to_vec()))?
        else {
            return Err(ended());
        };
        let Rows { names, rows } = rows?;
        for values in rows {
            each(&mut Row {
                names: &names,
                values,
            })?;
        }
        Ok(())
    }

    fn batch_execute(&mut self, sql: &str) -> Result<()> {
        match self.ask(Call::Batch(sql.to_owned()))? {
            Answer::Done(r) => r,
            _ => Err(ended()),
        }
    }

    fn execute_columns(
        &mut self,
        sql: &str,
        columns: Vec<(LogicalType, Vec<Value>)>,
    ) -> Result<usize> {
        match self.ask(Call::Columns(sql.to_owned(), columns))? {
            Answer::Count(n) => n,
            _ => Err(ended()),
        }
    }
}

/// Inside the lender's transaction every transaction of the borrower is a
/// savepoint; the lender's transaction only the lender ends.
impl HeldConnection for Lent {
    fn run(&mut self, f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>) -> Result<()> {
        f(self)
    }

    fn begin(&mut self) -> Result<()> {
        let name = self.savepoints + 1;
        if self.own && name == 1 {
            self.batch_execute("BEGIN")?;
        } else {
            self.batch_execute(&format!("SAVEPOINT dataflow_lent_{name}"))?;
        }
        self.savepoints = name;
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        let name = self.savepoints;
        if self.own && name == 1 {
            self.batch_execute("COMMIT")?;
        } else {
            self.batch_execute(&format!("RELEASE SAVEPOINT dataflow_lent_{name}"))?;
        }
        self.savepoints -= 1;
        Ok(())
    }

    fn rollback(&mut self) -> Result<()> {
        let name = self.savepoints;
        if self.own && name == 1 {
            self.batch_execute("ROLLBACK")?;
        } else {
            self.batch_execute(&format!(
                "ROLLBACK TO SAVEPOINT dataflow_lent_{name}; RELEASE SAVEPOINT dataflow_lent_{name}"
            ))?;
        }
        self.savepoints -= 1;
        Ok(())
    }
}

/// A row read whole, as a [`RowReader`].
struct Row<'n> {
    names: &'n [String],
    values: Vec<Value>,
}

impl RowReader for Row<'_> {
    fn columns(&self) -> usize {
        self.values.len()
    }

    fn column_name(&self, i: usize) -> String {
        self.names.get(i).cloned().unwrap_or_default()
    }

    fn value(&mut self, i: usize) -> Result<Value> {
        self.values
            .get(i)
            .cloned()
            .ok_or_else(|| Error::Database(format!("no column {i} in the row")))
    }
}
