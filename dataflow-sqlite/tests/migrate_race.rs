//! Racing reconciles on one fresh SQLite file: threads with handles of their
//! own and separate processes start `auto_migrate` at the same moment, and
//! exactly one of them applies the plan while the others find nothing left to
//! do; a reconcile that cannot get the migration lock in time gives up with
//! `Error::LockTimeout`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use dataflow_core::prelude::*;
use dataflow_core::MigrationStatus;

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "race_accounts")]
#[dataflow(index(fields("owner", "opened")))]
struct Account {
    id: i64,
    #[dataflow(unique, max_length = 64)]
    owner: String,
    opened: Option<i64>,
    #[dataflow(default = true)]
    active: bool,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "race_entries")]
#[dataflow(foreign_key(
    field = "account_id",
    references = "race_accounts(id)",
    on_delete = "cascade"
))]
struct Entry {
    id: i64,
    account_id: i64,
    amount: f64,
    memo: Option<String>,
}

/// The database file the child process migrates.
const DB_ENV: &str = "DATAFLOW_RACE_DB";
/// When the child starts migrating, in milliseconds since the Unix epoch.
const START_ENV: &str = "DATAFLOW_RACE_START_MS";

fn open(path: &Path) -> DataFlow {
    let db = dataflow_sqlite::open(path).expect("open");
    db.register_all(models![Account, Entry]).expect("register");
    db
}

/// One migration in the history, applied, the schema matching the models, and
/// the tables usable.
fn assert_migrated_once(path: &Path) {
    let db = open(path);
    let history = db.migration_history().expect("history");
    assert_eq!(history.len(), 1, "{history:#?}");
    assert_eq!(history[0].status, MigrationStatus::Applied);
    assert_eq!(history[0].steps.len(), 2, "{:#?}", history[0].steps);
    db.check().expect("live schema matches the models");
    let a = Account::create(
        &db,
        Account {
            id: 0,
            owner: "ann".into(),
            opened: None,
            active: true,
        },
    )
    .expect("create account");
    Entry::create(
        &db,
        Entry {
            id: 0,
            account_id: a.id,
            amount: 1.5,
            memo: None,
        },
    )
    .expect("create entry");
}

#[test]
fn eight_threads_migrate_one_fresh_file_once() {
    const THREADS: usize = 8;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("race.db");
    // Handles are opened one after another: opening a fresh file from several
    // threads at once is its own bug (`concurrent_opens_of_a_fresh_file_succeed`).
    // The race here is between the reconciles.
    let dbs: Vec<DataFlow> = (0..THREADS).map(|_| open(&path)).collect();
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = dbs
        .into_iter()
        .map(|db| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                db.auto_migrate(MigrateOptions::default())
            })
        })
        .collect();
    let reports: Vec<MigrationReport> = handles
        .into_iter()
        .map(|h| match h.join().expect("thread") {
            Ok(r) => r,
            Err(e) => panic!("auto_migrate failed: {e}"),
        })
        .collect();
    let applied: Vec<&MigrationReport> = reports.iter().filter(|r| r.applied).collect();
    assert_eq!(applied.len(), 1, "{reports:#?}");
    assert_eq!(applied[0].steps.len(), 2, "{}", applied[0].preview());
    assert!(applied[0].version.is_some());
    for r in reports.iter().filter(|r| !r.applied) {
        assert!(r.steps.is_empty(), "a loser planned work:\n{}", r.preview());
        assert!(r.version.is_none());
    }
    assert_migrated_once(&path);
}

#[test]
fn concurrent_opens_of_a_fresh_file_succeed() {
    // Roughly one 8-way race in fifty loses an open today; 200 rounds make
    // the failure near certain.
    for round in 0..200 {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("fresh.db");
        let barrier = Arc::new(Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let path = path.clone();
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                    dataflow_sqlite::open(&path).map(drop)
                })
            })
            .collect();
        for h in handles {
            if let Err(e) = h.join().expect("thread") {
                panic!("round {round}: {e}");
            }
        }
    }
}

/// Run by `four_processes_migrate_one_fresh_file_once` as a child process; does
/// nothing when run any other way.
#[test]
#[ignore = "child process of four_processes_migrate_one_fresh_file_once"]
fn child_migrates() {
    let (Ok(path), Ok(start)) = (std::env::var(DB_ENV), std::env::var(START_ENV)) else {
        return;
    };
    let start: u64 = start.parse().expect("start time");
    let db = open(Path::new(&path));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    if start > now {
        std::thread::sleep(Duration::from_millis(start - now));
    }
    let report = db
        .auto_migrate(MigrateOptions::default())
        .expect("auto_migrate");
    println!("APPLIED={}", report.applied);
}

#[test]
fn four_processes_migrate_one_fresh_file_once() {
    const PROCESSES: usize = 4;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("race.db");
    // Created (empty, in WAL mode) before the children start, for the reason
    // given in `eight_threads_migrate_one_fresh_file_once`.
    drop(dataflow_sqlite::open(&path).expect("create the file"));
    let exe = std::env::current_exe().expect("test binary");
    // Far enough ahead that every child has started and opened the file.
    let start = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_millis()
        + 1500;
    let children: Vec<_> = (0..PROCESSES)
        .map(|_| {
            Command::new(&exe)
                .args(["--exact", "child_migrates", "--ignored", "--nocapture"])
                .env(DB_ENV, &path)
                .env(START_ENV, start.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn child")
        })
        .collect();
    let mut applied = Vec::new();
    for child in children {
        let out = child.wait_with_output().expect("child output");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "child failed ({}):\n{stdout}\n{stderr}",
            out.status
        );
        let verdicts: Vec<&str> = stdout
            .lines()
            .filter_map(|l| l.strip_prefix("APPLIED="))
            .collect();
        assert_eq!(verdicts.len(), 1, "child printed no verdict:\n{stdout}");
        applied.push(verdicts[0] == "true");
    }
    assert_eq!(
        applied.iter().filter(|a| **a).count(),
        1,
        "exactly one process applies: {applied:?}"
    );
    assert_migrated_once(&path);
}

#[test]
fn waiting_for_the_migration_lock_times_out() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("race.db");
    let holder = dataflow_sqlite::open(&path).expect("open holder");
    let waiter = open(&path);
    // Open a pooled connection before the lock is taken.
    waiter.plan().expect("plan");

    let (locked_tx, locked_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        holder
            .backend()
            .with_migration(Duration::from_secs(30), &mut |_conn| {
                locked_tx.send(()).expect("signal");
                // Bounded, so a waiter that ignores its timeout fails the
                // test instead of hanging it.
                release_rx
                    .recv_timeout(Duration::from_secs(20))
                    .expect("released");
                Ok(())
            })
    });
    locked_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("lock taken");

    let timeout = Duration::from_millis(200);
    let clock = Instant::now();
    let result = waiter.auto_migrate(MigrateOptions::default().lock_timeout(timeout));
    let elapsed = clock.elapsed();
    match result {
        Err(Error::LockTimeout { waited }) => assert_eq!(waited, timeout),
        other => panic!("expected LockTimeout, got {other:?}"),
    }
    assert!(
        elapsed >= Duration::from_millis(180),
        "gave up after {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(5),
        "waited {elapsed:?} for a lock with a 200 ms timeout"
    );
    // Nothing was applied while the lock was held.
    assert!(waiter.migration_history().expect("history").is_empty());

    release_tx.send(()).expect("release");
    thread.join().expect("holder").expect("holder's migration");
    // With the lock free, the same call succeeds.
    let report = waiter
        .auto_migrate(MigrateOptions::default().lock_timeout(timeout))
        .expect("auto_migrate after release");
    assert!(report.applied);
    assert_migrated_once(&path);
}
