use dataflow_core::prelude::*;

#[derive(ModelEnum, Debug, Clone, Copy, PartialEq)]
pub enum Status {
    Open,
    Closed,
}

#[derive(Model)]
#[dataflow(table = "items")]
#[dataflow(check(name = "ck_price_positive", expr = "price > 0"))]
#[dataflow(check(name = "ck_price_positive", expr = "price < 100"))]
#[dataflow(check(name = "", expr = "price > 1"))]
#[dataflow(check(expr = "price > 2"))]
#[dataflow(check(name = "ck_no_expr"))]
#[dataflow(check(name = "ck_unbalanced", expr = "(price > 0"))]
#[dataflow(check(name = "ck_status", expr = "status <> 'open'"))]
#[dataflow(check(name = "ck_x", expr = "price > 0", when = "always"))]
pub struct Item {
    pub id: i64,
    pub price: i64,
    pub status: Status,
}

fn main() {}
