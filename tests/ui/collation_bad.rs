use dataflow_core::prelude::*;

#[derive(Model)]
#[dataflow(table = "people")]
pub struct Person {
    pub id: i64,
    #[dataflow(collation = "NOCASE")]
    pub age: i32,
    #[dataflow(collation = "")]
    pub name: String,
    #[dataflow(collation = "C", collation = "POSIX")]
    pub nick: Option<String>,
    #[dataflow(collation = 1)]
    pub email: String,
}

fn main() {}
