//! Migration metrics computed from the history: how many migrations ran, how
//! long they took (median, p95), how often they succeeded or were rolled
//! back, and the slowest steps.

use serde::Serialize;

use crate::migrate::history::{MigrationRecord, MigrationStatus};
use crate::migrate::Operation;

/// How many of the slowest steps [`MigrationMetrics::slowest_steps`] lists.
pub const SLOWEST_STEPS: usize = 5;

/// What the migration history says about migrations so far
/// (`db.migration_metrics()`). Durations are in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MigrationMetrics {
    /// Forward migrations recorded (rollbacks are counted in `rollbacks`).
    pub count: usize,
    /// Forward migrations in effect now.
    pub applied: usize,
    /// Forward migrations later undone by a rollback (or resolved as rolled
    /// back after failing).
    pub rolled_back: usize,
    /// Forward migrations that failed part-way and wait to be resolved.
    pub failed: usize,
    /// Forward migrations whose online phase has not finished.
    pub in_progress: usize,
    /// Rollbacks recorded (each a migration of its own).
    pub rollbacks: usize,
    /// Share of forward migrations that did not fail, in `0..=1`; `None`
    /// without any. A migration whose transaction failed leaves no record, so
    /// only failures after a commit (the online phase) count against it.
    pub success_rate: Option<f64>,
    /// Share of forward migrations later rolled back, in `0..=1`; `None`
    /// without any.
    pub rollback_rate: Option<f64>,
    /// Migrations (forward and rollbacks) whose duration is known.
    pub timed: usize,
    /// Median duration of the timed migrations.
    pub median_ms: Option<f64>,
    /// 95th percentile (nearest rank) of the timed migrations' durations.
    pub p95_ms: Option<i64>,
    /// The longest duration.
    pub max_ms: Option<i64>,
    /// Sum of the durations.
    pub total_ms: i64,
    /// The slowest steps recorded (at most [`SLOWEST_STEPS`]), slowest first.
    /// Steps recorded before durations were kept have none and are not listed,
    /// nor are the steps of migration files: their `up.sql` runs as one
    /// script, timed as a whole in the migration's duration.
    pub slowest_steps: Vec<StepTiming>,
}

/// One timed step of a recorded migration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepTiming {
    /// The migration's version.
    pub version: String,
    /// The kind of step.
    pub operation: Operation,
    /// The table it touched.
    pub table: String,
    /// Its detail, as the preview shows it.
    pub detail: String,
    /// How long it took.
    pub duration_ms: i64,
}

/// How long a recorded migration took: its recorded duration, else the time
/// between its start and end.
fn duration(r: &MigrationRecord) -> Option<i64> {
    r.duration_ms
        .or_else(|| r.finished_at.map(|f| (f - r.started_at).num_milliseconds()))
        .map(|ms| ms.max(0))
}

/// The median of sorted values: the middle one, or the mean of the two
/// middle ones.
fn median(sorted: &[i64]) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    Some(if n % 2 == 1 {
        sorted[n / 2] as f64
    } else {
        (sorted[n / 2 - 1] as f64 + sorted[n / 2] as f64) / 2.0
    })
}

/// The `p`th percentile of sorted values by nearest rank (a value that
/// occurred, never an interpolation).
fn percentile(sorted: &[i64], p: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    Some(sorted[rank - 1])
}

/// The metrics of a history (oldest first, as `migration_history()` lists it).
pub fn compute(history: &[MigrationRecord]) -> MigrationMetrics {
    let forward: Vec<&MigrationRecord> = history.iter().filter(|r| !r.is_rollback()).collect();
    let status = |s: MigrationStatus| forward.iter().filter(|r| r.status == s).count();
    let count = forward.len();
    let failed = status(MigrationStatus::Failed);
    let rolled_back = status(MigrationStatus::RolledBack);
    let rate = |n: usize| (count > 0).then(|| n as f64 / count as f64);
    let mut durations: Vec<i64> = history.iter().filter_map(duration).collect();
    durations.sort_unstable();
    let mut slowest: Vec<StepTiming> = history
        .iter()
        .flat_map(|r| {
            r.steps.iter().filter_map(|s| {
                Some(StepTiming {
                    version: r.version.clone(),
                    operation: s.operation,
                    table: s.table.clone(),
                    detail: s.detail.clone(),
                    duration_ms: s.duration_ms?,
                })
            })
        })
        .collect();
    // Slowest first; among equals the newest first.
    slowest.sort_by(|a, b| {
        b.duration_ms
            .cmp(&a.duration_ms)
            .then_with(|| b.version.cmp(&a.version))
    });
    slowest.truncate(SLOWEST_STEPS);
    MigrationMetrics {
        count,
        applied: status(MigrationStatus::Applied),
        rolled_back,
        failed,
        in_progress: status(MigrationStatus::InProgress),
        rollbacks: history.len() - count,
        success_rate: rate(count - failed),
        rollback_rate: rate(rolled_back),
        timed: durations.len(),
        median_ms: median(&durations),
        p95_ms: percentile(&durations, 95),
        max_ms: durations.last().copied(),
        total_ms: durations.iter().fold(0i64, |a, d| a.saturating_add(*d)),
        slowest_steps: slowest,
    }
}

impl MigrationMetrics {
    /// The metrics as a person reads them: a summary table, then the slowest
    /// steps.
    pub fn render(&self) -> String {
        let ms = |v: Option<i64>| v.map_or("-".to_owned(), |v| format!("{v} ms"));
        let pct = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{:.1}%", v * 100.0));
        let rows = vec![
            vec!["migrations".into(), self.count.to_string()],
            vec!["applied".into(), self.applied.to_string()],
            vec!["rolled back".into(), self.rolled_back.to_string()],
            vec!["failed".into(), self.failed.to_string()],
            vec!["in progress".into(), self.in_progress.to_string()],
            vec!["rollbacks run".into(), self.rollbacks.to_string()],
            vec!["success rate".into(), pct(self.success_rate)],
            vec!["rollback rate".into(), pct(self.rollback_rate)],
            vec![
                "median duration".into(),
                self.median_ms
                    .map_or("-".to_owned(), |v| format!("{v:.1} ms")),
            ],
            vec!["p95 duration".into(), ms(self.p95_ms)],
            vec!["max duration".into(), ms(self.max_ms)],
            vec!["total duration".into(), format!("{} ms", self.total_ms)],
        ];
        let mut out = crate::terminal::table(&["Metric", "Value"], &rows);
        out.push('\n');
        if !self.slowest_steps.is_empty() {
            let rows: Vec<Vec<String>> = self
                .slowest_steps
                .iter()
                .map(|s| {
                    vec![
                        s.version.clone(),
                        s.table.clone(),
                        s.operation.to_string(),
                        s.detail.clone(),
                        format!("{} ms", s.duration_ms),
                    ]
                })
                .collect();
            out.push_str("\nSlowest steps:\n");
            out.push_str(&crate::terminal::table(
                &["Version", "Table", "Operation", "Details", "Duration"],
                &rows,
            ));
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn median_and_p95_by_nearest_rank() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3]), Some(3.0));
        assert_eq!(median(&[1, 4]), Some(2.5));
        assert_eq!(median(&[1, 2, 9]), Some(2.0));
        let hundred: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&hundred, 95), Some(95));
        assert_eq!(percentile(&[7], 95), Some(7));
        assert_eq!(percentile(&[1, 2], 95), Some(2));
        assert_eq!(percentile(&[], 95), None);
    }

    proptest! {
        #[test]
        fn the_percentiles_lie_within_the_values(mut v in proptest::collection::vec(0i64..1_000_000, 1..60)) {
            v.sort_unstable();
            let m = median(&v).unwrap();
            let p = percentile(&v, 95).unwrap();
            prop_assert!(v[0] as f64 <= m && m <= *v.last().unwrap() as f64);
            prop_assert!(v.contains(&p));
            prop_assert!(p as f64 >= m);
            // At least 95% of the values are at or below the p95.
            prop_assert!(v.iter().filter(|x| **x <= p).count() * 100 >= 95 * v.len());
        }
    }
}
