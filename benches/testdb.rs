//! Per-test database setup: `TestDb` (a migrated template copied or cloned per
//! test, or a rolled-back transaction) against the naive way a
//! `#[sqlx::test]`-style harness works (a new database, `auto_migrate`, fixtures,
//! drop), for 20 models of 15 columns and 100 fixture rows (5 per table).
//!
//! Contenders, each measured as setup + teardown of one test:
//!
//! - `sqlite/testdb`: `dataflow_sqlite::testing::TestDb` (template file copy).
//! - `sqlite/naive`: new file, register, `auto_migrate`, `load_fixtures`, drop.
//! - `postgres/testdb_transaction`: `TestDb` in `Isolation::Transaction`.
//! - `postgres/testdb_database`: `TestDb` in `Isolation::Database`
//!   (`CREATE DATABASE … TEMPLATE`).
//! - `postgres/naive`: `CREATE DATABASE`, connect, register, `auto_migrate`,
//!   `load_fixtures`, `DROP DATABASE`.
//!
//! PostgreSQL runs only when `DATABASE_URL` is set (a note is printed otherwise).
//! After the criterion groups (only under `cargo bench`, not `cargo test`, and
//! not with `--profile-time`), a "100-test suite" is timed once per contender:
//! 100 sequential setups + teardowns (total, median, p90, max), and for the
//! PostgreSQL contenders 100 setups from 2 threads in parallel. A criterion name
//! filter (`cargo bench --bench testdb -- postgres`) applies to the suite too.
//!
//! With `TESTDB_PHASES=1`, a breakdown of where one setup's time goes is printed
//! first: each step of `TestDb::build` redone with public APIs and timed on its
//! own, the raw costs under them (connection with and without TLS, r2d2 pool,
//! `CREATE`/`DROP DATABASE` strategies), what-if variants (fixtures baked into
//! the template, `synchronous = OFF`, one fixture batch, a reused connection)
//! and the checkpoints each database-mode test forces (`pg_stat_bgwriter`).
//!
//! `DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench testdb`

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use dataflow_core::model::descriptor::{
    ColumnDescriptor, IndexDescriptor, IndexMethod, ModelDescriptor,
};
use dataflow_core::query::statement::StatementCache;
use dataflow_core::testing::load_fixtures;
use dataflow_core::{DataFlow, LogicalType, MigrateOptions};
use dataflow_postgres::testing::Isolation;
use dataflow_postgres::PgOptions;
use dataflow_sqlite::SqliteOptions;
use serde_json::{json, Map, Value as Json};

/// Models (tables) per test database.
const MODELS: usize = 20;
/// Columns per model (`id` included).
const COLUMNS: usize = 15;
/// Fixture rows per table.
const ROWS_PER_TABLE: usize = 5;
/// Tests in the "suite" measurement.
const SUITE: usize = 100;

const TYPES: [LogicalType; 7] = [
    LogicalType::Text,
    LogicalType::BigInt,
    LogicalType::Int,
    LogicalType::Double,
    LogicalType::Bool,
    LogicalType::TimestampTz,
    LogicalType::Json,
];

fn leak<T>(v: Vec<T>) -> &'static [T] {
    Box::leak(v.into_boxed_slice())
}

fn column(name: String, ty: LogicalType, nullable: bool, pk: bool) -> ColumnDescriptor {
    ColumnDescriptor {
        name: Box::leak(name.clone().into_boxed_str()),
        field: Some(Box::leak(name.into_boxed_str())),
        ty,
        nullable,
        primary_key: pk,
        auto_increment: pk,
        enum_type: None,
        unique: false,
        max_length: None,
        default: None,
        renamed_from: None,
        managed: None,
        collation: None,
    }
}

/// `n` models of `cols` columns (id + a mix of types), two indexes each (one of
/// them unique), as in `benches/reconcile.rs`.
fn models(n: usize, cols: usize) -> Vec<&'static ModelDescriptor> {
    (0..n)
        .map(|m| {
            let table: &'static str = Box::leak(format!("tdb_{m:03}").into_boxed_str());
            let mut columns = vec![column("id".into(), LogicalType::BigInt, false, true)];
            for c in 1..cols {
                columns.push(column(
                    format!("c{c:02}"),
                    TYPES[c % TYPES.len()],
                    c % 3 == 0,
                    false,
                ));
            }
            let indexes = vec![
                IndexDescriptor {
                    name: Box::leak(format!("ix_{table}_c01").into_boxed_str()),
                    columns: leak(vec!["c01"]),
                    unique: false,
                    method: IndexMethod::BTree,
                    predicate: None,
                },
                IndexDescriptor {
                    name: Box::leak(format!("ux_{table}_c02_c03").into_boxed_str()),
                    columns: leak(vec!["c02", "c03"]),
                    unique: true,
                    method: IndexMethod::BTree,
                    predicate: None,
                },
            ];
            &*Box::leak(Box::new(ModelDescriptor {
                name: table,
                table,
                renamed_from: None,
                columns: leak(columns),
                primary_key: &[0],
                indexes: leak(indexes),
                foreign_keys: &[],
                checks: &[],
                timestamps: false,
                soft_delete: false,
                statements: StatementCache::new(),
            }))
        })
        .collect()
}

/// A JSON value for column `c` of row `r`.
fn cell(ty: LogicalType, c: usize, r: usize) -> Json {
    match ty {
        LogicalType::Text => json!(format!("row {r} column {c}")),
        LogicalType::BigInt => json!(1_000_000_000_000_i64 + (r * 100 + c) as i64),
        // Distinct per row: (c02, c03) is unique.
        LogicalType::Int => json!((r * 100 + c) as i32),
        LogicalType::Double => json!(r as f64 + c as f64 / 100.0),
        LogicalType::Bool => json!(r & 1 == 0),
        LogicalType::TimestampTz => json!(format!("2024-01-{:02}T12:{:02}:00Z", r + 1, c)),
        LogicalType::Json => json!({ "row": r, "column": c, "tags": ["a", "b"] }),
        other => unreachable!("no fixture value for {other}"),
    }
}

/// Writes the fixture file: `ROWS_PER_TABLE` complete rows (explicit ids) in
/// every table.
fn write_fixtures(path: &Path, descs: &[&'static ModelDescriptor]) -> usize {
    let mut doc = Map::new();
    let mut total = 0;
    for d in descs {
        let rows: Vec<Json> = (0..ROWS_PER_TABLE)
            .map(|r| {
                let mut row = Map::new();
                for (c, col) in d.columns.iter().enumerate() {
                    let v = if col.primary_key {
                        json!(r as i64 + 1)
                    } else {
                        cell(col.ty, c, r)
                    };
                    row.insert(col.name.to_owned(), v);
                }
                Json::Object(row)
            })
            .collect();
        total += rows.len();
        doc.insert(d.table.to_owned(), Json::Array(rows));
    }
    std::fs::write(
        path,
        serde_json::to_string_pretty(&Json::Object(doc)).unwrap(),
    )
    .unwrap();
    total
}

/// Shared state of every contender.
struct Env {
    descs: Vec<&'static ModelDescriptor>,
    fixtures: PathBuf,
    /// Where the naive SQLite contender puts its files.
    dir: PathBuf,
    /// The PostgreSQL server, when `DATABASE_URL` is set.
    pg: Option<Pg>,
}

struct Pg {
    url: String,
    /// Maintenance connection of the naive contender (like sqlx::test's master
    /// pool: made once per process).
    admin: DataFlow,
}

static NAIVE_COUNTER: AtomicU64 = AtomicU64::new(0);

// ---------------------------------------------------------------- contenders

fn sqlite_testdb(env: &Env) {
    let db = dataflow_sqlite::testing::TestDb::builder()
        .models(&env.descs)
        .fixtures(&env.fixtures)
        .build()
        .unwrap();
    black_box(&db);
    drop(db);
}

fn sqlite_naive(env: &Env) {
    let n = NAIVE_COUNTER.fetch_add(1, Ordering::Relaxed);
    let path = env.dir.join(format!("naive-{n}.db"));
    {
        // Same pool settings as TestDb.
        let db = SqliteOptions::new(&path).pool_size(4).open().unwrap();
        db.register_all(&env.descs).unwrap();
        db.auto_migrate(MigrateOptions::default()).unwrap();
        let loaded = load_fixtures(&db, &env.fixtures).unwrap();
        debug_assert_eq!(loaded, MODELS * ROWS_PER_TABLE);
        black_box(&db);
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

fn pg_testdb(env: &Env, isolation: Isolation) {
    let pg = env
        .pg
        .as_ref()
        .expect("PostgreSQL contender without a server");
    let db = dataflow_postgres::testing::TestDb::builder()
        .url(pg.url.as_str())
        .models(&env.descs)
        .fixtures(&env.fixtures)
        .isolation(isolation)
        .build()
        .unwrap();
    black_box(&db);
    drop(db);
}

fn pg_naive(env: &Env) {
    let pg = env
        .pg
        .as_ref()
        .expect("PostgreSQL contender without a server");
    let n = NAIVE_COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = format!("df_naive_{}_{n}", std::process::id());
    pg.admin
        .with_conn(|c| c.batch_execute(&format!("CREATE DATABASE \"{name}\"")))
        .unwrap();
    {
        let db = PgOptions::new(with_database(&pg.url, &name))
            .pool_size(4)
            .connect()
            .unwrap();
        db.register_all(&env.descs).unwrap();
        db.auto_migrate(MigrateOptions::default()).unwrap();
        let loaded = load_fixtures(&db, &env.fixtures).unwrap();
        debug_assert_eq!(loaded, MODELS * ROWS_PER_TABLE);
        black_box(&db);
    }
    pg.admin
        .with_conn(|c| c.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")))
        .unwrap();
}

/// `url` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let rest = base
        .strip_prefix("postgres://")
        .or_else(|| base.strip_prefix("postgresql://"))
        .unwrap_or(base);
    let host = rest.split('/').next().unwrap_or(rest);
    match query {
        Some(q) => format!("postgres://{host}/{name}?{q}"),
        None => format!("postgres://{host}/{name}"),
    }
}

type Contender = (&'static str, fn(&Env));

fn contenders(env: &Env) -> Vec<Contender> {
    let mut v: Vec<Contender> = vec![
        ("sqlite/testdb", sqlite_testdb),
        ("sqlite/naive", sqlite_naive),
    ];
    if env.pg.is_some() {
        v.push(("postgres/testdb_transaction", |e| {
            pg_testdb(e, Isolation::Transaction)
        }));
        v.push(("postgres/testdb_database", |e| {
            pg_testdb(e, Isolation::Database)
        }));
        v.push(("postgres/naive", pg_naive));
    }
    v
}

// ---------------------------------------------------------------- the bench

fn env() -> (Env, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let descs = models(MODELS, COLUMNS);
    let fixtures = dir.path().join("fixtures.json");
    let rows = write_fixtures(&fixtures, &descs);
    assert_eq!(rows, MODELS * ROWS_PER_TABLE);
    let pg = match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let admin = PgOptions::new(url.as_str()).pool_size(2).connect().unwrap();
            Some(Pg { url, admin })
        }
        _ => {
            println!(
                "note: DATABASE_URL is not set: the PostgreSQL contenders are skipped \
                 (e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres)"
            );
            None
        }
    };
    let env = Env {
        descs,
        fixtures,
        dir: dir.path().to_owned(),
        pg,
    };
    (env, dir)
}

/// The benchmark-name filter criterion was given (its one positional
/// argument), so the untimed first setups and the suite run the same contenders.
fn name_filter() -> Option<String> {
    const TAKES_VALUE: &[&str] = &[
        "-c",
        "--color",
        "-s",
        "--save-baseline",
        "-b",
        "--baseline",
        "--baseline-lenient",
        "--load-baseline",
        "--sample-size",
        "--warm-up-time",
        "--measurement-time",
        "--nresamples",
        "--noise-threshold",
        "--confidence-level",
        "--significance-level",
        "--profile-time",
        "--format",
        "--plotting-backend",
        "--output-format",
    ];
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if TAKES_VALUE.contains(&a.as_str()) {
            args.next();
        } else if !a.starts_with('-') {
            return Some(a);
        }
    }
    None
}

fn bench(c: &mut Criterion) {
    let (env, _dir) = env();
    let filter = name_filter();
    let contenders: Vec<Contender> = contenders(&env)
        .into_iter()
        .filter(|(name, _)| match &filter {
            Some(f) => name.contains(f.as_str()),
            None => true,
        })
        .collect();
    if std::env::var_os("TESTDB_PHASES").is_some() {
        phases::run(&env);
    }

    // One-off costs (template build / first CREATE DATABASE of the process),
    // outside every measurement. A PostgreSQL template made by an earlier
    // process is reused, so this is "cold" only on the first run ever.
    for (name, f) in &contenders {
        let t = Instant::now();
        f(&env);
        println!(
            "first setup of the process: {name:<28} {:>9.2?}",
            t.elapsed()
        );
    }
    // Check the fixtures really went in (once, outside the timings).
    let check = dataflow_sqlite::testing::TestDb::builder()
        .models(&env.descs)
        .fixtures(&env.fixtures)
        .build()
        .unwrap();
    let n: i64 = env
        .descs
        .iter()
        .map(|d| {
            check
                .with_conn(|c| {
                    let mut n = 0;
                    c.query(
                        &format!("SELECT COUNT(*) FROM \"{}\"", d.table),
                        &[],
                        &[LogicalType::BigInt],
                        &mut |row| {
                            if let dataflow_core::Value::I64(v) = row[0] {
                                n = v;
                            }
                            Ok(())
                        },
                    )?;
                    Ok(n)
                })
                .unwrap()
        })
        .sum();
    assert_eq!(n as usize, MODELS * ROWS_PER_TABLE);
    drop(check);

    for backend in ["sqlite", "postgres"] {
        let mine: Vec<&Contender> = contenders
            .iter()
            .filter(|(n, _)| n.starts_with(backend))
            .collect();
        if mine.is_empty() {
            continue;
        }
        let mut group = c.benchmark_group(format!(
            "setup_{MODELS}x{COLUMNS}_{}rows",
            MODELS * ROWS_PER_TABLE
        ));
        group
            .sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(3));
        for (name, f) in mine {
            group.bench_function(*name, |b| b.iter(|| f(&env)));
        }
        group.finish();
    }

    // `cargo test --benches` runs each benchmark once without `--bench`: the
    // suite timings are for real runs only.
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--profile-time") {
        suite(&env, &contenders);
    }
}

/// Median, 90th percentile and maximum of a set of durations.
fn stats(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[v.len() * 9 / 10], v[v.len() - 1])
}

fn suite(env: &Env, contenders: &[Contender]) {
    println!();
    println!("{SUITE}-test suite (setup + teardown, one test after the other):");
    println!(
        "  {:<28} {:>10} {:>10} {:>10} {:>10}",
        "contender", "total", "median", "p90", "max"
    );
    let mut totals = Vec::new();
    for (name, f) in contenders {
        let mut each = Vec::with_capacity(SUITE);
        let start = Instant::now();
        for _ in 0..SUITE {
            let t = Instant::now();
            f(env);
            each.push(t.elapsed());
        }
        let total = start.elapsed();
        let (median, p90, max) = stats(each);
        println!("  {name:<28} {total:>10.2?} {median:>10.2?} {p90:>10.2?} {max:>10.2?}");
        totals.push((*name, total));
    }
    let total = |n: &str| totals.iter().find(|(m, _)| *m == n).map(|(_, t)| *t);
    let ratio = |a: &str, b: &str| {
        if let (Some(x), Some(y)) = (total(a), total(b)) {
            println!(
                "  ratio {b} / {a}: {:.1}x",
                y.as_secs_f64() / x.as_secs_f64()
            );
        }
    };
    ratio("sqlite/testdb", "sqlite/naive");
    ratio("postgres/testdb_transaction", "postgres/naive");
    ratio("postgres/testdb_database", "postgres/naive");

    if env.pg.is_none() {
        return;
    }
    let threads = 2;
    println!();
    println!(
        "{SUITE}-test suite on {threads} threads ({} tests each):",
        SUITE / threads
    );
    let mut par = Vec::new();
    for (name, f) in contenders.iter().filter(|(n, _)| n.starts_with("postgres")) {
        let start = Instant::now();
        let each: Vec<Duration> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        (0..SUITE / threads)
                            .map(|_| {
                                let t = Instant::now();
                                f(env);
                                t.elapsed()
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        let total = start.elapsed();
        let (median, p90, max) = stats(each);
        println!("  {name:<28} {total:>10.2?} {median:>10.2?} {p90:>10.2?} {max:>10.2?}");
        par.push((*name, total));
    }
    let get = |n: &str| par.iter().find(|(m, _)| *m == n).map(|(_, t)| *t);
    if let (Some(db), Some(naive)) = (get("postgres/testdb_database"), get("postgres/naive")) {
        println!(
            "  ratio postgres/naive / postgres/testdb_database: {:.1}x",
            naive.as_secs_f64() / db.as_secs_f64()
        );
    }
}

/// Where the time of one setup goes: each step of `TestDb::build` redone with
/// public APIs, timed on its own (medians of `N` runs).
mod phases {
    use super::*;
    use dataflow_core::migrate::schema::Schema;
    use diesel::connection::SimpleConnection;
    use diesel::r2d2::{ConnectionManager, Pool};
    use diesel::Connection as _;

    const N: usize = 15;

    /// Median of the named steps over `N` runs of `f`, which pushes one
    /// duration per step per run.
    fn table(title: &str, steps: &[&str], mut f: impl FnMut(&mut Vec<Duration>)) {
        let mut all: Vec<Vec<Duration>> = vec![Vec::new(); steps.len()];
        for _ in 0..N {
            let mut one = Vec::new();
            f(&mut one);
            assert_eq!(one.len(), steps.len(), "{title}: one duration per step");
            for (i, d) in one.into_iter().enumerate() {
                all[i].push(d);
            }
        }
        println!("phases: {title} (median of {N})");
        let mut sum = Duration::ZERO;
        for (name, mut v) in steps.iter().zip(all) {
            v.sort();
            let m = v[v.len() / 2];
            sum += m;
            println!("  {name:<58} {m:>10.2?}");
        }
        println!("  {:<58} {sum:>10.2?}", "sum of medians");
    }

    /// Times `f`, pushing its duration.
    fn lap<R>(out: &mut Vec<Duration>, f: impl FnOnce() -> R) -> R {
        let t = Instant::now();
        let r = f();
        out.push(t.elapsed());
        r
    }

    const PRAGMAS: &str = "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; \
         PRAGMA case_sensitive_like = ON; PRAGMA synchronous = NORMAL; \
         PRAGMA journal_mode = WAL;";

    fn remove_db_files(path: &Path) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
    }

    pub(super) fn run(env: &Env) {
        sqlite(env);
        if let Some(pg) = &env.pg {
            postgres(env, pg);
        }
    }

    fn sqlite(env: &Env) {
        // A template made the way TestDb makes one.
        let tpl = env.dir.join("phases-tpl.db");
        {
            let db = SqliteOptions::new(&tpl).pool_size(1).open().unwrap();
            db.register_all(&env.descs).unwrap();
            db.auto_migrate(MigrateOptions::default()).unwrap();
            db.with_conn(|c| c.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)"))
                .unwrap();
        }
        println!(
            "phases: SQLite template file: {} KiB",
            std::fs::metadata(&tpl).unwrap().len() / 1024
        );
        let mut n = 0;
        let mut next = || {
            n += 1;
            env.dir.join(format!("phases-{n}.db"))
        };
        table(
            "SQLite TestDb::build + drop, step by step",
            &[
                "schema key (Schema::from_descriptors + sha256)",
                "fs::copy(template)",
                "SqliteOptions::pool_size(4).open()",
                "register_all",
                "load_fixtures (100 rows)",
                "drop(DataFlow) (pool + connections closed)",
                "remove files",
            ],
            |t| {
                let path = next();
                lap(t, || {
                    black_box(Schema::from_descriptors(env.descs.iter().copied()).checksum())
                });
                lap(t, || std::fs::copy(&tpl, &path).unwrap());
                let db = lap(t, || SqliteOptions::new(&path).pool_size(4).open().unwrap());
                lap(t, || db.register_all(&env.descs).unwrap());
                lap(t, || load_fixtures(&db, &env.fixtures).unwrap());
                lap(t, || drop(db));
                lap(t, || remove_db_files(&path));
            },
        );
        table(
            "SQLite: what SqliteOptions::open and the fixtures are made of",
            &[
                "diesel SqliteConnection::establish + pragmas (1 conn)",
                "r2d2 pool build, max 4, min_idle 1 (own 3-thread pool)",
                "drop that pool",
                "read + serde_json-parse the fixture file",
                "load_fixtures, synchronous = OFF, journal_mode = MEMORY",
                "drop(DataFlow) after one more checkout (2nd conn)",
            ],
            |t| {
                let path = next();
                std::fs::copy(&tpl, &path).unwrap();
                let raw = path.to_str().unwrap().to_owned();
                let c = lap(t, || {
                    let mut c = diesel::SqliteConnection::establish(&raw).unwrap();
                    c.batch_execute(PRAGMAS).unwrap();
                    c
                });
                drop(c);
                let pool = lap(t, || {
                    Pool::builder()
                        .max_size(4)
                        .min_idle(Some(1))
                        .build(ConnectionManager::<diesel::SqliteConnection>::new(
                            raw.as_str(),
                        ))
                        .unwrap()
                });
                lap(t, || drop(pool));
                lap(t, || {
                    let text = std::fs::read_to_string(&env.fixtures).unwrap();
                    black_box(serde_json::from_str::<Json>(&text).unwrap())
                });
                remove_db_files(&path);
                std::fs::copy(&tpl, &path).unwrap();
                let db = SqliteOptions::new(&path).pool_size(1).open().unwrap();
                db.register_all(&env.descs).unwrap();
                db.with_conn(|c| {
                    c.batch_execute("PRAGMA synchronous = OFF; PRAGMA journal_mode = MEMORY;")
                })
                .unwrap();
                lap(t, || load_fixtures(&db, &env.fixtures).unwrap());
                drop(db);
                remove_db_files(&path);
                std::fs::copy(&tpl, &path).unwrap();
                let db = SqliteOptions::new(&path).pool_size(4).open().unwrap();
                db.with_conn(|c| c.batch_execute("SELECT 1")).unwrap();
                lap(t, || drop(db));
                remove_db_files(&path);
            },
        );
        // What-ifs (not how TestDb works today): fixtures baked into the
        // template, one pooled connection, no fsync.
        let baked = env.dir.join("phases-tpl-fixtures.db");
        {
            std::fs::copy(&tpl, &baked).unwrap();
            let db = SqliteOptions::new(&baked).pool_size(1).open().unwrap();
            db.register_all(&env.descs).unwrap();
            load_fixtures(&db, &env.fixtures).unwrap();
            db.with_conn(|c| c.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)"))
                .unwrap();
        }
        table(
            "SQLite what-ifs: whole setup + teardown per variant",
            &[
                "as TestDb (copy, open pool 4, fixtures, drop, remove)",
                "  … but pool_size(1) (no background 2nd connection)",
                "  … pool_size(1) and synchronous = OFF for the fixtures",
                "fixtures baked into the template: copy, open pool 4, drop",
                "  … and pool_size(1)",
            ],
            |t| {
                let setups: [(&Path, u32, bool, bool); 5] = [
                    (&tpl, 4, false, true),
                    (&tpl, 1, false, true),
                    (&tpl, 1, true, true),
                    (&baked, 4, false, false),
                    (&baked, 1, false, false),
                ];
                for (from, pool, nosync, fixtures) in setups {
                    let path = next();
                    lap(t, || {
                        std::fs::copy(from, &path).unwrap();
                        let db = SqliteOptions::new(&path).pool_size(pool).open().unwrap();
                        db.register_all(&env.descs).unwrap();
                        if nosync {
                            db.with_conn(|c| c.batch_execute("PRAGMA synchronous = OFF"))
                                .unwrap();
                        }
                        if fixtures {
                            load_fixtures(&db, &env.fixtures).unwrap();
                        }
                        drop(db);
                        remove_db_files(&path);
                    });
                }
            },
        );
        table(
            "SQLite naive setup, step by step",
            &[
                "SqliteOptions::pool_size(4).open() (new file)",
                "register_all + auto_migrate (20 tables, 40 indexes)",
                "load_fixtures (100 rows)",
                "drop(DataFlow) + remove files",
            ],
            |t| {
                let path = next();
                let db = lap(t, || SqliteOptions::new(&path).pool_size(4).open().unwrap());
                lap(t, || {
                    db.register_all(&env.descs).unwrap();
                    db.auto_migrate(MigrateOptions::default()).unwrap()
                });
                lap(t, || load_fixtures(&db, &env.fixtures).unwrap());
                lap(t, || {
                    drop(db);
                    remove_db_files(&path)
                });
            },
        );
    }

    /// The fixture file as one SQL batch (literals, no binds): 20 multi-row
    /// INSERTs and one SELECT of 20 `setval`s — what loading it in a single
    /// round trip would send.
    fn fixture_sql(env: &Env) -> String {
        let text = std::fs::read_to_string(&env.fixtures).unwrap();
        let Json::Object(doc) = serde_json::from_str::<Json>(&text).unwrap() else {
            unreachable!("the fixture file is an object")
        };
        let lit = |v: &Json| match v {
            Json::Null => "NULL".to_owned(),
            Json::Bool(b) => b.to_string(),
            Json::Number(n) => n.to_string(),
            Json::String(s) => format!("'{}'", s.replace('\'', "''")),
            other => format!("'{}'", other.to_string().replace('\'', "''")),
        };
        let mut sql = String::new();
        let mut setvals = Vec::new();
        for d in &env.descs {
            let Some(Json::Array(rows)) = doc.get(d.table) else {
                continue;
            };
            let cols: Vec<String> = d
                .columns
                .iter()
                .map(|c| format!("\"{}\"", c.name))
                .collect();
            let values: Vec<String> = rows
                .iter()
                .map(|r| {
                    let v: Vec<String> = d.columns.iter().map(|c| lit(&r[c.name])).collect();
                    format!("({})", v.join(", "))
                })
                .collect();
            sql.push_str(&format!(
                "INSERT INTO \"{}\" ({}) OVERRIDING SYSTEM VALUE VALUES {};\n",
                d.table,
                cols.join(", "),
                values.join(", ")
            ));
            setvals.push(format!(
                "setval(pg_get_serial_sequence('\"{0}\"', 'id'), (SELECT MAX(id) FROM \"{0}\"))",
                d.table
            ));
        }
        sql.push_str(&format!("SELECT {};", setvals.join(", ")));
        sql
    }

    fn postgres(env: &Env, pg: &Pg) {
        let admin = &pg.admin;
        let exec = |sql: String| admin.with_conn(|c| c.batch_execute(&sql)).unwrap();
        let pid = std::process::id();
        // A migrated template and a shared database made the way TestDb makes
        // them (under names of this process; dropped at the end).
        // (Nothing connects to the template but CREATE DATABASE: a session still
        // closing on it would make CREATE DATABASE wait.)
        let tpl = format!("df_prof_tpl_{pid}");
        let shared = format!("df_prof_tx_{pid}");
        for name in [&tpl, &shared] {
            exec(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
            exec(format!("CREATE DATABASE \"{name}\""));
            let db = PgOptions::new(with_database(&pg.url, name))
                .pool_size(1)
                .connect()
                .unwrap();
            db.register_all(&env.descs).unwrap();
            db.auto_migrate(MigrateOptions::default()).unwrap();
        }
        let tpl_url = with_database(&pg.url, &shared);
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("df_prof_{pid}_{n}")
        };
        table(
            "PostgreSQL raw costs",
            &[
                "diesel PgConnection::establish (1 conn)",
                "SELECT 1 round trip on it",
                "PgOptions::test_transaction(true).connect() (check + 1)",
                "PgOptions::pool_size(4).connect() (check + min_idle 1)",
                "first checkout of that pool (test_on_check_out)",
            ],
            |t| {
                let mut c = lap(t, || diesel::PgConnection::establish(&tpl_url).unwrap());
                lap(t, || c.batch_execute("SELECT 1").unwrap());
                drop(c);
                let db = lap(t, || {
                    PgOptions::new(tpl_url.as_str())
                        .test_transaction(true)
                        .connect()
                        .unwrap()
                });
                drop(db);
                let db = lap(t, || {
                    PgOptions::new(tpl_url.as_str())
                        .pool_size(4)
                        .connect()
                        .unwrap()
                });
                lap(t, || db.with_conn(|c| c.batch_execute("SELECT 1")).unwrap());
                drop(db);
            },
        );
        let plain_url = format!("{tpl_url}?sslmode=disable");
        let plain_server = format!("{}?sslmode=disable", pg.url);
        let testdb = |url: &str, isolation: Isolation| {
            let db = dataflow_postgres::testing::TestDb::builder()
                .url(url)
                .models(&env.descs)
                .fixtures(&env.fixtures)
                .isolation(isolation)
                .build()
                .unwrap();
            drop(db);
        };
        // Warm both TestDb handles (admin connections, template checks).
        testdb(&pg.url, Isolation::Transaction);
        testdb(&plain_server, Isolation::Transaction);
        let batch = fixture_sql(env);
        table(
            "PostgreSQL what-ifs: TLS off (sslmode=disable), fixtures baked in",
            &[
                "diesel PgConnection::establish, TLS (sslmode=prefer)",
                "diesel PgConnection::establish, sslmode=disable",
                "TestDb Transaction build + drop (as benchmarked)",
                "TestDb Transaction build + drop, sslmode=disable",
                "test_transaction connect + drop, sslmode=disable (baked)",
                "1 conn, sslmode=disable: establish + BEGIN + ROLLBACK",
                "  … + the 100 rows + 20 setval as ONE batch (1 round trip)",
                "  … that again on the same connection (warm catalog caches)",
            ],
            |t| {
                lap(t, || diesel::PgConnection::establish(&tpl_url).unwrap());
                lap(t, || diesel::PgConnection::establish(&plain_url).unwrap());
                lap(t, || testdb(&pg.url, Isolation::Transaction));
                lap(t, || testdb(&plain_server, Isolation::Transaction));
                lap(t, || {
                    PgOptions::new(plain_url.as_str())
                        .test_transaction(true)
                        .connect()
                        .unwrap()
                });
                lap(t, || {
                    let mut c = diesel::PgConnection::establish(&plain_url).unwrap();
                    c.batch_execute("BEGIN").unwrap();
                    c.batch_execute("ROLLBACK").unwrap();
                });
                let mut c = lap(t, || {
                    let mut c = diesel::PgConnection::establish(&plain_url).unwrap();
                    c.batch_execute("BEGIN").unwrap();
                    c.batch_execute(&batch).unwrap();
                    c.batch_execute("ROLLBACK").unwrap();
                    c
                });
                lap(t, || {
                    c.batch_execute("BEGIN").unwrap();
                    c.batch_execute(&batch).unwrap();
                    c.batch_execute("ROLLBACK").unwrap();
                });
            },
        );
        table(
            "PostgreSQL TestDb Isolation::Transaction, step by step",
            &[
                "schema key (Schema::from_descriptors + sha256)",
                "PgOptions::test_transaction(true).connect()",
                "register_all",
                "load_fixtures (100 rows, in the test transaction)",
                "drop(DataFlow) (disconnect = rollback)",
            ],
            |t| {
                lap(t, || {
                    black_box(Schema::from_descriptors(env.descs.iter().copied()).checksum())
                });
                let db = lap(t, || {
                    PgOptions::new(tpl_url.as_str())
                        .test_transaction(true)
                        .connect()
                        .unwrap()
                });
                lap(t, || db.register_all(&env.descs).unwrap());
                lap(t, || load_fixtures(&db, &env.fixtures).unwrap());
                lap(t, || drop(db));
            },
        );
        table(
            "PostgreSQL TestDb Isolation::Database, step by step (no clone made ahead)",
            &[
                "CREATE DATABASE … TEMPLATE (WAL_LOG, the PG 15 default)",
                "PgOptions::pool_size(4).connect()",
                "register_all",
                "load_fixtures (100 rows)",
                "drop(DataFlow)",
                "DROP DATABASE … WITH (FORCE)",
            ],
            |t| {
                let name = next();
                lap(t, || {
                    exec(format!("CREATE DATABASE \"{name}\" TEMPLATE \"{tpl}\""))
                });
                let db = lap(t, || {
                    PgOptions::new(with_database(&pg.url, &name))
                        .pool_size(4)
                        .connect()
                        .unwrap()
                });
                lap(t, || db.register_all(&env.descs).unwrap());
                lap(t, || load_fixtures(&db, &env.fixtures).unwrap());
                lap(t, || drop(db));
                lap(t, || {
                    exec(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                });
            },
        );
        table(
            "PostgreSQL clone alternatives",
            &[
                "CREATE DATABASE … TEMPLATE … STRATEGY FILE_COPY",
                "DROP DATABASE (FILE_COPY clone)",
                "CREATE DATABASE (from template1, WAL_LOG)",
                "DROP DATABASE (empty)",
                "TRUNCATE the 20 filled tables RESTART IDENTITY (reuse a db)",
                "DELETE FROM + setval on the 20 tables, 1 batch (reuse a db)",
            ],
            |t| {
                let name = next();
                lap(t, || {
                    exec(format!(
                        "CREATE DATABASE \"{name}\" TEMPLATE \"{tpl}\" STRATEGY FILE_COPY"
                    ))
                });
                lap(t, || exec(format!("DROP DATABASE \"{name}\" WITH (FORCE)")));
                let name = next();
                lap(t, || exec(format!("CREATE DATABASE \"{name}\"")));
                lap(t, || exec(format!("DROP DATABASE \"{name}\" WITH (FORCE)")));
                let tables: Vec<String> = env
                    .descs
                    .iter()
                    .map(|d| format!("\"{}\"", d.table))
                    .collect();
                let sql = format!("TRUNCATE {} RESTART IDENTITY", tables.join(", "));
                let db = PgOptions::new(tpl_url.as_str())
                    .pool_size(1)
                    .connect()
                    .unwrap();
                db.register_all(&env.descs).unwrap();
                load_fixtures(&db, &env.fixtures).unwrap();
                lap(t, || db.with_conn(|c| c.batch_execute(&sql)).unwrap());
                load_fixtures(&db, &env.fixtures).unwrap();
                let delete: String = env
                    .descs
                    .iter()
                    .map(|d| {
                        format!(
                            "DELETE FROM \"{0}\"; SELECT setval(pg_get_serial_sequence('\"{0}\"', 'id'), 1, false);",
                            d.table
                        )
                    })
                    .collect();
                lap(t, || {
                    db.transaction(|tx| tx.with_conn(|c| c.batch_execute(&delete)))
                        .unwrap()
                });
            },
        );
        table(
            "PostgreSQL naive setup, step by step",
            &[
                "CREATE DATABASE (from template1)",
                "PgOptions::pool_size(4).connect()",
                "register_all + auto_migrate (20 tables, 40 indexes)",
                "load_fixtures (100 rows)",
                "drop(DataFlow)",
                "DROP DATABASE … WITH (FORCE)",
            ],
            |t| {
                let name = next();
                lap(t, || exec(format!("CREATE DATABASE \"{name}\"")));
                let db = lap(t, || {
                    PgOptions::new(with_database(&pg.url, &name))
                        .pool_size(4)
                        .connect()
                        .unwrap()
                });
                lap(t, || {
                    db.register_all(&env.descs).unwrap();
                    db.auto_migrate(MigrateOptions::default()).unwrap()
                });
                lap(t, || load_fixtures(&db, &env.fixtures).unwrap());
                lap(t, || drop(db));
                lap(t, || {
                    exec(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                });
            },
        );
        checkpoints(env, pg, &tpl);
        for name in [&tpl, &shared] {
            exec(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
        }
    }

    /// (checkpoints requested, buffers written by checkpoints) so far.
    fn bgwriter(admin: &DataFlow) -> (i64, i64) {
        let mut out = (0, 0);
        admin
            .with_conn(|c| {
                c.query(
                    "SELECT checkpoints_req, buffers_checkpoint FROM pg_stat_bgwriter",
                    &[],
                    &[LogicalType::BigInt, LogicalType::BigInt],
                    &mut |row| {
                        if let (dataflow_core::Value::I64(a), dataflow_core::Value::I64(b)) =
                            (&row[0], &row[1])
                        {
                            out = (*a, *b);
                        }
                        Ok(())
                    },
                )
            })
            .unwrap();
        out
    }

    /// Checkpoints forced per test in database mode (every DROP DATABASE asks
    /// for an immediate checkpoint, which writes and fsyncs every dirty buffer
    /// of the cluster — the clones made ahead included). Exact only on a server
    /// nobody else uses.
    fn checkpoints(env: &Env, pg: &Pg, tpl: &str) {
        const RUNS: i64 = 10;
        let admin = &pg.admin;
        let before = bgwriter(admin);
        for _ in 0..RUNS {
            pg_testdb(env, Isolation::Database);
        }
        let mid = bgwriter(admin);
        let pid = std::process::id();
        for i in 0..RUNS {
            let name = format!("df_prof_ck_{pid}_{i}");
            admin
                .with_conn(|c| {
                    c.batch_execute(&format!("CREATE DATABASE \"{name}\" TEMPLATE \"{tpl}\""))
                })
                .unwrap();
            {
                let db = PgOptions::new(with_database(&pg.url, &name))
                    .pool_size(4)
                    .connect()
                    .unwrap();
                db.register_all(&env.descs).unwrap();
                load_fixtures(&db, &env.fixtures).unwrap();
            }
            admin
                .with_conn(|c| c.batch_execute(&format!("DROP DATABASE \"{name}\" WITH (FORCE)")))
                .unwrap();
        }
        let after = bgwriter(admin);
        let per = |a: (i64, i64), b: (i64, i64)| {
            format!(
                "{:.1} checkpoints, {:.0} buffers ({:.1} MiB) written by checkpoints",
                (b.0 - a.0) as f64 / RUNS as f64,
                (b.1 - a.1) as f64 / RUNS as f64,
                (b.1 - a.1) as f64 * 8.0 / 1024.0 / RUNS as f64
            )
        };
        println!("phases: per database-mode test (pg_stat_bgwriter deltas, {RUNS} tests)");
        println!(
            "  TestDb (2 clones made ahead):        {}",
            per(before, mid)
        );
        println!(
            "  clone on demand, no clone made ahead: {}",
            per(mid, after)
        );
    }
}

// criterion_group! generates an undocumented pub fn.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(benches, bench);
}
criterion_main!(group::benches);
