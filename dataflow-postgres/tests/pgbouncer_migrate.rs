//! Migrations and `TestDb` behind PgBouncer in transaction mode
//! (`DATAFLOW_PGBOUNCER_URL`, started by `.ci/run` in front of the test
//! server): with a migration URL the online phase runs on the server directly
//! and four processes apply it once; without one, online steps are refused
//! before anything is applied and the rest migrates through the pooler; either
//! way no advisory lock and no session setting is left on the server sessions
//! the pooler hands out.

use std::sync::Mutex;
use std::time::Duration;

use dataflow_core::prelude::*;
use dataflow_core::{Connection as _, LogicalType, Value};
use dataflow_postgres::testing::{server_url, service_url, Isolation, TestDb};
use dataflow_postgres::{PgConn, PgOptions};
use diesel::connection::SimpleConnection;
use diesel::Connection as _;

mod common;

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "pooled_race")]
struct ItemV1 {
    id: i64,
    name: String,
}

/// The same table with an index: built `CONCURRENTLY` in the online phase.
#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "pooled_race")]
struct ItemIndexed {
    id: i64,
    #[dataflow(index)]
    name: String,
}

const URL_ENV: &str = "DATAFLOW_POOLED_RACE_URL";
const DIRECT_ENV: &str = "DATAFLOW_POOLED_RACE_DIRECT";
const START_ENV: &str = "DATAFLOW_POOLED_RACE_START_MS";
const ONLINE_ENV: &str = "DATAFLOW_POOLED_RACE_ONLINE";
const PROCESSES: usize = 4;
/// Enough rows that the concurrent build takes a moment while the others
/// wait, few enough for a test of seconds.
const ROWS: i64 = 50_000;

/// The races share the pooler's 20 server connections per database and user;
/// one at a time keeps them from waiting on each other.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// `url` (the test server, any database) with its database replaced by the
/// one of `database_url` and `query` appended.
fn to_database(url: &str, database_url: &str, query: &str) -> String {
    let name = database_url
        .split('?')
        .next()
        .and_then(|u| u.rsplit('/').next())
        .expect("a database name");
    let base = url.split('?').next().expect("a URL");
    let server = base.rsplit_once('/').map_or(base, |(s, _)| s);
    format!("{server}/{name}{query}")
}

/// A populated table at v1 in a database of its own, and the pooler's URL.
fn populated() -> Option<(TestDb, String)> {
    let pooler = service_url("DATAFLOW_PGBOUNCER_URL")?;
    server_url()?;
    let t = TestDb::builder().build().expect("postgres test database");
    let v1 = PgOptions::new(t.url()).pool_size(1).connect().expect("v1");
    v1.register::<ItemV1>().expect("register");
    v1.auto_migrate(MigrateOptions::default()).expect("v1");
    v1.with_conn(|c| {
        c.batch_execute(&format!(
            "INSERT INTO pooled_race (name) SELECT md5(g::text) \
             FROM generate_series(1, {ROWS}) g; ANALYZE pooled_race"
        ))
    })
    .expect("rows");
    Some((t, pooler))
}

/// Advisory locks held in the test's database, seen from the server.
fn advisory_locks(t: &TestDb) -> i64 {
    let mut n = -1;
    t.with_conn(|c| {
        c.query(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database \
             WHERE l.locktype = 'advisory' AND d.datname = current_database()",
            &[],
            &[LogicalType::BigInt],
            &mut |row| {
                if let Value::I64(v) = row[0] {
                    n = v;
                }
                Ok(())
            },
        )
    })
    .expect("pg_locks");
    n
}

/// `SHOW lock_timeout` and `SHOW statement_timeout` on one connection.
fn timeouts(conn: &mut diesel::PgConnection) -> (String, String) {
    let mut out = Vec::new();
    for name in ["lock_timeout", "statement_timeout"] {
        PgConn(conn)
            .query(
                &format!("SHOW {name}"),
                &[],
                &[LogicalType::Text],
                &mut |row| {
                    if let Value::Text(v) = std::mem::take(&mut row[0]) {
                        out.push(v);
                    }
                    Ok(())
                },
            )
            .expect("SHOW");
    }
    (out[0].clone(), out[1].clone())
}

/// The pooler's server sessions per database and user (`default_pool_size`
/// in `.ci/pg-extras.sh`).
const POOL_SIZE: usize = 20;

/// Every server session the pooler holds for the test's database shows the
/// server's default timeouts: as many client connections as the pool has
/// server sessions each open a transaction, which pins one apiece, and read
/// their settings.
fn assert_no_stray_settings(t: &TestDb, pooler: &str) {
    let mut direct = diesel::PgConnection::establish(t.url()).expect("direct");
    let defaults = timeouts(&mut direct);
    let url = to_database(pooler, t.url(), "");
    let mut held = Vec::new();
    for _ in 0..POOL_SIZE {
        let mut c = diesel::PgConnection::establish(&url).expect("through the pooler");
        c.set_prepared_statement_cache_size(diesel::connection::CacheSize::Disabled);
        c.batch_execute("BEGIN").expect("BEGIN");
        held.push(c);
    }
    for c in &mut held {
        assert_eq!(timeouts(c), defaults, "a server session kept a setting");
    }
    for mut c in held {
        c.batch_execute("ROLLBACK").expect("ROLLBACK");
    }
}

fn open(url: &str, direct: Option<&str>) -> DataFlow {
    let options = PgOptions::new(url).pool_size(1);
    let db = match direct {
        Some(d) => options.migration_url(d),
        None => options,
    }
    .connect()
    .expect("connect");
    db.register::<ItemIndexed>().expect("register");
    db
}

#[test]
#[ignore = "child process of the pooled race tests"]
fn pooled_race_child() {
    let (Ok(url), Ok(start)) = (std::env::var(URL_ENV), std::env::var(START_ENV)) else {
        return;
    };
    let direct = std::env::var(DIRECT_ENV).ok();
    let online = std::env::var(ONLINE_ENV).is_ok_and(|v| v == "true");
    let db = open(&url, direct.as_deref());
    common::wait_until(&start);
    match db.auto_migrate(MigrateOptions::default().online(online)) {
        Ok(report) => println!("APPLIED={}", report.applied),
        Err(e) => println!("ERROR={e}"),
    }
}

/// Four processes migrate v1 → indexed through the pooler at the same
/// moment; returns how many applied and the errors.
fn race(url: &str, direct: Option<&str>, online: bool) -> (usize, Vec<String>) {
    let online = online.to_string();
    let mut env = vec![(URL_ENV, url), (ONLINE_ENV, online.as_str())];
    env.extend(direct.map(|d| (DIRECT_ENV, d)));
    common::run_children(
        "pooled_race_child",
        PROCESSES,
        &env,
        START_ENV,
        Duration::from_millis(2_000),
    )
}

/// Whether the index exists and is valid (a concurrent build that failed
/// leaves an INVALID one).
fn index_valid(t: &TestDb) -> Option<bool> {
    let mut valid = None;
    t.with_conn(|c| {
        c.query(
            "SELECT ix.indisvalid FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid \
             JOIN pg_class r ON r.oid = ix.indrelid \
             WHERE r.relname = 'pooled_race' AND NOT ix.indisprimary",
            &[],
            &[LogicalType::Bool],
            &mut |row| {
                valid = Some(matches!(row[0], Value::Bool(true)));
                Ok(())
            },
        )
    })
    .expect("pg_index");
    valid
}

fn history(t: &TestDb) -> Vec<MigrationStatus> {
    let db = open(t.url(), None);
    db.migration_history()
        .expect("history")
        .into_iter()
        .map(|r| r.status)
        .collect()
}

#[test]
fn four_processes_migrate_online_through_the_pooler_with_a_migration_url_once() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let Some((t, pooler)) = populated() else {
        return;
    };
    let url = to_database(&pooler, t.url(), "?pooler=transaction");
    let (applied, errors) = race(&url, Some(t.url()), true);
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(applied, 1);
    assert_eq!(
        history(&t),
        [MigrationStatus::Applied, MigrationStatus::Applied]
    );
    assert_eq!(index_valid(&t), Some(true), "built concurrently and valid");
    assert_eq!(advisory_locks(&t), 0, "an advisory lock was left behind");
    assert_no_stray_settings(&t, &pooler);
    open(&url, Some(t.url())).check().expect("schema matches");
}

#[test]
fn four_processes_migrate_through_the_pooler_without_online_steps_once() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let Some((t, pooler)) = populated() else {
        return;
    };
    // No migration URL: the lock is each attempt's transaction's own.
    let url = to_database(&pooler, t.url(), "?pooler=transaction");
    let (applied, errors) = race(&url, None, false);
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(applied, 1);
    assert_eq!(
        history(&t),
        [MigrationStatus::Applied, MigrationStatus::Applied]
    );
    assert_eq!(index_valid(&t), Some(true));
    assert_eq!(advisory_locks(&t), 0, "an advisory lock was left behind");
    assert_no_stray_settings(&t, &pooler);
}

/// Online steps through the pooler without a migration URL: refused naming
/// the option, nothing applied, no lock, no setting left; with the pooler
/// declared in the URL and with it only detected.
#[test]
fn online_steps_through_the_pooler_without_a_migration_url_are_refused() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let Some((t, pooler)) = populated() else {
        return;
    };
    for query in ["?pooler=transaction", "?prepared_statements=false"] {
        let db = open(&to_database(&pooler, t.url(), query), None);
        let err = db
            .auto_migrate(MigrateOptions::default())
            .expect_err("online steps need a session");
        assert!(
            matches!(err, Error::NeedsSession { .. }),
            "{query}: {err:?}"
        );
        let message = err.to_string();
        assert!(message.contains("migration_url"), "{message}");
        assert!(message.contains("online(false)"), "{message}");
        assert_eq!(history(&t), [MigrationStatus::Applied], "{query}");
        assert_eq!(index_valid(&t), None, "{query}: nothing applied");
        assert_eq!(advisory_locks(&t), 0, "{query}: a lock was left behind");
    }
    assert_no_stray_settings(&t, &pooler);
}

/// Behind a transaction pooler `statement_timeout` would be a session
/// setting left for other clients: refused at connect.
#[test]
fn statement_timeout_behind_a_transaction_pooler_is_refused() {
    let Some(pooler) = service_url("DATAFLOW_PGBOUNCER_URL") else {
        return;
    };
    let base = pooler.split('?').next().unwrap();
    // Declared, and found by the probe.
    for url in [
        format!("{base}?pooler=transaction"),
        format!("{base}?prepared_statements=false"),
    ] {
        let err = PgOptions::new(url.as_str())
            .statement_timeout(Duration::from_secs(5))
            .connect()
            .expect_err("a session setting through a transaction pooler");
        assert!(
            matches!(&err, Error::InvalidInput(m) if m.contains("ALTER ROLE")),
            "{url}: {err:?}"
        );
    }
    // The server itself takes it.
    if let Some(direct) = server_url() {
        PgOptions::new(direct)
            .statement_timeout(Duration::from_secs(5))
            .connect()
            .expect("direct");
    }
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "pooled_notes")]
struct Note {
    id: i64,
    #[dataflow(index)]
    title: String,
}

/// `TestDb` with CRUD through the pooler and administration direct, in both
/// isolation modes; a second build of the same models reuses the template,
/// so the build lock was released.
#[test]
fn test_db_through_the_pooler_with_a_migration_url_in_both_isolation_modes() {
    let Some(pooler) = service_url("DATAFLOW_PGBOUNCER_URL") else {
        return;
    };
    let Some(direct) = server_url() else { return };
    let pooled = format!("{}?pooler=transaction", pooler.split('?').next().unwrap());
    let pooler_host = pooler.split('/').nth(2).expect("host");
    let direct_host = direct.split('/').nth(2).expect("host");
    for isolation in [Isolation::Database, Isolation::Transaction] {
        for round in 0..2 {
            let t = TestDb::builder()
                .url(pooled.as_str())
                .migration_url(direct.as_str())
                .isolation(isolation)
                .model::<Note>()
                .build()
                .unwrap_or_else(|e| panic!("{isolation:?} round {round}: {e}"));
            // CRUD through the pooler, administration and migrations direct.
            assert!(t.url().contains(pooler_host), "{}", t.url());
            assert!(
                t.migration_url().is_some_and(|m| m.contains(direct_host)),
                "{:?}",
                t.migration_url()
            );
            let n = Note::create(
                &t,
                Note {
                    id: 0,
                    title: format!("r{round}"),
                },
            )
            .unwrap();
            assert_eq!(Note::read(&t, n.id).unwrap(), Some(n.clone()));
            assert_eq!(Note::list(&t).count().unwrap(), 1, "{isolation:?}");
            // The test's handle migrates direct: nothing to do, the template
            // has the schema.
            assert!(t.check().is_ok(), "{isolation:?}");
        }
    }
}

/// Without a migration URL a `TestDb` whose URL is a transaction pooler is
/// refused before anything is made, naming the builder option: its build lock
/// would stay on a pooled server session.
#[test]
fn test_db_through_the_pooler_without_a_migration_url_is_refused() {
    let Some(pooler) = service_url("DATAFLOW_PGBOUNCER_URL") else {
        return;
    };
    let base = pooler.split('?').next().unwrap().to_owned();
    for url in [format!("{base}?pooler=transaction"), base] {
        let err = TestDb::builder()
            .url(url.as_str())
            .model::<Note>()
            .build()
            .expect_err("administration needs a session");
        assert!(
            matches!(&err, Error::NeedsSession { remedy, .. } if remedy.contains("migration_url")),
            "{url}: {err:?}"
        );
    }
}
