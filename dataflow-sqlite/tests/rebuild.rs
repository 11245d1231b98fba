//! SQLite-only: a table rebuild (SQLite's procedure for changes `ALTER TABLE`
//! cannot make) keeps the triggers and views the user defined over the table.

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
