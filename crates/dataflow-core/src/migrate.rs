//! Reconciling registered models with the live database: options, steps, the
//! report and its preview. The stages live in `diff.rs` (what changed),
//! `risk.rs` (how risky), `plan.rs` (steps with SQL both ways) and
//! `executor.rs` (lock, backup, apply, history).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::diff::Change;
use crate::schema::{Schema, Table};

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
    /// Add a foreign key.
    AddForeignKey,
    /// Drop a foreign key.
    DropForeignKey,
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
            Operation::AddForeignKey => "add foreign key",
            Operation::DropForeignKey => "drop foreign key",
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
    pub fn preview(&self) -> String {
        if self.steps.is_empty() {
            return "No changes: the database matches the models.\n".to_owned();
        }
        let mut table = comfy_table::Table::new();
        table
            .load_preset(comfy_table::presets::UTF8_FULL_CONDENSED)
            .set_header(["Table", "Operation", "Details", "Risk"]);
        for s in &self.steps {
            table.add_row([
                s.table.clone(),
                s.operation.to_string(),
                s.detail.clone(),
                s.risk.to_string(),
            ]);
        }
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
                out.push_str(&format!(
                    "  {} {} {}: {}{mark}\n",
                    s.risk, s.operation, s.table, s.reason
                ));
            }
        }
        let forward: Vec<&MigrationStep> = self.steps.iter().collect();
        let backward: Vec<&MigrationStep> = self.steps.iter().rev().collect();
        sql_section(&mut out, "Backup", &forward, |s| &s.backup);
        sql_section(&mut out, "SQL", &forward, |s| &s.sql_up);
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
