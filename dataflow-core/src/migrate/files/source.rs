//! A set of migrations as the application carries them: read from a
//! directory at run time ([`Migrations::from_dir`]) or embedded at compile
//! time (`dataflow_core::embed_migrations!("migrations")`), plus the Rust data
//! steps registered by version.

use std::any::Any;
use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::migrate::files::{parse_id, MigrationPlan};

/// One migration's three files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationSource {
    /// Directory name, `<version>_<name>`.
    pub id: Cow<'static, str>,
    /// `up.sql`.
    pub up: Cow<'static, str>,
    /// `down.sql`.
    pub down: Cow<'static, str>,
    /// `plan.json`.
    pub plan: Cow<'static, str>,
}

/// The names of a migration's files, in the order checksums are kept.
pub const FILES: [&str; 3] = ["up.sql", "down.sql", "plan.json"];

impl MigrationSource {
    /// A migration from text compiled into the binary (what
    /// `embed_migrations!` expands to).
    pub const fn embedded(
        id: &'static str,
        up: &'static str,
        down: &'static str,
        plan: &'static str,
    ) -> MigrationSource {
        MigrationSource {
            id: Cow::Borrowed(id),
            up: Cow::Borrowed(up),
            down: Cow::Borrowed(down),
            plan: Cow::Borrowed(plan),
        }
    }

    /// The version part of the id.
    pub fn version(&self) -> &str {
        self.id.split_once('_').map_or(&*self.id, |(v, _)| v)
    }

    /// The file named `name` (one of [`FILES`]).
    pub fn file(&self, name: &str) -> &str {
        match name {
            "up.sql" => &self.up,
            "down.sql" => &self.down,
            _ => &self.plan,
        }
    }

    /// Its parsed `plan.json`, checked against the directory name.
    pub fn parsed(&self) -> Result<MigrationPlan> {
        let origin = format!("{}/plan.json", self.id);
        let plan = MigrationPlan::from_json(&self.plan, &origin)?;
        if plan.id() != self.id {
            return Err(Error::InvalidInput(format!(
                "{origin}: describes migration {}, not {}",
                plan.id(),
                self.id
            )));
        }
        Ok(plan)
    }
}

/// A Rust function run inside a migration's transaction, given a handle
/// bound to it (a `&DataFlow`, seen here as `Any`: the handle sits in a layer
/// above migrations; see `Migrations::data_step`).
pub type DataFn = Arc<dyn Fn(&dyn Any) -> Result<()> + Send + Sync>;

/// A data migration: Rust code run with a migration, after its `up.sql`
/// (`forward`) and before its `down.sql` (`backward`), in the same
/// transaction (as Django's `RunPython`).
#[derive(Clone)]
pub struct DataStep {
    /// The version of the migration it belongs to.
    pub version: String,
    /// Run after `up.sql`.
    pub(crate) forward: DataFn,
    /// Run before `down.sql`; `None` makes the migration irreversible.
    pub(crate) backward: Option<DataFn>,
}

impl std::fmt::Debug for DataStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataStep")
            .field("version", &self.version)
            .field("backward", &self.backward.is_some())
            .finish_non_exhaustive()
    }
}

/// The migrations of an application, oldest first, with their data steps.
#[derive(Debug, Clone, Default)]
pub struct Migrations {
    list: Cow<'static, [MigrationSource]>,
    data: Vec<DataStep>,
}

impl Migrations {
    /// Migrations compiled into the binary (what `embed_migrations!` expands
    /// to), sorted by id.
    pub const fn embedded(list: &'static [MigrationSource]) -> Migrations {
        Migrations {
            list: Cow::Borrowed(list),
            data: Vec::new(),
        }
    }

    /// Migrations from their sources (sorted here by id).
    pub fn from_sources(mut list: Vec<MigrationSource>) -> Migrations {
        list.sort_by(|a, b| a.id.cmp(&b.id));
        Migrations {
            list: Cow::Owned(list),
            data: Vec::new(),
        }
    }

    /// Reads every `<version>_<name>/` directory of `dir` (other entries are
    /// ignored). A missing `dir` is an empty set; a migration directory
    /// missing one of its files is `InvalidInput` naming it.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Migrations> {
        let dir = dir.as_ref();
        let io = |p: &Path, e: std::io::Error| {
            Error::InvalidInput(format!("cannot read {}: {e}", p.display()))
        };
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Migrations::default()),
            Err(e) => return Err(io(dir, e)),
        };
        let mut list = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io(dir, e))?;
            let path = entry.path();
            let Some(id) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if !path.is_dir() || id.starts_with('.') {
                continue;
            }
            parse_id(&id)?;
            let read = |f: &str| -> Result<Cow<'static, str>> {
                let p = path.join(f);
                std::fs::read_to_string(&p)
                    .map(Cow::Owned)
                    .map_err(|e| io(&p, e))
            };
            list.push(MigrationSource {
                id: Cow::Owned(id),
                up: read("up.sql")?,
                down: read("down.sql")?,
                plan: read("plan.json")?,
            });
        }
        Ok(Migrations::from_sources(list))
    }

    /// Adds a data step (built by `Migrations::data_step`, which sits with
    /// the handle it passes).
    pub(crate) fn with_data(mut self, step: DataStep) -> Migrations {
        self.data.push(step);
        self
    }

    /// The migrations, oldest first.
    pub fn sources(&self) -> &[MigrationSource] {
        &self.list
    }

    /// The data step of migration `version`, if one is registered.
    pub fn data_for(&self, version: &str) -> Option<&DataStep> {
        self.data.iter().find(|d| d.version == version)
    }

    /// The registered data steps.
    pub fn data_steps(&self) -> &[DataStep] {
        &self.data
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Every `plan.json`, parsed, oldest first.
    pub fn plans(&self) -> Result<Vec<MigrationPlan>> {
        self.list.iter().map(MigrationSource::parsed).collect()
    }
}
