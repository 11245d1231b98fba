use dataflow_core::prelude::*;

#[derive(Model)]
#[dataflow(foreign_key(field = "user_id", references = "users(id)", on_delete = "explode"))]
pub struct Post {
    pub id: i64,
    pub user_id: i64,
    pub title: String,
}

fn main() {}
