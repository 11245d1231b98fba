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
//! so `--help` needs no database. Subcommands: `plan [--sql]`,
//! `apply [--yes] [--max-risk LEVEL] [--dry-run]`, `status`, `history`,
//! `rollback [VERSION | -N]`, `check`, `metrics`; `--json` prints JSON on
//! stdout for scripts.
//!
//! Exit codes ([`EXIT_OK`], [`EXIT_ERROR`], [`EXIT_PENDING`]): 0 ok; 1 an
//! error (bad arguments, a refused or failed migration, a database error);
//! 2 drift or pending changes (`plan`, `status`, `check`, `apply --dry-run`
//! when the database differs from the models), as `prisma migrate diff
//! --exit-code`.

mod args;
mod render;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};

pub use args::{ApplyArgs, Cli, Command, Consent, Risk, RollbackArgs};

use crate::dataflow::DataFlow;
use crate::error::{Error, Result};
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
    ExitCode::from(run_from(std::env::args_os(), models, |url, explicit| {
        if explicit && url.is_some() {
            return Err(Error::invalid(
                "--database-url is not accepted: this binary opens its database itself (cli::run)",
            ));
        }
        Ok(db)
    }))
}

/// Parses `std::env::args`, then opens the database with `open` (given
/// `--database-url`, else `DATABASE_URL`, else `None`), registers `models`
/// and runs the command.
pub fn run_with(
    models: &[&'static ModelDescriptor],
    open: impl FnOnce(Option<&str>) -> Result<DataFlow>,
) -> ExitCode {
    ExitCode::from(run_from(std::env::args_os(), models, |url, _| open(url)))
}

/// The command line of `args` (the first is the program name): parses,
/// opens with `open(url, given_on_the_command_line)`, registers `models`,
/// runs, prints, and returns the exit code.
pub fn run_from(
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
    models: &[&'static ModelDescriptor],
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
        db.register_all(models)?;
        execute(&db, &cli)
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

fn execute(db: &DataFlow, cli: &Cli) -> Result<Output> {
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
        Command::Check => match db.check() {
            Ok(report) => Ok(Output {
                text: "The database matches the models.\n".into(),
                json: serde_json::json!({
                    "drift": false,
                    "differences": [],
                    "unmanaged_tables": report.unmanaged_tables,
                }),
                code: EXIT_OK,
            }),
            Err(Error::Drift { differences }) => Ok(Output {
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
            }),
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
