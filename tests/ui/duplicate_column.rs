use dataflow_core::prelude::*;

#[derive(Model)]
pub struct User {
    pub id: i64,
    pub email: String,
    #[dataflow(column = "email")]
    pub backup_email: String,
}

fn main() {}
