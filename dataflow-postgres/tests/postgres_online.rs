//! PostgreSQL's online (zero-downtime) migration steps, and per-step lock
//! timeouts: indexes built CONCURRENTLY after the commit (an INVALID leftover
//! of a failed build dropped and rebuilt), foreign keys added NOT VALID then
//! validated, NOT NULL through a CHECK and a batched backfill, progress recorded
//! so a stopped run resumes, and steps that give up waiting for a lock and
//! retry. Each test runs in a database of its own.

use std::time::Duration;

use dataflow_core::prelude::*;
use dataflow_core::{LogicalType, OnlineSql, Value};
use dataflow_postgres::testing::TestDb;

/// A fresh empty database, or `None` (printed) when no server is configured;
/// under `CI=true` a missing server fails instead.
fn db() -> Option<TestDb> {
    dataflow_postgres::testing::server_url()?;
    Some(TestDb::builder().build().expect("postgres test database"))
}

fn handle<M: Model>(t: &TestDb) -> DataFlow {
    let h = dataflow_postgres::PgOptions::new(t.url())
        .pool_size(4)
        .connect()
        .unwrap();
    h.register::<M>().unwrap();
    h
}

fn opted_in() -> MigrateOptions {
    MigrateOptions::default()
        .auto_confirm(true)
        .max_risk(RiskLevel::Medium)
}

fn scalar(db: &DataFlow, sql: &str) -> Value {
    let mut out = Value::Null;
    db.with_conn(|c| {
        c.query(sql, &[], &[LogicalType::BigInt], &mut |row| {
            out = std::mem::take(&mut row[0]);
            Ok(())
        })
    })
    .unwrap();
    out
}

fn count(db: &DataFlow, sql: &str) -> i64 {
    match scalar(db, sql) {
        Value::I64(n) => n,
        other => panic!("{sql}: {other:?}"),
    }
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "people")]
struct PersonV1 {
    id: i64,
    email: String,
    nickname: Option<String>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "people")]
struct PersonIndexed {
    id: i64,
    #[dataflow(unique)]
    email: String,
    #[dataflow(index)]
    nickname: Option<String>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "people")]
struct PersonRequired {
    id: i64,
    email: String,
    #[dataflow(default = "anon")]
    nickname: String,
}

fn people(h: &DataFlow, n: usize) {
    let rows: Vec<PersonV1> = (0..n)
        .map(|i| PersonV1 {
            id: 0,
            email: format!("p{i}@x"),
            nickname: (i % 3 != 0).then(|| format!("n{i}")),
        })
        .collect();
    PersonV1::bulk_create(h, &rows).unwrap();
}

#[test]
fn indexes_are_built_concurrently_after_the_commit() {
    let Some(t) = db() else { return };
    let v1 = handle::<PersonV1>(&t);
    v1.auto_migrate(MigrateOptions::default()).unwrap();
    people(&v1, 50);
    let v2 = handle::<PersonIndexed>(&t);
    let r = v2.auto_migrate(opted_in()).unwrap();
    assert!(r.applied && r.in_progress.is_none(), "{}", r.preview());
    assert_eq!(r.steps.len(), 2);
    for s in &r.steps {
        assert!(s.sql_up.is_empty(), "{:?}", s.sql_up);
        assert!(
            matches!(&s.sql_online[..], [OnlineSql::Index { create, .. }] if create.contains("CONCURRENTLY")),
            "{:?}",
            s.sql_online
        );
        assert!(s.reason.contains("CONCURRENTLY"), "{}", s.reason);
    }
    assert!(r.preview().contains("After commit"), "{}", r.preview());
    assert_eq!(
        count(
            &v2,
            "SELECT COUNT(*) FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid \
             WHERE i.relname IN ('ux_people_email', 'ix_people_nickname') AND ix.indisvalid"
        ),
        2
    );
    v2.check().unwrap();
    let h = v2.migration_history().unwrap();
    let last = h.last().unwrap();
    assert_eq!(last.status, MigrationStatus::Applied);
    assert!(last.finished_at.is_some());
    assert!(last.steps.iter().all(|s| s.online_done == 1));
    // Undoing it drops both indexes.
    v2.rollback_last().unwrap();
    v1.check().unwrap();
}

#[test]
fn an_invalid_index_left_by_a_failed_build_is_dropped_and_rebuilt() {
    let Some(t) = db() else { return };
    let v1 = handle::<PersonV1>(&t);
    v1.auto_migrate(MigrateOptions::default()).unwrap();
    people(&v1, 10);
    PersonV1::create(
        &v1,
        PersonV1 {
            id: 0,
            email: "p1@x".into(),
            nickname: None,
        },
    )
    .unwrap();
    // A concurrent unique build over a duplicate fails and leaves its index
    // behind, INVALID, as an interrupted run would.
    let err = v1
        .with_conn(|c| {
            c.batch_execute(
                "CREATE UNIQUE INDEX CONCURRENTLY \"ux_people_email\" ON people (email)",
            )
        })
        .unwrap_err();
    assert!(matches!(err, Error::UniqueViolation { .. }), "{err:?}");
    let invalid = "SELECT COUNT(*) FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid \
                   WHERE i.relname = 'ux_people_email' AND NOT ix.indisvalid";
    assert_eq!(count(&v1, invalid), 1);
    // Not described: the leftover is not an index the model can rely on.
    assert!(v1.describe().unwrap().tables["people"].indexes.is_empty());
    PersonV1::bulk_delete(&v1, PersonV1::EMAIL.eq("p1@x")).unwrap();
    let v2 = handle::<PersonIndexed>(&t);
    let r = v2.auto_migrate(opted_in()).unwrap();
    assert!(r.applied, "{}", r.preview());
    assert_eq!(count(&v2, invalid), 0);
    assert_eq!(
        count(
            &v2,
            "SELECT COUNT(*) FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid \
             WHERE i.relname = 'ux_people_email' AND ix.indisvalid"
        ),
        1
    );
    v2.check().unwrap();
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "owners")]
struct Owner {
    id: i64,
    name: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "pets")]
struct PetV1 {
    id: i64,
    owner_id: i64,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "pets")]
#[dataflow(foreign_key(field = "owner_id", references = "owners(id)"))]
struct PetV2 {
    id: i64,
    owner_id: i64,
}

#[test]
fn foreign_keys_are_added_not_valid_then_validated() {
    let Some(t) = db() else { return };
    let v1 = handle::<Owner>(&t);
    v1.register::<PetV1>().unwrap();
    v1.auto_migrate(MigrateOptions::default()).unwrap();
    let o = Owner::create(
        &v1,
        Owner {
            id: 0,
            name: "o".into(),
        },
    )
    .unwrap();
    PetV1::create(
        &v1,
        PetV1 {
            id: 0,
            owner_id: o.id,
        },
    )
    .unwrap();
    let v2 = handle::<Owner>(&t);
    v2.register::<PetV2>().unwrap();
    let r = v2.auto_migrate(opted_in()).unwrap();
    assert_eq!(r.steps.len(), 1, "{}", r.preview());
    let s = &r.steps[0];
    assert!(s.sql_up[0].ends_with("NOT VALID"), "{:?}", s.sql_up);
    assert!(
        matches!(&s.sql_online[..], [OnlineSql::Statement { sql }] if sql.contains("VALIDATE CONSTRAINT")),
        "{:?}",
        s.sql_online
    );
    assert_eq!(
        count(
            &v2,
            "SELECT COUNT(*) FROM pg_constraint WHERE conname = 'fk_pets_owner_id' AND convalidated"
        ),
        1
    );
    let err = PetV2::create(
        &v2,
        PetV2 {
            id: 0,
            owner_id: o.id + 100,
        },
    )
    .unwrap_err();
    assert!(matches!(err, Error::ForeignKeyViolation { .. }), "{err:?}");
    v2.check().unwrap();
}

fn nulls(h: &DataFlow) -> i64 {
    count(h, "SELECT COUNT(*) FROM people WHERE nickname IS NULL")
}

fn not_null_declared(h: &DataFlow) -> bool {
    matches!(
        scalar(
            h,
            "SELECT a.attnotnull::int::bigint FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
             WHERE c.relname = 'people' AND a.attname = 'nickname'"
        ),
        Value::I64(1)
    )
}

fn checks_left(h: &DataFlow) -> i64 {
    count(
        h,
        "SELECT COUNT(*) FROM pg_constraint WHERE conname LIKE 'df\\_nn\\_%'",
    )
}

#[test]
fn not_null_is_reached_through_a_check_and_a_batched_backfill() {
    let Some(t) = db() else { return };
    let v1 = handle::<PersonV1>(&t);
    v1.auto_migrate(MigrateOptions::default()).unwrap();
    people(&v1, 1_050);
    assert_eq!(nulls(&v1), 350);
    let v2 = handle::<PersonRequired>(&t);
    let r = v2.auto_migrate(opted_in().batch_size(100)).unwrap();
    assert!(r.applied && r.in_progress.is_none(), "{}", r.preview());
    let s = &r.steps[0];
    assert_eq!(s.operation, Operation::AlterColumn);
    assert!(
        s.sql_up.iter().all(|q| !q.contains("SET NOT NULL")),
        "the table-scanning SET NOT NULL must not run in the transaction: {:?}",
        s.sql_up
    );
    assert!(
        s.sql_online
            .iter()
            .any(|o| matches!(o, OnlineSql::Batched { step: 100, .. })),
        "{:?}",
        s.sql_online
    );
    assert_eq!(nulls(&v2), 0);
    assert!(not_null_declared(&v2));
    assert_eq!(checks_left(&v2), 0);
    assert_eq!(
        count(&v2, "SELECT COUNT(*) FROM people WHERE nickname = 'anon'"),
        350
    );
    v2.check().unwrap();
    // Undoing it relaxes the column again (the backfilled values stay).
    v2.rollback_last().unwrap();
    assert!(!not_null_declared(&v2));
}

#[test]
fn a_stopped_online_phase_resumes_where_it_stopped() {
    let Some(t) = db() else { return };
    let v1 = handle::<PersonV1>(&t);
    v1.auto_migrate(MigrateOptions::default()).unwrap();
    people(&v1, 300);
    let v2 = handle::<PersonRequired>(&t);
    // Stop after the first backfill pass and the check, as if killed.
    let r = v2
        .auto_migrate(opted_in().batch_size(50).stop_online_after(2))
        .unwrap();
    let version = r.version.clone().unwrap();
    assert_eq!(r.in_progress.as_deref(), Some(version.as_str()));
    let rec = v2.migration_history().unwrap().pop().unwrap();
    assert_eq!(rec.status, MigrationStatus::InProgress);
    assert_eq!(rec.steps[0].online_done, 2);
    assert!(rec.finished_at.is_none());
    assert_eq!(nulls(&v2), 0, "the first pass ran");
    assert_eq!(checks_left(&v2), 1, "the check was added");
    assert!(!not_null_declared(&v2));
    match v2.check() {
        Err(Error::Drift { differences }) => assert!(
            differences
                .iter()
                .any(|d| d.contains(&version) && d.contains("online phase")),
            "{differences:?}"
        ),
        other => panic!("expected drift while in progress, got {other:?}"),
    }
    // Another start of the same application resumes; nothing is planned again.
    let v3 = handle::<PersonRequired>(&t);
    let again = v3.auto_migrate(opted_in()).unwrap();
    assert!(again.steps.is_empty(), "{}", again.preview());
    assert!(again.in_progress.is_none());
    let rec = v3.migration_history().unwrap().pop().unwrap();
    assert_eq!(rec.version, version);
    assert_eq!(rec.status, MigrationStatus::Applied);
    assert_eq!(rec.steps[0].online_done, rec.steps[0].sql_online.len());
    assert!(not_null_declared(&v3));
    assert_eq!(checks_left(&v3), 0);
    v3.check().unwrap();
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "people")]
struct PersonPhone {
    id: i64,
    email: String,
    nickname: Option<String>,
    phone: Option<String>,
}

/// Holds a lock on `people` from another connection for `hold`.
fn hold_lock(t: &TestDb, hold: Duration) -> std::thread::JoinHandle<()> {
    let other = handle::<PersonV1>(t);
    let (tx, rx) = std::sync::mpsc::channel();
    let j = std::thread::spawn(move || {
        other
            .transaction(|t| {
                t.with_conn(|c| {
                    c.batch_execute("LOCK TABLE people IN ACCESS SHARE MODE")?;
                    tx.send(()).unwrap();
                    std::thread::sleep(hold);
                    Ok(())
                })
            })
            .unwrap();
    });
    rx.recv().unwrap();
    j
}

#[test]
fn a_step_waiting_for_its_lock_gives_up_and_retries() {
    let Some(t) = db() else { return };
    let v1 = handle::<PersonV1>(&t);
    v1.auto_migrate(MigrateOptions::default()).unwrap();
    let v2 = handle::<PersonPhone>(&t);

    // No retries: the step gives up after its lock timeout and nothing applies.
    let j = hold_lock(&t, Duration::from_millis(1_500));
    let err = v2
        .auto_migrate(
            MigrateOptions::default()
                .step_lock_timeout(Duration::from_millis(100))
                .step_retries(0),
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::Busy { .. } | Error::LockTimeout { .. }),
        "{err:?}"
    );
    j.join().unwrap();
    assert!(v2.check().is_err());
    assert_eq!(v2.migration_history().unwrap().len(), 1);

    // With retries and backoff (100, 200, 400, 800 ms …) it gets through once
    // the other transaction ends.
    let j = hold_lock(&t, Duration::from_millis(600));
    let r = v2
        .auto_migrate(
            MigrateOptions::default()
                .step_lock_timeout(Duration::from_millis(100))
                .step_retries(6),
        )
        .unwrap();
    j.join().unwrap();
    assert!(r.applied);
    v2.check().unwrap();
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "people")]
struct PersonOther {
    id: i64,
    email: String,
    #[dataflow(default = "anon")]
    nickname: String,
    #[dataflow(index)]
    joined: Option<chrono::NaiveDate>,
}

/// Holds the migration lock for a session, as a process in its online phase does.
fn hold_migration_lock(t: &TestDb) -> DataFlow {
    let other = dataflow_postgres::PgOptions::new(t.url())
        .pool_size(1)
        .connect()
        .unwrap();
    other
        .with_conn(|c| {
            c.batch_execute("SELECT pg_advisory_lock(25702, hashtext(current_schema()))")
        })
        .unwrap();
    other
}

#[test]
fn while_another_process_finishes_the_online_phase_a_start_with_the_same_models_does_not_wait() {
    let Some(t) = db() else { return };
    let v1 = handle::<PersonV1>(&t);
    v1.auto_migrate(MigrateOptions::default()).unwrap();
    people(&v1, 100);
    let v2 = handle::<PersonRequired>(&t);
    let r = v2.auto_migrate(opted_in().stop_online_after(1)).unwrap();
    let version = r.version.unwrap();

    let holder = hold_migration_lock(&t);
    // Same models: returns at once, naming the migration being finished.
    let same = handle::<PersonRequired>(&t);
    let started = std::time::Instant::now();
    let r = same
        .auto_migrate(opted_in().lock_timeout(Duration::from_secs(20)))
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(!r.applied && r.steps.is_empty());
    assert_eq!(r.in_progress.as_deref(), Some(version.as_str()));
    // Different models: must wait for it to finish, and give up after lock_timeout.
    let different = handle::<PersonOther>(&t);
    let err = different
        .auto_migrate(opted_in().lock_timeout(Duration::from_millis(300)))
        .unwrap_err();
    assert!(matches!(err, Error::LockTimeout { .. }), "{err:?}");
    drop(holder);

    // Once the lock is free, the different models resume the phase, then plan on top.
    let r = different.auto_migrate(opted_in()).unwrap();
    assert!(r.applied, "{}", r.preview());
    let history = different.migration_history().unwrap();
    assert!(
        history.iter().all(|h| h.status == MigrationStatus::Applied),
        "{history:?}"
    );
    different.check().unwrap();
}

#[test]
fn indexes_are_dropped_concurrently_after_the_commit() {
    let Some(t) = db() else { return };
    let v2 = handle::<PersonIndexed>(&t);
    v2.auto_migrate(MigrateOptions::default()).unwrap();
    people(&v2, 20);
    let v1 = handle::<PersonV1>(&t);
    let r = v1.auto_migrate(opted_in()).unwrap();
    assert_eq!(r.steps.len(), 2, "{}", r.preview());
    for s in &r.steps {
        assert_eq!(s.operation, Operation::DropIndex);
        assert!(s.sql_up.is_empty(), "{:?}", s.sql_up);
        assert!(
            matches!(&s.sql_online[..], [OnlineSql::Statement { sql }] if sql.starts_with("DROP INDEX CONCURRENTLY IF EXISTS")),
            "{:?}",
            s.sql_online
        );
    }
    assert!(v1.describe().unwrap().tables["people"].indexes.is_empty());
    v1.check().unwrap();
    // Undoing it builds both again.
    v1.rollback_last().unwrap();
    v2.check().unwrap();
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "people")]
struct PersonNickIndexed {
    id: i64,
    email: String,
    #[dataflow(index)]
    nickname: Option<String>,
}

/// Holds a lock on `people` that a concurrent index build waits for.
fn hold_build_lock(t: &TestDb, hold: Duration) -> std::thread::JoinHandle<()> {
    let other = handle::<PersonV1>(t);
    let (tx, rx) = std::sync::mpsc::channel();
    let j = std::thread::spawn(move || {
        other
            .transaction(|t| {
                t.with_conn(|c| {
                    c.batch_execute("LOCK TABLE people IN SHARE UPDATE EXCLUSIVE MODE")?;
                    tx.send(()).unwrap();
                    std::thread::sleep(hold);
                    Ok(())
                })
            })
            .unwrap();
    });
    rx.recv().unwrap();
    j
}

#[test]
fn an_online_statement_that_cannot_get_its_lock_stays_in_progress_and_resumes() {
    let Some(t) = db() else { return };
    let v1 = handle::<PersonV1>(&t);
    v1.auto_migrate(MigrateOptions::default()).unwrap();
    people(&v1, 50);
    let v2 = handle::<PersonNickIndexed>(&t);
    let j = hold_build_lock(&t, Duration::from_millis(1_500));
    let err = v2
        .auto_migrate(
            MigrateOptions::default()
                .step_lock_timeout(Duration::from_millis(100))
                .step_retries(0),
        )
        .unwrap_err();
    j.join().unwrap();
    assert!(
        matches!(err, Error::Busy { .. } | Error::LockTimeout { .. }),
        "{err:?}"
    );
    // Contention is not a failure: nothing blocks the next start.
    let rec = v2.migration_history().unwrap().pop().unwrap();
    assert_eq!(rec.status, MigrationStatus::InProgress, "{rec:?}");
    assert_eq!(rec.steps[0].online_done, 0);
    let why = rec.error.clone().unwrap_or_default();
    assert!(
        why.contains("statement 1 of 1 of step 1 of 1") && why.contains("resumes"),
        "{why}"
    );
    let again = handle::<PersonNickIndexed>(&t)
        .auto_migrate(MigrateOptions::default())
        .unwrap();
    assert!(!again.applied && again.in_progress.is_none(), "{again:?}");
    let rec = v2.migration_history().unwrap().pop().unwrap();
    assert_eq!(rec.status, MigrationStatus::Applied);
    assert_eq!(rec.error, None);
    assert_eq!(rec.steps[0].online_done, 1);
    v2.check().unwrap();
}

#[test]
fn an_online_statement_that_fails_records_what_is_committed() {
    let Some(t) = db() else { return };
    let v1 = handle::<PersonV1>(&t);
    v1.auto_migrate(MigrateOptions::default()).unwrap();
    people(&v1, 20);
    let v2 = handle::<PersonIndexed>(&t);
    // Committed, no online statement run yet (as if the process died).
    let r = v2.auto_migrate(opted_in().stop_online_after(0)).unwrap();
    let version = r.version.unwrap();
    // A duplicate written meanwhile makes the unique build fail.
    v1.with_conn(|c| c.batch_execute("INSERT INTO people (email) VALUES ('p1@x')"))
        .unwrap();
    let err = handle::<PersonIndexed>(&t)
        .auto_migrate(opted_in())
        .unwrap_err();
    assert!(matches!(err, Error::UniqueViolation { .. }), "{err:?}");
    let rec = v2.migration_history().unwrap().pop().unwrap();
    assert_eq!(rec.version, version);
    assert_eq!(rec.status, MigrationStatus::Failed);
    let why = rec.error.clone().unwrap_or_default();
    assert!(
        why.contains("failed") && why.contains("of 2 online statements"),
        "{why}"
    );
    let done: usize = rec.steps.iter().map(|s| s.online_done).sum();
    assert!(
        why.contains(&format!("{done} of 2 online statements")),
        "{why}"
    );
    // The next start is refused, naming the migration and where it failed.
    match handle::<PersonIndexed>(&t).auto_migrate(opted_in()) {
        Err(Error::MigrationRefused { steps, .. }) => {
            assert!(steps[0].contains(&version) && steps[0].contains("online statement"))
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_start_waiting_for_the_lock_stops_when_its_target_is_committed_by_another() {
    let Some(t) = db() else { return };
    let v1 = handle::<PersonV1>(&t);
    v1.auto_migrate(MigrateOptions::default()).unwrap();
    let holder = hold_migration_lock(&t);
    let v2 = handle::<PersonNickIndexed>(&t);
    let checksum = v2.target_schema().checksum();
    let waiter = std::thread::spawn(move || {
        v2.auto_migrate(MigrateOptions::default().lock_timeout(Duration::from_secs(3)))
    });
    // Let the waiter get past its lock-free checks and start waiting.
    std::thread::sleep(Duration::from_millis(700));
    // As if the holder had committed the same target and were now building.
    holder
        .with_conn(|c| {
            c.execute(
                "INSERT INTO _dataflow_migrations \
                 (version, name, checksum, started_at, steps, status) \
                 VALUES ('29990101000000000000', 'create index people', $1, now(), '[]', 'in_progress')",
                &[Value::Text(checksum)],
            )
            .map(|_| ())
        })
        .unwrap();
    let r = waiter.join().unwrap().unwrap();
    assert!(!r.applied && r.steps.is_empty(), "{r:?}");
    assert_eq!(r.in_progress.as_deref(), Some("29990101000000000000"));
    drop(holder);
}

/// The online phase treats contention as resumable; a deadlock is contention.
#[test]
fn a_deadlock_is_reported_as_busy() {
    let Some(t) = db() else { return };
    let v1 = handle::<PersonV1>(&t);
    v1.auto_migrate(MigrateOptions::default()).unwrap();
    people(&v1, 2);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let run = |first: i64, second: i64| {
        let h = handle::<PersonV1>(&t);
        let barrier = std::sync::Arc::clone(&barrier);
        std::thread::spawn(move || {
            h.transaction(|t| {
                t.with_conn(|c| {
                    let lock = |c: &mut dyn dataflow_core::Connection, id: i64| {
                        c.execute(
                            "SELECT id FROM people WHERE id = $1 FOR UPDATE",
                            &[Value::I64(id)],
                        )
                        .map(|_| ())
                    };
                    lock(c, first)?;
                    barrier.wait();
                    lock(c, second)
                })
            })
        })
    };
    let ids: Vec<i64> = PersonV1::list(&v1)
        .all()
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    let a = run(ids[0], ids[1]);
    let b = run(ids[1], ids[0]);
    let results = [a.join().unwrap(), b.join().unwrap()];
    let errors: Vec<&Error> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(errors.len(), 1, "{results:?}");
    assert!(
        matches!(errors[0], Error::Busy { message } if message.contains("deadlock")),
        "{errors:?}"
    );
}

/// A failed online migration is rolled back by undoing what committed: its
/// transaction, and of its online statements those that ran (an index whose
/// build failed is INVALID or absent, and is dropped if it exists).
#[test]
fn a_failed_online_migration_rolls_back_what_committed() {
    let Some(t) = db() else { return };
    let v1 = handle::<PersonV1>(&t);
    v1.auto_migrate(MigrateOptions::default()).unwrap();
    people(&v1, 20);
    let v2 = handle::<PersonIndexed>(&t);
    let version = v2
        .auto_migrate(opted_in().stop_online_after(0))
        .unwrap()
        .version
        .unwrap();
    v1.with_conn(|c| c.batch_execute("INSERT INTO people (email) VALUES ('p1@x')"))
        .unwrap();
    handle::<PersonIndexed>(&t)
        .auto_migrate(opted_in())
        .unwrap_err();
    assert_eq!(
        v2.migration_history().unwrap().pop().unwrap().status,
        MigrationStatus::Failed
    );
    let r = handle::<PersonV1>(&t).rollback_last().unwrap();
    assert!(r.applied, "{r:?}");
    assert_eq!(r.rolled_back, vec![version.clone()]);
    let history = v1.migration_history().unwrap();
    let undone = history.iter().find(|r| r.version == version).unwrap();
    assert_eq!(undone.status, MigrationStatus::RolledBack);
    // No index of the migration is left, valid or INVALID.
    assert_eq!(
        count(
            &v1,
            "SELECT COUNT(*)::bigint FROM pg_indexes WHERE schemaname = current_schema() \
             AND tablename = 'people' AND indexname <> 'people_pkey'"
        ),
        0
    );
    handle::<PersonV1>(&t).check().unwrap();
    // Once the duplicate is gone, the migration can be made again.
    v1.with_conn(|c| c.batch_execute("DELETE FROM people WHERE id = (SELECT MAX(id) FROM people)"))
        .unwrap();
    let v2 = handle::<PersonIndexed>(&t);
    assert!(v2.auto_migrate(opted_in()).unwrap().applied);
    v2.check().unwrap();
}

/// One task a migration reported progress of.
#[derive(Debug, Clone, Default)]
struct Reported {
    label: String,
    total: u64,
    advanced: u64,
    finished: bool,
}

type Tasks = std::sync::Arc<std::sync::Mutex<Vec<Reported>>>;

/// Keeps the progress a migration reports.
#[derive(Default)]
struct Watcher {
    tasks: Tasks,
}

struct Task {
    tasks: Tasks,
    at: usize,
}

impl dataflow_core::terminal::Progress for Task {
    fn advance(&mut self, n: u64) {
        self.tasks.lock().unwrap()[self.at].advanced += n;
    }

    fn finish(self: Box<Self>) {
        self.tasks.lock().unwrap()[self.at].finished = true;
    }
}

impl dataflow_core::terminal::Interaction for Watcher {
    fn can_confirm(&self) -> bool {
        false
    }

    fn confirm(&self, _: &MigrationReport) -> Result<bool> {
        Ok(false)
    }

    fn start_progress(
        &self,
        label: &str,
        total: u64,
    ) -> Box<dyn dataflow_core::terminal::Progress> {
        let mut tasks = self.tasks.lock().unwrap();
        tasks.push(Reported {
            label: label.to_owned(),
            total,
            ..Reported::default()
        });
        Box::new(Task {
            tasks: std::sync::Arc::clone(&self.tasks),
            at: tasks.len() - 1,
        })
    }
}

#[test]
fn a_batched_backfill_reports_its_progress_to_the_interaction() {
    let Some(t) = db() else { return };
    let v1 = handle::<PersonV1>(&t);
    v1.auto_migrate(MigrateOptions::default()).unwrap();
    people(&v1, 1_050);
    let v2 = handle::<PersonRequired>(&t);
    let watcher = Watcher::default();
    let tasks = std::sync::Arc::clone(&watcher.tasks);
    let r = v2
        .auto_migrate(opted_in().batch_size(100).interaction(watcher))
        .unwrap();
    assert!(r.applied && r.in_progress.is_none(), "{}", r.preview());
    assert_eq!(nulls(&v2), 0);
    let tasks = tasks.lock().unwrap().clone();
    assert!(!tasks.is_empty(), "no progress reported");
    assert_eq!(tasks[0].label, "backfilling people");
    assert!(tasks[0].total > 1, "several batches of 100: {tasks:?}");
    for t in &tasks {
        assert_eq!(t.advanced, t.total, "every batch reported: {t:?}");
        assert!(t.finished, "finished: {t:?}");
    }
}
