use dataflow_core::prelude::*;

#[derive(Model)]
#[dataflow(table = "users")]
#[dataflow(table = "people")]
pub struct User {
    pub id: i64,
    #[dataflow(max_length = 10, max_length = 20)]
    pub name: String,
}

fn main() {}
