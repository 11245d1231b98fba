//! Reconciling registered models with the live database.
//!
//! The pipeline, one file a stage: [`schema`] is the one schema type (target and
//! live), [`diff`] says what changed, [`facts`] asks the database what each step
//! will meet, [`risk`] decides how risky each change is, [`plan`] turns changes
//! into steps with SQL both ways ([`rebuild`] folds the changes a table rebuild
//! makes into one step), [`live`] plans against the live database,
//! [`policy`] decides what may run without asking and what is refused,
//! [`apply`] runs the steps in the migration's transaction, [`online`] runs
//! what follows the commit without blocking writers, [`rollback`] undoes
//! recorded migrations, [`history`] holds dataflow's own tables and
//! [`metrics`] sums that history up. [`api`]
//! holds the entry points `DataFlow` exposes (`auto_migrate`, `plan`,
//! `check`, the rollbacks). The backend-facing contracts: [`describe`] reads
//! the live schema ([`describe::Describe`]), [`dialect`] spells DDL
//! ([`dialect::SchemaDialect`]). The layer sees the database through
//! [`handle::MigrateHandle`], which `DataFlow` implements. Asking for consent
//! and showing backfill progress go through [`crate::terminal::Interaction`].
//! [`existing`] checks models against tables dataflow did not create
//! (existing-schema mode) and hands such tables over (`adopt`).
//! [`default_sql`] compares SQL-expression defaults with the database's
//! printing of them.
//! [`options`] holds `MigrateOptions`, [`report`] the `MigrationReport` and
//! its preview, and this file the steps. [`files`] runs the same pipeline
//! into versioned migration files (generate, embed, apply, downgrade, merge,
//! squash) for teams that review their migrations.

pub mod api;
pub mod apply;
pub mod default_sql;
pub mod describe;
pub mod dialect;
pub mod diff;
pub mod existing;
pub mod facts;
pub mod files;
pub mod handle;
pub mod history;
pub mod live;
pub mod metrics;
pub mod online;
pub mod options;
pub mod plan;
pub mod policy;
pub mod rebuild;
pub mod report;
pub mod risk;
pub mod rollback;
pub mod schema;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::migrate::diff::Change;
use crate::migrate::schema::{Schema, Table};

pub use options::{MigrateOptions, MAX_MIGRATION_NAME};
pub use report::MigrationReport;

/// How much a step can hurt. Ordered: `Safe < Medium < High`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RiskLevel {
    /// Loses nothing and breaks no reader.
    Safe,
    /// Loses nothing, but may fail on data or break old readers.
    Medium,
    /// May destroy data.
    High,
}

impl fmt::Display for RiskLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RiskLevel::Safe => "SAFE",
            RiskLevel::Medium => "MEDIUM",
            RiskLevel::High => "HIGH",
        })
    }
}

/// The kind of a migration step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Operation {
    /// `CREATE TABLE`
    CreateTable,
    /// `DROP TABLE`
    DropTable,
    /// `ADD COLUMN`
    AddColumn,
    /// `DROP COLUMN`
    DropColumn,
    /// Type, nullability or default change.
    AlterColumn,
    /// `RENAME COLUMN`
    RenameColumn,
    /// `RENAME TABLE`
    RenameTable,
    /// `CREATE INDEX`
    CreateIndex,
    /// `DROP INDEX`
    DropIndex,
    /// Rename an index (its definition stays).
    RenameIndex,
    /// Add a foreign key.
    AddForeignKey,
    /// Drop a foreign key.
    DropForeignKey,
    /// Add a `CHECK` constraint.
    AddCheck,
    /// Drop a `CHECK` constraint.
    DropCheck,
    /// Several changes to one table that the database makes only by copying
    /// the table, made by one copy (see [`rebuild`]).
    RebuildTable,
    /// A difference dataflow cannot migrate.
    Unsupported,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Operation::CreateTable => "create table",
            Operation::DropTable => "drop table",
            Operation::AddColumn => "add column",
            Operation::DropColumn => "drop column",
            Operation::AlterColumn => "alter column",
            Operation::RenameColumn => "rename column",
            Operation::RenameTable => "rename table",
            Operation::CreateIndex => "create index",
            Operation::DropIndex => "drop index",
            Operation::RenameIndex => "rename index",
            Operation::AddForeignKey => "add foreign key",
            Operation::DropForeignKey => "drop foreign key",
            Operation::AddCheck => "add check",
            Operation::DropCheck => "drop check",
            Operation::RebuildTable => "rebuild table",
            Operation::Unsupported => "unsupported",
        };
        f.write_str(s)
    }
}

/// One step of a plan: what, where, how risky and why, and the SQL both ways.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MigrationStep {
    /// The kind of change.
    pub operation: Operation,
    /// The table it touches.
    pub table: String,
    /// Human detail ("columns id, name, email").
    pub detail: String,
    /// Risk level.
    pub risk: RiskLevel,
    /// Why the step has that risk.
    pub reason: String,
    /// Statements that apply the step.
    pub sql_up: Vec<String>,
    /// Statements that undo it.
    pub sql_down: Vec<String>,
    /// Why the step cannot run as planned, if it cannot.
    pub blocked: Option<String>,
    /// Statements run before `sql_up` to keep what the step destroys, so that
    /// `sql_down` can restore it.
    pub backup: Vec<String>,
    /// Set when undoing the step cannot bring data back (a destructive step
    /// applied with `backup(false)`).
    pub irreversible: Option<String>,
    /// The schema change itself.
    pub change: Change,
    /// Statements that run after the migration's transaction commits, one at a
    /// time, so writers are never blocked for long (online mode: `CREATE INDEX
    /// CONCURRENTLY`, `VALIDATE CONSTRAINT`, batched backfills). Empty for steps
    /// that run wholly inside the transaction.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sql_online: Vec<OnlineSql>,
    /// How many of `sql_online` have completed (kept in the history row, so an
    /// interrupted run resumes after the last completed statement).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub online_done: usize,
    /// For a step of a rollback: the version of the migration whose step it
    /// undoes. `None` for a forward step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undoes: Option<String>,
    /// For a [`Operation::RebuildTable`] step: each change it carries, judged
    /// on its own (the step's risk is the highest of theirs). Empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<StepPart>,
    /// How long the step's backup and SQL took inside the migration's
    /// transaction, in milliseconds; `None` until applied (and in history
    /// rows written before durations were recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
}

/// One change of a [`Operation::RebuildTable`] step, as the planner judged it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepPart {
    /// The kind of change.
    pub operation: Operation,
    /// What it changes, short: a column, index or key.
    pub subject: String,
    /// Human detail, as a step of its own would show it.
    pub detail: String,
    /// Risk level of this change alone.
    pub risk: RiskLevel,
    /// Why it has that risk.
    pub reason: String,
    /// Why it cannot run as planned, if it cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked: Option<String>,
    /// Why the database makes this change only by copying the table; `None`
    /// for a change the copy makes on the way (a rename between two that need it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebuild: Option<String>,
    /// Whether the step backed up what this change destroys.
    #[serde(default, skip_serializing_if = "is_false")]
    pub backed_up: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A statement of the online phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OnlineSql {
    /// One statement, run outside any transaction.
    Statement {
        /// The SQL.
        sql: String,
    },
    /// Builds an index without blocking writes: `cleanup` removes what an
    /// interrupted earlier build left (an INVALID index), then `create` builds.
    /// A retry runs both again.
    Index {
        /// Drops a leftover invalid index of the same name, if there is one.
        cleanup: String,
        /// `CREATE INDEX CONCURRENTLY …`.
        create: String,
    },
    /// A backfill over an integer key, one key range per run, each run its own
    /// short transaction: `bounds` returns the lowest and highest key still to
    /// do; `sql` takes the range's first and last key as its two bound values.
    Batched {
        /// One batch; binds the range's first and last key (inclusive).
        sql: String,
        /// `SELECT MIN(key), MAX(key)` of the rows still to do.
        bounds: String,
        /// Keys per batch.
        step: i64,
    },
    /// Repeated, each run its own short transaction, until it changes no rows
    /// (a backfill in batches where the key is not an integer).
    Repeat {
        /// One batch.
        sql: String,
    },
}

impl OnlineSql {
    /// The SQL as shown in previews.
    pub fn display(&self) -> String {
        match self {
            OnlineSql::Statement { sql } => sql.clone(),
            OnlineSql::Index { cleanup, create } => format!("{cleanup};\n  {create}"),
            OnlineSql::Batched { sql, step, .. } => {
                format!("{sql}  -- for each range of {step} keys")
            }
            OnlineSql::Repeat { sql } => format!("{sql}  -- repeated until no rows change"),
        }
    }
}

/// Tables ordered so that every referenced table comes before its referrers
/// (ties and cycles broken by name, deterministically).
pub fn creation_order(schema: &Schema) -> Vec<&Table> {
    let mut done: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    let mut pending: Vec<&Table> = schema.tables.values().collect();
    while !pending.is_empty() {
        let ready = pending.iter().position(|t| {
            t.foreign_keys.iter().all(|fk| {
                fk.references_table == t.name
                    || done.contains(&fk.references_table.as_str())
                    || !schema.tables.contains_key(&fk.references_table)
            })
        });
        let i = ready.unwrap_or(0);
        let t = pending.remove(i);
        done.push(&t.name);
        out.push(t);
    }
    out
}
