use dataflow_core::prelude::*;

#[derive(Model)]
#[dataflow(primary_key("order_id", "line"))]
pub struct OrderLine {
    pub order_id: i64,
    pub line_no: i32,
    pub quantity: i32,
}

fn main() {}
