//! Enum fields (`#[derive(ModelEnum)]`): stored as text under a check of the
//! allowed values on every backend, compared with enum values only, taken by
//! nodes and fixtures as their stored names, and migrated value by value:
//! adding is SAFE, removing is judged on the rows holding the value, a hinted
//! rename rewrites rows, and each is undone by rollback.

use dataflow_core::prelude::*;
use dataflow_core::{LogicalType, Records};
use serde_json::{json, Value as Json};

use crate::assert_invalid as invalid;
use crate::backends::TestBackend;
use crate::migrate::{next, opted_in, start};
use crate::models::{Priority, Status, Ticket, TicketPatch};

/// The stored text of every row's `column` in table `evo_enum`, by key.
fn stored(db: &DataFlow, column: &str) -> Vec<Option<String>> {
    let sql = format!("SELECT {column} FROM evo_enum ORDER BY id");
    let mut out = Vec::new();
    db.with_conn(|c| {
        c.query(&sql, &[], &[LogicalType::Text], &mut |row| {
            out.push(match std::mem::take(&mut row[0]) {
                Value::Text(t) => Some(t),
                _ => None,
            });
            Ok(())
        })
    })
    .unwrap();
    out
}

pub fn crud_round_trips_enum_values(db: &DataFlow) {
    let a = Ticket::create(
        db,
        Ticket::new("a", Status::InProgress, Some(Priority::High)),
    )
    .unwrap();
    let b = Ticket::create(db, Ticket::new("b", Status::Closed, None)).unwrap();
    assert_eq!(Ticket::read(db, a.id).unwrap().unwrap(), a);
    assert_eq!(a.status, Status::InProgress);
    assert_eq!(b.priority, None);
    let patched = Ticket::update(
        db,
        b.id,
        TicketPatch {
            status: Some(Status::Open),
            priority: Some(Some(Priority::Low)),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        (patched.status, patched.priority),
        (Status::Open, Some(Priority::Low))
    );
    // Stored under their stored names, which the database's check allows.
    let rows = Records::new(db, Ticket::DESCRIPTOR)
        .get(Value::I64(a.id))
        .unwrap()
        .unwrap();
    assert_eq!(rows[2], Value::Text("in-progress".into()));
    // The untyped layer refuses other text before writing, naming the values.
    invalid(
        Records::new(db, Ticket::DESCRIPTOR).update(
            Value::I64(a.id),
            vec![(2, Value::Text("In Progress".into()))],
        ),
        &[
            "Ticket.status",
            "\"In Progress\"",
            "\"open\", \"in-progress\", \"closed\"",
        ],
    );
    // The check holds even for SQL that goes around dataflow.
    let bypass = db.with_conn(|c| c.execute("UPDATE tickets SET status = 'reopened'", &[]));
    assert!(bypass.is_err(), "{bypass:?}");
    assert_eq!(
        Ticket::read(db, a.id).unwrap().unwrap().status,
        Status::InProgress
    );
    let all = Ticket::list(db)
        .order_by(Ticket::TITLE.asc())
        .all()
        .unwrap();
    assert_eq!(all.len(), 2);
}

pub fn filters_compare_enum_values(db: &DataFlow) {
    for (t, s, p) in [
        ("a", Status::Open, None),
        ("b", Status::Open, Some(Priority::High)),
        ("c", Status::InProgress, Some(Priority::Low)),
        ("d", Status::Closed, Some(Priority::High)),
    ] {
        Ticket::create(db, Ticket::new(t, s, p)).unwrap();
    }
    let titles = |f: Filter<Ticket>| -> Vec<String> {
        Ticket::list(db)
            .filter(f)
            .order_by(Ticket::TITLE.asc())
            .all()
            .unwrap()
            .into_iter()
            .map(|t| t.title)
            .collect()
    };
    assert_eq!(titles(Ticket::STATUS.eq(Status::Open)), ["a", "b"]);
    assert_eq!(titles(Ticket::STATUS.ne(Status::Open)), ["c", "d"]);
    assert_eq!(
        titles(Ticket::STATUS.is_in([Status::InProgress, Status::Closed])),
        ["c", "d"]
    );
    assert_eq!(
        titles(Ticket::STATUS.not_in([&Status::Closed])),
        ["a", "b", "c"]
    );
    assert_eq!(titles(Ticket::PRIORITY.eq(Priority::High)), ["b", "d"]);
    assert_eq!(titles(Ticket::PRIORITY.is_null()), ["a"]);
    assert_eq!(
        titles(
            Ticket::STATUS
                .eq(Status::Open)
                .and(Ticket::PRIORITY.is_not_null())
        ),
        ["b"]
    );
    assert_eq!(
        Ticket::list(db)
            .filter(Ticket::STATUS.eq(Status::Open))
            .count()
            .unwrap(),
        2
    );
    let closed = Ticket::bulk_update(
        db,
        Ticket::PRIORITY.eq(Priority::High),
        TicketPatch {
            status: Some(Status::Closed),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(closed, 2);
    assert_eq!(titles(Ticket::STATUS.eq(Status::Closed)), ["b", "d"]);
}

pub fn nodes_and_fixtures_take_stored_names(db: &DataFlow) {
    let run = |node: &str, params: Json| db.node(node)?.run(params);
    let created = run(
        "TicketCreateNode",
        json!({"title": "n", "status": "in-progress", "priority": null}),
    )
    .unwrap();
    assert_eq!(created["status"], json!("in-progress"));
    // The default applies when the field is left out.
    let defaulted = run("TicketCreateNode", json!({"title": "m"})).unwrap();
    assert_eq!(defaulted["status"], json!("open"));
    invalid(
        run(
            "TicketCreateNode",
            json!({"title": "x", "status": "InProgress"}),
        ),
        &[
            "status",
            "\"open\", \"in-progress\", \"closed\"",
            "InProgress",
        ],
    );
    invalid(
        run(
            "TicketListNode",
            json!({"filter": {"status": {"$in": ["open", "nope"]}}}),
        ),
        &[
            "filter.status",
            "[1]",
            "\"nope\"",
            "\"open\", \"in-progress\", \"closed\"",
        ],
    );
    invalid(
        run(
            "TicketListNode",
            json!({"filter": {"status": {"$like": "op%"}}}),
        ),
        &["$like", "Status (enum)"],
    );
    let listed = run(
        "TicketListNode",
        json!({"filter": {"status": {"$ne": "open"}, "priority": {"$null": true}}}),
    )
    .unwrap();
    assert_eq!(listed["count"], json!(1));
    assert_eq!(listed["records"][0]["title"], json!("n"));
    assert_eq!(Ticket::list(db).count().unwrap(), 2);

    let d = db.node("TicketCreateNode").unwrap().describe();
    assert_eq!(
        d["parameters"]["properties"]["status"],
        json!({"type": "string", "enum": ["open", "in-progress", "closed"]})
    );
    assert_eq!(
        d["parameters"]["properties"]["priority"]["anyOf"][0]["enum"],
        json!(["low", "high"])
    );

    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    std::fs::write(
        &good,
        r#"{"tickets": [{"id": 50, "title": "f", "status": "closed", "priority": "low"}]}"#,
    )
    .unwrap();
    assert_eq!(dataflow_core::testing::load_fixtures(db, &good).unwrap(), 1);
    assert_eq!(
        Ticket::read(db, 50).unwrap().unwrap().priority,
        Some(Priority::Low)
    );
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"tickets": [{"id": 51, "title": "g", "status": "open"}, {"id": 52, "title": "h", "status": "Done"}]}"#,
    )
    .unwrap();
    invalid(
        dataflow_core::testing::load_fixtures(db, &bad),
        &[
            "bad.json",
            "tickets",
            "1",
            "status",
            "\"Done\"",
            "\"open\", \"in-progress\", \"closed\"",
        ],
    );
    assert_eq!(Ticket::list(db).count().unwrap(), 3, "nothing of bad.json");
}

/// A model of table `evo_enum` whose `state` is the enum `State` with
/// these variants, in a module of its own.
macro_rules! evo {
    ($module:ident: $($(#[$attr:meta])* $variant:ident),* $(,)?) => {
        // Each scenario uses only some of the generated items.
        #[allow(dead_code)]
        mod $module {
            use dataflow_core::prelude::*;

            #[derive(ModelEnum, Debug, Clone, Copy, PartialEq, Eq)]
            pub enum State {
                $($(#[$attr])* $variant),*
            }

            #[derive(Model, Debug, Clone, PartialEq)]
            #[dataflow(table = "evo_enum")]
            pub struct Item {
                pub id: i64,
                pub state: State,
            }

            pub fn rows(states: &[State]) -> Vec<Item> {
                states.iter().map(|s| Item { id: 0, state: *s }).collect()
            }
        }
    };
}

evo!(v1: Open, Done, Wontfix);
// `v1` with a value added.
evo!(added: Open, Done, Wontfix, Blocked);
// `v1` without `wontfix`.
evo!(removed: Open, Done);
// `v1` with `done` renamed to `closed`.
evo!(renamed: Open, #[dataflow(renamed_from = "done")] Closed, Wontfix);

pub fn adding_a_value_is_safe_and_rolls_back(db: &TestBackend) {
    use v1::State::*;
    let old = start(db, &v1::rows(&[Open, Done]));
    let h = next::<added::Item>(db);
    let r = h.auto_migrate(MigrateOptions::default()).unwrap();
    assert!(r.applied, "{}", r.preview());
    assert_eq!(r.steps.len(), 1, "{}", r.preview());
    assert_eq!(r.steps[0].operation, Operation::AlterColumn);
    assert_eq!(r.steps[0].risk, RiskLevel::Safe, "{}", r.steps[0].reason);
    assert!(
        r.steps[0].reason.contains("\"blocked\""),
        "{}",
        r.steps[0].reason
    );
    h.check().unwrap();
    let b = added::Item::create(
        &h,
        added::Item {
            id: 0,
            state: added::State::Blocked,
        },
    )
    .unwrap();
    // Undoing it removes the value: refused while a row holds it.
    let plan = h
        .rollback_last_with(MigrateOptions::default().dry_run(true))
        .unwrap();
    let why = plan.steps[0].blocked.as_deref().unwrap_or_default();
    assert!(
        why.contains("1 rows") && why.contains("\"blocked\""),
        "{}",
        plan.preview()
    );
    added::Item::delete(&h, b.id).unwrap();
    h.rollback_last_with(opted_in(RiskLevel::Medium)).unwrap();
    old.check().unwrap();
    assert_eq!(
        stored(&old, "state"),
        [Some("open".into()), Some("done".into())]
    );
    // The old check is back.
    let bypass = old.with_conn(|c| c.execute("UPDATE evo_enum SET state = 'blocked'", &[]));
    assert!(bypass.is_err());
}

pub fn removing_a_value_rows_hold_is_blocked_with_their_count(db: &TestBackend) {
    use v1::State::*;
    start(db, &v1::rows(&[Wontfix, Open, Wontfix, Done, Wontfix]));
    let h = next::<removed::Item>(db);
    let plan = h.plan().unwrap();
    assert_eq!(plan.steps.len(), 1, "{}", plan.preview());
    let step = &plan.steps[0];
    assert_eq!(step.risk, RiskLevel::High);
    let why = step.blocked.as_deref().unwrap();
    assert!(
        why.contains("3 rows") && why.contains("evo_enum.state") && why.contains("\"wontfix\""),
        "{why}"
    );
    match h.auto_migrate(opted_in(RiskLevel::High)) {
        Err(Error::MigrationRefused { steps, .. }) => {
            assert!(steps[0].contains("BLOCKED"), "{steps:?}")
        }
        other => panic!("expected MigrationRefused, got {other:?}"),
    }
    assert_eq!(stored(&h, "state").len(), 5);
    assert!(h.check().is_err());
}

pub fn removing_an_unused_value_applies_and_rolls_back(db: &TestBackend) {
    use v1::State::*;
    let old = start(db, &v1::rows(&[Open, Done, Open]));
    let h = next::<removed::Item>(db);
    // MEDIUM: nothing changes, but a writer of the value now fails.
    match h.auto_migrate(MigrateOptions::default()) {
        Err(Error::MigrationRefused { .. }) => {}
        other => panic!("expected MigrationRefused, got {other:?}"),
    }
    let r = h.auto_migrate(opted_in(RiskLevel::Medium)).unwrap();
    assert_eq!(r.steps[0].risk, RiskLevel::Medium, "{}", r.steps[0].reason);
    assert!(
        r.steps[0].reason.contains("removes \"wontfix\""),
        "{}",
        r.steps[0].reason
    );
    assert!(r.steps[0].blocked.is_none());
    h.check().unwrap();
    assert_eq!(
        removed::Item::list(&h)
            .filter(removed::Item::STATE.eq(removed::State::Open))
            .count()
            .unwrap(),
        2
    );
    let bypass = h.with_conn(|c| c.execute("UPDATE evo_enum SET state = 'wontfix'", &[]));
    assert!(bypass.is_err());
    let back = h.rollback_last().unwrap();
    assert_eq!(back.steps[0].risk, RiskLevel::Safe, "{}", back.preview());
    old.check().unwrap();
    v1::Item::create(
        &old,
        v1::Item {
            id: 0,
            state: Wontfix,
        },
    )
    .unwrap();
    assert_eq!(v1::Item::list(&old).count().unwrap(), 4);
}

pub fn renaming_a_value_rewrites_rows_and_rollback_restores_them(db: &TestBackend) {
    use v1::State::*;
    let old = start(db, &v1::rows(&[Done, Open, Done, Wontfix]));
    let h = next::<renamed::Item>(db);
    let plan = h.plan().unwrap();
    assert_eq!(plan.steps.len(), 1, "{}", plan.preview());
    let step = &plan.steps[0];
    assert_eq!(step.risk, RiskLevel::Medium);
    assert!(step.blocked.is_none(), "{:?}", step.blocked);
    assert!(
        step.reason
            .contains("renames \"done\" to \"closed\": 2 rows are rewritten"),
        "{}",
        step.reason
    );
    h.auto_migrate(opted_in(RiskLevel::Medium)).unwrap();
    h.check().unwrap();
    assert_eq!(
        stored(&h, "state"),
        [
            Some("closed".into()),
            Some("open".into()),
            Some("closed".into()),
            Some("wontfix".into())
        ]
    );
    let closed = renamed::Item::list(&h)
        .filter(renamed::Item::STATE.eq(renamed::State::Closed))
        .count()
        .unwrap();
    assert_eq!(closed, 2);
    // Nothing more to do: the hint was carried out.
    assert!(h.plan().unwrap().steps.is_empty());
    renamed::Item::create(
        &h,
        renamed::Item {
            id: 0,
            state: renamed::State::Closed,
        },
    )
    .unwrap();
    h.rollback_last_with(opted_in(RiskLevel::Medium)).unwrap();
    old.check().unwrap();
    assert_eq!(
        v1::Item::list(&old)
            .order_by(v1::Item::ID.asc())
            .all()
            .unwrap()
            .into_iter()
            .map(|i| i.state)
            .collect::<Vec<_>>(),
        [Done, Open, Done, Wontfix, Done]
    );
}

pub fn a_text_column_becomes_an_enum_once_its_rows_fit(db: &TestBackend) {
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo_enum")]
    struct Text {
        id: i64,
        state: String,
    }
    let rows: Vec<Text> = ["open", "done", "maybe"]
        .iter()
        .map(|s| Text {
            id: 0,
            state: (*s).into(),
        })
        .collect();
    let old = start(db, &rows);
    let h = next::<v1::Item>(db);
    let plan = h.plan().unwrap();
    let why = plan.steps[0].blocked.as_deref().unwrap_or_default();
    assert!(
        why.contains("1 rows") && why.contains("values outside"),
        "{}",
        plan.preview()
    );
    Text::bulk_delete(&old, Text::STATE.eq("maybe")).unwrap();
    let r = h.auto_migrate(opted_in(RiskLevel::Medium)).unwrap();
    assert_eq!(r.steps[0].risk, RiskLevel::Medium, "{}", r.steps[0].reason);
    h.check().unwrap();
    assert_eq!(
        v1::Item::list(&h)
            .all()
            .unwrap()
            .iter()
            .map(|i| i.state)
            .collect::<Vec<_>>(),
        [v1::State::Open, v1::State::Done]
    );
    // Back to plain text: SAFE, any text fits again.
    let back = h.rollback_last().unwrap();
    assert_eq!(back.steps[0].risk, RiskLevel::Safe, "{}", back.preview());
    Text::create(
        &old,
        Text {
            id: 0,
            state: "anything".into(),
        },
    )
    .unwrap();
}

pub fn renaming_an_enum_column_keeps_its_check(db: &TestBackend) {
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo_enum")]
    struct Moved {
        id: i64,
        #[dataflow(renamed_from = "state")]
        status: v1::State,
    }
    start(db, &v1::rows(&[v1::State::Done]));
    let h = next::<Moved>(db);
    let r = h.auto_migrate(opted_in(RiskLevel::Medium)).unwrap();
    assert_eq!(r.steps.len(), 1, "{}", r.preview());
    assert_eq!(r.steps[0].operation, Operation::RenameColumn);
    h.check().unwrap();
    let bypass = h.with_conn(|c| c.execute("UPDATE evo_enum SET status = 'other'", &[]));
    assert!(bypass.is_err());
    assert_eq!(Moved::list(&h).all().unwrap()[0].status, v1::State::Done);
}
