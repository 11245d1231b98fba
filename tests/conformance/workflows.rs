//! Workflows (`db.run_workflow(&wf)`): nodes in dependency order, outputs
//! mapped into later inputs by JSON pointer, all in one transaction; a bad
//! workflow is refused before anything runs, a failing node rolls back
//! everything and is named.

use dataflow_core::prelude::*;
use serde_json::json;

use crate::models::{Post, User};

fn counts(db: &DataFlow) -> (i64, i64) {
    (
        User::list(db).count().unwrap(),
        Post::list(db).count().unwrap(),
    )
}

/// Nodes added in the opposite order they must run in.
fn blog() -> Workflow {
    Workflow::new()
        .add_node(
            "PostListNode",
            "list",
            json!({"filter": {"user_id": null}, "order_by": ["title"]}),
        )
        .add_node("PostCreateNode", "post", json!({"title": "hello"}))
        .add_node(
            "UserCreateNode",
            "create",
            json!({"name": "Ann", "email": "ann@x"}),
        )
        .connect("create", "/id", "post", "/user_id")
        .connect("post", "/user_id", "list", "/filter/user_id")
}

pub fn workflow_maps_outputs_into_later_inputs(db: &DataFlow) {
    let wf = blog();
    assert_eq!(db.check_workflow(&wf).unwrap(), ["create", "post", "list"]);
    let out = db.run_workflow(&wf).unwrap();
    assert_eq!(out.order(), ["create", "post", "list"]);
    let id = out["create"]["id"].as_i64().unwrap();
    assert_eq!(out["post"]["user_id"], json!(id));
    assert_eq!(out["list"]["count"], json!(1));
    assert_eq!(out["list"]["records"][0]["title"], json!("hello"));
    assert_eq!(out.to_json()["post"], out["post"]);
    assert_eq!(counts(db), (1, 1));
    assert_eq!(Post::list(db).first().unwrap().unwrap().user_id, id);

    // The same workflow stored as JSON and loaded back runs the same way.
    let stored = serde_json::to_string(&wf.to_json()).unwrap();
    let mut loaded = Workflow::from_json(serde_json::from_str(&stored).unwrap()).unwrap();
    loaded.nodes[2].params = json!({"name": "Bo", "email": "bo@x"});
    let again = db.run_workflow(&loaded).unwrap();
    assert_ne!(again["create"]["id"], json!(id));
    assert_eq!(counts(db), (2, 2));
}

fn failed_node(r: Result<WorkflowOutput>, node: &str) -> Error {
    match r {
        Err(Error::WorkflowNode {
            node: n, source, ..
        }) if n == node => *source,
        other => panic!("expected node {node:?} to fail, got {other:?}"),
    }
}

pub fn workflow_failure_in_the_last_node_rolls_back_everything(db: &DataFlow) {
    User::create(db, User::new("Old", "old@x", None)).unwrap();
    let before = counts(db);
    let wf = blog().add_node(
        "UserCreateNode",
        "dup",
        json!({"name": "Dup", "email": "old@x"}),
    );
    let wf = wf.connect("list", "/count", "dup", "/age");
    let err = db.run_workflow(&wf);
    let msg = format!("{}", err.as_ref().unwrap_err());
    assert!(
        msg.contains("\"dup\"") && msg.contains("UserCreateNode"),
        "{msg}"
    );
    let source = failed_node(err, "dup");
    assert!(
        matches!(source, Error::UniqueViolation { .. }),
        "{source:?}"
    );
    assert_eq!(counts(db), before, "nothing of the workflow is committed");

    // An output the pointer does not find fails the node that reads it.
    let missing = Workflow::new()
        .add_node("UserCreateNode", "a", json!({"name": "A", "email": "a@x"}))
        .add_node("PostCreateNode", "b", json!({"title": "t"}))
        .connect("a", "/no_such_field", "b", "/user_id");
    let source = failed_node(db.run_workflow(&missing), "b");
    assert!(
        matches!(source, Error::InvalidInput(ref m) if m.contains("/no_such_field")),
        "{source:?}"
    );
    // Bad parameters of a later node: InvalidInput from the node itself.
    let bad = Workflow::new()
        .add_node("UserCreateNode", "a", json!({"name": "A", "email": "a@x"}))
        .add_node(
            "UserCreateNode",
            "b",
            json!({"name": "B", "email": "b@x", "agee": 3}),
        );
    let source = failed_node(db.run_workflow(&bad), "b");
    assert!(
        matches!(source, Error::InvalidInput(ref m) if m.contains("agee")),
        "{source:?}"
    );
    assert_eq!(counts(db), before);
}

fn refused(db: &DataFlow, wf: Workflow, needles: &[&str]) {
    for r in [
        db.check_workflow(&wf).map(drop),
        db.run_workflow(&wf).map(drop),
    ] {
        match r {
            Err(Error::InvalidInput(m)) => {
                for n in needles {
                    assert!(m.contains(n), "{m:?} lacks {n:?}");
                }
            }
            other => panic!("expected InvalidInput with {needles:?}, got {other:?}"),
        }
    }
    assert_eq!(counts(db), (0, 0), "a refused workflow wrote something");
}

pub fn invalid_workflows_are_refused_before_anything_runs(db: &DataFlow) {
    let first = || {
        Workflow::new().add_node(
            "UserCreateNode",
            "user",
            json!({"name": "A", "email": "a@x"}),
        )
    };
    let cycle = first()
        .add_node("PostCreateNode", "p1", json!({"title": "1"}))
        .add_node("PostCreateNode", "p2", json!({"title": "2"}))
        .connect("p1", "/user_id", "p2", "/user_id")
        .connect("p2", "/user_id", "p1", "/user_id");
    refused(db, cycle, &["cycle", "p1", "p2"]);
    let itself = first().connect("user", "/id", "user", "/age");
    refused(db, itself, &["cycle", "user"]);
    refused(
        db,
        first().add_node("PostCreatNode", "post", json!({})),
        &["\"post\"", "PostCreateNode"],
    );
    refused(
        db,
        first().connect("user", "/id", "ghost", "/user_id"),
        &["ghost"],
    );
    refused(
        db,
        first().connect("ghost", "/id", "user", "/age"),
        &["ghost"],
    );
    refused(
        db,
        first().add_node("UserCountNode", "user", json!({})),
        &["two nodes", "\"user\""],
    );
    refused(
        db,
        first()
            .add_node("PostCreateNode", "post", json!({"title": "t"}))
            .connect("user", "id", "post", "/user_id"),
        &["JSON pointer"],
    );
    refused(
        db,
        first()
            .add_node("PostCreateNode", "post", json!({"title": "t"}))
            .connect("user", "/id", "post", "/user_id")
            .connect("user", "/age", "post", "/user_id"),
        &["\"post\"", "two connections"],
    );
    refused(
        db,
        first()
            .add_node("PostCreateNode", "post", json!({"title": "t"}))
            .connect("user", "/id", "post", "/title/x"),
        &["\"post\"", "/title/x"],
    );
}

pub fn workflow_inside_a_transaction_is_a_savepoint(db: &DataFlow) {
    db.transaction(|tx| {
        let out = tx.run_workflow(&blog())?;
        assert_eq!(out.len(), 3);
        let failing = Workflow::new()
            .add_node("UserCreateNode", "b", json!({"name": "B", "email": "b@x"}))
            .add_node(
                "UserCreateNode",
                "again",
                json!({"name": "C", "email": "ann@x"}),
            );
        assert!(tx.run_workflow(&failing).is_err());
        Ok(())
    })
    .unwrap();
    let names: Vec<String> = User::list(db)
        .all()
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(names, ["Ann"]);
    assert_eq!(counts(db), (1, 1));
}
