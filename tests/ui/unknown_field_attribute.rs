use dataflow_core::prelude::*;

#[derive(Model)]
pub struct User {
    pub id: i64,
    #[dataflow(uniqe)]
    pub email: String,
}

fn main() {}
