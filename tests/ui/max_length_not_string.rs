use dataflow_core::prelude::*;

#[derive(Model)]
pub struct User {
    pub id: i64,
    #[dataflow(max_length = 3)]
    pub age: i32,
}

fn main() {}
