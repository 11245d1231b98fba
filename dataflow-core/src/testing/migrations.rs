//! Migration files checked by ordinary tests: that the models need no
//! migration the files lack, and that every migration's `down.sql` undoes
//! its `up.sql`. Generic over the backend's [`TestHooks`]; each backend's
//! `testing` module names them for its own `TestDb`.

use std::path::Path;

use crate::error::Result;
use crate::migrate::files::Migrations;
use crate::migrate::schema::Schema;
use crate::migrate::{MigrateOptions, MigrationReport, RiskLevel};
use crate::model::descriptor::ModelDescriptor;
use crate::testing::{TestDb, TestHooks};
use crate::DataFlow;

/// Panics, showing the pending plan, when `models` need a migration that the
/// files of `dir` lack (a model changed and nobody ran `generate`). Reads no
/// database beyond opening a fresh one of backend `B` for its SQL dialect.
pub fn assert_migrations_up_to_date<B: TestHooks>(
    dir: impl AsRef<Path>,
    models: &[&'static ModelDescriptor],
) {
    let dir = dir.as_ref();
    let outcome = (|| -> Result<Option<MigrationReport>> {
        let db = TestDb::<B>::builder().build()?;
        db.register_all(models)?;
        let migrations = Migrations::from_dir(dir)?;
        Ok(db.pending_migration(&migrations)?.map(|p| MigrationReport {
            applied: false,
            version: None,
            steps: p.steps,
            unmanaged_tables: Vec::new(),
            in_progress: None,
            rolled_back: Vec::new(),
        }))
    })();
    match outcome {
        Ok(None) => {}
        Ok(Some(report)) => panic!(
            "the models changed but {} has no migration for it: generate one (db.generate_migration, CLI: generate NAME). Pending plan:\n{}",
            dir.display(),
            report.preview()
        ),
        Err(e) => panic!("cannot check the migrations of {}: {e}", dir.display()),
    }
}

/// The live tables other than dataflow's own.
fn user_schema(db: &DataFlow) -> Result<Schema> {
    let mut s = db.describe()?;
    s.tables.retain(|name, _| !name.starts_with("_dataflow"));
    Ok(s)
}

/// Runs up → down → up for every migration of `dir`, in order, on a fresh
/// database of backend `B`, and panics naming the migration whose `down.sql`
/// does not bring the schema back to what it was before its `up.sql`, or
/// whose second `up.sql` does not give the schema the first one gave.
pub fn assert_migrations_reversible<B: TestHooks>(dir: impl AsRef<Path>) {
    let dir = dir.as_ref();
    let result = (|| -> Result<Option<String>> {
        let migrations = Migrations::from_dir(dir)?;
        let db = TestDb::<B>::builder().build()?;
        let all = || {
            MigrateOptions::default()
                .auto_confirm(true)
                .max_risk(RiskLevel::High)
        };
        let ids: Vec<String> = migrations
            .sources()
            .iter()
            .map(|s| s.id.to_string())
            .collect();
        let mut before = user_schema(&db)?;
        let mut previous = "0".to_owned();
        for id in ids {
            db.upgrade(&migrations, &id, all())?;
            let up = user_schema(&db)?;
            db.downgrade(&migrations, &previous, all())?;
            let down = user_schema(&db)?;
            if down != before {
                return Ok(Some(format!(
                    "{id}: down.sql does not restore the schema before up.sql: {}",
                    differences(&before, &down)
                )));
            }
            db.upgrade(&migrations, &id, all())?;
            let again = user_schema(&db)?;
            if again != up {
                return Ok(Some(format!(
                    "{id}: up.sql after down.sql does not give the schema up.sql gave: {}",
                    differences(&up, &again)
                )));
            }
            before = up;
            previous = id;
        }
        Ok(None)
    })();
    match result {
        Ok(None) => {}
        Ok(Some(why)) => panic!("migrations of {} are not reversible: {why}", dir.display()),
        Err(e) => panic!("cannot run the migrations of {}: {e}", dir.display()),
    }
}

/// The tables that differ between `want` and `got`, named.
fn differences(want: &Schema, got: &Schema) -> String {
    let mut out = Vec::new();
    for (name, t) in &want.tables {
        match got.tables.get(name) {
            None => out.push(format!("table {name} is missing")),
            Some(g) if g != t => out.push(format!("table {name} differs: want {t:?}, got {g:?}")),
            Some(_) => {}
        }
    }
    for name in got.tables.keys().filter(|n| !want.tables.contains_key(*n)) {
        out.push(format!("table {name} is left over"));
    }
    out.join("; ")
}
