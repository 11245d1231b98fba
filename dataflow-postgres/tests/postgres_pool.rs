//! The pool's checkout check against connections the server has dropped: an
//! idle connection is pinged before use; a call that finds its connection lost
//! gets it discarded.

use dataflow_core::prelude::*;
use dataflow_core::{LogicalType, Value};
use dataflow_postgres::testing::TestDb;

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "pings")]
struct Ping {
    id: i64,
    note: String,
}

fn db() -> Option<TestDb> {
    dataflow_postgres::testing::server_url()?;
    Some(TestDb::builder().model::<Ping>().build().unwrap())
}

/// Terminates every other session on the test database.
fn kill_others(t: &TestDb) {
    let killer = dataflow_postgres::PgOptions::new(t.url())
        .pool_size(1)
        .connect()
        .unwrap();
    killer
        .with_conn(|c| {
            c.batch_execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
        })
        .unwrap();
}

fn one_connection(t: &TestDb, check: bool) -> DataFlow {
    let h = dataflow_postgres::PgOptions::new(t.url())
        .pool_size(1)
        .check_on_checkout(check)
        .connect()
        .unwrap();
    h.register::<Ping>().unwrap();
    Ping::create(
        &h,
        Ping {
            id: 0,
            note: "warm".into(),
        },
    )
    .unwrap();
    h
}

#[test]
fn a_dropped_connection_is_replaced_before_use_when_checked() {
    let Some(t) = db() else { return };
    let h = one_connection(&t, true);
    kill_others(&t);
    // Idle for longer than the bypass window: pinged, found dead, replaced.
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    assert_eq!(Ping::list(&h).count().unwrap(), 1);
}

#[test]
fn unchecked_a_dropped_connection_fails_one_call_then_is_replaced() {
    let Some(t) = db() else { return };
    let h = one_connection(&t, false);
    kill_others(&t);
    let err = Ping::list(&h).count().unwrap_err();
    assert!(
        matches!(err, Error::Database(_) | Error::Connection(_)),
        "{err:?}"
    );
    assert_eq!(Ping::list(&h).count().unwrap(), 1);
}

#[test]
fn a_connection_used_within_the_last_second_is_not_pinged() {
    let Some(t) = db() else { return };
    let h = one_connection(&t, true);
    kill_others(&t);
    wait_until_gone(&t);
    // Used a moment ago: trusted without a round trip (no `SELECT 1`), but
    // what the server sent when it dropped the session is read locally at
    // checkout, so the dead connection is replaced before the call runs.
    assert_eq!(Ping::list(&h).count().unwrap(), 1);
    assert_eq!(Ping::list(&h).count().unwrap(), 1);
}

/// Waits (bounded) until the sessions `kill_others` terminated are gone.
fn wait_until_gone(t: &TestDb) {
    let watcher = dataflow_postgres::PgOptions::new(t.url())
        .pool_size(1)
        .connect()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let mut others = Value::Null;
        watcher
            .with_conn(|c| {
                c.query(
                    "SELECT COUNT(*) FROM pg_stat_activity \
                     WHERE datname = current_database() AND pid <> pg_backend_pid()",
                    &[],
                    &[LogicalType::BigInt],
                    &mut |r| {
                        others = std::mem::take(&mut r[0]);
                        Ok(())
                    },
                )
            })
            .unwrap();
        if others == Value::I64(0) || std::time::Instant::now() > deadline {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn every_dead_pooled_connection_is_replaced_before_use() {
    let Some(t) = db() else { return };
    let h = dataflow_postgres::PgOptions::new(t.url())
        .pool_size(4)
        .check_on_checkout(true)
        .connect()
        .unwrap();
    h.register::<Ping>().unwrap();
    Ping::create(
        &h,
        Ping {
            id: 0,
            note: "warm".into(),
        },
    )
    .unwrap();
    // Four connections in the pool, all used just now.
    let barrier = std::sync::Barrier::new(4);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                h.with_conn(|c| {
                    barrier.wait();
                    c.batch_execute("SELECT 1")
                })
                .unwrap();
            });
        }
    });
    kill_others(&t);
    wait_until_gone(&t);
    for _ in 0..8 {
        assert_eq!(Ping::list(&h).count().unwrap(), 1);
    }
}
