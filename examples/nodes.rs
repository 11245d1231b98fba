//! Generated JSON nodes: CRUD by node name with JSON in and out, as a workflow
//! engine, an admin tool or an HTTP handler would call them; transactions
//! around typed calls and nodes; a workflow of nodes in one transaction.
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

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "orders")]
#[dataflow(foreign_key(field = "user_id", references = "users(id)", on_delete = "cascade"))]
struct Order {
    id: i64,
    user_id: i64,
    total_cents: i64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let db = dataflow_sqlite::open(":memory:")?;
    db.register_all(models![User, Order])?;
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

    // Typed calls and nodes in one transaction: an Err (or a panic) rolls
    // back both.
    let undone: Result<()> = db.transaction(|tx| {
        User::update(
            tx,
            1,
            UserPatch {
                age: Some(Some(99)),
                ..Default::default()
            },
        )?;
        tx.node("OrderCreateNode")?
            .run(json!({"user_id": 1, "total_cents": 500}))?;
        Err(Error::InvalidInput("changed my mind".into()))
    });
    println!("\ntransaction: {}", undone.unwrap_err());
    assert_eq!(User::read(&db, 1)?.map(|u| u.age), Some(Some(32)));

    // A workflow: plain data (it could come from a JSON file), run in one
    // transaction, each node's output mapped into later inputs by JSON pointer.
    let wf = Workflow::new()
        .add_node(
            "UserCreateNode",
            "create",
            json!({"name": "Cy", "email": "cy@example.org"}),
        )
        .add_node("OrderCreateNode", "order", json!({"total_cents": 2500}))
        .connect("create", "/id", "order", "/user_id");
    println!("workflow: {}", wf.to_json());
    let out = db.run_workflow(&wf)?;
    println!("outputs: {}", out.to_json());
    assert_eq!(out["order"]["user_id"], out["create"]["id"]);

    // A failing node rolls the whole workflow back and is named.
    let failing = Workflow::new()
        .add_node(
            "UserCreateNode",
            "create",
            json!({"name": "Dee", "email": "dee@example.org"}),
        )
        .add_node("OrderCreateNode", "order", json!({"total_cents": 100}))
        .add_node(
            "UserCreateNode",
            "duplicate",
            json!({"name": "Ann", "email": "ann@example.org"}),
        )
        .connect("create", "/id", "order", "/user_id");
    let err = db.run_workflow(&failing).unwrap_err();
    println!("error: {err}");
    assert_eq!(User::list(&db).count()?, 4);
    Ok(())
}
