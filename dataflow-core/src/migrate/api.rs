//! The entry points of migration, which [`DataFlow`](crate::DataFlow)
//! exposes: `auto_migrate` (and its dry run `plan`), `check`,
//! `migration_history`, the rollbacks and `resolve_failed`. Each takes the
//! lock it needs and calls the stages.

use crate::error::{Error, Result};
use crate::migrate::apply::{apply_forward, new_version, Applied};
use crate::migrate::handle::MigrateHandle;
use crate::migrate::history::{self, MigrationRecord};
use crate::migrate::live::{full_plan, plan_with};
use crate::migrate::metrics::{self, MigrationMetrics};
use crate::migrate::policy::{self, Kind, Policy};
use crate::migrate::{MigrateOptions, MigrationReport};

impl dyn MigrateHandle + '_ {
    /// Refuses, before anything is planned, a foreign key to a table that no
    /// registered model declares and the database does not have (a model left
    /// out of `register_all` or of `#[dataflow_core::test(models(..))]`),
    /// naming the model, the key and the table.
    fn check_references(&self, conn: &mut dyn crate::backend::Connection) -> Result<()> {
        let models = self.models();
        let mut missing = Vec::new();
        for m in &models {
            for fk in m.foreign_keys {
                let table = fk.references_table;
                if models.iter().any(|o| o.table == table)
                    || missing.iter().any(|(t, _): &(&str, String)| *t == table)
                {
                    continue;
                }
                if !self.describer().has_table(conn, table)? {
                    missing.push((
                        table,
                        format!(
                            "model {} (table {}): foreign key {} references table {table}, which no \
                             registered model declares and the database does not have; register \
                             the model of {table} (in a test: add it to models(..))",
                            m.name, m.table, fk.column
                        ),
                    ));
                }
            }
        }
        match missing.is_empty() {
            true => Ok(()),
            false => Err(Error::InvalidInput(
                missing
                    .into_iter()
                    .map(|(_, m)| m)
                    .collect::<Vec<_>>()
                    .join("; "),
            )),
        }
    }

    /// Behind [`DataFlow::auto_migrate`](crate::DataFlow::auto_migrate).
    pub fn auto_migrate(&self, options: MigrateOptions) -> Result<MigrationReport> {
        options.check_name()?;
        self.with_conn(|conn| self.check_references(conn))?;
        let backend = self.backend();
        if options.existing_schema {
            return self.verify_existing(&options);
        }
        if options.dry_run {
            return self.with_conn(|conn| {
                let version = new_version();
                let mut report = full_plan(self, conn, &options, &version)?.report;
                report.in_progress = history::in_progress(self, conn)?
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
        let policy = Policy::new(Kind::Migrate, &options, &*interaction);
        let ask = policy.ask.then_some(&*interaction);
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
                    finishing = history::in_progress(self, conn)?
                        .into_iter()
                        .find(|(_, c)| *c == checksum)
                        .map(|(v, _)| v);
                    Ok(finishing.is_some())
                },
                &mut |conn| match apply_forward(self, conn, &options, &policy, ask)? {
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
                    .with_conn(|c| history::in_progress(self, c))?
                    .into_iter()
                    .next()
                    .map(|(v, _)| v),
                rolled_back: Vec::new(),
            });
        }
        result.ok_or_else(|| Error::Database("migration did not run".into()))
    }

    /// Behind [`DataFlow::plan`](crate::DataFlow::plan).
    pub fn plan(&self) -> Result<MigrationReport> {
        self.auto_migrate(MigrateOptions::default().dry_run(true))
    }

    /// Behind [`DataFlow::check`](crate::DataFlow::check).
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

    /// Behind [`DataFlow::migration_history`](crate::DataFlow::migration_history).
    pub fn migration_history(&self) -> Result<Vec<MigrationRecord>> {
        self.with_conn(|conn| history::load(self, conn))
    }

    /// Behind [`DataFlow::migration_metrics`](crate::DataFlow::migration_metrics).
    pub fn migration_metrics(&self) -> Result<MigrationMetrics> {
        Ok(metrics::compute(&self.migration_history()?))
    }

    /// Behind [`DataFlow::rollback`](crate::DataFlow::rollback).
    pub fn rollback(&self, version: &str) -> Result<MigrationReport> {
        self.rollback_with(version, MigrateOptions::default())
    }

    /// Behind [`DataFlow::rollback_last`](crate::DataFlow::rollback_last).
    pub fn rollback_last(&self) -> Result<MigrationReport> {
        self.rollback_last_with(MigrateOptions::default())
    }

    /// Behind [`DataFlow::rollback_with`](crate::DataFlow::rollback_with).
    pub fn rollback_with(&self, version: &str, options: MigrateOptions) -> Result<MigrationReport> {
        self.run_rollback(Some(version), &options)
    }

    /// Behind [`DataFlow::rollback_last_with`](crate::DataFlow::rollback_last_with).
    pub fn rollback_last_with(&self, options: MigrateOptions) -> Result<MigrationReport> {
        self.run_rollback(None, &options)
    }

    /// Behind [`DataFlow::resolve_failed`](crate::DataFlow::resolve_failed).
    pub fn resolve_failed(&self, version: &str) -> Result<()> {
        let d = self.dialect();
        self.with_conn(|conn| {
            if history::resolve(conn, d, version)? {
                return Ok(());
            }
            Err(Error::InvalidInput(
                match history::status_of(self, conn, version)? {
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
