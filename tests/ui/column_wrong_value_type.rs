use dataflow_core::prelude::*;

#[derive(Model)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub age: Option<i32>,
}

fn f(db: &DataFlow) {
    let _ = User::list(db).filter(User::AGE.gt("x"));
}

fn main() {}
