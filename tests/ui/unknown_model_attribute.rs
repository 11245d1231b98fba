use dataflow_core::prelude::*;

#[derive(Model)]
#[dataflow(tabel = "users")]
pub struct User {
    pub id: i64,
    pub name: String,
}

fn main() {}
