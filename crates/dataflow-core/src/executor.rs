//! The executor: lock → describe → plan → policy → confirm → backup → apply →
//! history → unlock, all inside one transaction on the backends that allow it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::time::Instant;

use crate::backend::Connection;
use crate::dataflow::DataFlow;
use crate::dialect::Dialect;
use crate::diff::{Droppable, Hints};
use crate::error::{Error, Result};
use crate::history::{self, MigrationRecord, MigrationStatus};
use crate::migrate::{MigrateOptions, MigrationReport, MigrationStep, RiskLevel};
use crate::plan::{plan, PlanInput};
use crate::risk::Facts;
use crate::schema::{Column, ForeignKey, Schema};
use crate::statement::SqlWriter;
use crate::value::{LogicalType, Value};

/// Facts answered by `COUNT` queries on a connection, each asked once.
struct ConnFacts<'a> {
    conn: &'a mut dyn Connection,
    dialect: &'a dyn Dialect,
    live: &'a Schema,
    cache: BTreeMap<String, i64>,
}

impl ConnFacts<'_> {
    fn count(&mut self, w: SqlWriter<'_>) -> Result<i64> {
        let s = w.finish();
        if let Some(v) = self.cache.get(&s.text) {
            return Ok(*v);
        }
        let mut n = 0;
        self.conn
            .query(&s.text, &s.binds, &[LogicalType::BigInt], &mut |row| {
                if let Value::I64(v) = row[0] {
                    n = v;
                }
                Ok(())
            })?;
        self.cache.insert(s.text, n);
        Ok(n)
    }
    fn q(&self, s: &str) -> String {
        let mut o = String::new();
        self.dialect.quote_ident(s, &mut o);
        o
    }
}

impl Facts for ConnFacts<'_> {
    fn row_count(&mut self, table: &str) -> Result<i64> {
        if !self.live.tables.contains_key(table) {
            return Ok(0);
        }
        let mut w = SqlWriter::new(self.dialect);
        w.push("SELECT COUNT(*) FROM ").ident(table);
        self.count(w)
    }

    fn non_null_count(&mut self, table: &str, column: &str) -> Result<i64> {
        let mut w = SqlWriter::new(self.dialect);
        w.push("SELECT COUNT(")
            .ident(column)
            .push(") FROM ")
            .ident(table);
        self.count(w)
    }

    fn duplicate_groups(&mut self, table: &str, columns: &[String]) -> Result<i64> {
        let mut w = SqlWriter::new(self.dialect);
        w.push("SELECT COUNT(*) FROM (SELECT 1 AS one FROM ")
            .ident(table)
            .push(" WHERE ");
        for (i, c) in columns.iter().enumerate() {
            if i > 0 {
                w.push(" AND ");
            }
            w.ident(c).push(" IS NOT NULL");
        }
        w.push(" GROUP BY ");
        for (i, c) in columns.iter().enumerate() {
            if i > 0 {
                w.push(", ");
            }
            w.ident(c);
        }
        w.push(" HAVING COUNT(*) > 1) ").ident("dups");
        self.count(w)
    }

    fn values_not_fitting(&mut self, table: &str, from: &Column, to: &Column) -> Result<i64> {
        let c = self.q(&from.name);
        match self.dialect.not_fitting_predicate(&c, from, to) {
            Some(pred) => {
                let mut w = SqlWriter::new(self.dialect);
                w.push("SELECT COUNT(*) FROM ").ident(table).push(" WHERE ");
                w.ident(&from.name)
                    .push(" IS NOT NULL AND (")
                    .push(&pred)
                    .push(")");
                self.count(w)
            }
            None => self.non_null_count(table, &from.name),
        }
    }

    fn orphans(&mut self, table: &str, fk: &ForeignKey) -> Result<i64> {
        if !self.live.tables.contains_key(&fk.references_table) {
            return self.non_null_count(table, &fk.column);
        }
        let mut w = SqlWriter::new(self.dialect);
        w.push("SELECT COUNT(*) FROM ").ident(table).push(" WHERE ");
        w.ident(&fk.column)
            .push(" IS NOT NULL AND ")
            .ident(&fk.column);
        w.push(" NOT IN (SELECT ")
            .ident(&fk.references_column)
            .push(" FROM ");
        w.ident(&fk.references_table).push(")");
        self.count(w)
    }
}

/// A new, sortable migration version: the UTC time to the microsecond.
fn new_version() -> String {
    chrono::Utc::now().format("%Y%m%d%H%M%S%6f").to_string()
}

fn summary(steps: &[MigrationStep]) -> String {
    let mut s: Vec<String> = steps
        .iter()
        .take(4)
        .map(|s| format!("{} {}", s.operation, s.table))
        .collect();
    if steps.len() > 4 {
        s.push(format!("and {} more", steps.len() - 4));
    }
    s.join(", ")
}

struct Planned {
    report: MigrationReport,
    target: Schema,
}

fn plan_with(
    db: &DataFlow,
    conn: &mut dyn Connection,
    options: &MigrateOptions,
    version: &str,
) -> Result<Planned> {
    let backend = db.backend();
    let dialect = db.dialect();
    let models = db.models();
    let target = db.target_schema();
    let hints = Hints::from_descriptors(models.iter().copied());
    let live = db.describe_with(conn)?;
    let owned: BTreeSet<String> = history::owned(backend, conn)?.into_iter().collect();
    let renamed_away: BTreeSet<&String> = hints.tables.values().collect();
    let unregistered: Vec<String> = live
        .tables
        .keys()
        .filter(|t| !target.tables.contains_key(*t) && !renamed_away.contains(t))
        .cloned()
        .collect();
    let droppable: Droppable = if options.prune {
        unregistered
            .iter()
            .filter(|t| owned.contains(*t))
            .cloned()
            .collect()
    } else {
        Droppable::new()
    };
    let input = PlanInput {
        live: &live,
        target: &target,
        hints: &hints,
        droppable: &droppable,
        dialect,
        options,
        version,
    };
    let mut facts = ConnFacts {
        conn,
        dialect,
        live: &live,
        cache: BTreeMap::new(),
    };
    let steps = plan(&input, &mut facts)?;
    let unmanaged_tables = unregistered
        .into_iter()
        .filter(|t| !droppable.contains(t))
        .collect();
    Ok(Planned {
        report: MigrationReport {
            applied: false,
            version: None,
            steps,
            unmanaged_tables,
        },
        target,
    })
}

/// What the options allow, and whether to ask first.
fn policy(options: &MigrateOptions, interactive: bool) -> (RiskLevel, bool) {
    if interactive {
        (options.max_risk.unwrap_or(RiskLevel::High), true)
    } else if options.auto_confirm {
        (options.max_risk.unwrap_or(RiskLevel::Safe), false)
    } else {
        (RiskLevel::Safe, false)
    }
}

fn refusals(steps: &[MigrationStep], ceiling: RiskLevel) -> Vec<String> {
    steps
        .iter()
        .filter(|s| s.risk > ceiling || s.blocked.is_some())
        .map(|s| match &s.blocked {
            Some(why) => format!("{} {}: BLOCKED: {why}", s.operation, s.table),
            None => format!(
                "{} {}: {} is above the allowed {ceiling}: {}",
                s.operation, s.table, s.risk, s.reason
            ),
        })
        .collect()
}

fn confirm(report: &MigrationReport) -> Result<bool> {
    eprintln!("{}", report.preview());
    dialoguer::Confirm::new()
        .with_prompt(format!(
            "Apply {} step(s), highest risk {}?",
            report.steps.len(),
            report.max_risk()
        ))
        .default(false)
        .interact()
        .map_err(|e| Error::InvalidInput(format!("confirmation prompt failed: {e}")))
}

impl DataFlow {
    /// Reconciles the database with the registered models; see [`MigrateOptions`].
    ///
    /// Takes the migration lock first, plans against the database as it is under
    /// the lock (a racing process that already migrated leaves nothing to do),
    /// refuses the whole plan if any step is above the allowed risk or blocked,
    /// backs up what destructive steps destroy, applies every step in one
    /// transaction and records it in `_dataflow_migrations`.
    pub fn auto_migrate(&self, options: MigrateOptions) -> Result<MigrationReport> {
        if options.dry_run {
            return self.with_conn(|conn| {
                let version = new_version();
                Ok(plan_with(self, conn, &options, &version)?.report)
            });
        }
        // Fast path: most starts find nothing to do, and need neither the lock
        // nor a write transaction to learn that. Anything else is planned again
        // under the lock.
        let quick = self.with_conn(|conn| {
            let version = new_version();
            Ok(plan_with(self, conn, &options, &version)?.report)
        })?;
        if quick.steps.is_empty() {
            return Ok(quick);
        }
        let interactive = !options.auto_confirm
            && std::io::stdin().is_terminal()
            && std::io::stderr().is_terminal();
        let (ceiling, ask) = policy(&options, interactive);
        let backend = self.backend();
        let dialect = self.dialect();
        let mut result = None;
        backend.with_migration(options.lock_timeout, &mut |conn| {
            history::ensure(backend, conn)?;
            if let Some((version, name, error)) = history::failed(backend, conn)?.into_iter().next() {
                return Err(Error::MigrationRefused {
                    steps: vec![format!(
                        "migration {version} ({name}) failed part-way: {}; inspect the database, then call resolve_failed(\"{version}\")",
                        error.as_deref().unwrap_or("no message"),
                    )],
                });
            }
            let version = new_version();
            let Planned { mut report, target } = plan_with(self, conn, &options, &version)?;
            if report.steps.is_empty() {
                result = Some(report);
                return Ok(());
            }
            let refused = refusals(&report.steps, ceiling);
            if !refused.is_empty() {
                return Err(Error::MigrationRefused { steps: refused });
            }
            if ask && report.max_risk() > RiskLevel::Safe && !confirm(&report)? {
                return Err(Error::MigrationRefused {
                    steps: vec!["declined at the confirmation prompt".into()],
                });
            }
            let started = chrono::Utc::now();
            let clock = Instant::now();
            for step in &report.steps {
                for sql in step.backup.iter().chain(&step.sql_up) {
                    tracing::debug!(target: "dataflow::migrate", %sql, "apply");
                    conn.batch_execute(sql)?;
                }
                history::track(conn, dialect, &step.change, &version, true)?;
            }
            let record = MigrationRecord {
                version: version.clone(),
                name: summary(&report.steps),
                checksum: target.checksum(),
                started_at: started,
                finished_at: Some(chrono::Utc::now()),
                duration_ms: Some(clock.elapsed().as_millis() as i64),
                steps: report.steps.clone(),
                status: MigrationStatus::Applied,
                error: None,
            };
            history::record(conn, dialect, &record)?;
            tracing::info!(target: "dataflow::migrate", %version, steps = report.steps.len(), "applied");
            report.applied = true;
            report.version = Some(version);
            result = Some(report);
            Ok(())
        })?;
        result.ok_or_else(|| Error::Database("migration did not run".into()))
    }

    /// The plan `auto_migrate` would apply, without applying it (a dry run).
    pub fn plan(&self) -> Result<MigrationReport> {
        self.auto_migrate(MigrateOptions::default().dry_run(true))
    }

    /// `Ok` with the tables no model declares when the live database matches the
    /// registered models; `Error::Drift` naming each difference otherwise.
    pub fn check(&self) -> Result<CheckReport> {
        let report = self.plan()?;
        if report.steps.is_empty() {
            return Ok(CheckReport {
                unmanaged_tables: report.unmanaged_tables,
            });
        }
        let mut differences: Vec<String> = report
            .steps
            .iter()
            .map(|s| format!("{}: {} ({})", s.table, s.operation, s.detail))
            .collect();
        if !report.unmanaged_tables.is_empty() {
            differences.push(format!(
                "unmanaged tables (not a difference): {}",
                report.unmanaged_tables.join(", ")
            ));
        }
        Err(Error::Drift { differences })
    }

    /// Every recorded migration, oldest first.
    pub fn migration_history(&self) -> Result<Vec<MigrationRecord>> {
        self.with_conn(|conn| history::load(self.backend(), conn))
    }

    /// Undoes the applied migrations from the newest back to and including
    /// `version`, restoring backed-up data, in one transaction.
    pub fn rollback(&self, version: &str) -> Result<Vec<String>> {
        self.rollback_where(Some(version), MigrateOptions::default().lock_timeout)
    }

    /// Undoes the newest applied migration. Returns the versions undone.
    pub fn rollback_last(&self) -> Result<Vec<String>> {
        self.rollback_where(None, MigrateOptions::default().lock_timeout)
    }

    fn rollback_where(
        &self,
        version: Option<&str>,
        lock_timeout: std::time::Duration,
    ) -> Result<Vec<String>> {
        let backend = self.backend();
        let dialect = self.dialect();
        let mut undone = Vec::new();
        backend.with_migration(lock_timeout, &mut |conn| {
            undone.clear();
            let records = history::load(backend, conn)?;
            let applied: Vec<&MigrationRecord> = records
                .iter()
                .filter(|r| r.status == MigrationStatus::Applied)
                .collect();
            let chosen: Vec<&MigrationRecord> = match version {
                Some(v) => {
                    if !applied.iter().any(|r| r.version == v) {
                        return Err(Error::InvalidInput(format!(
                            "no applied migration has version {v}"
                        )));
                    }
                    applied.into_iter().filter(|r| r.version.as_str() >= v).collect()
                }
                None => applied.last().copied().into_iter().collect(),
            };
            if chosen.is_empty() {
                return Err(Error::InvalidInput("no applied migration to roll back".into()));
            }
            for r in chosen.iter().rev() {
                if let Some(s) = r.steps.iter().find(|s| s.irreversible.is_some()) {
                    tracing::warn!(target: "dataflow::migrate", version = %r.version, table = %s.table,
                        "rolling back a step whose data was not backed up");
                }
                for step in r.steps.iter().rev() {
                    for sql in &step.sql_down {
                        tracing::debug!(target: "dataflow::migrate", %sql, "rollback");
                        conn.batch_execute(sql)?;
                    }
                    history::track(conn, dialect, &step.change, &r.version, false)?;
                }
                history::set_status(conn, dialect, &r.version, MigrationStatus::RolledBack)?;
                undone.push(r.version.clone());
            }
            Ok(())
        })?;
        Ok(undone)
    }

    /// Marks a failed migration as dealt with, so automatic migration resumes.
    pub fn resolve_failed(&self, version: &str) -> Result<()> {
        let d = self.dialect();
        self.with_conn(|conn| history::set_status(conn, d, version, MigrationStatus::RolledBack))
    }
}

/// What `check()` reports when the database matches the models.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckReport {
    /// Tables no registered model declares; dataflow leaves them alone.
    pub unmanaged_tables: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_follows_the_contract() {
        let o = MigrateOptions::default();
        assert_eq!(policy(&o, false), (RiskLevel::Safe, false));
        assert_eq!(
            policy(&o.clone().max_risk(RiskLevel::High), false).0,
            RiskLevel::Safe
        );
        assert_eq!(
            policy(
                &o.clone().auto_confirm(true).max_risk(RiskLevel::High),
                false
            ),
            (RiskLevel::High, false)
        );
        assert_eq!(
            policy(&o.clone().auto_confirm(true), false).0,
            RiskLevel::Safe
        );
        assert_eq!(policy(&o.clone(), true), (RiskLevel::High, true));
        assert_eq!(
            policy(&o.max_risk(RiskLevel::Medium), true).0,
            RiskLevel::Medium
        );
    }
}
