use dataflow_core::prelude::*;

#[derive(ModelEnum, Clone)]
pub enum Status {
    Open,
    Closed { reason: String },
}

fn main() {}
