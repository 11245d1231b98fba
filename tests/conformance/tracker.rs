//! The issue tracker of the README on every backend: soft delete round trips,
//! one builder for a page and its total, rows created from drafts.

use dataflow_core::prelude::*;
use dataflow_core::Records;

use crate::TestBackend;

use crate::aggregates::{issue, project};
use crate::models::{Issue, IssueDraft, User};

pub fn restore_brings_back_a_deleted_row(db: &DataFlow) {
    let p = project(db, "p");
    let kept = Issue::create(db, issue(db, p, "kept")).unwrap();
    let gone = Issue::create(db, issue(db, p, "gone")).unwrap();
    Issue::delete(db, gone.id).unwrap();
    let trash = Issue::list(db).only_deleted().all().unwrap();
    assert_eq!(trash.len(), 1);
    assert_eq!(trash[0].id, gone.id);
    assert!(trash[0].deleted_at.is_some());
    assert_eq!(Issue::list(db).only_deleted().count().unwrap(), 1);
    assert_eq!(
        Issue::list(db)
            .only_deleted()
            .filter(Issue::TITLE.eq("kept"))
            .count()
            .unwrap(),
        0
    );

    let back = Issue::restore(db, gone.id).unwrap();
    assert_eq!(back.id, gone.id);
    assert_eq!(back.title, "gone");
    assert_eq!(back.deleted_at, None);
    assert!(back.updated_at >= gone.updated_at);
    assert_eq!(back.created_at, gone.created_at);
    assert_eq!(Issue::read(db, gone.id).unwrap(), Some(back));
    assert_eq!(Issue::list(db).only_deleted().count().unwrap(), 0);
    assert_eq!(Issue::list(db).count().unwrap(), 2);

    // Not deleted, or missing: NotFound naming the model and key; nothing changes.
    for key in [kept.id, gone.id, 9_999] {
        match Issue::restore(db, key) {
            Err(Error::NotFound { model, key: k }) => {
                assert_eq!(model, "Issue");
                assert!(k.contains(&key.to_string()), "{k}");
            }
            other => panic!("restore of {key}: {other:?}"),
        }
    }
    assert_eq!(
        Issue::read(db, kept.id).unwrap().unwrap().updated_at,
        kept.updated_at
    );
    // A hard-deleted row cannot come back.
    Issue::delete(db, kept.id).unwrap();
    Issue::hard_delete(db, kept.id).unwrap();
    assert!(matches!(
        Issue::restore(db, kept.id),
        Err(Error::NotFound { .. })
    ));
    // The untyped layer: the same, by value.
    let issues = Records::of(db, "issues").unwrap();
    issues.delete(Value::I64(gone.id)).unwrap();
    let row = issues.restore(Value::I64(gone.id)).unwrap();
    assert_eq!(row[0], Value::I64(gone.id));
    assert!(matches!(
        Records::of(db, "users").unwrap().restore(Value::I64(1)),
        Err(Error::InvalidInput(m)) if m.contains("soft_delete")
    ));
}

pub fn only_deleted_needs_soft_delete(db: &DataFlow) {
    let r = User::list(db).only_deleted().all();
    assert!(
        matches!(&r, Err(Error::InvalidInput(m)) if m.contains("User") && m.contains("soft_delete")),
        "{r:?}"
    );
}

pub fn one_builder_gives_a_page_and_its_total(db: &DataFlow) {
    let p = project(db, "p");
    for i in 0..7 {
        Issue::create(
            db,
            IssueDraft {
                estimate: Some(i),
                ..issue(db, p, &format!("t{i}"))
            },
        )
        .unwrap();
    }
    let q = Issue::list(db)
        .filter(Issue::ESTIMATE.ge(2))
        .order_by(Issue::ESTIMATE.desc());
    let total: i64 = q.clone().count().unwrap();
    let page = q.clone().limit(2).offset(1).all().unwrap();
    assert_eq!(total, 5);
    let est: Vec<Option<i32>> = page.iter().map(|i| i.estimate).collect();
    assert_eq!(est, [Some(5), Some(4)]);
    // The window is the type of the count: a total can be fed back as an offset.
    assert!(q.clone().offset(total).all().unwrap().is_empty());
    for bad in [q.clone().limit(-1), q.clone().offset(-3)] {
        let r = bad.all();
        assert!(
            matches!(&r, Err(Error::InvalidInput(m)) if m.contains("negative")),
            "{r:?}"
        );
    }
}

pub fn drafts_leave_keys_and_timestamps_to_create(db: &DataFlow) {
    let p = project(db, "p");
    let before = chrono::Utc::now() - chrono::Duration::seconds(5);
    let stored = Issue::create(db, issue(db, p, "draft")).unwrap();
    assert!(stored.id > 0);
    assert!(stored.created_at > before, "{:?}", stored.created_at);
    assert_eq!(stored.created_at, stored.updated_at);
    assert_eq!(stored.deleted_at, None);
    assert_eq!(Issue::read(db, stored.id).unwrap(), Some(stored));
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "named_probe")]
struct NamedProbe {
    id: i64,
    label: String,
}

pub fn a_migration_can_be_named(db: &TestBackend) {
    let h = db.reopen();
    h.register::<NamedProbe>().unwrap();
    for bad in ["", "   ", "line\nbreak", &"x".repeat(201)] {
        let r = h.auto_migrate(MigrateOptions::default().name(bad));
        assert!(
            matches!(&r, Err(Error::InvalidInput(m)) if m.contains("migration name")),
            "{bad:?}: {r:?}"
        );
    }
    assert!(h.check().is_err(), "a refused name applies nothing");
    let report = h
        .auto_migrate(MigrateOptions::default().name("add_probe"))
        .unwrap();
    assert!(report.applied);
    let history = h.migration_history().unwrap();
    let last = history.last().unwrap();
    assert_eq!(last.name, "add_probe");
    assert_eq!(Some(&last.version), report.version.as_ref());
    // Unnamed migrations keep the summary of their steps.
    assert!(history[..history.len() - 1]
        .iter()
        .all(|r| r.name != "add_probe"));
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "milestone_tasks")]
#[dataflow(foreign_key(field = "milestone_id", references = "milestones(id)"))]
struct MilestoneTask {
    id: i64,
    milestone_id: i64,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "project_notes")]
#[dataflow(foreign_key(field = "project_id", references = "projects(id)"))]
struct ProjectNote {
    id: i64,
    project_id: i64,
}

pub fn a_foreign_key_to_a_table_nobody_declares_is_refused_naming_both(db: &TestBackend) {
    let h = db.reopen();
    h.register::<MilestoneTask>().unwrap();
    for options in [
        MigrateOptions::default().dry_run(true),
        MigrateOptions::default(),
    ] {
        let r = h.auto_migrate(options);
        assert!(
            matches!(&r, Err(Error::InvalidInput(m))
                if m.contains("MilestoneTask") && m.contains("milestone_id") && m.contains("milestones")),
            "{r:?}"
        );
    }
    assert!(
        h.check().is_err(),
        "nothing was created: milestone_tasks is still missing"
    );
    // A table the database has is enough, registered or not.
    let h = db.reopen();
    h.register::<ProjectNote>().unwrap();
    assert!(h.auto_migrate(MigrateOptions::default()).unwrap().applied);
}

pub fn foreign_key_violations_name_the_table_and_the_key(db: &DataFlow) {
    let p = project(db, "p");
    let orphan = Issue::create(db, issue(db, 9_999, "orphan"));
    match orphan {
        Err(Error::ForeignKeyViolation { message }) => {
            assert!(message.contains("issues"), "{message}");
            assert!(message.contains("project_id"), "{message}");
            assert!(message.contains("projects"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(Issue::list(db).with_deleted().count().unwrap(), 0);
    let _ = p;
}
