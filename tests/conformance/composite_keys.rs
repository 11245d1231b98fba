//! Models keyed by several fields (`primary_key("order_id", "line_no")`):
//! the table is created with the key over those columns and describes back
//! as the model declares it, CRUD takes the key as a tuple (the untyped layer
//! as one value per key column, nodes as an object or an array), a duplicate
//! key is the typed unique violation and a missing key the typed not-found.

use dataflow_core::migrate::schema::Schema;
use dataflow_core::prelude::*;
use dataflow_core::{Operation, Records};
use serde_json::json;

use crate::TestBackend;

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "ck_order_lines", timestamps, soft_delete)]
#[dataflow(primary_key("order_id", "line_no"))]
pub struct OrderLine {
    pub order_id: i64,
    pub line_no: i32,
    #[dataflow(max_length = 40)]
    pub sku: String,
    #[dataflow(default = 1)]
    pub quantity: i32,
}

/// A key whose order is not the columns' order.
#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "ck_post_tags", primary_key("tag", "post_id"))]
pub struct PostTag {
    pub post_id: i64,
    #[dataflow(max_length = 30)]
    pub tag: String,
    pub note: Option<String>,
}

/// `PostTag` keyed by `post_id` alone: a different primary key.
#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "ck_post_tags")]
pub struct PostTagByPost {
    #[dataflow(primary_key, auto_increment = false)]
    pub post_id: i64,
    #[dataflow(max_length = 30)]
    pub tag: String,
    pub note: Option<String>,
}

/// `PostTag` without its note.
#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "ck_post_tags", primary_key("tag", "post_id"))]
pub struct PostTagWithoutNote {
    pub post_id: i64,
    #[dataflow(max_length = 30)]
    pub tag: String,
}

fn line(order_id: i64, line_no: i32, sku: &str, quantity: i32) -> OrderLine {
    OrderLine {
        order_id,
        line_no,
        sku: sku.into(),
        quantity,
    }
}

fn migrated(db: &TestBackend) -> DataFlow {
    let v1 = db.reopen();
    v1.register_all(models![OrderLine, PostTag]).unwrap();
    v1.auto_migrate(MigrateOptions::default()).unwrap();
    v1
}

/// The table gets `PRIMARY KEY (order_id, line_no)`, describes back equal to
/// the target (so the next plan is empty), and every keyed call takes the key
/// as a tuple in key order.
pub fn composite_key_migrates_and_crud_by_tuple_works(db: &TestBackend) {
    let v1 = migrated(db);
    let live: Schema = v1.describe().unwrap();
    assert_eq!(
        live.tables["ck_order_lines"].primary_key,
        ["order_id", "line_no"]
    );
    assert_eq!(live.tables["ck_post_tags"].primary_key, ["tag", "post_id"]);
    let target = v1.target_schema();
    for t in ["ck_order_lines", "ck_post_tags"] {
        assert_eq!(live.tables.get(t), target.tables.get(t), "{t}");
    }
    let plan = v1.plan().unwrap();
    assert!(plan.steps.is_empty(), "{}", plan.preview());

    // Two lines of one order and one line of another share key parts.
    let a = OrderLine::create(&v1, line(1, 1, "A", 2)).unwrap();
    assert_eq!(a.key(), (1, 1));
    OrderLine::create(&v1, line(1, 2, "B", 3)).unwrap();
    OrderLine::create(&v1, line(2, 1, "C", 4)).unwrap();
    assert_eq!(OrderLine::read(&v1, (1, 2)).unwrap().unwrap().sku, "B");
    assert_eq!(OrderLine::read(&v1, (2, 1)).unwrap().unwrap().sku, "C");
    assert_eq!(OrderLine::read(&v1, (2, 2)).unwrap(), None);

    // An update changes the one row with the whole key.
    let b = OrderLine::update(
        &v1,
        (1, 2),
        OrderLinePatch {
            quantity: Some(30),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!((b.order_id, b.line_no, b.quantity), (1, 2, 30));
    assert_eq!(OrderLine::read(&v1, (1, 1)).unwrap().unwrap().quantity, 2);
    assert_eq!(OrderLine::read(&v1, (2, 1)).unwrap().unwrap().quantity, 4);

    // Soft delete, restore and hard delete by key touch that row only.
    OrderLine::delete(&v1, (1, 2)).unwrap();
    assert_eq!(OrderLine::read(&v1, (1, 2)).unwrap(), None);
    assert_eq!(OrderLine::list(&v1).count().unwrap(), 2);
    assert_eq!(OrderLine::restore(&v1, (1, 2)).unwrap().quantity, 30);
    OrderLine::hard_delete(&v1, (2, 1)).unwrap();
    assert_eq!(OrderLine::read(&v1, (2, 1)).unwrap(), None);
    assert_eq!(OrderLine::read(&v1, (1, 1)).unwrap().unwrap().sku, "A");

    // Upsert on the whole key updates the existing row, then inserts a new one.
    let up = OrderLine::upsert(
        &v1,
        line(1, 1, "A2", 5),
        &(OrderLine::ORDER_ID, OrderLine::LINE_NO),
    )
    .unwrap();
    assert_eq!((up.sku.as_str(), up.quantity), ("A2", 5));
    OrderLine::upsert(
        &v1,
        line(3, 1, "D", 1),
        &(OrderLine::ORDER_ID, OrderLine::LINE_NO),
    )
    .unwrap();
    // Part of the key cannot detect a conflict: refused before writing.
    assert!(matches!(
        OrderLine::upsert(&v1, line(3, 1, "E", 1), &[OrderLine::ORDER_ID]),
        Err(Error::InvalidInput(_))
    ));
    assert_eq!(OrderLine::list(&v1).count().unwrap(), 3);

    // Bulk writes and lists by key parts.
    OrderLine::bulk_create(&v1, &[line(4, 1, "F", 1), line(4, 2, "G", 1)]).unwrap();
    let n = OrderLine::bulk_update(
        &v1,
        OrderLine::ORDER_ID.eq(4),
        OrderLinePatch {
            quantity: Some(9),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(n, 2);
    let four: Vec<(i64, i32, i32)> = OrderLine::list(&v1)
        .filter(OrderLine::ORDER_ID.eq(4))
        .order_by(OrderLine::LINE_NO.asc())
        .all()
        .unwrap()
        .into_iter()
        .map(|l| (l.order_id, l.line_no, l.quantity))
        .collect();
    assert_eq!(four, [(4, 1, 9), (4, 2, 9)]);

    // A key whose order differs from the fields': the tuple follows the key.
    PostTag::create(
        &v1,
        PostTag {
            post_id: 7,
            tag: "rust".into(),
            note: None,
        },
    )
    .unwrap();
    let tagged = PostTag::read(&v1, ("rust".to_owned(), 7)).unwrap().unwrap();
    assert_eq!(tagged.key(), ("rust".to_owned(), 7));
    PostTag::delete(&v1, ("rust".to_owned(), 7)).unwrap();
    assert_eq!(PostTag::list(&v1).count().unwrap(), 0);

    // The untyped layer takes one value per key column, in key order.
    let lines = Records::of(&v1, "ck_order_lines").unwrap();
    let row = lines
        .get(vec![Value::I64(1), Value::I32(2)])
        .unwrap()
        .unwrap();
    assert_eq!(row[2], Value::Text("B".into()));
    crate::assert_invalid(
        lines.get(Value::I64(1)),
        &["OrderLine", "order_id, line_no", "found 1 value"],
    );
    crate::assert_invalid(
        lines.get(vec![Value::I64(1), Value::I64(2)]),
        &["OrderLine.line_no"],
    );

    // Nodes take the key as an object of its fields or as an array.
    let read = |id| {
        v1.node("OrderLineReadNode")
            .unwrap()
            .run(json!({ "id": id }))
    };
    assert_eq!(
        read(json!({"order_id": 1, "line_no": 2})).unwrap()["sku"],
        json!("B")
    );
    assert_eq!(read(json!([1, 2])).unwrap()["sku"], json!("B"));
    assert_eq!(read(json!([9, 9])).unwrap(), json!(null));
    crate::assert_invalid(
        read(json!({"order_id": 1})),
        &["params.id.line_no", "missing"],
    );
    crate::assert_invalid(read(json!([1])), &["params.id", "order_id, line_no"]);
    crate::assert_invalid(read(json!(1)), &["params.id", "order_id, line_no"]);
    crate::assert_invalid(
        read(json!({"order_id": 1, "line_no": 2, "sku": "B"})),
        &["params.id.sku", "not a key field"],
    );
    let updated = v1
        .node("OrderLineUpdateNode")
        .unwrap()
        .run(json!({"id": {"order_id": 1, "line_no": 2}, "quantity": 31}))
        .unwrap();
    assert_eq!(updated["quantity"], json!(31));
    crate::assert_invalid(
        v1.node("OrderLineUpdateNode")
            .unwrap()
            .run(json!({"id": [1, 2], "line_no": 3})),
        &["params.line_no", "the key cannot be changed"],
    );
    v1.node("OrderLineDeleteNode")
        .unwrap()
        .run(json!({"id": [1, 2]}))
        .unwrap();
    assert_eq!(OrderLine::read(&v1, (1, 2)).unwrap(), None);
}

/// A second row with the same key is the typed unique violation naming the
/// key's columns and writes nothing; a key no row has is `None` on read and
/// `NotFound` naming every key part on update and delete.
pub fn composite_key_duplicates_and_missing_keys_are_typed_errors(db: &TestBackend) {
    let v1 = migrated(db);
    OrderLine::create(&v1, line(1, 1, "A", 1)).unwrap();
    match OrderLine::create(&v1, line(1, 1, "B", 2)) {
        Err(Error::UniqueViolation { table, fields }) => {
            assert_eq!(table, "ck_order_lines");
            assert_eq!(fields, ["order_id", "line_no"]);
        }
        other => panic!("expected UniqueViolation, got {other:?}"),
    }
    assert!(matches!(
        OrderLine::bulk_create(&v1, &[line(1, 2, "C", 1), line(1, 1, "D", 1)]),
        Err(Error::UniqueViolation { .. })
    ));
    assert_eq!(OrderLine::list(&v1).count().unwrap(), 1);
    assert_eq!(OrderLine::read(&v1, (1, 1)).unwrap().unwrap().sku, "A");

    assert_eq!(OrderLine::read(&v1, (1, 9)).unwrap(), None);
    for r in [
        OrderLine::update(
            &v1,
            (1, 9),
            OrderLinePatch {
                quantity: Some(2),
                ..Default::default()
            },
        )
        .map(drop),
        OrderLine::update(&v1, (9, 1), OrderLinePatch::default()).map(drop),
        OrderLine::delete(&v1, (1, 9)),
        OrderLine::hard_delete(&v1, (1, 9)),
        OrderLine::restore(&v1, (1, 1)).map(drop),
    ] {
        match r {
            Err(Error::NotFound { model, key }) => {
                assert_eq!(model, "OrderLine");
                assert!(key.starts_with("order_id = "), "{key}");
                assert!(key.contains(", line_no = "), "{key}");
            }
            other => panic!("expected NotFound, got {other:?}"),
        }
    }
}

/// Changing which columns make the key is refused: a blocked step naming the
/// old and the new key, nothing applied.
pub fn changing_the_key_columns_is_refused(db: &TestBackend) {
    let v1 = migrated(db);
    PostTag::create(
        &v1,
        PostTag {
            post_id: 1,
            tag: "a".into(),
            note: None,
        },
    )
    .unwrap();
    let v2 = db.reopen();
    v2.register_all(models![PostTagByPost]).unwrap();
    let plan = v2.plan().unwrap();
    let step = plan
        .steps
        .iter()
        .find(|s| s.operation == Operation::Unsupported)
        .unwrap_or_else(|| panic!("{}", plan.preview()));
    assert_eq!(step.risk, RiskLevel::High);
    assert!(step.blocked.is_some(), "{}", plan.preview());
    assert!(
        step.detail.contains("(tag, post_id) → (post_id)"),
        "{}",
        step.detail
    );
    assert!(v2.auto_migrate(MigrateOptions::default()).is_err());
    let live: Schema = v2.describe().unwrap();
    assert_eq!(live.tables["ck_post_tags"].primary_key, ["tag", "post_id"]);
}

/// A dropped column of a table keyed by several columns is backed up by the
/// whole key: rows that share a part of the key get their own values back on
/// rollback.
pub fn dropped_column_of_a_composite_key_table_comes_back_per_row(db: &TestBackend) {
    let v1 = migrated(db);
    for (post_id, tag, note) in [(1, "a", "n1"), (2, "a", "n2"), (1, "b", "n3")] {
        PostTag::create(
            &v1,
            PostTag {
                post_id,
                tag: tag.into(),
                note: Some(note.into()),
            },
        )
        .unwrap();
    }
    let v2 = db.reopen();
    v2.register_all(models![PostTagWithoutNote]).unwrap();
    let r = v2
        .auto_migrate(
            MigrateOptions::default()
                .auto_confirm(true)
                .max_risk(RiskLevel::High),
        )
        .unwrap();
    assert!(r.applied);
    assert!(
        r.steps.iter().any(|s| !s.backup.is_empty()),
        "the drop is backed up"
    );
    v2.rollback_last().unwrap();
    let notes: Vec<(String, i64, Option<String>)> = PostTag::list(&v1)
        .order_by(PostTag::TAG.asc())
        .order_by(PostTag::POST_ID.asc())
        .all()
        .unwrap()
        .into_iter()
        .map(|t| (t.tag, t.post_id, t.note))
        .collect();
    assert_eq!(
        notes,
        [
            ("a".to_owned(), 1, Some("n1".to_owned())),
            ("a".to_owned(), 2, Some("n2".to_owned())),
            ("b".to_owned(), 1, Some("n3".to_owned())),
        ]
    );
}
