use dataflow_core::Model;

#[derive(Model)]
#[dataflow(index(fields("name"), using = "gin"))]
#[dataflow(index(fields("doc"), using = "hash"))]
struct Doc {
    id: i64,
    name: String,
    doc: serde_json::Value,
}

fn main() {}
