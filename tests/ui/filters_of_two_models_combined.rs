use dataflow_core::prelude::*;

#[derive(Model)]
pub struct User {
    pub id: i64,
    pub name: String,
}

#[derive(Model)]
pub struct Post {
    pub id: i64,
    pub title: String,
}

fn f(db: &DataFlow) {
    let _ = Post::list(db).filter(Post::TITLE.eq("Hi").and(User::NAME.eq("Ann")));
}

fn main() {}
