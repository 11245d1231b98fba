use dataflow_core::prelude::*;

#[derive(Model)]
pub struct Ticket {
    pub id: i64,
    #[dataflow(default_sql = "  ")]
    pub opened: chrono::NaiveDate,
}

fn main() {}
