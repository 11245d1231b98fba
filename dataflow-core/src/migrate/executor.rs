//! The executor: lock → describe → plan → policy → confirm → backup → apply →
//! history → unlock, all inside one transaction on the backends that allow it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use crate::backend::dialect::{Dialect, Sql};
use crate::backend::Connection;
use crate::dataflow::DataFlow;
use crate::error::{Error, Result};
use crate::migrate::diff::{Change, Droppable, Hints};
use crate::migrate::facts::LiveCounts;
use crate::migrate::history::{self, MigrationRecord, MigrationStatus};
use crate::migrate::plan::{plan, plan_changes, PlanInput};
use crate::migrate::schema::Schema;
use crate::migrate::{MigrateOptions, MigrationReport, MigrationStep, OnlineSql, RiskLevel};
use crate::model::value::{LogicalType, Value};
use crate::query::statement::SqlWriter;

/// `COUNT` queries on a connection, each asked once.
struct ConnCounts<'a> {
    conn: &'a mut dyn Connection,
    cache: BTreeMap<String, i64>,
}

impl LiveCounts for ConnCounts<'_> {
    fn count(&mut self, query: &Sql) -> Result<i64> {
        if let Some(v) = self.cache.get(&query.text) {
            return Ok(*v);
        }
        let mut n = 0;
        self.conn.query(
            &query.text,
            &query.binds,
            &[LogicalType::BigInt],
            &mut |row| {
                if let Value::I64(v) = row[0] {
                    n = v;
                }
                Ok(())
            },
        )?;
        self.cache.insert(query.text.clone(), n);
        Ok(n)
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

/// Plans against the live database. With `probe`, only learns whether there is
/// anything to do: `None` when there is (the caller plans again under the
/// lock, where the facts it asks must be fresh), without asking any fact, so
/// the row counts of a big table are not taken twice.
fn plan_with(
    db: &DataFlow,
    conn: &mut dyn Connection,
    options: &MigrateOptions,
    version: &str,
    probe: bool,
) -> Result<Option<Planned>> {
    let backend = db.backend();
    let dialect = db.dialect();
    let models = db.models();
    let target = db.target_schema();
    let hints = Hints::from_descriptors(models.iter().copied());
    let mut live = db.describe_with(conn)?;
    db.align_predicates(conn, &mut live, &target)?;
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
    let unmanaged = |droppable: &Droppable| -> Vec<String> {
        unregistered
            .iter()
            .filter(|t| !droppable.contains(*t))
            .cloned()
            .collect()
    };
    if probe {
        let pending = crate::migrate::diff::diff(&live, &target, &hints, &droppable)
            .iter()
            .any(|c| options.includes(c.table()) && options.allows(c.operation()));
        if pending {
            return Ok(None);
        }
        return Ok(Some(Planned {
            report: MigrationReport {
                applied: false,
                version: None,
                steps: Vec::new(),
                unmanaged_tables: unmanaged(&droppable),
                in_progress: None,
                rolled_back: Vec::new(),
            },
            target,
        }));
    }
    let input = PlanInput {
        live: &live,
        target: &target,
        hints: &hints,
        droppable: &droppable,
        dialect,
        options,
        version,
        online: options.online.unwrap_or(true) && backend.online_capable(),
    };
    let mut counts = ConnCounts {
        conn,
        cache: BTreeMap::new(),
    };
    let steps = plan(&input, &mut counts)?;
    Ok(Some(Planned {
        report: MigrationReport {
            applied: false,
            version: None,
            steps,
            unmanaged_tables: unmanaged(&droppable),
            in_progress: None,
            rolled_back: Vec::new(),
        },
        target,
    }))
}

/// A full plan (never `None` without `probe`).
fn full_plan(
    db: &DataFlow,
    conn: &mut dyn Connection,
    options: &MigrateOptions,
    version: &str,
) -> Result<Planned> {
    plan_with(db, conn, options, version, false)?
        .ok_or_else(|| Error::Database("the planner returned no plan".into()))
}

/// Is this error a lock wait that gave up (worth retrying)?
fn lock_timed_out(e: &Error) -> bool {
    matches!(e, Error::Busy { .. } | Error::LockTimeout { .. })
}

/// Runs one step's backup and SQL inside the migration's transaction. Where the
/// dialect can bound lock waits, the step runs in a savepoint with a short lock
/// timeout and is retried with exponential backoff when the lock is not
/// granted in time: a step queued behind a long transaction would otherwise
/// block every query on its table while it waits.
fn apply_step(
    conn: &mut dyn Connection,
    d: &dyn Dialect,
    step: &MigrationStep,
    options: &MigrateOptions,
) -> Result<()> {
    let run = |conn: &mut dyn Connection| -> Result<()> {
        for sql in step.backup.iter().chain(&step.sql_up) {
            tracing::debug!(target: "dataflow::migrate", %sql, "apply");
            conn.batch_execute(sql)?;
        }
        Ok(())
    };
    let Some(set) = d.set_lock_timeout(options.step_lock_timeout, true) else {
        return run(conn);
    };
    let mut delay = Duration::from_millis(100);
    let mut attempt = 0;
    loop {
        conn.batch_execute("SAVEPOINT dataflow_step")?;
        conn.batch_execute(&set)?;
        match run(conn) {
            Ok(()) => return conn.batch_execute("RELEASE SAVEPOINT dataflow_step"),
            Err(e) if lock_timed_out(&e) && attempt < options.step_retries => {
                conn.batch_execute("ROLLBACK TO SAVEPOINT dataflow_step")?;
                attempt += 1;
                tracing::warn!(target: "dataflow::migrate", table = %step.table, attempt, ?delay,
                    "step waited too long for its lock; retrying");
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Runs one online statement (autocommit), retrying lock timeouts with
/// backoff. A batched statement runs until it changes no rows, reporting
/// progress to `tracing` and, on a terminal, an indicatif bar.
fn run_online_sql(
    conn: &mut dyn Connection,
    stmt: &OnlineSql,
    table: &str,
    options: &MigrateOptions,
) -> Result<()> {
    let mut delay = Duration::from_millis(100);
    let mut attempt = 0;
    loop {
        let r = match stmt {
            OnlineSql::Statement { sql } => {
                tracing::debug!(target: "dataflow::migrate", %sql, "online");
                conn.batch_execute(sql)
            }
            OnlineSql::Index { cleanup, create } => {
                tracing::debug!(target: "dataflow::migrate", sql = %create, "online");
                conn.batch_execute(cleanup)
                    .and_then(|()| conn.batch_execute(create))
            }
            OnlineSql::Batched { sql, bounds, step } => backfill(conn, sql, bounds, *step, table),
            OnlineSql::Repeat { sql } => {
                let clock = Instant::now();
                let mut rows = 0;
                loop {
                    match conn.execute(sql, &[]) {
                        Ok(0) => break,
                        Ok(n) => rows += n,
                        Err(e) => return Err(e),
                    }
                }
                tracing::info!(target: "dataflow::migrate", %table, rows,
                    ms = clock.elapsed().as_millis() as u64, "backfill finished");
                Ok(())
            }
        };
        match r {
            Err(e) if lock_timed_out(&e) && attempt < options.step_retries => {
                attempt += 1;
                tracing::warn!(target: "dataflow::migrate", %table, attempt, ?delay,
                    "online statement waited too long for a lock; retrying");
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            other => return other,
        }
    }
}

fn backfill(
    conn: &mut dyn Connection,
    sql: &str,
    bounds: &str,
    step: i64,
    table: &str,
) -> Result<()> {
    let (mut lo, mut hi) = (None, None);
    conn.query(
        bounds,
        &[],
        &[LogicalType::BigInt, LogicalType::BigInt],
        &mut |row| {
            lo = match row[0] {
                Value::I64(n) => Some(n),
                _ => None,
            };
            hi = match row[1] {
                Value::I64(n) => Some(n),
                _ => None,
            };
            Ok(())
        },
    )?;
    let (Some(lo), Some(hi)) = (lo, hi) else {
        return Ok(());
    };
    let step = step.max(1);
    let batches = ((hi - lo) / step + 1) as u64;
    let bar = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(batches)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_message(format!("backfilling {table}"));
    let clock = Instant::now();
    let mut rows = 0usize;
    let mut start = lo;
    loop {
        let end = start.saturating_add(step - 1).min(hi);
        rows += conn.execute(sql, &[Value::I64(start), Value::I64(end)])?;
        bar.inc(1);
        tracing::debug!(target: "dataflow::migrate", %table, start, end, rows, "backfill batch");
        if end >= hi {
            break;
        }
        start = end + 1;
    }
    bar.finish_and_clear();
    tracing::info!(target: "dataflow::migrate", %table, rows, batches,
        ms = clock.elapsed().as_millis() as u64, "backfill finished");
    Ok(())
}

/// Where an online phase stopped, for the history row's `error`: the statement,
/// what is committed, and what happens next.
fn stopped_at(
    record: &MigrationRecord,
    step: usize,
    statement: usize,
    e: &Error,
    resumable: bool,
) -> String {
    let s = &record.steps[step];
    let done: usize = record.steps.iter().map(|s| s.online_done).sum();
    let total: usize = record.steps.iter().map(|s| s.sql_online.len()).sum();
    format!(
        "online statement {} of {} of step {} of {} ({} {}) {}: {e}; committed: the \
         migration's transaction and {done} of {total} online statements (each \
         step's online_done); {}",
        statement + 1,
        s.sql_online.len(),
        step + 1,
        record.steps.len(),
        s.operation,
        s.table,
        if resumable { "stopped" } else { "failed" },
        if resumable {
            "the next auto_migrate resumes at this statement"
        } else {
            "the rest did not run"
        }
    )
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

/// What a rollback would do, and what it needs to record it.
struct RollbackPlan {
    report: MigrationReport,
    /// The migrations undone, newest first.
    undone: Vec<MigrationRecord>,
    /// The schema the rollback leaves.
    after: Schema,
}

/// A rollback's policy: the options' policy, except that calling a rollback
/// consents to steps up to `Medium` (they lose nothing: renames, index and
/// constraint changes, backed-up restores), so only data-destroying steps need
/// `auto_confirm` with `max_risk(High)`, or the terminal prompt.
fn rollback_policy(options: &MigrateOptions, interactive: bool) -> (RiskLevel, bool) {
    let consented = RiskLevel::Medium;
    if interactive {
        (options.max_risk.unwrap_or(RiskLevel::High), true)
    } else if options.auto_confirm {
        (options.max_risk.unwrap_or(consented), false)
    } else {
        (
            options.max_risk.map_or(consented, |m| m.min(consented)),
            false,
        )
    }
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
        return Err(Error::MigrationRefused { steps: vec![why] });
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
        _ => {}
    }
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
        let backend = self.backend();
        if options.dry_run {
            return self.with_conn(|conn| {
                let version = new_version();
                let mut report = full_plan(self, conn, &options, &version)?.report;
                report.in_progress = history::in_progress(backend, conn)?
                    .into_iter()
                    .next()
                    .map(|(v, _)| v);
                Ok(report)
            });
        }
        // An online phase another start left unfinished comes first: planning on
        // top of it would repeat its steps.
        if backend.online_capable() {
            if let Some(report) = self.resume_online(&options)? {
                return Ok(report);
            }
        }
        // Fast path: most starts find nothing to do, and need neither the lock
        // nor a write transaction to learn that. Anything else is planned again
        // under the lock.
        let quick = self.with_conn(|conn| {
            let version = new_version();
            plan_with(self, conn, &options, &version, true)
        })?;
        if let Some(nothing) = quick {
            return Ok(nothing.report);
        }
        let interactive = !options.auto_confirm
            && std::io::stdin().is_terminal()
            && std::io::stderr().is_terminal();
        let (ceiling, ask) = policy(&options, interactive);
        let dialect = self.dialect();
        let mut result: Option<MigrationReport> = None;
        let checksum = self.target_schema().checksum();
        // Set when the lock holder finds an unfinished online phase (its process
        // died after our check): finish it, then plan again.
        let mut resume_first = false;
        for _ in 0..2 {
            resume_first = false;
            result = None;
            let mut left: Option<String> = None;
            let mut finishing: Option<String> = None;
            let ran = backend.with_migration_then(
                options.lock_timeout,
                // Another process committed this very target while we waited and
                // is finishing its online phase: nothing is left for this start,
                // which need not wait for the phase to end (however long the
                // index builds and backfills take).
                &mut |conn| {
                    finishing = history::in_progress(backend, conn)?
                        .into_iter()
                        .find(|(_, c)| *c == checksum)
                        .map(|(v, _)| v);
                    Ok(finishing.is_some())
                },
                &mut |conn| {
                    history::ensure(backend, conn)?;
                    if let Some((version, name, error)) =
                        history::failed(backend, conn)?.into_iter().next()
                    {
                        return Err(Error::MigrationRefused {
                            steps: vec![format!(
                                "migration {version} ({name}) failed part-way: {}; inspect the database, then undo what it committed with rollback_last() or keep it with resolve_failed(\"{version}\")",
                                error.as_deref().unwrap_or("no message"),
                            )],
                        });
                    }
                    if !history::in_progress(backend, conn)?.is_empty() {
                        resume_first = true;
                        return Ok(true);
                    }
                    let version = new_version();
                    let Planned { mut report, target } = full_plan(self, conn, &options, &version)?;
                    if report.steps.is_empty() {
                        result = Some(report);
                        return Ok(false);
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
                        apply_step(conn, dialect, step, &options)?;
                        history::track(conn, dialect, &step.change, &version, true)?;
                    }
                    if let Some(reset) = dialect.set_lock_timeout(Duration::ZERO, true) {
                        conn.batch_execute(&reset)?;
                    }
                    let online = report.steps.iter().any(|s| !s.sql_online.is_empty());
                    let record = MigrationRecord {
                        version: version.clone(),
                        name: summary(&report.steps),
                        checksum: target.checksum(),
                        started_at: started,
                        finished_at: (!online).then(chrono::Utc::now),
                        duration_ms: (!online).then(|| clock.elapsed().as_millis() as i64),
                        steps: report.steps.clone(),
                        status: if online {
                            MigrationStatus::InProgress
                        } else {
                            MigrationStatus::Applied
                        },
                        error: None,
                    };
                    history::record(conn, dialect, &record)?;
                    tracing::info!(target: "dataflow::migrate", %version, steps = report.steps.len(), online, "committed");
                    report.applied = true;
                    report.version = Some(version);
                    result = Some(report);
                    Ok(online)
                },
                &mut |conn| {
                    left = self.run_online(conn, &options)?;
                    Ok(())
                },
            )?;
            if !ran {
                tracing::info!(target: "dataflow::migrate", version = ?finishing,
                    "another process is finishing this migration's online phase");
                return Ok(MigrationReport {
                    applied: false,
                    version: None,
                    steps: Vec::new(),
                    unmanaged_tables: Vec::new(),
                    in_progress: finishing,
                    rolled_back: Vec::new(),
                });
            }
            if !resume_first {
                if let Some(r) = &mut result {
                    r.in_progress = left;
                }
                break;
            }
            if left.is_some() {
                break;
            }
        }
        if resume_first {
            return Ok(MigrationReport {
                applied: false,
                version: None,
                steps: Vec::new(),
                unmanaged_tables: Vec::new(),
                in_progress: self
                    .with_conn(|c| history::in_progress(backend, c))?
                    .into_iter()
                    .next()
                    .map(|(v, _)| v),
                rolled_back: Vec::new(),
            });
        }
        result.ok_or_else(|| Error::Database("migration did not run".into()))
    }

    /// Finishes an online phase left unfinished. `Some(report)` when planning
    /// must not go ahead: another process is finishing a migration to this
    /// same schema, or this run stopped before the end.
    fn resume_online(&self, options: &MigrateOptions) -> Result<Option<MigrationReport>> {
        let backend = self.backend();
        let pending = self.with_conn(|c| history::in_progress(backend, c))?;
        let Some((version, checksum)) = pending.into_iter().next() else {
            return Ok(None);
        };
        // The same target: whoever holds the lock is finishing it; this start
        // need not wait. A different target must wait to plan on top of it.
        let same = checksum == self.target_schema().checksum();
        let mut left = None;
        let ran = backend.with_online_lock(options.lock_timeout, !same, &mut |conn| {
            left = self.run_online(conn, options)?;
            Ok(())
        })?;
        if !ran || left.is_some() {
            tracing::info!(target: "dataflow::migrate", %version, "online phase still in progress");
            return Ok(Some(MigrationReport {
                applied: false,
                version: None,
                steps: Vec::new(),
                unmanaged_tables: Vec::new(),
                in_progress: Some(left.unwrap_or(version)),
                rolled_back: Vec::new(),
            }));
        }
        Ok(None)
    }

    /// Runs the unfinished online statements of every in-progress migration,
    /// recording progress after each. Returns the version left in progress
    /// when stopped early (testing), `None` when everything finished.
    fn run_online(
        &self,
        conn: &mut dyn Connection,
        options: &MigrateOptions,
    ) -> Result<Option<String>> {
        let backend = self.backend();
        let d = self.dialect();
        if let Some(set) = d.set_lock_timeout(options.step_lock_timeout, false) {
            conn.batch_execute(&set)?;
        }
        let mut budget = options.stop_online_after;
        let versions = history::in_progress(backend, conn)?;
        for (version, _) in versions {
            let Some(mut record) = history::load(backend, conn)?
                .into_iter()
                .find(|r| r.version == version)
            else {
                continue;
            };
            for i in 0..record.steps.len() {
                while record.steps[i].online_done < record.steps[i].sql_online.len() {
                    if budget == Some(0) {
                        return Ok(Some(version));
                    }
                    let j = record.steps[i].online_done;
                    let stmt = record.steps[i].sql_online[j].clone();
                    if let Err(e) = run_online_sql(conn, &stmt, &record.steps[i].table, options) {
                        // Waiting on other sessions is not a fault of the
                        // migration: it stays in progress and the next start
                        // resumes at this statement. Anything else needs a
                        // person, so it is recorded as failed.
                        let resumable = lock_timed_out(&e) || matches!(e, Error::Connection(_));
                        record.error = Some(stopped_at(&record, i, j, &e, resumable));
                        if !resumable {
                            record.status = MigrationStatus::Failed;
                            record.finished_at = Some(chrono::Utc::now());
                        }
                        if let Err(e2) = history::update_online(conn, d, &record) {
                            tracing::error!(target: "dataflow::migrate", %version, error = %e2, "cannot record where the online phase stopped");
                        }
                        return Err(e);
                    }
                    record.steps[i].online_done = j + 1;
                    history::update_online(conn, d, &record)?;
                    budget = budget.map(|b| b - 1);
                }
            }
            let now = chrono::Utc::now();
            record.status = MigrationStatus::Applied;
            // Where an earlier attempt stopped no longer matters.
            record.error = None;
            record.finished_at = Some(now);
            record.duration_ms = Some((now - record.started_at).num_milliseconds());
            history::update_online(conn, d, &record)?;
            tracing::info!(target: "dataflow::migrate", %version, "online phase finished");
        }
        Ok(None)
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
        if let Some(v) = &report.in_progress {
            differences.push(format!(
                "migration {v} has not finished its online phase (it resumes on the next auto_migrate)"
            ));
        }
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

    /// Undoes the migrations applied since `version`, newest first, with
    /// default options: see [`DataFlow::rollback_with`].
    pub fn rollback(&self, version: &str) -> Result<MigrationReport> {
        self.rollback_with(version, MigrateOptions::default())
    }

    /// Undoes the newest migration with default options: see
    /// [`DataFlow::rollback_last_with`].
    pub fn rollback_last(&self) -> Result<MigrationReport> {
        self.rollback_last_with(MigrateOptions::default())
    }

    /// Undoes the applied migration `version` and every migration applied
    /// after it, newest first, as one migration of its own.
    ///
    /// A rollback is planned like `auto_migrate`: its steps are the inverses of
    /// the recorded steps, assessed against the live data, refused when blocked
    /// or above what the options allow, previewed (and asked for on a
    /// terminal), backed up when they destroy data, applied in one transaction
    /// and recorded in the history, so it can itself be undone. A step whose
    /// migration backed up what it destroyed restores it from that backup.
    /// Calling a rollback is consent to steps up to `Medium` (renames, index
    /// and constraint changes, which lose nothing); a step that would destroy
    /// data (`High`, e.g. dropping a column that holds values written since) is
    /// refused unless `auto_confirm(true).max_risk(RiskLevel::High)` (or the
    /// terminal prompt) allows it. `dry_run(true)` returns the plan and
    /// changes nothing. The report's `rolled_back` names the versions undone.
    ///
    /// `version` may also name a rollback, which is undone (its migrations
    /// applied again, from its backups) while it is the newest migration.
    ///
    /// A migration whose online phase failed (status `failed`) can be rolled
    /// back while it is the newest record: only what committed is undone (each
    /// step's transaction part, and its online statements that completed; an
    /// index whose concurrent build failed is dropped if it exists). A step
    /// whose online part stopped where no inverse is known is blocked.
    pub fn rollback_with(&self, version: &str, options: MigrateOptions) -> Result<MigrationReport> {
        self.run_rollback(Some(version), &options)
    }

    /// Undoes the newest applied migration (or the newest record, when it is
    /// a failed one), as [`DataFlow::rollback_with`] does. Rollbacks are not counted, so calling it again undoes the
    /// migration before; to undo the rollback itself, roll back its version
    /// with [`DataFlow::rollback_with`] while it is the newest migration.
    pub fn rollback_last_with(&self, options: MigrateOptions) -> Result<MigrationReport> {
        self.run_rollback(None, &options)
    }

    fn run_rollback(
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
        let interactive = !options.auto_confirm
            && std::io::stdin().is_terminal()
            && std::io::stderr().is_terminal();
        let (ceiling, ask) = rollback_policy(options, interactive);
        let mut result = None;
        backend.with_migration(options.lock_timeout, &mut |conn| {
            result = None;
            history::ensure(backend, conn)?;
            let version_now = new_version();
            let RollbackPlan {
                mut report,
                undone,
                after,
            } = self.plan_rollback(conn, version, options, &version_now)?;
            let refused = refusals(&report.steps, ceiling);
            if !refused.is_empty() {
                return Err(Error::MigrationRefused { steps: refused });
            }
            if ask && report.max_risk() > RiskLevel::Medium && !confirm(&report)? {
                return Err(Error::MigrationRefused {
                    steps: vec!["declined at the confirmation prompt".into()],
                });
            }
            let started = chrono::Utc::now();
            let clock = Instant::now();
            for step in &report.steps {
                tracing::debug!(target: "dataflow::migrate", table = %step.table, operation = %step.operation, "rollback step");
                apply_step(conn, dialect, step, options)?;
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
                    duration_ms: Some(clock.elapsed().as_millis() as i64),
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
        let backend = self.backend();
        let d = self.dialect();
        let records = history::load(backend, conn)?;
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
            options: &plan_options,
            version: version_now,
            online: false,
        };
        let mut counts = ConnCounts {
            conn,
            cache: BTreeMap::new(),
        };
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
            // A NOT NULL column without a default comes back only where its
            // backup has a value: rows written since it was dropped have none.
            if let (Change::DropColumn { table, column }, false) =
                (&fwd.change, fwd.backup.is_empty())
            {
                let key = live.tables.get(table).and_then(|t| t.primary_key.first());
                if let (false, None, Some(key)) = (column.nullable, &column.default, key) {
                    let backup = format!("_dataflow_backup_{v}_{at}");
                    let mut w = SqlWriter::new(d);
                    w.push("SELECT COUNT(*) FROM ").ident(table).push(" WHERE ");
                    w.ident(key).push(" NOT IN (SELECT ").ident(key);
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

    /// Marks a failed migration as dealt with (after you have inspected and
    /// repaired the database), so automatic migration resumes. Only a migration
    /// recorded as `failed` can be resolved: any other version, or one no
    /// migration has, is `Error::InvalidInput` naming it and its status, and
    /// nothing is changed. To undo an applied migration, roll it back.
    pub fn resolve_failed(&self, version: &str) -> Result<()> {
        let backend = self.backend();
        let d = self.dialect();
        self.with_conn(|conn| {
            if history::resolve(conn, d, version)? {
                return Ok(());
            }
            Err(Error::InvalidInput(
                match history::status_of(backend, conn, version)? {
                    None => format!("no migration has version {version}"),
                    Some(status) => format!(
                        "migration {version} is {status}, not failed: only a failed migration can be resolved"
                    ),
                },
            ))
        })
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
                Err(Error::MigrationRefused { steps }) => {
                    assert!(steps[0].contains("not the newest"), "{steps:?}")
                }
                other => panic!("expected a refusal, got {other:?}"),
            }
        }
    }
}
