//! CRUD through PgBouncer in transaction mode (`DATAFLOW_PGBOUNCER_URL`, which
//! `.ci/run` starts in front of the test server) with prepared statements off:
//! many threads, every result checked. With diesel's named statements the same
//! load fails most calls and, worse, runs other clients' statements.

use std::collections::BTreeMap;

use dataflow_core::prelude::*;
use dataflow_postgres::testing::{service_url, TestDb};
use dataflow_postgres::PgOptions;

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "pooled_items")]
struct Item {
    id: i64,
    owner: i32,
    seq: i32,
    label: String,
    score: Option<f64>,
}

/// The test database of `t`, reached through the pooler at `pooler` (which
/// routes every database name to the test server).
fn through(pooler: &str, t: &TestDb) -> String {
    let name = t
        .url()
        .split('?')
        .next()
        .and_then(|u| u.rsplit('/').next())
        .expect("a database name")
        .to_owned();
    let base = pooler.split('?').next().expect("a URL");
    let server = base.rsplit_once('/').map_or(base, |(s, _)| s);
    format!("{server}/{name}")
}

const THREADS: i32 = 8;
const OPS: i32 = 500;

#[test]
fn eight_threads_of_crud_through_a_transaction_pooler_are_all_correct() {
    let Some(pooler) = service_url("DATAFLOW_PGBOUNCER_URL") else {
        return;
    };
    if dataflow_postgres::testing::server_url().is_none() {
        return;
    }
    let t = TestDb::builder().model::<Item>().build().unwrap();
    let db = PgOptions::new(through(&pooler, &t))
        .prepared_statements(false)
        .pool_size(THREADS as u32)
        .connect()
        .unwrap();
    db.register::<Item>().unwrap();

    let workers: Vec<_> = (0..THREADS)
        .map(|owner| {
            let db = db.clone();
            std::thread::spawn(move || worker(&db, owner))
        })
        .collect();
    let mut expected = BTreeMap::new();
    for w in workers {
        expected.extend(w.join().expect("worker panicked"));
    }

    // What each thread believes it left behind is exactly what the table holds:
    // no row another client's statement removed, none a delete missed.
    let rows = Item::list(&t).all().unwrap();
    let actual: BTreeMap<i64, Item> = rows.into_iter().map(|r| (r.id, r)).collect();
    assert_eq!(actual.len(), expected.len());
    assert_eq!(actual, expected);
}

/// 500 operations of one owner (create, read, update, list, delete in turn),
/// each result checked; returns the rows it kept.
fn worker(db: &DataFlow, owner: i32) -> BTreeMap<i64, Item> {
    let mut kept: BTreeMap<i64, Item> = BTreeMap::new();
    for seq in 0..OPS {
        match seq % 5 {
            0 | 1 => {
                let row = Item::create(
                    db,
                    Item {
                        id: 0,
                        owner,
                        seq,
                        label: format!("o{owner}-s{seq}"),
                        score: (seq % 3 == 0).then_some(f64::from(seq) / 4.0),
                    },
                )
                .unwrap();
                assert_eq!((row.owner, row.seq), (owner, seq));
                kept.insert(row.id, row);
            }
            2 => {
                let (&id, want) = kept.iter().next_back().expect("a row to read");
                let got = Item::read(db, id).unwrap();
                assert_eq!(got.as_ref(), Some(want));
            }
            3 => {
                let (&id, _) = kept.iter().next().expect("a row to update");
                let label = format!("o{owner}-updated-{seq}");
                let row = Item::update(
                    db,
                    id,
                    ItemPatch {
                        label: Some(label.clone()),
                        ..Default::default()
                    },
                )
                .unwrap();
                assert_eq!(row.label, label);
                kept.insert(id, row);
                let mine = Item::list(db)
                    .filter(Item::OWNER.eq(owner))
                    .order_by(Item::ID.asc())
                    .all()
                    .unwrap();
                assert_eq!(mine, kept.values().cloned().collect::<Vec<_>>());
            }
            _ => {
                let (&id, _) = kept.iter().next().expect("a row to delete");
                Item::delete(db, id).unwrap();
                kept.remove(&id);
                assert_eq!(Item::read(db, id).unwrap(), None);
            }
        }
    }
    kept
}
