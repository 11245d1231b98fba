//! Writing migrations: from the registered models (diffed against the
//! snapshot stored with the newest migration, planned by the same planner as
//! `auto_migrate`, judged as if every table held data), and the merges and
//! squashes that rearrange existing ones. Nothing here needs a database.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::migrate::diff::{Droppable, Hints};
use crate::migrate::facts::AssumedCounts;
use crate::migrate::files::source::Migrations;
use crate::migrate::files::sql::{no_transaction, render_down, render_up};
use crate::migrate::files::{check_name, graph, MigrationPlan, PLAN_FORMAT};
use crate::migrate::handle::MigrateHandle;
use crate::migrate::plan::{plan, PlanInput};
use crate::migrate::schema::Schema;
use crate::migrate::{MigrateOptions, MigrationStep};

/// Options of the generating calls.
#[derive(Debug, Clone, Default)]
pub struct GenerateOptions {
    pub(crate) now: Option<DateTime<Utc>>,
}

impl GenerateOptions {
    /// The time the migration is stamped with instead of now (tests, and
    /// reproducible output): the version is this UTC time to the second, or
    /// one second after the newest migration when that is later.
    pub fn at(mut self, time: DateTime<Utc>) -> Self {
        self.now = Some(time);
        self
    }
}

/// What a generating call did.
#[derive(Debug, Clone, PartialEq)]
pub enum Generated {
    /// The models match the newest migration's snapshot: nothing was written.
    UpToDate,
    /// A migration directory was written.
    Written {
        /// `<version>_<name>`.
        id: String,
        /// The directory written.
        dir: PathBuf,
        /// Its `plan.json`.
        plan: Box<MigrationPlan>,
    },
}

impl Generated {
    /// Whether nothing was written.
    pub fn is_up_to_date(&self) -> bool {
        matches!(self, Generated::UpToDate)
    }
}

/// The version for a new migration: `now` to the second, or one second after
/// the newest existing one when that is not earlier.
pub fn pick_version(plans: &[MigrationPlan], now: Option<DateTime<Utc>>) -> String {
    let now = now.unwrap_or_else(Utc::now);
    let mut t = now.format("%Y%m%d%H%M%S").to_string();
    if let Some(newest) = plans.iter().map(|p| p.version.as_str()).max() {
        if t.as_str() <= newest {
            t = chrono::NaiveDateTime::parse_from_str(newest, "%Y%m%d%H%M%S")
                .map(|n| {
                    (n + chrono::Duration::seconds(1))
                        .format("%Y%m%d%H%M%S")
                        .to_string()
                })
                .unwrap_or_else(|_| format!("{newest}1"));
        }
    }
    t
}

/// The snapshot the next migration is generated against (empty before the
/// first), refusing multiple heads and another backend's migrations.
pub fn head_schema(
    db: &dyn MigrateHandle,
    plans: &[MigrationPlan],
) -> Result<(Vec<String>, Schema)> {
    let head = graph::single_head(plans)?;
    if let Some(h) = head {
        check_dialect(db, h)?;
    }
    Ok(match head {
        Some(h) => (vec![h.id()], h.schema.clone()),
        None => (Vec::new(), Schema::default()),
    })
}

/// `InvalidInput` naming both backends when `plan` was generated for another.
pub fn check_dialect(db: &dyn MigrateHandle, plan: &MigrationPlan) -> Result<()> {
    let here = db.dialect().name();
    if plan.dialect != here {
        return Err(Error::InvalidInput(format!(
            "migration {} was generated for {}, and this database is {here}: generate the migrations with a handle of the backend they will run on",
            plan.id(),
            plan.dialect
        )));
    }
    Ok(())
}

/// The plan of the migration the registered models need after `migrations`,
/// `None` when they need none. Steps are judged as if every table held data.
pub fn pending_plan(
    db: &dyn MigrateHandle,
    migrations: &Migrations,
    version: &str,
    name: &str,
) -> Result<Option<MigrationPlan>> {
    let plans = migrations.plans()?;
    let (parents, before) = head_schema(db, &plans)?;
    let models = db.models();
    let target = db.target_schema();
    let hints = Hints::from_descriptors(models.iter().copied());
    let renamed_away: Vec<&String> = hints.tables.values().collect();
    // The files describe the whole schema: a table they created that no model
    // declares any more is dropped (HIGH when it may hold data).
    let droppable: Droppable = before
        .tables
        .keys()
        .filter(|t| !target.tables.contains_key(*t) && !renamed_away.contains(t))
        .cloned()
        .collect();
    let steps = plan_offline(db, &before, &target, &hints, &droppable, version)?;
    if steps.is_empty() {
        return Ok(None);
    }
    Ok(Some(MigrationPlan {
        format: PLAN_FORMAT,
        version: version.to_owned(),
        name: name.to_owned(),
        dialect: db.dialect().name().to_owned(),
        parents,
        replaces: Vec::new(),
        steps,
        schema: target,
    }))
}

/// The steps from `before` to `target` for this handle's backend, judged
/// without a database (as if every table held data), with default options
/// (backups on) and no online rendering: the planner of `auto_migrate`, for
/// files.
pub fn plan_offline(
    db: &dyn MigrateHandle,
    before: &Schema,
    target: &Schema,
    hints: &Hints,
    droppable: &Droppable,
    version: &str,
) -> Result<Vec<MigrationStep>> {
    let options = MigrateOptions::default();
    let input = PlanInput {
        live: before,
        target,
        hints,
        droppable,
        dialect: db.dialect(),
        capabilities: db.capabilities(),
        options: &options,
        version,
        online: false,
    };
    plan(&input, &mut AssumedCounts)
}

/// Behind `DataFlow::generate_migration`.
pub fn generate(
    db: &dyn MigrateHandle,
    dir: &Path,
    name: &str,
    options: &GenerateOptions,
) -> Result<Generated> {
    check_name(name)?;
    let migrations = Migrations::from_dir(dir)?;
    let version = pick_version(&migrations.plans()?, options.now);
    match pending_plan(db, &migrations, &version, name)? {
        None => Ok(Generated::UpToDate),
        Some(plan) => {
            let (up, down) = (render_up(&plan), render_down(&plan));
            write(dir, plan, &up, &down)
        }
    }
}

/// Writes `plan` and its SQL files as `dir/<id>/`, all or nothing (into a
/// hidden directory first, renamed into place).
pub fn write(dir: &Path, plan: MigrationPlan, up: &str, down: &str) -> Result<Generated> {
    let id = plan.id();
    let io = |p: &Path, e: std::io::Error| {
        Error::InvalidInput(format!("cannot write {}: {e}", p.display()))
    };
    let target = dir.join(&id);
    if target.exists() {
        return Err(Error::InvalidInput(format!(
            "{} exists already",
            target.display()
        )));
    }
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let tmp = dir.join(format!(".{id}.tmp"));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir(&tmp).map_err(|e| io(&tmp, e))?;
    let json = plan.to_json()?;
    for (f, text) in [
        ("up.sql", up),
        ("down.sql", down),
        ("plan.json", json.as_str()),
    ] {
        let p = tmp.join(f);
        if let Err(e) = std::fs::write(&p, text) {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(io(&p, e));
        }
    }
    std::fs::rename(&tmp, &target).map_err(|e| io(&target, e))?;
    Ok(Generated::Written {
        id,
        dir: target,
        plan: Box::new(plan),
    })
}

/// Behind `DataFlow::merge_migrations`: an empty migration following every
/// head of `dir`.
pub fn merge(dir: &Path, name: &str, options: &GenerateOptions) -> Result<Generated> {
    check_name(name)?;
    let plans = Migrations::from_dir(dir)?.plans()?;
    let version = pick_version(&plans, options.now);
    let plan = graph::merge_plan(&plans, &version, name)?;
    let (up, down) = (render_up(&plan), render_down(&plan));
    write(dir, plan, &up, &down)
}

/// Behind `DataFlow::squash_migrations`: replaces the chain `from..=to` of
/// `dir` by one migration holding their SQL in order (and their undo in
/// reverse), stamped with `to`'s version so it sorts where they did. A
/// database that applied all of them takes it as applied; the migrations
/// after `to` keep naming `to` as parent, which now resolves to the squash.
pub fn squash(dir: &Path, from: &str, to: &str, name: &str) -> Result<Generated> {
    check_name(name)?;
    let migrations = Migrations::from_dir(dir)?;
    let plans = migrations.plans()?;
    graph::validate(&plans)?;
    let chain = graph::chain(&plans, from, to)?;
    if chain.len() < 2 {
        return Err(Error::InvalidInput(format!(
            "squashing {from}..{to} would replace one migration by one"
        )));
    }
    let (first, last) = (chain[0], chain[chain.len() - 1]);
    let source = |id: &str| {
        migrations
            .sources()
            .iter()
            .find(|s| s.id == id)
            .ok_or_else(|| Error::InvalidInput(format!("no migration {id}")))
    };
    let mut replaces = Vec::new();
    let mut steps = Vec::new();
    for p in &chain {
        if no_transaction(&source(&p.id())?.up) {
            return Err(Error::InvalidInput(format!(
                "cannot squash {}: it runs outside a transaction; squash the ranges before and after it",
                p.id()
            )));
        }
        replaces.extend(p.replaces.iter().cloned());
        replaces.push(p.id());
        steps.extend(p.steps.iter().cloned());
    }
    let plan = MigrationPlan {
        format: PLAN_FORMAT,
        version: last.version.clone(),
        name: name.to_owned(),
        dialect: last.dialect.clone(),
        parents: first.parents.clone(),
        replaces,
        steps,
        schema: last.schema.clone(),
    };
    if plan.id() == last.id() {
        return Err(Error::InvalidInput(format!(
            "the squash would have the id {} of the migration it replaces: give it another name",
            plan.id()
        )));
    }
    let mut up = render_up_header_only(&plan);
    let mut down = render_down_header_only(&plan);
    for p in &chain {
        up.push_str(&format!("\n-- from {}\n", p.id()));
        up.push_str(&source(&p.id())?.up);
    }
    for p in chain.iter().rev() {
        down.push_str(&format!("\n-- from {}\n", p.id()));
        down.push_str(&source(&p.id())?.down);
    }
    let written = write(dir, plan, &up, &down)?;
    for p in &chain {
        let d = dir.join(p.id());
        std::fs::remove_dir_all(&d)
            .map_err(|e| Error::InvalidInput(format!("cannot remove {}: {e}", d.display())))?;
    }
    Ok(written)
}

fn render_up_header_only(plan: &MigrationPlan) -> String {
    let empty = MigrationPlan {
        steps: Vec::new(),
        ..plan.clone()
    };
    header_of(&render_up(&empty))
}

fn render_down_header_only(plan: &MigrationPlan) -> String {
    let empty = MigrationPlan {
        steps: Vec::new(),
        ..plan.clone()
    };
    header_of(&render_down(&empty))
}

/// The leading comment block of a rendered file.
fn header_of(text: &str) -> String {
    text.lines()
        .take_while(|l| l.starts_with("--"))
        .map(|l| format!("{l}\n"))
        .collect()
}
