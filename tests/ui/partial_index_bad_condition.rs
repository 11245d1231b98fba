use dataflow_core::prelude::*;

#[derive(Model)]
#[dataflow(partial_index(fields("email"), unique))]
#[dataflow(index(fields("name"), condition = "deleted_at IS NULL; DROP TABLE users"))]
#[dataflow(index(fields("age"), condition = "(age > 18"))]
#[dataflow(index(fields("email"), condition = "name = 'x"))]
pub struct User {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub age: Option<i32>,
}

fn main() {}
