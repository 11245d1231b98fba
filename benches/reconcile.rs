//! No-op reconcile: `auto_migrate` on a database that already matches 200 models
//! of 15 columns each (describe + diff + plan, nothing to apply).
//!
//! `cargo bench --bench reconcile` (with `DATABASE_URL` set, also on PostgreSQL)

use criterion::{criterion_group, criterion_main, Criterion};
use dataflow_core::model::descriptor::{
    ColumnDescriptor, IndexDescriptor, IndexMethod, ModelDescriptor,
};
use dataflow_core::query::statement::StatementCache;
use dataflow_core::{LogicalType, MigrateOptions};

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

/// `n` models of `cols` columns (id + a mix of types), two indexes each.
fn models(n: usize, cols: usize) -> Vec<&'static ModelDescriptor> {
    let types = [
        LogicalType::Text,
        LogicalType::BigInt,
        LogicalType::Int,
        LogicalType::Double,
        LogicalType::Bool,
        LogicalType::TimestampTz,
        LogicalType::Json,
    ];
    (0..n)
        .map(|m| {
            let table: &'static str = Box::leak(format!("table_{m:03}").into_boxed_str());
            let mut columns = vec![column("id".into(), LogicalType::BigInt, false, true)];
            for c in 1..cols {
                columns.push(column(
                    format!("c{c:02}"),
                    types[c % types.len()],
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

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let db = dataflow_sqlite::open(dir.path().join("reconcile.db")).unwrap();
    db.register_all(&models(200, 15)).unwrap();
    let first = db.auto_migrate(MigrateOptions::default()).unwrap();
    assert_eq!(first.steps.len(), 200);
    let mut group = c.benchmark_group("reconcile");
    group.sample_size(30);
    group.bench_function("noop_200_models_x_15_columns", |b| {
        b.iter(|| {
            let r = db.auto_migrate(MigrateOptions::default()).unwrap();
            assert!(r.steps.is_empty());
        })
    });
    group.bench_function("describe_only", |b| b.iter(|| db.describe().unwrap()));

    // The same on PostgreSQL (a private schema), when a server is configured.
    if let Ok(url) = std::env::var("DATABASE_URL") {
        let schema = format!("df_bench_reconcile_{}", std::process::id());
        let admin = dataflow_postgres::connect(&url).unwrap();
        admin
            .with_conn(|c| c.batch_execute(&format!("CREATE SCHEMA \"{schema}\"")))
            .unwrap();
        let sep = if url.contains('?') { '&' } else { '?' };
        let pg = dataflow_postgres::connect(&format!("{url}{sep}options=-csearch_path%3D{schema}"))
            .unwrap();
        pg.register_all(&models(200, 15)).unwrap();
        assert_eq!(
            pg.auto_migrate(MigrateOptions::default())
                .unwrap()
                .steps
                .len(),
            200
        );
        group.bench_function("postgres_noop_200_models_x_15_columns", |b| {
            b.iter(|| {
                let r = pg.auto_migrate(MigrateOptions::default()).unwrap();
                assert!(r.steps.is_empty());
            })
        });
        drop(pg);
        admin
            .with_conn(|c| c.batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE")))
            .unwrap();
    } else {
        eprintln!("skipping the PostgreSQL reconcile: DATABASE_URL is not set");
    }
    group.finish();
}

// criterion_group! generates an undocumented pub fn.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(benches, bench);
}
criterion_main!(group::benches);
