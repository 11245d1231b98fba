//! Index kinds beyond the plain b-tree: partial indexes (both backends), and
//! PostgreSQL's GIN indexes over JSON documents and text search, which SQLite
//! leaves out. Each is created, described back equal to the model (no drift),
//! and replaced when the model changes it.

use dataflow_core::migrate::schema::IndexKind;
use dataflow_core::prelude::*;
use dataflow_core::{LogicalType, Value};

use crate::backends::TestBackend;

fn has_gin(db: &DataFlow) -> bool {
    db.capabilities().non_btree_indexes
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "accounts", soft_delete)]
#[dataflow(partial_index(fields("email"), unique, condition = "deleted_at IS NULL"))]
struct Account {
    id: i64,
    email: String,
    deleted_at: Option<chrono::DateTime<chrono::Utc>>,
}

pub fn partial_unique_index_applies_only_where_its_condition_holds(db: &TestBackend) {
    let h = db.reopen();
    h.register::<Account>().unwrap();
    let r = h.auto_migrate(MigrateOptions::default()).unwrap();
    assert!(r.applied);
    h.check().unwrap();
    let live = h.describe().unwrap();
    let ix = &live.tables["accounts"].indexes;
    assert_eq!(ix.len(), 1, "{ix:?}");
    assert!(ix[0].unique && ix[0].predicate.is_some(), "{ix:?}");
    let acc = |e: &str| Account {
        id: 0,
        email: e.into(),
        deleted_at: None,
    };
    let first = Account::create(&h, acc("ann@x")).unwrap();
    let err = Account::create(&h, acc("ann@x")).unwrap_err();
    assert!(matches!(err, Error::UniqueViolation { .. }), "{err:?}");
    // Soft-deleted rows are outside the index: the address can be used again.
    Account::delete(&h, first.id).unwrap();
    Account::create(&h, acc("ann@x")).unwrap();
    assert!(h
        .auto_migrate(MigrateOptions::default())
        .unwrap()
        .steps
        .is_empty());
}

pub fn changing_a_partial_condition_replaces_the_index(db: &TestBackend) {
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    #[dataflow(index(fields("name"), condition = "age > 18", name = "px_evo_adults"))]
    struct V1 {
        id: i64,
        name: String,
        age: i32,
    }
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    #[dataflow(index(fields("name"), condition = "age > 21", name = "px_evo_adults"))]
    struct V2 {
        id: i64,
        name: String,
        age: i32,
    }
    let h1 = db.reopen();
    h1.register::<V1>().unwrap();
    h1.auto_migrate(MigrateOptions::default()).unwrap();
    h1.check().unwrap();
    let h2 = db.reopen();
    h2.register::<V2>().unwrap();
    let r = h2
        .auto_migrate(
            MigrateOptions::default()
                .auto_confirm(true)
                .max_risk(RiskLevel::Medium),
        )
        .unwrap();
    let ops: Vec<Operation> = r.steps.iter().map(|s| s.operation).collect();
    assert_eq!(ops, [Operation::DropIndex, Operation::CreateIndex]);
    assert!(
        r.steps[1].detail.contains("WHERE age > 21"),
        "{}",
        r.preview()
    );
    h2.check().unwrap();
    // Undoing it brings back the first condition, which the first model accepts.
    h2.rollback_last().unwrap();
    h1.check().unwrap();
    assert!(h2.check().is_err());
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "articles")]
#[dataflow(jsonb_gin_indexes("meta"))]
#[dataflow(text_search(fields("title", "body"), language = "english"))]
struct Article {
    id: i64,
    title: String,
    body: Option<String>,
    meta: serde_json::Value,
}

pub fn gin_and_text_search_indexes_reconcile(db: &TestBackend) {
    let h = db.reopen();
    h.register::<Article>().unwrap();
    let r = h.auto_migrate(MigrateOptions::default()).unwrap();
    assert_eq!(r.steps.len(), 1, "{}", r.preview());
    h.check().unwrap();
    assert!(h
        .auto_migrate(MigrateOptions::default())
        .unwrap()
        .steps
        .is_empty());
    let live = h.describe().unwrap();
    let kinds: Vec<(String, IndexKind, Vec<String>)> = live.tables["articles"]
        .indexes
        .iter()
        .map(|i| (i.name.clone(), i.kind.clone(), i.columns.clone()))
        .collect();
    for (title, body) in [
        ("Cats and dogs", Some("Running cats jump")),
        ("Birds", None),
    ] {
        Article::create(
            &h,
            Article {
                id: 0,
                title: title.into(),
                body: body.map(Into::into),
                meta: serde_json::json!({"tags": ["pets"]}),
            },
        )
        .unwrap();
    }
    if !has_gin(&h) {
        // Without GIN (SQLite) the model works without the indexes.
        assert!(kinds.is_empty(), "{kinds:?}");
        return;
    }
    assert_eq!(
        kinds,
        [
            (
                "gin_articles_meta".into(),
                IndexKind::Gin,
                vec!["meta".into()]
            ),
            (
                "ts_articles_title_body".into(),
                IndexKind::TextSearch {
                    language: "english".into()
                },
                vec!["title".into(), "body".into()]
            ),
        ]
    );
    // The indexed expression answers stemmed searches over both columns.
    let mut found = Vec::new();
    h.with_conn(|c| {
        c.query(
            "SELECT title FROM articles WHERE to_tsvector('english', COALESCE(title, '') || ' ' || COALESCE(body, '')) @@ plainto_tsquery('english', $1) ORDER BY id",
            &[Value::Text("jumping".into())],
            &[LogicalType::Text],
            &mut |row| {
                found.push(std::mem::take(&mut row[0]));
                Ok(())
            },
        )
    })
    .unwrap();
    assert_eq!(found, [Value::Text("Cats and dogs".into())]);
}

pub fn dropping_a_gin_index_is_planned_and_undone(db: &TestBackend) {
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "articles")]
    #[dataflow(text_search(fields("title", "body"), language = "english"))]
    struct Fewer {
        id: i64,
        title: String,
        body: Option<String>,
        meta: serde_json::Value,
    }
    let h = db.reopen();
    h.register::<Article>().unwrap();
    h.auto_migrate(MigrateOptions::default()).unwrap();
    let h2 = db.reopen();
    h2.register::<Fewer>().unwrap();
    let r = h2
        .auto_migrate(
            MigrateOptions::default()
                .auto_confirm(true)
                .max_risk(RiskLevel::Medium),
        )
        .unwrap();
    if !has_gin(&h) {
        assert!(r.steps.is_empty(), "{}", r.preview());
        return;
    }
    let ops: Vec<Operation> = r.steps.iter().map(|s| s.operation).collect();
    assert_eq!(ops, [Operation::DropIndex]);
    assert!(
        r.steps[0].sql_down[0].contains("USING GIN"),
        "{:?}",
        r.steps[0].sql_down
    );
    h2.check().unwrap();
    h2.rollback_last().unwrap();
    h.check().unwrap();
}
