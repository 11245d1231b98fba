use std::collections::HashMap;

use dataflow_core::prelude::*;

#[derive(Model)]
pub struct User {
    pub id: i64,
    pub tags: HashMap<String, i32>,
}

fn main() {}
