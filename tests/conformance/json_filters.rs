//! JSON filters: containment (`@>` semantics) and path comparisons give the
//! rows the reference evaluator (`dataflow_core::query::json`) gives, on every
//! backend, over a fixed corpus and over seeded random documents.

use dataflow_core::prelude::*;
use dataflow_core::query::json::{contains, parse_path, path_matches};
use dataflow_core::{CmpOp, Expr, Records};
use serde_json::{json, Value as Json};

use crate::aggregates::{issue, project};
use crate::models::{Issue, IssueDraft};

fn corpus() -> Vec<(Json, Option<Json>)> {
    vec![
        (
            json!(["bug", "ui"]),
            Some(json!({"address": {"city": "Oslo", "zip": "0150"}, "age": 31})),
        ),
        (
            json!(["bug"]),
            Some(json!({"address": {"city": "Bergen"}, "age": 31.0, "vip": true})),
        ),
        (
            json!(["feature", ["nested", "bug"]]),
            Some(json!({"address": {"city": "oslo"}, "age": 7, "vip": false})),
        ),
        (json!([]), None),
        (
            json!("bug"),
            Some(json!({"address": null, "age": "31", "tags": ["a", "b"]})),
        ),
        (
            json!({"bug": true, "n": 1}),
            Some(json!({"tags": [{"k": 1}, {"k": 2.5}], "age": -2})),
        ),
        (json!([1, 2.5, {"a": [true, null]}]), Some(json!([1, 2]))),
        (
            json!(["a\"quote", "50%", "ü"]),
            Some(json!({"address": {"city": "Tromsø"}, "age": 1e3})),
        ),
        (json!(null), Some(json!({"": 1, "0": "zero", "a.b": 2}))),
        (json!(3), Some(json!(3))),
    ]
}

fn seed(db: &DataFlow, docs: &[(Json, Option<Json>)]) -> Vec<Issue> {
    let p = project(db, "json");
    docs.iter()
        .enumerate()
        .map(|(i, (labels, profile))| {
            Issue::create(
                db,
                IssueDraft {
                    labels: labels.clone(),
                    profile: profile.clone(),
                    ..issue(db, p, &format!("i{i}"))
                },
            )
            .unwrap()
        })
        .collect()
}

/// The titles a filter selects, in key order.
fn titles(db: &DataFlow, f: Filter<Issue>) -> Vec<String> {
    Issue::list(db)
        .filter(f)
        .order_by(Issue::ID.asc())
        .all()
        .unwrap()
        .into_iter()
        .map(|i| i.title)
        .collect()
}

/// Three-valued: `None` for a NULL column.
fn expected(rows: &[Issue], keep: impl Fn(&Issue) -> Option<bool>) -> Vec<String> {
    rows.iter()
        .filter(|i| keep(i) == Some(true))
        .map(|i| i.title.clone())
        .collect()
}

fn templates() -> Vec<Json> {
    vec![
        json!(["bug"]),
        json!("bug"),
        json!(["bug", "ui"]),
        json!(["ui", "ui"]),
        json!([]),
        json!({}),
        json!(["nested"]),
        json!([["bug"]]),
        json!({"bug": true}),
        json!({"n": 1.0}),
        json!([{"a": [null]}]),
        json!([2.50]),
        json!(["a\"quote"]),
        json!("50%"),
        json!(null),
        json!(3),
        json!([3]),
    ]
}

pub fn containment_matches_postgres_semantics(db: &DataFlow) {
    let rows = seed(db, &corpus());
    for t in templates() {
        let got = titles(db, Issue::LABELS.contains(t.clone()));
        let want = expected(&rows, |i| Some(contains(&i.labels, &t)));
        assert_eq!(got, want, "LABELS @> {t}");
        let got = titles(db, !Issue::LABELS.contains(t.clone()));
        let want = expected(&rows, |i| Some(!contains(&i.labels, &t)));
        assert_eq!(got, want, "NOT LABELS @> {t}");
        // A nullable column: NULL contains nothing, and neither does its negation.
        let got = titles(db, !Issue::PROFILE.contains(t.clone()));
        let want = expected(&rows, |i| i.profile.as_ref().map(|p| !contains(p, &t)));
        assert_eq!(got, want, "NOT PROFILE @> {t}");
    }
    let nested = json!({"address": {"city": "Oslo"}});
    assert_eq!(titles(db, Issue::PROFILE.contains(nested)), ["i0"]);
    // Filter by label, the README's example.
    assert_eq!(
        titles(db, Issue::LABELS.contains(json!(["bug"]))),
        ["i0", "i1"]
    );
}

fn path_cases() -> Vec<(&'static str, CmpOp, Json)> {
    use CmpOp::*;
    vec![
        ("address.city", Eq, json!("Oslo")),
        ("address.city", Ne, json!("Oslo")),
        ("address.city", Gt, json!("Oslo")),
        ("address.city", Le, json!("Tromsø")),
        ("address.zip", Eq, json!("0150")),
        ("age", Eq, json!(31)),
        ("age", Ne, json!(31)),
        ("age", Ge, json!(7.0)),
        ("age", Lt, json!(1000)),
        ("age", Eq, json!("31")),
        ("vip", Eq, json!(true)),
        ("vip", Ne, json!(true)),
        ("address", Eq, json!(null)),
        ("address", Ne, json!(null)),
        ("tags.0", Eq, json!("a")),
        ("tags.1.k", Gt, json!(2)),
        ("0", Eq, json!(1)),
        ("0", Eq, json!("zero")),
        ("missing.deeper", Ne, json!(1)),
    ]
}

pub fn path_comparisons_match_the_reference(db: &DataFlow) {
    let rows = seed(db, &corpus());
    for (path, op, value) in path_cases() {
        let segments = parse_path(path).unwrap();
        let f = |p: &str| -> Filter<Issue> {
            let at = Issue::PROFILE.path(p);
            let v = value.clone();
            match op {
                CmpOp::Eq => at.eq(v),
                CmpOp::Ne => at.ne(v),
                CmpOp::Gt => at.gt(v),
                CmpOp::Ge => at.ge(v),
                CmpOp::Lt => at.lt(v),
                CmpOp::Le => at.le(v),
            }
        };
        let want = |negate: bool| {
            expected(&rows, |i| {
                i.profile
                    .as_ref()
                    .map(|p| path_matches(p, &segments, op, &value) != negate)
            })
        };
        assert_eq!(titles(db, f(path)), want(false), "{path} {op:?} {value}");
        assert_eq!(
            titles(db, !f(path)),
            want(true),
            "NOT {path} {op:?} {value}"
        );
    }
    assert_eq!(
        titles(db, Issue::PROFILE.path("address.city").eq("Oslo")),
        ["i0"]
    );
    // On a non-null column too; an index of the top-level array.
    assert_eq!(titles(db, Issue::LABELS.path("1.0").eq("nested")), ["i2"]);
}

pub fn bad_json_filters_are_invalid_input(db: &DataFlow) {
    seed(db, &corpus());
    let invalid = |f: Filter<Issue>, what: &str| {
        let r = Issue::list(db).filter(f).all();
        assert!(
            matches!(&r, Err(Error::InvalidInput(m)) if m.contains("profile") || m.contains("labels")),
            "{what}: {r:?}"
        );
    };
    invalid(Issue::PROFILE.path("a\"b").eq(1), "quote in a key");
    invalid(Issue::PROFILE.path("").eq(1), "empty path");
    invalid(Issue::PROFILE.path("a..b").eq(1), "empty segment");
    invalid(Issue::PROFILE.path("a").eq(json!([1])), "array operand");
    invalid(Issue::PROFILE.path("a").gt(true), "ordered boolean");
    invalid(Issue::PROFILE.path("a").lt(json!(null)), "ordered null");
    invalid(
        Issue::LABELS.contains(json!([u64::MAX])),
        "a number SQLite reads inexactly",
    );
    // The untyped layer refuses JSON tests of a column that is not JSON.
    let r = Records::of(db, "issues")
        .unwrap()
        .select(dataflow_core::Select::filtered(Expr::JsonContains {
            column: "title",
            value: json!("x"),
        }));
    assert!(
        matches!(&r, Err(Error::InvalidInput(m)) if m.contains("not JSON")),
        "{r:?}"
    );
    // Keys and values with SQL in them are values.
    let hostile = json!({"'); DROP TABLE issues; --": "x\" OR 1=1"});
    assert!(titles(db, Issue::PROFILE.contains(hostile)).is_empty());
    assert!(titles(db, Issue::PROFILE.path("'); DROP TABLE issues; --").eq("x")).is_empty());
    assert_eq!(Issue::list(db).count().unwrap(), corpus().len() as i64);
}

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn scalar(&mut self) -> Json {
        match self.below(7) {
            0 => json!(self.below(4) as i64 - 1),
            1 => json!(self.below(4) as f64 / 2.0),
            2 => json!(["a", "b", "A", ""][self.below(4) as usize]),
            3 => json!(self.below(2) == 0),
            4 => Json::Null,
            5 => json!(self.below(3)),
            _ => json!("b"),
        }
    }
    fn doc(&mut self, depth: u32) -> Json {
        if depth == 0 || self.below(3) == 0 {
            return self.scalar();
        }
        let n = self.below(4);
        if self.below(2) == 0 {
            Json::Array((0..n).map(|_| self.doc(depth - 1)).collect())
        } else {
            let keys = ["a", "b", "c"];
            Json::Object(
                (0..n)
                    .map(|_| (keys[self.below(3) as usize].to_owned(), self.doc(depth - 1)))
                    .collect(),
            )
        }
    }
    /// A template that is often contained: a part of `doc`, or something random.
    fn template(&mut self, doc: &Json) -> Json {
        match (self.below(3), doc) {
            (0, _) => self.doc(2),
            (_, Json::Array(items)) if !items.is_empty() => {
                let pick = items[self.below(items.len() as u64) as usize].clone();
                if self.below(2) == 0 {
                    json!([self.template(&pick)])
                } else {
                    pick
                }
            }
            (_, Json::Object(map)) if !map.is_empty() => {
                let (k, v) = map
                    .iter()
                    .nth(self.below(map.len() as u64) as usize)
                    .unwrap();
                let mut out = serde_json::Map::new();
                out.insert(k.clone(), self.template(v));
                Json::Object(out)
            }
            _ => doc.clone(),
        }
    }
}

pub fn random_documents_match_the_reference(db: &DataFlow) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let docs: Vec<(Json, Option<Json>)> = (0..40)
        .map(|_| {
            let labels = rng.doc(3);
            let profile = (rng.below(5) > 0).then(|| rng.doc(3));
            (labels, profile)
        })
        .collect();
    let rows = seed(db, &docs);
    for round in 0..60 {
        let source = &docs[rng.below(docs.len() as u64) as usize].0;
        let t = rng.template(source);
        let got = titles(db, Issue::LABELS.contains(t.clone()));
        let want = expected(&rows, |i| Some(contains(&i.labels, &t)));
        assert_eq!(got, want, "round {round}: LABELS @> {t}");
        let got = titles(db, !Issue::PROFILE.contains(t.clone()));
        let want = expected(&rows, |i| i.profile.as_ref().map(|p| !contains(p, &t)));
        assert_eq!(got, want, "round {round}: NOT PROFILE @> {t}");
        // A path into the profile, compared with a scalar of some kind.
        let path = ["a", "b", "a.b", "b.0", "0", "a.a", "c.1.b"][rng.below(7) as usize];
        let value = match rng.scalar() {
            Json::Bool(_) | Json::Null => json!("a"),
            v => v,
        };
        let op = [CmpOp::Eq, CmpOp::Ne, CmpOp::Gt, CmpOp::Le][rng.below(4) as usize];
        let at = Issue::PROFILE.path(path);
        let f = match op {
            CmpOp::Eq => at.eq(value.clone()),
            CmpOp::Ne => at.ne(value.clone()),
            CmpOp::Gt => at.gt(value.clone()),
            _ => at.le(value.clone()),
        };
        let segments = parse_path(path).unwrap();
        let want = expected(&rows, |i| {
            i.profile
                .as_ref()
                .map(|p| path_matches(p, &segments, op, &value))
        });
        assert_eq!(titles(db, f), want, "round {round}: {path} {op:?} {value}");
    }
}
