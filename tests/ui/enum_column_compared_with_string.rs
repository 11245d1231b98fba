use dataflow_core::prelude::*;

#[derive(ModelEnum, Debug, Clone, Copy, PartialEq)]
pub enum Status {
    Open,
    Closed,
}

#[derive(Model)]
pub struct Issue {
    pub id: i64,
    pub status: Status,
}

fn f(db: &DataFlow) {
    let _ = Issue::list(db).filter(Issue::STATUS.eq("open"));
}

fn main() {}
