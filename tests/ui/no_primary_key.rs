use dataflow_core::prelude::*;

#[derive(Model)]
pub struct LogLine {
    pub at: i64,
    pub message: String,
}

fn main() {}
