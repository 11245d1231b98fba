use dataflow_core::prelude::*;

#[derive(Model)]
#[dataflow(primary_key("order_id", "line_no"))]
pub struct OrderLine {
    pub order_id: i64,
    pub line_no: i32,
    pub quantity: i32,
}

fn f(db: &DataFlow) {
    // The parts in the wrong order, and half a key.
    let _ = OrderLine::read(db, (2i32, 1i64));
    let _ = OrderLine::delete(db, 1i64);
}

fn main() {}
