use dataflow_core::prelude::*;

#[derive(Debug, Clone, PartialEq)]
pub struct Money {
    pub cents: i64,
}

#[derive(Model)]
pub struct Order {
    pub id: i64,
    pub total: Money,
}

fn main() {}
