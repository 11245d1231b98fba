//! The describe contract: how a backend reads the live schema. Separate from
//! [`Backend`](crate::Backend) (connections, transactions, locks) so one
//! implementation serves every backend value of a database crate, whatever
//! its connections are (a pool, a test's one transaction).

use std::collections::BTreeMap;

use crate::backend::Connection;
use crate::error::Result;
use crate::migrate::schema::{ForeignKey, Schema, Table};
use crate::model::descriptor::FkAction;
use crate::model::value::{LogicalType, Value};

/// Introspection of a live database, over a connection the caller holds.
/// Object-safe; a backend crate has one static instance.
pub trait Describe: Send + Sync {
    /// Describes the live schema (user tables only; dataflow's own tables
    /// excluded), as the database reports it; the handle normalises it for
    /// the dialect.
    fn describe(&self, conn: &mut dyn Connection) -> Result<Schema>;

    /// How the database itself prints each partial-index condition when it is
    /// declared over `table` (the target shape), in order. Used only when a
    /// described condition and the model's spelling differ in text, so a
    /// database that rewrites conditions (literals, casts) does not show its
    /// own spelling as drift. The default returns them as written.
    fn reprint_predicates(
        &self,
        conn: &mut dyn Connection,
        table: &Table,
        predicates: &[String],
    ) -> Result<Vec<String>> {
        let _ = (conn, table);
        Ok(predicates.to_vec())
    }

    /// How the database itself prints each `CHECK` condition when it is
    /// declared on `table` (the target shape), in order; used, like
    /// [`Describe::reprint_predicates`], only when a described condition and
    /// the model's spelling differ in text. The default returns them as
    /// written (a database that keeps the text it is given).
    fn reprint_checks(
        &self,
        conn: &mut dyn Connection,
        table: &Table,
        checks: &[String],
    ) -> Result<Vec<String>> {
        let _ = (conn, table);
        Ok(checks.to_vec())
    }

    /// Whether a table (including dataflow's own) exists.
    fn has_table(&self, conn: &mut dyn Connection, name: &str) -> Result<bool>;

    /// What the live database holds beyond the schema dataflow diffs: views,
    /// column types no field type matches exactly, and keys and indexes
    /// [`Describe::describe`] leaves out; also collations and CHECK
    /// constraints as the database prints them (the schema holds them too),
    /// which a generator quotes for tables that cannot be models.
    /// Read when generating models from a database, never diffed. The default
    /// reports nothing.
    fn describe_details(&self, conn: &mut dyn Connection) -> Result<LiveDetails> {
        let _ = conn;
        Ok(LiveDetails::default())
    }
}

/// What [`Describe::describe_details`] reports: the parts of a live database
/// a model cannot declare, so a generator can say what it left out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveDetails {
    /// Views (and materialised views) beside the tables, by name.
    pub views: Vec<String>,
    /// Per table (by name), what it holds beyond its [`Table`].
    pub tables: BTreeMap<String, TableDetails>,
}

/// Per table, what [`LiveDetails`] reports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableDetails {
    /// Columns whose declared type has no exact field type, with the type as
    /// the database spells it (`numeric(10,2)`, `citext`, `INT`).
    pub inexact_types: BTreeMap<String, String>,
    /// Columns with a collation other than the database default, and its name.
    pub collations: BTreeMap<String, String>,
    /// `CHECK` constraints, as the database prints them.
    pub checks: Vec<String>,
    /// Foreign keys over several columns, which describe leaves out (a model's
    /// foreign key has one column), as the database prints them.
    pub composite_foreign_keys: Vec<String>,
    /// Indexes describe leaves out (over expressions), by name.
    pub skipped_indexes: Vec<String>,
}

/// Runs `sql`, whose rows are six texts — table, column, referenced table,
/// referenced column, `ON DELETE` and `ON UPDATE` as the database spells them —
/// and adds each foreign key to its table in `tables` (rows of other tables
/// are skipped). `action` reads the database's spelling of an action.
pub fn read_foreign_keys(
    conn: &mut dyn Connection,
    sql: &str,
    tables: &mut BTreeMap<String, Table>,
    action: fn(&str) -> FkAction,
) -> Result<()> {
    let text = |v: &mut Value| match std::mem::take(v) {
        Value::Text(s) => s,
        _ => String::new(),
    };
    conn.query(sql, &[], &[LogicalType::Text; 6], &mut |row| {
        if let Some(t) = tables.get_mut(&text(&mut row[0])) {
            t.foreign_keys.push(ForeignKey {
                column: text(&mut row[1]),
                references_table: text(&mut row[2]),
                references_column: text(&mut row[3]),
                on_delete: action(&text(&mut row[4])),
                on_update: action(&text(&mut row[5])),
            });
        }
        Ok(())
    })
}
