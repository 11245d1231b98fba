use dataflow_core::prelude::*;

#[derive(Model)]
pub struct Ticket {
    pub id: i64,
    #[dataflow(default = 1, default_sql = "nextval('ticket_numbers')")]
    pub number: i64,
}

fn main() {}
