//! Running migration files: applying the pending ones (each in its own
//! transaction under the migration lock, judged on the live data and policed
//! like `auto_migrate`), downgrading, baselining a database that was
//! auto-migrated, accepting an edited file, and reporting which are applied.
//!
//! Kept whole (about 500 lines): applying and downgrading share the loading,
//! checking, judging and recording of one migration, and read best together.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use chrono::Utc;

use crate::backend::Connection;
use crate::error::{Error, Result};
use crate::migrate::diff::{Change, Droppable, Hints};
use crate::migrate::facts::ConnCounts;
use crate::migrate::files::generate::{
    check_dialect, plan_offline, write, GenerateOptions, Generated,
};
use crate::migrate::files::source::{MigrationSource, Migrations};
use crate::migrate::files::sql::{no_transaction, render_down, render_up, split_statements};
use crate::migrate::files::{check_name, checksums, graph, MigrationPlan, PLAN_FORMAT};
use crate::migrate::handle::MigrateHandle;
use crate::migrate::history::{self, MigrationRecord, MigrationStatus};
use crate::migrate::plan::{plan_changes, PlanInput};
use crate::migrate::policy::{self, Kind, Policy};
use crate::migrate::schema::Schema;
use crate::migrate::{MigrateOptions, MigrationReport, MigrationStep, RiskLevel};

/// Where a migration file stands in a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileMigrationState {
    /// Applied, and its files are as they were then.
    Applied,
    /// Applied, but a file changed since (see `repair_migration`).
    Edited,
    /// Not applied yet.
    Pending,
    /// Recorded as applied, but its directory is not among the migrations
    /// (deleted after it ran): applying and downgrading refuse until it is
    /// restored.
    Missing,
}

/// One migration file and its state, for `migration_status`.
#[derive(Debug, Clone, PartialEq)]
pub struct FileStatus {
    /// `<version>_<name>`.
    pub id: String,
    /// Its version.
    pub version: String,
    /// Its state.
    pub state: FileMigrationState,
    /// When it was applied.
    pub applied_at: Option<chrono::DateTime<Utc>>,
}

/// What `apply_migrations`, `upgrade` and `downgrade` did (or, for a dry run,
/// would do).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FilesReport {
    /// The migrations applied (or undone, for a downgrade), in the order run,
    /// each with its steps as judged on the live data.
    pub migrations: Vec<(String, MigrationReport)>,
    /// Squashes recorded as applied without running, because the database
    /// had applied every migration they replace.
    pub recorded: Vec<String>,
    /// Whether this was a dry run (nothing changed).
    pub dry_run: bool,
}

impl FilesReport {
    /// The ids run, in order.
    pub fn ids(&self) -> Vec<&str> {
        self.migrations.iter().map(|(id, _)| id.as_str()).collect()
    }

    /// Whether nothing was (or would be) run.
    pub fn is_empty(&self) -> bool {
        self.migrations.is_empty()
    }
}

/// A migration ready to run: its files and its parsed plan.
struct Loaded<'m> {
    source: &'m MigrationSource,
    plan: MigrationPlan,
}

/// Parses and checks a set: one head, every parent present, this backend's
/// SQL, data steps naming migrations that exist.
fn load<'m>(db: &dyn MigrateHandle, migrations: &'m Migrations) -> Result<Vec<Loaded<'m>>> {
    let plans = migrations.plans()?;
    graph::single_head(&plans)?;
    for p in &plans {
        check_dialect(db, p)?;
    }
    for d in migrations.data_steps() {
        if !plans.iter().any(|p| p.version == d.version) {
            return Err(Error::InvalidInput(format!(
                "a data step is registered for migration {}, which is not among the migrations",
                d.version
            )));
        }
    }
    Ok(migrations
        .sources()
        .iter()
        .zip(plans)
        .map(|(source, plan)| Loaded { source, plan })
        .collect())
}

/// The versions recorded as applied.
fn applied(db: &dyn MigrateHandle, conn: &mut dyn Connection) -> Result<BTreeSet<String>> {
    Ok(history::load(db, conn)?
        .into_iter()
        .filter(|r| r.status == MigrationStatus::Applied)
        .map(|r| r.version)
        .collect())
}

/// Refuses while a migration that failed part-way waits to be dealt with.
fn refuse_failed(db: &dyn MigrateHandle, conn: &mut dyn Connection) -> Result<()> {
    if let Some((version, name, error)) = history::failed(db, conn)?.into_iter().next() {
        return Err(Error::MigrationRefused {
            steps: vec![format!(
                "migration {version} ({name}) failed part-way: {}; repair the database, then resolve_failed(\"{version}\")",
                error.as_deref().unwrap_or("no message"),
            )],
            policy: String::new(),
        });
    }
    Ok(())
}

/// Checks every applied file against its recorded checksum.
fn verify(db: &dyn MigrateHandle, conn: &mut dyn Connection, all: &[Loaded<'_>]) -> Result<()> {
    let recorded = checksums::load(db, conn)?;
    let sources: Vec<&MigrationSource> = all.iter().map(|l| l.source).collect();
    let known = all
        .iter()
        .flat_map(|l| {
            l.plan
                .replaces
                .iter()
                .map(String::as_str)
                .chain([&*l.source.id])
        })
        .collect();
    let missing = checksums::missing(&recorded, &known);
    if !missing.is_empty() {
        return Err(Error::InvalidInput(format!(
            "applied migrations are missing from the migrations: {}. Their files were deleted \
             after they ran; restore their directories (squash_migrations replaces old \
             migrations safely)",
            missing.join(", ")
        )));
    }
    checksums::verify(&recorded, &sources)
}

/// The steps of `changes` judged on the live data (risk, reason, blocked),
/// laid over `steps`. When the live database cannot be judged this way (it
/// differs from what the files expect), the files' own judgement stands.
fn judge(
    db: &dyn MigrateHandle,
    conn: &mut dyn Connection,
    steps: &[MigrationStep],
    changes: Vec<Change>,
    target: &Schema,
    version: &str,
) -> Vec<MigrationStep> {
    let mut out = steps.to_vec();
    let live = match db.describe_with(conn) {
        Ok(l) => l,
        Err(_) => return out,
    };
    let options = MigrateOptions::default();
    let input = PlanInput {
        live: &live,
        target,
        hints: &Hints::default(),
        droppable: &Droppable::new(),
        dialect: db.dialect(),
        capabilities: db.capabilities(),
        options: &options,
        version,
        online: false,
    };
    // A failed count leaves the transaction unusable on some databases: judge
    // inside a savepoint.
    if conn.batch_execute("SAVEPOINT dataflow_judge").is_err() {
        return out;
    }
    let judged = plan_changes(&input, changes, &mut ConnCounts::new(conn));
    let _ = conn.batch_execute("ROLLBACK TO SAVEPOINT dataflow_judge");
    let _ = conn.batch_execute("RELEASE SAVEPOINT dataflow_judge");
    match judged {
        Ok(j)
            if j.len() == out.len()
                && j.iter().zip(&out).all(|(a, b)| a.operation == b.operation) =>
        {
            for (s, j) in out.iter_mut().zip(j) {
                s.risk = j.risk;
                s.reason = j.reason;
                s.blocked = j.blocked;
            }
        }
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(target: "dataflow::migrate", %version, error = %e,
                "cannot judge the migration on the live data; its files' judgement stands");
        }
    }
    out
}

/// Applies the policy to one migration's judged steps: refused steps name
/// the migration; above `SAFE`, the interaction is asked when it can be.
fn police(
    db: &dyn MigrateHandle,
    options: &MigrateOptions,
    id: &str,
    report: &MigrationReport,
    rollback: bool,
) -> Result<()> {
    let interaction = policy::interaction(db, options);
    let kind = if rollback {
        Kind::Rollback
    } else {
        Kind::Migrate
    };
    let policy = Policy::new(kind, options, &*interaction);
    let named = |e: Error| match e {
        Error::MigrationRefused { steps, policy } => Error::MigrationRefused {
            steps: steps.into_iter().map(|r| format!("{id}: {r}")).collect(),
            policy,
        },
        other => other,
    };
    if let Some(refusal) = policy.refuse(&report.steps) {
        return Err(named(refusal));
    }
    if policy.ask && report.max_risk() > RiskLevel::Safe && !interaction.confirm(report)? {
        return Err(named(policy.declined()));
    }
    Ok(())
}

fn report(version: &str, steps: Vec<MigrationStep>, applied: bool) -> MigrationReport {
    MigrationReport {
        applied,
        version: Some(version.to_owned()),
        steps,
        unmanaged_tables: Vec::new(),
        in_progress: None,
        rolled_back: Vec::new(),
    }
}

/// Records `l` as applied (its history row and file checksums).
fn record(
    db: &dyn MigrateHandle,
    conn: &mut dyn Connection,
    l: &Loaded<'_>,
    steps: Vec<MigrationStep>,
    started: chrono::DateTime<Utc>,
    clock: Option<Instant>,
    error: Option<String>,
) -> Result<()> {
    let d = db.dialect();
    history::forget(conn, d, &l.plan.id())?;
    history::record(
        conn,
        d,
        &MigrationRecord {
            version: l.plan.id(),
            name: l.plan.name.clone(),
            checksum: l.plan.schema.checksum(),
            started_at: started,
            finished_at: Some(Utc::now()),
            duration_ms: clock.map(|c| c.elapsed().as_millis() as i64),
            steps,
            status: if error.is_some() {
                MigrationStatus::Failed
            } else {
                MigrationStatus::Applied
            },
            error,
        },
    )?;
    checksums::record(db, conn, l.source)
}

/// Runs a script in the current transaction, as one batch.
fn run_script(conn: &mut dyn Connection, sql: &str) -> Result<()> {
    if split_statements(sql).is_empty() {
        return Ok(());
    }
    conn.batch_execute(sql)
}

/// Behind `DataFlow::apply_migrations` (`target` `None`) and
/// `DataFlow::upgrade` (up to and including `target`, an id or version).
pub fn upgrade(
    db: &dyn MigrateHandle,
    migrations: &Migrations,
    target: Option<&str>,
    options: &MigrateOptions,
) -> Result<FilesReport> {
    let all = load(db, migrations)?;
    let upto = match target {
        None => None,
        Some(t) => Some(
            all.iter()
                .position(|l| l.plan.id() == t || l.plan.version == t)
                .ok_or_else(|| Error::InvalidInput(format!("no migration {t}")))?,
        ),
    };
    let wanted = &all[..upto.map_or(all.len(), |i| i + 1)];
    let mut out = FilesReport {
        dry_run: options.dry_run,
        ..FilesReport::default()
    };
    if options.dry_run {
        db.with_conn(|conn| {
            let done = applied(db, conn)?;
            verify(db, conn, &all)?;
            for l in wanted.iter().filter(|l| !done.contains(&l.plan.id())) {
                if !l.plan.replaces.is_empty() && l.plan.replaces.iter().all(|r| done.contains(r)) {
                    out.recorded.push(l.plan.id());
                    continue;
                }
                out.migrations.push((
                    l.plan.id(),
                    report(&l.plan.id(), l.plan.steps.clone(), false),
                ));
            }
            Ok(())
        })?;
        return Ok(out);
    }
    for l in wanted {
        apply_one(db, migrations, &all, l, options, &mut out)?;
    }
    Ok(out)
}

/// Applies one migration under the lock, unless it is applied already.
fn apply_one(
    db: &dyn MigrateHandle,
    migrations: &Migrations,
    all: &[Loaded<'_>],
    l: &Loaded<'_>,
    options: &MigrateOptions,
    out: &mut FilesReport,
) -> Result<()> {
    let id = l.plan.id();
    let version = l.plan.version.clone();
    let outside_tx = no_transaction(&l.source.up) && db.capabilities().online_index_builds;
    let judged: RefCell<Option<Vec<MigrationStep>>> = RefCell::new(None);
    let recorded_only = Cell::new(false);
    let started = Utc::now();
    let clock = Instant::now();
    let backend = db.backend();
    let mut tx = |conn: &mut dyn Connection| -> Result<bool> {
        history::ensure(db, conn)?;
        checksums::ensure(db, conn)?;
        refuse_failed(db, conn)?;
        verify(db, conn, all)?;
        let done = applied(db, conn)?;
        if done.contains(&id) {
            return Ok(false);
        }
        if !l.plan.replaces.is_empty() {
            let n = l.plan.replaces.iter().filter(|r| done.contains(*r)).count();
            if n == l.plan.replaces.len() {
                // The replaced migrations stay recorded as applied (they
                // were); their files are gone, so are their checksums.
                record(db, conn, l, l.plan.steps.clone(), started, None, None)?;
                for r in &l.plan.replaces {
                    checksums::remove(db, conn, r)?;
                }
                recorded_only.set(true);
                return Ok(false);
            }
            if n > 0 {
                return Err(Error::MigrationRefused {
                    steps: vec![format!(
                        "{id} replaces {} but this database applied only some of them: apply the replaced migrations from the files before the squash, then this one",
                        l.plan.replaces.join(", ")
                    )],
                    policy: String::new(),
                });
            }
        }
        let changes = l.plan.steps.iter().map(|s| s.change.clone()).collect();
        let steps = judge(db, conn, &l.plan.steps, changes, &l.plan.schema, &version);
        police(db, options, &id, &report(&id, steps.clone(), false), false)?;
        *judged.borrow_mut() = Some(steps.clone());
        if outside_tx {
            return Ok(true);
        }
        tracing::info!(target: "dataflow::migrate", %id, "applying migration file");
        run_script(conn, &l.source.up)?;
        if let Some(data) = migrations.data_for(&version) {
            db.run_data_step(conn, true, &data.forward)?;
        }
        for s in &steps {
            history::track(conn, db.dialect(), &s.change, &id, true)?;
        }
        record(db, conn, l, steps, started, Some(clock), None)?;
        Ok(false)
    };
    let mut after = |conn: &mut dyn Connection| -> Result<()> {
        let steps = judged.borrow().clone().unwrap_or_default();
        let mut run = || -> Result<()> {
            for stmt in split_statements(&l.source.up) {
                tracing::debug!(target: "dataflow::migrate", sql = %stmt, "apply outside a transaction");
                conn.batch_execute(&stmt)?;
            }
            if let Some(data) = migrations.data_for(&version) {
                db.run_data_step(conn, false, &data.forward)?;
            }
            Ok(())
        };
        let result = run();
        for s in &steps {
            history::track(conn, db.dialect(), &s.change, &id, true)?;
        }
        let error = result.as_ref().err().map(ToString::to_string);
        record(db, conn, l, steps, started, Some(clock), error)?;
        result
    };
    backend.with_migration_then(
        options.lock_timeout,
        &mut |_| Ok(false),
        &mut tx,
        &mut after,
    )?;
    if recorded_only.get() {
        out.recorded.push(id);
    } else if let Some(steps) = judged.into_inner() {
        out.migrations.push((id.clone(), report(&id, steps, true)));
    }
    Ok(())
}

/// Behind `DataFlow::downgrade`: undoes the applied migrations after
/// `target` (an id or version; `"0"` undoes all), newest first, each in its
/// own transaction: its data step backward, then its `down.sql`.
pub fn downgrade(
    db: &dyn MigrateHandle,
    migrations: &Migrations,
    target: &str,
    options: &MigrateOptions,
) -> Result<FilesReport> {
    let all = load(db, migrations)?;
    let keep = if target == "0" {
        None
    } else {
        Some(
            all.iter()
                .position(|l| l.plan.id() == target || l.plan.version == target)
                .ok_or_else(|| Error::InvalidInput(format!("no migration {target}")))?,
        )
    };
    let undo: Vec<&Loaded<'_>> = all[keep.map_or(0, |i| i + 1)..].iter().rev().collect();
    let mut out = FilesReport {
        dry_run: options.dry_run,
        ..FilesReport::default()
    };
    for l in undo {
        let id = l.plan.id();
        let version = l.plan.version.clone();
        let outside_tx = no_transaction(&l.source.down) && db.capabilities().online_index_builds;
        let data = migrations.data_for(&version);
        let judged: RefCell<Option<Vec<MigrationStep>>> = RefCell::new(None);
        let done: RefCell<BTreeSet<String>> = RefCell::new(BTreeSet::new());
        // Checks and polices; `Ok(true)` when the migration is to be undone.
        let check = |conn: &mut dyn Connection| -> Result<bool> {
            history::ensure(db, conn)?;
            checksums::ensure(db, conn)?;
            refuse_failed(db, conn)?;
            verify(db, conn, &all)?;
            *done.borrow_mut() = applied(db, conn)?;
            if !done.borrow().contains(&id) {
                return Ok(false);
            }
            if data.is_some_and(|d| d.backward.is_none()) {
                return Err(Error::MigrationRefused {
                    steps: vec![format!("{id}: its data step has no backward function")],
                    policy: String::new(),
                });
            }
            let steps = inverse_steps(db, conn, l);
            police(db, options, &id, &report(&id, steps.clone(), false), true)?;
            *judged.borrow_mut() = Some(steps);
            Ok(!options.dry_run)
        };
        // Runs the data step backward and down.sql (one statement at a time
        // outside a transaction when asked), then records the undo.
        let undo = |conn: &mut dyn Connection, in_transaction: bool| -> Result<()> {
            tracing::info!(target: "dataflow::migrate", %id, "downgrading migration file");
            if let Some(back) = data.and_then(|d| d.backward.as_ref()) {
                db.run_data_step(conn, in_transaction, back)?;
            }
            if outside_tx {
                for stmt in split_statements(&l.source.down) {
                    conn.batch_execute(&stmt)?;
                }
            } else {
                run_script(conn, &l.source.down)?;
            }
            for s in l.plan.steps.iter().rev() {
                history::track(conn, db.dialect(), &s.change, &id, false)?;
            }
            // Undoing a squash undoes the migrations it replaced.
            let done = done.borrow();
            for v in l
                .plan
                .replaces
                .iter()
                .filter(|r| done.contains(*r))
                .chain([&id])
            {
                history::set_status(conn, db.dialect(), v, MigrationStatus::RolledBack)?;
            }
            checksums::remove(db, conn, &id)
        };
        if options.dry_run {
            db.with_conn(|c| check(c).map(|_| ()))?;
        } else {
            db.backend().with_migration_then(
                options.lock_timeout,
                &mut |_| Ok(false),
                &mut |conn| {
                    if !check(conn)? {
                        return Ok(false);
                    }
                    if outside_tx {
                        return Ok(true);
                    }
                    undo(conn, true).map(|()| false)
                },
                &mut |conn| undo(conn, false),
            )?;
        }
        let judged = judged.into_inner();
        if let Some(steps) = judged {
            let mut r = report(&id, steps, !options.dry_run);
            r.rolled_back = vec![id.clone()];
            out.migrations.push((id, r));
        }
    }
    Ok(out)
}

/// A migration's undo as steps judged on the live data: each step's inverse
/// (its `sql_down`), newest first; a step without a known inverse is HIGH.
fn inverse_steps(
    db: &dyn MigrateHandle,
    conn: &mut dyn Connection,
    l: &Loaded<'_>,
) -> Vec<MigrationStep> {
    let mut steps = Vec::new();
    let mut changes = Vec::new();
    for s in l.plan.steps.iter().rev() {
        let mut inv = s.clone();
        std::mem::swap(&mut inv.sql_up, &mut inv.sql_down);
        inv.sql_down = Vec::new();
        inv.backup = Vec::new();
        inv.undoes = Some(l.plan.id());
        match s.change.inverse() {
            Some(c) => {
                inv.operation = c.operation();
                inv.detail = c.detail();
                inv.change = c.clone();
                changes.push(c);
            }
            None => {
                inv.risk = RiskLevel::High;
                inv.reason = format!("no inverse is known for {}: down.sql decides", s.operation);
                changes.push(s.change.clone());
            }
        }
        steps.push(inv);
    }
    let before = graph_parent_schema(l);
    judge(db, conn, &steps, changes, &before, &l.plan.version)
}

/// The schema before `l` (its schema with its steps undone).
fn graph_parent_schema(l: &Loaded<'_>) -> Schema {
    let mut s = l.plan.schema.clone();
    for step in l.plan.steps.iter().rev() {
        if let Some(inv) = step.change.inverse() {
            crate::migrate::diff::apply(&mut s, &inv);
        }
    }
    s
}

/// Behind `DataFlow::migration_status`: every migration file and its state,
/// and every applied migration whose files are gone (`Missing`), by id.
pub fn status(db: &dyn MigrateHandle, migrations: &Migrations) -> Result<Vec<FileStatus>> {
    let plans = migrations.plans()?;
    db.with_conn(|conn| {
        let records = history::load(db, conn)?;
        let recorded = checksums::load(db, conn)?;
        let mut out = Vec::new();
        for (source, plan) in migrations.sources().iter().zip(&plans) {
            let record = records
                .iter()
                .find(|r| r.version == plan.id() && r.status == MigrationStatus::Applied);
            let state = match record {
                None => FileMigrationState::Pending,
                Some(_) if checksums::verify(&recorded, &[source]).is_err() => {
                    FileMigrationState::Edited
                }
                Some(_) => FileMigrationState::Applied,
            };
            out.push(FileStatus {
                id: plan.id(),
                version: plan.version.clone(),
                state,
                applied_at: record.map(|r| r.started_at),
            });
        }
        let known = plans
            .iter()
            .flat_map(|p| p.replaces.iter().map(String::as_str))
            .chain(migrations.sources().iter().map(|s| &*s.id))
            .collect();
        for id in checksums::missing(&recorded, &known) {
            let record = records
                .iter()
                .find(|r| r.version == id && r.status == MigrationStatus::Applied);
            out.push(FileStatus {
                version: id.split_once('_').map_or(&*id, |(v, _)| v).to_owned(),
                state: FileMigrationState::Missing,
                applied_at: record.map(|r| r.started_at),
                id,
            });
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    })
}

/// Behind `DataFlow::repair_migration`: records the current checksums of an
/// applied migration's files, accepting an edit. Call it only once you have
/// made sure the database matches the edited files.
pub fn repair(db: &dyn MigrateHandle, migrations: &Migrations, version: &str) -> Result<()> {
    let source = migrations
        .sources()
        .iter()
        .find(|s| s.id == version || s.version() == version)
        .ok_or_else(|| Error::InvalidInput(format!("no migration {version}")))?;
    db.backend()
        .with_migration(MigrateOptions::default().lock_timeout, &mut |conn| {
            checksums::ensure(db, conn)?;
            if !applied(db, conn)?.contains(&*source.id) {
                return Err(Error::InvalidInput(format!(
                    "migration {} is not applied: there is nothing to repair",
                    source.id
                )));
            }
            checksums::record(db, conn, source)
        })
}

/// Behind `DataFlow::baseline`: writes the database's current schema (the
/// tables dataflow created or a registered model declares) as the first
/// migration of `dir` and records it as applied without running it, so a
/// database that was auto-migrated continues with files.
pub fn baseline(
    db: &dyn MigrateHandle,
    dir: &Path,
    name: &str,
    options: &GenerateOptions,
) -> Result<Generated> {
    check_name(name)?;
    let existing = Migrations::from_dir(dir)?;
    if !existing.is_empty() {
        return Err(Error::InvalidInput(format!(
            "{} holds migrations already: a baseline is the first migration",
            dir.display()
        )));
    }
    let (live, owned) =
        db.with_conn(|conn| Ok((db.describe_with(conn)?, history::owned(db, conn)?)))?;
    let models: BTreeSet<&str> = db.models().iter().map(|m| m.table).collect();
    let mut schema = Schema::default();
    for (n, t) in live.tables {
        if !n.starts_with("_dataflow") && (owned.contains(&n) || models.contains(n.as_str())) {
            let mut t = t;
            t.triggers.clear();
            schema.tables.insert(n, t);
        }
    }
    let version = crate::migrate::files::generate::pick_version(&[], options.now);
    let steps = plan_offline(
        db,
        &Schema::default(),
        &schema,
        &Hints::default(),
        &Droppable::new(),
        &version,
    )?;
    let plan = MigrationPlan {
        format: PLAN_FORMAT,
        version,
        name: name.to_owned(),
        dialect: db.dialect().name().to_owned(),
        parents: Vec::new(),
        replaces: Vec::new(),
        steps,
        schema,
    };
    let (up, down) = (render_up(&plan), render_down(&plan));
    let written = write(dir, plan.clone(), &up, &down)?;
    let source = MigrationSource {
        id: plan.id().into(),
        up: up.into(),
        down: down.into(),
        plan: plan.to_json()?.into(),
    };
    let l = Loaded {
        source: &source,
        plan,
    };
    let now = Utc::now();
    let recorded =
        db.backend()
            .with_migration(MigrateOptions::default().lock_timeout, &mut |conn| {
                history::ensure(db, conn)?;
                checksums::ensure(db, conn)?;
                record(db, conn, &l, l.plan.steps.clone(), now, None, None)
            });
    if let Err(e) = recorded {
        // Files without their record would be applied again on top of the
        // tables they describe.
        if let Generated::Written { dir, .. } = &written {
            let _ = std::fs::remove_dir_all(dir);
        }
        return Err(e);
    }
    Ok(written)
}
