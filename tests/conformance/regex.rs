//! Regular-expression filters (`$regex`, `Column::regex`): one meaning on
//! every backend. Each backend's rows are compared with
//! [`PortableRegex`] run in Rust over the same texts, so SQLite and
//! PostgreSQL agree with each other through it. Patterns outside the portable
//! subset are refused by path before any SQL runs.

use dataflow_core::prelude::*;
use dataflow_core::query::regex::{check_regex, PortableRegex, MAX_REGEX_BYTES};
use dataflow_core::{Expr, Records};
use serde_json::{json, Value as Json};

use crate::assert_invalid as invalid;
use crate::models::User;
use crate::nodes::Rng;

/// Texts chosen to tell patterns apart: case, punctuation that is special in
/// patterns, LIKE wildcards, non-ASCII letters, characters beyond the BMP,
/// newlines and tabs, the two non-ASCII characters Unicode folds onto ASCII
/// letters, and the empty text.
const NAMES: &[&str] = &[
    "Ann",
    "ann",
    "ANN",
    "Bob",
    "Al_x",
    "a.b",
    "a*b",
    "a\\b",
    "50%",
    "x/y",
    "[br]",
    "dash-ed",
    "Émile",
    "émile",
    "日本語",
    "😀 smile",
    "line1\nline2",
    "tab\there",
    "",
    "Kelvin \u{212A}",
    "long \u{017F}",
    "aaa",
    "abab",
    "Zed 42",
    "  spaced  ",
];

/// Anchors, classes, alternation, quantifiers (greedy and lazy), groups,
/// escapes, Unicode, newlines.
const PATTERNS: &[&str] = &[
    "",
    "^A",
    "^a",
    "n$",
    "^Ann$",
    "nn",
    "^$",
    ".",
    "^.$",
    "^.{3}$",
    "a.b",
    "a\\.b",
    "a\\*b",
    "a\\\\b",
    "x/y",
    "x\\/y",
    "\\[br\\]",
    "[br]",
    "[^a-z]",
    "^[^a-z]",
    "^[A-Z][a-z]+$",
    "[0-9]+",
    "[0-9]{2}",
    "(ab)+$",
    "^(ab){2}$",
    "a{3}",
    "a{2,}",
    "^a{1,2}$",
    "Ann|Bob",
    "^(Ann|Bob)$",
    "^(?:a|b)",
    "|x",
    "e-",
    "[-a]b",
    "[a-]",
    "\\-",
    "Émile",
    "^[ÉE]",
    "[à-ÿ]",
    "日本",
    "[日本]",
    "😀",
    "^.😀",
    "^.{2}smile",
    "line1.line2",
    "line1$",
    "^line2",
    "\\n",
    "\\t",
    "[\\n\\t]",
    "a*?b",
    "a+?",
    "b??a",
    "%",
    "_",
    "\\%",
    "\u{212A}",
    " $",
    "^ ",
    "[]a]",
    "()",
    "(a*)*b",
];

/// Patterns compared ignoring ASCII case.
const CASELESS: &[&str] = &[
    "^ann$",
    "^A",
    "[a-z]+$",
    "k",
    "kelvin k$",
    "s$",
    "^[^k]+$",
    "E",
    "^[^a-z]",
    "[A-Z]{3}",
    "BOB|zed",
];

fn seed(db: &DataFlow) {
    for (i, name) in NAMES.iter().enumerate() {
        User::create(db, User::new(name, &format!("u{i}@x"), Some(i as i32))).unwrap();
    }
}

/// The names the pattern selects, by [`PortableRegex`] in Rust.
fn oracle(pattern: &str, case_insensitive: bool) -> Vec<String> {
    let re = PortableRegex::new(pattern, case_insensitive)
        .unwrap_or_else(|e| panic!("{pattern:?} refused: {e}"));
    let mut names: Vec<String> = NAMES
        .iter()
        .filter(|n| re.is_match(n))
        .map(|n| n.to_string())
        .collect();
    names.sort();
    names
}

fn node_names(db: &DataFlow, filter: Json) -> Result<Vec<String>> {
    let out = db.node("UserListNode")?.run(json!({ "filter": filter }))?;
    let mut names: Vec<String> = out["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    Ok(names)
}

fn typed_names(db: &DataFlow, filter: Filter<User>) -> Result<Vec<String>> {
    let mut names: Vec<String> = User::list(db)
        .filter(filter)
        .all()?
        .into_iter()
        .map(|u| u.name)
        .collect();
    names.sort();
    Ok(names)
}

fn complement(names: &[String]) -> Vec<String> {
    let mut rest: Vec<String> = NAMES
        .iter()
        .map(|n| n.to_string())
        .filter(|n| !names.contains(n))
        .collect();
    rest.sort();
    rest
}

pub fn regex_corpus_selects_the_same_rows_everywhere(db: &DataFlow) {
    seed(db);
    let mut distinct = std::collections::BTreeSet::new();
    let cases = PATTERNS
        .iter()
        .map(|p| (*p, false))
        .chain(CASELESS.iter().map(|p| (*p, true)));
    for (pattern, ci) in cases {
        let want = oracle(pattern, ci);
        let (json_filter, typed) = if ci {
            (
                json!({"name": {"$regex": pattern, "$options": "i"}}),
                User::NAME.regex_ignore_case(pattern),
            )
        } else {
            (
                json!({"name": {"$regex": pattern}}),
                User::NAME.regex(pattern),
            )
        };
        assert_eq!(
            node_names(db, json_filter.clone()).unwrap(),
            want,
            "node {json_filter}"
        );
        assert_eq!(
            typed_names(db, typed.clone()).unwrap(),
            want,
            "typed {pattern:?} ci={ci}"
        );
        assert_eq!(
            typed_names(db, typed.not()).unwrap(),
            complement(&want),
            "not {pattern:?} ci={ci}"
        );
        distinct.insert(want);
    }
    // The corpus tells the texts apart rather than matching all or nothing.
    assert!(distinct.len() >= 40, "{} distinct results", distinct.len());
    // Combined with other operators, in one query.
    let both = node_names(
        db,
        json!({"$or": [{"name": {"$regex": "^A"}}, {"age": {"$lt": 2}}], "email": {"$regex": "@x$"}}),
    )
    .unwrap();
    assert_eq!(both, ["ANN", "Al_x", "Ann", "ann"]);
    // `$not` under the field.
    let none = node_names(db, json!({"name": {"$not": {"$regex": "^$"}}})).unwrap();
    assert_eq!(none.len(), NAMES.len() - 1);
}

pub fn regex_outside_the_subset_is_refused_by_path(db: &DataFlow) {
    seed(db);
    let refused = [
        "(a)\\1",
        "a(?=b)",
        "(?<=a)b",
        "\\d",
        "\\w+",
        "\\s",
        "\\bAnn",
        "[[:alpha:]]",
        "\\pL",
        "\\x41",
        "(?i)ann",
        "(?P<n>a)",
        "[a[b]]",
        "[a&&b]",
        "a**",
        "^*",
        "a{256}",
        "(",
        "[a",
        "a{",
        "\\",
        "nul\u{0}byte",
    ];
    for p in refused {
        invalid(
            node_names(db, json!({"name": {"$regex": p}})),
            &["filter.name.$regex"],
        );
        invalid(typed_names(db, User::NAME.regex(p)), &["name"]);
    }
    // Huge patterns are refused by their length, at once.
    for len in [MAX_REGEX_BYTES + 1, 1 << 20] {
        let p = "a".repeat(len);
        invalid(
            node_names(db, json!({"name": {"$regex": p}})),
            &["filter.name.$regex", "longer than"],
        );
    }
    // A pattern within the length that unrolls too far.
    invalid(
        node_names(db, json!({"name": {"$regex": "((ab){200}){200}"}})),
        &["filter.name.$regex", "unrolled"],
    );
    invalid(
        node_names(db, json!({"age": {"$regex": "1"}})),
        &["filter.age.$regex", "does not apply"],
    );
    invalid(
        node_names(db, json!({"is_active": {"$regex": "t"}})),
        &["filter.is_active.$regex"],
    );
    invalid(
        node_names(db, json!({"profile": {"$regex": "a"}})),
        &["filter.profile.$regex"],
    );
    invalid(
        node_names(db, json!({"name": {"$regex": "a", "$options": "x"}})),
        &["filter.name.$options"],
    );
    invalid(
        node_names(db, json!({"name": {"$regex": "É", "$options": "i"}})),
        &["filter.name.$regex", "ASCII"],
    );
    // The untyped layer refuses a regular expression on a column that is not text.
    let users = Records::of(db, "users").unwrap();
    invalid(
        users.count(
            Expr::Regex {
                column: "age",
                pattern: "1".into(),
                case_insensitive: false,
            },
            false,
        ),
        &["age", "text columns only"],
    );
    // Nothing written by a bulk write whose filter is refused.
    invalid(
        db.node("UserBulkDeleteNode")
            .unwrap()
            .run(json!({"filter": {"name": {"$regex": "(a)\\1"}}, "confirmed": true})),
        &["filter.name.$regex"],
    );
    assert_eq!(User::list(db).count().unwrap(), NAMES.len() as i64);
}

fn pick<'a>(rng: &mut Rng, from: &[&'a str]) -> &'a str {
    from[rng.below(from.len())]
}

/// A random pattern of the portable subset.
fn random_pattern(rng: &mut Rng, depth: usize) -> String {
    const ATOMS: &[&str] = &[
        "a", "n", "A", "b", "e", ".", "\\.", " ", "é", "日", "\\n", "_", "%", "-", "\\*", "k",
    ];
    const CLASSES: &[&str] = &[
        "[ab]", "[^a-z]", "[a-z]", "[A-Z0-9]", "[-.]", "[éÉ]", "[^n]", "[\\n\\t]", "[]b]",
    ];
    const QUANTIFIERS: &[&str] = &[
        "", "", "", "*", "+", "?", "{2}", "{1,}", "{0,2}", "*?", "+?", "??",
    ];
    let pieces = 1 + rng.below(3);
    let mut out = String::new();
    for _ in 0..pieces {
        let atom = match rng.below(6) {
            0 if depth > 0 => {
                let alternatives: Vec<String> = (0..1 + rng.below(3))
                    .map(|_| random_pattern(rng, depth - 1))
                    .collect();
                let open = if rng.below(2) == 0 { "(" } else { "(?:" };
                format!("{open}{})", alternatives.join("|"))
            }
            1 => pick(rng, CLASSES).to_owned(),
            _ => pick(rng, ATOMS).to_owned(),
        };
        out.push_str(&atom);
        out.push_str(pick(rng, QUANTIFIERS));
    }
    if depth == 2 {
        if rng.below(3) == 0 {
            out.insert(0, '^');
        }
        if rng.below(3) == 0 {
            out.push('$');
        }
    }
    out
}

pub fn random_regexes_match_the_regex_crate(db: &DataFlow) {
    seed(db);
    let seed_value = 0x2545_F491_4F6C_DD1D_u64;
    let mut rng = Rng(seed_value);
    let mut distinct = std::collections::BTreeSet::new();
    for i in 0..120 {
        let pattern = random_pattern(&mut rng, 2);
        let ci = pattern.is_ascii() && rng.below(3) == 0;
        assert_eq!(
            check_regex(&pattern, ci),
            Ok(()),
            "generated outside the subset"
        );
        let mut filter = json!({"$regex": pattern});
        if ci {
            filter["$options"] = json!("i");
        }
        let want = oracle(&pattern, ci);
        let got = node_names(db, json!({ "name": filter })).unwrap();
        assert_eq!(
            got, want,
            "seed {seed_value:#x}, pattern {i}: {pattern:?} ci={ci}"
        );
        distinct.insert(want);
    }
    assert!(distinct.len() >= 30, "{} distinct results", distinct.len());
}
