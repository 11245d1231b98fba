//! Instruction counts per CRUD operation, dataflow against hand-written diesel,
//! for callgrind: a count does not move with the machine's load, which the
//! timings of `benches/crud.rs` and `benches/postgres.rs` do.
//!
//! One process runs one contender on one workload: it builds the table of
//! `benches/crud.rs` (10 000 rows on SQLite, 2 000 on PostgreSQL), warms up,
//! then calls `measure`, which runs the operation `n` times. Count only that
//! call:
//!
//! ```sh
//! cargo bench --bench instructions --no-run   # prints the binary's path
//! valgrind --tool=callgrind --toggle-collect='*instructions::measure*' \
//!     <binary> sqlite read dataflow 200
//! ```
//!
//! and divide the reported total by `n`. Arguments: backend (`sqlite`,
//! `postgres` with `DATABASE_URL`), workload (`read`, `list`, `insert`,
//! `update`, `bulk`; PostgreSQL: `read`, `list`), contender (`dataflow`,
//! `dataflow_unchecked` on PostgreSQL, `pool`, `held`), `n` (for `bulk`: the
//! number of 2 000-row inserts). The diesel contenders use the same calls as
//! the criterion benches (`get_results` for writes, `find(id).get_result()`
//! for the read). Without arguments it does nothing, so `cargo bench` passes.

use std::hint::black_box;
use std::time::Duration;

use dataflow_core::prelude::*;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::PgConnection;

mod common;
use common::{users, User, UserPatch};

/// The same row for diesel.
#[derive(Queryable, Selectable, Debug, Clone, PartialEq)]
#[diesel(table_name = users)]
struct DUser {
    id: i64,
    name: String,
    email: String,
    age: Option<i32>,
    is_active: bool,
    score: f64,
}

/// A row to insert with diesel.
#[derive(Insertable, Debug, Clone, Copy)]
#[diesel(table_name = users, treat_none_as_default_value = false)]
struct NewUser<'a> {
    name: &'a str,
    email: &'a str,
    age: Option<i32>,
    is_active: bool,
    score: f64,
}

fn user(i: u64, prefix: &str) -> User {
    User {
        id: 0,
        name: format!("name-{:05}", (i * 37) % 10_007),
        email: format!("{prefix}-{i}@example.org"),
        age: (!i.is_multiple_of(10)).then_some(18 + (i % 60) as i32),
        is_active: !i.is_multiple_of(3),
        score: ((i * 7_919) % 10_000) as f64 / 100.0,
    }
}

fn new_user(u: &User) -> NewUser<'_> {
    NewUser {
        name: &u.name,
        email: &u.email,
        age: u.age,
        is_active: u.is_active,
        score: u.score,
    }
}

fn pk(n: u64, rows: u64) -> i64 {
    1 + ((n * 7_919) % rows) as i64
}

/// Who runs the operations.
enum Contender<'a, C: diesel::r2d2::R2D2Connection + 'static> {
    Dataflow(&'a DataFlow),
    Pool(&'a Pool<ConnectionManager<C>>),
    Held(&'a mut C),
}

impl<C: diesel::r2d2::R2D2Connection + 'static> Contender<'_, C> {
    /// Runs `f` on the diesel connection (checked out per call for `Pool`).
    fn diesel<R>(&mut self, f: impl FnOnce(&mut C) -> R) -> R {
        match self {
            Contender::Pool(p) => f(&mut p.get().expect("checkout")),
            Contender::Held(c) => f(c),
            Contender::Dataflow(_) => unreachable!("a diesel contender"),
        }
    }
}

/// One workload, `n` times: the only code callgrind counts.
#[inline(never)]
fn measure<C>(n: u64, op: &mut dyn FnMut(u64) -> C) {
    for i in 0..n {
        black_box(op(i));
    }
}

fn sqlite_pragmas(conn: &mut SqliteConnection) -> QueryResult<()> {
    conn.batch_execute(
        "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; \
         PRAGMA case_sensitive_like = ON; PRAGMA synchronous = NORMAL; \
         PRAGMA journal_mode = WAL;",
    )
}

#[derive(Debug)]
struct SamePragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SamePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        sqlite_pragmas(conn).map_err(diesel::r2d2::Error::QueryError)
    }
}

fn sqlite(workload: &str, who: &str, n: u64) {
    const ROWS: u64 = 10_000;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.db");
    let url = path.to_str().expect("utf-8 path").to_owned();
    let db = dataflow_sqlite::SqliteOptions::new(&path)
        .pool_size(8)
        .open()
        .expect("open");
    db.register::<User>().expect("register");
    db.auto_migrate(MigrateOptions::default()).expect("migrate");
    let seed: Vec<User> = (0..ROWS).map(|i| user(i, "seed")).collect();
    User::bulk_create(&db, &seed).expect("prefill");
    let pool = Pool::builder()
        .max_size(8)
        .min_idle(Some(1))
        .connection_customizer(Box::new(SamePragmas))
        .build(ConnectionManager::<SqliteConnection>::new(&url))
        .expect("pool");
    let mut held = SqliteConnection::establish(&url).expect("connect");
    sqlite_pragmas(&mut held).expect("pragmas");
    let mut admin = SqliteConnection::establish(&url).expect("connect");
    let mut cleanup = || {
        diesel::delete(users::table.filter(users::id.gt(ROWS as i64)))
            .execute(&mut admin)
            .expect("cleanup");
    };
    let bulk: Vec<User> = (0..2_000).map(|i| user(i, "bulk")).collect();
    let rows: Vec<NewUser<'_>> = bulk.iter().map(new_user).collect();
    let mut c = match who {
        "dataflow" => Contender::Dataflow(&db),
        "pool" => Contender::Pool(&pool),
        "held" => Contender::Held(&mut held),
        _ => panic!("contender: dataflow, pool or held"),
    };
    let mut op = |i: u64| -> usize {
        let db = match &c {
            Contender::Dataflow(db) => Some(*db),
            _ => None,
        };
        match (workload, db) {
            ("read", Some(db)) => User::read(db, pk(i, ROWS)).expect("read").is_some() as usize,
            ("read", None) => c.diesel(|conn| {
                let u: DUser = users::table
                    .find(pk(i, ROWS))
                    .get_result(conn)
                    .expect("read");
                black_box(u).id as usize
            }),
            ("list", Some(db)) => User::list(db)
                .filter(User::AGE.ge(30).and(User::IS_ACTIVE.eq(true)))
                .order_by(User::ID.desc())
                .limit(100)
                .all()
                .expect("list")
                .len(),
            ("list", None) => c.diesel(|conn| {
                let v: Vec<DUser> = users::table
                    .filter(users::age.ge(30).and(users::is_active.eq(true)))
                    .order(users::id.desc())
                    .limit(100)
                    .load(conn)
                    .expect("list");
                v.len()
            }),
            ("insert", Some(db)) => User::create(db, user(i, "x")).expect("insert").id as usize,
            ("insert", None) => c.diesel(|conn| {
                let u = user(i, "x");
                let v: Vec<DUser> = diesel::insert_into(users::table)
                    .values(new_user(&u))
                    .get_results(conn)
                    .expect("insert");
                v.len()
            }),
            ("update", Some(db)) => {
                let patch = UserPatch {
                    age: Some(Some(18 + (i % 60) as i32)),
                    score: Some((i % 10_000) as f64 / 100.0),
                    ..Default::default()
                };
                User::update(db, pk(i, ROWS), patch).expect("update").id as usize
            }
            ("update", None) => c.diesel(|conn| {
                let v: Vec<DUser> = diesel::update(users::table.find(pk(i, ROWS)))
                    .set((
                        users::age.eq(Some(18 + (i % 60) as i32)),
                        users::score.eq((i % 10_000) as f64 / 100.0),
                    ))
                    .get_results(conn)
                    .expect("update");
                v.len()
            }),
            ("bulk", Some(db)) => User::bulk_create(db, &bulk).expect("bulk"),
            ("bulk", None) => c.diesel(|conn| {
                conn.immediate_transaction(|t| {
                    let mut total = 0;
                    for chunk in rows.chunks(500) {
                        total += diesel::insert_into(users::table).values(chunk).execute(t)?;
                    }
                    QueryResult::Ok(total)
                })
                .expect("bulk")
            }),
            _ => panic!("workload: read, list, insert, update or bulk"),
        }
    };
    // Warm-up: statement caches, pool connections.
    op(0);
    cleanup();
    if workload == "bulk" {
        for _ in 0..n {
            measure(1, &mut op);
            cleanup();
        }
    } else {
        measure(n, &mut op);
    }
}

fn postgres(workload: &str, who: &str, n: u64) {
    const ROWS: u64 = 2_000;
    let admin_url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let name = format!("df_instructions_{}", std::process::id());
    let mut server = PgConnection::establish(&admin_url).expect("connect");
    diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
        .execute(&mut server)
        .expect("create database");
    let base = admin_url.rsplit_once('/').map_or(&*admin_url, |(b, _)| b);
    let url = format!("{base}/{name}");
    {
        let db = dataflow_postgres::PgOptions::new(&url)
            .pool_size(10)
            .check_on_checkout(who != "dataflow_unchecked")
            .connect()
            .expect("connect");
        db.register::<User>().expect("register");
        db.auto_migrate(MigrateOptions::default()).expect("migrate");
        let seed: Vec<User> = (0..ROWS).map(|i| user(i, "seed")).collect();
        User::bulk_create(&db, &seed).expect("prefill");
        let pool = Pool::builder()
            .max_size(10)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            .build(ConnectionManager::<PgConnection>::new(&url))
            .expect("pool");
        let mut held = PgConnection::establish(&url).expect("connect");
        let mut c = match who {
            "dataflow" | "dataflow_unchecked" => Contender::Dataflow(&db),
            "pool" => Contender::Pool(&pool),
            "held" => Contender::Held(&mut held),
            _ => panic!("contender: dataflow, dataflow_unchecked, pool or held"),
        };
        let mut op = |i: u64| -> i64 {
            let db = match &c {
                Contender::Dataflow(db) => Some(*db),
                _ => None,
            };
            match (workload, db) {
                ("read", Some(db)) => User::read(db, pk(i, ROWS))
                    .expect("read")
                    .map_or(0, |u| u.id),
                ("read", None) => c.diesel(|conn| {
                    let u: DUser = users::table
                        .find(pk(i, ROWS))
                        .get_result(conn)
                        .expect("read");
                    u.id
                }),
                ("list", Some(db)) => User::list(db)
                    .filter(User::AGE.ge(30).and(User::IS_ACTIVE.eq(true)))
                    .order_by(User::ID.desc())
                    .limit(100)
                    .all()
                    .expect("list")
                    .len() as i64,
                ("list", None) => c.diesel(|conn| {
                    let v: Vec<DUser> = users::table
                        .filter(users::age.ge(30).and(users::is_active.eq(true)))
                        .order(users::id.desc())
                        .limit(100)
                        .load(conn)
                        .expect("list");
                    v.len() as i64
                }),
                _ => panic!("workload: read or list"),
            }
        };
        op(u64::MAX / 7_919);
        measure(n, &mut op);
    }
    diesel::sql_query(format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .execute(&mut server)
        .expect("drop database");
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let [backend, workload, who, n] = args.as_slice() else {
        eprintln!("usage: instructions <sqlite|postgres> <workload> <contender> <n>");
        return;
    };
    let n: u64 = n.parse().expect("n: a number");
    match backend.as_str() {
        "sqlite" => sqlite(workload, who, n),
        "postgres" => postgres(workload, who, n),
        _ => panic!("backend: sqlite or postgres"),
    }
}
