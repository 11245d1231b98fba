use dataflow_core::prelude::*;

#[derive(Model)]
pub struct Pair(i64, String);

fn main() {}
