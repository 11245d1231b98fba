use dataflow_core::prelude::*;

#[derive(ModelEnum, Clone)]
pub enum Status {
    InProgress,
    #[dataflow(rename = "in_progress")]
    Started,
}

fn main() {}
