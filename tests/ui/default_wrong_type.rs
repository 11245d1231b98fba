use dataflow_core::prelude::*;

#[derive(Model)]
pub struct User {
    pub id: i64,
    #[dataflow(default = "yes")]
    pub is_active: bool,
}

fn main() {}
