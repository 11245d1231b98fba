use dataflow_core::prelude::*;

#[derive(Model)]
pub struct Item {
    pub id: i64,
    #[dataflow(default = 70000)]
    pub quantity: i16,
}

fn main() {}
