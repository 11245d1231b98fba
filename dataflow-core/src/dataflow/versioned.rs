//! The handle's entry points for versioned migration files (implemented in
//! [`crate::migrate::files`]).

use std::any::Any;
use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::migrate::files::source::{DataFn, DataStep};
use crate::migrate::files::{
    self, generate, run, FileStatus, FilesReport, GenerateOptions, Generated, MigrationPlan,
    Migrations,
};
use crate::migrate::MigrateOptions;
use crate::DataFlow;

impl DataFlow {
    /// Writes `dir/<UTC timestamp>_<name>/` (`up.sql`, `down.sql`,
    /// `plan.json`) taking the schema snapshot stored with the newest
    /// migration of `dir` (none: an empty schema) to the registered models.
    /// No database is read: steps are judged as if every table held data,
    /// and judged again on the live data when applied. The SQL is this
    /// handle's backend's. Returns [`Generated::UpToDate`] and writes nothing
    /// when the models match the snapshot. Refuses multiple heads (see
    /// [`DataFlow::merge_migrations`]).
    pub fn generate_migration(&self, dir: impl AsRef<Path>, name: &str) -> Result<Generated> {
        self.generate_migration_with(dir, name, GenerateOptions::default())
    }

    /// [`DataFlow::generate_migration`] with options (a fixed timestamp).
    pub fn generate_migration_with(
        &self,
        dir: impl AsRef<Path>,
        name: &str,
        options: GenerateOptions,
    ) -> Result<Generated> {
        generate::generate(self, dir.as_ref(), name, &options)
    }

    /// The migration `generate_migration` would write after `migrations`,
    /// `None` when the models match the newest snapshot (a CI check).
    pub fn pending_migration(&self, migrations: &Migrations) -> Result<Option<MigrationPlan>> {
        let plans = migrations.plans()?;
        let version = generate::pick_version(&plans, None);
        generate::pending_plan(self, migrations, &version, "pending")
    }

    /// Applies every pending migration of `migrations`, oldest first, each in
    /// its own transaction under the migration lock (an `up.sql` whose first
    /// line is `-- dataflow:no-transaction` runs statement by statement
    /// outside one, on PostgreSQL). Each migration's steps are judged on the
    /// live data and policed as `auto_migrate`'s are (`max_risk`,
    /// `auto_confirm`, the prompt; `dry_run` lists what would run). The sha256
    /// of every applied file is recorded; an applied file edited since is
    /// `Error::InvalidInput` naming it, before anything runs (see
    /// [`DataFlow::repair_migration`]).
    pub fn apply_migrations(
        &self,
        migrations: &Migrations,
        options: MigrateOptions,
    ) -> Result<FilesReport> {
        run::upgrade(self, migrations, None, &options)
    }

    /// Applies the pending migrations up to and including `target` (an id
    /// `<version>_<name>` or a version), as `apply_migrations` does.
    pub fn upgrade(
        &self,
        migrations: &Migrations,
        target: &str,
        options: MigrateOptions,
    ) -> Result<FilesReport> {
        run::upgrade(self, migrations, Some(target), &options)
    }

    /// Undoes the applied migrations after `target` (an id or version; `"0"`
    /// undoes every one), newest first, each in its own transaction: its data
    /// step's backward function, then its `down.sql` (statement by statement
    /// outside a transaction when its first line is
    /// `-- dataflow:no-transaction`, on PostgreSQL). Judged and policed as a
    /// rollback is: calling it consents to steps up to `Medium`; a step that
    /// destroys data needs `auto_confirm(true).max_risk(RiskLevel::High)` or
    /// the prompt.
    pub fn downgrade(
        &self,
        migrations: &Migrations,
        target: &str,
        options: MigrateOptions,
    ) -> Result<FilesReport> {
        run::downgrade(self, migrations, target, &options)
    }

    /// Each migration of `migrations` and whether it is applied, pending or
    /// applied but edited since.
    pub fn migration_status(&self, migrations: &Migrations) -> Result<Vec<FileStatus>> {
        run::status(self, migrations)
    }

    /// Accepts an edit of an applied migration's files: records their
    /// current sha256. The repair path for the "applied migration files were
    /// edited" error, once you have made sure the database matches the edited
    /// files (or the edit changes nothing the database holds, e.g. comments).
    pub fn repair_migration(&self, migrations: &Migrations, version: &str) -> Result<()> {
        run::repair(self, migrations, version)
    }

    /// Switches a database that was auto-migrated to migration files: writes
    /// its current schema (the tables dataflow created or a registered model
    /// declares) as the first migration of `dir`, which must hold none, and
    /// records it as applied without running it. Databases created later run
    /// it like any other.
    pub fn baseline(&self, dir: impl AsRef<Path>, name: &str) -> Result<Generated> {
        run::baseline(self, dir.as_ref(), name, &GenerateOptions::default())
    }

    /// [`DataFlow::baseline`] with options (a fixed timestamp).
    pub fn baseline_with(
        &self,
        dir: impl AsRef<Path>,
        name: &str,
        options: GenerateOptions,
    ) -> Result<Generated> {
        run::baseline(self, dir.as_ref(), name, &options)
    }

    /// Joins the heads of `dir` (migrations generated on separate branches
    /// from the same parent) by an empty migration following all of them.
    pub fn merge_migrations(
        &self,
        dir: impl AsRef<Path>,
        name: &str,
        options: GenerateOptions,
    ) -> Result<Generated> {
        generate::merge(dir.as_ref(), name, &options)
    }

    /// Replaces the chain of migrations `from..=to` of `dir` by one named
    /// `name`: see [`files::generate::squash`].
    pub fn squash_migrations(
        &self,
        dir: impl AsRef<Path>,
        from: &str,
        to: &str,
        name: &str,
    ) -> Result<Generated> {
        files::generate::squash(dir.as_ref(), from, to, name)
    }
}

impl Migrations {
    /// Registers a data step for migration `version`, for transformations SQL
    /// cannot express (as Django's `RunPython`): `forward` runs after its
    /// `up.sql`, `backward` before its `down.sql`. Each gets a handle bound
    /// to the migration's own connection and transaction, as the handle
    /// [`DataFlow::transaction`] passes: typed functions, records, nodes and
    /// `tx.with_conn` for raw SQL run in the migration's transaction, commit
    /// with it and roll back with it (an `Err` or a panic from the step rolls
    /// the whole migration back; a panic is reported as `Error::Database`).
    /// After a `-- dataflow:no-transaction` `up.sql` (or before such a
    /// `down.sql`) the step runs in a transaction of its own. The models
    /// registered on the handle that applies the migrations are the ones the
    /// step sees. Migrations on the bound handle are refused;
    /// `tx.transaction(..)` is a savepoint.
    ///
    /// ```ignore
    /// let migrations = Migrations::from_dir("migrations")?.data_step(
    ///     "20260101000200",
    ///     |tx| {
    ///         for u in User::list(tx).all()? {
    ///             let nick = Some(u.name.to_lowercase());
    ///             User::update(tx, u.id, UserPatch { nick: Some(nick), ..Default::default() })?;
    ///         }
    ///         Ok(())
    ///     },
    ///     |_tx| Ok(()),
    /// );
    /// ```
    ///
    /// The handle is only good inside the step: a clone kept past it fails
    /// with `Error::InvalidInput`.
    pub fn data_step(
        self,
        version: impl Into<String>,
        forward: impl Fn(&DataFlow) -> Result<()> + Send + Sync + 'static,
        backward: impl Fn(&DataFlow) -> Result<()> + Send + Sync + 'static,
    ) -> Migrations {
        self.with_data(DataStep {
            version: version.into(),
            forward: erase(forward),
            backward: Some(erase(backward)),
        })
    }
}

/// A step's function as the migration layer keeps it (it cannot name the
/// handle): called with the bound handle as `Any`.
fn erase(f: impl Fn(&DataFlow) -> Result<()> + Send + Sync + 'static) -> DataFn {
    Arc::new(
        move |handle: &dyn Any| match handle.downcast_ref::<DataFlow>() {
            Some(tx) => f(tx),
            None => Err(Error::InvalidInput(
                "a data step is run with a DataFlow handle".into(),
            )),
        },
    )
}
