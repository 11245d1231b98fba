use dataflow_core::prelude::*;

#[derive(Model)]
#[dataflow(primary_key("post_id", "tag_id"))]
pub struct PostTag {
    #[dataflow(primary_key)]
    pub post_id: i64,
    pub tag_id: i64,
}

#[derive(Model)]
#[dataflow(primary_key(post_id, tag_id))]
pub struct BareNames {
    pub post_id: i64,
    pub tag_id: i64,
}

#[derive(Model)]
#[dataflow(primary_key())]
pub struct EmptyKey {
    pub post_id: i64,
}

fn main() {}
