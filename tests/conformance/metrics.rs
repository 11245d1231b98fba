//! Migration metrics from the history: counts, rates, median and p95
//! durations and the slowest steps; history rows written before step
//! durations were recorded still read and count.

use dataflow_core::migrate::history::HISTORY;
use dataflow_core::prelude::*;
use dataflow_core::query::statement::SqlWriter;
use dataflow_core::MigrationStep;

use crate::backends::TestBackend;

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "mt_items")]
struct Item {
    id: i64,
    name: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "mt_items")]
struct ItemNote {
    id: i64,
    name: String,
    note: Option<String>,
}

fn handle<M: Model>(db: &TestBackend) -> DataFlow {
    let h = db.reopen();
    h.register::<M>().unwrap();
    h
}

pub fn metrics_count_migrations_rollbacks_and_time_each_step(db: &TestBackend) {
    let before = db.migration_metrics().unwrap();
    handle::<Item>(db)
        .auto_migrate(MigrateOptions::default())
        .unwrap();
    let v2 = handle::<ItemNote>(db);
    let added = v2.auto_migrate(MigrateOptions::default()).unwrap();
    assert!(
        added.steps.iter().all(|s| s.duration_ms.is_some()),
        "an applied report times its steps: {:?}",
        added.steps
    );
    v2.rollback_last().unwrap();

    let m = db.migration_metrics().unwrap();
    assert_eq!(m.count, before.count + 2);
    assert_eq!(m.rollbacks, before.rollbacks + 1);
    assert_eq!(m.rolled_back, before.rolled_back + 1);
    assert_eq!(m.applied, before.applied + 1);
    assert_eq!(m.failed, 0);
    assert_eq!(m.success_rate, Some(1.0));
    let rate = m.rollback_rate.unwrap();
    assert!(
        (rate - m.rolled_back as f64 / m.count as f64).abs() < 1e-9,
        "{m:?}"
    );
    assert_eq!(m.timed, before.timed + 3);
    let (median, p95, max) = (m.median_ms.unwrap(), m.p95_ms.unwrap(), m.max_ms.unwrap());
    assert!(median <= p95 as f64 && p95 <= max, "{m:?}");
    assert!(m.total_ms >= max);
    assert!(!m.slowest_steps.is_empty());
    assert!(m
        .slowest_steps
        .windows(2)
        .all(|w| w[0].duration_ms >= w[1].duration_ms));
    // Every step of the new migrations is timed in the history too.
    let history = db.migration_history().unwrap();
    for r in &history[history.len() - 3..] {
        assert!(r.steps.iter().all(|s| s.duration_ms.is_some()), "{r:?}");
    }
    let json = serde_json::to_value(&m).unwrap();
    for key in [
        "count",
        "median_ms",
        "p95_ms",
        "success_rate",
        "rollback_rate",
        "slowest_steps",
    ] {
        assert!(json.get(key).is_some(), "{key} in {json}");
    }
    assert!(m.render().contains("p95 duration"));
}

/// Rows as an older dataflow wrote them: steps without durations, and (for a
/// migration cut off in its online phase) no duration or end time at all.
pub fn history_rows_without_durations_still_read_and_count(db: &TestBackend) {
    handle::<Item>(db)
        .auto_migrate(MigrateOptions::default())
        .unwrap();
    let before = db.migration_history().unwrap();
    for r in &before {
        let steps: Vec<MigrationStep> = r
            .steps
            .iter()
            .cloned()
            .map(|mut s| {
                s.duration_ms = None;
                s
            })
            .collect();
        let json = serde_json::to_value(&steps).unwrap();
        assert!(!json.to_string().contains("duration_ms"));
        let mut w = SqlWriter::new(db.dialect());
        w.push("UPDATE ").ident(HISTORY).push(" SET ");
        w.ident("steps").push(" = ");
        w.bind(Value::Json(json));
        w.push(", ").ident("duration_ms").push(" = NULL, ");
        w.ident("finished_at").push(" = NULL WHERE ");
        w.ident("version").push(" = ");
        w.bind(Value::Text(r.version.clone()));
        let sql = w.finish();
        db.with_conn(|c| c.execute(&sql.text, &sql.binds)).unwrap();
    }
    let old = db.migration_history().unwrap();
    assert_eq!(old.len(), before.len());
    assert!(old
        .iter()
        .all(|r| r.duration_ms.is_none() && r.steps.iter().all(|s| s.duration_ms.is_none())));
    let m = db.migration_metrics().unwrap();
    assert_eq!(m.count, before.len());
    assert_eq!((m.timed, m.median_ms, m.p95_ms), (0, None, None));
    assert!(m.slowest_steps.is_empty());

    // The next migration records its durations beside the old rows.
    handle::<ItemNote>(db)
        .auto_migrate(MigrateOptions::default())
        .unwrap();
    let m = db.migration_metrics().unwrap();
    assert_eq!(m.count, before.len() + 1);
    assert_eq!(m.timed, 1);
    assert_eq!(m.slowest_steps.len(), 1);
    assert_eq!(m.slowest_steps[0].table, "mt_items");
}
