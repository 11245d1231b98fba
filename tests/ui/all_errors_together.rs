use dataflow_core::prelude::*;

// Every mistake of one struct is reported in one compile.
#[derive(Model)]
#[dataflow(index(fields("nope")))]
pub struct User {
    pub id: i64,
    #[dataflow(default = 1.5)]
    pub age: i32,
    #[dataflow(max_length = 0)]
    pub name: String,
    pub score: u64,
}

fn main() {}
