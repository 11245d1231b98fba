//! Rollbacks are migrations: planned from the inverse of the recorded steps,
//! assessed against the live data, policed by the same options, backed up,
//! previewed, recorded, and undoable in turn. And `resolve_failed` resolves
//! only what failed.

use dataflow_core::prelude::*;

use crate::backends::TestBackend;

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "rb_items")]
struct Item {
    id: i64,
    name: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "rb_items")]
struct ItemExtra {
    id: i64,
    name: String,
    extra: Option<String>,
}

/// A handle with only `M` registered, migrated with default options.
fn handle<M: Model>(db: &TestBackend) -> DataFlow {
    let h = db.reopen();
    h.register::<M>().unwrap();
    h.auto_migrate(MigrateOptions::default()).unwrap();
    h
}

fn refused<T: std::fmt::Debug>(r: Result<T>) -> Vec<String> {
    match r {
        Err(Error::MigrationRefused { steps }) => steps,
        other => panic!("expected MigrationRefused, got {other:?}"),
    }
}

pub fn resolve_failed_refuses_unknown_and_applied_versions(db: &TestBackend) {
    let v1 = handle::<Item>(db);
    let history = v1.migration_history().unwrap();
    let applied = history.last().unwrap().version.clone();
    match v1.resolve_failed("19700101000000000000") {
        Err(Error::InvalidInput(m)) => assert!(m.contains("19700101000000000000"), "{m}"),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    match v1.resolve_failed(&applied) {
        Err(Error::InvalidInput(m)) => {
            assert!(m.contains(&applied) && m.contains("applied"), "{m}")
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    assert_eq!(
        v1.migration_history().unwrap(),
        history,
        "history unchanged"
    );
}

pub fn resolve_failed_resolves_a_failed_migration(db: &TestBackend) {
    let v1 = handle::<Item>(db);
    let failed = dataflow_core::MigrationRecord {
        version: "29990101000000000000".into(),
        name: "add column rb_items".into(),
        checksum: String::new(),
        started_at: chrono::Utc::now(),
        finished_at: None,
        duration_ms: None,
        steps: Vec::new(),
        status: MigrationStatus::Failed,
        error: Some("interrupted".into()),
    };
    v1.with_conn(|c| dataflow_core::history::record(c, v1.dialect(), &failed))
        .unwrap();
    // A failed migration blocks the next one until it is resolved.
    let v2 = db.reopen();
    v2.register::<ItemExtra>().unwrap();
    refused(v2.auto_migrate(MigrateOptions::default()));
    v1.resolve_failed(&failed.version).unwrap();
    let last = v1.migration_history().unwrap().pop().unwrap();
    assert_eq!(
        (last.version.as_str(), last.status),
        (failed.version.as_str(), MigrationStatus::RolledBack)
    );
    // Resolving it twice is an error naming its status now.
    match v1.resolve_failed(&failed.version) {
        Err(Error::InvalidInput(m)) => assert!(m.contains("rolled_back"), "{m}"),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    v2.auto_migrate(MigrateOptions::default()).unwrap();
    v2.check().unwrap();
}
