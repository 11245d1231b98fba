use dataflow_core::prelude::*;

#[derive(Model)]
pub struct User {
    pub id: i64,
    pub name: String,
}

fn f(db: &DataFlow) {
    let _ = User::restore(db, 1);
}

fn main() {}
