//! Versioned migrations: reviewed files instead of planning at start-up.
//!
//! The same pipeline as `auto_migrate` (diff → plan → render), run against the
//! schema snapshot stored with the newest migration instead of the live
//! database. A migration is a directory `<version>_<name>/` holding `up.sql`,
//! `down.sql` and `plan.json` (its steps with risks and reasons, its parents
//! and the schema after it); `version` is the UTC time it was generated
//! (`YYYYMMDDHHMMSS`).
//!
//! [`generate`] writes one from the registered models; [`source`] reads a
//! directory of them (at run time, or at compile time through
//! `embed_migrations!`) into [`Migrations`]; [`sql`] spells and splits the SQL
//! files; [`graph`] orders migrations and finds multiple heads, merges and
//! squashes; [`checksums`] keeps the sha256 of every applied file; [`run`]
//! applies, downgrades, baselines and repairs them under the migration lock.

pub mod checksums;
pub mod generate;
pub mod graph;
pub mod run;
pub mod source;
pub mod sql;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::migrate::schema::Schema;
use crate::migrate::MigrationStep;

pub use generate::{GenerateOptions, Generated};
pub use run::{FileMigrationState, FileStatus, FilesReport};
pub use source::{DataStep, MigrationSource, Migrations};

/// The version of `plan.json`'s format.
pub const PLAN_FORMAT: u32 = 1;

/// First line of an `up.sql` whose statements run one at a time outside a
/// transaction (`CREATE INDEX CONCURRENTLY`).
pub const NO_TRANSACTION: &str = "-- dataflow:no-transaction";

/// The contents of a migration's `plan.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MigrationPlan {
    /// Format version ([`PLAN_FORMAT`]).
    pub format: u32,
    /// The migration's version (`YYYYMMDDHHMMSS`, UTC).
    pub version: String,
    /// Its name (`add_phone`).
    pub name: String,
    /// The backend whose SQL the files hold (`sqlite`, `postgres`).
    pub dialect: String,
    /// The ids (`<version>_<name>`) of the migrations it follows: none for the
    /// first, one usually, two for a merge.
    pub parents: Vec<String>,
    /// Ids of the migrations a squash replaced: a database that applied all of
    /// them takes this one as applied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replaces: Vec<String>,
    /// The steps, with risk and reason judged as if every table held data.
    pub steps: Vec<MigrationStep>,
    /// The schema after the migration (what the next one is generated against).
    pub schema: Schema,
}

impl MigrationPlan {
    /// `<version>_<name>`, the directory name.
    pub fn id(&self) -> String {
        format!("{}_{}", self.version, self.name)
    }

    /// The file's text: pretty JSON with a final newline, deterministic
    /// (the schema's maps are ordered).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self)
            .map(|s| s + "\n")
            .map_err(|e| Error::InvalidInput(format!("cannot write plan.json: {e}")))
    }

    /// Reads `plan.json`; `origin` names it in errors.
    pub fn from_json(text: &str, origin: &str) -> Result<MigrationPlan> {
        let plan: MigrationPlan = serde_json::from_str(text)
            .map_err(|e| Error::InvalidInput(format!("{origin}: not a dataflow plan.json: {e}")))?;
        if plan.format != PLAN_FORMAT {
            return Err(Error::InvalidInput(format!(
                "{origin}: plan.json format {} is not {PLAN_FORMAT}, the format this dataflow reads",
                plan.format
            )));
        }
        Ok(plan)
    }
}

/// Splits a directory name `<version>_<name>` into its version and name;
/// `InvalidInput` naming it otherwise.
pub fn parse_id(id: &str) -> Result<(&str, &str)> {
    let bad = || {
        Error::InvalidInput(format!(
            "migration directory {id:?} is not named <YYYYMMDDHHMMSS>_<name>"
        ))
    };
    let (version, name) = id.split_once('_').ok_or_else(bad)?;
    if version.len() != 14 || !version.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    check_name(name)?;
    Ok((version, name))
}

/// A migration name: lowercase letters, digits and `_`, 1 to 64 of them.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "migration name {name:?}: use 1 to 64 lowercase letters, digits and _"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_and_bad_ones_are_named() {
        assert_eq!(
            parse_id("20260101120000_add_phone").unwrap(),
            ("20260101120000", "add_phone")
        );
        for bad in [
            "add_phone",
            "2026_add",
            "20260101120000_",
            "20260101120000_Add",
        ] {
            let e = parse_id(bad).unwrap_err().to_string();
            assert!(e.contains(bad) || e.contains("name"), "{e}");
        }
    }
}
