use dataflow_core::prelude::*;

#[derive(Model)]
pub struct User {
    #[dataflow(primary_key)]
    pub id: i64,
    #[dataflow(primary_key)]
    pub email: String,
}

fn main() {}
