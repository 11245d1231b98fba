//! The online phase: statements that run after the migration's transaction
//! commits, one at a time and each in its own short transaction (concurrent
//! index builds, constraint validation, batched backfills), with progress kept
//! in the history row so an interrupted run resumes where it stopped.

use std::time::{Duration, Instant};

use crate::backend::Connection;
use crate::error::{Error, Result};
use crate::migrate::apply::lock_timed_out;
use crate::migrate::handle::MigrateHandle;
use crate::migrate::history::{self, MigrationRecord, MigrationStatus};
use crate::migrate::policy::interaction;
use crate::migrate::{MigrateOptions, MigrationReport, OnlineSql};
use crate::model::value::{LogicalType, Value};
use crate::terminal::Interaction;

/// Runs one online statement (autocommit), retrying lock timeouts with
/// backoff. A batched statement runs until it changes no rows, reporting
/// progress to `tracing` and to the interaction.
fn run_online_sql(
    conn: &mut dyn Connection,
    stmt: &OnlineSql,
    table: &str,
    options: &MigrateOptions,
    interaction: &dyn Interaction,
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
            OnlineSql::Batched { sql, bounds, step } => {
                backfill(conn, sql, bounds, *step, table, interaction)
            }
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
    interaction: &dyn Interaction,
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
    let mut progress = interaction.start_progress(&format!("backfilling {table}"), batches);
    let clock = Instant::now();
    let mut rows = 0usize;
    let mut start = lo;
    loop {
        let end = start.saturating_add(step - 1).min(hi);
        rows += conn.execute(sql, &[Value::I64(start), Value::I64(end)])?;
        progress.advance(1);
        tracing::debug!(target: "dataflow::migrate", %table, start, end, rows, "backfill batch");
        if end >= hi {
            break;
        }
        start = end + 1;
    }
    progress.finish();
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

impl dyn MigrateHandle + '_ {
    /// Finishes an online phase left unfinished. `Some(report)` when planning
    /// must not go ahead: another process is finishing a migration to this
    /// same schema, or this run stopped before the end.
    pub(crate) fn resume_online(
        &self,
        options: &MigrateOptions,
    ) -> Result<Option<MigrationReport>> {
        let backend = self.backend();
        let pending = self.with_conn(|c| history::in_progress(self, c))?;
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
    pub(crate) fn run_online(
        &self,
        conn: &mut dyn Connection,
        options: &MigrateOptions,
    ) -> Result<Option<String>> {
        let d = self.dialect();
        if let Some(set) = d.set_lock_timeout(options.step_lock_timeout, false) {
            conn.batch_execute(&set)?;
        }
        let interaction = interaction(self, options);
        let mut budget = options.stop_online_after;
        let versions = history::in_progress(self, conn)?;
        for (version, _) in versions {
            let Some(mut record) = history::load(self, conn)?
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
                    if let Err(e) =
                        run_online_sql(conn, &stmt, &record.steps[i].table, options, &*interaction)
                    {
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
}
