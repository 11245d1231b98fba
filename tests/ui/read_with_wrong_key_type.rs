use dataflow_core::prelude::*;

#[derive(Model)]
pub struct Tag {
    #[dataflow(primary_key)]
    pub slug: String,
}

fn f(db: &DataFlow) {
    let _ = Tag::read(db, 42);
}

fn main() {}
