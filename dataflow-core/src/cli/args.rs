//! The command line's grammar (clap's derive API).

use clap::{Parser, Subcommand, ValueEnum};

use crate::migrate::RiskLevel;

/// Migrations of this application's database: plan, apply, roll back,
/// inspect.
///
/// Exit codes: 0 ok; 1 error (bad arguments, a refused or failed migration,
/// a database error); 2 drift or pending changes (`plan`, `status`, `check`
/// and `apply --dry-run` when the database differs from the models).
#[derive(Debug, Parser)]
#[command(name = "migrate", disable_version_flag = true)]
pub struct Cli {
    /// Print JSON on stdout (errors too, as `{"error": {...}}`) instead of
    /// tables.
    #[arg(long, global = true)]
    pub json: bool,

    /// The database to open, for binaries that use `cli::run_with` (an SQLite
    /// path or a `postgres://` URL, as the binary decides).
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// The directory of migration files (`<version>_<name>/` with `up.sql`,
    /// `down.sql`, `plan.json`). When it holds migrations, `apply`, `plan`,
    /// `status`, `check` and `rollback` work on them; otherwise they
    /// reconcile the models with the database directly (auto-migrate).
    #[arg(
        long,
        global = true,
        env = "DATAFLOW_MIGRATIONS_DIR",
        default_value = "migrations"
    )]
    pub dir: std::path::PathBuf,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what `apply` would do, with risks and reasons (exit 2 when there
    /// is something to do).
    Plan {
        /// Print only the SQL, in order.
        #[arg(long)]
        sql: bool,
    },
    /// Apply the plan: SAFE steps without asking; riskier steps after a
    /// prompt on a terminal, or with `--yes` and `--max-risk`.
    Apply(ApplyArgs),
    /// Pending changes, the newest migration, and migrations that failed or
    /// have not finished (exit 2 when anything is pending).
    Status,
    /// Every recorded migration, oldest first.
    History,
    /// Undo the newest migration (`-1`, the default), the newest N (`-N`),
    /// or a version and every migration after it.
    Rollback(RollbackArgs),
    /// Exit 2 with the differences when the database differs from the
    /// models (drift), 0 when they match.
    Check {
        /// Check only that the models can work on the tables as they are
        /// (`MigrateOptions::existing_schema`): exit 2 listing what stops
        /// them, 0 (with the differences that do not) otherwise.
        #[arg(long)]
        existing_schema: bool,
    },
    /// Write `#[derive(Model)]` structs for the database's tables
    /// (`introspect::generate_models`), on stdout or into a file.
    Pull(PullArgs),
    /// Hand tables dataflow did not create over to it (`DataFlow::adopt`):
    /// their schema becomes a baseline migration; nothing is altered.
    Adopt {
        /// The tables (default: those of the registered models).
        tables: Vec<String>,
    },
    /// Counts, median and p95 duration, success and rollback rates, the
    /// slowest steps.
    Metrics,
    /// Write `<dir>/<UTC timestamp>_<NAME>/` from the models' changes since
    /// the newest migration's snapshot (no database is read; nothing is
    /// written when nothing changed).
    Generate {
        /// What the migration does (`add_phone`).
        name: String,
    },
    /// Apply the pending migration files, up to and including TARGET (an
    /// id or a version) when given.
    Upgrade {
        /// The last migration to apply.
        target: Option<String>,
        /// Consent and dry run.
        #[command(flatten)]
        consent: Consent,
    },
    /// Undo the applied migration files after TARGET (`0`: all of them),
    /// newest first.
    Downgrade {
        /// The migration to go back to (an id or version), or `0`.
        target: String,
        /// Consent and dry run.
        #[command(flatten)]
        consent: Consent,
    },
    /// Join the heads of the migration files (generated on separate
    /// branches) with an empty migration.
    Merge {
        /// The merge migration's name.
        #[arg(long, default_value = "merge")]
        name: String,
    },
    /// Replace the migrations FROM..=TO by one; databases already past them
    /// accept it without running it.
    Squash {
        /// The first migration replaced (id or version).
        from: String,
        /// The last migration replaced (id or version).
        to: String,
        /// The squashed migration's name.
        #[arg(long, default_value = "squash")]
        name: String,
    },
    /// Switch an auto-migrated database to migration files: write its
    /// current schema as the first migration and record it as applied.
    Baseline {
        /// The baseline migration's name.
        #[arg(long, default_value = "baseline")]
        name: String,
    },
    /// Accept an edit of an applied migration's files (record their new
    /// sha256), once you made sure the database matches them.
    Repair {
        /// The edited migration (id or version).
        version: String,
    },
}

/// What `apply` and `rollback` may do.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Consent {
    /// Apply without asking (`MigrateOptions::auto_confirm(true)`).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// The highest risk allowed (`MigrateOptions::max_risk`).
    #[arg(long, value_enum)]
    pub max_risk: Option<Risk>,
    /// Plan and preview only; nothing is written.
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments of `apply`.
#[derive(Debug, Clone, clap::Args)]
pub struct ApplyArgs {
    /// Consent and dry run.
    #[command(flatten)]
    pub consent: Consent,
}

/// Arguments of `pull`.
#[derive(Debug, Clone, clap::Args)]
pub struct PullArgs {
    /// Only this table (repeatable; default every table).
    #[arg(long = "table", value_name = "TABLE")]
    pub tables: Vec<String>,
    /// Write the source into this file instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,
}

/// Arguments of `rollback`.
#[derive(Debug, Clone, clap::Args)]
pub struct RollbackArgs {
    /// `-1` (default) the newest migration, `-N` the newest N, or a version.
    #[arg(allow_hyphen_values = true, value_name = "VERSION | -N")]
    pub target: Option<String>,
    /// Consent and dry run.
    #[command(flatten)]
    pub consent: Consent,
}

/// A risk level as the command line spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Risk {
    /// `RiskLevel::Safe`
    Safe,
    /// `RiskLevel::Medium`
    Medium,
    /// `RiskLevel::High`
    High,
}

impl From<Risk> for RiskLevel {
    fn from(r: Risk) -> Self {
        match r {
            Risk::Safe => RiskLevel::Safe,
            Risk::Medium => RiskLevel::Medium,
            Risk::High => RiskLevel::High,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("migrate").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn rollback_takes_minus_one_as_a_target() {
        match parse(&["rollback", "-1", "--yes"]).command {
            Command::Rollback(r) => {
                assert_eq!(r.target.as_deref(), Some("-1"));
                assert!(r.consent.yes);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn apply_reads_consent_and_json_anywhere() {
        let cli = parse(&["apply", "--yes", "--max-risk", "high", "--json"]);
        assert!(cli.json);
        match cli.command {
            Command::Apply(a) => {
                assert!(a.consent.yes && !a.consent.dry_run);
                assert_eq!(a.consent.max_risk, Some(Risk::High));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_unknown_risk_is_an_error() {
        assert!(Cli::try_parse_from(["migrate", "apply", "--max-risk", "extreme"]).is_err());
    }
}
