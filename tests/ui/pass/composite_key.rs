//! A model keyed by several fields: CRUD takes the key as a tuple in key
//! order (nothing here touches a database).

use dataflow_core::prelude::*;

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "order_lines", soft_delete)]
#[dataflow(primary_key("order_id", "line_no"))]
pub struct OrderLine {
    pub order_id: i64,
    pub line_no: i32,
    pub sku: String,
    pub quantity: i32,
}

/// The key's order is the attribute's, not the fields'.
#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(primary_key("tag", "post_id"))]
pub struct PostTag {
    pub post_id: i64,
    pub tag: String,
}

#[allow(dead_code)]
fn typed(db: &DataFlow) -> dataflow_core::Result<()> {
    let line = OrderLine::create(
        db,
        OrderLineDraft {
            order_id: 1,
            line_no: 2,
            sku: "A-1".into(),
            quantity: 3,
        },
    )?;
    let key: (i64, i32) = line.key();
    let _: Option<OrderLine> = OrderLine::read(db, key)?;
    let _: OrderLine = OrderLine::update(
        db,
        (1, 2),
        OrderLinePatch {
            quantity: Some(4),
            ..Default::default()
        },
    )?;
    OrderLine::delete(db, (1, 2))?;
    let _: OrderLine = OrderLine::restore(db, (1, 2))?;
    OrderLine::hard_delete(db, (1, 2))?;
    let _ = OrderLine::upsert(db, line, &(OrderLine::ORDER_ID, OrderLine::LINE_NO))?;
    let _: Option<PostTag> = PostTag::read(db, ("rust".to_owned(), 7))?;
    Ok(())
}

fn main() {
    let d = <OrderLine as Model>::DESCRIPTOR;
    assert_eq!(d.primary_key, &[0, 1]);
    assert!(d.auto_key().is_none());
    let d = <PostTag as Model>::DESCRIPTOR;
    let key: Vec<&str> = d.key_columns().map(|c| c.name).collect();
    assert_eq!(key, ["tag", "post_id"]);
}
