use dataflow_core::prelude::*;

#[derive(Model)]
#[dataflow(jsonb_gin_indexes("profile", "name", "nope"))]
pub struct User {
    pub id: i64,
    pub name: String,
    pub profile: Option<serde_json::Value>,
}

fn main() {}
