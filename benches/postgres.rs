//! PostgreSQL benchmark: dataflow's generated CRUD against hand-written diesel
//! on the same server, database, table and connection URL, in one criterion run.
//! The PostgreSQL counterpart of `benches/crud.rs`.
//!
//! The bench reads `DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), creates its own database
//! `df_bench_pg_<pid>` there, and drops it (`WITH (FORCE)`) at the end; nothing
//! else on the server is touched.
//!
//! Contenders (one criterion group per workload, one function per contender):
//!
//! - `dataflow`: `#[derive(Model)]` CRUD through a `DataFlow` handle from
//!   `dataflow_postgres::PgOptions` (an r2d2 pool inside; one checkout per call,
//!   with r2d2's `SELECT 1` check on checkout, the default).
//! - `dataflow_unchecked` (the five single-row/list workloads): the same calls
//!   on a second handle built with `.check_on_checkout(false)` (same pool size,
//!   same model, same database): one round trip less per call.
//! - `dataflow_unprepared` (the same four workloads): `dataflow_unchecked` with
//!   `.prepared_statements(false)`: each statement goes unnamed, so the server
//!   parses and plans it every time (what a transaction pooler needs).
//! - `dataflow_unprepared/pgbouncer`: the same through PgBouncer in transaction
//!   mode, when `DATAFLOW_PGBOUNCER_URL` names one (`.ci/pg-extras.sh start`).
//! - `diesel_typed/pool` and `diesel_typed/held`: diesel's typed query DSL on a
//!   `PgConnection`, checked out per operation from a diesel r2d2 pool built
//!   exactly like dataflow's (size 10, `min_idle` 1, 10 s timeout, r2d2's default
//!   `SELECT 1` check on every checkout), or one connection held for the whole
//!   benchmark.
//! - `diesel_typed/pool_unchecked` (read and list): the same diesel pool with
//!   `test_on_check_out(false)`, the like-for-like peer of `dataflow_unchecked`.
//! - `raw_sql/pool` and `raw_sql/held`: `diesel::sql_query` with binds.
//! - read only: `diesel_typed_no_limit/{pool,held}`: `find(id).get_result()`,
//!   the same SQL as dataflow's read (no `LIMIT`), next to the idiomatic
//!   `find(id).first()` (`… LIMIT $2`).
//! - bulk only (100 000 rows; every contender on a held connection except
//!   dataflow, whose one checkout per call is negligible at this size):
//!   - `dataflow`: `bulk_create`, which on PostgreSQL binds each column as one
//!     array (`INSERT … SELECT * FROM unnest($1::TEXT[], …)`), 20 000 rows per
//!     statement, in one transaction;
//!   - `copy_binary/held`: `diesel::copy_from(users).from_insertable(&rows)`:
//!     `COPY … FROM STDIN (FORMAT binary)`, diesel encoding each value;
//!   - `copy_text/held`: `copy_from(users).from_raw_data(..)`: `COPY … FROM
//!     STDIN` in text format, written by hand into 64 KiB buffers;
//!   - `diesel_batch/held`: `insert_into(users).values(chunk)` with 13 107 rows
//!     (65 535 binds, the protocol limit) per statement, in one transaction;
//!   - `diesel_batch_500/held`: the same with 500 rows per statement (dataflow's
//!     chunk size before its array path).
//!
//! Write workloads restore the table after every sample, untimed: insert and
//! update delete what was inserted, `VACUUM` the table and `CHECKPOINT`; bulk
//! `TRUNCATE`s and `CHECKPOINT`s after every iteration. So no contender pays for
//! another one's dead rows or dirty pages, and a checkpoint never lands in a
//! timed region. (The server runs with `autovacuum = off` here.)
//!
//! Single-row writes run in autocommit: each one is a commit, and with
//! `synchronous_commit = on` a WAL flush, on every side alike. That flush (an
//! `fdatasync`, ~0.1 ms on a quiet disk, several ms under other I/O) dwarfs the
//! libraries' own cost; `PG_BENCH_SYNCHRONOUS_COMMIT=off` sets
//! `synchronous_commit = off` on the bench's database (only there) to take it
//! off the commit path.
//!
//! Run: `cargo bench --bench postgres` (see BENCHMARKS.md).

use std::hint::black_box;
use std::io::Write as _;
use std::time::{Duration, Instant};

use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput};
use dataflow_core::prelude::*;
use diesel::pg::{CopyFormat, Pg};
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, Pool};
use diesel::sql_types::{BigInt, Bool, Double, Integer, Nullable, Text};
use diesel::PgConnection;

mod common;
use common::{sample_user, users, User, UserPatch};

/// Rows in the table before any single-row workload runs.
const PREFILL: i64 = 10_000;
/// Rows per bulk insert.
const BULK: usize = 100_000;
/// Rows per statement of `diesel_batch`: 5 binds a row, at most 65 535 binds a
/// statement (the protocol limit; dataflow's PostgreSQL dialect declares the same).
const BATCH_MAX: usize = 65_535 / 5;
/// Rows per statement of `diesel_batch_500` (dataflow's multi-row `VALUES`
/// chunk, `bind limit / columns` capped at 500, still used where the array
/// path does not apply).
const BATCH_500: usize = 500;
/// Pool size of both pools (dataflow's `PgOptions` default).
const POOL_SIZE: u32 = 10;
/// Spreads primary keys over the pre-filled rows (coprime with `PREFILL`).
const STRIDE: u64 = 7_919;
/// The server used when `DATABASE_URL` is not set.
const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The same row for diesel (typed DSL and `sql_query`).
#[derive(Queryable, QueryableByName, Selectable, Debug, Clone, PartialEq)]
#[diesel(table_name = users, check_for_backend(Pg))]
struct DUser {
    id: i64,
    name: String,
    email: String,
    age: Option<i32>,
    is_active: bool,
    score: f64,
}

impl From<DUser> for User {
    fn from(u: DUser) -> Self {
        User {
            id: u.id,
            name: u.name,
            email: u.email,
            age: u.age,
            is_active: u.is_active,
            score: u.score,
        }
    }
}

/// A row to insert with diesel. `None` binds NULL (required by
/// `copy_from(..).from_insertable`, and keeps a batch one multi-row statement).
#[derive(Insertable, Debug, Clone, Copy)]
#[diesel(table_name = users, treat_none_as_default_value = false)]
struct NewUser<'a> {
    name: &'a str,
    email: &'a str,
    age: Option<i32>,
    is_active: bool,
    score: f64,
}

const RAW_COLUMNS: &str = "id, name, email, age, is_active, score";

type DieselPool = Pool<ConnectionManager<PgConnection>>;

/// The bench's private database; dropped (with any connection still open to
/// it) when this value is dropped.
struct BenchDatabase {
    admin_url: String,
    name: String,
}

impl Drop for BenchDatabase {
    fn drop(&mut self) {
        match PgConnection::establish(&self.admin_url) {
            Ok(mut c) => {
                let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
                if let Err(e) = diesel::sql_query(sql).execute(&mut c) {
                    eprintln!("could not drop database {}: {e}", self.name);
                }
            }
            Err(e) => eprintln!("could not drop database {}: {e}", self.name),
        }
    }
}

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

/// Everything the contenders share. Fields drop in order: every pool and
/// connection closes before the database is dropped.
struct Env {
    db: DataFlow,
    /// The same as `db` with `check_on_checkout(false)`: no `SELECT 1` per call.
    db_unchecked: DataFlow,
    /// `db_unchecked` with `prepared_statements(false)`: every statement
    /// parsed and planned by the server each time.
    db_unprepared: DataFlow,
    /// `db_unprepared` through PgBouncer in transaction mode, when
    /// `DATAFLOW_PGBOUNCER_URL` names one.
    db_pgbouncer: Option<DataFlow>,
    pool: DieselPool,
    /// The same pool without r2d2's test on checkout.
    pool_unchecked: DieselPool,
    held: PgConnection,
    /// For cleanup between samples (never timed).
    admin: PgConnection,
    /// Highest id after the pre-fill.
    max_id: i64,
    _database: BenchDatabase,
}

fn exec(conn: &mut PgConnection, sql: &str) {
    diesel::sql_query(sql)
        .execute(conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn setup() -> Env {
    let admin_url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    let name = format!("df_bench_pg_{}", std::process::id());
    let mut server = PgConnection::establish(&admin_url).expect("connect to DATABASE_URL");
    exec(&mut server, &format!("CREATE DATABASE \"{name}\""));
    // Optional: take the WAL flush off the commit path of this database only,
    // to see the client-side cost without the disk's fsync latency.
    if let Ok(mode) = std::env::var("PG_BENCH_SYNCHRONOUS_COMMIT") {
        assert!(
            ["on", "off", "local"].contains(&mode.as_str()),
            "PG_BENCH_SYNCHRONOUS_COMMIT must be on, off or local"
        );
        exec(
            &mut server,
            &format!("ALTER DATABASE \"{name}\" SET synchronous_commit = {mode}"),
        );
    }
    drop(server);
    let database = BenchDatabase {
        admin_url: admin_url.clone(),
        name: name.clone(),
    };
    let url = with_database(&admin_url, &name);
    let mut probe = PgConnection::establish(&url).expect("connect to the bench database");
    #[derive(QueryableByName)]
    struct Setting {
        #[diesel(sql_type = Text)]
        v: String,
    }
    let sync: Setting = diesel::sql_query("SELECT current_setting('synchronous_commit') AS v")
        .get_result(&mut probe)
        .expect("synchronous_commit");
    drop(probe);
    eprintln!("bench database: {name} (synchronous_commit = {})", sync.v);

    let db = dataflow_postgres::PgOptions::new(&url)
        .pool_size(POOL_SIZE)
        .connect()
        .expect("connect dataflow");
    db.register::<User>().expect("register");
    // The same model on the same database, without the checkout ping. It only
    // registers: the table is `db`'s `auto_migrate`'s.
    let db_unchecked = dataflow_postgres::PgOptions::new(&url)
        .pool_size(POOL_SIZE)
        .check_on_checkout(false)
        .connect()
        .expect("connect dataflow (unchecked)");
    db_unchecked
        .register::<User>()
        .expect("register (unchecked)");
    let unprepared = |url: &str| {
        let db = dataflow_postgres::PgOptions::new(url)
            .pool_size(POOL_SIZE)
            .check_on_checkout(false)
            .prepared_statements(false)
            .connect()
            .expect("connect dataflow (unprepared)");
        db.register::<User>().expect("register (unprepared)");
        db
    };
    let db_unprepared = unprepared(&url);
    let db_pgbouncer = std::env::var("DATAFLOW_PGBOUNCER_URL")
        .ok()
        .map(|pooler| unprepared(&with_database(&pooler, &name)));
    let report = db
        .auto_migrate(MigrateOptions::default())
        .expect("auto_migrate");
    for step in &report.steps {
        for sql in &step.sql_up {
            eprintln!("schema: {sql}");
        }
    }
    let rows: Vec<User> = (0..PREFILL).map(|i| sample_user(i, "seed")).collect();
    User::bulk_create(&db, &rows).expect("prefill");

    // Same settings as dataflow's pool (`PgBackend::connect`): size, min_idle,
    // timeout, and r2d2's default test on checkout.
    let pool = Pool::builder()
        .max_size(POOL_SIZE)
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(10))
        .build(ConnectionManager::<PgConnection>::new(&url))
        .expect("diesel pool");
    let pool_unchecked = Pool::builder()
        .max_size(POOL_SIZE)
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(10))
        .test_on_check_out(false)
        .build(ConnectionManager::<PgConnection>::new(&url))
        .expect("diesel pool without checkout test");
    let held = PgConnection::establish(&url).expect("held connection");
    let mut admin = PgConnection::establish(&url).expect("admin connection");
    exec(&mut admin, "VACUUM ANALYZE users");
    exec(&mut admin, "CHECKPOINT");

    let max_id: i64 = users::table
        .select(diesel::dsl::max(users::id))
        .first::<Option<i64>>(&mut admin)
        .expect("max id")
        .expect("rows");
    assert_eq!(max_id, PREFILL);
    Env {
        db,
        db_unchecked,
        db_unprepared,
        db_pgbouncer,
        pool,
        pool_unchecked,
        held,
        admin,
        max_id,
        _database: database,
    }
}

/// Removes everything inserted after the pre-fill, vacuums the table and
/// checkpoints, so each sample of each contender starts from the same state.
fn reset(admin: &mut PgConnection, max_id: i64) {
    diesel::delete(users::table.filter(users::id.gt(max_id)))
        .execute(admin)
        .expect("cleanup");
    exec(admin, "VACUUM users");
    exec(admin, "CHECKPOINT");
}

/// Runs `op(n)` `iters` times with a fresh `n` each time; then, untimed,
/// restores the table.
fn timed_writes(
    admin: &mut PgConnection,
    max_id: i64,
    counter: &mut u64,
    iters: u64,
    mut op: impl FnMut(u64),
) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        *counter += 1;
        op(*counter);
    }
    let elapsed = start.elapsed();
    reset(admin, max_id);
    elapsed
}

fn pk(n: u64) -> i64 {
    1 + ((n * STRIDE) % PREFILL as u64) as i64
}

fn configure_single(g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    g.sample_size(40)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
}

/// Write workloads: the same number of operations in every sample.
fn configure_writes(g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    configure_single(g);
    g.sampling_mode(SamplingMode::Flat);
}

// ---------------------------------------------------------------- insert one

fn insert_one(c: &mut Criterion, env: &mut Env) {
    let Env {
        db,
        db_unchecked,
        db_unprepared,
        db_pgbouncer,
        pool,
        held,
        admin,
        max_id,
        ..
    } = env;
    let max_id = *max_id;
    let mut g = c.benchmark_group("pg_insert_one");
    configure_writes(&mut g);
    let mut n = 0u64;
    let insert_sql = format!(
        "INSERT INTO users (name, email, age, is_active, score) VALUES ($1, $2, $3, $4, $5) \
         RETURNING {RAW_COLUMNS}"
    );

    let create = |db: &DataFlow, i: u64| {
        let u = User::create(
            db,
            User {
                id: 0,
                name: "bench".to_owned(),
                email: format!("df-{i}@example.org"),
                age: Some(30),
                is_active: true,
                score: 1.5,
            },
        )
        .expect("create");
        black_box(u);
    };
    g.bench_function("dataflow", |b| {
        b.iter_custom(|iters| timed_writes(admin, max_id, &mut n, iters, |i| create(db, i)))
    });
    g.bench_function("dataflow_unchecked", |b| {
        b.iter_custom(|iters| {
            timed_writes(admin, max_id, &mut n, iters, |i| create(db_unchecked, i))
        })
    });
    g.bench_function("dataflow_unprepared", |b| {
        b.iter_custom(|iters| {
            timed_writes(admin, max_id, &mut n, iters, |i| create(db_unprepared, i))
        })
    });
    if let Some(pooled) = db_pgbouncer.as_ref() {
        g.bench_function("dataflow_unprepared/pgbouncer", |b| {
            b.iter_custom(|iters| timed_writes(admin, max_id, &mut n, iters, |i| create(pooled, i)))
        });
    }

    let typed = |conn: &mut PgConnection, i: u64| {
        let email = format!("dt-{i}@example.org");
        let u: DUser = diesel::insert_into(users::table)
            .values(NewUser {
                name: "bench",
                email: &email,
                age: Some(30),
                is_active: true,
                score: 1.5,
            })
            .get_result(conn)
            .expect("insert");
        black_box(u);
    };
    g.bench_function("diesel_typed/pool", |b| {
        b.iter_custom(|iters| {
            timed_writes(admin, max_id, &mut n, iters, |i| {
                typed(&mut pool.get().expect("checkout"), i)
            })
        })
    });
    g.bench_function("diesel_typed/held", |b| {
        b.iter_custom(|iters| timed_writes(admin, max_id, &mut n, iters, |i| typed(held, i)))
    });

    let raw = |conn: &mut PgConnection, i: u64| {
        let email = format!("rs-{i}@example.org");
        let u: DUser = diesel::sql_query(&insert_sql)
            .bind::<Text, _>("bench")
            .bind::<Text, _>(&email)
            .bind::<Nullable<Integer>, _>(Some(30))
            .bind::<Bool, _>(true)
            .bind::<Double, _>(1.5)
            .get_result(conn)
            .expect("insert");
        black_box(u);
    };
    g.bench_function("raw_sql/pool", |b| {
        b.iter_custom(|iters| {
            timed_writes(admin, max_id, &mut n, iters, |i| {
                raw(&mut pool.get().expect("checkout"), i)
            })
        })
    });
    g.bench_function("raw_sql/held", |b| {
        b.iter_custom(|iters| timed_writes(admin, max_id, &mut n, iters, |i| raw(held, i)))
    });
    g.finish();
}

// ---------------------------------------------------------------- read by pk

fn read_by_pk(c: &mut Criterion, env: &mut Env) {
    let Env {
        db,
        db_unchecked,
        db_unprepared,
        db_pgbouncer,
        pool,
        pool_unchecked,
        held,
        ..
    } = env;
    let mut g = c.benchmark_group("pg_read_by_pk");
    configure_single(&mut g);
    let read_sql = format!("SELECT {RAW_COLUMNS} FROM users WHERE id = $1");

    g.bench_function("dataflow", |b| {
        let mut n = 0u64;
        b.iter(|| {
            n += 1;
            black_box(User::read(db, pk(n)).expect("read").expect("row"))
        })
    });
    g.bench_function("dataflow_unchecked", |b| {
        let mut n = 0u64;
        b.iter(|| {
            n += 1;
            black_box(User::read(db_unchecked, pk(n)).expect("read").expect("row"))
        })
    });
    for (name, handle) in [
        ("dataflow_unprepared", Some(&*db_unprepared)),
        ("dataflow_unprepared/pgbouncer", db_pgbouncer.as_ref()),
    ] {
        let Some(handle) = handle else { continue };
        g.bench_function(name, |b| {
            let mut n = 0u64;
            b.iter(|| {
                n += 1;
                black_box(User::read(handle, pk(n)).expect("read").expect("row"))
            })
        });
    }
    // `find(id).first()`: `… WHERE id = $1 LIMIT $2`.
    let typed = |conn: &mut PgConnection, n: u64| -> DUser {
        users::table
            .find(pk(n))
            .first(conn)
            .optional()
            .expect("read")
            .expect("row")
    };
    g.bench_function("diesel_typed/pool", |b| {
        let mut n = 0u64;
        b.iter(|| {
            n += 1;
            black_box(typed(&mut pool.get().expect("checkout"), n))
        })
    });
    g.bench_function("diesel_typed/held", |b| {
        let mut n = 0u64;
        b.iter(|| {
            n += 1;
            black_box(typed(held, n))
        })
    });
    // `find(id).get_result()`: the same SQL as dataflow's read (no LIMIT).
    let typed_no_limit = |conn: &mut PgConnection, n: u64| -> DUser {
        users::table
            .find(pk(n))
            .get_result(conn)
            .optional()
            .expect("read")
            .expect("row")
    };
    g.bench_function("diesel_typed_no_limit/pool", |b| {
        let mut n = 0u64;
        b.iter(|| {
            n += 1;
            black_box(typed_no_limit(&mut pool.get().expect("checkout"), n))
        })
    });
    g.bench_function("diesel_typed_no_limit/pool_unchecked", |b| {
        let mut n = 0u64;
        b.iter(|| {
            n += 1;
            black_box(typed_no_limit(
                &mut pool_unchecked.get().expect("checkout"),
                n,
            ))
        })
    });
    g.bench_function("diesel_typed_no_limit/held", |b| {
        let mut n = 0u64;
        b.iter(|| {
            n += 1;
            black_box(typed_no_limit(held, n))
        })
    });
    let raw = |conn: &mut PgConnection, n: u64| -> DUser {
        diesel::sql_query(&read_sql)
            .bind::<BigInt, _>(pk(n))
            .get_result(conn)
            .optional()
            .expect("read")
            .expect("row")
    };
    g.bench_function("raw_sql/pool", |b| {
        let mut n = 0u64;
        b.iter(|| {
            n += 1;
            black_box(raw(&mut pool.get().expect("checkout"), n))
        })
    });
    g.bench_function("raw_sql/held", |b| {
        let mut n = 0u64;
        b.iter(|| {
            n += 1;
            black_box(raw(held, n))
        })
    });
    g.finish();
}

// ---------------------------------------------------------------- list 100

/// Which `ORDER BY` a list workload uses.
#[derive(Debug, Clone, Copy)]
enum ListOrder {
    /// `ORDER BY score DESC`: no index, PostgreSQL scans the table and keeps the
    /// top 100 in a heap.
    Score,
    /// `ORDER BY id DESC`: a backward scan of the primary-key index that stops
    /// after 100 matches, so transferring and decoding the rows dominates.
    Id,
}

fn list_dataflow(db: &DataFlow, order: ListOrder) -> Vec<User> {
    let q = User::list(db).filter(User::AGE.ge(30).and(User::IS_ACTIVE.eq(true)));
    let q = match order {
        ListOrder::Score => q.order_by(User::SCORE.desc()),
        ListOrder::Id => q.order_by(User::ID.desc()),
    };
    q.limit(100).all().expect("list")
}

fn list_typed(conn: &mut PgConnection, order: ListOrder) -> Vec<DUser> {
    let q = users::table
        .filter(users::age.ge(30).and(users::is_active.eq(true)))
        .limit(100);
    match order {
        ListOrder::Score => q.order(users::score.desc()).load(conn),
        ListOrder::Id => q.order(users::id.desc()).load(conn),
    }
    .expect("list")
}

fn list_raw(conn: &mut PgConnection, sql: &str) -> Vec<DUser> {
    diesel::sql_query(sql)
        .bind::<Integer, _>(30)
        .bind::<Bool, _>(true)
        .bind::<BigInt, _>(100)
        .load(conn)
        .expect("list")
}

fn list_100(c: &mut Criterion, env: &mut Env, order: ListOrder) {
    let Env {
        db,
        db_unchecked,
        db_unprepared,
        db_pgbouncer,
        pool,
        pool_unchecked,
        held,
        ..
    } = env;
    let (name, column) = match order {
        ListOrder::Score => ("pg_list_100_order_by_score", "score"),
        ListOrder::Id => ("pg_list_100_order_by_id", "id"),
    };
    let sql = format!(
        "SELECT {RAW_COLUMNS} FROM users WHERE age >= $1 AND is_active = $2 \
         ORDER BY {column} DESC LIMIT $3"
    );

    // All contenders return the same 100 rows.
    let expected = list_dataflow(db, order);
    assert_eq!(expected.len(), 100);
    let as_users = |v: Vec<DUser>| v.into_iter().map(User::from).collect::<Vec<_>>();
    assert_eq!(as_users(list_typed(held, order)), expected);
    assert_eq!(as_users(list_raw(held, &sql)), expected);
    assert_eq!(list_dataflow(db_unchecked, order), expected);

    let mut g = c.benchmark_group(name);
    configure_single(&mut g);
    g.bench_function("dataflow", |b| {
        b.iter(|| black_box(list_dataflow(db, order)))
    });
    g.bench_function("dataflow_unchecked", |b| {
        b.iter(|| black_box(list_dataflow(db_unchecked, order)))
    });
    for (name, handle) in [
        ("dataflow_unprepared", Some(&*db_unprepared)),
        ("dataflow_unprepared/pgbouncer", db_pgbouncer.as_ref()),
    ] {
        let Some(handle) = handle else { continue };
        assert_eq!(list_dataflow(handle, order), expected);
        g.bench_function(name, |b| b.iter(|| black_box(list_dataflow(handle, order))));
    }
    g.bench_function("diesel_typed/pool", |b| {
        b.iter(|| black_box(list_typed(&mut pool.get().expect("checkout"), order)))
    });
    g.bench_function("diesel_typed/pool_unchecked", |b| {
        b.iter(|| {
            black_box(list_typed(
                &mut pool_unchecked.get().expect("checkout"),
                order,
            ))
        })
    });
    g.bench_function("diesel_typed/held", |b| {
        b.iter(|| black_box(list_typed(held, order)))
    });
    g.bench_function("raw_sql/pool", |b| {
        b.iter(|| black_box(list_raw(&mut pool.get().expect("checkout"), &sql)))
    });
    g.bench_function("raw_sql/held", |b| {
        b.iter(|| black_box(list_raw(held, &sql)))
    });
    g.finish();
}

// ---------------------------------------------------------------- update by pk

fn update_by_pk(c: &mut Criterion, env: &mut Env) {
    let Env {
        db,
        db_unchecked,
        db_unprepared,
        db_pgbouncer,
        pool,
        held,
        admin,
        max_id,
        ..
    } = env;
    let max_id = *max_id;
    let mut g = c.benchmark_group("pg_update_by_pk");
    configure_writes(&mut g);
    let update_sql =
        format!("UPDATE users SET age = $1, score = $2 WHERE id = $3 RETURNING {RAW_COLUMNS}");
    let age = |n: u64| 18 + (n % 60) as i32;
    let score = |n: u64| (n % 10_000) as f64 / 100.0;
    let mut n = 0u64;

    let update = |db: &DataFlow, i: u64| {
        let patch = UserPatch {
            age: Some(Some(age(i))),
            score: Some(score(i)),
            ..Default::default()
        };
        black_box(User::update(db, pk(i), patch).expect("update"));
    };
    g.bench_function("dataflow", |b| {
        b.iter_custom(|iters| timed_writes(admin, max_id, &mut n, iters, |i| update(db, i)))
    });
    g.bench_function("dataflow_unchecked", |b| {
        b.iter_custom(|iters| {
            timed_writes(admin, max_id, &mut n, iters, |i| update(db_unchecked, i))
        })
    });
    g.bench_function("dataflow_unprepared", |b| {
        b.iter_custom(|iters| {
            timed_writes(admin, max_id, &mut n, iters, |i| update(db_unprepared, i))
        })
    });
    if let Some(pooled) = db_pgbouncer.as_ref() {
        g.bench_function("dataflow_unprepared/pgbouncer", |b| {
            b.iter_custom(|iters| timed_writes(admin, max_id, &mut n, iters, |i| update(pooled, i)))
        });
    }
    let typed = |conn: &mut PgConnection, i: u64| {
        let u: DUser = diesel::update(users::table.find(pk(i)))
            .set((users::age.eq(Some(age(i))), users::score.eq(score(i))))
            .get_result(conn)
            .expect("update");
        black_box(u);
    };
    g.bench_function("diesel_typed/pool", |b| {
        b.iter_custom(|iters| {
            timed_writes(admin, max_id, &mut n, iters, |i| {
                typed(&mut pool.get().expect("checkout"), i)
            })
        })
    });
    g.bench_function("diesel_typed/held", |b| {
        b.iter_custom(|iters| timed_writes(admin, max_id, &mut n, iters, |i| typed(held, i)))
    });
    let raw = |conn: &mut PgConnection, i: u64| {
        let u: DUser = diesel::sql_query(&update_sql)
            .bind::<Nullable<Integer>, _>(Some(age(i)))
            .bind::<Double, _>(score(i))
            .bind::<BigInt, _>(pk(i))
            .get_result(conn)
            .expect("update");
        black_box(u);
    };
    g.bench_function("raw_sql/pool", |b| {
        b.iter_custom(|iters| {
            timed_writes(admin, max_id, &mut n, iters, |i| {
                raw(&mut pool.get().expect("checkout"), i)
            })
        })
    });
    g.bench_function("raw_sql/held", |b| {
        b.iter_custom(|iters| timed_writes(admin, max_id, &mut n, iters, |i| raw(held, i)))
    });
    g.finish();
}

// ---------------------------------------------------------------- bulk insert

/// Multi-row `INSERT`s of `per` rows each, in one transaction.
fn bulk_batch(conn: &mut PgConnection, rows: &[NewUser<'_>], per: usize) -> usize {
    conn.transaction(|c| {
        let mut total = 0;
        for chunk in rows.chunks(per) {
            total += diesel::insert_into(users::table).values(chunk).execute(c)?;
        }
        QueryResult::Ok(total)
    })
    .expect("bulk insert")
}

/// `COPY users (…) FROM STDIN (FORMAT binary)`: diesel encodes every value.
fn bulk_copy_binary(conn: &mut PgConnection, rows: &[NewUser<'_>]) -> usize {
    diesel::copy_from(users::table)
        .from_insertable(rows)
        .execute(conn)
        .expect("copy binary")
}

/// Appends `s` escaped for COPY's text format.
fn copy_text_escape(s: &str, out: &mut Vec<u8>) {
    for &b in s.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

/// `COPY users (…) FROM STDIN` in text format, rows written by hand into 64 KiB
/// buffers (one `PQputCopyData` per buffer).
fn bulk_copy_text(conn: &mut PgConnection, rows: &[NewUser<'_>]) -> usize {
    const FLUSH_AT: usize = 64 * 1024;
    let io = |e: std::io::Error| diesel::result::Error::SerializationError(Box::new(e));
    diesel::copy_from(users::table)
        .from_raw_data(
            (
                users::name,
                users::email,
                users::age,
                users::is_active,
                users::score,
            ),
            |sink| {
                let mut buf: Vec<u8> = Vec::with_capacity(FLUSH_AT + 1024);
                for r in rows {
                    copy_text_escape(r.name, &mut buf);
                    buf.push(b'\t');
                    copy_text_escape(r.email, &mut buf);
                    buf.push(b'\t');
                    match r.age {
                        Some(a) => write!(buf, "{a}").map_err(io)?,
                        None => buf.extend_from_slice(b"\\N"),
                    }
                    buf.extend_from_slice(if r.is_active { b"\tt\t" } else { b"\tf\t" });
                    // `{}` on f64 prints the shortest text that parses back exactly.
                    writeln!(buf, "{}", r.score).map_err(io)?;
                    if buf.len() >= FLUSH_AT {
                        sink.write_all(&buf).map_err(io)?;
                        buf.clear();
                    }
                }
                sink.write_all(&buf).map_err(io)?;
                QueryResult::Ok(())
            },
        )
        .with_format(CopyFormat::Text)
        .execute(conn)
        .expect("copy text")
}

/// Empties the table and checkpoints (untimed, between bulk iterations).
fn truncate(admin: &mut PgConnection) {
    exec(admin, "TRUNCATE users RESTART IDENTITY");
    exec(admin, "CHECKPOINT");
}

/// A digest of every row's content (not its id), to check that all bulk
/// contenders store the same thing.
fn content_digest(conn: &mut PgConnection) -> (i64, String) {
    #[derive(QueryableByName)]
    struct Digest {
        #[diesel(sql_type = BigInt)]
        n: i64,
        #[diesel(sql_type = Text)]
        md5: String,
    }
    let d: Digest = diesel::sql_query(
        "SELECT count(*) AS n, md5(coalesce(string_agg(concat_ws('|', name, email, \
         coalesce(age::text, 'NULL'), is_active::text, score::text), ',' ORDER BY email), '')) \
         AS md5 FROM users",
    )
    .get_result(conn)
    .expect("digest");
    (d.n, d.md5)
}

fn bulk_insert(c: &mut Criterion, env: &mut Env) {
    let Env {
        db, held, admin, ..
    } = env;
    let db: &DataFlow = db;
    // Inputs are built once, outside the timed region; the table is truncated
    // after each iteration, so the same (unique) emails can be reused.
    let models: Vec<User> = (0..BULK as i64).map(|i| sample_user(i, "bulk")).collect();
    let rows: Vec<NewUser<'_>> = models
        .iter()
        .map(|u| NewUser {
            name: &u.name,
            email: &u.email,
            age: u.age,
            is_active: u.is_active,
            score: u.score,
        })
        .collect();

    // The single-row workloads are done with the pre-filled rows.
    truncate(admin);

    // Every contender stores the same rows (checked once, untimed).
    type Contender<'r> = (&'static str, Box<dyn Fn(&mut PgConnection) -> usize + 'r>);
    let contenders: Vec<Contender<'_>> = vec![
        (
            "dataflow",
            Box::new(|_| User::bulk_create(db, &models).expect("bulk")),
        ),
        ("copy_binary", Box::new(|c| bulk_copy_binary(c, &rows))),
        ("copy_text", Box::new(|c| bulk_copy_text(c, &rows))),
        (
            "diesel_batch",
            Box::new(|c| bulk_batch(c, &rows, BATCH_MAX)),
        ),
        (
            "diesel_batch_500",
            Box::new(|c| bulk_batch(c, &rows, BATCH_500)),
        ),
    ];
    let mut reference = None;
    for (name, f) in &contenders {
        assert_eq!(f(held), BULK, "{name}");
        let digest = content_digest(admin);
        assert_eq!(digest.0, BULK as i64, "{name}");
        match &reference {
            None => reference = Some(digest),
            Some(r) => assert_eq!(&digest, r, "{name} stored different rows"),
        }
        truncate(admin);
    }

    let mut g = c.benchmark_group("pg_bulk_insert_100k");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(BULK as u64));

    for (name, f) in &contenders {
        let id = if *name == "dataflow" {
            (*name).to_owned()
        } else {
            format!("{name}/held")
        };
        g.bench_function(id, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let n = f(held);
                    total += start.elapsed();
                    assert_eq!(n, BULK);
                    truncate(admin);
                }
                total
            })
        });
    }
    g.finish();
}

/// Checks once that every contender reads and writes the same rows.
fn sanity(env: &mut Env) {
    let id = pk(1);
    let df = User::read(&env.db, id).expect("read").expect("row");
    let dt: DUser = users::table.find(id).first(&mut env.held).expect("read");
    assert_eq!(User::from(dt), df);
    let created = User::create(&env.db, sample_user(PREFILL + 1, "sanity")).expect("create");
    let back: DUser = users::table
        .find(created.id)
        .first(&mut env.held)
        .expect("read back");
    assert_eq!(User::from(back), created);
    reset(&mut env.admin, env.max_id);
}

fn main() {
    let mut env = setup();
    sanity(&mut env);
    let mut c = Criterion::default().configure_from_args();
    insert_one(&mut c, &mut env);
    read_by_pk(&mut c, &mut env);
    // List before update: update rewrites ages and scores of pre-filled rows.
    list_100(&mut c, &mut env, ListOrder::Score);
    list_100(&mut c, &mut env, ListOrder::Id);
    update_by_pk(&mut c, &mut env);
    // Last: it empties the table.
    bulk_insert(&mut c, &mut env);
    c.final_summary();
    // Closes every connection, then drops the bench database.
    drop(env);
}
