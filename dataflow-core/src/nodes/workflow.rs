//! Workflows: nodes run in dependency order, each one's output mapped into
//! later nodes' parameters by JSON pointer, all in one database transaction
//! ([`DataFlow::run_workflow`](crate::DataFlow::run_workflow)).
//!
//! ```ignore
//! let wf = Workflow::new()
//!     .add_node("UserCreateNode", "create", json!({"name": "Ann", "email": "ann@x.org"}))
//!     .add_node("PostCreateNode", "post", json!({"title": "Hello"}))
//!     .connect("create", "/id", "post", "/user_id");
//! let out = db.run_workflow(&wf)?;          // out["post"]["user_id"] == out["create"]["id"]
//! ```
//!
//! A workflow is plain data: it serializes to and from
//! `{"nodes": [{"id", "node", "params"}], "connections": [{"from", "output", "to", "input"}]}`
//! (`output` and `input` are RFC 6901 JSON pointers; `""` is the whole
//! value). Before anything runs it is checked whole: duplicate or empty ids,
//! unknown node types, connections naming a missing node, cycles, malformed
//! pointers, two connections setting one input, and inputs that cannot be
//! set in a node's parameters are `Error::InvalidInput` naming the node. A
//! node that fails at run time is [`Error::WorkflowNode`] naming it and
//! carrying its error; nothing of the workflow is committed.

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::error::{Error, Result};
use crate::nodes::node;
use crate::query::QueryHandle;

/// Nodes and the connections between them. See the [module docs](self).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    /// The nodes, in the order they were added (the run order where
    /// connections leave a choice).
    pub nodes: Vec<WorkflowNode>,
    /// What flows from one node's output into another's parameters.
    #[serde(default)]
    pub connections: Vec<WorkflowConnection>,
}

/// One node of a [`Workflow`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowNode {
    /// Unique within the workflow; names the node's output.
    pub id: String,
    /// The node's name (`UserCreateNode`), as [`DataFlow::node`](crate::DataFlow::node) takes it.
    pub node: String,
    /// Its parameters, before connections set their inputs.
    #[serde(default)]
    pub params: Json,
}

/// One connection: the value at `output` in node `from`'s output is set at
/// `input` in node `to`'s parameters before `to` runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowConnection {
    /// The id of the node whose output is read.
    pub from: String,
    /// A JSON pointer into that output (`/id`).
    pub output: String,
    /// The id of the node whose parameters are set.
    pub to: String,
    /// A JSON pointer into those parameters (`/user_id`); missing objects on
    /// the way are created.
    pub input: String,
}

impl Workflow {
    /// An empty workflow.
    pub fn new() -> Self {
        Workflow::default()
    }

    /// Adds the node `node_type` (`UserCreateNode`) as `id`, with `params`.
    pub fn add_node(
        mut self,
        node_type: impl Into<String>,
        id: impl Into<String>,
        params: Json,
    ) -> Self {
        self.nodes.push(WorkflowNode {
            id: id.into(),
            node: node_type.into(),
            params,
        });
        self
    }

    /// Sets `input` (a JSON pointer) of node `to`'s parameters to the value at
    /// `output` of node `from`'s output; `to` then runs after `from`.
    pub fn connect(
        mut self,
        from: impl Into<String>,
        output: impl Into<String>,
        to: impl Into<String>,
        input: impl Into<String>,
    ) -> Self {
        self.connections.push(WorkflowConnection {
            from: from.into(),
            output: output.into(),
            to: to.into(),
            input: input.into(),
        });
        self
    }

    /// A workflow from its JSON form; `Error::InvalidInput` saying what does
    /// not fit.
    pub fn from_json(value: Json) -> Result<Self> {
        serde_json::from_value(value).map_err(|e| Error::InvalidInput(format!("workflow: {e}")))
    }

    /// The workflow's JSON form.
    pub fn to_json(&self) -> Json {
        serde_json::to_value(self).unwrap_or(Json::Null)
    }
}

/// Every node's output by id, in the order the nodes ran. Serializes as a
/// JSON object in that order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkflowOutput {
    outputs: Vec<(String, Json)>,
}

impl WorkflowOutput {
    /// The output of node `id`.
    pub fn get(&self, id: &str) -> Option<&Json> {
        self.outputs.iter().find(|(i, _)| i == id).map(|(_, v)| v)
    }

    /// `(id, output)` in run order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Json)> {
        self.outputs.iter().map(|(i, v)| (i.as_str(), v))
    }

    /// The ids in run order.
    pub fn order(&self) -> Vec<&str> {
        self.outputs.iter().map(|(i, _)| i.as_str()).collect()
    }

    /// How many nodes ran.
    pub fn len(&self) -> usize {
        self.outputs.len()
    }

    /// Whether no node ran (an empty workflow).
    pub fn is_empty(&self) -> bool {
        self.outputs.is_empty()
    }

    /// The outputs as one JSON object keyed by id.
    pub fn to_json(&self) -> Json {
        Json::Object(self.outputs.iter().cloned().collect())
    }
}

impl std::ops::Index<&str> for WorkflowOutput {
    type Output = Json;

    /// The output of node `id`, `null` when there is none.
    fn index(&self, id: &str) -> &Json {
        const NULL: Json = Json::Null;
        self.get(id).unwrap_or(&NULL)
    }
}

impl Serialize for WorkflowOutput {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.outputs.len()))?;
        for (id, out) in &self.outputs {
            map.serialize_entry(id, out)?;
        }
        map.end()
    }
}

/// A checked workflow: node indexes in run order, and per node the
/// connections into it.
#[derive(Debug)]
pub struct Plan<'w> {
    workflow: &'w Workflow,
    order: Vec<usize>,
    /// Per node (by index): (source node index, output pointer, input pointer).
    inputs: Vec<Vec<(usize, &'w str, &'w str)>>,
}

impl Plan<'_> {
    /// The node ids in the order they will run.
    pub fn order(&self) -> Vec<&str> {
        self.order
            .iter()
            .map(|&i| self.workflow.nodes[i].id.as_str())
            .collect()
    }
}

fn invalid(message: String) -> Error {
    Error::InvalidInput(format!("workflow: {message}"))
}

/// Checks `workflow` against the nodes of `db`'s registered models without
/// running anything: see the [module docs](self) for what is refused.
pub fn check<'w>(db: &dyn QueryHandle, workflow: &'w Workflow) -> Result<Plan<'w>> {
    let nodes = &workflow.nodes;
    let mut index = std::collections::HashMap::new();
    for (i, n) in nodes.iter().enumerate() {
        if n.id.is_empty() {
            return Err(invalid(format!("node {i} ({}) has an empty id", n.node)));
        }
        if index.insert(n.id.as_str(), i).is_some() {
            return Err(invalid(format!("two nodes have the id {:?}", n.id)));
        }
        node(db, &n.node).map_err(|e| {
            let why = match e {
                Error::InvalidInput(m) => m,
                other => other.to_string(),
            };
            invalid(format!("node {:?}: {why}", n.id))
        })?;
    }
    let mut inputs: Vec<Vec<(usize, &str, &str)>> = vec![Vec::new(); nodes.len()];
    for (k, c) in workflow.connections.iter().enumerate() {
        let end = |id: &str, side: &str| {
            index.get(id).copied().ok_or_else(|| {
                invalid(format!(
                    "connection {k} ({} {} → {} {}) names {side} node {id:?}, which the \
                     workflow does not have",
                    c.from, c.output, c.to, c.input
                ))
            })
        };
        let (from, to) = (end(&c.from, "source")?, end(&c.to, "target")?);
        for (p, what) in [(&c.output, "output"), (&c.input, "input")] {
            if !(p.is_empty() || p.starts_with('/')) {
                return Err(invalid(format!(
                    "connection {k}: {what} {p:?} is not a JSON pointer (\"\" or starting with /)"
                )));
            }
        }
        if let Some(other) = inputs[to].iter().find(|(_, _, i)| overlaps(i, &c.input)) {
            return Err(invalid(format!(
                "node {:?}: input {:?} is set by two connections (also {:?})",
                c.to, c.input, other.2
            )));
        }
        let mut probe = nodes[to].params.clone();
        set_pointer(&mut probe, &c.input, Json::Null)
            .map_err(|why| invalid(format!("node {:?}: input {:?}: {why}", c.to, c.input)))?;
        inputs[to].push((from, &c.output, &c.input));
    }
    let order = run_order(nodes, &inputs)?;
    Ok(Plan {
        workflow,
        order,
        inputs,
    })
}

/// Whether setting one pointer would overwrite (part of) what the other sets.
fn overlaps(a: &str, b: &str) -> bool {
    let prefix = |x: &str, y: &str| y == x || y.starts_with(&format!("{x}/")) || x.is_empty();
    prefix(a, b) || prefix(b, a)
}

/// Kahn's algorithm, taking ready nodes in the order they were added; the
/// nodes left over form or follow a cycle.
fn run_order(nodes: &[WorkflowNode], inputs: &[Vec<(usize, &str, &str)>]) -> Result<Vec<usize>> {
    let mut waiting: Vec<usize> = inputs.iter().map(Vec::len).collect();
    let mut order = Vec::with_capacity(nodes.len());
    let mut done = vec![false; nodes.len()];
    while order.len() < nodes.len() {
        let Some(next) = (0..nodes.len()).find(|&i| !done[i] && waiting[i] == 0) else {
            let stuck: Vec<&str> = (0..nodes.len())
                .filter(|&i| !done[i])
                .map(|i| nodes[i].id.as_str())
                .collect();
            return Err(invalid(format!(
                "the connections form a cycle among the nodes {stuck:?}"
            )));
        };
        done[next] = true;
        order.push(next);
        for (to, ins) in inputs.iter().enumerate() {
            waiting[to] -= ins.iter().filter(|(from, _, _)| *from == next).count();
        }
    }
    Ok(order)
}

/// Runs a checked workflow on `db` (the caller owns the transaction): each
/// node in order, its connected inputs set from earlier outputs.
pub fn run(db: &dyn QueryHandle, plan: &Plan<'_>) -> Result<WorkflowOutput> {
    let nodes = &plan.workflow.nodes;
    let mut outputs: Vec<Option<Json>> = vec![None; nodes.len()];
    let mut out = WorkflowOutput::default();
    for &i in &plan.order {
        let n = &nodes[i];
        let failed = |source: Error| Error::WorkflowNode {
            node: n.id.clone(),
            node_type: n.node.clone(),
            source: Box::new(source),
        };
        let mut params = n.params.clone();
        for &(from, output, input) in &plan.inputs[i] {
            let value = outputs[from]
                .as_ref()
                .and_then(|o| o.pointer(output))
                .cloned()
                .ok_or_else(|| {
                    failed(Error::InvalidInput(format!(
                        "input {input:?}: the output of node {:?} has nothing at {output:?}",
                        nodes[from].id
                    )))
                })?;
            set_pointer(&mut params, input, value)
                .map_err(|why| failed(Error::InvalidInput(format!("input {input:?}: {why}"))))?;
        }
        let result = node(db, &n.node)
            .and_then(|node| node.run(params))
            .map_err(failed)?;
        outputs[i] = Some(result.clone());
        out.outputs.push((n.id.clone(), result));
    }
    Ok(out)
}

/// Sets the value at JSON pointer `pointer` in `target`, creating missing
/// objects on the way (`null` counts as missing). An array index must exist
/// or be `-` (append).
fn set_pointer(target: &mut Json, pointer: &str, value: Json) -> std::result::Result<(), String> {
    if pointer.is_empty() {
        *target = value;
        return Ok(());
    }
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err("not a JSON pointer".into());
    };
    let tokens: Vec<String> = rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect();
    let mut at = target;
    for (k, token) in tokens.iter().enumerate() {
        let last = k + 1 == tokens.len();
        if at.is_null() {
            *at = Json::Object(Default::default());
        }
        at = match at {
            Json::Object(map) => {
                let slot = map.entry(token.clone()).or_insert(Json::Null);
                if last {
                    *slot = value;
                    return Ok(());
                }
                slot
            }
            Json::Array(items) => {
                let i = if token == "-" {
                    items.len()
                } else {
                    token
                        .parse::<usize>()
                        .ok()
                        .filter(|&i| i <= items.len())
                        .ok_or_else(|| {
                            format!("{token:?} is no index of an array of {}", items.len())
                        })?
                };
                if i == items.len() {
                    items.push(Json::Null);
                }
                if last {
                    items[i] = value;
                    return Ok(());
                }
                &mut items[i]
            }
            other => {
                return Err(format!(
                    "{:?} cannot be set inside {}",
                    token,
                    match other {
                        Json::Bool(_) => "a boolean",
                        Json::Number(_) => "a number",
                        _ => "a string",
                    }
                ))
            }
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointers_set_values_creating_objects() {
        let mut p = json!({"a": 1});
        set_pointer(&mut p, "/b/c", json!(2)).unwrap();
        set_pointer(&mut p, "/a", json!("x")).unwrap();
        set_pointer(&mut p, "/l", json!([])).unwrap();
        set_pointer(&mut p, "/l/-", json!(1)).unwrap();
        set_pointer(&mut p, "/l/0", json!(5)).unwrap();
        set_pointer(&mut p, "/s~1t~0", json!(true)).unwrap();
        assert_eq!(p, json!({"a": "x", "b": {"c": 2}, "l": [5], "s/t~": true}));
        assert!(set_pointer(&mut p, "/l/3", json!(1)).is_err());
        assert!(set_pointer(&mut p, "/a/b", json!(1)).is_err());
        let mut whole = json!(null);
        set_pointer(&mut whole, "", json!({"k": 1})).unwrap();
        assert_eq!(whole, json!({"k": 1}));
    }

    #[test]
    fn overlapping_inputs() {
        assert!(overlaps("/a", "/a"));
        assert!(overlaps("/a", "/a/b"));
        assert!(overlaps("", "/x"));
        assert!(!overlaps("/a", "/ab"));
        assert!(!overlaps("/a/b", "/a/c"));
    }

    #[test]
    fn workflows_round_trip_through_json() {
        let wf = Workflow::new()
            .add_node("UserCreateNode", "create", json!({"name": "Ann"}))
            .add_node("PostCreateNode", "post", json!({"title": "t"}))
            .connect("create", "/id", "post", "/user_id");
        let j = wf.to_json();
        assert_eq!(
            j,
            json!({
                "nodes": [
                    {"id": "create", "node": "UserCreateNode", "params": {"name": "Ann"}},
                    {"id": "post", "node": "PostCreateNode", "params": {"title": "t"}}
                ],
                "connections": [{"from": "create", "output": "/id", "to": "post", "input": "/user_id"}]
            })
        );
        assert_eq!(Workflow::from_json(j).unwrap(), wf);
        let bad = Workflow::from_json(json!({"nodes": [], "edges": []}));
        assert!(matches!(bad, Err(Error::InvalidInput(m)) if m.contains("edges")));
    }
}
