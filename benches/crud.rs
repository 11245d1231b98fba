//! CRUD benchmark: dataflow's generated CRUD against hand-written diesel on the
//! same SQLite file, schema and connection settings, in one criterion run.
//!
//! Contenders (one criterion group per workload, one function per contender):
//!
//! - `dataflow`: `#[derive(Model)]` CRUD through a `DataFlow` handle (an r2d2 pool
//!   inside; one checkout per call).
//! - `diesel_typed/pool` and `diesel_typed/held`: diesel's typed query DSL, with a
//!   connection checked out of a diesel r2d2 pool of the same size per operation,
//!   and with one connection held for the whole benchmark.
//! - `raw_sql/pool` and `raw_sql/held`: `diesel::sql_query` with binds (single-row
//!   operations and list).
//! - insert and update only: `diesel_typed_drained/{pool,held}` — see below.
//! - read only: `diesel_typed_no_limit/{pool,held}` — `find(id).get_result()`
//!   instead of `find(id).first()`, whose bound `LIMIT ?` makes SQLite >= 3.48
//!   re-prepare the statement on every execution.
//! - bulk only: `raw_prepared_loop/{pool,held}` — one cached prepared `INSERT`
//!   executed per row in one transaction (the fastest raw path through diesel's
//!   connection); `raw_sql_query_loop/held` — `sql_query` per row (re-prepared
//!   every time; for reference).
//!
//! Every connection gets exactly the pragmas `dataflow_sqlite::open` sets (WAL,
//! `synchronous = NORMAL`, `foreign_keys = ON`, `busy_timeout = 5000`,
//! `case_sensitive_like = ON`). The table is created by dataflow's `auto_migrate`
//! and pre-filled with 10 000 rows.
//!
//! Write workloads (insert, update, bulk) restore the table (delete what was
//! inserted) and checkpoint the WAL after every sample, untimed, so every
//! contender starts each sample from the same database.
//!
//! Single-row writes have one more diesel contender, `diesel_typed_drained`:
//! `get_results` instead of `get_result`. dataflow steps `… RETURNING` statements
//! to `SQLITE_DONE`; diesel's `get_result` (and `sql_query(..).get_result`) resets
//! the statement after the first row, and SQLite runs its WAL hook — the
//! auto-checkpoint every 1000 WAL pages — only when a step returns `SQLITE_DONE`.
//! So `get_result` never auto-checkpoints (the WAL grows until something else
//! checkpoints it), while dataflow and `get_results` pay for their checkpoints
//! inside the timed calls: `diesel_typed_drained` does the same I/O as dataflow.
//!
//! Run: `cargo bench --bench crud` (see BENCHMARKS.md).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput};
use dataflow_core::prelude::*;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::sql_types::{BigInt, Bool, Double, Integer, Nullable, Text};
use diesel::sqlite::Sqlite;

mod common;
use common::{sample_user, users, User, UserPatch};

/// Rows in the table before any workload runs.
const PREFILL: i64 = 10_000;
/// Rows per bulk insert.
const BULK: usize = 10_000;
/// Rows per multi-row statement in the diesel bulk insert: the same as dataflow
/// uses on SQLite (`crud::rows_per_statement`: bind limit / columns, capped at 500).
const CHUNK: usize = 500;
/// Pool size of both pools (dataflow's `SqliteOptions` default).
const POOL_SIZE: u32 = 8;
/// Spreads primary keys over the pre-filled rows (coprime with `PREFILL`).
const STRIDE: u64 = 7_919;

/// The same row for diesel (typed DSL and `sql_query`).
#[derive(Queryable, QueryableByName, Selectable, Debug, Clone, PartialEq)]
#[diesel(table_name = users, check_for_backend(Sqlite))]
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

/// A row to insert with diesel. `None` binds NULL, so a batch is one multi-row
/// statement (as in dataflow), not a statement per row.
#[derive(Insertable, Debug, Clone, Copy)]
#[diesel(table_name = users, treat_none_as_default_value = false)]
struct NewUser<'a> {
    name: &'a str,
    email: &'a str,
    age: Option<i32>,
    is_active: bool,
    score: f64,
}

/// `INSERT INTO users (...) VALUES (?, ?, ?, ?, ?)` as hand-written SQL with a
/// static query id: diesel prepares it once per connection and reuses it.
#[derive(Debug, Clone, Copy)]
struct RawInsert<'a>(NewUser<'a>);

impl QueryId for RawInsert<'_> {
    type QueryId = RawInsert<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryFragment<Sqlite> for RawInsert<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        // Each push_bind_param writes its own `?`.
        out.push_sql("INSERT INTO users (name, email, age, is_active, score) VALUES (");
        out.push_bind_param::<Text, _>(self.0.name)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(self.0.email)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Integer>, _>(&self.0.age)?;
        out.push_sql(", ");
        out.push_bind_param::<Bool, _>(&self.0.is_active)?;
        out.push_sql(", ");
        out.push_bind_param::<Double, _>(&self.0.score)?;
        out.push_sql(")");
        Ok(())
    }
}

impl RunQueryDsl<SqliteConnection> for RawInsert<'_> {}

const RAW_COLUMNS: &str = "id, name, email, age, is_active, score";

/// Exactly what `dataflow_sqlite`'s `Setup::apply` runs on every connection.
fn apply_pragmas(conn: &mut SqliteConnection) -> QueryResult<()> {
    conn.batch_execute(
        "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; \
         PRAGMA case_sensitive_like = ON; PRAGMA synchronous = NORMAL;",
    )?;
    conn.batch_execute("PRAGMA journal_mode = WAL;")
}

#[derive(Debug)]
struct SamePragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SamePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        apply_pragmas(conn).map_err(diesel::r2d2::Error::QueryError)
    }
}

type DieselPool = Pool<ConnectionManager<SqliteConnection>>;

/// Everything the contenders share.
struct Env {
    db: DataFlow,
    pool: DieselPool,
    held: SqliteConnection,
    /// For cleanup between samples (never timed).
    admin: SqliteConnection,
    /// Highest id after the pre-fill.
    max_id: i64,
    _dir: tempfile::TempDir,
}

fn setup() -> Env {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.db");
    let path_str = path.to_str().expect("utf-8 temp path").to_owned();

    let db = dataflow_sqlite::SqliteOptions::new(&path)
        .pool_size(POOL_SIZE)
        .busy_timeout(Duration::from_secs(5))
        .open()
        .expect("open dataflow");
    db.register::<User>().expect("register");
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

    // Same settings as dataflow's pool: size, min_idle, timeout, pragmas.
    let pool = Pool::builder()
        .max_size(POOL_SIZE)
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(30))
        .connection_customizer(Box::new(SamePragmas))
        .build(ConnectionManager::<SqliteConnection>::new(&path_str))
        .expect("diesel pool");
    let mut held = SqliteConnection::establish(&path_str).expect("held connection");
    apply_pragmas(&mut held).expect("pragmas");
    let mut admin = SqliteConnection::establish(&path_str).expect("admin connection");
    apply_pragmas(&mut admin).expect("pragmas");

    let max_id: i64 = users::table
        .select(diesel::dsl::max(users::id))
        .first::<Option<i64>>(&mut admin)
        .expect("max id")
        .expect("rows");
    assert_eq!(max_id, PREFILL);
    Env {
        db,
        pool,
        held,
        admin,
        max_id,
        _dir: dir,
    }
}

/// Removes everything inserted after the pre-fill and checkpoints the whole WAL
/// (`RESTART`: the next writer starts again at the beginning of the WAL file, as
/// in a steady-state application), so each sample of each contender starts from
/// the same database state.
fn reset(admin: &mut SqliteConnection, max_id: i64) {
    diesel::delete(users::table.filter(users::id.gt(max_id)))
        .execute(admin)
        .expect("cleanup");
    admin
        .batch_execute("PRAGMA wal_checkpoint(RESTART);")
        .expect("checkpoint");
}

/// Runs `op(n)` `iters` times with a fresh `n` each time; then, untimed,
/// restores the table and checkpoints the WAL so every sample of every contender
/// starts from the same database.
fn timed_writes(
    admin: &mut SqliteConnection,
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

/// Write workloads: the same number of operations in every sample (each sample
/// starts from the restored table and an empty WAL, so equal samples see equal
/// table and WAL sizes).
fn configure_writes(g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    configure_single(g);
    g.sampling_mode(SamplingMode::Flat);
}

// ---------------------------------------------------------------- insert one

fn insert_one(c: &mut Criterion, env: &mut Env) {
    let Env {
        db,
        pool,
        held,
        admin,
        max_id,
        ..
    } = env;
    let max_id = *max_id;
    let mut g = c.benchmark_group("insert_one");
    configure_writes(&mut g);
    let mut n = 0u64;
    let insert_sql = format!(
        "INSERT INTO users (name, email, age, is_active, score) VALUES (?, ?, ?, ?, ?) \
         RETURNING {RAW_COLUMNS}"
    );

    g.bench_function("dataflow", |b| {
        b.iter_custom(|iters| {
            timed_writes(admin, max_id, &mut n, iters, |i| {
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
            })
        })
    });

    // `get_result` stops after the first row (no auto-checkpoint, see the module
    // docs); `get_results` steps to SQLITE_DONE like dataflow does.
    let typed = |conn: &mut SqliteConnection, i: u64, drained: bool| {
        let email = format!("dt-{i}@example.org");
        let q = diesel::insert_into(users::table).values(NewUser {
            name: "bench",
            email: &email,
            age: Some(30),
            is_active: true,
            score: 1.5,
        });
        let u: DUser = if drained {
            let mut v: Vec<DUser> = q.get_results(conn).expect("insert");
            v.pop().expect("row")
        } else {
            q.get_result(conn).expect("insert")
        };
        black_box(u);
    };
    for (name, drained) in [("diesel_typed", false), ("diesel_typed_drained", true)] {
        g.bench_function(format!("{name}/pool"), |b| {
            b.iter_custom(|iters| {
                timed_writes(admin, max_id, &mut n, iters, |i| {
                    typed(&mut pool.get().expect("checkout"), i, drained)
                })
            })
        });
        g.bench_function(format!("{name}/held"), |b| {
            b.iter_custom(|iters| {
                timed_writes(admin, max_id, &mut n, iters, |i| typed(held, i, drained))
            })
        });
    }

    let raw = |conn: &mut SqliteConnection, i: u64| {
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
    let Env { db, pool, held, .. } = env;
    let mut g = c.benchmark_group("read_by_pk");
    configure_single(&mut g);
    let read_sql = format!("SELECT {RAW_COLUMNS} FROM users WHERE id = ?");

    g.bench_function("dataflow", |b| {
        let mut n = 0u64;
        b.iter(|| {
            n += 1;
            black_box(User::read(db, pk(n)).expect("read").expect("row"))
        })
    });
    let typed = |conn: &mut SqliteConnection, n: u64| -> DUser {
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
    // `find(id).get_result()`: the same query without `.first()`'s `LIMIT ?`.
    // SQLite >= 3.48 reads a bound LIMIT value while planning, so a statement with
    // `LIMIT ?` is re-prepared on every execution; this variant avoids that.
    let typed_no_limit = |conn: &mut SqliteConnection, n: u64| -> DUser {
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
    g.bench_function("diesel_typed_no_limit/held", |b| {
        let mut n = 0u64;
        b.iter(|| {
            n += 1;
            black_box(typed_no_limit(held, n))
        })
    });
    let raw = |conn: &mut SqliteConnection, n: u64| -> DUser {
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
    /// `ORDER BY score DESC`: no index, SQLite scans the table and sorts.
    Score,
    /// `ORDER BY id DESC`: SQLite walks the rowid backwards and stops after 100
    /// matches, so decoding the rows dominates.
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

fn list_typed(conn: &mut SqliteConnection, order: ListOrder) -> Vec<DUser> {
    let q = users::table
        .filter(users::age.ge(30).and(users::is_active.eq(true)))
        .limit(100);
    match order {
        ListOrder::Score => q.order(users::score.desc()).load(conn),
        ListOrder::Id => q.order(users::id.desc()).load(conn),
    }
    .expect("list")
}

fn list_raw(conn: &mut SqliteConnection, sql: &str) -> Vec<DUser> {
    diesel::sql_query(sql)
        .bind::<Integer, _>(30)
        .bind::<Bool, _>(true)
        .bind::<BigInt, _>(100)
        .load(conn)
        .expect("list")
}

fn list_100(c: &mut Criterion, env: &mut Env, order: ListOrder) {
    let Env { db, pool, held, .. } = env;
    let (name, column) = match order {
        ListOrder::Score => ("list_100_order_by_score", "score"),
        ListOrder::Id => ("list_100_order_by_id", "id"),
    };
    let sql = format!(
        "SELECT {RAW_COLUMNS} FROM users WHERE age >= ? AND is_active = ? \
         ORDER BY {column} DESC LIMIT ?"
    );

    // All contenders return the same 100 rows.
    let expected = list_dataflow(db, order);
    assert_eq!(expected.len(), 100);
    let as_users = |v: Vec<DUser>| v.into_iter().map(User::from).collect::<Vec<_>>();
    assert_eq!(as_users(list_typed(held, order)), expected);
    assert_eq!(as_users(list_raw(held, &sql)), expected);

    let mut g = c.benchmark_group(name);
    configure_single(&mut g);
    g.bench_function("dataflow", |b| {
        b.iter(|| black_box(list_dataflow(db, order)))
    });
    g.bench_function("diesel_typed/pool", |b| {
        b.iter(|| black_box(list_typed(&mut pool.get().expect("checkout"), order)))
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
        pool,
        held,
        admin,
        max_id,
        ..
    } = env;
    let max_id = *max_id;
    let mut g = c.benchmark_group("update_by_pk");
    configure_writes(&mut g);
    let update_sql =
        format!("UPDATE users SET age = ?, score = ? WHERE id = ? RETURNING {RAW_COLUMNS}");
    let age = |n: u64| 18 + (n % 60) as i32;
    let score = |n: u64| (n % 10_000) as f64 / 100.0;
    let mut n = 0u64;

    g.bench_function("dataflow", |b| {
        b.iter_custom(|iters| {
            timed_writes(admin, max_id, &mut n, iters, |i| {
                let patch = UserPatch {
                    age: Some(Some(age(i))),
                    score: Some(score(i)),
                    ..Default::default()
                };
                black_box(User::update(db, pk(i), patch).expect("update"));
            })
        })
    });
    let typed = |conn: &mut SqliteConnection, i: u64, drained: bool| {
        let q = diesel::update(users::table.find(pk(i)))
            .set((users::age.eq(Some(age(i))), users::score.eq(score(i))));
        let u: DUser = if drained {
            let mut v: Vec<DUser> = q.get_results(conn).expect("update");
            v.pop().expect("row")
        } else {
            q.get_result(conn).expect("update")
        };
        black_box(u);
    };
    for (name, drained) in [("diesel_typed", false), ("diesel_typed_drained", true)] {
        g.bench_function(format!("{name}/pool"), |b| {
            b.iter_custom(|iters| {
                timed_writes(admin, max_id, &mut n, iters, |i| {
                    typed(&mut pool.get().expect("checkout"), i, drained)
                })
            })
        });
        g.bench_function(format!("{name}/held"), |b| {
            b.iter_custom(|iters| {
                timed_writes(admin, max_id, &mut n, iters, |i| typed(held, i, drained))
            })
        });
    }
    let raw = |conn: &mut SqliteConnection, i: u64| {
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

fn bulk_typed(conn: &mut SqliteConnection, rows: &[NewUser<'_>]) -> usize {
    conn.immediate_transaction(|c| {
        let mut total = 0;
        for chunk in rows.chunks(CHUNK) {
            total += diesel::insert_into(users::table).values(chunk).execute(c)?;
        }
        QueryResult::Ok(total)
    })
    .expect("bulk insert")
}

fn bulk_prepared_loop(conn: &mut SqliteConnection, rows: &[NewUser<'_>]) -> usize {
    conn.immediate_transaction(|c| {
        let mut total = 0;
        for row in rows {
            total += RawInsert(*row).execute(c)?;
        }
        QueryResult::Ok(total)
    })
    .expect("bulk insert")
}

fn bulk_sql_query_loop(conn: &mut SqliteConnection, rows: &[NewUser<'_>]) -> usize {
    conn.immediate_transaction(|c| {
        let mut total = 0;
        for row in rows {
            total += diesel::sql_query(
                "INSERT INTO users (name, email, age, is_active, score) VALUES (?, ?, ?, ?, ?)",
            )
            .bind::<Text, _>(row.name)
            .bind::<Text, _>(row.email)
            .bind::<Nullable<Integer>, _>(row.age)
            .bind::<Bool, _>(row.is_active)
            .bind::<Double, _>(row.score)
            .execute(c)?;
        }
        QueryResult::Ok(total)
    })
    .expect("bulk insert")
}

fn bulk_insert(c: &mut Criterion, env: &mut Env) {
    let Env {
        db,
        pool,
        held,
        admin,
        max_id,
        ..
    } = env;
    let max_id = *max_id;
    // Inputs are built once, outside the timed region; the rows are deleted again
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

    let mut g = c.benchmark_group("bulk_insert_10k");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(BULK as u64));

    // One bulk insert per iteration, then an untimed reset.
    let mut run = |iters: u64, f: &mut dyn FnMut() -> usize| -> Duration {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let start = Instant::now();
            let n = f();
            total += start.elapsed();
            assert_eq!(n, BULK);
            reset(admin, max_id);
        }
        total
    };

    g.bench_function("dataflow", |b| {
        b.iter_custom(|iters| run(iters, &mut || User::bulk_create(db, &models).expect("bulk")))
    });
    g.bench_function("diesel_typed/pool", |b| {
        b.iter_custom(|iters| {
            run(iters, &mut || {
                bulk_typed(&mut pool.get().expect("checkout"), &rows)
            })
        })
    });
    g.bench_function("diesel_typed/held", |b| {
        b.iter_custom(|iters| run(iters, &mut || bulk_typed(held, &rows)))
    });
    g.bench_function("raw_prepared_loop/pool", |b| {
        b.iter_custom(|iters| {
            run(iters, &mut || {
                bulk_prepared_loop(&mut pool.get().expect("checkout"), &rows)
            })
        })
    });
    g.bench_function("raw_prepared_loop/held", |b| {
        b.iter_custom(|iters| run(iters, &mut || bulk_prepared_loop(held, &rows)))
    });
    g.bench_function("raw_sql_query_loop/held", |b| {
        b.iter_custom(|iters| run(iters, &mut || bulk_sql_query_loop(held, &rows)))
    });
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
    bulk_insert(&mut c, &mut env);
    c.final_summary();
}
