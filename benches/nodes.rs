//! JSON nodes against the typed API for the same operation, side by side in
//! one criterion run on one SQLite file: what a workflow engine or an HTTP
//! handler pays for calling `db.node("UserListNode")?.run(json)` instead of
//! the generated functions.
//!
//! - `list_100`: `{"filter": {"age": {"$gte": 30}}, "order_by": ["-age", "id"],
//!   "limit": 100}` → `{"records": [...], "count": n}`. The node counts the
//!   matching rows and reads the page, so its typed peer `typed_list_count`
//!   does both (`count()` then `all()`); `typed_list` reads the page only, for
//!   reference.
//! - `create`: one record from JSON, the stored record back as JSON, against
//!   `User::create` with a struct.
//!
//! The node's time includes parsing its JSON parameters and writing its JSON
//! output, which is what a caller with JSON in hand pays either way.
//!
//! Run: `cargo bench --bench nodes` (see BENCHMARKS.md). Under load, count
//! instructions instead of time: `NODES_CALLGRIND=200 valgrind --tool=callgrind
//! <bench binary>` runs each contender 200 times outside criterion, in
//! functions named `contender_*` whose inclusive cost `callgrind_annotate
//! --inclusive=yes` reports.

use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;
use dataflow_core::prelude::*;
use serde_json::json;

mod common;
use common::{sample_user, User};

/// Rows in the table before any workload runs.
const PREFILL: i64 = 10_000;

fn setup() -> (DataFlow, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dataflow_sqlite::SqliteOptions::new(dir.path().join("bench.db"))
        .open()
        .expect("open");
    db.register::<User>().expect("register");
    db.auto_migrate(MigrateOptions::default())
        .expect("auto_migrate");
    let rows: Vec<User> = (0..PREFILL).map(|i| sample_user(i, "seed")).collect();
    User::bulk_create(&db, &rows).expect("prefill");
    (db, dir)
}

fn list_params() -> serde_json::Value {
    json!({"filter": {"age": {"$gte": 30}}, "order_by": ["-age", "id"], "limit": 100})
}

fn typed_list(db: &DataFlow) -> dataflow_core::List<'_, User> {
    User::list(db)
        .filter(User::AGE.ge(30))
        .order_by(User::AGE.desc())
        .order_by(User::ID.asc())
        .limit(100)
}

fn node_params(u: User) -> serde_json::Value {
    json!({
        "name": u.name, "email": u.email, "age": u.age,
        "is_active": u.is_active, "score": u.score,
    })
}

#[inline(never)]
fn contender_node_list(db: &DataFlow, n: usize) {
    let node = db.node("UserListNode").unwrap();
    for _ in 0..n {
        black_box(node.run(list_params()).unwrap());
    }
}

#[inline(never)]
fn contender_typed_list_count(db: &DataFlow, n: usize) {
    for _ in 0..n {
        let count = User::list(db).filter(User::AGE.ge(30)).count().unwrap();
        black_box((count, typed_list(db).all().unwrap()));
    }
}

#[inline(never)]
fn contender_node_create(db: &DataFlow, n: usize) {
    let node = db.node("UserCreateNode").unwrap();
    for i in 0..n {
        let u = sample_user(i as i64, "cg-node");
        black_box(node.run(node_params(u)).unwrap());
    }
}

#[inline(never)]
fn contender_typed_create(db: &DataFlow, n: usize) {
    for i in 0..n {
        black_box(User::create(db, sample_user(i as i64, "cg-typed")).unwrap());
    }
}

fn list_100(c: &mut Criterion, db: &DataFlow) {
    let node = db.node("UserListNode").expect("node");
    let params = list_params();
    let typed = || typed_list(db);
    let typed_count = || User::list(db).filter(User::AGE.ge(30)).count();
    // The same rows and count on both sides.
    let out = node.run(params.clone()).expect("node list");
    let rows = typed().all().expect("typed list");
    assert_eq!(out["records"].as_array().map(Vec::len), Some(rows.len()));
    assert_eq!(out["records"][0]["id"], json!(rows[0].id));
    assert_eq!(out["count"], json!(typed_count().expect("count")));

    let mut g = c.benchmark_group("nodes_list_100");
    g.measurement_time(Duration::from_secs(4));
    g.bench_function("node", |b| {
        b.iter(|| black_box(node.run(black_box(params.clone())).unwrap()))
    });
    g.bench_function("typed_list_count", |b| {
        b.iter(|| black_box((typed_count().unwrap(), typed().all().unwrap())))
    });
    g.bench_function("typed_list", |b| {
        b.iter(|| black_box(typed().all().unwrap()))
    });
    g.finish();
}

fn create(c: &mut Criterion, db: &DataFlow) {
    let node = db.node("UserCreateNode").expect("node");
    let mut n = 0_i64;
    let mut g = c.benchmark_group("nodes_create");
    g.measurement_time(Duration::from_secs(4));
    g.bench_function("node", |b| {
        b.iter(|| {
            n += 1;
            let u = sample_user(n, "node");
            black_box(node.run(node_params(u)).unwrap())
        })
    });
    g.bench_function("typed", |b| {
        b.iter(|| {
            n += 1;
            black_box(User::create(db, sample_user(n, "typed")).unwrap())
        })
    });
    g.finish();
}

fn main() {
    let (db, _dir) = setup();
    if let Some(n) = std::env::var("NODES_CALLGRIND")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        contender_node_list(&db, n);
        contender_typed_list_count(&db, n);
        contender_node_create(&db, n);
        contender_typed_create(&db, n);
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    list_100(&mut c, &db);
    create(&mut c, &db);
    c.final_summary();
}
