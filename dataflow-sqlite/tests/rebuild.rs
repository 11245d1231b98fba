//! SQLite-only: a table rebuild (SQLite's procedure for changes `ALTER TABLE`
//! cannot make) keeps the triggers and views the user defined over the table;
//! several changes to one table that need it are one step that copies the
//! table once, and undoing that step copies it back once.

use dataflow_core::prelude::*;
use dataflow_core::{LogicalType, Value};

mod v1 {
    use dataflow_core::prelude::*;

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "acct")]
    pub struct Acct {
        pub id: i64,
        pub owner: String,
        pub bal: i64,
    }
}

mod v2 {
    use dataflow_core::prelude::*;

    /// `bal` becomes nullable: SAFE, and SQLite can only do it by a rebuild.
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "acct")]
    pub struct Acct {
        pub id: i64,
        pub owner: String,
        pub bal: Option<i64>,
    }
}

fn count(db: &DataFlow, sql: &str) -> i64 {
    db.with_conn(|c| {
        let mut n = 0;
        c.query(sql, &[], &[LogicalType::BigInt], &mut |row| {
            if let Value::I64(v) = row[0] {
                n = v;
            }
            Ok(())
        })?;
        Ok(n)
    })
    .unwrap()
}

fn exec(db: &DataFlow, sql: &str) {
    db.with_conn(|c| c.batch_execute(sql)).unwrap();
}

fn objects(db: &DataFlow) -> i64 {
    count(
        db,
        "SELECT count(*) FROM sqlite_master WHERE name IN ('acct_audit', 'log_touch', 'rich', 'rich_owners')",
    )
}

#[test]
fn rebuild_keeps_triggers_and_views_over_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let db = dataflow_sqlite::open(&path).unwrap();
    db.register::<v1::Acct>().unwrap();
    db.auto_migrate(MigrateOptions::default()).unwrap();
    exec(
        &db,
        "CREATE TABLE log (acct_id INTEGER);
         CREATE TRIGGER acct_audit AFTER INSERT ON acct BEGIN INSERT INTO log VALUES (new.id); END;
         CREATE TRIGGER log_touch AFTER INSERT ON log BEGIN UPDATE acct SET bal = bal WHERE 0; END;
         CREATE VIEW rich AS SELECT id, owner FROM acct WHERE bal > 100;
         CREATE VIEW rich_owners AS SELECT owner FROM rich;",
    );
    v1::Acct::create(
        &db,
        v1::Acct {
            id: 0,
            owner: "ann".into(),
            bal: 500,
        },
    )
    .unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM log"), 1);
    drop(db);

    let db = dataflow_sqlite::open(&path).unwrap();
    db.register::<v2::Acct>().unwrap();
    let report = db.auto_migrate(MigrateOptions::default()).unwrap();
    assert!(report.applied, "{}", report.preview());
    // A single change that needs the rebuild stays its own step, and says so.
    assert_eq!(report.steps[0].operation, Operation::AlterColumn);
    assert!(
        report.steps[0]
            .reason
            .contains("copies the table (SQLite cannot alter a column in place)"),
        "{}",
        report.steps[0].reason
    );
    assert_eq!(objects(&db), 4, "a trigger or view is gone");
    v2::Acct::create(
        &db,
        v2::Acct {
            id: 0,
            owner: "bob".into(),
            bal: Some(200),
        },
    )
    .unwrap();
    // The trigger still fires, and the views still read the table.
    assert_eq!(count(&db, "SELECT count(*) FROM log"), 2);
    assert_eq!(count(&db, "SELECT count(*) FROM rich_owners"), 2);
    db.check().unwrap();

    // Undoing the change rebuilds again, and keeps them too.
    db.rollback_last().unwrap();
    assert_eq!(
        objects(&db),
        4,
        "a trigger or view is gone after the rollback"
    );
    exec(&db, "INSERT INTO acct (owner, bal) VALUES ('cy', 1)");
    assert_eq!(count(&db, "SELECT count(*) FROM log"), 3);
}

mod items_v1 {
    use dataflow_core::prelude::*;

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "item")]
    pub struct Item {
        pub id: i64,
        #[dataflow(max_length = 40, index)]
        pub name: String,
        pub qty: i32,
        pub note: Option<String>,
    }
}

mod items_v2 {
    use dataflow_core::prelude::*;

    /// Three columns change, and SQLite alters none of them in place: `name`
    /// narrows (a longer value is cut), `qty` widens, `note` becomes NOT NULL
    /// (its NULLs take the default).
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "item")]
    pub struct Item {
        pub id: i64,
        #[dataflow(max_length = 10, index)]
        pub name: String,
        pub qty: i64,
        #[dataflow(default = "none")]
        pub note: String,
    }
}

fn risky() -> MigrateOptions {
    MigrateOptions::default()
        .auto_confirm(true)
        .max_risk(RiskLevel::High)
}

fn statements(sql: &[String], head: &str) -> usize {
    sql.iter().filter(|s| s.starts_with(head)).count()
}

/// The version in backup table names, which changes every run.
fn without_versions(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("_dataflow_backup_") {
        let (head, tail) = rest.split_at(at + "_dataflow_backup_".len());
        out.push_str(head);
        let digits = tail.chars().take_while(char::is_ascii_digit).count();
        out.push_str("<version>");
        rest = &tail[digits..];
    }
    out.push_str(rest);
    out
}

fn open_items(path: &std::path::Path) -> DataFlow {
    let db = dataflow_sqlite::open(path).unwrap();
    db.register::<items_v1::Item>().unwrap();
    db.auto_migrate(MigrateOptions::default()).unwrap();
    exec(
        &db,
        "INSERT INTO item (name, qty, note) VALUES ('a name longer than ten', 5, NULL);
         INSERT INTO item (name, qty, note) VALUES ('short', 7, 'kept');
         CREATE TABLE log (item_id INTEGER);
         CREATE TRIGGER item_audit AFTER INSERT ON item BEGIN INSERT INTO log VALUES (new.id); END;",
    );
    db
}

fn index_exists(db: &DataFlow) -> bool {
    count(
        db,
        "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'ix_item_name'",
    ) == 1
}

#[test]
fn altered_columns_of_one_table_copy_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("items.db");
    drop(open_items(&path));

    let db = dataflow_sqlite::open(&path).unwrap();
    db.register::<items_v2::Item>().unwrap();
    let plan = db.auto_migrate(risky().dry_run(true)).unwrap();
    assert_eq!(plan.steps.len(), 1, "{}", plan.preview());
    let step = &plan.steps[0];
    assert_eq!(step.operation, Operation::RebuildTable);
    assert_eq!(step.parts.len(), 3);
    assert!(step
        .parts
        .iter()
        .all(|p| p.operation == Operation::AlterColumn));
    // The risk of each part stays what it would be alone; the step's is the highest.
    assert_eq!(
        step.parts.iter().map(|p| p.risk).collect::<Vec<_>>(),
        vec![RiskLevel::High, RiskLevel::Safe, RiskLevel::Medium],
        "{}",
        plan.preview()
    );
    assert_eq!(step.risk, RiskLevel::High);
    assert!(step
        .reason
        .contains("SQLite cannot alter a column in place"));
    // One copy forward, one copy back.
    for sql in [&step.sql_up, &step.sql_down] {
        assert_eq!(statements(sql, "CREATE TABLE"), 1, "{sql:#?}");
        assert_eq!(statements(sql, "INSERT INTO \"_dataflow_new_item\""), 1);
        assert_eq!(statements(sql, "DROP TABLE \"item\""), 1);
    }
    // The narrowed and the filled column are kept for the rollback.
    assert_eq!(statements(&step.backup, "CREATE TABLE"), 2);
    insta::assert_snapshot!(without_versions(&plan.preview()));

    let report = db.auto_migrate(risky()).unwrap();
    assert!(report.applied);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM item WHERE name = 'a name lon' AND qty = 5 AND note = 'none'"
        ),
        1
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM item WHERE name = 'short' AND qty = 7 AND note = 'kept'"
        ),
        1
    );
    assert!(index_exists(&db), "the index is gone");
    exec(&db, "INSERT INTO item (name, qty) VALUES ('new', 1)");
    assert_eq!(
        count(&db, "SELECT count(*) FROM log"),
        1,
        "the trigger is gone"
    );
    db.check().unwrap();
    assert!(db.plan().unwrap().is_empty());
}

#[test]
fn rolling_back_a_rebuild_restores_shape_and_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("items.db");
    drop(open_items(&path));

    let db = dataflow_sqlite::open(&path).unwrap();
    db.register::<items_v2::Item>().unwrap();
    assert!(db.auto_migrate(risky()).unwrap().applied);
    let undone = db.rollback_last_with(risky()).unwrap();
    assert_eq!(undone.steps.len(), 1, "{}", undone.preview());
    let step = &undone.steps[0];
    assert_eq!(step.operation, Operation::RebuildTable);
    assert_eq!(
        statements(&step.sql_up, "CREATE TABLE"),
        1,
        "{}",
        undone.preview()
    );
    drop(db);

    // The table matches the first model again, with its values.
    let db = dataflow_sqlite::open(&path).unwrap();
    db.register::<items_v1::Item>().unwrap();
    assert!(
        db.plan().unwrap().is_empty(),
        "{}",
        db.plan().unwrap().preview()
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM item WHERE name = 'a name longer than ten' AND qty = 5 AND note IS NULL"
        ),
        1
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM item WHERE name = 'short' AND qty = 7 AND note = 'kept'"
        ),
        1
    );
    assert!(index_exists(&db), "the index is gone");
    exec(&db, "INSERT INTO item (name, qty) VALUES ('new', 1)");
    assert_eq!(
        count(&db, "SELECT count(*) FROM log"),
        1,
        "the trigger is gone"
    );
    db.check().unwrap();
}

mod posts_v1 {
    use dataflow_core::prelude::*;

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "author")]
    pub struct Author {
        pub id: i64,
        pub name: String,
    }

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "post")]
    #[dataflow(foreign_key(field = "author_id", references = "author(id)"))]
    pub struct Post {
        pub id: i64,
        pub author_id: i64,
        pub title: String,
    }
}

mod posts_v2 {
    use dataflow_core::prelude::*;

    pub use super::posts_v1::Author;

    /// The key is dropped, its column renamed, and `title` made nullable:
    /// the rename sits between two changes that need the rebuild, so the one
    /// copy makes it too, and must carry the values over to the new name.
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "post")]
    pub struct Post {
        pub id: i64,
        #[dataflow(renamed_from = "author_id")]
        pub writer_id: i64,
        pub title: Option<String>,
    }
}

#[test]
fn a_rename_between_rebuilt_changes_is_made_by_the_same_copy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("posts.db");
    let db = dataflow_sqlite::open(&path).unwrap();
    db.register_all(models![posts_v1::Author, posts_v1::Post])
        .unwrap();
    db.auto_migrate(MigrateOptions::default()).unwrap();
    exec(
        &db,
        "INSERT INTO author (name) VALUES ('ann');
         INSERT INTO post (author_id, title) VALUES (1, 'hello');",
    );
    drop(db);

    let db = dataflow_sqlite::open(&path).unwrap();
    db.register_all(models![posts_v2::Author, posts_v2::Post])
        .unwrap();
    let report = db.auto_migrate(risky()).unwrap();
    assert_eq!(report.steps.len(), 1, "{}", report.preview());
    let step = &report.steps[0];
    assert_eq!(step.operation, Operation::RebuildTable);
    assert_eq!(
        step.parts.iter().map(|p| p.operation).collect::<Vec<_>>(),
        vec![
            Operation::DropForeignKey,
            Operation::RenameColumn,
            Operation::AlterColumn
        ]
    );
    // The rename is carried along: it needs no rebuild of its own.
    assert!(step.parts[1].rebuild.is_none());
    assert_eq!(statements(&step.sql_up, "CREATE TABLE"), 1);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM post WHERE writer_id = 1 AND title = 'hello'"
        ),
        1
    );
    db.check().unwrap();

    db.rollback_last_with(risky()).unwrap();
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM post WHERE author_id = 1 AND title = 'hello'"
        ),
        1
    );
    drop(db);
    let db = dataflow_sqlite::open(&path).unwrap();
    db.register_all(models![posts_v1::Author, posts_v1::Post])
        .unwrap();
    assert!(
        db.plan().unwrap().is_empty(),
        "{}",
        db.plan().unwrap().preview()
    );
}

mod posts_v3 {
    use dataflow_core::prelude::*;

    pub use super::posts_v1::Author;

    /// `author_id` (NOT NULL, no default) is dropped with its key, and a new
    /// keyed column added: the drop sits between the key changes, so the
    /// copy makes it, and undoing it must bring the values back.
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "post")]
    #[dataflow(foreign_key(field = "editor_id", references = "author(id)"))]
    pub struct Post {
        pub id: i64,
        pub title: String,
        pub editor_id: Option<i64>,
    }
}

#[test]
fn a_dropped_column_in_a_rebuild_comes_back_with_its_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("posts.db");
    let db = dataflow_sqlite::open(&path).unwrap();
    db.register_all(models![posts_v1::Author, posts_v1::Post])
        .unwrap();
    db.auto_migrate(MigrateOptions::default()).unwrap();
    exec(
        &db,
        "INSERT INTO author (name) VALUES ('ann'), ('bo');
         INSERT INTO post (author_id, title) VALUES (2, 'hello');",
    );
    drop(db);

    let db = dataflow_sqlite::open(&path).unwrap();
    db.register_all(models![posts_v3::Author, posts_v3::Post])
        .unwrap();
    let report = db.auto_migrate(risky()).unwrap();
    assert_eq!(report.steps.len(), 1, "{}", report.preview());
    let step = &report.steps[0];
    assert_eq!(step.operation, Operation::RebuildTable);
    assert!(
        step.parts
            .iter()
            .any(|p| p.operation == Operation::DropColumn && p.backed_up),
        "{}",
        report.preview()
    );
    assert_eq!(statements(&step.sql_up, "CREATE TABLE"), 1);
    // Back: one copy to the old shape with the column nullable, its values
    // put back, one more copy to make it NOT NULL again.
    assert_eq!(statements(&step.sql_down, "CREATE TABLE"), 2);
    db.check().unwrap();

    db.rollback_last_with(risky()).unwrap();
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM post WHERE author_id = 2 AND title = 'hello'"
        ),
        1
    );
    drop(db);
    let db = dataflow_sqlite::open(&path).unwrap();
    db.register_all(models![posts_v1::Author, posts_v1::Post])
        .unwrap();
    assert!(
        db.plan().unwrap().is_empty(),
        "{}",
        db.plan().unwrap().preview()
    );
    db.check().unwrap();
}
