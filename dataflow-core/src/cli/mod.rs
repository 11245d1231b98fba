//! The migration command line inside the application's own binary (feature
//! `cli`, on by default): the models live in the user's crate, so the
//! binary that knows them runs the commands.
//!
//! ```ignore
//! use std::process::ExitCode;
//! use dataflow_core::prelude::*;
//!
//! fn main() -> ExitCode {
//!     // `--database-url` / `DATABASE_URL`, else a local SQLite file.
//!     dataflow_core::cli::run_with(models![User, Post], |url| match url {
//!         Some(url) if url.starts_with("postgres") => dataflow_postgres::connect(url),
//!         other => dataflow_sqlite::open(other.unwrap_or("app.db")),
//!     })
//! }
//! ```
//!
//! [`run`] takes a handle the binary opened itself; [`run_with`] opens it
//! from `--database-url` (or `DATABASE_URL`) once the arguments are parsed,
//! so `--help` needs no database; [`App`] adds compiled-in migrations.
//! Subcommands: `plan [--sql]`, `apply [--yes] [--max-risk LEVEL]
//! [--dry-run]`, `status`, `history`, `rollback [VERSION | -N]`, `check [--existing-schema]`,
//! `metrics`, for a database dataflow did not create `pull [--table T]…
//! [-o FILE]` (models generated from it) and `adopt [TABLE…]`, and over migration files (`--dir`, default `migrations`)
//! `generate NAME`, `upgrade [TARGET]`, `downgrade TARGET`, `merge`,
//! `squash FROM TO`, `baseline`, `repair VERSION`. When there are migration
//! files, `plan`, `apply`, `status`, `check` and `rollback` work on them;
//! otherwise they reconcile the models with the database directly. `--json`
//! prints JSON on stdout for scripts.
//!
//! Exit codes ([`EXIT_OK`], [`EXIT_ERROR`], [`EXIT_PENDING`]): 0 ok; 1 an
//! error (bad arguments, a refused or failed migration, a database error);
//! 2 drift or pending changes (`plan`, `status`, `check`, `apply --dry-run`
//! when the database differs from the models), as `prisma migrate diff
//! --exit-code`.

mod args;
mod files;
mod render;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};

pub use args::{ApplyArgs, Cli, Command, Consent, PullArgs, Risk, RollbackArgs};

use crate::dataflow::DataFlow;
use crate::error::{Error, Result};
use crate::introspect::{generate_models, IntrospectOptions};
use crate::migrate::files::Migrations;
use crate::migrate::history::MigrationStatus;
use crate::migrate::{MigrateOptions, MigrationReport};
use crate::model::descriptor::ModelDescriptor;

/// Exit code: done, nothing pending.
pub const EXIT_OK: u8 = 0;
/// Exit code: an error (bad arguments, refused or failed migration, database
/// error).
pub const EXIT_ERROR: u8 = 1;
/// Exit code: the database differs from the models (drift, or a plan not yet
/// applied).
pub const EXIT_PENDING: u8 = 2;

/// Runs the command line of `std::env::args` against `db`, with `models`
/// registered, printing to stdout and stderr. `--database-url` is refused:
/// the handle is already open (see [`run_with`]).
pub fn run(db: DataFlow, models: &[&'static ModelDescriptor]) -> ExitCode {
    App::new(models).run(db)
}

/// Parses `std::env::args`, then opens the database with `open` (given
/// `--database-url`, else `DATABASE_URL`, else `None`), registers `models`
/// and runs the command.
pub fn run_with(
    models: &[&'static ModelDescriptor],
    open: impl FnOnce(Option<&str>) -> Result<DataFlow>,
) -> ExitCode {
    App::new(models).run_with(open)
}

/// The command line of an application: its models and, optionally, its
/// migration files compiled in (with their data steps).
#[derive(Debug, Clone)]
pub struct App {
    models: Vec<&'static ModelDescriptor>,
    migrations: Option<Migrations>,
}

impl App {
    /// The command line for `models`; migration files are read from `--dir`.
    pub fn new(models: &[&'static ModelDescriptor]) -> App {
        App {
            models: models.to_vec(),
            migrations: None,
        }
    }

    /// Applies, undoes and checks these migrations (from
    /// `embed_migrations!`, with the data steps registered on them) instead
    /// of reading `--dir`; `generate`, `merge`, `squash` and `baseline` still
    /// write to `--dir`.
    pub fn migrations(mut self, migrations: Migrations) -> App {
        self.migrations = Some(migrations);
        self
    }

    /// [`run`] with this app.
    pub fn run(self, db: DataFlow) -> ExitCode {
        ExitCode::from(self.run_from(std::env::args_os(), |url, explicit| {
            if explicit && url.is_some() {
                return Err(Error::invalid(
                    "--database-url is not accepted: this binary opens its database itself (cli::run)",
                ));
            }
            Ok(db)
        }))
    }

    /// [`run_with`] with this app.
    pub fn run_with(self, open: impl FnOnce(Option<&str>) -> Result<DataFlow>) -> ExitCode {
        ExitCode::from(self.run_from(std::env::args_os(), |url, _| open(url)))
    }

    /// The command line of `args` (the first is the program name): parses,
    /// opens with `open(url, given_on_the_command_line)`, registers the
    /// models, runs, prints, and returns the exit code.
    pub fn run_from(
        self,
        args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
        open: impl FnOnce(Option<&str>, bool) -> Result<DataFlow>,
    ) -> u8 {
        let matches = match Cli::command().try_get_matches_from(args) {
            Ok(m) => m,
            Err(e) => {
                let _ = e.print();
                return if e.use_stderr() { EXIT_ERROR } else { EXIT_OK };
            }
        };
        let explicit = matches.value_source("database_url") == Some(ValueSource::CommandLine);
        let cli = match Cli::from_arg_matches(&matches) {
            Ok(cli) => cli,
            Err(e) => {
                let _ = e.print();
                return EXIT_ERROR;
            }
        };
        let outcome = open(cli.database_url.as_deref(), explicit).and_then(|db| {
            db.register_all(&self.models)?;
            execute(&db, &cli, self.migrations.as_ref())
        });
        let mut stdout = std::io::stdout().lock();
        match outcome {
            Ok(Output { text, json, code }) => {
                let _ = if cli.json {
                    writeln!(stdout, "{json}")
                } else {
                    write!(stdout, "{text}")
                };
                code
            }
            Err(e) => {
                if cli.json {
                    let _ = writeln!(stdout, "{}", render::error_json(&e));
                } else {
                    eprintln!("error: {e}");
                }
                EXIT_ERROR
            }
        }
    }
}

/// What a command prints (as text or JSON) and its exit code.
struct Output {
    text: String,
    json: serde_json::Value,
    code: u8,
}

fn pending_code(pending: bool) -> u8 {
    if pending {
        EXIT_PENDING
    } else {
        EXIT_OK
    }
}

fn options(consent: &Consent) -> MigrateOptions {
    let mut o = MigrateOptions::default()
        .auto_confirm(consent.yes)
        .dry_run(consent.dry_run);
    if let Some(risk) = consent.max_risk {
        o = o.max_risk(risk.into());
    }
    o
}

fn report_output(report: MigrationReport, code: u8) -> Result<Output> {
    Ok(Output {
        text: report.preview(),
        json: render::to_json(&report)?,
        code,
    })
}

/// The migration files: the app's compiled-in set, else those of `--dir`.
fn file_set(cli: &Cli, compiled: Option<&Migrations>) -> Result<Migrations> {
    match compiled {
        Some(m) => Ok(m.clone()),
        None => Migrations::from_dir(&cli.dir),
    }
}

fn execute(db: &DataFlow, cli: &Cli, compiled: Option<&Migrations>) -> Result<Output> {
    let dir = cli.dir.as_path();
    // Commands that work on migration files when there are any, and
    // reconcile directly otherwise.
    let either = matches!(
        cli.command,
        Command::Plan { .. }
            | Command::Apply(_)
            | Command::Status
            | Command::Check {
                existing_schema: false
            }
            | Command::Rollback(_)
    );
    let needs_files = matches!(
        cli.command,
        Command::Upgrade { .. } | Command::Downgrade { .. } | Command::Repair { .. }
    );
    if either || needs_files {
        let set = file_set(cli, compiled)?;
        if !set.is_empty() {
            return on_files(db, cli, &set);
        }
        if needs_files {
            return Err(Error::invalid(format!(
                "no migration files in {}: run `generate NAME` (or `baseline` for a database that was auto-migrated) first",
                dir.display()
            )));
        }
    }
    match &cli.command {
        Command::Generate { name } => files::generate(db, dir, name),
        Command::Merge { name } => files::merge(db, dir, name),
        Command::Squash { from, to, name } => files::squash(db, dir, from, to, name),
        Command::Baseline { name } => files::baseline(db, dir, name),
        _ => auto(db, cli),
    }
}

/// The commands over a non-empty set of migration files.
fn on_files(db: &DataFlow, cli: &Cli, set: &Migrations) -> Result<Output> {
    let dry = |c: &Consent| Consent {
        dry_run: true,
        ..c.clone()
    };
    match &cli.command {
        Command::Plan { sql } => {
            let mut out = files::upgrade(db, set, None, &dry(&Consent::default()))?;
            if *sql {
                out.text = files_sql(db, set)?;
            }
            Ok(out)
        }
        Command::Apply(a) => files::upgrade(db, set, None, &a.consent),
        Command::Upgrade { target, consent } => files::upgrade(db, set, target.as_deref(), consent),
        Command::Downgrade { target, consent } => files::downgrade(db, set, target, consent),
        Command::Rollback(r) => files::rollback(db, set, r.target.as_deref(), &r.consent),
        Command::Status => files::status(db, set, &cli.dir),
        Command::Check { .. } => files::check(db, set),
        Command::Repair { version } => files::repair(db, set, version),
        _ => unreachable!("only file commands reach on_files"),
    }
}

/// The SQL of the pending migration files, as their `up.sql` holds it.
fn files_sql(db: &DataFlow, set: &Migrations) -> Result<String> {
    let pending: Vec<String> = db
        .migration_status(set)?
        .into_iter()
        .filter(|s| s.state == crate::migrate::files::FileMigrationState::Pending)
        .map(|s| s.id)
        .collect();
    let mut out = String::new();
    for source in set.sources() {
        if pending.iter().any(|id| *id == source.id) {
            out.push_str(&format!("-- {}\n{}", source.id, source.file("up.sql")));
            if !out.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    Ok(out)
}

/// The commands without migration files: `auto_migrate` and the rollbacks.
fn auto(db: &DataFlow, cli: &Cli) -> Result<Output> {
    match &cli.command {
        Command::Plan { sql } => {
            let report = db.plan()?;
            let code = pending_code(!report.is_empty());
            let text = if *sql {
                render::sql(&report)
            } else {
                report.preview()
            };
            Ok(Output {
                text,
                json: render::to_json(&report)?,
                code,
            })
        }
        Command::Apply(a) => {
            let report = db.auto_migrate(options(&a.consent))?;
            let code = pending_code(a.consent.dry_run && !report.is_empty());
            report_output(report, code)
        }
        Command::Status => {
            let plan = db.plan()?;
            let history = db.migration_history()?;
            let status = render::Status::new(&plan, &history);
            let code = pending_code(status.is_pending());
            Ok(Output {
                text: status.text(),
                json: render::to_json(&status)?,
                code,
            })
        }
        Command::History => {
            let history = db.migration_history()?;
            Ok(Output {
                text: render::history(&history),
                json: render::to_json(&history)?,
                code: EXIT_OK,
            })
        }
        Command::Rollback(r) => {
            let options = options(&r.consent);
            let report = match rollback_target(db, r.target.as_deref())? {
                None => db.rollback_last_with(options)?,
                Some(version) => db.rollback_with(&version, options)?,
            };
            let code = pending_code(r.consent.dry_run && !report.is_empty());
            report_output(report, code)
        }
        Command::Check {
            existing_schema: true,
        } => match db.auto_migrate(MigrateOptions::default().existing_schema(true)) {
            Ok(report) => report_output(report, EXIT_OK),
            Err(Error::Drift { differences }) => Ok(drift(differences)),
            Err(e) => Err(e),
        },
        Command::Pull(p) => {
            let mut options = IntrospectOptions::default();
            if !p.tables.is_empty() {
                options = options.tables(p.tables.iter().cloned());
            }
            let source = generate_models(db, options)?;
            let models = source.matches("#[derive(Model").count();
            match &p.out {
                None => Ok(Output {
                    json: serde_json::json!({ "models": models, "source": source }),
                    text: source,
                    code: EXIT_OK,
                }),
                Some(path) => {
                    std::fs::write(path, &source).map_err(|e| {
                        Error::invalid(format!("pull: cannot write {}: {e}", path.display()))
                    })?;
                    Ok(Output {
                        text: format!("Wrote {models} model(s) to {}.\n", path.display()),
                        json: serde_json::json!({ "models": models, "path": path }),
                        code: EXIT_OK,
                    })
                }
            }
        }
        Command::Adopt { tables } => {
            let tables: Vec<String> = if tables.is_empty() {
                db.models().iter().map(|m| m.table.to_owned()).collect()
            } else {
                tables.clone()
            };
            let report = db.adopt(tables.iter().cloned())?;
            let text = match &report.version {
                Some(v) => format!(
                    "Adopted {} as baseline migration {v}; nothing in the database was altered.\n",
                    tables.join(", ")
                ),
                None => "Already adopted; nothing to do.\n".to_owned(),
            };
            Ok(Output {
                text,
                json: render::to_json(&report)?,
                code: EXIT_OK,
            })
        }
        Command::Check { .. } => match db.check() {
            Ok(report) => Ok(Output {
                text: "The database matches the models.\n".into(),
                json: serde_json::json!({
                    "drift": false,
                    "differences": [],
                    "unmanaged_tables": report.unmanaged_tables,
                }),
                code: EXIT_OK,
            }),
            Err(Error::Drift { differences }) => Ok(drift(differences)),
            Err(e) => Err(e),
        },
        Command::Metrics => {
            let metrics = db.migration_metrics()?;
            Ok(Output {
                text: metrics.render(),
                json: render::to_json(&metrics)?,
                code: EXIT_OK,
            })
        }
        _ => unreachable!("file commands do not reach auto"),
    }
}

/// `check`'s output for differences: exit 2.
fn drift(differences: Vec<String>) -> Output {
    Output {
        text: format!(
            "The database differs from the models:\n{}\n",
            differences
                .iter()
                .map(|d| format!("  {d}"))
                .collect::<Vec<_>>()
                .join("\n")
        ),
        json: serde_json::json!({ "drift": true, "differences": differences }),
        code: EXIT_PENDING,
    }
}

/// The version `rollback` undoes back to: `None` for the newest migration
/// (`-1` or nothing), the Nth newest applied forward migration for `-N`, or
/// the version given.
fn rollback_target(db: &DataFlow, target: Option<&str>) -> Result<Option<String>> {
    let Some(t) = target else { return Ok(None) };
    let Some(n) = t.strip_prefix('-') else {
        return Ok(Some(t.to_owned()));
    };
    let n: usize =
        n.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
            Error::invalid(format!("rollback {t}: expected a version or -N (N ≥ 1)"))
        })?;
    if n == 1 {
        return Ok(None);
    }
    let applied: Vec<String> = db
        .migration_history()?
        .into_iter()
        .filter(|r| r.status == MigrationStatus::Applied && !r.is_rollback())
        .map(|r| r.version)
        .collect();
    applied
        .len()
        .checked_sub(n)
        .map(|i| Some(applied[i].clone()))
        .ok_or_else(|| {
            Error::invalid(format!(
                "rollback {t}: only {} applied migration(s) to undo",
                applied.len()
            ))
        })
}
