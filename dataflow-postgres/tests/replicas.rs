//! Read replicas against a real streaming replica (`DATAFLOW_PG_PRIMARY_URL`,
//! `DATAFLOW_PG_REPLICA_URL`, `DATAFLOW_PG_REPLICA_DATA`, which `.ci/run`
//! starts): where reads go, the read-your-writes window, and reads that keep
//! working while the replica is stopped and return to it once it starts.
//!
//! Which server answered is read from the server itself: the `whereami` view
//! selects `pg_is_in_recovery()` and `inet_server_port()`, and a typed read
//! of it goes wherever typed reads go.
//!
//! Every test here uses the one replica, and some stop it, so they run one at
//! a time (`SERIAL`); each uses a database of its own, made on the primary
//! (it replicates), and a stopped replica is started again even when the
//! test fails.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use dataflow_core::prelude::*;
use dataflow_core::{LogicalType, Value};
use dataflow_postgres::testing::service_url;
use dataflow_postgres::PgOptions;

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "whereami")]
struct Whereami {
    id: i64,
    standby: bool,
    port: i32,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "notes")]
struct Note {
    id: i64,
    body: String,
}

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The primary, its replica and the replica's data directory.
struct Pair {
    primary: String,
    replica: String,
    data: String,
}

fn pair() -> Option<Pair> {
    Some(Pair {
        replica: service_url("DATAFLOW_PG_REPLICA_URL")?,
        primary: service_url("DATAFLOW_PG_PRIMARY_URL")?,
        data: service_url("DATAFLOW_PG_REPLICA_DATA")?,
    })
}

/// `url` naming database `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let server = base.rsplit_once('/').map_or(base, |(s, _)| s);
    match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    }
}

fn port_of(url: &str) -> i32 {
    let base = url.split('?').next().unwrap_or(url);
    let host = base.rsplit_once('@').map_or(base, |(_, h)| h);
    let host = host.split('/').next().unwrap_or(host);
    host.rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .expect("a URL with a port")
}

/// A database of one test, made on the primary, with the `whereami` view and
/// a `notes` table, and already replayed by the replica; dropped at the end.
struct Scratch {
    admin: DataFlow,
    name: String,
    primary: String,
    replica: String,
}

impl Scratch {
    fn new(pair: &Pair, tag: &str) -> Scratch {
        let admin = PgOptions::new(pair.primary.as_str())
            .pool_size(1)
            .connect()
            .unwrap();
        let name = format!("df_replicas_{}_{tag}", std::process::id());
        admin
            .with_conn(|c| {
                c.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            })
            .unwrap();
        admin
            .with_conn(|c| c.batch_execute(&format!("CREATE DATABASE \"{name}\"")))
            .unwrap();
        let scratch = Scratch {
            admin,
            primary: with_database(&pair.primary, &name),
            replica: with_database(&pair.replica, &name),
            name,
        };
        let db = PgOptions::new(scratch.primary.as_str())
            .pool_size(1)
            .connect()
            .unwrap();
        db.with_conn(|c| {
            c.batch_execute(
                "CREATE VIEW whereami AS SELECT 1::bigint AS id, pg_is_in_recovery() AS standby, \
                 inet_server_port() AS port; \
                 CREATE TABLE notes (id BIGSERIAL PRIMARY KEY, body TEXT NOT NULL)",
            )
        })
        .unwrap();
        scratch.wait_for_replay();
        scratch
    }

    /// Waits (bounded) until the replica has the database and its tables.
    fn wait_for_replay(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let seen = PgOptions::new(self.replica.as_str())
                .pool_size(1)
                .connect()
                .and_then(|r| {
                    r.with_conn(|c| {
                        one_bool(
                            c,
                            "SELECT count(*) = 2 FROM pg_class \
                             WHERE relname IN ('whereami', 'notes')",
                        )
                    })
                });
            match seen {
                Ok(true) => return,
                _ if Instant::now() > deadline => {
                    panic!("the replica did not replay database {} in 30 s", self.name)
                }
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// A handle on the primary reading from the replica.
    fn handle(&self, window: Duration) -> DataFlow {
        let db = PgOptions::new(self.primary.as_str())
            .read_urls([self.replica.as_str()])
            .read_your_writes(window)
            .connect_timeout(Duration::from_secs(2))
            .pool_size(4)
            .connect()
            .unwrap();
        db.register::<Whereami>().unwrap();
        db.register::<Note>().unwrap();
        db
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let drop = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        if let Err(e) = self.admin.with_conn(|c| c.batch_execute(&drop)) {
            eprintln!("could not drop {}: {e}", self.name);
        }
    }
}

/// Where a typed read went: `(standby, port)`.
fn typed_read(db: &DataFlow) -> (bool, i32) {
    let w = Whereami::read(db, 1).unwrap().expect("the whereami row");
    (w.standby, w.port)
}

/// The one boolean `sql` selects on `c`.
fn one_bool(c: &mut dyn dataflow_core::Connection, sql: &str) -> dataflow_core::Result<bool> {
    let mut found = None;
    c.query(sql, &[], &[LogicalType::Bool], &mut |row| {
        found = Some(row[0] == Value::Bool(true));
        Ok(())
    })?;
    Ok(found.expect("one row"))
}

/// Whether raw SQL through `with_read_conn` ran on a standby.
fn raw_read_on_standby(db: &DataFlow) -> bool {
    db.with_read_conn(|c| one_bool(c, "SELECT pg_is_in_recovery()"))
        .unwrap()
}

#[test]
fn reads_go_to_the_replica_and_a_write_keeps_them_on_the_primary_for_the_window() {
    let Some(pair) = pair() else { return };
    let _serial = serial();
    let scratch = Scratch::new(&pair, "window");
    let (primary_port, replica_port) = (port_of(&pair.primary), port_of(&pair.replica));
    let window = Duration::from_millis(800);
    let db = scratch.handle(window);

    // Nothing written through this handle yet: typed reads, lists, counts and
    // declared read-only raw SQL all go to the replica.
    assert_eq!(typed_read(&db), (true, replica_port));
    let all = Whereami::list(&db).all().unwrap();
    assert_eq!(all.len(), 1);
    assert!(all[0].standby, "a list runs on the replica");
    assert_eq!(
        Whereami::list(&db)
            .filter(Whereami::STANDBY.eq(true))
            .count()
            .unwrap(),
        1
    );
    assert!(raw_read_on_standby(&db));

    // A write, and the read right after it: on the primary, which has it.
    let note = Note::create(
        &db,
        Note {
            id: 0,
            body: "fresh".into(),
        },
    )
    .unwrap();
    let wrote_at = Instant::now();
    assert_eq!(Note::read(&db, note.id).unwrap(), Some(note.clone()));
    assert_eq!(typed_read(&db), (false, primary_port));
    assert!(!raw_read_on_standby(&db));
    assert!(
        wrote_at.elapsed() < window,
        "the reads after the write took longer than the window; the test proves nothing"
    );

    // After the window: the replica again, which has replayed the note by now.
    std::thread::sleep(window.saturating_sub(wrote_at.elapsed()) + Duration::from_millis(50));
    assert_eq!(typed_read(&db), (true, replica_port));
    let deadline = Instant::now() + Duration::from_secs(10);
    while Note::read(&db, note.id).unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "the replica never replayed the note"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        typed_read(&db),
        (true, replica_port),
        "reading the note wrote nothing"
    );

    // Raw SQL of unknown kind goes to the primary and counts as a write.
    let on_standby = db
        .with_conn(|c| one_bool(c, "SELECT pg_is_in_recovery()"))
        .unwrap();
    assert!(!on_standby);
    assert_eq!(typed_read(&db), (false, primary_port));

    // Inside a transaction every read is on the primary, whatever the time.
    std::thread::sleep(window + Duration::from_millis(50));
    assert_eq!(typed_read(&db), (true, replica_port));
    let inside = db
        .transaction(|tx| {
            let w = Whereami::read(tx, 1)?.expect("the whereami row");
            let raw = raw_read_on_standby(tx);
            Ok((w.standby, w.port, raw))
        })
        .unwrap();
    assert_eq!(inside, (false, primary_port, false));
    // The transaction counts as a write too.
    assert_eq!(typed_read(&db), (false, primary_port));
}

#[test]
fn with_a_zero_window_a_read_right_after_a_write_may_be_stale_but_goes_to_the_replica() {
    let Some(pair) = pair() else { return };
    let _serial = serial();
    let scratch = Scratch::new(&pair, "zero");
    let db = scratch.handle(Duration::ZERO);
    Note::create(
        &db,
        Note {
            id: 0,
            body: "x".into(),
        },
    )
    .unwrap();
    assert_eq!(typed_read(&db), (true, port_of(&pair.replica)));
}

/// Stops the replica; starts it again when dropped if it is still stopped,
/// so a failing test leaves it running for the others.
struct Stopped<'a> {
    data: &'a str,
    running: bool,
}

fn pg_ctl(args: &[&str]) -> std::process::Output {
    let bin = std::fs::read_dir("/usr/lib/postgresql")
        .ok()
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin/pg_ctl"))
        .filter(|p| p.exists())
        .max_by_key(|p| {
            p.parent()
                .and_then(|b| b.parent())
                .and_then(|v| v.file_name())
                .and_then(|v| v.to_str())
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(0)
        })
        .unwrap_or_else(|| "pg_ctl".into());
    // The clusters belong to `postgres`; as root, run pg_ctl as that user.
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let mut cmd = if root {
        let mut c = std::process::Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&bin);
        c
    } else {
        std::process::Command::new(&bin)
    };
    cmd.args(args).output().expect("pg_ctl runs")
}

impl<'a> Stopped<'a> {
    fn stop(data: &'a str) -> Self {
        let out = pg_ctl(&["-D", data, "-m", "fast", "-w", "stop"]);
        assert!(
            out.status.success(),
            "stopping the replica: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Stopped {
            data,
            running: false,
        }
    }

    fn start(&mut self) {
        let log = format!("{}/../replica.log", self.data);
        let out = pg_ctl(&["-D", self.data, "-l", &log, "-w", "start"]);
        assert!(
            out.status.success(),
            "starting the replica: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.running = true;
    }
}

impl Drop for Stopped<'_> {
    fn drop(&mut self) {
        if !self.running {
            let log = format!("{}/../replica.log", self.data);
            let out = pg_ctl(&["-D", self.data, "-l", &log, "-w", "start"]);
            if !out.status.success() {
                eprintln!(
                    "could not start the replica again: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
}

#[test]
fn a_stopped_replica_sends_reads_to_the_primary_without_an_error_and_they_return_after_it_starts() {
    let Some(pair) = pair() else { return };
    let _serial = serial();
    let scratch = Scratch::new(&pair, "outage");
    let (primary_port, replica_port) = (port_of(&pair.primary), port_of(&pair.replica));
    let db = scratch.handle(Duration::from_millis(200));
    Note::create(
        &db,
        Note {
            id: 0,
            body: "kept".into(),
        },
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(typed_read(&db), (true, replica_port));

    let mut stopped = Stopped::stop(&pair.data);
    // Past the first back-off, so the replica is tried again (and still
    // refuses) while it is down.
    let until = Instant::now() + Duration::from_millis(2_500);
    let mut reads = 0;
    let mut slowest = Duration::ZERO;
    while Instant::now() < until {
        let t = Instant::now();
        assert_eq!(typed_read(&db), (false, primary_port));
        assert_eq!(Note::list(&db).count().unwrap(), 1);
        assert!(!raw_read_on_standby(&db));
        slowest = slowest.max(t.elapsed());
        reads += 1;
    }
    assert!(reads > 10, "{reads} rounds of reads in 2.5 s");
    // Bounded well below the connect timeout (2 s): a refused connection is
    // seen at once, and the replica is then skipped.
    assert!(
        slowest < Duration::from_secs(1),
        "slowest round: {slowest:?}"
    );

    stopped.start();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match typed_read(&db) {
            (true, port) => {
                assert_eq!(port, replica_port);
                break;
            }
            (false, _) => {
                assert!(
                    Instant::now() < deadline,
                    "reads did not return to the replica within 60 s of its start"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    assert_eq!(Note::list(&db).count().unwrap(), 1);
}

/// Waits (bounded) until a session on the replica at `url` runs `pg_sleep`.
fn wait_for_sleeper(url: &str) {
    let watcher = PgOptions::new(url).pool_size(1).connect().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let on = watcher
            .with_conn(|c| {
                one_bool(
                    c,
                    "SELECT count(*) > 0 FROM pg_stat_activity \
                     WHERE query LIKE '%FROM pg_sleep(3)%' AND pid <> pg_backend_pid()",
                )
            })
            .unwrap();
        if on {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the read never started on the replica"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_read_whose_replica_stops_under_it_is_answered_by_the_primary() {
    let Some(pair) = pair() else { return };
    let _serial = serial();
    let scratch = Scratch::new(&pair, "midread");
    let db = scratch.handle(Duration::ZERO);
    assert!(raw_read_on_standby(&db));

    let runs = std::sync::atomic::AtomicUsize::new(0);
    let (standby, stopped) = std::thread::scope(|s| {
        let reader = s.spawn(|| {
            db.with_read_conn(|c| {
                runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                one_bool(c, "SELECT pg_is_in_recovery() FROM pg_sleep(3)")
            })
        });
        // The read is under way on the replica when it stops.
        wait_for_sleeper(&scratch.replica);
        let stopped = Stopped::stop(&pair.data);
        (reader.join().expect("the reader"), stopped)
    });
    drop(stopped);
    assert!(!standby.unwrap(), "answered by the primary");
    assert_eq!(
        runs.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "run on the replica, then again on the primary"
    );
}

#[test]
fn a_replica_that_refuses_connections_is_passed_over_for_the_next_one() {
    let Some(pair) = pair() else { return };
    let _serial = serial();
    let scratch = Scratch::new(&pair, "passover");
    // A port nothing listens on: connections are refused.
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let dead = format!("postgres://postgres@127.0.0.1:{dead_port}/{}", scratch.name);
    let db = PgOptions::new(scratch.primary.as_str())
        .read_urls([dead.as_str(), scratch.replica.as_str()])
        .read_your_writes(Duration::ZERO)
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .unwrap();
    db.register::<Whereami>().unwrap();
    let replica_port = port_of(&pair.replica);
    // Round robin starts at each replica in turn: every read, whichever it
    // tries first, is answered by the live one.
    for _ in 0..20 {
        let t = Instant::now();
        assert_eq!(typed_read(&db), (true, replica_port));
        assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    }
}

#[test]
fn a_replica_url_that_is_not_postgres_is_refused_when_connecting() {
    let err = PgOptions::new("postgres://postgres@127.0.0.1:1/db")
        .read_urls(["mysql://replica/db"])
        .connect()
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput(m) if m.contains("mysql://replica/db")),
        "{err:?}"
    );
}

#[test]
fn a_replica_url_declaring_a_transaction_pooler_refuses_a_statement_timeout() {
    // The primary is declared direct, so nothing probes it; the port is
    // closed, so getting past the replica's check shows as a connection error.
    let connect = |replica: &str| {
        PgOptions::new("postgres://postgres@127.0.0.1:1/db?pooler=direct")
            .statement_timeout(Duration::from_secs(5))
            .read_urls([replica])
            .connect()
            .unwrap_err()
    };
    let err = connect("postgres://postgres@127.0.0.1:1/db?pooler=transaction");
    assert!(
        matches!(&err, Error::InvalidInput(m) if m.contains("statement_timeout")),
        "{err:?}"
    );
    // Without the replica's own ?pooler=, nothing refuses the setting.
    let err = connect("postgres://postgres@127.0.0.1:1/db");
    assert!(matches!(&err, Error::Connection(_)), "{err:?}");
}
