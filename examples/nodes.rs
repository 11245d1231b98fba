//! Generated JSON nodes: CRUD by node name with JSON in and out, as a workflow
//! engine, an admin tool or an HTTP handler would call them.
//!
//! Run it with `cargo run --example nodes`.

use dataflow_core::prelude::*;
use serde_json::json;

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "users", timestamps)]
struct User {
    id: i64,
    name: String,
    #[dataflow(unique, max_length = 255)]
    email: String,
    age: Option<i32>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let db = dataflow_sqlite::open(":memory:")?;
    db.register::<User>()?;
    db.auto_migrate(MigrateOptions::default())?;
    println!("nodes: {}", db.nodes().join(", "));

    let out = db.node("UserBulkCreateNode")?.run(json!({"records": [
        {"name": "Ann", "email": "ann@example.org", "age": 31},
        {"name": "Abe", "email": "abe@example.org", "age": 64},
        {"name": "Bob", "email": "bob@example.org", "age": 17},
    ]}))?;
    println!("\nbulk create: {out}");

    let ann = db
        .node("UserUpdateNode")?
        .run(json!({"id": 1, "age": 32}))?;
    println!("update: {ann}");

    let adults = db.node("UserListNode")?.run(json!({
        "filter": {"age": {"$gte": 18}, "name": {"$like": "A%"}},
        "order_by": ["-age", "name"], "limit": 10
    }))?;
    println!("list: {adults}");
    // The typed API sees the same rows.
    let typed = User::list(&db)
        .filter(User::AGE.ge(18).and(User::NAME.like("A%")))
        .count()?;
    assert_eq!(adults["count"], json!(typed));

    // Bad input names its path and writes nothing.
    let err = db
        .node("UserListNode")?
        .run(json!({"filter": {"agee": {"$gt": 1}}}))
        .unwrap_err();
    println!("\nerror: {err}");
    let err = db.node("UserBulkDeleteNode")?.run(json!({})).unwrap_err();
    println!("error: {err}");

    let schema = db.node("UserCreateNode")?.describe();
    println!("\nUserCreateNode parameters: {}", schema["parameters"]);
    Ok(())
}
