use dataflow_core::prelude::*;

#[derive(Model)]
pub struct Tag {
    #[dataflow(primary_key, auto_increment = true)]
    pub slug: String,
    #[dataflow(auto_increment = true)]
    pub rank: i32,
}

fn main() {}
