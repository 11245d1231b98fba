use dataflow_core::prelude::*;

#[dataflow_core::test(fixtures("users.json"))]
fn t(db: DataFlow) {
    let _ = db;
}

fn main() {}
