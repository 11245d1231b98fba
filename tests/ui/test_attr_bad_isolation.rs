use dataflow_core::prelude::*;

#[derive(Model, Debug, Clone, PartialEq)]
struct User {
    id: i64,
}

#[dataflow_core::test(models(User), backends(postgres), isolation = "savepoint")]
fn t(db: DataFlow) {
    let _ = db;
}

fn main() {}
