//! The executor: lock → describe → plan → policy → confirm → backup → apply →
//! history → unlock, all inside one transaction on the backends that allow it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use crate::backend::Connection;
use crate::dataflow::DataFlow;
use crate::dialect::{Dialect, Sql};
use crate::diff::{Droppable, Hints};
use crate::error::{Error, Result};
use crate::facts::LiveCounts;
use crate::history::{self, MigrationRecord, MigrationStatus};
use crate::migrate::{MigrateOptions, MigrationReport, MigrationStep, OnlineSql, RiskLevel};
use crate::plan::{plan, PlanInput};
use crate::schema::Schema;
use crate::value::{LogicalType, Value};

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
        let pending = crate::diff::diff(&live, &target, &hints, &droppable)
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
                                "migration {version} ({name}) failed part-way: {}; inspect the database, then call resolve_failed(\"{version}\")",
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
}
