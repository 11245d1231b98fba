use dataflow_core::prelude::*;

#[derive(Model)]
pub struct User {
    pub id: i64,
    pub name: String,
    #[dataflow(column = "Name")]
    pub display_name: String,
}

#[allow(non_snake_case)]
#[derive(Model)]
#[dataflow(timestamps)]
pub struct Event {
    pub id: i64,
    pub Created_At: String,
}

fn main() {}
