use dataflow_core::prelude::*;

#[derive(Model)]
pub struct User {
    pub id: i64,
    pub age: Option<i32>,
}

#[derive(Model)]
pub struct Post {
    pub id: i64,
    pub user_id: i64,
}

fn f(db: &DataFlow) {
    let _ = Post::list(db).filter(User::AGE.gt(1));
}

fn main() {}
