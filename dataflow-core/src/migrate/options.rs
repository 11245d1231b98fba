//! The options of `auto_migrate` and the rollbacks, builder style.

use std::sync::Arc;
use std::time::Duration;

use crate::migrate::{Operation, RiskLevel};
use crate::terminal::Interaction;

/// The longest name [`MigrateOptions::name`] accepts, in characters.
pub const MAX_MIGRATION_NAME: usize = 200;

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
    pub(crate) online: Option<bool>,
    pub(crate) batch_size: u32,
    pub(crate) step_lock_timeout: Duration,
    pub(crate) step_retries: u32,
    pub(crate) stop_online_after: Option<usize>,
    pub(crate) interaction: Option<Arc<dyn Interaction>>,
    pub(crate) existing_schema: bool,
    pub(crate) name: Option<String>,
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
            online: None,
            batch_size: 5_000,
            step_lock_timeout: Duration::from_secs(5),
            step_retries: 5,
            stop_online_after: None,
            interaction: None,
            existing_schema: false,
            name: None,
        }
    }
}

impl MigrateOptions {
    /// Names the migration (`"add_phone"`): recorded in the history as its
    /// [`name`](crate::MigrationRecord::name) instead of the summary of its
    /// steps, and quoted wherever the migration is named (history listings, the
    /// message about a migration that failed part-way). At most
    /// [`MAX_MIGRATION_NAME`] characters, not blank, no control characters:
    /// anything else is refused with `Error::InvalidInput` before the
    /// database is touched.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Refuses a name [`MigrateOptions::name`] does not accept.
    pub(crate) fn check_name(&self) -> crate::error::Result<()> {
        let Some(name) = &self.name else {
            return Ok(());
        };
        let why = if name.trim().is_empty() {
            "is blank"
        } else if name.chars().count() > MAX_MIGRATION_NAME {
            "is longer than 200 characters"
        } else if name.chars().any(char::is_control) {
            "holds a control character"
        } else {
            return Ok(());
        };
        Err(crate::error::Error::InvalidInput(format!(
            "migration name {name:?} {why}"
        )))
    }

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

    /// Zero-downtime mode, on by default where the backend has it (PostgreSQL):
    /// indexes are built `CONCURRENTLY` after the transaction commits (an
    /// INVALID index left by a failed build is dropped on the next run), foreign
    /// keys are added `NOT VALID` and validated afterwards, and `NOT NULL` on a
    /// populated column becomes a `CHECK … NOT VALID`, a batched backfill of the
    /// default, `VALIDATE`, `SET NOT NULL`. Progress is recorded in the history
    /// row, so an interrupted run resumes where it stopped. `online(false)` runs
    /// every step inside the one transaction instead.
    pub fn online(mut self, yes: bool) -> Self {
        self.online = Some(yes);
        self
    }

    /// Rows per backfill batch in online mode (each batch is its own short
    /// transaction). Default 5 000.
    pub fn batch_size(mut self, rows: u32) -> Self {
        self.batch_size = rows.max(1);
        self
    }

    /// How long one step may wait for its table lock before it gives up, rolls
    /// back to its savepoint and retries (so a migration queued behind a long
    /// transaction does not block every other query on the table meanwhile).
    /// Default 5 s; where the database has no such setting it is ignored.
    pub fn step_lock_timeout(mut self, timeout: Duration) -> Self {
        self.step_lock_timeout = timeout;
        self
    }

    /// How often a step that timed out waiting for its lock is retried (with
    /// exponential backoff from 100 ms) before the migration fails. Default 5.
    pub fn step_retries(mut self, n: u32) -> Self {
        self.step_retries = n;
        self
    }

    /// Testing only: stop the online phase after `n` statements, as if the
    /// process had been killed, leaving the history row in progress.
    #[doc(hidden)]
    pub fn stop_online_after(mut self, n: usize) -> Self {
        self.stop_online_after = Some(n);
        self
    }

    /// Asks, and reports progress, through `interaction` for this call instead
    /// of the handle's (see [`DataFlow::set_interaction`]).
    ///
    /// [`DataFlow::set_interaction`]: crate::DataFlow::set_interaction
    pub fn interaction(mut self, interaction: impl Interaction + 'static) -> Self {
        self.interaction = Some(Arc::new(interaction));
        self
    }

    /// Existing-schema mode, for a database dataflow did not create and must
    /// not alter: `auto_migrate` changes nothing (not even dataflow's own
    /// tables are created). It checks that every registered model can work on
    /// its table — the table and each field's column exist, each column's type
    /// holds the field's values, a column that allows NULL has an `Option`
    /// field, columns the model leaves out can be left out on insert, the
    /// model's key is unique — and fails with `Error::Drift` listing every
    /// problem. Otherwise it returns the plan a migration would make, never
    /// applied (`applied: false`): the differences that do not stop CRUD
    /// (indexes, defaults, lengths, extra nullable columns).
    pub fn existing_schema(mut self, yes: bool) -> Self {
        self.existing_schema = yes;
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
