//! Planning against the live database: describe it, align what the models
//! declare with what it holds, decide which unregistered tables may be dropped,
//! and run the planner with the facts counted over the connection.

use std::collections::BTreeSet;

use crate::backend::Connection;
use crate::error::{Error, Result};
use crate::migrate::diff::{Droppable, Hints};
use crate::migrate::facts::ConnCounts;
use crate::migrate::handle::MigrateHandle;
use crate::migrate::history;
use crate::migrate::plan::{plan, PlanInput};
use crate::migrate::schema::Schema;
use crate::migrate::{MigrateOptions, MigrationReport};

/// A plan and the schema it leads to.
pub(crate) struct Planned {
    pub(crate) report: MigrationReport,
    pub(crate) target: Schema,
}

/// Plans against the live database. With `probe`, only learns whether there is
/// anything to do: `None` when there is (the caller plans again under the
/// lock, where the facts it asks must be fresh), without asking any fact, so
/// the row counts of a big table are not taken twice.
pub(crate) fn plan_with(
    db: &dyn MigrateHandle,
    conn: &mut dyn Connection,
    options: &MigrateOptions,
    version: &str,
    probe: bool,
) -> Result<Option<Planned>> {
    let dialect = db.dialect();
    let models = db.models();
    let target = db.target_schema();
    let hints = Hints::from_descriptors(models.iter().copied());
    let mut live = db.describe_with(conn)?;
    db.align_predicates(conn, &mut live, &target)?;
    let owned: BTreeSet<String> = history::owned(db, conn)?.into_iter().collect();
    let renamed_away: BTreeSet<&String> = hints.tables.values().collect();
    let unregistered: Vec<String> = live
        .tables
        .keys()
        .filter(|t| !target.tables.contains_key(*t) && !renamed_away.contains(t))
        .cloned()
        .collect();
    let droppable: Droppable = if options.prune {
        unregistered
            .iter()
            .filter(|t| owned.contains(*t))
            .cloned()
            .collect()
    } else {
        Droppable::new()
    };
    let unmanaged = |droppable: &Droppable| -> Vec<String> {
        unregistered
            .iter()
            .filter(|t| !droppable.contains(*t))
            .cloned()
            .collect()
    };
    if probe {
        let pending = crate::migrate::diff::diff(&live, &target, &hints, &droppable)
            .iter()
            .any(|c| options.includes(c.table()) && options.allows(c.operation()));
        if pending {
            return Ok(None);
        }
        return Ok(Some(Planned {
            report: MigrationReport {
                applied: false,
                version: None,
                steps: Vec::new(),
                unmanaged_tables: unmanaged(&droppable),
                in_progress: None,
                rolled_back: Vec::new(),
            },
            target,
        }));
    }
    let input = PlanInput {
        live: &live,
        target: &target,
        hints: &hints,
        droppable: &droppable,
        dialect,
        capabilities: db.capabilities(),
        options,
        version,
        online: options.online.unwrap_or(true) && db.capabilities().online_index_builds,
    };
    let mut counts = ConnCounts::new(conn);
    let steps = plan(&input, &mut counts)?;
    Ok(Some(Planned {
        report: MigrationReport {
            applied: false,
            version: None,
            steps,
            unmanaged_tables: unmanaged(&droppable),
            in_progress: None,
            rolled_back: Vec::new(),
        },
        target,
    }))
}

/// A full plan (never `None` without `probe`).
pub(crate) fn full_plan(
    db: &dyn MigrateHandle,
    conn: &mut dyn Connection,
    options: &MigrateOptions,
    version: &str,
) -> Result<Planned> {
    plan_with(db, conn, options, version, false)?
        .ok_or_else(|| Error::Database("the planner returned no plan".into()))
}
