//! Applying a plan inside the migration's transaction: each step's backup and
//! SQL in a savepoint with a bounded lock wait, then the history row.

use std::time::{Duration, Instant};

use crate::backend::Connection;
use crate::error::{Error, Result};
use crate::migrate::dialect::Dialect;
use crate::migrate::handle::MigrateHandle;
use crate::migrate::history::{self, MigrationRecord, MigrationStatus};
use crate::migrate::live::{full_plan, Planned};
use crate::migrate::policy::Policy;
use crate::migrate::{MigrateOptions, MigrationReport, MigrationStep, RiskLevel};
use crate::terminal::Interaction;

/// A new, sortable migration version: the UTC time to the microsecond.
pub(crate) fn new_version() -> String {
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

/// Milliseconds since `clock` started, as the history records them.
pub(crate) fn elapsed_ms(clock: Instant) -> i64 {
    i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX)
}

/// Is this error a lock wait that gave up (worth retrying)?
pub(crate) fn lock_timed_out(e: &Error) -> bool {
    matches!(e, Error::Busy { .. } | Error::LockTimeout { .. })
}

/// Runs one step's backup and SQL inside the migration's transaction. Where the
/// dialect can bound lock waits, the step runs in a savepoint with a short lock
/// timeout and is retried with exponential backoff when the lock is not
/// granted in time: a step queued behind a long transaction would otherwise
/// block every query on its table while it waits.
pub(crate) fn apply_step(
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

/// What the migration's transaction did.
pub(crate) enum Applied {
    /// An online phase another process left unfinished: finish it, then plan
    /// again.
    ResumeFirst,
    /// The report (applied, or empty when there was nothing to do); `online`
    /// when the steps left an online phase to run after the commit.
    Done {
        report: MigrationReport,
        online: bool,
    },
}

/// The body of `auto_migrate`'s transaction, run under the migration lock:
/// refuses while a failed migration waits to be dealt with, plans against the
/// database as it is now, applies the policy (asking `ask`, when given, to
/// confirm a plan above `SAFE`),
/// applies every step and records the migration.
pub(crate) fn apply_forward(
    db: &dyn MigrateHandle,
    conn: &mut dyn Connection,
    options: &MigrateOptions,
    policy: &Policy,
    ask: Option<&dyn Interaction>,
) -> Result<Applied> {
    let dialect = db.dialect();
    history::ensure(db, conn)?;
    if let Some((version, name, error)) = history::failed(db, conn)?.into_iter().next() {
        return Err(Error::MigrationRefused {
            steps: vec![format!(
                "migration {version} ({name}) failed part-way: {}; inspect the database, then undo what it committed with rollback_last() or keep it with resolve_failed(\"{version}\")",
                error.as_deref().unwrap_or("no message"),
            )],
            policy: String::new(),
        });
    }
    if !history::in_progress(db, conn)?.is_empty() {
        return Ok(Applied::ResumeFirst);
    }
    let version = new_version();
    let Planned { mut report, target } = full_plan(db, conn, options, &version)?;
    if report.steps.is_empty() {
        return Ok(Applied::Done {
            report,
            online: false,
        });
    }
    if let Some(refusal) = policy.refuse(&report.steps) {
        return Err(refusal);
    }
    let declined = match ask {
        Some(person) if report.max_risk() > RiskLevel::Safe => !person.confirm(&report)?,
        _ => false,
    };
    if declined {
        return Err(policy.declined());
    }
    let started = chrono::Utc::now();
    let clock = Instant::now();
    for step in &mut report.steps {
        let step_clock = Instant::now();
        apply_step(conn, dialect, step, options)?;
        step.duration_ms = Some(elapsed_ms(step_clock));
        history::track(conn, dialect, &step.change, &version, true)?;
    }
    if let Some(reset) = dialect.set_lock_timeout(Duration::ZERO, true) {
        conn.batch_execute(&reset)?;
    }
    let online = report.steps.iter().any(|s| !s.sql_online.is_empty());
    let record = MigrationRecord {
        version: version.clone(),
        name: options
            .name
            .clone()
            .unwrap_or_else(|| summary(&report.steps)),
        checksum: target.checksum(),
        started_at: started,
        finished_at: (!online).then(chrono::Utc::now),
        duration_ms: (!online).then(|| elapsed_ms(clock)),
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
    Ok(Applied::Done { report, online })
}
