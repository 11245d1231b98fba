//! Generated JSON nodes: for every registered model, CRUD operations called by
//! name with JSON parameters (`db.node("UserListNode")?.run(json!({...}))`),
//! for workflow engines, admin tools and HTTP glue.
//!
//! Nodes are a thin layer over the untyped record layer ([`Records`]): JSON
//! values convert through the model's field types by the path fixtures use
//! ([`crate::fixtures::json`]), filters parse into the same [`Expr`] the typed
//! API builds ([`filter`]), and every parameter is checked before anything is
//! sent, so bad input is an [`Error::InvalidInput`] naming its path and writes
//! nothing.
//!
//! | node | parameters | output |
//! |---|---|---|
//! | `<Model>CreateNode` | the record's fields | the stored record |
//! | `<Model>ReadNode` | `{"id": k}` (see below for composite keys) | the record, or `null` |
//! | `<Model>UpdateNode` | `{"id": k, <fields>…}` | the stored record |
//! | `<Model>DeleteNode` | `{"id": k}` | `{"affected": 1}` |
//! | `<Model>ListNode` | `{"filter", "order_by", "limit", "offset", "include_deleted"}` | `{"records": [...], "count": n}` |
//! | `<Model>CountNode` | `{"filter", "include_deleted"}` | `{"count": n}` |
//! | `<Model>BulkCreateNode` | `{"records": [...]}` | `{"affected": n}` |
//! | `<Model>UpsertNode` | `{"record", "conflict_on": ["email"]}` | the stored record |
//! | `<Model>BulkUpsertNode` | `{"records", "conflict_on"}` | `{"affected": n}` |
//! | `<Model>BulkUpdateNode` | `{"filter", "fields", "confirmed"}` | `{"affected": n}` |
//! | `<Model>BulkDeleteNode` | `{"filter", "confirmed"}` | `{"affected": n}` |
//!
//! A record is an object keyed by field name, every column included. The key
//! `k` of a model with a composite key is an object keyed by the key's field
//! names (`{"order_id": 1, "line_no": 2}`) or an array of its values in key
//! order (`[1, 2]`). List's `count` is the number of rows matching the filter
//! before `limit` and `offset`; `conflict_on` names the key, a unique field or the fields of a
//! unique index (bulk writes are all or nothing); `order_by` names fields, `-` in front for descending. `limit` is
//! at most [`MAX_LIMIT`], `offset` at most [`MAX_OFFSET`]. Bulk nodes with an
//! empty filter are refused unless `"confirmed": true`. [`Node::describe`]
//! gives JSON Schemas of a node's parameters and output.

mod describe;
pub mod filter;
pub mod workflow;

use serde_json::{json, Map, Value as Json};

use crate::error::{Error, Result};
use crate::fixtures::json::{value_from_json, value_to_json};
use crate::fixtures::read::convert_row;
use crate::model::descriptor::{ColumnDescriptor, ModelDescriptor};
use crate::model::key::KeyValues;
use crate::model::value::Value;
use crate::query::expr::{Expr, OrderTerm};
use crate::query::record::{now, Records, Select};
use crate::query::QueryHandle;

use describe::field;
use filter::{close_matches, kind, parse_filter, unknown_field};

/// The largest `limit` a List node accepts.
pub const MAX_LIMIT: i64 = 10_000;
/// The largest `offset` a List node accepts.
pub const MAX_OFFSET: i64 = 1_000_000_000;

/// What a node does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeOp {
    /// Insert one record.
    Create,
    /// Read one record by key.
    Read,
    /// Update one record by key.
    Update,
    /// Delete one record by key.
    Delete,
    /// Filtered, ordered, paged records and their count.
    List,
    /// Count the records matching a filter.
    Count,
    /// Insert many records, all or nothing.
    BulkCreate,
    /// Insert a record or update the one it conflicts with.
    Upsert,
    /// Upsert many records, all or nothing.
    BulkUpsert,
    /// Update every record matching a filter.
    BulkUpdate,
    /// Delete every record matching a filter.
    BulkDelete,
}

impl NodeOp {
    /// Every operation, in the order nodes are listed.
    pub const ALL: [NodeOp; 11] = [
        NodeOp::Create,
        NodeOp::Read,
        NodeOp::Update,
        NodeOp::Delete,
        NodeOp::List,
        NodeOp::Count,
        NodeOp::BulkCreate,
        NodeOp::BulkUpdate,
        NodeOp::BulkDelete,
        NodeOp::Upsert,
        NodeOp::BulkUpsert,
    ];

    /// The operation's part of a node name (`List` in `UserListNode`).
    pub fn name(self) -> &'static str {
        match self {
            NodeOp::Create => "Create",
            NodeOp::Read => "Read",
            NodeOp::Update => "Update",
            NodeOp::Delete => "Delete",
            NodeOp::List => "List",
            NodeOp::Count => "Count",
            NodeOp::BulkCreate => "BulkCreate",
            NodeOp::Upsert => "Upsert",
            NodeOp::BulkUpsert => "BulkUpsert",
            NodeOp::BulkUpdate => "BulkUpdate",
            NodeOp::BulkDelete => "BulkDelete",
        }
    }
}

/// One model's node for one operation. See the [module docs](self).
#[derive(Debug, Clone, Copy)]
pub struct Node<'a> {
    records: Records<'a>,
    op: NodeOp,
}

/// The names of every node of the registered models (`UserCreateNode`, …).
pub fn node_names(db: &dyn QueryHandle) -> Vec<String> {
    db.models()
        .iter()
        .flat_map(|m| NodeOp::ALL.iter().map(move |op| node_name(m, *op)))
        .collect()
}

fn node_name(m: &ModelDescriptor, op: NodeOp) -> String {
    format!("{}{}Node", m.name, op.name())
}

/// The node named `name`; `Error::InvalidInput` listing close matches when no
/// registered model has it.
pub fn node<'a>(db: &'a dyn QueryHandle, name: &str) -> Result<Node<'a>> {
    for m in db.models() {
        for op in NodeOp::ALL {
            if node_name(m, op) == name {
                return Ok(Node {
                    records: Records::new(db, m),
                    op,
                });
            }
        }
    }
    let names = node_names(db);
    let close = close_matches(name, names.iter().map(String::as_str));
    Err(Error::InvalidInput(format!(
        "no node named {name:?} ({})",
        if close.is_empty() {
            format!("{} nodes; see DataFlow::nodes()", names.len())
        } else {
            format!("did you mean {}?", close.join(", "))
        }
    )))
}

impl Node<'_> {
    /// The node's name (`UserListNode`).
    pub fn name(&self) -> String {
        node_name(self.records.model(), self.op)
    }

    /// The node's operation.
    pub fn op(&self) -> NodeOp {
        self.op
    }

    /// The model the node works on.
    pub fn model(&self) -> &'static ModelDescriptor {
        self.records.model()
    }

    /// `{"name", "parameters", "output"}`: JSON Schemas (draft 2020-12) of the
    /// node's parameters and of its output, generated from the model.
    pub fn describe(&self) -> Json {
        describe::describe(self.records.model(), self.op, &self.name())
    }

    /// Runs the node with JSON parameters (see the [module docs](self) for
    /// each node's parameters and output).
    pub fn run(&self, params: Json) -> Result<Json> {
        let d = self.records.model();
        let r = &self.records;
        match self.op {
            NodeOp::Create => {
                let row = new_row(d, &params, "params", &now())?;
                Ok(record_json(d, &r.insert(row)?))
            }
            NodeOp::BulkCreate => {
                let p = keys(&params, &["records"])?;
                let rows = new_rows(d, p)?;
                Ok(json!({ "affected": r.insert_many(rows)? }))
            }
            NodeOp::Upsert => {
                let p = keys(&params, &["record", "conflict_on"])?;
                let conflict = conflict_on(d, p)?;
                let record = p.get("record").ok_or_else(|| {
                    invalid("params.record", "missing: the record to insert or update")
                })?;
                let row = new_row(d, record, "params.record", &now())?;
                Ok(record_json(d, &r.upsert(row, &conflict)?))
            }
            NodeOp::BulkUpsert => {
                let p = keys(&params, &["records", "conflict_on"])?;
                let conflict = conflict_on(d, p)?;
                let rows = new_rows(d, p)?;
                Ok(json!({ "affected": r.upsert_many(rows, &conflict)? }))
            }
            NodeOp::Read => {
                let p = keys(&params, &["id"])?;
                let key = key(d, p)?;
                Ok(r.get(key)?.map_or(Json::Null, |row| record_json(d, &row)))
            }
            NodeOp::Update => {
                let p = object(&params, "params", true)?;
                let key = key(d, p)?;
                let mut fields = p.clone();
                fields.remove("id");
                let assignments = assignments(d, &fields, "params")?;
                Ok(record_json(d, &r.update(key, assignments)?))
            }
            NodeOp::Delete => {
                let p = keys(&params, &["id"])?;
                r.delete(key(d, p)?)?;
                Ok(json!({ "affected": 1 }))
            }
            NodeOp::List => {
                let p = keys(
                    &params,
                    &["filter", "order_by", "limit", "offset", "include_deleted"],
                )?;
                let filter = parse_filter(d, p.get("filter").unwrap_or(&Json::Null))?;
                let include_deleted = flag(p, "include_deleted")?;
                let order = order_by(d, p.get("order_by"))?;
                let limit = window(p, "limit", MAX_LIMIT)?;
                let offset = window(p, "offset", MAX_OFFSET)?;
                let count = r.count(filter.clone(), include_deleted)?;
                let rows = r.select(Select {
                    filter,
                    order,
                    limit,
                    offset,
                    include_deleted,
                })?;
                let records: Vec<Json> = rows.iter().map(|row| record_json(d, row)).collect();
                Ok(json!({ "records": records, "count": count }))
            }
            NodeOp::Count => {
                let p = keys(&params, &["filter", "include_deleted"])?;
                let filter = parse_filter(d, p.get("filter").unwrap_or(&Json::Null))?;
                let include_deleted = flag(p, "include_deleted")?;
                Ok(json!({ "count": r.count(filter, include_deleted)? }))
            }
            NodeOp::BulkUpdate => {
                let p = keys(&params, &["filter", "fields", "confirmed"])?;
                let filter = confirmed_filter(d, p)?;
                let fields = object(
                    p.get("fields").unwrap_or(&Json::Null),
                    "params.fields",
                    false,
                )?;
                let assignments = assignments(d, fields, "params.fields")?;
                Ok(json!({ "affected": r.update_where(filter, assignments)? }))
            }
            NodeOp::BulkDelete => {
                let p = keys(&params, &["filter", "confirmed"])?;
                let filter = confirmed_filter(d, p)?;
                Ok(json!({ "affected": r.delete_where(filter)? }))
            }
        }
    }
}

fn invalid(path: &str, why: impl std::fmt::Display) -> Error {
    Error::InvalidInput(format!("{path}: {why}"))
}

/// `json` as an object; `null` counts as `{}` when `null_is_empty`.
fn object<'j>(json: &'j Json, path: &str, null_is_empty: bool) -> Result<&'j Map<String, Json>> {
    static EMPTY: std::sync::OnceLock<Map<String, Json>> = std::sync::OnceLock::new();
    match json {
        Json::Object(m) => Ok(m),
        Json::Null if null_is_empty => Ok(EMPTY.get_or_init(Map::new)),
        other => Err(invalid(
            path,
            format!("expected an object, found {}", kind(other)),
        )),
    }
}

/// The parameters as an object holding only `allowed` keys (`null` is `{}`).
fn keys<'j>(params: &'j Json, allowed: &[&str]) -> Result<&'j Map<String, Json>> {
    let p = object(params, "params", true)?;
    if let Some(k) = p.keys().find(|k| !allowed.contains(&k.as_str())) {
        let close = close_matches(k, allowed.iter().copied());
        return Err(invalid(
            &format!("params.{k}"),
            format!(
                "unknown parameter ({})",
                if close.is_empty() {
                    format!("parameters: {}", allowed.join(", "))
                } else {
                    format!("did you mean {}?", close.join(", "))
                }
            ),
        ));
    }
    Ok(p)
}

/// The key from `params.id`, converted through the key columns' types: the
/// value itself for a single-column key; for a composite key an object keyed
/// by the key's field names (`{"order_id": 1, "line_no": 2}`) or an array in
/// key order (`[1, 2]`).
fn key(d: &'static ModelDescriptor, p: &Map<String, Json>) -> Result<KeyValues> {
    let json = p
        .get("id")
        .ok_or_else(|| invalid("params.id", "missing: the record's key"))?;
    if json.is_null() {
        return Err(invalid("params.id", "the key cannot be null"));
    }
    let part = |c: &ColumnDescriptor, json: &Json, path: &str| {
        if json.is_null() {
            return Err(invalid(path, "a key cannot hold null"));
        }
        value_from_json(c, json).map_err(|why| invalid(path, why))
    };
    if !d.has_composite_key() {
        let c = d.key_columns().next().ok_or_else(|| {
            Error::InvalidInput(format!("{}: the model has no primary key", d.name))
        })?;
        return part(c, json, "params.id").map(KeyValues::One);
    }
    let names: Vec<&str> = d.key_columns().map(field).collect();
    let shape = || {
        format!(
            "an object {{{}}} or an array of {} values in that order",
            names.join(", "),
            names.len()
        )
    };
    let values = match json {
        Json::Object(m) => {
            if let Some(k) = m.keys().find(|k| !names.contains(&k.as_str())) {
                return Err(invalid(
                    &format!("params.id.{k}"),
                    format!("not a key field (the key is {})", names.join(", ")),
                ));
            }
            d.key_columns()
                .map(|c| {
                    let path = format!("params.id.{}", field(c));
                    let json = m
                        .get(field(c))
                        .ok_or_else(|| invalid(&path, "missing: a part of the key"))?;
                    part(c, json, &path)
                })
                .collect::<Result<Vec<Value>>>()?
        }
        Json::Array(items) if items.len() == names.len() => d
            .key_columns()
            .zip(items)
            .enumerate()
            .map(|(i, (c, json))| part(c, json, &format!("params.id[{i}]")))
            .collect::<Result<Vec<Value>>>()?,
        other => {
            return Err(invalid(
                "params.id",
                format!(
                    "the key has several fields: expected {}, found {}",
                    shape(),
                    kind(other)
                ),
            ))
        }
    };
    Ok(KeyValues::Many(values))
}

fn flag(p: &Map<String, Json>, name: &str) -> Result<bool> {
    match p.get(name) {
        None | Some(Json::Null) => Ok(false),
        Some(Json::Bool(b)) => Ok(*b),
        Some(other) => Err(invalid(
            &format!("params.{name}"),
            format!("expected true or false, found {}", kind(other)),
        )),
    }
}

/// `limit` / `offset`: a non-negative integer at most `max`.
fn window(p: &Map<String, Json>, name: &str, max: i64) -> Result<Option<i64>> {
    match p.get(name) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Number(n)) if n.as_i64().is_some_and(|v| (0..=max).contains(&v)) => {
            Ok(n.as_i64())
        }
        Some(other) => Err(invalid(
            &format!("params.{name}"),
            format!("expected an integer from 0 to {max}, found {other}"),
        )),
    }
}

fn order_by(d: &'static ModelDescriptor, json: Option<&Json>) -> Result<Vec<OrderTerm>> {
    let items = match json {
        None | Some(Json::Null) => return Ok(Vec::new()),
        Some(Json::Array(items)) => items,
        Some(other) => {
            return Err(invalid(
                "params.order_by",
                format!("expected an array of field names, found {}", kind(other)),
            ))
        }
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let path = format!("params.order_by[{i}]");
            let Json::String(s) = item else {
                return Err(invalid(
                    &path,
                    format!("expected a field name, found {}", kind(item)),
                ));
            };
            let (name, descending) = match s.strip_prefix('-') {
                Some(rest) => (rest, true),
                None => (s.as_str(), false),
            };
            let c = filter::column(d, name, &path)?;
            Ok(OrderTerm {
                column: c.name,
                descending,
            })
        })
        .collect()
}

/// The filter of a bulk node: refused when it matches every row unless
/// `"confirmed": true`.
fn confirmed_filter(d: &'static ModelDescriptor, p: &Map<String, Json>) -> Result<Expr> {
    let filter = parse_filter(d, p.get("filter").unwrap_or(&Json::Null))?;
    if filter.is_true() && !flag(p, "confirmed")? {
        return Err(invalid(
            "params.filter",
            "an empty filter affects every row; pass \"confirmed\": true to mean it",
        ));
    }
    Ok(filter)
}

/// A complete row from a record object (left-out fields as fixtures fill them).
fn new_row(
    d: &'static ModelDescriptor,
    json: &Json,
    path: &str,
    now: &Value,
) -> Result<Vec<Value>> {
    let fields = object(json, path, false)?;
    writable_fields(d, fields, path, false)?;
    convert_row(d, fields, now).map_err(|(field, why)| {
        Error::InvalidInput(match field {
            Some(f) => format!("{path}.{f}: {why}"),
            None => format!("{path}: {why}"),
        })
    })
}

/// The rows of `params.records`, every one converted before any is written.
fn new_rows(d: &'static ModelDescriptor, p: &Map<String, Json>) -> Result<Vec<Vec<Value>>> {
    let Some(Json::Array(items)) = p.get("records") else {
        return Err(invalid(
            "params.records",
            format!(
                "expected an array of records, found {}",
                p.get("records").map_or("nothing", kind)
            ),
        ));
    };
    let now = now();
    items
        .iter()
        .enumerate()
        .map(|(i, item)| new_row(d, item, &format!("params.records[{i}]"), &now))
        .collect()
}

/// The conflict target of an upsert: field names, as column names.
fn conflict_on(d: &'static ModelDescriptor, p: &Map<String, Json>) -> Result<Vec<&'static str>> {
    let Some(Json::Array(items)) = p.get("conflict_on") else {
        return Err(invalid(
            "params.conflict_on",
            "expected an array of field names (the key, a unique field or a unique index's fields)",
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let path = format!("params.conflict_on[{i}]");
            match item {
                Json::String(name) => Ok(filter::column(d, name, &path)?.name),
                other => Err(invalid(
                    &path,
                    format!("expected a field name, found {}", kind(other)),
                )),
            }
        })
        .collect()
}

/// Refuses fields the caller may not set: unknown ones, managed ones
/// (timestamps, soft delete) and, when updating, the key.
fn writable_fields(
    d: &'static ModelDescriptor,
    fields: &Map<String, Json>,
    path: &str,
    updating: bool,
) -> Result<Vec<(usize, &'static ColumnDescriptor)>> {
    fields
        .keys()
        .map(|name| {
            // The path is formatted only for an error: this runs for every
            // field of every record a node writes.
            let here = || format!("{path}.{name}");
            let i = d
                .columns
                .iter()
                .position(|c| c.field == Some(name.as_str()))
                .or_else(|| d.columns.iter().position(|c| c.name == name))
                .ok_or_else(|| unknown_field(d, name, &here()))?;
            let c = &d.columns[i];
            if !c.is_user_writable() {
                return Err(invalid(&here(), "managed by dataflow; it cannot be set"));
            }
            if updating && c.primary_key {
                return Err(invalid(&here(), "the key cannot be changed"));
            }
            Ok((i, c))
        })
        .collect()
}

fn assignments(
    d: &'static ModelDescriptor,
    fields: &Map<String, Json>,
    path: &str,
) -> Result<Vec<(usize, Value)>> {
    let columns = writable_fields(d, fields, path, true)?;
    columns
        .into_iter()
        .zip(fields.iter())
        .map(|((i, c), (name, json))| {
            value_from_json(c, json)
                .map(|v| (i, v))
                .map_err(|why| invalid(&format!("{path}.{name}"), why))
        })
        .collect()
}

/// A row as a JSON object keyed by field name.
fn record_json(d: &ModelDescriptor, row: &[Value]) -> Json {
    Json::Object(
        d.columns
            .iter()
            .zip(row)
            .map(|(c, v)| (c.field.unwrap_or(c.name).to_owned(), value_to_json(v)))
            .collect(),
    )
}
