use dataflow_core::prelude::*;

#[derive(ModelEnum, Debug, Clone, Copy, PartialEq)]
pub enum Status {
    Open,
    Closed,
}

#[derive(Model)]
pub struct Issue {
    pub id: i64,
    #[dataflow(default = "opened")]
    pub status: Status,
}

fn main() {}
