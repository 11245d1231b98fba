use dataflow_core::prelude::*;

#[derive(Model)]
pub struct User {
    pub id: i64,
    #[dataflow(renamed_from = "phone")]
    pub phone: Option<String>,
}

fn main() {}
