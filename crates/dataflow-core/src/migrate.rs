//! Reconciling registered models with the live database: options, steps, risk,
//! the report and its preview.
//!
//! This first version plans what is always safe — creating missing tables and
//! their indexes — and reports any other difference as [`Error::Drift`] instead of
//! ignoring it. The full differ (alter, rename, drop, risk from live facts,
//! history, rollback) builds on these types.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::dialect::Dialect;
use crate::error::{Error, Result};
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
        let mut out = format!("{table}\n\nSQL:\n");
        for s in &self.steps {
            for q in &s.sql_up {
                out.push_str("  ");
                out.push_str(q);
                out.push_str(";\n");
            }
        }
        out.push_str(&format!(
            "\n{} step(s), highest risk {}{}\n",
            self.steps.len(),
            self.max_risk(),
            if self.applied {
                ", applied"
            } else {
                ", not applied"
            }
        ));
        out
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

    /// The effective risk ceiling: `Safe` unless raised.
    pub fn risk_ceiling(&self) -> RiskLevel {
        self.max_risk.unwrap_or(RiskLevel::Safe)
    }

    /// Whether the options let this table be touched.
    pub fn includes(&self, table: &str) -> bool {
        self.include_tables
            .as_ref()
            .is_none_or(|t| t.iter().any(|x| x == table))
    }
}

/// Differences between a live table and its target, one line each.
pub fn table_differences(live: &Table, target: &Table) -> Vec<String> {
    let mut out = Vec::new();
    let t = &target.name;
    for col in &target.columns {
        match live.column(&col.name) {
            None => out.push(format!("{t}.{}: column is missing", col.name)),
            Some(l) if l != col => out.push(format!(
                "{t}.{}: live {} differs from model {}",
                col.name,
                describe_column(l),
                describe_column(col)
            )),
            Some(_) => {}
        }
    }
    for col in &live.columns {
        if target.column(&col.name).is_none() {
            out.push(format!("{t}.{}: column is not in the model", col.name));
        }
    }
    if live.primary_key != target.primary_key {
        out.push(format!(
            "{t}: primary key ({}) differs from model ({})",
            live.primary_key.join(", "),
            target.primary_key.join(", ")
        ));
    }
    for idx in &target.indexes {
        if !live.indexes.contains(idx) {
            out.push(format!("{t}: index {} is missing or different", idx.name));
        }
    }
    for idx in &live.indexes {
        if !target.indexes.iter().any(|i| i.name == idx.name) {
            out.push(format!("{t}: index {} is not in the model", idx.name));
        }
    }
    if live.foreign_keys != target.foreign_keys {
        out.push(format!("{t}: foreign keys differ from the model"));
    }
    out
}

fn describe_column(c: &crate::schema::Column) -> String {
    let mut s = c.ty.to_string();
    if let Some(n) = c.max_length {
        s.push_str(&format!("({n})"));
    }
    s.push_str(if c.nullable { " NULL" } else { " NOT NULL" });
    if let Some(d) = &c.default {
        s.push_str(&format!(" DEFAULT {d:?}"));
    }
    if c.auto_increment {
        s.push_str(" AUTOINCREMENT");
    }
    s
}

/// Plans the creation of every target table missing from the live schema. Tables
/// that exist but differ are reported as drift: they are never silently ignored.
pub fn plan_creates(
    live: &Schema,
    target: &Schema,
    dialect: &dyn Dialect,
    options: &MigrateOptions,
) -> Result<Vec<MigrationStep>> {
    let mut steps = Vec::new();
    let mut differences = Vec::new();
    // Referenced tables first, so a foreign key never points at a table not yet made.
    for table in creation_order(target) {
        if !options.includes(&table.name) {
            continue;
        }
        match live.tables.get(&table.name) {
            None => {
                let columns: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
                steps.push(MigrationStep {
                    operation: Operation::CreateTable,
                    table: table.name.clone(),
                    detail: format!("columns {}", columns.join(", ")),
                    risk: RiskLevel::Safe,
                    reason: "a new table holds no data yet".to_owned(),
                    sql_up: dialect.create_table(table),
                    sql_down: vec![dialect.drop_table(&table.name)],
                    blocked: None,
                });
            }
            Some(l) => differences.extend(table_differences(l, table)),
        }
    }
    if !differences.is_empty() {
        differences.push(
            "(changing existing tables needs the migration engine, which is not built yet)"
                .to_owned(),
        );
        return Err(Error::Drift { differences });
    }
    Ok(steps)
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
