//! PostgreSQL only: sixteen processes start `auto_migrate` at the same moment
//! on a populated table whose new model version needs online steps (an index
//! built CONCURRENTLY; a NOT NULL reached through a batched backfill). The
//! processes that wait for the migration lock must not hold a snapshot the
//! holder's concurrent build waits for: none errors, exactly one applies, and
//! the history records no `failed` migration.

use std::sync::Mutex;
use std::time::Duration;

use dataflow_core::prelude::*;
use dataflow_postgres::testing::TestDb;

mod common;

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "race_items")]
struct ItemV1 {
    id: i64,
    name: String,
    tag: Option<String>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "race_items")]
struct ItemIndexed {
    id: i64,
    #[dataflow(index)]
    name: String,
    tag: Option<String>,
}

/// NULL → NOT NULL backfilled from the default, and an index on the column:
/// the concurrent build runs after the backfill has committed.
#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "race_items")]
struct ItemTagRequired {
    id: i64,
    name: String,
    #[dataflow(default = "none", index)]
    tag: String,
}

const URL_ENV: &str = "DATAFLOW_ONLINE_RACE_URL";
const START_ENV: &str = "DATAFLOW_ONLINE_RACE_START_MS";
const KIND_ENV: &str = "DATAFLOW_ONLINE_RACE_KIND";
const PROCESSES: usize = 16;
/// Enough rows that the concurrent build and the backfill take a while (the
/// waiters are there for all of it), few enough to keep the test in seconds.
const ROWS: i64 = 200_000;

/// The races run one at a time: each child holds two connections (its pool's
/// one and the migration lock's own), and two races at once would come close
/// to the server's default `max_connections` of 100.
static ONE_RACE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn open(url: &str, kind: &str) -> DataFlow {
    let db = dataflow_postgres::PgOptions::new(url)
        .pool_size(1)
        .connect()
        .expect("connect");
    match kind {
        "v1" => db.register::<ItemV1>(),
        "index" => db.register::<ItemIndexed>(),
        "not_null" => db.register::<ItemTagRequired>(),
        other => panic!("unknown kind {other}"),
    }
    .expect("register");
    db
}

fn options(kind: &str) -> MigrateOptions {
    match kind {
        // Non-unique index: SAFE, so the default options apply it.
        "index" => MigrateOptions::default(),
        // NULL → NOT NULL backfilled from the default: MEDIUM.
        _ => MigrateOptions::default()
            .auto_confirm(true)
            .max_risk(RiskLevel::Medium),
    }
}

/// A populated table at v1, in a database of its own.
fn populated() -> Option<TestDb> {
    dataflow_postgres::testing::server_url()?;
    let t = TestDb::builder().build().expect("postgres test database");
    let v1 = open(t.url(), "v1");
    v1.auto_migrate(MigrateOptions::default()).expect("v1");
    v1.with_conn(|c| {
        c.batch_execute(&format!(
            "INSERT INTO race_items (name, tag) \
             SELECT md5(g::text), CASE WHEN g % 3 = 0 THEN NULL ELSE 't' || g END \
             FROM generate_series(1, {ROWS}) g; ANALYZE race_items"
        ))
    })
    .expect("rows");
    Some(t)
}

#[test]
#[ignore = "child process of the online race tests"]
fn online_race_child() {
    let (Ok(url), Ok(start), Ok(kind)) = (
        std::env::var(URL_ENV),
        std::env::var(START_ENV),
        std::env::var(KIND_ENV),
    ) else {
        return;
    };
    let db = open(&url, &kind);
    common::wait_until(&start);
    match db.auto_migrate(options(&kind)) {
        Ok(report) => println!("APPLIED={}", report.applied),
        Err(e) => println!("ERROR={e}"),
    }
}

fn race(kind: &str) {
    let _one = ONE_RACE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let Some(t) = populated() else { return };
    let (applied, errors) = common::run_children(
        "online_race_child",
        PROCESSES,
        &[(URL_ENV, t.url()), (KIND_ENV, kind)],
        START_ENV,
        Duration::from_millis(2_500),
    );
    let db = open(t.url(), kind);
    let history = db.migration_history().expect("history");
    let statuses: Vec<_> = history.iter().map(|r| (&r.version, r.status)).collect();
    assert!(errors.is_empty(), "{errors:#?}\nhistory: {statuses:?}");
    assert_eq!(applied, 1, "history: {statuses:?}");
    assert_eq!(history.len(), 2, "{statuses:?}");
    assert!(
        history.iter().all(|r| r.status == MigrationStatus::Applied),
        "{statuses:?}"
    );
    db.check().expect("schema matches the models");
}

#[test]
fn sixteen_processes_add_an_index_online_once() {
    race("index");
}

#[test]
fn sixteen_processes_backfill_a_not_null_column_online_once() {
    race("not_null");
}
