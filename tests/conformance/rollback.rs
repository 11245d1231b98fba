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
        Err(Error::MigrationRefused { steps, .. }) => steps,
        other => panic!("expected MigrationRefused, got {other:?}"),
    }
}

fn extras(h: &DataFlow) -> Vec<Option<String>> {
    ItemExtra::list(h)
        .order_by(ItemExtra::ID.asc())
        .all()
        .unwrap()
        .into_iter()
        .map(|i| i.extra)
        .collect()
}

/// v1, 50 rows, then v2 adds the nullable `extra` (SAFE) and every row gets a
/// value in it.
fn fifty_extras(db: &TestBackend) -> (DataFlow, DataFlow) {
    let v1 = handle::<Item>(db);
    let rows: Vec<Item> = (0..50)
        .map(|i| Item {
            id: 0,
            name: format!("n{i}"),
        })
        .collect();
    Item::bulk_create(&v1, &rows).unwrap();
    let v2 = handle::<ItemExtra>(db);
    for item in ItemExtra::list(&v2).all().unwrap() {
        ItemExtra::update(
            &v2,
            item.id,
            ItemExtraPatch {
                extra: Some(Some(format!("x{}", item.id))),
                ..Default::default()
            },
        )
        .unwrap();
    }
    (v1, v2)
}

fn opted_in() -> MigrateOptions {
    MigrateOptions::default()
        .auto_confirm(true)
        .max_risk(RiskLevel::High)
}

fn status(h: &DataFlow, version: &str) -> MigrationStatus {
    h.migration_history()
        .unwrap()
        .into_iter()
        .find(|m| m.version == version)
        .unwrap_or_else(|| panic!("no migration {version}"))
        .status
}

pub fn rollback_that_would_drop_written_values_is_refused_by_default(db: &TestBackend) {
    let (v1, v2) = fifty_extras(db);
    let added = v2.migration_history().unwrap().pop().unwrap().version;
    let before = extras(&v2);
    assert!(before.iter().all(Option::is_some));
    let steps = refused(v2.rollback_last());
    assert!(
        steps
            .iter()
            .any(|s| s.contains("extra") && s.contains("HIGH")),
        "{steps:?}"
    );
    assert_eq!(extras(&v2), before, "nothing was undone");
    v2.check().unwrap();

    // The dry run shows the plan, assessed against the 50 values.
    let plan = v2
        .rollback_last_with(MigrateOptions::default().dry_run(true))
        .unwrap();
    assert!(!plan.applied && plan.version.is_none());
    assert_eq!(plan.rolled_back, vec![added.clone()]);
    let ops: Vec<(Operation, RiskLevel)> =
        plan.steps.iter().map(|s| (s.operation, s.risk)).collect();
    assert_eq!(ops, [(Operation::DropColumn, RiskLevel::High)]);
    assert!(
        plan.steps[0].reason.contains("50 non-null values"),
        "{}",
        plan.preview()
    );
    assert!(!plan.steps[0].backup.is_empty(), "{}", plan.preview());
    assert!(plan.preview().contains("Rollback:"), "{}", plan.preview());
    assert_eq!(extras(&v2), before, "a dry run changes nothing");

    // Opted in, it runs, backed up, and is recorded as a migration of its own.
    let r = v2.rollback_last_with(opted_in()).unwrap();
    assert!(r.applied, "{}", r.preview());
    assert_eq!(r.rolled_back, vec![added.clone()]);
    let rollback = r.version.clone().unwrap();
    v1.check().unwrap();
    assert_eq!(status(&v2, &added), MigrationStatus::RolledBack);
    let last = v2.migration_history().unwrap().pop().unwrap();
    assert_eq!(
        (last.version.as_str(), last.status, last.rolls_back()),
        (
            rollback.as_str(),
            MigrationStatus::Applied,
            vec![added.as_str()]
        )
    );

    // Undoing the rollback brings the 50 values back from its backup.
    let again = v2.rollback(&rollback).unwrap();
    assert_eq!(again.rolled_back, vec![rollback.clone()]);
    assert_eq!(
        again.steps.iter().map(|s| s.risk).max(),
        Some(RiskLevel::Safe),
        "{}",
        again.preview()
    );
    v2.check().unwrap();
    assert_eq!(extras(&v2), before, "values restored");
    // The undo is a migration of its own that carries the re-applied change.
    assert_eq!(status(&v2, &rollback), MigrationStatus::RolledBack);
    assert_eq!(
        status(&v2, again.version.as_deref().unwrap()),
        MigrationStatus::Applied
    );
}

pub fn rollback_that_would_drop_a_populated_table_is_refused_by_default(db: &TestBackend) {
    let v1 = handle::<Item>(db);
    let created = v1.migration_history().unwrap().pop().unwrap().version;
    let rows: Vec<Item> = (0..100)
        .map(|i| Item {
            id: 0,
            name: format!("n{i}"),
        })
        .collect();
    Item::bulk_create(&v1, &rows).unwrap();
    let steps = refused(v1.rollback_last());
    assert!(
        steps
            .iter()
            .any(|s| s.contains("drop table rb_items") && s.contains("100 rows")),
        "{steps:?}"
    );
    refused(v1.rollback(&created));
    refused(v1.rollback_with(&created, MigrateOptions::default().auto_confirm(true)));
    assert_eq!(Item::list(&v1).count().unwrap(), 100);
    v1.check().unwrap();

    let r = v1.rollback_with(&created, opted_in()).unwrap();
    assert_eq!(r.rolled_back, vec![created.clone()]);
    assert!(!v1.describe().unwrap().tables.contains_key("rb_items"));
    // Undone in turn: the table and its 100 rows come back.
    let rollback = r.version.unwrap();
    v1.rollback(&rollback).unwrap();
    v1.check().unwrap();
    let back = Item::list(&v1).order_by(Item::ID.asc()).all().unwrap();
    assert_eq!(back.len(), 100);
    assert_eq!(back[99].name, "n99");
    // New rows still get fresh keys.
    let fresh = Item::create(
        &v1,
        Item {
            id: 0,
            name: "new".into(),
        },
    )
    .unwrap();
    assert!(fresh.id > back[99].id, "{fresh:?}");
}

/// Undoing a rollback that put back values changed in place keeps the values
/// written meanwhile: the restore backs them up first.
pub fn a_rollback_that_overwrites_values_is_undoable(db: &TestBackend) {
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "rb_nick")]
    struct V1 {
        id: i64,
        nick: Option<String>,
    }
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "rb_nick")]
    struct V2 {
        id: i64,
        #[dataflow(default = "anon")]
        nick: String,
    }
    let h1 = handle::<V1>(db);
    V1::bulk_create(
        &h1,
        &[
            V1 { id: 0, nick: None },
            V1 {
                id: 0,
                nick: Some("b".into()),
            },
        ],
    )
    .unwrap();
    let h2 = db.reopen();
    h2.register::<V2>().unwrap();
    h2.auto_migrate(opted_in()).unwrap();
    let first = V2::list(&h2)
        .order_by(V2::ID.asc())
        .first()
        .unwrap()
        .unwrap();
    assert_eq!(first.nick, "anon");
    // Written after the migration, into a row whose NULL was backed up.
    V2::update(
        &h2,
        first.id,
        V2Patch {
            nick: Some("written later".into()),
        },
    )
    .unwrap();
    let r = h2.rollback_last().unwrap();
    assert!(
        r.steps[0].reason.contains("overwriting") && !r.steps[0].backup.is_empty(),
        "{}",
        r.preview()
    );
    h1.check().unwrap();
    let nicks = |h: &DataFlow| -> Vec<Option<String>> {
        V1::list(h)
            .order_by(V1::ID.asc())
            .all()
            .unwrap()
            .into_iter()
            .map(|v| v.nick)
            .collect()
    };
    assert_eq!(nicks(&h1), [None, Some("b".to_owned())]);
    h2.rollback(&r.version.clone().unwrap()).unwrap();
    h2.check().unwrap();
    let back: Vec<String> = V2::list(&h2)
        .order_by(V2::ID.asc())
        .all()
        .unwrap()
        .into_iter()
        .map(|v| v.nick)
        .collect();
    assert_eq!(back, ["written later", "b"]);
}

/// `rollback(version)` undoes every migration after it too; a rollback can be
/// named only while it is the newest migration.
pub fn rollback_to_a_version_undoes_what_came_after_it(db: &TestBackend) {
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "rb_items")]
    struct ItemIndexed {
        id: i64,
        #[dataflow(index)]
        name: String,
        extra: Option<String>,
    }
    let v1 = handle::<Item>(db);
    Item::create(
        &v1,
        Item {
            id: 0,
            name: "a".into(),
        },
    )
    .unwrap();
    let v2 = handle::<ItemExtra>(db);
    let v3 = handle::<ItemIndexed>(db);
    let versions: Vec<String> = v3
        .migration_history()
        .unwrap()
        .into_iter()
        .map(|m| m.version)
        .collect();
    let [.., _, added, indexed] = &versions[..] else {
        panic!("{versions:?}")
    };
    let r = v3.rollback(added).unwrap();
    assert_eq!(r.rolled_back, [indexed.clone(), added.clone()]);
    let ops: Vec<Operation> = r.steps.iter().map(|s| s.operation).collect();
    assert_eq!(ops, [Operation::DropIndex, Operation::DropColumn]);
    assert!(r.steps.iter().all(|s| s.undoes.is_some()));
    v1.check().unwrap();
    // Named while it is the newest migration, the rollback is undone.
    let rollback = r.version.unwrap();
    let newer = v1.rollback(&rollback).unwrap();
    v3.check().unwrap();
    // Now it is not the newest any more.
    match v1.rollback(&rollback) {
        Err(Error::InvalidInput(m)) => assert!(m.contains(&rollback), "{m}"),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    // Rolled-back and unknown versions cannot be rolled back.
    v1.rollback(&newer.version.clone().unwrap()).unwrap();
    v2.check().unwrap_err();
    v1.check().unwrap();
    match v1.rollback(added) {
        Err(Error::InvalidInput(m)) => {
            assert!(
                m.contains(added.as_str()) && m.contains("rolled_back"),
                "{m}"
            )
        }
        other => panic!("expected InvalidInput, got {other:?}"),
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
    v1.with_conn(|c| dataflow_core::migrate::history::record(c, v1.dialect(), &failed))
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

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "rb_counts")]
struct CountV1 {
    id: i64,
    n: Option<i32>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "rb_counts")]
struct CountV2 {
    id: i64,
    #[dataflow(default = 2147483648)]
    n: i64,
}

/// A column widened and made NOT NULL, its NULLs filled by a default that does
/// not fit the old type: the rollback puts the backed-up values back before it
/// narrows the column, so the filled rows fit again (they are NULL) and the
/// rollback runs, bringing every old value back. A value written since that
/// does not fit still blocks it.
pub fn rollback_of_a_widening_restores_values_before_narrowing(db: &TestBackend) {
    let v1 = handle::<CountV1>(db);
    for n in [None, Some(5), None, Some(i32::MIN)] {
        CountV1::create(&v1, CountV1 { id: 0, n }).unwrap();
    }
    let v2 = db.reopen();
    v2.register::<CountV2>().unwrap();
    v2.auto_migrate(opted_in()).unwrap();
    let filled: Vec<i64> = CountV2::list(&v2)
        .order_by(CountV2::ID.asc())
        .all()
        .unwrap()
        .into_iter()
        .map(|r| r.n)
        .collect();
    assert_eq!(filled, [2147483648, 5, 2147483648, i64::from(i32::MIN)]);

    // A row written since holds a value the old type cannot: blocked, nothing changes.
    let late = CountV2::create(&v2, CountV2 { id: 0, n: 1 << 40 }).unwrap();
    let refusal = v2.rollback_last_with(opted_in());
    assert!(
        matches!(&refusal, Err(Error::MigrationRefused { steps, .. }) if steps.iter().any(|s| s.contains("do not fit"))),
        "{refusal:?}"
    );
    CountV2::delete(&v2, late.id).unwrap();

    let report = v2.rollback_last_with(opted_in()).unwrap();
    assert!(report.applied, "{}", report.preview());
    let back: Vec<Option<i32>> = CountV1::list(&v1)
        .order_by(CountV1::ID.asc())
        .all()
        .unwrap()
        .into_iter()
        .map(|r| r.n)
        .collect();
    assert_eq!(back, [None, Some(5), None, Some(i32::MIN)]);
}
