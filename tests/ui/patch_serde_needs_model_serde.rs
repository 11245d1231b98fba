use dataflow_core::prelude::*;

// A patch is Deserialize only when its model is.
#[derive(Model, Debug)]
pub struct User {
    pub id: i64,
    pub name: String,
}

fn main() {
    let _: UserPatch = serde_json::from_str("{}").unwrap();
}
