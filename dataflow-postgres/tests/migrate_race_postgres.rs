//! Racing reconciles on PostgreSQL: threads and separate processes start
//! `auto_migrate` on one fresh schema at the same moment; the advisory lock lets
//! exactly one apply, the others wait and find nothing to do.

use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dataflow_core::prelude::*;

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "race_accounts")]
struct Account {
    id: i64,
    #[dataflow(unique)]
    owner: String,
    #[dataflow(default = true)]
    active: bool,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "race_entries")]
#[dataflow(foreign_key(field = "account_id", references = "race_accounts(id)"))]
struct Entry {
    id: i64,
    account_id: i64,
    amount: f64,
}

const URL_ENV: &str = "DATAFLOW_RACE_PG_URL";
const START_ENV: &str = "DATAFLOW_RACE_PG_START_MS";

/// A private schema and the URL that selects it, or `None` when no server is
/// configured (a failure under `CI=true`).
fn schema(tag: &str) -> Option<(DataFlow, String, String)> {
    let url = dataflow_postgres::testing::server_url()?;
    let name = format!("df_race_{tag}_{}", std::process::id());
    let admin = dataflow_postgres::connect(&url).expect("connect");
    admin
        .with_conn(|c| {
            c.batch_execute(&format!(
                "DROP SCHEMA IF EXISTS \"{name}\" CASCADE; CREATE SCHEMA \"{name}\""
            ))
        })
        .expect("schema");
    let sep = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{sep}options=-csearch_path%3D{name}");
    Some((admin, name, url))
}

fn open(url: &str) -> DataFlow {
    let db = dataflow_postgres::PgOptions::new(url)
        .pool_size(2)
        .connect()
        .expect("connect");
    db.register_all(models![Account, Entry]).expect("register");
    db
}

fn assert_migrated_once(url: &str) {
    let db = open(url);
    let history = db.migration_history().expect("history");
    assert_eq!(history.len(), 1, "{history:?}");
    db.check().expect("schema matches");
    let a = Account::create(
        &db,
        Account {
            id: 0,
            owner: "o".into(),
            active: true,
        },
    )
    .unwrap();
    Entry::create(
        &db,
        Entry {
            id: 0,
            account_id: a.id,
            amount: 1.5,
        },
    )
    .unwrap();
}

#[test]
fn eight_threads_migrate_one_schema_once() {
    let Some((admin, name, url)) = schema("threads") else {
        return;
    };
    let handles: Vec<DataFlow> = (0..8).map(|_| open(&url)).collect();
    let barrier = Arc::new(Barrier::new(handles.len()));
    let threads: Vec<_> = handles
        .into_iter()
        .map(|db| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                db.auto_migrate(MigrateOptions::default())
                    .expect("auto_migrate")
            })
        })
        .collect();
    let reports: Vec<MigrationReport> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(reports.iter().filter(|r| r.applied).count(), 1);
    assert!(reports
        .iter()
        .filter(|r| !r.applied)
        .all(|r| r.steps.is_empty()));
    assert_migrated_once(&url);
    admin
        .with_conn(|c| c.batch_execute(&format!("DROP SCHEMA \"{name}\" CASCADE")))
        .unwrap();
}

#[test]
#[ignore = "child process of four_processes_migrate_one_schema_once"]
fn pg_child_migrates() {
    let (Ok(url), Ok(start)) = (std::env::var(URL_ENV), std::env::var(START_ENV)) else {
        return;
    };
    let db = open(&url);
    let start: u64 = start.parse().expect("start");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
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
fn four_processes_migrate_one_schema_once() {
    let Some((admin, name, url)) = schema("procs") else {
        return;
    };
    let exe = std::env::current_exe().expect("test binary");
    let start = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 1500;
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(&exe)
                .args(["--exact", "pg_child_migrates", "--ignored", "--nocapture"])
                .env(URL_ENV, &url)
                .env(START_ENV, start.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let mut applied = Vec::new();
    for child in children {
        let out = child.wait_with_output().expect("output");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "child failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let verdict: Vec<&str> = stdout
            .lines()
            .filter_map(|l| l.strip_prefix("APPLIED="))
            .collect();
        assert_eq!(verdict.len(), 1, "{stdout}");
        applied.push(verdict[0] == "true");
    }
    assert_eq!(applied.iter().filter(|a| **a).count(), 1, "{applied:?}");
    assert_migrated_once(&url);
    admin
        .with_conn(|c| c.batch_execute(&format!("DROP SCHEMA \"{name}\" CASCADE")))
        .unwrap();
}
