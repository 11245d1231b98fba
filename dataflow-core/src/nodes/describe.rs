//! JSON Schemas of the nodes' parameters and outputs, generated from the model
//! descriptor, so tools can build forms and validate before calling.

use serde_json::{json, Map, Value as Json};

use crate::model::descriptor::{ColumnDescriptor, ModelDescriptor};
use crate::model::value::LogicalType;
use crate::nodes::{NodeOp, MAX_LIMIT, MAX_OFFSET};

/// The name a column goes by in JSON: its field name, or the column's name.
pub(super) fn field(c: &ColumnDescriptor) -> &'static str {
    c.field.unwrap_or(c.name)
}

/// The schema of one column's JSON value (as `value_from_json` accepts it).
fn value_schema(c: &ColumnDescriptor) -> Json {
    let s = match c.ty {
        LogicalType::SmallInt => {
            json!({"type": "integer", "minimum": i16::MIN, "maximum": i16::MAX})
        }
        LogicalType::Int => json!({"type": "integer", "minimum": i32::MIN, "maximum": i32::MAX}),
        LogicalType::BigInt => json!({"type": "integer", "minimum": i64::MIN, "maximum": i64::MAX}),
        LogicalType::Float | LogicalType::Double => json!({"anyOf": [
            {"type": "number"}, {"enum": ["NaN", "Infinity", "-Infinity"]}
        ]}),
        LogicalType::Bool => json!({"type": "boolean"}),
        LogicalType::Text => match (c.enum_type, c.max_length) {
            (Some(e), _) => json!({"type": "string", "enum": e.values}),
            (None, Some(n)) => json!({"type": "string", "maxLength": n}),
            (None, None) => json!({"type": "string"}),
        },
        LogicalType::Bytes => json!({"type": "string", "contentEncoding": "base64"}),
        LogicalType::Date => json!({"type": "string", "format": "date"}),
        LogicalType::Timestamp => json!({
            "type": "string",
            "pattern": "^\\d{4}-\\d{2}-\\d{2}[T ]\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?$"
        }),
        LogicalType::TimestampTz => json!({"type": "string", "format": "date-time"}),
        LogicalType::Uuid => json!({"type": "string", "format": "uuid"}),
        LogicalType::Decimal => json!({"type": ["string", "number"]}),
        LogicalType::Json => json!({}),
    };
    if c.nullable && c.ty != LogicalType::Json {
        json!({"anyOf": [s, {"type": "null"}]})
    } else {
        s
    }
}

fn object(properties: Map<String, Json>, required: &[&str]) -> Json {
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// A stored record: every column, by field name.
fn record(d: &ModelDescriptor) -> Json {
    let props = d
        .columns
        .iter()
        .map(|c| (field(c).to_owned(), value_schema(c)))
        .collect();
    let all: Vec<&str> = d.columns.iter().map(field).collect();
    object(props, &all)
}

/// A record to insert: writable fields; required unless the database or a
/// default fills them in.
fn new_record(d: &ModelDescriptor) -> Json {
    let writable = || d.columns.iter().filter(|c| c.is_user_writable());
    let props = writable()
        .map(|c| (field(c).to_owned(), value_schema(c)))
        .collect();
    let required: Vec<&str> = writable()
        .filter(|c| !(c.primary_key && c.auto_increment) && c.default.is_none() && !c.nullable)
        .map(field)
        .collect();
    object(props, &required)
}

/// Fields an update may set (writable, not the key), none required.
fn fields(d: &ModelDescriptor) -> Map<String, Json> {
    d.columns
        .iter()
        .filter(|c| c.is_user_writable() && !c.primary_key)
        .map(|c| (field(c).to_owned(), value_schema(c)))
        .collect()
}

/// The key: its value, or for a composite key an object of its fields or an
/// array of their values in key order.
fn key(d: &ModelDescriptor) -> Json {
    let mut s = if d.has_composite_key() {
        let props: Map<String, Json> = d
            .key_columns()
            .map(|c| (field(c).to_owned(), value_schema(c)))
            .collect();
        let names: Vec<&str> = d.key_columns().map(field).collect();
        let items: Vec<Json> = d.key_columns().map(value_schema).collect();
        json!({"oneOf": [
            object(props, &names),
            {"type": "array", "prefixItems": items, "minItems": names.len(), "maxItems": names.len()},
        ]})
    } else {
        d.key_columns().next().map_or(json!({}), value_schema)
    };
    if let Json::Object(m) = &mut s {
        m.insert("description".into(), json!("the record's key"));
    }
    s
}

fn filter() -> Json {
    json!({
        "type": ["object", "null"],
        "description": "a Mongo-style filter: {\"field\": value} or {\"field\": {\"$op\": value}}; \
                        operators $eq $ne $gt $gte $lt $lte $in $nin $like $regex (with \
                        $options \"i\") $null $exists $not, and $and/$or/$not at any level"
    })
}

fn field_names(d: &ModelDescriptor) -> Vec<&'static str> {
    d.columns.iter().map(field).collect()
}

fn props(entries: Vec<(&str, Json)>) -> Map<String, Json> {
    entries
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

/// `{"parameters": <schema>, "output": <schema>}` for one node.
pub(super) fn describe(d: &ModelDescriptor, op: NodeOp, name: &str) -> Json {
    let affected = object(
        props(vec![("affected", json!({"type": "integer", "minimum": 0}))]),
        &["affected"],
    );
    let confirmed =
        json!({"type": "boolean", "description": "required true when the filter is empty"});
    let conflict_on = json!({
        "type": "array",
        "items": {"enum": field_names(d)},
        "minItems": 1,
        "description": "the key, a unique field or the fields of a unique index",
    });
    let (parameters, output) = match op {
        NodeOp::Create => (new_record(d), record(d)),
        NodeOp::Read => (
            object(props(vec![("id", key(d))]), &["id"]),
            json!({"anyOf": [record(d), {"type": "null"}]}),
        ),
        NodeOp::Update => {
            let mut p = fields(d);
            p.insert("id".into(), key(d));
            (object(p, &["id"]), record(d))
        }
        NodeOp::Delete => (object(props(vec![("id", key(d))]), &["id"]), affected),
        NodeOp::List => {
            let order: Vec<String> = field_names(d)
                .iter()
                .flat_map(|f| [f.to_string(), format!("-{f}")])
                .collect();
            (
                object(
                    props(vec![
                        ("filter", filter()),
                        (
                            "order_by",
                            json!({"type": "array", "items": {"enum": order}}),
                        ),
                        (
                            "limit",
                            json!({"type": "integer", "minimum": 0, "maximum": MAX_LIMIT}),
                        ),
                        (
                            "offset",
                            json!({"type": "integer", "minimum": 0, "maximum": MAX_OFFSET}),
                        ),
                        ("include_deleted", json!({"type": "boolean"})),
                    ]),
                    &[],
                ),
                object(
                    props(vec![
                        ("records", json!({"type": "array", "items": record(d)})),
                        ("count", json!({"type": "integer", "minimum": 0})),
                    ]),
                    &["records", "count"],
                ),
            )
        }
        NodeOp::Count => (
            object(
                props(vec![
                    ("filter", filter()),
                    ("include_deleted", json!({"type": "boolean"})),
                ]),
                &[],
            ),
            object(
                props(vec![("count", json!({"type": "integer", "minimum": 0}))]),
                &["count"],
            ),
        ),
        NodeOp::BulkCreate => (
            object(
                props(vec![(
                    "records",
                    json!({"type": "array", "items": new_record(d)}),
                )]),
                &["records"],
            ),
            affected,
        ),
        NodeOp::Upsert => (
            object(
                props(vec![
                    ("record", new_record(d)),
                    ("conflict_on", conflict_on),
                ]),
                &["record", "conflict_on"],
            ),
            record(d),
        ),
        NodeOp::BulkUpsert => (
            object(
                props(vec![
                    ("records", json!({"type": "array", "items": new_record(d)})),
                    ("conflict_on", conflict_on),
                ]),
                &["records", "conflict_on"],
            ),
            affected,
        ),
        NodeOp::BulkUpdate => (
            object(
                props(vec![
                    ("filter", filter()),
                    ("fields", object(fields(d), &[])),
                    ("confirmed", confirmed),
                ]),
                &["fields"],
            ),
            affected,
        ),
        NodeOp::BulkDelete => (
            object(
                props(vec![("filter", filter()), ("confirmed", confirmed)]),
                &[],
            ),
            affected,
        ),
    };
    json!({
        "name": name,
        "parameters": with_draft(parameters),
        "output": with_draft(output),
    })
}

fn with_draft(mut schema: Json) -> Json {
    if let Json::Object(m) = &mut schema {
        m.insert(
            "$schema".into(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
    }
    schema
}
