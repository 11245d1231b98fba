//! PostgreSQL latency benchmark: the longest INSERT stall a concurrent writer
//! sees while dataflow makes a populated column NOT NULL, online mode (the
//! default on PostgreSQL: batched backfill after the commit, `CHECK … NOT
//! VALID`, `VALIDATE`, `SET NOT NULL` proven by the check) against the naive
//! plan (`online(false)`: one transaction running `SET DEFAULT`, one big
//! `UPDATE … WHERE nickname IS NULL` and a scanning `SET NOT NULL`).
//!
//! Scenario, per variant (the table is rebuilt from scratch every time):
//!
//! 1. A fresh database `df_stall_<pid>` on the server of `DATABASE_URL`
//!    (default `postgres://postgres@127.0.0.1:5432/postgres`); the table
//!    `stall_people` created by `auto_migrate` of [`PersonV1`], then filled with
//!    1 000 000 rows by one `INSERT … SELECT generate_series` (every third
//!    `nickname` NULL), `VACUUM ANALYZE`, `CHECKPOINT`.
//! 2. A writer thread on its own connection runs single-row autocommit
//!    `INSERT INTO stall_people (name) VALUES ($1)` back to back, timing each,
//!    from [`WARMUP`] before the migration until [`COOLDOWN`] after it.
//! 3. `auto_migrate` to [`PersonV2`] (`nickname: String`, default `'anon'`),
//!    timed as a whole.
//!
//! Reported per variant: the migration's wall time, the inserts that overlap
//! it, their max (the stall), p99 and p50 latency, and, for attribution, the
//! migration's own `tracing` events (target `dataflow::migrate`, captured by a
//! tiny in-process subscriber) with their offsets, and the phase each of the
//! longest stalls fell in. The database is dropped at the end (`WITH (FORCE)`).
//!
//! Run: `cargo bench --bench backfill_stall` (see BENCHMARKS.md). Arguments
//! that do not start with `-` select variants by substring (`online-5000`,
//! `naive`); `STALL_RUNS=n` repeats the whole set `n` times;
//! `STALL_SAMPLE_MS=n` adds a third connection polling `pg_stat_activity` every
//! `n` ms, so each long insert is listed with what the writer's backend waited
//! on (`wait_event_type/wait_event`) and what the migration's backend was
//! running meanwhile (it perturbs the measurement a little: two cores here).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dataflow_core::prelude::*;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};
use diesel::PgConnection;

/// The server used when `DATABASE_URL` is not set.
const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Rows in the table before the migration.
const ROWS: i64 = 1_000_000;
/// The table both model versions map to.
const TABLE: &str = "stall_people";
/// Writer time before the migration starts (a baseline for its latency).
const WARMUP: Duration = Duration::from_millis(500);
/// Writer time after the migration ends.
const COOLDOWN: Duration = Duration::from_millis(300);
/// The target for the online plan's longest stall.
const TARGET: Duration = Duration::from_millis(100);
/// A stall above this is listed with the migration phase it fell in.
const STALL_NOTE: Duration = Duration::from_millis(20);

/// Version 1: `nickname` nullable.
#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "stall_people")]
#[allow(dead_code)] // rows are written by raw SQL
struct PersonV1 {
    id: i64,
    name: String,
    nickname: Option<String>,
}

/// Version 2: `nickname` NOT NULL, NULLs backfilled with the default.
#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "stall_people")]
#[allow(dead_code)] // only its schema is used
struct PersonV2 {
    id: i64,
    name: String,
    #[dataflow(default = "anon")]
    nickname: String,
}

// ---------------------------------------------------------------------------
// A minimal `tracing` subscriber: timestamps every `dataflow::*` event.

/// One captured event: when, level and its rendered fields.
struct Event {
    at: Instant,
    level: tracing::Level,
    text: String,
}

/// Collects events into a shared log while `recording` is set.
struct Recorder {
    log: Arc<Mutex<Vec<Event>>>,
    recording: Arc<AtomicBool>,
    next_span: AtomicU64,
}

/// Renders an event's fields as `message key=value …`.
#[derive(Default)]
struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, "{}={value:?}", field.name());
        }
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        let _ = write!(self.0, "{}={value}", field.name());
    }
}

impl tracing::Subscriber for Recorder {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.target().starts_with("dataflow")
    }
    fn new_span(&self, _span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed) + 1)
    }
    fn record(&self, _span: &tracing::span::Id, _values: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _span: &tracing::span::Id, _follows: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if !self.recording.load(Ordering::Relaxed) {
            return;
        }
        let at = Instant::now();
        let mut fields = Fields::default();
        event.record(&mut fields);
        self.log.lock().unwrap().push(Event {
            at,
            level: *event.metadata().level(),
            text: fields.0,
        });
    }
    fn enter(&self, _span: &tracing::span::Id) {}
    fn exit(&self, _span: &tracing::span::Id) {}
}

// ---------------------------------------------------------------------------
// Database plumbing.

/// `url` with its database name replaced by `db` (query parameters kept).
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.find('?') {
        Some(i) => url.split_at(i),
        None => (url, ""),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(i) => &base[..authority_start + i],
        None => base,
    };
    format!("{base}/{db}{query}")
}

fn exec(conn: &mut PgConnection, sql: &str) {
    conn.batch_execute(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<Count>(conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .n
}

#[derive(QueryableByName)]
struct Flag {
    #[diesel(sql_type = Bool)]
    b: bool,
}

/// Drops the bench database (forcing out any connection) when dropped.
struct BenchDatabase {
    admin_url: String,
    name: String,
}

impl BenchDatabase {
    fn drop_now(&self) {
        match PgConnection::establish(&self.admin_url) {
            Ok(mut c) => {
                let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
                if let Err(e) = c.batch_execute(&sql) {
                    eprintln!("could not drop database {}: {e}", self.name);
                }
            }
            Err(e) => eprintln!("could not drop database {}: {e}", self.name),
        }
    }
}

impl Drop for BenchDatabase {
    fn drop(&mut self) {
        self.drop_now();
    }
}

// ---------------------------------------------------------------------------
// The measurement.

#[derive(Clone, Copy)]
struct Variant {
    online: bool,
    batch: u32,
}

impl Variant {
    fn label(&self) -> String {
        if self.online {
            format!("online-{}", self.batch)
        } else {
            "naive".to_owned()
        }
    }
    fn options(&self) -> MigrateOptions {
        let o = MigrateOptions::default()
            .auto_confirm(true)
            .max_risk(RiskLevel::Medium);
        if self.online {
            o.batch_size(self.batch)
        } else {
            o.online(false)
        }
    }
}

/// One insert of the writer: when it started and how long it took.
#[derive(Clone, Copy)]
struct Sample {
    start: Instant,
    latency: Duration,
}

struct Outcome {
    label: String,
    migration: Duration,
    during: Vec<Sample>,
    baseline: Vec<Sample>,
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e3)
}

/// Signed offset of `t` from `origin`, in ms.
fn offset(t: Instant, origin: Instant) -> String {
    if t >= origin {
        format!("+{}", ms(t - origin))
    } else {
        format!("-{}", ms(origin - t))
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The last migration event at or before `t`, as a phase name.
fn phase_at(events: &[Event], t: Instant) -> String {
    match events.iter().rev().find(|e| e.at <= t) {
        Some(e) => short(&e.text),
        None => "before the first migration event (planning, transaction)".into(),
    }
}

fn short(s: &str) -> String {
    const MAX: usize = 150;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

fn writer(
    url: String,
    stop: Arc<AtomicBool>,
    ready: std::sync::mpsc::Sender<()>,
) -> std::thread::JoinHandle<Vec<Sample>> {
    std::thread::spawn(move || {
        let mut conn = PgConnection::establish(&url).expect("writer connection");
        exec(&mut conn, "SET application_name = 'df_stall_writer'");
        let sql = format!("INSERT INTO \"{TABLE}\" (name) VALUES ($1)");
        let mut samples = Vec::with_capacity(1 << 16);
        let mut i = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let start = Instant::now();
            diesel::sql_query(&sql)
                .bind::<Text, _>(format!("writer-{i}"))
                .execute(&mut conn)
                .expect("writer insert");
            samples.push(Sample {
                start,
                latency: start.elapsed(),
            });
            if i == 0 {
                let _ = ready.send(());
            }
            i += 1;
        }
        samples
    })
}

/// One `pg_stat_activity` snapshot: the writer's wait and the other active
/// backends of the database (the migration's), as text.
struct Snapshot {
    at: Instant,
    writer: String,
    others: String,
    queries: String,
}

#[derive(QueryableByName)]
struct Activity {
    #[diesel(sql_type = Text)]
    writer: String,
    #[diesel(sql_type = Text)]
    others: String,
    #[diesel(sql_type = Text)]
    queries: String,
}

fn sampler(
    url: String,
    every: Duration,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<Snapshot>> {
    std::thread::spawn(move || {
        let mut conn = PgConnection::establish(&url).expect("sampler connection");
        let sql = "SELECT \
              COALESCE(MAX(CASE WHEN application_name = 'df_stall_writer' THEN \
                  COALESCE(wait_event_type || '/' || wait_event, 'on cpu') END), 'idle') AS writer, \
              COALESCE(string_agg(CASE WHEN application_name <> 'df_stall_writer' THEN \
                  COALESCE(wait_event_type || '/' || wait_event, 'on cpu') || ' ' || \
                  left(regexp_replace(query, '\\s+', ' ', 'g'), 70) END, ' | '), '') AS others, \
              COALESCE(string_agg(DISTINCT CASE WHEN application_name <> 'df_stall_writer' THEN \
                  left(regexp_replace(query, '\\s+', ' ', 'g'), 90) END, ' | '), '') AS queries \
              FROM pg_stat_activity \
              WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()";
        let mut out = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let a = diesel::sql_query(sql)
                .get_result::<Activity>(&mut conn)
                .expect("sample pg_stat_activity");
            out.push(Snapshot {
                at: Instant::now(),
                writer: a.writer,
                others: a.others,
                queries: a.queries,
            });
            std::thread::sleep(every);
        }
        out
    })
}

/// What the snapshots taken during `s` show, most frequent first.
fn waits_during(snapshots: &[Snapshot], s: &Sample) -> String {
    let mut seen: Vec<(String, usize)> = Vec::new();
    for snap in snapshots
        .iter()
        .filter(|x| x.at >= s.start && x.at <= s.start + s.latency)
    {
        let key = format!("writer {} ; migration {}", snap.writer, snap.others);
        match seen.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => seen.push((key, 1)),
        }
    }
    seen.sort_by_key(|x| std::cmp::Reverse(x.1));
    seen.iter()
        .take(3)
        .map(|(k, n)| format!("{n}x [{k}]"))
        .collect::<Vec<_>>()
        .join("\n                         ")
}

fn run_variant(
    admin_url: &str,
    name: &str,
    variant: Variant,
    log: &Arc<Mutex<Vec<Event>>>,
    recording: &Arc<AtomicBool>,
    sample_every: Option<Duration>,
) -> Outcome {
    let label = variant.label();
    let database = BenchDatabase {
        admin_url: admin_url.to_owned(),
        name: name.to_owned(),
    };
    database.drop_now();
    {
        let mut server = PgConnection::establish(admin_url).expect("connect to DATABASE_URL");
        exec(&mut server, &format!("CREATE DATABASE \"{name}\""));
    }
    let url = with_database(admin_url, name);

    // 1. The table, through dataflow, then a fast raw fill.
    let clock = Instant::now();
    let v1 = dataflow_postgres::PgOptions::new(url.clone())
        .pool_size(2)
        .connect()
        .expect("dataflow connect");
    v1.register::<PersonV1>().unwrap();
    v1.auto_migrate(MigrateOptions::default()).unwrap();
    drop(v1);
    let mut admin = PgConnection::establish(&url).expect("admin connection");
    exec(
        &mut admin,
        &format!(
            "INSERT INTO \"{TABLE}\" (name, nickname) \
             SELECT 'name-' || g, CASE WHEN g % 3 = 0 THEN NULL ELSE 'nick-' || g END \
             FROM generate_series(1, {ROWS}) AS g"
        ),
    );
    exec(&mut admin, &format!("VACUUM ANALYZE \"{TABLE}\""));
    exec(&mut admin, "CHECKPOINT");
    let nulls = count(
        &mut admin,
        &format!("SELECT COUNT(*) AS n FROM \"{TABLE}\" WHERE nickname IS NULL"),
    );
    assert_eq!(nulls, ROWS / 3);
    eprintln!(
        "[{label}] table of {ROWS} rows ({nulls} NULL nicknames) ready in {:.1} s",
        clock.elapsed().as_secs_f64()
    );

    // The V2 handle is connected before the clock starts.
    let v2 = dataflow_postgres::PgOptions::new(url.clone())
        .pool_size(2)
        .connect()
        .expect("dataflow connect");
    v2.register::<PersonV2>().unwrap();

    // 2. The writer.
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = writer(url.clone(), stop.clone(), tx);
    rx.recv().expect("writer started");
    let sampling = sample_every.map(|every| sampler(url.clone(), every, stop.clone()));
    std::thread::sleep(WARMUP);

    // 3. The migration.
    log.lock().unwrap().clear();
    recording.store(true, Ordering::SeqCst);
    let mig_start = Instant::now();
    let report = v2.auto_migrate(variant.options()).expect("migration");
    let mig_end = Instant::now();
    recording.store(false, Ordering::SeqCst);
    std::thread::sleep(COOLDOWN);
    stop.store(true, Ordering::SeqCst);
    let samples = handle.join().expect("writer thread");
    let snapshots = sampling
        .map(|h| h.join().expect("sampler thread"))
        .unwrap_or_default();
    let events: Vec<Event> = std::mem::take(&mut *log.lock().unwrap());

    // The result is what was asked for.
    assert!(
        report.applied && report.in_progress.is_none(),
        "{}",
        report.preview()
    );
    let online_sql: usize = report.steps.iter().map(|s| s.sql_online.len()).sum();
    assert_eq!(online_sql > 0, variant.online, "{}", report.preview());
    let left = count(
        &mut admin,
        &format!("SELECT COUNT(*) AS n FROM \"{TABLE}\" WHERE nickname IS NULL"),
    );
    assert_eq!(left, 0);
    let not_null = diesel::sql_query(format!(
        "SELECT a.attnotnull AS b FROM pg_attribute a \
         WHERE a.attrelid = '\"{TABLE}\"'::regclass AND a.attname = 'nickname'"
    ))
    .get_result::<Flag>(&mut admin)
    .unwrap()
    .b;
    assert!(not_null, "nickname is not NOT NULL after the migration");
    let anon = count(
        &mut admin,
        &format!("SELECT COUNT(*) AS n FROM \"{TABLE}\" WHERE nickname = 'anon'"),
    );
    v2.check().expect("schema matches V2 after the migration");

    // Attribution: the migration's events and where the longest stalls fell.
    let during: Vec<Sample> = samples
        .iter()
        .copied()
        .filter(|s| s.start < mig_end && s.start + s.latency > mig_start)
        .collect();
    let baseline: Vec<Sample> = samples
        .iter()
        .copied()
        .filter(|s| s.start + s.latency <= mig_start)
        .collect();
    println!(
        "\n[{label}] migration {} ms; {} inserts during it; {} rows 'anon' after \
         ({} backfilled + writer rows)",
        ms(mig_end - mig_start),
        during.len(),
        anon,
        nulls
    );
    println!("  migration events (offset from the auto_migrate call, ms):");
    let mut batches: Vec<&Event> = Vec::new();
    let flush = |batches: &mut Vec<&Event>| {
        if let (Some(first), Some(last)) = (batches.first(), batches.last()) {
            println!(
                "    {:>9} … {:>9}  {} backfill batches (last: {})",
                offset(first.at, mig_start),
                offset(last.at, mig_start),
                batches.len(),
                short(&last.text)
            );
        }
        batches.clear();
    };
    for e in &events {
        if e.text.starts_with("backfill batch") {
            batches.push(e);
            continue;
        }
        flush(&mut batches);
        println!(
            "    {:>9}  {:<5} {}",
            offset(e.at, mig_start),
            e.level,
            short(&e.text)
        );
    }
    flush(&mut batches);
    println!(
        "    {:>9}  auto_migrate returned",
        offset(mig_end, mig_start)
    );
    // Inserts by the phase they started in (phases begin at each migration
    // event other than a backfill batch).
    let marks: Vec<&Event> = events
        .iter()
        .filter(|e| !e.text.starts_with("backfill batch"))
        .collect();
    println!("  inserts by the phase they started in (phase = last event before the insert):");
    println!(
        "    {:>9} {:>8} {:>7} {:>9}  phase",
        "from", "length", "inserts", "max"
    );
    for i in 0..=marks.len() {
        let from = if i == 0 { mig_start } else { marks[i - 1].at };
        let to = marks.get(i).map_or(mig_end, |e| e.at);
        let inside: Vec<&Sample> = during
            .iter()
            .filter(|s| s.start.max(mig_start) >= from && s.start.max(mig_start) < to)
            .collect();
        let max = inside.iter().map(|s| s.latency).max().unwrap_or_default();
        let name = if i == 0 {
            "planning (describe, risk facts)".to_owned()
        } else {
            short(&marks[i - 1].text).chars().take(90).collect()
        };
        println!(
            "    {:>9} {:>8} {:>7} {:>9}  {}",
            offset(from, mig_start),
            ms(to - from),
            inside.len(),
            ms(max),
            name
        );
    }
    if !snapshots.is_empty() {
        // What the migration's backend was doing, runs of >= 50 ms.
        println!("  migration backend activity (pg_stat_activity, runs >= 50 ms):");
        let key = |x: &Snapshot| x.queries.clone();
        let mut i = 0;
        while i < snapshots.len() {
            let mut j = i;
            while j + 1 < snapshots.len() && key(&snapshots[j + 1]) == key(&snapshots[i]) {
                j += 1;
            }
            let (a, b) = (snapshots[i].at, snapshots[j].at);
            if b - a >= Duration::from_millis(50) && a <= mig_end && b >= mig_start {
                println!(
                    "    {:>9} … {:>9}  {}",
                    offset(a, mig_start),
                    offset(b, mig_start),
                    if snapshots[i].queries.is_empty() {
                        "(idle)".to_owned()
                    } else {
                        key(&snapshots[i])
                    }
                );
            }
            i = j + 1;
        }
    }
    let mut worst = during.clone();
    worst.sort_by_key(|s| std::cmp::Reverse(s.latency));
    println!(
        "  longest inserts during the migration (start offset, latency, last event before it):"
    );
    for s in worst
        .iter()
        .take(5)
        .filter(|s| s.latency >= STALL_NOTE || s.latency == worst[0].latency)
    {
        println!(
            "    {:>9}  {:>8} ms  after: {}",
            offset(s.start, mig_start),
            ms(s.latency),
            phase_at(&events, s.start)
        );
        if !snapshots.is_empty() {
            println!("                 seen: {}", waits_during(&snapshots, s));
        }
    }

    drop(v2);
    drop(admin);
    drop(database);
    Outcome {
        label,
        migration: mig_end - mig_start,
        during,
        baseline,
    }
}

fn main() {
    let admin_url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    let name = format!("df_stall_{}", std::process::id());
    let runs: usize = std::env::var("STALL_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let sample_every = std::env::var("STALL_SAMPLE_MS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_millis);
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();

    let log = Arc::new(Mutex::new(Vec::new()));
    let recording = Arc::new(AtomicBool::new(false));
    tracing::subscriber::set_global_default(Recorder {
        log: log.clone(),
        recording: recording.clone(),
        next_span: AtomicU64::new(0),
    })
    .expect("install the event recorder");

    let variants = [
        Variant {
            online: true,
            batch: 1_000,
        },
        Variant {
            online: true,
            batch: 5_000,
        },
        Variant {
            online: true,
            batch: 20_000,
        },
        Variant {
            online: false,
            batch: 0,
        },
    ];
    let selected: Vec<Variant> = variants
        .iter()
        .copied()
        .filter(|v| filters.is_empty() || filters.iter().any(|f| v.label().contains(f.as_str())))
        .collect();

    let mut outcomes = Vec::new();
    for run in 1..=runs {
        for v in &selected {
            eprintln!("run {run}/{runs}: {}", v.label());
            outcomes.push(run_variant(
                &admin_url,
                &name,
                *v,
                &log,
                &recording,
                sample_every,
            ));
        }
    }

    println!(
        "\nNOT NULL backfill of {ROWS} rows ({} NULL) under a concurrent single-row \
         INSERT writer; target: longest stall <= {} ms online",
        ROWS / 3,
        TARGET.as_millis()
    );
    println!(
        "\n| variant | migration | inserts during | max (stall) | p99 | p50 | baseline p50 / max | online target met? |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---|");
    for o in &outcomes {
        let mut d: Vec<Duration> = o.during.iter().map(|s| s.latency).collect();
        d.sort();
        let mut b: Vec<Duration> = o.baseline.iter().map(|s| s.latency).collect();
        b.sort();
        let max = d.last().copied().unwrap_or_default();
        let met = if o.label == "naive" {
            "–".to_owned()
        } else if max <= TARGET {
            "yes".to_owned()
        } else {
            "**no**".to_owned()
        };
        println!(
            "| {} | {} ms | {} | {} ms | {} ms | {} ms | {} / {} ms | {} |",
            o.label,
            ms(o.migration),
            d.len(),
            ms(max),
            ms(percentile(&d, 99.0)),
            ms(percentile(&d, 50.0)),
            ms(percentile(&b, 50.0)),
            ms(b.last().copied().unwrap_or_default()),
            met
        );
    }
}
