//! The subcommands over migration files: generate, upgrade, downgrade,
//! merge, squash, baseline, repair, and `apply`, `plan`, `status`, `check`
//! and `rollback` when the migrations directory holds migrations.

use std::path::Path;

use serde_json::json;

use super::render::to_json;
use super::{options, pending_code, Consent, Output, EXIT_OK, EXIT_PENDING};
use crate::dataflow::DataFlow;
use crate::error::{Error, Result};
use crate::migrate::files::GenerateOptions;
use crate::migrate::files::{FileMigrationState, FilesReport, Generated, Migrations};

fn state(s: FileMigrationState) -> &'static str {
    match s {
        FileMigrationState::Applied => "applied",
        FileMigrationState::Edited => "edited",
        FileMigrationState::Pending => "pending",
        FileMigrationState::Missing => "missing",
    }
}

/// What a generating command wrote.
pub(super) fn generated(g: Generated, dir: &Path) -> Result<Output> {
    Ok(match g {
        Generated::UpToDate => Output {
            text: format!(
                "No changes: the models match the newest migration in {}; nothing written.\n",
                dir.display()
            ),
            json: json!({ "written": false }),
            code: EXIT_OK,
        },
        Generated::Written { id, dir, plan } => {
            let risk = plan.steps.iter().map(|s| s.risk).max();
            Output {
                text: format!(
                    "Wrote {}/ (up.sql, down.sql, plan.json): {} step(s){}.\n",
                    dir.display(),
                    plan.steps.len(),
                    risk.map_or(String::new(), |r| format!(", highest risk {r}"))
                ),
                json: json!({
                    "written": true,
                    "id": id,
                    "dir": dir,
                    "plan": to_json(&*plan)?,
                }),
                code: EXIT_OK,
            }
        }
    })
}

pub(super) fn generate(db: &DataFlow, dir: &Path, name: &str) -> Result<Output> {
    generated(db.generate_migration(dir, name)?, dir)
}

pub(super) fn merge(db: &DataFlow, dir: &Path, name: &str) -> Result<Output> {
    generated(
        db.merge_migrations(dir, name, GenerateOptions::default())?,
        dir,
    )
}

pub(super) fn squash(
    db: &DataFlow,
    dir: &Path,
    from: &str,
    to: &str,
    name: &str,
) -> Result<Output> {
    generated(db.squash_migrations(dir, from, to, name)?, dir)
}

pub(super) fn baseline(db: &DataFlow, dir: &Path, name: &str) -> Result<Output> {
    generated(db.baseline(dir, name)?, dir)
}

/// What `upgrade`, `downgrade` and their dry runs did; exit 2 for a dry run
/// that would run something.
fn ran(report: FilesReport, verb: &str, done: &str) -> Result<Output> {
    let mut text = String::new();
    for (id, r) in &report.migrations {
        text.push_str(&format!("== {id} ==\n{}\n", r.preview()));
    }
    for id in &report.recorded {
        text.push_str(&format!(
            "{id}: recorded as applied (the database had applied every migration it replaces)\n"
        ));
    }
    if report.is_empty() && report.recorded.is_empty() {
        text.push_str(&format!("Nothing to {verb}.\n"));
    } else if !report.dry_run {
        text.push_str(&format!(
            "{} migration(s) {done}: {}\n",
            report.migrations.len(),
            report.ids().join(", ")
        ));
    }
    let migrations: Vec<serde_json::Value> = report
        .migrations
        .iter()
        .map(|(id, r)| Ok(json!({ "id": id, "report": to_json(r)? })))
        .collect::<Result<_>>()?;
    Ok(Output {
        text,
        json: json!({
            "dry_run": report.dry_run,
            "migrations": migrations,
            "recorded": report.recorded,
        }),
        code: pending_code(report.dry_run && !report.is_empty()),
    })
}

pub(super) fn upgrade(
    db: &DataFlow,
    set: &Migrations,
    target: Option<&str>,
    consent: &Consent,
) -> Result<Output> {
    let options = options(consent);
    let report = match target {
        None => db.apply_migrations(set, options)?,
        Some(t) => db.upgrade(set, t, options)?,
    };
    ran(report, "apply", "applied")
}

pub(super) fn downgrade(
    db: &DataFlow,
    set: &Migrations,
    target: &str,
    consent: &Consent,
) -> Result<Output> {
    ran(
        db.downgrade(set, target, options(consent))?,
        "undo",
        "undone",
    )
}

/// `rollback` over files: `-N` (default `-1`) undoes the newest N applied
/// migrations, a version undoes it and every one after it.
pub(super) fn rollback(
    db: &DataFlow,
    set: &Migrations,
    target: Option<&str>,
    consent: &Consent,
) -> Result<Output> {
    let applied: Vec<String> = db
        .migration_status(set)?
        .into_iter()
        .filter(|s| {
            matches!(
                s.state,
                FileMigrationState::Applied | FileMigrationState::Edited
            )
        })
        .map(|s| s.id)
        .collect();
    let t = target.unwrap_or("-1");
    let first_undone = match t.strip_prefix('-') {
        Some(n) => {
            let n: usize = n.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                Error::invalid(format!("rollback {t}: expected a version or -N (N ≥ 1)"))
            })?;
            applied.len().checked_sub(n).ok_or_else(|| {
                Error::invalid(format!(
                    "rollback {t}: only {} applied migration(s) to undo",
                    applied.len()
                ))
            })?
        }
        None => applied
            .iter()
            .position(|id| id == t || id.split('_').next() == Some(t))
            .ok_or_else(|| Error::invalid(format!("rollback {t}: no applied migration {t}")))?,
    };
    let keep = if first_undone == 0 {
        "0".to_owned()
    } else {
        applied[first_undone - 1].clone()
    };
    downgrade(db, set, &keep, consent)
}

/// The migration files' states, and whether the models moved past the
/// newest one (a migration left to generate).
pub(super) fn status(db: &DataFlow, set: &Migrations, dir: &Path) -> Result<Output> {
    let files = db.migration_status(set)?;
    let ungenerated = db.pending_migration(set)?;
    let rows: Vec<Vec<String>> = files
        .iter()
        .map(|f| {
            vec![
                f.id.clone(),
                state(f.state).to_owned(),
                f.applied_at.map_or("-".into(), |t| {
                    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
                }),
            ]
        })
        .collect();
    let mut text = crate::terminal::table(&["Migration", "Status", "Applied at"], &rows);
    text.push('\n');
    let pending = files
        .iter()
        .filter(|f| f.state == FileMigrationState::Pending)
        .count();
    let edited: Vec<&str> = files
        .iter()
        .filter(|f| f.state == FileMigrationState::Edited)
        .map(|f| f.id.as_str())
        .collect();
    if pending > 0 {
        text.push_str(&format!("{pending} migration(s) pending: run `apply`.\n"));
    }
    if !edited.is_empty() {
        text.push_str(&format!(
            "Edited after being applied: {} (see `repair`).\n",
            edited.join(", ")
        ));
    }
    let missing: Vec<&str> = files
        .iter()
        .filter(|f| f.state == FileMigrationState::Missing)
        .map(|f| f.id.as_str())
        .collect();
    if !missing.is_empty() {
        text.push_str(&format!(
            "Applied, but their directories are gone: {} (restore them).\n",
            missing.join(", ")
        ));
    }
    if let Some(p) = &ungenerated {
        text.push_str(&format!(
            "The models changed since the newest migration ({} step(s)): run `generate NAME` to write {}/<timestamp>_NAME/.\n",
            p.steps.len(),
            dir.display()
        ));
    }
    let json_files: Vec<serde_json::Value> = files
        .iter()
        .map(|f| {
            json!({
                "id": f.id,
                "version": f.version,
                "state": state(f.state),
                "applied_at": f.applied_at,
            })
        })
        .collect();
    Ok(Output {
        text,
        json: json!({
            "mode": "files",
            "migrations": json_files,
            "pending": pending,
            "edited": edited,
            "ungenerated_steps": ungenerated.as_ref().map_or(0, |p| p.steps.len()),
        }),
        code: pending_code(pending > 0 || !edited.is_empty() || ungenerated.is_some()),
    })
}

/// Drift over files: models ahead of the newest migration, migrations not
/// applied, applied files edited, or a live schema that differs.
pub(super) fn check(db: &DataFlow, set: &Migrations) -> Result<Output> {
    let mut differences = Vec::new();
    if let Some(p) = db.pending_migration(set)? {
        differences.push(format!(
            "the models changed but no migration was generated ({} step(s): {})",
            p.steps.len(),
            p.steps
                .iter()
                .map(|s| format!("{} {}", s.operation, s.table))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for f in db.migration_status(set)? {
        match f.state {
            FileMigrationState::Pending => differences.push(format!("{} is not applied", f.id)),
            FileMigrationState::Edited => {
                differences.push(format!("{} was edited after being applied", f.id))
            }
            FileMigrationState::Missing => {
                differences.push(format!("{} is applied but its directory is gone", f.id))
            }
            FileMigrationState::Applied => {}
        }
    }
    if differences.is_empty() {
        match db.check() {
            Ok(_) => {}
            Err(Error::Drift { differences: d }) => differences.extend(d),
            Err(e) => return Err(e),
        }
    }
    let drift = !differences.is_empty();
    Ok(Output {
        text: if drift {
            format!(
                "The database or the migration files differ from the models:\n{}\n",
                differences
                    .iter()
                    .map(|d| format!("  {d}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        } else {
            "The models, the migration files and the database match.\n".into()
        },
        json: json!({ "drift": drift, "differences": differences }),
        code: if drift { EXIT_PENDING } else { EXIT_OK },
    })
}

pub(super) fn repair(db: &DataFlow, set: &Migrations, version: &str) -> Result<Output> {
    db.repair_migration(set, version)?;
    Ok(Output {
        text: format!("Recorded the current files of {version} as applied.\n"),
        json: json!({ "repaired": version }),
        code: EXIT_OK,
    })
}
