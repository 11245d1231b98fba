//! Support for tests of applications: the `TestDb` builder and guard every
//! backend's `testing` module exposes, written once over a small hook trait, and
//! the fixture functions under the names the test API uses.
//!
//! A backend implements [`TestHooks`] (build a template, make a test's database
//! from it, connect, discard) and names the result:
//!
//! ```ignore
//! pub type TestDb = dataflow_core::testing::TestDb<SqliteHooks>;
//! pub type TestDbBuilder = dataflow_core::testing::TestDbBuilder<SqliteHooks>;
//! ```
//!
//! Everything else is here: the builder's models and fixtures, the template key
//! (schema and fixture contents), building each template at most once per process
//! through the real migration engine and fixture loader, the guard that discards
//! the database when the test ends and keeps it when the test panicked.
//!
//! Backends come in two families that share their settings and accessors: file
//! databases ([`TestHooks::Database`] = `PathBuf`: [`TestDb::path`]) and server
//! databases ([`ServerSettings`], [`ServerDatabase`]: [`TestDbBuilder::url`],
//! [`TestDbBuilder::isolation`], [`TestDb::database`], [`TestDb::url`]).

mod migrations;

pub use migrations::{assert_migrations_reversible, assert_migrations_up_to_date};

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use crate::dataflow::DataFlow;
use crate::error::{Error, Result};
use crate::migrate::files::Migrations;
use crate::migrate::schema::Schema;
use crate::migrate::{MigrateOptions, RiskLevel};
use crate::model::descriptor::ModelDescriptor;
use crate::model::Model;

/// Loads one fixture file (`.json` or `.sql`) in one transaction. Returns the
/// number of rows loaded from JSON (rows a `.sql` file inserts are not
/// counted). See [`crate::fixtures`] for the format.
pub fn load_fixtures(db: &DataFlow, path: impl AsRef<Path>) -> Result<usize> {
    crate::fixtures::load_fixtures(db, path)
}

/// Loads several fixture files, all in one transaction: all of them or
/// nothing. Consecutive JSON files are loaded together, in foreign-key order
/// across the files; a `.sql` file runs at its place in the list. Returns the
/// number of rows loaded from JSON.
pub fn load_fixture_files(db: &DataFlow, paths: &[PathBuf]) -> Result<usize> {
    crate::fixtures::load_fixture_files(db, paths)
}

/// Writes `tables` (every registered table, in foreign-key order, when empty)
/// to a JSON fixture file that [`load_fixtures`] reads back into equal rows
/// (see [`crate::fixtures::dump_fixtures`]).
pub fn dump_fixtures(db: &DataFlow, path: impl AsRef<Path>, tables: &[&str]) -> Result<()> {
    crate::fixtures::dump_fixtures(db, path, tables)
}

/// What a backend provides so [`TestDb`] can make it a database per test.
///
/// The core calls, in order: [`new`](TestHooks::new) with the builder's
/// settings; [`build_template`](TestHooks::build_template) once per process and
/// [`template_name`](TestHooks::template_name); [`create`](TestHooks::create)
/// for each test; [`connect`](TestHooks::connect); and, when the guard drops
/// and the test did not panic, [`discard`](TestHooks::discard) (also when
/// `connect` fails).
pub trait TestHooks: Sized + 'static {
    /// What the builder configures beyond models and fixtures.
    type Settings: std::fmt::Debug + Clone + Default;
    /// A built template, as [`create`](TestHooks::create) needs it.
    type Template: Clone + Send + 'static;
    /// One test's database: what it takes to connect to it and to discard it.
    type Database: std::fmt::Debug;

    /// Resolves the settings (e.g. which server), ready to build databases.
    fn new(settings: Self::Settings) -> Result<Self>;
    /// Where templates live, so templates of two places never share a name in
    /// the per-process cache (a server URL; empty for files of this process).
    fn place(&self) -> String {
        String::new()
    }
    /// The template's name for a model set and fixtures summarised by `key`.
    fn template_name(&self, key: &str) -> String;
    /// Builds the template `name`: a database that `fill` migrates and loads.
    /// Called at most once per process, place and name while it succeeds.
    fn build_template(
        &self,
        name: &str,
        fill: &dyn Fn(&DataFlow) -> Result<()>,
    ) -> Result<Self::Template>;
    /// Makes one test's database from the template.
    fn create(&self, template: &Self::Template) -> Result<Self::Database>;
    /// Opens the handle the test gets.
    fn connect(&self, database: &Self::Database) -> Result<DataFlow>;
    /// Removes the test's database after its handle is closed.
    fn discard(&self, database: &Self::Database);
    /// Where a panicking test's database is kept, for the message that names
    /// it (`None` when nothing outlives the test, e.g. a rolled-back transaction).
    fn kept(database: &Self::Database) -> Option<String>;
}

/// Builds a [`TestDb`].
#[must_use = "call .build()"]
pub struct TestDbBuilder<B: TestHooks> {
    models: Vec<&'static ModelDescriptor>,
    fixtures: Vec<PathBuf>,
    settings: B::Settings,
    migrations: Option<Migrations>,
    at_migration: Option<String>,
}

impl<B: TestHooks> Default for TestDbBuilder<B> {
    fn default() -> Self {
        TestDbBuilder {
            models: Vec::new(),
            fixtures: Vec::new(),
            settings: B::Settings::default(),
            migrations: None,
            at_migration: None,
        }
    }
}

impl<B: TestHooks> Clone for TestDbBuilder<B> {
    fn clone(&self) -> Self {
        TestDbBuilder {
            models: self.models.clone(),
            fixtures: self.fixtures.clone(),
            settings: self.settings.clone(),
            migrations: self.migrations.clone(),
            at_migration: self.at_migration.clone(),
        }
    }
}

impl<B: TestHooks> std::fmt::Debug for TestDbBuilder<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDbBuilder")
            .field(
                "models",
                &self.models.iter().map(|m| m.table).collect::<Vec<_>>(),
            )
            .field("fixtures", &self.fixtures)
            .field("settings", &self.settings)
            .field("migrations", &self.migrations.as_ref().map(Migrations::len))
            .field("at_migration", &self.at_migration)
            .finish()
    }
}

impl<B: TestHooks> TestDbBuilder<B> {
    /// Adds a model whose table the database should have.
    pub fn model<M: Model>(mut self) -> Self {
        self.models.push(M::DESCRIPTOR);
        self
    }

    /// Adds several models: `.models(models![User, Post])`.
    pub fn models(mut self, models: &[&'static ModelDescriptor]) -> Self {
        self.models.extend_from_slice(models);
        self
    }

    /// Loads a fixture file (`.json` or `.sql`) after the schema is built. All
    /// files load in one transaction.
    pub fn fixtures(mut self, path: impl Into<PathBuf>) -> Self {
        self.fixtures.push(path.into());
        self
    }

    /// Builds the schema by applying these migration files (all of them, or
    /// up to [`at_migration`](TestDbBuilder::at_migration)) instead of
    /// reconciling it with the models, which are still registered for CRUD.
    pub fn migrations(mut self, migrations: &Migrations) -> Self {
        self.migrations = Some(migrations.clone());
        self
    }

    /// With [`migrations`](TestDbBuilder::migrations): stops after migration
    /// `id` (an id or version), so a test can seed rows as they were then,
    /// `upgrade` to the next migration and check what it did to them.
    pub fn at_migration(mut self, id: impl Into<String>) -> Self {
        self.at_migration = Some(id.into());
        self
    }

    /// Creates the database.
    pub fn build(self) -> Result<TestDb<B>> {
        let hooks = B::new(self.settings)?;
        // Fixtures go into the template too: a test costs one copy or clone.
        let mut key = template_key(&self.models, &self.fixtures)?;
        if let Some(m) = &self.migrations {
            key = migrations_key(&key, m, self.at_migration.as_deref());
        }
        let name = hooks.template_name(&key);
        let (models, fixtures) = (&self.models, &self.fixtures);
        let (migrations, at) = (&self.migrations, self.at_migration.as_deref());
        let template = once_per_process::<B, _>(&hooks.place(), &name, || {
            hooks.build_template(&name, &|db| {
                db.register_all(models)?;
                match migrations {
                    None => {
                        db.auto_migrate(MigrateOptions::default())?;
                    }
                    Some(m) => {
                        let all = MigrateOptions::default()
                            .auto_confirm(true)
                            .max_risk(RiskLevel::High);
                        match at {
                            None => db.apply_migrations(m, all)?,
                            Some(id) => db.upgrade(m, id, all)?,
                        };
                    }
                }
                if !fixtures.is_empty() {
                    load_fixture_files(db, fixtures)?;
                }
                Ok(())
            })
        })?;
        let database = hooks.create(&template)?;
        // The guard exists before anything else can fail, so a failed setup
        // still discards its database.
        let mut guard = TestDb {
            db: None,
            database,
            hooks,
        };
        guard.db = Some(guard.hooks.connect(&guard.database)?);
        guard.register_all(&self.models)?;
        Ok(guard)
    }
}

/// A private database for one test; derefs to [`DataFlow`]. Dropping it closes
/// the handle and discards the database, unless the test panicked: then the
/// database is kept and named on stderr.
pub struct TestDb<B: TestHooks> {
    db: Option<DataFlow>,
    database: B::Database,
    hooks: B,
}

impl<B: TestHooks> TestDb<B> {
    /// Starts a builder.
    pub fn builder() -> TestDbBuilder<B> {
        TestDbBuilder::default()
    }

    /// A clone of the handle (for code that takes `DataFlow` by value).
    pub fn handle(&self) -> DataFlow {
        (**self).clone()
    }
}

impl<B: TestHooks> std::ops::Deref for TestDb<B> {
    type Target = DataFlow;
    fn deref(&self) -> &DataFlow {
        self.db.as_ref().expect("a built TestDb has a handle")
    }
}

impl<B: TestHooks> std::fmt::Debug for TestDb<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb")
            .field("database", &self.database)
            .finish()
    }
}

impl<B: TestHooks> Drop for TestDb<B> {
    fn drop(&mut self) {
        // Closing the handle ends its connections first (and rolls a test
        // transaction back), so nothing holds the database being discarded.
        self.db = None;
        if std::thread::panicking() {
            if let Some(kept) = B::kept(&self.database) {
                eprintln!("dataflow: test failed; its database {kept} is kept for inspection");
            }
        } else {
            self.hooks.discard(&self.database);
        }
    }
}

/// File databases (SQLite): a test's database is a file.
impl<B: TestHooks<Database = PathBuf>> TestDb<B> {
    /// Where the database file is.
    pub fn path(&self) -> &Path {
        &self.database
    }
}

/// How tests on a database server are kept apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Isolation {
    /// A private database per test, cloned from a migrated template.
    #[default]
    Database,
    /// One shared migrated database; each test's work is rolled back.
    Transaction,
}

/// The settings of server databases (PostgreSQL): which server, which isolation.
#[derive(Debug, Clone, Default)]
pub struct ServerSettings {
    /// The server (any database on it); `None`: `DATABASE_URL`.
    pub url: Option<String>,
    /// How tests are kept apart.
    pub isolation: Isolation,
    /// The same server reached directly, when `url` goes through a
    /// transaction pooler: administration (creating, cloning and dropping
    /// databases, the build lock) and migrations go there, the test's CRUD
    /// through `url`. `None`: everything through `url`.
    pub migration_url: Option<String>,
}

impl ServerSettings {
    /// The configured URL, else `DATABASE_URL`, else a connection error.
    pub fn resolve_url(&self) -> Result<String> {
        match &self.url {
            Some(u) => Ok(u.clone()),
            None => std::env::var("DATABASE_URL").map_err(|_| {
                Error::Connection("DATABASE_URL is not set: no server for the test".into())
            }),
        }
    }
}

/// One test's database on a server.
#[derive(Debug, Clone)]
pub struct ServerDatabase {
    /// The private database's name; `None` when the test works in a rolled-back
    /// transaction on a shared one.
    pub name: Option<String>,
    /// The URL of the test's database.
    pub url: String,
    /// The URL of the test's database on the direct route, when the builder
    /// was given a [`migration_url`](TestDbBuilder::migration_url).
    pub migration_url: Option<String>,
}

/// Server databases: which server and isolation the builder uses.
impl<B: TestHooks<Settings = ServerSettings>> TestDbBuilder<B> {
    /// The server (any database on it); default: `DATABASE_URL`.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.settings.url = Some(url.into());
        self
    }

    /// Chooses the isolation mode.
    pub fn isolation(mut self, isolation: Isolation) -> Self {
        self.settings.isolation = isolation;
        self
    }

    /// The same server reached directly (any database on it), when
    /// [`url`](TestDbBuilder::url) goes through a transaction pooler: creating,
    /// cloning and dropping databases, the lock that builds each template once
    /// and the migrations go there; the test's handle sends its CRUD through
    /// `url` and its migrations here, as an application given the backend's
    /// migration URL does.
    pub fn migration_url(mut self, url: impl Into<String>) -> Self {
        self.settings.migration_url = Some(url.into());
        self
    }
}

/// Server databases: which database the test has.
impl<B: TestHooks<Database = ServerDatabase>> TestDb<B> {
    /// The private database's name (`None` in transaction mode).
    pub fn database(&self) -> Option<&str> {
        self.database.name.as_deref()
    }

    /// The URL of the test's database (in transaction mode, the shared one: a
    /// second connection to it does not see the test's uncommitted rows).
    pub fn url(&self) -> &str {
        &self.database.url
    }

    /// The URL of the test's database reached directly, when the builder was
    /// given a [`migration_url`](TestDbBuilder::migration_url): what a second
    /// handle passes as its migration URL.
    pub fn migration_url(&self) -> Option<&str> {
        self.database.migration_url.as_deref()
    }
}

/// The server tests should use: `DATABASE_URL`. Without it, `None` after
/// printing why the test skips; under `CI=true` it panics instead, because a
/// server test must never silently skip in CI.
pub fn server_url() -> Option<String> {
    service_url("DATABASE_URL")
}

/// The URL in the environment variable `var`, for tests that need a service
/// beside the database server (`.ci/run` exports `DATAFLOW_PGBOUNCER_URL`,
/// `DATAFLOW_PG_PRIMARY_URL`, `DATAFLOW_PG_REPLICA_URL`). Without it, `None`
/// after printing why the test skips; under `CI=true` it panics instead.
pub fn service_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "CI=true but {var} is not set: server tests must not skip in CI"
            );
            eprintln!("skipping test: {var} is not set");
            None
        }
    }
}

/// The template key of a model set built by migration files: `key` with the
/// files' ids and contents and the migration it stops at.
fn migrations_key(key: &str, migrations: &Migrations, at: Option<&str>) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(key.as_bytes());
    for m in migrations.sources() {
        for part in [&m.id, &m.up, &m.down, &m.plan] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
    }
    h.update(at.unwrap_or("").as_bytes());
    h.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether the process `pid` (another test run's) is gone, so what it left
/// behind can be removed. Unknown (no `/proc`) counts as running.
pub fn process_is_gone(pid: u32) -> bool {
    let proc = Path::new("/proc");
    pid != std::process::id() && proc.exists() && !proc.join(pid.to_string()).exists()
}

type Cells = Mutex<HashMap<(TypeId, String), Arc<Mutex<Option<Box<dyn Any + Send>>>>>>;

/// `build`'s value for `(B, place, name)`, built on first use. A failed build is
/// not cached and its error keeps its kind (a bad fixture stays `InvalidInput`);
/// concurrent callers for the same name wait for one build.
fn once_per_process<B: TestHooks, F>(place: &str, name: &str, build: F) -> Result<B::Template>
where
    F: FnOnce() -> Result<B::Template>,
{
    static CELLS: OnceLock<Cells> = OnceLock::new();
    fn poisoned<T>(_: T) -> Error {
        Error::Database("template registry poisoned".into())
    }
    let cell = {
        let mut map = CELLS
            .get_or_init(Default::default)
            .lock()
            .map_err(poisoned)?;
        let id = (TypeId::of::<B>(), format!("{place}|{name}"));
        Arc::clone(map.entry(id).or_default())
    };
    let mut slot = cell.lock().map_err(poisoned)?;
    if let Some(built) = slot.as_ref().and_then(|b| b.downcast_ref::<B::Template>()) {
        return Ok(built.clone());
    }
    let built = build()?;
    *slot = Some(Box::new(built.clone()));
    Ok(built)
}

/// A key naming a model set together with its fixture files' contents: test
/// templates built with fixtures are reused only while both are unchanged.
/// Unreadable files are an `InvalidInput` naming the file.
pub fn template_key(models: &[&'static ModelDescriptor], fixtures: &[PathBuf]) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(Schema::from_descriptors(models.iter().copied()).checksum());
    for path in fixtures {
        let bytes = std::fs::read(path).map_err(|e| {
            Error::InvalidInput(format!("{}: cannot read fixture file: {e}", path.display()))
        })?;
        h.update(path.to_string_lossy().as_bytes());
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    Ok(h.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect())
}
