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
//! recorded migrations, and [`history`] holds dataflow's own tables. [`api`]
//! holds the entry points `DataFlow` exposes (`auto_migrate`, `plan`,
//! `check`, the rollbacks). The backend-facing contracts: [`describe`] reads
//! the live schema ([`describe::Describe`]), [`dialect`] spells DDL
//! ([`dialect::SchemaDialect`]). The layer sees the database through
//! [`handle::MigrateHandle`], which `DataFlow` implements. Asking for consent and showing backfill progress go
//! through [`crate::terminal::Interaction`]. This file holds the options, the
//! steps and the report with its preview.

pub mod api;
pub mod apply;
pub mod describe;
pub mod dialect;
pub mod diff;
pub mod facts;
pub mod handle;
pub mod history;
pub mod live;
pub mod online;
pub mod plan;
pub mod policy;
pub mod rebuild;
pub mod risk;
pub mod rollback;
pub mod schema;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::migrate::diff::Change;
use crate::migrate::schema::{Schema, Table};
use crate::terminal::Interaction;

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

/// What `auto_migrate` / `plan` did or would do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MigrationReport {
    /// Whether the steps were applied.
    pub applied: bool,
    /// Version recorded for an applied plan.
    pub version: Option<String>,
    /// The planned steps, in execution order.
    pub steps: Vec<MigrationStep>,
    /// Tables in the database that no registered model declares; dataflow leaves
    /// them alone (unless they are its own and `prune(true)` is set).
    pub unmanaged_tables: Vec<String>,
    /// The version of a migration whose online phase has not finished: stopped
    /// here (the next `auto_migrate` resumes it), or being finished by another
    /// process right now.
    #[serde(default)]
    pub in_progress: Option<String>,
    /// For a rollback: the versions it undoes (or, for a dry run, would undo),
    /// newest first. Empty for `auto_migrate`.
    #[serde(default)]
    pub rolled_back: Vec<String>,
}

impl MigrationReport {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The highest risk of any step (`Safe` for an empty plan).
    pub fn max_risk(&self) -> RiskLevel {
        self.steps
            .iter()
            .map(|s| s.risk)
            .max()
            .unwrap_or(RiskLevel::Safe)
    }

    /// The human table shown before applying: one row per step, then the SQL.
    /// The table's frame is UTF-8 with the `terminal` feature, ASCII without.
    pub fn preview(&self) -> String {
        if self.steps.is_empty() {
            return "No changes: the database matches the models.\n".to_owned();
        }
        let rows: Vec<Vec<String>> = self
            .steps
            .iter()
            .map(|s| {
                // A rebuild's parts, one a line: each is a change of its own.
                let detail = if s.parts.is_empty() {
                    s.detail.clone()
                } else {
                    s.parts
                        .iter()
                        .map(|p| format!("{} {}", p.operation, p.detail))
                        .collect::<Vec<_>>()
                        .join("\n")
                };
                vec![
                    s.table.clone(),
                    s.operation.to_string(),
                    detail,
                    s.risk.to_string(),
                ]
            })
            .collect();
        let table = crate::terminal::table(&["Table", "Operation", "Details", "Risk"], &rows);
        let mut out = format!("{table}\n");
        let explained: Vec<&MigrationStep> = self
            .steps
            .iter()
            .filter(|s| s.risk > RiskLevel::Safe || s.blocked.is_some())
            .collect();
        if !explained.is_empty() {
            out.push_str("\nWhy:\n");
            for s in explained {
                let mark = if s.blocked.is_some() {
                    " [BLOCKED]"
                } else {
                    ""
                };
                if s.parts.is_empty() {
                    out.push_str(&format!(
                        "  {} {} {}: {}{mark}\n",
                        s.risk, s.operation, s.table, s.reason
                    ));
                    continue;
                }
                out.push_str(&format!(
                    "  {} {} {}: {}{mark}\n",
                    s.risk,
                    s.operation,
                    s.table,
                    rebuild::headline(&s.parts)
                ));
                for p in &s.parts {
                    let mark = if p.blocked.is_some() {
                        " [BLOCKED]"
                    } else {
                        ""
                    };
                    out.push_str(&format!(
                        "    - {} {} {}: {}{mark}\n",
                        p.risk, p.operation, p.subject, p.reason
                    ));
                }
            }
        }
        let forward: Vec<&MigrationStep> = self.steps.iter().collect();
        let backward: Vec<&MigrationStep> = self.steps.iter().rev().collect();
        sql_section(&mut out, "Backup", &forward, |s| &s.backup);
        sql_section(&mut out, "SQL", &forward, |s| &s.sql_up);
        let online: Vec<String> = self
            .steps
            .iter()
            .flat_map(|s| s.sql_online.iter().map(OnlineSql::display))
            .collect();
        if !online.is_empty() {
            out.push_str("\nAfter commit, without blocking writers (online):\n");
            for q in online {
                out.push_str("  ");
                out.push_str(&q);
                out.push_str(";\n");
            }
        }
        sql_section(&mut out, "Rollback", &backward, |s| &s.sql_down);
        let count = |f: fn(&MigrationStep) -> bool| self.steps.iter().filter(|s| f(s)).count();
        out.push_str(&format!(
            "\nSafety: {} step(s), highest risk {}; {} blocked; {} backed up; {} irreversible; {}\n",
            self.steps.len(),
            self.max_risk(),
            count(|s| s.blocked.is_some()),
            count(|s| !s.backup.is_empty()),
            count(|s| s.irreversible.is_some()),
            if self.applied { "applied" } else { "not applied" }
        ));
        if !self.unmanaged_tables.is_empty() {
            out.push_str(&format!(
                "Unmanaged tables (left alone): {}\n",
                self.unmanaged_tables.join(", ")
            ));
        }
        out
    }
}

fn sql_section(
    out: &mut String,
    title: &str,
    steps: &[&MigrationStep],
    get: fn(&MigrationStep) -> &Vec<String>,
) {
    let lines: Vec<&String> = steps.iter().flat_map(|s| get(s)).collect();
    if lines.is_empty() {
        return;
    }
    out.push_str(&format!("\n{title}:\n"));
    for q in lines {
        out.push_str("  ");
        out.push_str(q);
        out.push_str(";\n");
    }
}

/// Options for `auto_migrate`, builder style.
#[derive(Debug, Clone)]
pub struct MigrateOptions {
    pub(crate) dry_run: bool,
    pub(crate) auto_confirm: bool,
    pub(crate) max_risk: Option<RiskLevel>,
    pub(crate) include_tables: Option<Vec<String>>,
    pub(crate) exclude_operations: Vec<Operation>,
    pub(crate) backup: bool,
    pub(crate) lock_timeout: Duration,
    pub(crate) prune: bool,
    pub(crate) online: Option<bool>,
    pub(crate) batch_size: u32,
    pub(crate) step_lock_timeout: Duration,
    pub(crate) step_retries: u32,
    pub(crate) stop_online_after: Option<usize>,
    pub(crate) interaction: Option<Arc<dyn Interaction>>,
}

impl Default for MigrateOptions {
    fn default() -> Self {
        MigrateOptions {
            dry_run: false,
            auto_confirm: false,
            max_risk: None,
            include_tables: None,
            exclude_operations: Vec::new(),
            backup: true,
            lock_timeout: Duration::from_secs(30),
            prune: false,
            online: None,
            batch_size: 5_000,
            step_lock_timeout: Duration::from_secs(5),
            step_retries: 5,
            stop_online_after: None,
            interaction: None,
        }
    }
}

impl MigrateOptions {
    /// Plan and preview only; the database is not touched.
    pub fn dry_run(mut self, yes: bool) -> Self {
        self.dry_run = yes;
        self
    }
    /// Apply without prompting.
    pub fn auto_confirm(mut self, yes: bool) -> Self {
        self.auto_confirm = yes;
        self
    }
    /// Refuse the whole plan when a step is above this risk.
    pub fn max_risk(mut self, risk: RiskLevel) -> Self {
        self.max_risk = Some(risk);
        self
    }
    /// Only reconcile these tables.
    pub fn include_tables<S: Into<String>>(mut self, tables: impl IntoIterator<Item = S>) -> Self {
        self.include_tables = Some(tables.into_iter().map(Into::into).collect());
        self
    }
    /// Never plan these operations.
    pub fn exclude_operations(mut self, ops: impl IntoIterator<Item = Operation>) -> Self {
        self.exclude_operations = ops.into_iter().collect();
        self
    }
    /// Copy what destructive steps destroy so rollback can restore it.
    pub fn backup(mut self, yes: bool) -> Self {
        self.backup = yes;
        self
    }
    /// How long to wait for the migration lock.
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// Declares that the registered models are the application's complete set:
    /// tables dataflow created whose models are gone may then be dropped (as
    /// HIGH steps when they hold data). Off by default, so a process that
    /// registers only some models never plans the removal of the others.
    pub fn prune(mut self, yes: bool) -> Self {
        self.prune = yes;
        self
    }

    /// Zero-downtime mode, on by default where the backend has it (PostgreSQL):
    /// indexes are built `CONCURRENTLY` after the transaction commits (an
    /// INVALID index left by a failed build is dropped on the next run), foreign
    /// keys are added `NOT VALID` and validated afterwards, and `NOT NULL` on a
    /// populated column becomes a `CHECK … NOT VALID`, a batched backfill of the
    /// default, `VALIDATE`, `SET NOT NULL`. Progress is recorded in the history
    /// row, so an interrupted run resumes where it stopped. `online(false)` runs
    /// every step inside the one transaction instead.
    pub fn online(mut self, yes: bool) -> Self {
        self.online = Some(yes);
        self
    }

    /// Rows per backfill batch in online mode (each batch is its own short
    /// transaction). Default 5 000.
    pub fn batch_size(mut self, rows: u32) -> Self {
        self.batch_size = rows.max(1);
        self
    }

    /// How long one step may wait for its table lock before it gives up, rolls
    /// back to its savepoint and retries (so a migration queued behind a long
    /// transaction does not block every other query on the table meanwhile).
    /// Default 5 s; where the database has no such setting it is ignored.
    pub fn step_lock_timeout(mut self, timeout: Duration) -> Self {
        self.step_lock_timeout = timeout;
        self
    }

    /// How often a step that timed out waiting for its lock is retried (with
    /// exponential backoff from 100 ms) before the migration fails. Default 5.
    pub fn step_retries(mut self, n: u32) -> Self {
        self.step_retries = n;
        self
    }

    /// Testing only: stop the online phase after `n` statements, as if the
    /// process had been killed, leaving the history row in progress.
    #[doc(hidden)]
    pub fn stop_online_after(mut self, n: usize) -> Self {
        self.stop_online_after = Some(n);
        self
    }

    /// Asks, and reports progress, through `interaction` for this call instead
    /// of the handle's (see [`DataFlow::set_interaction`]).
    ///
    /// [`DataFlow::set_interaction`]: crate::DataFlow::set_interaction
    pub fn interaction(mut self, interaction: impl Interaction + 'static) -> Self {
        self.interaction = Some(Arc::new(interaction));
        self
    }

    /// Whether the step's operation is allowed by `exclude_operations`.
    pub fn allows(&self, op: Operation) -> bool {
        !self.exclude_operations.contains(&op)
    }

    /// Whether the options let this table be touched.
    pub fn includes(&self, table: &str) -> bool {
        self.include_tables
            .as_ref()
            .is_none_or(|t| t.iter().any(|x| x == table))
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
