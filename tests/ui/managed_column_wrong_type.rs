use dataflow_core::prelude::*;

#[derive(Model)]
#[dataflow(timestamps, soft_delete)]
pub struct Post {
    pub id: i64,
    pub created_at: String,
    pub deleted_at: chrono::DateTime<chrono::Utc>,
}

fn main() {}
