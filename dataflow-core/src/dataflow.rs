//! The `DataFlow` handle: one type for every backend, on top of the core's
//! layers. It implements the traits through which the lower layers see a
//! database ([`QueryHandle`] for queries, [`MigrateHandle`] for migrations and
//! fixtures) and exposes the migration entry points of [`crate::migrate::api`].
//!
//! Kept whole (about 650 lines): it is the handle's whole public surface —
//! registration, connections and transactions, nodes and workflows, the
//! migration entry points — each a thin forward to the layer that owns it, so
//! a reader finds every method of `DataFlow` in one place. Migration files
//! live in the `versioned` submodule.

mod versioned;

use std::sync::{Arc, RwLock};

use crate::backend::bound::Bound;
use crate::backend::capabilities::Capabilities;
use crate::backend::{Backend, Connection, HeldConnection};
use crate::error::{Error, Result};
use crate::migrate::api::CheckReport;
use crate::migrate::describe::Describe;
use crate::migrate::dialect::Dialect;
use crate::migrate::handle::MigrateHandle;
use crate::migrate::history::MigrationRecord;
use crate::migrate::schema::Schema;
use crate::migrate::{MigrateOptions, MigrationReport};
use crate::model::descriptor::ModelDescriptor;
use crate::model::Model;
use crate::query::dialect::QueryDialect;
use crate::query::QueryHandle;
use crate::terminal::{default_interaction, Interaction};

/// A database with registered models. Cheap to clone (an `Arc`), `Send + Sync`,
/// with pooled connections inside: share one handle across threads.
///
/// The handle [`DataFlow::transaction`] passes to its closure is bound to one
/// transaction: everything called on it runs on that transaction's connection.
#[derive(Clone)]
pub struct DataFlow {
    inner: Arc<Inner>,
    /// The transaction this handle is bound to, if any.
    bound: Option<Arc<Bound>>,
}

struct Inner {
    backend: Box<dyn Backend>,
    dialect: &'static dyn Dialect,
    describe: &'static dyn Describe,
    capabilities: Capabilities,
    models: RwLock<Vec<&'static ModelDescriptor>>,
    /// How the database prints each model condition, by (table, condition):
    /// asked once per process, not on every plan.
    predicate_prints: std::sync::Mutex<std::collections::HashMap<(String, String), String>>,
    /// How the database prints each model `CHECK` condition, by (table,
    /// condition), likewise.
    check_prints: std::sync::Mutex<std::collections::HashMap<(String, String), String>>,
    /// Who migrations ask and show progress to.
    interaction: RwLock<Arc<dyn Interaction>>,
}

impl std::fmt::Debug for DataFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataFlow")
            .field("dialect", &self.inner.dialect.name())
            .field(
                "models",
                &self.models().iter().map(|m| m.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl DataFlow {
    /// Wraps a backend with its dialect (how it spells SQL) and its describe
    /// implementation (how it reads the live schema). Backend crates call
    /// this from `open` / `connect`.
    pub fn new(
        backend: impl Backend,
        dialect: &'static dyn Dialect,
        describe: &'static dyn Describe,
    ) -> Self {
        let capabilities = backend.capabilities();
        DataFlow {
            inner: Arc::new(Inner {
                backend: Box::new(backend),
                dialect,
                describe,
                capabilities,
                models: RwLock::new(Vec::new()),
                predicate_prints: Default::default(),
                check_prints: Default::default(),
                interaction: RwLock::new(default_interaction()),
            }),
            bound: None,
        }
    }

    /// The backend: for a handle bound to a transaction, one that runs every
    /// call on the transaction's connection.
    pub fn backend(&self) -> &dyn Backend {
        match &self.bound {
            Some(bound) => &**bound,
            None => &*self.inner.backend,
        }
    }

    /// Whether this handle is bound to a transaction (it is the handle
    /// [`DataFlow::transaction`] passed to its closure).
    pub fn in_transaction(&self) -> bool {
        self.bound.is_some()
    }

    /// The backend's SQL dialect.
    pub fn dialect(&self) -> &'static dyn Dialect {
        self.inner.dialect
    }

    /// How the backend reads the live schema.
    pub fn describer(&self) -> &'static dyn Describe {
        self.inner.describe
    }

    /// This handle as migrations see it.
    fn migrations(&self) -> &dyn MigrateHandle {
        self
    }

    /// Sets who migrations ask for consent and show backfill progress to (by
    /// default the terminal, see [`crate::terminal`]); a server application
    /// may pass [`crate::terminal::Headless`], a CLI its own implementation.
    /// [`MigrateOptions::interaction`](crate::MigrateOptions::interaction)
    /// overrides it for one call.
    pub fn set_interaction(&self, interaction: impl Interaction + 'static) {
        *self
            .inner
            .interaction
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Arc::new(interaction);
    }

    /// Who migrations ask and show progress to: see [`DataFlow::set_interaction`].
    pub fn interaction(&self) -> Arc<dyn Interaction> {
        Arc::clone(
            &self
                .inner
                .interaction
                .read()
                .unwrap_or_else(|e| e.into_inner()),
        )
    }

    /// What the backend's database supports.
    pub fn capabilities(&self) -> &Capabilities {
        &self.inner.capabilities
    }

    /// Registers a model so `auto_migrate` manages its table. Registering the same
    /// model again does nothing; two models claiming one table is an error.
    pub fn register<M: Model>(&self) -> Result<()> {
        self.register_all(&[M::DESCRIPTOR])
    }

    /// Registers several models at once: `db.register_all(models![User, Post])`.
    pub fn register_all(&self, models: &[&'static ModelDescriptor]) -> Result<()> {
        let mut registered = self
            .inner
            .models
            .write()
            .map_err(|_| Error::Database("model registry poisoned".into()))?;
        for &m in models {
            if let Some(other) = registered.iter().find(|r| r.table == m.table) {
                if std::ptr::eq(*other, m) {
                    continue;
                }
                return Err(Error::InvalidInput(format!(
                    "models {} and {} both map to table {}",
                    other.name, m.name, m.table
                )));
            }
            registered.push(m);
        }
        Ok(())
    }

    /// The registered models, in registration order.
    pub fn models(&self) -> Vec<&'static ModelDescriptor> {
        self.inner
            .models
            .read()
            .map(|m| m.clone())
            .unwrap_or_default()
    }

    /// The schema the registered models declare, normalised for this dialect.
    pub fn target_schema(&self) -> Schema {
        let mut s = Schema::from_descriptors(self.models());
        let d = self.dialect();
        if !self.capabilities().non_btree_indexes {
            for t in s.tables.values_mut() {
                t.indexes.retain(|i| i.kind.is_btree());
            }
        }
        d.normalize(&mut s);
        s
    }

    /// The live schema, normalised for this dialect.
    pub fn describe(&self) -> Result<Schema> {
        self.with_conn(|c| self.describe_with(c))
    }

    /// Replaces each live partial-index condition by the model's spelling when
    /// they are the same condition: equal as text, or the live text equal to
    /// the database's own printing of the model's condition (asked once per
    /// process). Exact equality only: a canonical form that dropped
    /// parentheses would also equate `(a OR b) AND c` with `a OR (b AND c)`.
    fn align_predicates(
        &self,
        conn: &mut dyn Connection,
        live: &mut Schema,
        target: &Schema,
    ) -> Result<()> {
        for (name, table) in &mut live.tables {
            let Some(t) = target.tables.get(name) else {
                continue;
            };
            let mut differing = Vec::new();
            for (i, index) in table.indexes.iter().enumerate() {
                let want = t
                    .indexes
                    .iter()
                    .find(|x| x.name == index.name)
                    .and_then(|x| x.predicate.as_ref());
                if let (Some(have), Some(want)) = (&index.predicate, want) {
                    if have != want {
                        differing.push((i, want.clone()));
                    }
                }
            }
            if differing.is_empty() {
                continue;
            }
            let printed = printings(&self.inner.predicate_prints, name, &differing, |w| {
                self.inner.describe.reprint_predicates(conn, t, w)
            })?;
            for ((i, want), printed) in differing.into_iter().zip(printed) {
                let index = &mut table.indexes[i];
                if index.predicate.as_ref() == Some(&printed) {
                    index.predicate = Some(want);
                }
            }
        }
        self.align_checks(conn, live, target)
    }

    /// Replaces each live `CHECK` condition by the model's spelling when they
    /// are the same condition: the live text equal to the database's own
    /// printing of the model's condition (PostgreSQL adds casts and
    /// parentheses), both in [`check_expression`](crate::migrate::schema::check_expression)
    /// form. Checks are matched by name; exact equality only, as for
    /// partial-index conditions.
    fn align_checks(
        &self,
        conn: &mut dyn Connection,
        live: &mut Schema,
        target: &Schema,
    ) -> Result<()> {
        for (name, table) in &mut live.tables {
            let Some(t) = target.tables.get(name) else {
                continue;
            };
            let differing: Vec<(usize, String)> = table
                .checks
                .iter()
                .enumerate()
                .filter_map(|(i, c)| {
                    let want = t.checks.iter().find(|x| x.name == c.name)?;
                    (want.expr != c.expr).then(|| (i, want.expr.clone()))
                })
                .collect();
            if differing.is_empty() {
                continue;
            }
            let printed = printings(&self.inner.check_prints, name, &differing, |w| {
                let printed = self.inner.describe.reprint_checks(conn, t, w)?;
                Ok(printed
                    .iter()
                    .map(|p| crate::migrate::schema::check_expression(p))
                    .collect())
            })?;
            for ((i, want), printed) in differing.into_iter().zip(printed) {
                let check = &mut table.checks[i];
                if check.expr == printed {
                    check.expr = want;
                }
            }
        }
        Ok(())
    }

    fn describe_with(&self, conn: &mut dyn Connection) -> Result<Schema> {
        let mut s = self.inner.describe.describe(conn)?;
        self.dialect().normalize(&mut s);
        Ok(s)
    }

    /// Runs `f` with a pooled connection, for raw SQL; on a handle bound to a
    /// transaction, with the transaction's connection.
    pub fn with_conn<R>(&self, f: impl FnOnce(&mut dyn Connection) -> Result<R>) -> Result<R> {
        crate::backend::with_conn(self.backend(), f)
    }

    /// Runs read-only raw SQL `f` where the typed reads run: on a read
    /// replica when the backend has some and the staleness rule allows
    /// (PostgreSQL's `PgOptions::read_urls`), otherwise like
    /// [`DataFlow::with_conn`]; on a handle bound to a transaction, with the
    /// transaction's connection. [`DataFlow::with_conn`] always uses the
    /// primary and counts as a write, since its SQL may be one.
    ///
    /// `f` must not write (a replica refuses: "cannot execute … in a read-only
    /// transaction") and may run more than once: when a replica's connection
    /// is lost before `f` ends, `f` runs again on the primary, and the result
    /// is that of its last run.
    ///
    /// ```ignore
    /// let n: i64 = db.with_read_conn(|c| {
    ///     let mut n = 0;
    ///     c.query("SELECT count(*) FROM users", &[], &[LogicalType::BigInt], &mut |row| {
    ///         if let Value::I64(v) = row[0] {
    ///             n = v;
    ///         }
    ///         Ok(())
    ///     })?;
    ///     Ok(n)
    /// })?;
    /// ```
    pub fn with_read_conn<R>(&self, f: impl FnMut(&mut dyn Connection) -> Result<R>) -> Result<R> {
        crate::backend::with_read_conn(self.backend(), f)
    }

    /// Raw SQL in a transaction: `self.transaction(|tx| tx.with_conn(f))`.
    /// Prefer [`DataFlow::transaction`], whose handle the typed functions and
    /// nodes can join; calls on `self` inside `f` would not be in the
    /// transaction.
    #[doc(hidden)]
    #[deprecated(note = "use DataFlow::transaction; raw SQL inside it through tx.with_conn")]
    pub fn with_tx<R>(&self, f: impl FnOnce(&mut dyn Connection) -> Result<R>) -> Result<R> {
        self.transaction(|tx| tx.with_conn(f))
    }

    /// Runs `f` in one database transaction, with a handle bound to it:
    /// committed when `f` returns `Ok`, rolled back when it returns `Err` or
    /// panics (the panic then continues).
    ///
    /// ```ignore
    /// db.transaction(|tx| {
    ///     Account::update(tx, from, AccountPatch { balance: Some(a - 10), ..Default::default() })?;
    ///     Account::update(tx, to, AccountPatch { balance: Some(b + 10), ..Default::default() })?;
    ///     Ok(())
    /// })?;
    /// ```
    ///
    /// Everything called on `tx` runs on the transaction's one connection:
    /// the generated typed functions, [`Records`](crate::Records), nodes,
    /// fixtures and `tx.with_conn` for raw SQL. Calls on the outer handle
    /// inside `f` are **not** part of the transaction (they take another
    /// pooled connection, and on SQLite wait for the transaction's write
    /// lock): use `tx`. A `transaction` called on `tx` is a savepoint, rolled
    /// back alone when its closure fails.
    ///
    /// On SQLite the transaction starts with `BEGIN IMMEDIATE`, taking the
    /// write lock at once (waiting up to the busy timeout), so two
    /// transactions never fail upgrading a read lock. On PostgreSQL a failed
    /// statement aborts the whole transaction until it is rolled back: to
    /// carry on after an error you handle, make the failing call in a nested
    /// `tx.transaction(..)`.
    ///
    /// `tx` is `Send + Sync` like any handle: calls from other threads run on
    /// the one connection in turn, inside whatever savepoint is open. Once the
    /// transaction has ended a kept clone of `tx` fails with
    /// `Error::InvalidInput`. Migrations (`auto_migrate`, rollbacks) are
    /// refused on `tx` with `Error::InvalidInput`: they take the migration lock
    /// and a transaction of their own; a dry run or `plan()` works.
    pub fn transaction<R>(&self, f: impl FnOnce(&DataFlow) -> Result<R>) -> Result<R> {
        if let Some(bound) = &self.bound {
            bound.with_held(|held| held.begin())?;
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(self)));
            return settle(out, |commit| bound.with_held(|held| end(held, commit)));
        }
        let mut held = self.inner.backend.hold()?;
        held.begin()?;
        let bound = Arc::new(Bound::new(held, self.inner.capabilities));
        let tx = DataFlow {
            inner: Arc::clone(&self.inner),
            bound: Some(Arc::clone(&bound)),
        };
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&tx)));
        // Taken out, so a clone of `tx` kept past here fails instead of
        // writing outside the transaction. A connection left inside a
        // transaction (a failed rollback) is discarded by the pool on drop.
        let mut held = bound.take();
        settle(out, |commit| match held.as_deref_mut() {
            Some(held) => end(held, commit),
            None => Err(Error::Database(
                "the transaction's connection is gone".into(),
            )),
        })
    }

    /// The JSON node named `name` (`UserListNode`), see [`crate::nodes`];
    /// `Error::InvalidInput` listing close matches when there is none.
    pub fn node(&self, name: &str) -> Result<crate::nodes::Node<'_>> {
        crate::nodes::node(self, name)
    }

    /// The names of every node of the registered models.
    pub fn nodes(&self) -> Vec<String> {
        crate::nodes::node_names(self)
    }

    /// Runs a [`Workflow`](crate::nodes::workflow::Workflow) in one
    /// transaction (a savepoint on a handle already in one): its nodes in
    /// dependency order, outputs mapped into later parameters by JSON
    /// pointer. Returns every node's output by id.
    ///
    /// The workflow is checked whole before anything runs (see
    /// [`DataFlow::check_workflow`]). A node that fails is
    /// `Error::WorkflowNode` naming it, with its error as the source; the
    /// transaction is rolled back, so nothing of the workflow is written.
    pub fn run_workflow(
        &self,
        workflow: &crate::nodes::workflow::Workflow,
    ) -> Result<crate::nodes::workflow::WorkflowOutput> {
        let plan = crate::nodes::workflow::check(self, workflow)?;
        self.transaction(|tx| crate::nodes::workflow::run(tx, &plan))
    }

    /// Checks a workflow without running it and returns its node ids in run
    /// order: duplicate or empty ids, unknown node types, connections naming
    /// a missing node, cycles, malformed pointers, an input set twice or
    /// that cannot be set are `Error::InvalidInput` naming the node.
    pub fn check_workflow(
        &self,
        workflow: &crate::nodes::workflow::Workflow,
    ) -> Result<Vec<String>> {
        let plan = crate::nodes::workflow::check(self, workflow)?;
        Ok(plan.order().into_iter().map(str::to_owned).collect())
    }
}

/// Migration entry points (implemented in [`crate::migrate::api`]).
impl DataFlow {
    /// Reconciles the database with the registered models; see [`MigrateOptions`].
    ///
    /// Takes the migration lock first, plans against the database as it is under
    /// the lock (a racing process that already migrated leaves nothing to do),
    /// refuses the whole plan if any step is above the allowed risk or blocked,
    /// backs up what destructive steps destroy, applies every step in one
    /// transaction and records it in `_dataflow_migrations`.
    pub fn auto_migrate(&self, options: MigrateOptions) -> Result<MigrationReport> {
        self.migrations().auto_migrate(options)
    }

    /// The plan `auto_migrate` would apply, without applying it (a dry run).
    pub fn plan(&self) -> Result<MigrationReport> {
        self.migrations().plan()
    }

    /// `Ok` with the tables no model declares when the live database matches the
    /// registered models; `Error::Drift` naming each difference otherwise.
    pub fn check(&self) -> Result<CheckReport> {
        self.migrations().check()
    }

    /// Hands tables dataflow did not create over to it: records their current
    /// schema as a baseline migration (no step runs; the database's tables are
    /// not altered) and lists them as dataflow's, so that later model changes
    /// migrate them as usual and, with `prune(true)`, a table whose model is
    /// gone may be dropped like one dataflow created. Tables not adopted stay
    /// unmanaged and are never dropped. The registered models of the tables
    /// must match them first (`plan()` empty for them), else `Error::Drift`
    /// lists what differs; a table that does not exist is
    /// `Error::InvalidInput`. Adopting an adopted table again does nothing.
    pub fn adopt<S: Into<String>>(
        &self,
        tables: impl IntoIterator<Item = S>,
    ) -> Result<MigrationReport> {
        self.adopt_with(tables, MigrateOptions::default())
    }

    /// [`DataFlow::adopt`] with options (`lock_timeout` is the one it reads).
    pub fn adopt_with<S: Into<String>>(
        &self,
        tables: impl IntoIterator<Item = S>,
        options: MigrateOptions,
    ) -> Result<MigrationReport> {
        let tables: Vec<String> = tables.into_iter().map(Into::into).collect();
        self.migrations().adopt(&tables, &options)
    }

    /// Every recorded migration, oldest first.
    pub fn migration_history(&self) -> Result<Vec<MigrationRecord>> {
        self.migrations().migration_history()
    }

    /// Metrics from the migration history: count, median and p95 duration,
    /// success and rollback rates, the slowest steps. History rows written
    /// before step durations were recorded count without them.
    pub fn migration_metrics(&self) -> Result<crate::migrate::metrics::MigrationMetrics> {
        self.migrations().migration_metrics()
    }

    /// Undoes the migrations applied since `version`, newest first, with
    /// default options: see [`DataFlow::rollback_with`].
    pub fn rollback(&self, version: &str) -> Result<MigrationReport> {
        self.migrations().rollback(version)
    }

    /// Undoes the newest migration with default options: see
    /// [`DataFlow::rollback_last_with`].
    pub fn rollback_last(&self) -> Result<MigrationReport> {
        self.migrations().rollback_last()
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
        self.migrations().rollback_with(version, options)
    }

    /// Undoes the newest applied migration (or the newest record, when it is
    /// a failed one), as [`DataFlow::rollback_with`] does. Rollbacks are not counted, so calling it again undoes the
    /// migration before; to undo the rollback itself, roll back its version
    /// with [`DataFlow::rollback_with`] while it is the newest migration.
    pub fn rollback_last_with(&self, options: MigrateOptions) -> Result<MigrationReport> {
        self.migrations().rollback_last_with(options)
    }

    /// Marks a failed migration as dealt with (after you have inspected and
    /// repaired the database), so automatic migration resumes. Only a migration
    /// recorded as `failed` can be resolved: any other version, or one no
    /// migration has, is `Error::InvalidInput` naming it and its status, and
    /// nothing is changed. To undo an applied migration, roll it back.
    pub fn resolve_failed(&self, version: &str) -> Result<()> {
        self.migrations().resolve_failed(version)
    }
}

impl QueryHandle for DataFlow {
    fn dialect(&self) -> &'static dyn QueryDialect {
        self.inner.dialect
    }

    fn capabilities(&self) -> &Capabilities {
        &self.inner.capabilities
    }

    fn backend(&self) -> &dyn Backend {
        DataFlow::backend(self)
    }

    fn models(&self) -> Vec<&'static ModelDescriptor> {
        DataFlow::models(self)
    }

    fn live_columns(&self, table: &str) -> Result<Option<Vec<String>>> {
        let mut live = self.describe()?;
        Ok(live
            .tables
            .remove(table)
            .map(|t| t.columns.into_iter().map(|c| c.name).collect()))
    }
}

impl MigrateHandle for DataFlow {
    fn dialect(&self) -> &'static dyn Dialect {
        self.inner.dialect
    }

    fn capabilities(&self) -> &Capabilities {
        &self.inner.capabilities
    }

    fn backend(&self) -> &dyn Backend {
        DataFlow::backend(self)
    }

    fn describer(&self) -> &'static dyn Describe {
        self.inner.describe
    }

    fn models(&self) -> Vec<&'static ModelDescriptor> {
        DataFlow::models(self)
    }

    fn target_schema(&self) -> Schema {
        DataFlow::target_schema(self)
    }

    fn describe_with(&self, conn: &mut dyn Connection) -> Result<Schema> {
        DataFlow::describe_with(self, conn)
    }

    fn align_predicates(
        &self,
        conn: &mut dyn Connection,
        live: &mut Schema,
        target: &Schema,
    ) -> Result<()> {
        DataFlow::align_predicates(self, conn, live, target)
    }

    fn interaction(&self) -> Arc<dyn Interaction> {
        DataFlow::interaction(self)
    }

    fn as_query(&self) -> &dyn QueryHandle {
        self
    }

    fn run_data_step(
        &self,
        conn: &mut dyn Connection,
        in_transaction: bool,
        f: &crate::migrate::files::source::DataFn,
    ) -> Result<()> {
        crate::backend::lent::lend(conn, in_transaction, |held| {
            let bound = Arc::new(Bound::new(held, self.inner.capabilities));
            let tx = DataFlow {
                inner: Arc::clone(&self.inner),
                bound: Some(Arc::clone(&bound)),
            };
            // Taken out after the step, so a clone of `tx` kept past it fails
            // instead of reaching a connection no longer lent.
            // Outside the migration's transaction (a no-transaction
            // migration) the step is still all or nothing: one of its own.
            if !in_transaction {
                bound.with_held(|held| held.begin())?;
            }
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&tx)));
            let mut held = bound.take();
            if !in_transaction {
                let commit = matches!(out, Ok(Ok(())));
                if let Some(held) = held.as_deref_mut() {
                    end(held, commit)?;
                }
            }
            // A panic becomes an error, so the migration is rolled back and
            // recorded as any failed one, its lock and connection released.
            out.unwrap_or_else(|panic| {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".into());
                Err(Error::Database(format!("a data step panicked: {message}")))
            })
        })
    }
}

/// Commits (`commit`) or rolls back the innermost transaction of `held`.
fn end(held: &mut dyn HeldConnection, commit: bool) -> Result<()> {
    if commit {
        held.commit()
    } else {
        held.rollback()
    }
}

/// Ends a transaction by how its closure came out: committed on `Ok`, rolled
/// back on `Err` (returned) or a panic (resumed after the rollback).
fn settle<R>(
    out: std::thread::Result<Result<R>>,
    mut end: impl FnMut(bool) -> Result<()>,
) -> Result<R> {
    let failed = match out {
        Ok(Ok(v)) => return end(true).map(|()| v),
        Ok(Err(e)) => Ok(e),
        Err(panic) => Err(panic),
    };
    if let Err(e) = end(false) {
        tracing::warn!("rolling back a transaction failed: {e}");
    }
    match failed {
        Ok(e) => Err(e),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// How the database prints each model condition of `wants` (pairs of an
/// entry's place and its condition) on the table `table`: read from `cache`
/// by (table, condition); those not there yet are asked through `reprint`,
/// once per process, and kept.
fn printings(
    cache: &std::sync::Mutex<std::collections::HashMap<(String, String), String>>,
    table: &str,
    wants: &[(usize, String)],
    reprint: impl FnOnce(&[String]) -> Result<Vec<String>>,
) -> Result<Vec<String>> {
    let key = |w: &String| (table.to_owned(), w.clone());
    let missing: Vec<String> = {
        let known = cache.lock().map_err(|_| poisoned())?;
        wants
            .iter()
            .map(|(_, w)| w)
            .filter(|w| !known.contains_key(&key(w)))
            .cloned()
            .collect()
    };
    if !missing.is_empty() {
        let printed = reprint(&missing)?;
        let mut known = cache.lock().map_err(|_| poisoned())?;
        for (w, p) in missing.iter().zip(printed) {
            known.insert(key(w), p);
        }
    }
    let known = cache.lock().map_err(|_| poisoned())?;
    Ok(wants
        .iter()
        .map(|(_, w)| known.get(&key(w)).cloned().unwrap_or_default())
        .collect())
}

fn poisoned() -> crate::error::Error {
    crate::error::Error::Database(
        "a thread panicked while holding dataflow's cache of printed conditions".into(),
    )
}
