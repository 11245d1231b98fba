//! The public entry points of migration on [`DataFlow`]: `auto_migrate` (and
//! its dry run `plan`), `check`, `migration_history`, the rollbacks and
//! `resolve_failed`. Each takes the lock it needs and calls the stages.

use crate::dataflow::DataFlow;
use crate::error::{Error, Result};
use crate::migrate::apply::{apply_forward, new_version, Applied};
use crate::migrate::history::{self, MigrationRecord};
use crate::migrate::live::{full_plan, plan_with};
use crate::migrate::policy::{self, interactive};
use crate::migrate::{MigrateOptions, MigrationReport};

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
        if self.capabilities().online_index_builds {
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
        let interaction = policy::interaction(self, &options);
        let (ceiling, ask) = policy::policy(&options, interactive(&options, &*interaction));
        let ask = ask.then_some(&*interaction);
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
                &mut |conn| match apply_forward(self, conn, &options, ceiling, ask)? {
                    Applied::ResumeFirst => {
                        resume_first = true;
                        Ok(true)
                    }
                    Applied::Done { report, online } => {
                        result = Some(report);
                        Ok(online)
                    }
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
