use dataflow_core::prelude::*;

#[derive(Model)]
#[dataflow(index(fields("name", "agee")))]
pub struct User {
    pub id: i64,
    pub name: String,
    pub age: Option<i32>,
}

fn main() {}
