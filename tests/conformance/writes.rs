//! Writes that fail write nothing, keys mixed in one batch, models that do not
//! match their table, and input nested deeply enough to overflow a stack.

use chrono::{NaiveDate, TimeZone, Utc};
use dataflow_core::limits::{dispose_json, MAX_FILTER_DEPTH, MAX_JSON_DEPTH};
use dataflow_core::prelude::*;
use serde_json::{json, Value as Json};

use crate::models::{Everything, EverythingPatch, Tag};

/// A model with a 32-bit generated key.
#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "counters")]
pub struct Counter {
    pub id: i32,
    pub label: String,
}

/// What a process still running the model from before a migration sees: the
/// `tags` table as it was, with a column the table no longer has.
#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "tags")]
pub struct StaleTag {
    #[dataflow(primary_key)]
    pub code: String,
    pub label: String,
    pub note: Option<String>,
}

/// A model whose table was never created.
#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "nowhere")]
pub struct Nowhere {
    pub id: i64,
    pub label: String,
}

fn with_counters(db: &DataFlow) {
    db.register::<Counter>().unwrap();
    db.auto_migrate(MigrateOptions::default()).unwrap();
}

fn counter(id: i32, label: &str) -> Counter {
    Counter {
        id,
        label: label.into(),
    }
}

/// JSON nested `depth` arrays and objects deep.
fn nested(depth: usize) -> Json {
    // Built by moving, not with `json!`, which would copy `v` by recursion.
    let mut v = json!("leaf");
    for i in 0..depth {
        v = if i % 2 == 0 {
            Json::Array(vec![v])
        } else {
            Json::Object([("k".to_string(), v)].into_iter().collect())
        };
    }
    v
}

fn everything_with_json(json: Json) -> Everything {
    Everything {
        json,
        ..Everything::sample()
    }
}

fn assert_drift(err: Error, model: &str, table: &str, missing: &str) {
    let text = err.to_string();
    assert!(matches!(err, Error::Drift { .. }), "{err:?}");
    for part in [model, table, missing] {
        assert!(text.contains(part), "{part:?} not in {text}");
    }
}

pub fn model_missing_a_column_is_a_clear_error_and_matches_nothing(db: &DataFlow) {
    for code in ["a", "b"] {
        Tag::create(
            db,
            Tag {
                code: code.into(),
                label: "note".into(),
            },
        )
        .unwrap();
    }
    let stale = |r: Result<_>| assert_drift(r.expect_err("an error"), "StaleTag", "tags", "note");
    stale(StaleTag::list(db).all().map(|_| ()));
    // Counting names no column: it still works.
    assert_eq!(StaleTag::list(db).count().unwrap(), 2);
    stale(StaleTag::read(db, "a".to_string()).map(|_| ()));
    // The filter names the missing column: it must match nothing, not every row.
    stale(StaleTag::bulk_delete(db, StaleTag::NOTE.eq("note")).map(|_| ()));
    stale(
        StaleTag::bulk_update(
            db,
            StaleTag::NOTE.eq("note"),
            StaleTagPatch {
                label: Some("changed".into()),
                ..Default::default()
            },
        )
        .map(|_| ()),
    );
    stale(
        StaleTag::create(
            db,
            StaleTag {
                code: "c".into(),
                label: "x".into(),
                note: None,
            },
        )
        .map(|_| ()),
    );
    let tags = Tag::list(db).order_by(Tag::CODE.asc()).all().unwrap();
    assert_eq!(tags.len(), 2);
    assert!(tags.iter().all(|t| t.label == "note"), "{tags:?}");

    let err = Nowhere::list(db).all().unwrap_err();
    assert_drift(err, "Nowhere", "nowhere", "does not exist");
}

pub fn json_too_deep_to_read_back_is_refused_before_writing(db: &DataFlow) {
    // The deepest accepted document round-trips.
    let ok = Everything::create(db, everything_with_json(nested(MAX_JSON_DEPTH))).unwrap();
    assert_eq!(ok.json, nested(MAX_JSON_DEPTH));
    let too_deep = || everything_with_json(nested(MAX_JSON_DEPTH + 1));
    let refused = |r: Result<()>| {
        let err = r.expect_err("refused");
        assert!(
            matches!(&err, Error::InvalidInput(m) if m.contains("Everything.") && m.contains("nested")),
            "{err:?}"
        );
        let all = Everything::list(db)
            .all()
            .expect("the table stays readable");
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].json, nested(MAX_JSON_DEPTH));
    };
    refused(Everything::create(db, too_deep()).map(|_| ()));
    refused(Everything::bulk_create(db, &[Everything::sample(), too_deep()]).map(|_| ()));
    refused(
        Everything::upsert(
            db,
            Everything {
                id: 7,
                ..too_deep()
            },
            &[Everything::ID],
        )
        .map(|_| ()),
    );
    refused(
        Everything::update(
            db,
            ok.id,
            EverythingPatch {
                o_json: Some(Some(nested(MAX_JSON_DEPTH + 1))),
                ..Default::default()
            },
        )
        .map(|_| ()),
    );
    refused(
        Everything::bulk_update(
            db,
            Filter::all(),
            EverythingPatch {
                json: Some(nested(MAX_JSON_DEPTH + 1)),
                ..Default::default()
            },
        )
        .map(|_| ()),
    );
}

pub fn generated_key_past_the_field_range_writes_nothing(db: &DataFlow) {
    with_counters(db);
    Counter::create(db, counter(i32::MAX, "last")).unwrap();
    let only_last = || {
        let all = Counter::list(db).all().expect("the table stays readable");
        assert_eq!(all, vec![counter(i32::MAX, "last")]);
    };
    // SQLite would generate 2147483648; PostgreSQL's sequence is exhausted.
    Counter::create(db, counter(0, "next")).unwrap_err();
    only_last();
    Counter::bulk_create(db, &[counter(0, "a"), counter(0, "b")]).unwrap_err();
    only_last();
    Counter::upsert(db, counter(0, "c"), &[Counter::ID]).unwrap_err();
    only_last();
    // An explicit key still fits.
    Counter::create(db, counter(5, "five")).unwrap();
    assert_eq!(Counter::list(db).count().unwrap(), 2);
}

pub fn explicit_key_at_the_generator_maximum_commits_only_with_its_adjustment(db: &DataFlow) {
    let max = Everything::create(
        db,
        Everything {
            id: i64::MAX,
            ..Everything::sample()
        },
    )
    .unwrap();
    assert_eq!(max.id, i64::MAX);
    // The generator now stands at its maximum; more explicit keys still work.
    let five = Everything::create(
        db,
        Everything {
            id: 5,
            ..Everything::sample()
        },
    )
    .unwrap();
    assert_eq!(five.id, 5);
    assert_eq!(
        Everything::bulk_create(
            db,
            &[Everything {
                id: 6,
                ..Everything::sample()
            }]
        )
        .unwrap(),
        1
    );
    let keys = |db: &DataFlow| -> Vec<i64> {
        Everything::list(db)
            .order_by(Everything::ID.asc())
            .all()
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect()
    };
    assert_eq!(keys(db), vec![5, 6, i64::MAX]);
    // No key is left to generate: an error, and nothing written.
    Everything::create(db, Everything::sample()).unwrap_err();
    assert_eq!(keys(db), vec![5, 6, i64::MAX]);
}

pub fn timestamp_outside_the_stored_range_is_stored_or_refused_whole(db: &DataFlow) {
    let far = Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap();
    let day = NaiveDate::from_ymd_opt(10_000, 1, 1).unwrap();
    let rows = [
        Everything {
            tstz: far,
            ..Everything::sample()
        },
        Everything {
            ts: day.and_hms_opt(0, 0, 0).unwrap(),
            ..Everything::sample()
        },
        Everything {
            date: day,
            ..Everything::sample()
        },
    ];
    for row in rows {
        let before = Everything::list(db).count().unwrap();
        match Everything::create(db, row.clone()) {
            Ok(stored) => {
                assert_eq!(
                    Everything {
                        id: 0,
                        ..stored.clone()
                    },
                    row
                );
                assert_eq!(Everything::read(db, stored.id).unwrap(), Some(stored));
            }
            Err(_) => {
                assert_eq!(Everything::list(db).count().unwrap(), before);
                Everything::list(db)
                    .all()
                    .expect("the table stays readable");
            }
        }
    }
}

pub fn bulk_create_mixes_explicit_and_generated_keys(db: &DataFlow) {
    let at = |id| Everything {
        id,
        ..Everything::sample()
    };
    assert_eq!(
        Everything::bulk_create(db, &[at(5_000_000), at(0), at(5_000_001)]).unwrap(),
        3
    );
    let keys: Vec<i64> = Everything::list(db)
        .all()
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(keys.len(), 3);
    assert!(
        keys.contains(&5_000_000) && keys.contains(&5_000_001),
        "{keys:?}"
    );
    // A generated key first, then the explicit key the generator would give next.
    with_counters(db);
    assert_eq!(
        Counter::bulk_create(
            db,
            &[counter(0, "gen"), counter(1, "one"), counter(2, "two")]
        )
        .unwrap(),
        3
    );
    let mut all = Counter::list(db).all().unwrap();
    all.sort_by_key(|c| c.id);
    assert_eq!(&all[..2], &[counter(1, "one"), counter(2, "two")]);
    assert!(all[2].id > 2 && all[2].label == "gen", "{all:?}");
    assert_eq!(
        Counter::bulk_upsert(
            db,
            &[counter(0, "gen2"), counter(10, "ten"), counter(1, "uno")],
            &[Counter::ID]
        )
        .unwrap(),
        3
    );
    let all = Counter::list(db).all().unwrap();
    assert_eq!(all.len(), 5);
    assert!(all.contains(&counter(1, "uno")) && all.contains(&counter(10, "ten")));
    let next = Counter::create(db, counter(0, "next")).unwrap();
    assert!(next.id > 10, "{next:?}");
}

/// A filter nested `depth` levels deep (`depth - 1` negations of a comparison).
fn negated(depth: usize) -> Filter<Everything> {
    let mut f = Everything::BIG.eq(1);
    for _ in 1..depth {
        f = f.not();
    }
    f
}

fn refused_as_too_deep<T: std::fmt::Debug>(r: Result<T>) {
    let err = r.expect_err("refused");
    assert!(
        matches!(&err, Error::InvalidInput(m) if m.contains("nested deeper")),
        "{err:?}"
    );
}

pub fn deeply_nested_filters_are_refused_without_overflowing(db: &DataFlow) {
    Everything::create(db, Everything::sample()).unwrap();
    // The deepest accepted filter runs on every backend (an odd number of
    // negations of a false comparison matches the row).
    let deepest = negated(MAX_FILTER_DEPTH);
    let expected = if MAX_FILTER_DEPTH.is_multiple_of(2) {
        1
    } else {
        0
    };
    assert_eq!(
        Everything::list(db)
            .filter(deepest.clone())
            .count()
            .unwrap(),
        expected
    );
    // 100 000 negations, built, refused and dropped on this test thread's
    // ordinary stack.
    let deep = negated(100_000);
    refused_as_too_deep(Everything::list(db).filter(deep.clone()).all());
    refused_as_too_deep(Everything::list(db).filter(deep.clone()).count());
    refused_as_too_deep(Everything::bulk_delete(db, deep.clone()));
    refused_as_too_deep(Everything::bulk_delete(db, deep.clone().or(negated(1))));
    refused_as_too_deep(Everything::bulk_update(
        db,
        deep.and(Filter::all()),
        EverythingPatch {
            text: Some("changed".into()),
            ..Default::default()
        },
    ));
    refused_as_too_deep(Everything::bulk_delete(db, negated(MAX_FILTER_DEPTH + 1)));
    // An expression built by hand is measured, and taken apart, without recursion.
    let mut by_hand = dataflow_core::Expr::True;
    for _ in 0..100_000 {
        by_hand = dataflow_core::Expr::Not(Box::new(by_hand));
    }
    refused_as_too_deep(Everything::bulk_delete(db, Filter::from_expr(by_hand)));
    // Alternating `and` and `or` nests a level each time...
    let mut chain = Everything::BIG.eq(1);
    for i in 0..200 {
        chain = chain
            .and(Everything::BIG.ne(i))
            .or(Everything::INT.eq(i as i32));
    }
    refused_as_too_deep(Everything::list(db).filter(chain).count());
    // ...while a chain of one of them flattens: wide, not deep.
    let mut wide = Everything::BIG.eq(1);
    for i in 0..200 {
        wide = wide.or(Everything::BIG.eq(i));
    }
    assert_eq!(Everything::list(db).filter(wide).count().unwrap(), 0);
    let all = Everything::list(db).all().unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].text, Everything::sample().text);
}

pub fn deeply_nested_json_is_refused_without_overflowing(db: &DataFlow) {
    let row = Everything::create(db, Everything::sample()).unwrap();
    let unchanged = || {
        let all = Everything::list(db).all().unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].json, Everything::sample().json);
    };
    let refused = |r: Result<()>| {
        let err = r.expect_err("refused");
        assert!(
            matches!(&err, Error::InvalidInput(m) if m.contains("nested deeper")),
            "{err:?}"
        );
        unchanged();
    };
    // Taken by value: refused and dropped by dataflow.
    refused(Everything::create(db, everything_with_json(nested(10_000))).map(|_| ()));
    refused(
        Everything::update(
            db,
            row.id,
            EverythingPatch {
                o_json: Some(Some(nested(10_000))),
                ..Default::default()
            },
        )
        .map(|_| ()),
    );
    refused(
        Everything::list(db)
            .filter(Everything::JSON.eq(nested(10_000)))
            .all()
            .map(|_| ()),
    );
    refused(Everything::bulk_delete(db, Everything::O_JSON.is_in([nested(10_000)])).map(|_| ()));
    // Borrowed: refused; the caller drops its own value without recursion.
    let items = vec![Everything::sample(), everything_with_json(nested(10_000))];
    refused(Everything::bulk_create(db, &items).map(|_| ()));
    for item in items {
        dispose_json(item.json);
    }
}
