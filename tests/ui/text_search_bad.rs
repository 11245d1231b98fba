use dataflow_core::prelude::*;

#[derive(Model)]
#[dataflow(text_search(fields("title", "views"), language = "english; DROP TABLE x"))]
#[dataflow(text_search(fields("title"), lang = "simple"))]
pub struct Article {
    pub id: i64,
    pub title: String,
    pub views: i64,
}

fn main() {}
