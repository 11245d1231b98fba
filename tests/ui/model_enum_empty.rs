use dataflow_core::prelude::*;

#[derive(ModelEnum, Clone)]
pub enum Never {}

fn main() {}
