//! Rollback: choosing which recorded migrations to undo, planning their
//! inverses against the live database, restoring what their backups kept,
//! and applying the result as a migration of its own.
//!
//! Kept whole (about 540 lines, 50 of them tests): planning a rollback adjusts
//! each inverse step by what its migration backed up, and those adjustments
//! read best next to each other.

use std::time::{Duration, Instant};

use crate::backend::Connection;
use crate::error::{Error, Result};
use crate::migrate::apply::{apply_step, elapsed_ms, new_version};
use crate::migrate::dialect::Dialect;
use crate::migrate::diff::{Change, Droppable, Hints};
use crate::migrate::facts::{ConnCounts, LiveCounts};
use crate::migrate::handle::MigrateHandle;
use crate::migrate::history::{self, MigrationRecord, MigrationStatus};
use crate::migrate::plan::{plan_changes, PlanInput, RowKey};
use crate::migrate::policy::{interaction, Kind, Policy};
use crate::migrate::risk::{classify_cast, Cast};
use crate::migrate::schema::{Column, Schema};
use crate::migrate::{MigrateOptions, MigrationReport, MigrationStep, RiskLevel};
use crate::query::statement::SqlWriter;

/// What a rollback would do, and what it needs to record it.
struct RollbackPlan {
    report: MigrationReport,
    /// The migrations undone, newest first.
    undone: Vec<MigrationRecord>,
    /// The schema the rollback leaves.
    after: Schema,
}

/// The migrations a rollback undoes, newest first.
///
/// Without a version: the newest applied migration (not a rollback, so that
/// calling it again walks further back). With a version: that applied migration and every
/// applied migration after it; a rollback can be named only while it is the
/// newest migration (anything after it was planned on top of it). A failed
/// migration counts as applied while it is the newest record, and refuses
/// every rollback otherwise, as one still in progress does.
fn choose_undone<'r>(
    records: &'r [MigrationRecord],
    version: Option<&str>,
) -> Result<Vec<&'r MigrationRecord>> {
    // A failed migration is undone only while it is the newest record:
    // anything planned after it would have been planned on top of a database
    // it left part-way.
    let newest_failed = records
        .last()
        .filter(|r| r.status == MigrationStatus::Failed);
    if let Some(r) = records.iter().find(|r| {
        (r.status == MigrationStatus::Failed
            && newest_failed.map(|n| n.version.as_str()) != Some(r.version.as_str()))
            || r.status == MigrationStatus::InProgress
    }) {
        let why = if r.status == MigrationStatus::Failed {
            format!(
                "migration {} ({}) failed part-way and is not the newest migration: inspect the database, then call resolve_failed(\"{}\") before rolling back",
                r.version, r.name, r.version
            )
        } else {
            format!(
                "migration {} ({}) has not finished its online phase: let auto_migrate finish it before rolling back",
                r.version, r.name
            )
        };
        return Err(Error::MigrationRefused {
            steps: vec![why],
            policy: String::new(),
        });
    }
    // Undoing a rollback re-applies its migrations as a record of its own
    // (with its own backups), which carries their changes from then on: it
    // is undone like a forward migration, while the rollback it undid and
    // the migrations that rollback undid stay rolled back.
    let is_redo = |r: &MigrationRecord| {
        r.is_rollback()
            && r.rolls_back()
                .iter()
                .all(|v| records.iter().any(|x| x.version == *v && x.is_rollback()))
    };
    let applied_forward = |r: &&MigrationRecord| {
        (r.status == MigrationStatus::Applied && (!r.is_rollback() || is_redo(r)))
            || r.status == MigrationStatus::Failed
    };
    let newest = records.last();
    let Some(version) = version else {
        return records
            .iter()
            .rev()
            .find(applied_forward)
            .map(|r| vec![r])
            .ok_or_else(|| Error::InvalidInput("no applied migration to roll back".into()));
    };
    let Some(named) = records.iter().find(|r| r.version == version) else {
        return Err(Error::InvalidInput(format!(
            "no migration has version {version}"
        )));
    };
    if !matches!(
        named.status,
        MigrationStatus::Applied | MigrationStatus::Failed
    ) {
        return Err(Error::InvalidInput(format!(
            "migration {version} is {}: only an applied (or the newest failed) migration can be rolled back",
            named.status
        )));
    }
    if named.is_rollback() && !is_redo(named) {
        return match newest {
            Some(n) if n.version == named.version => Ok(vec![named]),
            Some(n) => Err(Error::InvalidInput(format!(
                "migration {version} is a rollback, which can be undone only while it is the newest migration; {} came after it",
                n.version
            ))),
            None => Ok(vec![named]),
        };
    }
    Ok(records
        .iter()
        .rev()
        .filter(applied_forward)
        .filter(|r| r.version.as_str() >= version)
        .collect())
}

/// Turns a planned rollback step into the restore of what its migration's
/// step backed up, when it did: that step's `sql_down` brings the data back.
/// A restore that overwrites current values (a column changed in place) keeps
/// them first, so that undoing the rollback puts them back.
#[allow(clippy::too_many_arguments)]
fn restore_from_backup(
    d: &dyn Dialect,
    step: &mut MigrationStep,
    forward: &MigrationStep,
    before: &Schema,
    after: &Schema,
    options: &MigrateOptions,
    version_now: &str,
    index: usize,
) {
    if forward.backup.is_empty() {
        if let Some(why) = &forward.irreversible {
            step.reason = format!(
                "{}; the migration ran without a backup ({why})",
                step.reason
            );
        }
        return;
    }
    step.sql_up = forward.sql_down.clone();
    step.backup.clear();
    step.irreversible = None;
    match &forward.change {
        Change::DropTable { table } => {
            step.risk = RiskLevel::Safe;
            step.blocked = None;
            step.reason = format!("restores table {} and its backed-up rows", table.name);
        }
        Change::DropColumn { table, column } => {
            step.risk = RiskLevel::Safe;
            step.blocked = None;
            step.reason = format!("restores {table}.{} and its backed-up values", column.name);
        }
        Change::AlterColumn { table, from, .. } => {
            step.risk = step.risk.max(RiskLevel::Medium);
            step.reason = format!(
                "{}; puts back the backed-up values of {table}.{}, overwriting what those rows hold now",
                step.reason, from.name
            );
            if options.backup {
                let name = format!("_dataflow_backup_{version_now}_{index}");
                let (backup, down) =
                    crate::migrate::plan::backup_sql(d, &step.change, before, after, &name);
                step.backup = backup;
                if let Some(down) = down {
                    step.sql_down = down;
                }
            } else {
                step.irreversible = Some(
                    "rolled back with backup(false): undoing the rollback cannot restore the values it overwrote".into(),
                );
            }
        }
        Change::RebuildTable { .. } => {
            crate::migrate::rebuild::restore_parts(
                d,
                step,
                forward,
                before,
                after,
                options
                    .backup
                    .then(|| format!("_dataflow_backup_{version_now}_{index}")),
            );
        }
        _ => {}
    }
}

impl dyn MigrateHandle + '_ {
    pub(crate) fn run_rollback(
        &self,
        version: Option<&str>,
        options: &MigrateOptions,
    ) -> Result<MigrationReport> {
        let backend = self.backend();
        let dialect = self.dialect();
        if options.dry_run {
            return self.with_conn(|conn| {
                let version_now = new_version();
                Ok(self
                    .plan_rollback(conn, version, options, &version_now)?
                    .report)
            });
        }
        let interaction = interaction(self, options);
        let policy = Policy::new(Kind::Rollback, options, &*interaction);
        let mut result = None;
        backend.with_migration(options.lock_timeout, &mut |conn| {
            result = None;
            history::ensure(self, conn)?;
            let version_now = new_version();
            let RollbackPlan {
                mut report,
                undone,
                after,
            } = self.plan_rollback(conn, version, options, &version_now)?;
            if let Some(refusal) = policy.refuse(&report.steps) {
                return Err(refusal);
            }
            if policy.ask
                && report.max_risk() > RiskLevel::Medium
                && !interaction.confirm(&report)?
            {
                return Err(policy.declined());
            }
            let started = chrono::Utc::now();
            let clock = Instant::now();
            for step in &mut report.steps {
                tracing::debug!(target: "dataflow::migrate", table = %step.table, operation = %step.operation, "rollback step");
                let step_clock = Instant::now();
                apply_step(conn, dialect, step, options)?;
                step.duration_ms = Some(elapsed_ms(step_clock));
                history::track(conn, dialect, &step.change, &version_now, true)?;
            }
            if let Some(reset) = dialect.set_lock_timeout(Duration::ZERO, true) {
                conn.batch_execute(&reset)?;
            }
            history::record(
                conn,
                dialect,
                &MigrationRecord {
                    version: version_now.clone(),
                    name: format!("rollback of {}", report.rolled_back.join(", ")),
                    checksum: after.checksum(),
                    started_at: started,
                    finished_at: Some(chrono::Utc::now()),
                    duration_ms: Some(elapsed_ms(clock)),
                    steps: report.steps.clone(),
                    status: MigrationStatus::Applied,
                    error: None,
                },
            )?;
            for r in &undone {
                history::set_status(conn, dialect, &r.version, MigrationStatus::RolledBack)?;
            }
            tracing::info!(target: "dataflow::migrate", version = %version_now,
                undone = ?report.rolled_back, steps = report.steps.len(), "rolled back");
            report.applied = true;
            report.version = Some(version_now);
            result = Some(report);
            Ok(())
        })?;
        result.ok_or_else(|| Error::Database("rollback did not run".into()))
    }

    /// Plans a rollback: the inverses of the undone migrations' steps, newest
    /// first, through the planner (live facts, backups, SQL both ways); a step
    /// whose migration backed up what it destroyed restores that backup.
    fn plan_rollback(
        &self,
        conn: &mut dyn Connection,
        version: Option<&str>,
        options: &MigrateOptions,
        version_now: &str,
    ) -> Result<RollbackPlan> {
        let d = self.dialect();
        let records = history::load(self, conn)?;
        let undone: Vec<MigrationRecord> = choose_undone(&records, version)?
            .into_iter()
            .cloned()
            .collect();
        let forward: Vec<(&str, usize, &MigrationStep)> = undone
            .iter()
            .flat_map(|r| {
                r.steps
                    .iter()
                    .enumerate()
                    .rev()
                    .map(|(i, s)| (r.version.as_str(), i, s))
            })
            .filter(|(_, _, s)| s.change.inverse().is_some())
            .collect();
        let changes: Vec<Change> = forward
            .iter()
            .filter_map(|(_, _, s)| s.change.inverse())
            .collect();
        let live = self.describe_with(conn)?;
        // A rollback undoes whole migrations: the options' table and operation
        // filters do not apply to it.
        let plan_options = MigrateOptions {
            include_tables: None,
            exclude_operations: Vec::new(),
            ..options.clone()
        };
        let (hints, droppable) = (Hints::default(), Droppable::new());
        let input = PlanInput {
            live: &live,
            target: &live,
            hints: &hints,
            droppable: &droppable,
            dialect: d,
            capabilities: self.capabilities(),
            options: &plan_options,
            version: version_now,
            online: false,
        };
        let mut counts = ConnCounts::new(conn);
        let mut steps = plan_changes(&input, changes, &mut counts)?;
        let mut state = live.clone();
        for (i, (step, (v, at, fwd))) in steps.iter_mut().zip(&forward).enumerate() {
            let before = state.clone();
            crate::migrate::diff::apply(&mut state, &step.change);
            step.undoes = Some((*v).to_owned());
            restore_from_backup(d, step, fwd, &before, &state, options, version_now, i);
            // A failed online migration committed its transaction and only the
            // online statements its step counts as done: undo what exists.
            if fwd.online_done < fwd.sql_online.len() {
                match &fwd.change {
                    // The concurrent build left an INVALID index, or none.
                    Change::CreateIndex { index, .. } => {
                        let mut w = SqlWriter::new(d);
                        w.push("DROP INDEX IF EXISTS ").ident(&index.name);
                        step.sql_up = vec![w.finish().text];
                    }
                    // The constraint committed NOT VALID; dropping it is the
                    // ordinary inverse.
                    Change::AddForeignKey { .. } => {}
                    _ => {
                        let why = format!(
                            "{} of {} stopped after {} of {} online statements, which leaves it part-way; repair it by hand, then call resolve_failed(\"{v}\")",
                            fwd.operation,
                            fwd.table,
                            fwd.online_done,
                            fwd.sql_online.len()
                        );
                        step.risk = RiskLevel::High;
                        step.reason = why.clone();
                        step.blocked = Some(why);
                    }
                }
            }
            // Undoing a widening narrows the column back, and the planner
            // counted what does not fit in the live values. But the restore
            // puts the backed-up values back first (see `plan::backup_sql`):
            // only rows written since, which the backup does not hold, can
            // still not fit.
            let widened: Vec<(&String, &Column, &Column, String, Option<usize>)> = match &fwd.change
            {
                Change::AlterColumn {
                    table, from, to, ..
                } if !fwd.backup.is_empty() => {
                    vec![(table, from, to, format!("_dataflow_backup_{v}_{at}"), None)]
                }
                // The rollback's parts undo the forward parts in reverse order.
                Change::RebuildTable { table, changes } => changes
                    .iter()
                    .zip(&fwd.parts)
                    .enumerate()
                    .filter_map(|(k, (c, p))| match c {
                        Change::AlterColumn { from, to, .. } if p.backed_up => Some((
                            table,
                            from,
                            to,
                            format!("_dataflow_backup_{v}_{at}_{k}"),
                            Some(changes.len() - 1 - k),
                        )),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            for (table, old, new, backup, part) in widened {
                let key = live.tables.get(table).and_then(|t| RowKey::of(d, t));
                let blocked = match part {
                    None => step.blocked.as_deref(),
                    Some(i) => step.parts.get(i).and_then(|p| p.blocked.as_deref()),
                };
                let (Some(key), Cast::Widening, true) = (
                    key,
                    classify_cast(old, new),
                    blocked.is_some_and(|b| b.contains("do not fit")),
                ) else {
                    continue;
                };
                let mut column = String::new();
                d.quote_ident(&new.name, &mut column);
                let Some(pred) = d.not_fitting_predicate(&column, new, old) else {
                    continue;
                };
                let mut w = SqlWriter::new(d);
                w.push("SELECT COUNT(*) FROM ").ident(table).push(" WHERE ");
                w.push(&column).push(" IS NOT NULL AND (").push(&pred);
                w.push(") AND ")
                    .push(&key.value())
                    .push(" NOT IN (SELECT ")
                    .push(&key.list());
                w.push(" FROM ").ident(&backup).push(")");
                let bad = counts.count(&w.finish())?;
                let (risk, reason, blocked) = if bad == 0 {
                    (
                        RiskLevel::Medium,
                        format!(
                            "narrows {table}.{} back to its old type; every value fits once the backed-up values are back (they overwrite what those rows hold now)",
                            new.name
                        ),
                        None,
                    )
                } else {
                    let why = format!(
                        "{bad} values of {table}.{} written since the migration do not fit in its old type",
                        new.name
                    );
                    (RiskLevel::High, why.clone(), Some(why))
                };
                match part.and_then(|i| step.parts.get_mut(i)) {
                    Some(p) => {
                        (p.risk, p.reason, p.blocked) = (risk, reason, blocked);
                        (step.risk, step.reason, step.blocked) =
                            crate::migrate::rebuild::summarize(&step.parts);
                    }
                    None => (step.risk, step.reason, step.blocked) = (risk, reason, blocked),
                }
            }
            // A NOT NULL column without a default comes back only where its
            // backup has a value: rows written since it was dropped have none.
            let dropped: Vec<(&String, &crate::migrate::schema::Column, String)> = match &fwd.change
            {
                Change::DropColumn { table, column } if !fwd.backup.is_empty() => {
                    vec![(table, column, format!("_dataflow_backup_{v}_{at}"))]
                }
                Change::RebuildTable { table, changes } => changes
                    .iter()
                    .zip(&fwd.parts)
                    .enumerate()
                    .filter_map(|(k, (c, p))| match c {
                        Change::DropColumn { column, .. } if p.backed_up => {
                            Some((table, column, format!("_dataflow_backup_{v}_{at}_{k}")))
                        }
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            for (table, column, backup) in dropped {
                let key = live.tables.get(table).and_then(|t| RowKey::of(d, t));
                if let (false, None, Some(key)) = (column.nullable, &column.default, key) {
                    let mut w = SqlWriter::new(d);
                    w.push("SELECT COUNT(*) FROM ").ident(table).push(" WHERE ");
                    w.push(&key.value())
                        .push(" NOT IN (SELECT ")
                        .push(&key.list());
                    w.push(" FROM ").ident(&backup).push(")");
                    let missing = counts.count(&w.finish())?;
                    if missing > 0 {
                        let why = format!(
                            "{missing} rows of {table} were written after {} was dropped and have no value to restore: it is NOT NULL without a default",
                            column.name
                        );
                        step.risk = RiskLevel::High;
                        step.reason = why.clone();
                        step.blocked = Some(why);
                    }
                }
            }
        }
        let rolled_back = undone.iter().map(|r| r.version.clone()).collect();
        Ok(RollbackPlan {
            report: MigrationReport {
                applied: false,
                version: None,
                steps,
                unmanaged_tables: Vec::new(),
                in_progress: None,
                rolled_back,
            },
            undone,
            after: state,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(version: &str, status: MigrationStatus) -> MigrationRecord {
        MigrationRecord {
            version: version.into(),
            name: format!("migration {version}"),
            checksum: String::new(),
            started_at: chrono::Utc::now(),
            finished_at: None,
            duration_ms: None,
            steps: Vec::new(),
            status,
            error: None,
        }
    }

    fn versions(undone: Result<Vec<&MigrationRecord>>) -> Vec<String> {
        undone
            .unwrap()
            .into_iter()
            .map(|r| r.version.clone())
            .collect()
    }

    #[test]
    fn a_failed_migration_is_rolled_back_only_while_it_is_the_newest() {
        let newest = [
            record("1", MigrationStatus::Applied),
            record("2", MigrationStatus::Failed),
        ];
        assert_eq!(versions(choose_undone(&newest, None)), ["2"]);
        assert_eq!(versions(choose_undone(&newest, Some("2"))), ["2"]);
        assert_eq!(versions(choose_undone(&newest, Some("1"))), ["2", "1"]);
        let older = [
            record("1", MigrationStatus::Failed),
            record("2", MigrationStatus::Applied),
        ];
        for version in [None, Some("1"), Some("2")] {
            match choose_undone(&older, version) {
                Err(Error::MigrationRefused { steps, .. }) => {
                    assert!(steps[0].contains("not the newest"), "{steps:?}")
                }
                other => panic!("expected a refusal, got {other:?}"),
            }
        }
    }
}
