use dataflow_core::prelude::*;

#[derive(Model)]
pub enum Status {
    Active,
    Banned,
}

fn main() {}
