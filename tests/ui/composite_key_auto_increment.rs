use dataflow_core::prelude::*;

#[derive(Model)]
#[dataflow(primary_key("order_id", "line_no"))]
pub struct OrderLine {
    pub order_id: i64,
    #[dataflow(auto_increment = true)]
    pub line_no: i32,
    pub quantity: i32,
}

fn main() {}
