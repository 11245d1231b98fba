use dataflow_core::prelude::*;

#[derive(Model, Debug, Clone, PartialEq)]
struct User {
    id: i64,
}

#[dataflow_core::test(models(User))]
fn t(db: DataFlow, extra: i32) {
    let _ = (db, extra);
}

fn main() {}
