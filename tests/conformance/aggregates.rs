//! Aggregates and grouping (`sum`, `avg`, `min`, `max`, `group_by`), the same
//! results on every backend.

use dataflow_core::prelude::*;
use rust_decimal::Decimal;
use serde_json::json;

use crate::models::{Issue, IssueDraft, Project, ProjectDraft};

pub(crate) fn project(db: &DataFlow, name: &str) -> i64 {
    Project::create(db, ProjectDraft { name: name.into() })
        .expect("create project")
        .id
}

pub(crate) fn issue(db: &DataFlow, project_id: i64, title: &str) -> IssueDraft {
    let _ = db;
    IssueDraft {
        project_id,
        title: title.into(),
        assignee: None,
        estimate: None,
        hours: 0.0,
        cost: None,
        labels: json!([]),
        profile: None,
    }
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// Three projects: `a` with four issues, `b` with one, `c` with none.
fn seed(db: &DataFlow) -> (i64, i64, i64) {
    let (a, b, c) = (project(db, "a"), project(db, "b"), project(db, "c"));
    let rows = [
        (a, "a1", Some("ann"), Some(3), 1.5, Some("0.10")),
        (a, "a2", Some("bob"), Some(5), 2.25, Some("0.20")),
        (a, "a3", Some("ann"), None, 0.25, None),
        (a, "a4", None, Some(8), 4.0, Some("1.00")),
        (
            b,
            "b1",
            Some("bob"),
            Some(2),
            10.0,
            Some("12345678901234.5678"),
        ),
    ];
    for (p, title, who, est, hours, cost) in rows {
        Issue::create(
            db,
            IssueDraft {
                assignee: who.map(Into::into),
                estimate: est,
                hours,
                cost: cost.map(dec),
                ..issue(db, p, title)
            },
        )
        .unwrap();
    }
    (a, b, c)
}

pub fn sums_averages_and_extremes_over_a_filter(db: &DataFlow) {
    let (a, b, _) = seed(db);
    let of_a = Issue::list(db).filter(Issue::PROJECT_ID.eq(a));
    let sum: i64 = of_a.clone().sum(Issue::ESTIMATE).unwrap();
    assert_eq!(sum, 16, "NULL estimates are skipped");
    let hours: f64 = of_a.clone().sum(Issue::HOURS).unwrap();
    assert_eq!(hours, 8.0);
    let avg: Option<f64> = of_a.clone().avg(Issue::ESTIMATE).unwrap();
    assert_eq!(avg, Some(16.0 / 3.0));
    assert_eq!(of_a.clone().avg(Issue::HOURS).unwrap(), Some(2.0));
    assert_eq!(of_a.clone().min(Issue::ESTIMATE).unwrap(), Some(3));
    assert_eq!(of_a.clone().max(Issue::ESTIMATE).unwrap(), Some(8));
    assert_eq!(
        of_a.clone().min(Issue::TITLE).unwrap().as_deref(),
        Some("a1")
    );
    assert_eq!(of_a.clone().max(Issue::HOURS).unwrap(), Some(4.0));
    assert_eq!(of_a.clone().count().unwrap(), 4);
    // Exact decimal sums; the average rounded to 16 places on every backend.
    assert_eq!(of_a.clone().sum(Issue::COST).unwrap(), dec("1.30"));
    assert_eq!(
        of_a.clone().avg(Issue::COST).unwrap(),
        Some(dec("0.4333333333333333"))
    );
    assert_eq!(
        Issue::list(db).sum(Issue::COST).unwrap(),
        dec("12345678901235.8678")
    );
    assert_eq!(of_a.max(Issue::COST).unwrap(), Some(dec("1.00")));
    // Order, limit and offset do not change an aggregate.
    let paged = Issue::list(db)
        .filter(Issue::PROJECT_ID.eq(b))
        .order_by(Issue::ID.desc())
        .limit(0);
    assert_eq!(paged.sum(Issue::ESTIMATE).unwrap(), 2);
}

pub fn nothing_to_aggregate_is_zero_or_none(db: &DataFlow) {
    let (_, _, c) = seed(db);
    let none = Issue::list(db).filter(Issue::PROJECT_ID.eq(c));
    assert_eq!(none.clone().sum(Issue::ESTIMATE).unwrap(), 0);
    assert_eq!(none.clone().sum(Issue::HOURS).unwrap(), 0.0);
    assert_eq!(none.clone().sum(Issue::COST).unwrap(), Decimal::ZERO);
    assert_eq!(none.clone().avg(Issue::ESTIMATE).unwrap(), None);
    assert_eq!(none.clone().avg(Issue::COST).unwrap(), None);
    assert_eq!(none.clone().min(Issue::TITLE).unwrap(), None);
    assert_eq!(none.max(Issue::HOURS).unwrap(), None);
    // Rows whose values are all NULL: the same as no rows.
    let nulls = Issue::list(db).filter(Issue::ESTIMATE.is_null());
    assert_eq!(nulls.clone().count().unwrap(), 1);
    assert_eq!(nulls.clone().sum(Issue::ESTIMATE).unwrap(), 0);
    assert_eq!(nulls.clone().sum(Issue::COST).unwrap(), Decimal::ZERO);
    assert_eq!(nulls.clone().avg(Issue::ESTIMATE).unwrap(), None);
    assert_eq!(nulls.max(Issue::ESTIMATE).unwrap(), None);
}

pub fn group_by_gives_typed_pairs_in_key_order(db: &DataFlow) {
    let (a, b, _) = seed(db);
    let per_project: Vec<(i64, i64)> = Issue::list(db).group_by(Issue::PROJECT_ID).count().unwrap();
    assert_eq!(
        per_project,
        vec![(a, 4), (b, 1)],
        "projects without issues have no group"
    );
    let estimates: Vec<(i64, i64)> = Issue::list(db)
        .group_by(Issue::PROJECT_ID)
        .sum(Issue::ESTIMATE)
        .unwrap();
    assert_eq!(estimates, vec![(a, 16), (b, 2)]);
    // A nullable key: NULL is one group, last.
    let by_assignee: Vec<(Option<String>, i64)> = Issue::list(db)
        .filter(Issue::PROJECT_ID.eq(a))
        .group_by(Issue::ASSIGNEE)
        .count()
        .unwrap();
    assert_eq!(
        by_assignee,
        vec![(Some("ann".into()), 2), (Some("bob".into()), 1), (None, 1)]
    );
    let grouped = Issue::list(db).group_by(Issue::ASSIGNEE);
    assert_eq!(
        grouped.clone().avg(Issue::ESTIMATE).unwrap(),
        vec![
            (Some("ann".into()), Some(3.0)),
            (Some("bob".into()), Some(3.5)),
            (None, Some(8.0)),
        ]
    );
    assert_eq!(
        grouped.clone().min(Issue::HOURS).unwrap(),
        vec![
            (Some("ann".into()), Some(0.25)),
            (Some("bob".into()), Some(2.25)),
            (None, Some(4.0)),
        ]
    );
    assert_eq!(
        grouped.clone().max(Issue::ESTIMATE).unwrap(),
        vec![
            (Some("ann".into()), Some(3)),
            (Some("bob".into()), Some(5)),
            (None, Some(8)),
        ]
    );
    assert_eq!(
        grouped.sum(Issue::COST).unwrap(),
        vec![
            (Some("ann".into()), dec("0.10")),
            (Some("bob".into()), dec("12345678901234.7678")),
            (None, dec("1.00")),
        ]
    );
}

pub fn aggregates_see_live_rows_unless_asked(db: &DataFlow) {
    let (a, _, _) = seed(db);
    let first = Issue::list(db)
        .filter(Issue::TITLE.eq("a4"))
        .first()
        .unwrap()
        .unwrap();
    Issue::delete(db, first.id).unwrap();
    assert_eq!(
        Issue::list(db)
            .filter(Issue::PROJECT_ID.eq(a))
            .sum(Issue::ESTIMATE)
            .unwrap(),
        8
    );
    assert_eq!(
        Issue::list(db)
            .with_deleted()
            .filter(Issue::PROJECT_ID.eq(a))
            .sum(Issue::ESTIMATE)
            .unwrap(),
        16
    );
    assert_eq!(
        Issue::list(db)
            .only_deleted()
            .group_by(Issue::PROJECT_ID)
            .count()
            .unwrap(),
        vec![(a, 1)]
    );
}

pub fn a_sum_past_i64_is_an_error_not_a_wrapped_value(db: &DataFlow) {
    let p = project(db, "big");
    for title in ["x", "y"] {
        Issue::create(
            db,
            IssueDraft {
                estimate: Some(i32::MAX),
                ..issue(db, p, title)
            },
        )
        .unwrap();
    }
    assert_eq!(
        Issue::list(db).sum(Issue::ESTIMATE).unwrap(),
        2 * i64::from(i32::MAX),
        "a sum of i32 is an i64"
    );
    // Past i64: both backends refuse rather than wrap.
    let mut row = crate::models::Everything::sample();
    row.big = i64::MAX;
    for _ in 0..2 {
        crate::models::Everything::create(db, row.clone()).unwrap();
    }
    let r = crate::models::Everything::list(db).sum(crate::models::Everything::BIG);
    assert!(matches!(r, Err(Error::Database(_))), "{r:?}");
}
