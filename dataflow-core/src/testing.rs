//! Test fixtures: loading rows from JSON or SQL files, and dumping tables back to
//! JSON.
//!
//! A JSON fixture maps table names to arrays of rows; each row maps field names
//! (or column names) of the table's registered model to values, converted by
//! [`crate::json::value_from_json`]:
//!
//! ```json
//! {
//!   "posts": [{"id": 1, "user_id": 1, "title": "Hi"}],
//!   "users": [{"id": 1, "name": "Ann", "age": 31}]
//! }
//! ```
//!
//! Tables load in foreign-key order whatever their order in the file; fields left
//! out take a generated key (auto-increment keys), the current time (managed
//! `created_at` / `updated_at`), NULL (`deleted_at`), the declared default, or
//! NULL (nullable fields) — any other missing field is an error; a table or a
//! field given twice in one object is an error too. A `.sql` file is executed
//! verbatim; transaction control in it (`COMMIT`, `BEGIN`, `SAVEPOINT`, …) is
//! refused, since it would break the all-or-nothing load.
//!
//! Every problem is an [`Error::InvalidInput`] naming the file, the table, the row
//! index (counted from 0, as in the array) and the field, and nothing is loaded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde_json::{Map, Value as Json};

use crate::backend::Connection;
use crate::crud::{multi_row_insert, now, rows_per_statement, wants_generated_key};
use crate::dataflow::DataFlow;
use crate::descriptor::{ColumnDescriptor, DefaultValue, Managed, ModelDescriptor};
use crate::error::{Error, Result};
use crate::json::{value_from_json, value_to_json};
use crate::migrate::creation_order;
use crate::schema::Schema;
use crate::value::{LogicalType, Value};

/// Loads one fixture file (`.json` or `.sql`) in one transaction. Returns the
/// number of rows loaded from JSON (rows a `.sql` file inserts are not counted).
pub fn load_fixtures(db: &DataFlow, path: impl AsRef<Path>) -> Result<usize> {
    load_fixture_files(db, &[path.as_ref().to_path_buf()])
}

/// Loads several fixture files, all in one transaction: all of them or nothing.
///
/// Consecutive JSON files are loaded together, in foreign-key order across the
/// files; a `.sql` file runs at its place in the list. Returns the number of rows
/// loaded from JSON.
pub fn load_fixture_files(db: &DataFlow, paths: &[PathBuf]) -> Result<usize> {
    let models = db.models();
    let now = now();
    // Read and convert everything before touching the database.
    let mut steps: Vec<Step> = Vec::new();
    for path in paths {
        let file: Rc<str> = Rc::from(path.display().to_string());
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::InvalidInput(format!("{file}: cannot read fixture file: {e}")))?;
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("json") => {
                if !matches!(steps.last(), Some(Step::Json(_))) {
                    steps.push(Step::Json(BTreeMap::new()));
                }
                let Some(Step::Json(tables)) = steps.last_mut() else {
                    unreachable!("a JSON step was just pushed");
                };
                parse_json_file(&models, &file, &text, &now, tables)?;
            }
            Some(ext) if ext.eq_ignore_ascii_case("sql") => steps.push(Step::Sql { file, text }),
            _ => {
                return Err(Error::InvalidInput(format!(
                    "{file}: unknown fixture kind (expected a .json or .sql file)"
                )))
            }
        }
    }
    db.with_tx(|c| {
        let mut total = 0;
        for step in &steps {
            match step {
                Step::Json(tables) => total += load_tables(db, c, tables)?,
                Step::Sql { file, text } => run_sql(db, &models, c, file, text)?,
            }
        }
        Ok(total)
    })
}

/// Writes `tables` (every registered table, in foreign-key order, when empty) to
/// a JSON fixture file that [`load_fixtures`] reads back into equal rows: tables
/// in the given order, rows ordered by primary key, one row per line, every
/// column (managed ones and soft-deleted rows included), keyed by field name
/// where the column has one.
///
/// A nullable json column holding the JSON document `null` is written as `null`
/// and so reads back as NULL.
pub fn dump_fixtures(db: &DataFlow, path: impl AsRef<Path>, tables: &[&str]) -> Result<()> {
    let path = path.as_ref();
    let models = db.models();
    let chosen: Vec<&'static ModelDescriptor> = if tables.is_empty() {
        let schema = Schema::from_descriptors(models.iter().copied());
        creation_order(&schema)
            .iter()
            .filter_map(|t| models.iter().copied().find(|m| m.table == t.name))
            .collect()
    } else {
        tables
            .iter()
            .map(|t| {
                models
                    .iter()
                    .copied()
                    .find(|m| m.table == *t)
                    .ok_or_else(|| unknown_table(&path.display().to_string(), t, &models))
            })
            .collect::<Result<_>>()?
    };
    let mut out = String::from("{");
    for (n, d) in chosen.iter().enumerate() {
        let rows = read_table(db, d)?;
        out.push_str(if n == 0 { "\n  " } else { ",\n  " });
        out.push_str(&Json::from(d.table).to_string());
        out.push_str(": [");
        for (r, row) in rows.iter().enumerate() {
            out.push_str(if r == 0 { "\n    {" } else { ",\n    {" });
            for (i, (c, v)) in d.columns.iter().zip(row).enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&Json::from(c.field.unwrap_or(c.name)).to_string());
                out.push_str(": ");
                out.push_str(&value_to_json(v).to_string());
            }
            out.push('}');
        }
        out.push_str(if rows.is_empty() { "]" } else { "\n  ]" });
    }
    out.push_str(if chosen.is_empty() { "}\n" } else { "\n}\n" });
    std::fs::write(path, out).map_err(|e| {
        Error::InvalidInput(format!(
            "{}: cannot write fixture file: {e}",
            path.display()
        ))
    })
}

/// Every row of a table, ordered by primary key.
fn read_table(db: &DataFlow, d: &'static ModelDescriptor) -> Result<Vec<Vec<Value>>> {
    let sql = d.sql(db.dialect());
    let mut text = sql.select.clone();
    text.push_str(" ORDER BY ");
    db.dialect().quote_ident(d.pk().name, &mut text);
    let mut rows = Vec::new();
    db.with_conn(|c| {
        c.query(&text, &[], &sql.types, &mut |row| {
            rows.push(row.iter_mut().map(std::mem::take).collect());
            Ok(())
        })
    })?;
    Ok(rows)
}

/// One unit of loading: JSON tables loaded together, or a SQL file.
enum Step {
    Json(BTreeMap<&'static str, TableLoad>),
    Sql { file: Rc<str>, text: String },
}

/// The rows of one table, converted and complete.
struct TableLoad {
    model: &'static ModelDescriptor,
    rows: Vec<FixtureRow>,
}

/// One row, with where it came from.
struct FixtureRow {
    file: Rc<str>,
    index: usize,
    values: Vec<Value>,
}

/// `file: table "t", row index i, field "f"` — as much of it as is known.
fn location(file: &str, table: &str, index: Option<usize>, field: Option<&str>) -> String {
    let mut s = format!("{file}: table {table:?}");
    if let Some(i) = index {
        s.push_str(&format!(", row index {i}"));
    }
    if let Some(f) = field {
        s.push_str(&format!(", field {f:?}"));
    }
    s
}

fn field_name(c: &ColumnDescriptor) -> &'static str {
    c.field.unwrap_or(c.name)
}

fn unknown_table(file: &str, table: &str, models: &[&'static ModelDescriptor]) -> Error {
    let known: Vec<&str> = models.iter().map(|m| m.table).collect();
    Error::InvalidInput(format!(
        "{}: no registered model has this table (registered tables: {})",
        location(file, table, None, None),
        if known.is_empty() {
            "none".to_owned()
        } else {
            known.join(", ")
        }
    ))
}

/// Short description of a JSON value's kind, for messages.
fn kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

fn parse_json_file(
    models: &[&'static ModelDescriptor],
    file: &Rc<str>,
    text: &str,
    now: &Value,
    tables: &mut BTreeMap<&'static str, TableLoad>,
) -> Result<()> {
    let json_error = |e: serde_json::Error| {
        let message = e.to_string();
        let message = message
            .rsplit_once(" at line ")
            .map_or(message.as_str(), |(m, _)| m);
        if e.classify() == serde_json::error::Category::Data {
            // Only `NoDuplicates` reports data errors.
            return Error::InvalidInput(format!(
                "{file}: line {}, column {}: {message}",
                e.line(),
                e.column()
            ));
        }
        Error::InvalidInput(format!(
            "{file}: malformed JSON at line {}, column {}: {message}",
            e.line(),
            e.column()
        ))
    };
    // serde_json's maps keep the last of duplicate keys without a word, so a
    // first pass refuses them (with the position serde_json attaches to the
    // error) before the document is parsed for real.
    serde::de::DeserializeSeed::deserialize(
        NoDuplicates(0),
        &mut serde_json::Deserializer::from_str(text),
    )
    .map_err(json_error)?;
    let doc: Json = serde_json::from_str(text).map_err(json_error)?;
    let Json::Object(doc) = doc else {
        return Err(Error::InvalidInput(format!(
            "{file}: expected an object mapping table names to arrays of rows, found {}",
            kind(&doc)
        )));
    };
    for (table, rows) in &doc {
        let d = models
            .iter()
            .copied()
            .find(|m| m.table == table)
            .ok_or_else(|| unknown_table(file, table, models))?;
        let Json::Array(rows) = rows else {
            return Err(Error::InvalidInput(format!(
                "{}: expected an array of row objects, found {}",
                location(file, table, None, None),
                kind(rows)
            )));
        };
        let load = tables.entry(d.table).or_insert_with(|| TableLoad {
            model: d,
            rows: Vec::new(),
        });
        for (index, row) in rows.iter().enumerate() {
            let Json::Object(row) = row else {
                return Err(Error::InvalidInput(format!(
                    "{}: expected an object mapping field names to values, found {}",
                    location(file, table, Some(index), None),
                    kind(row)
                )));
            };
            let values = convert_row(d, row, now).map_err(|(field, message)| {
                Error::InvalidInput(format!(
                    "{}: {message}",
                    location(file, table, Some(index), field.as_deref())
                ))
            })?;
            load.rows.push(FixtureRow {
                file: file.clone(),
                index,
                values,
            });
        }
    }
    Ok(())
}

/// Walks a JSON document, refusing any object that gives a key twice. The
/// number is the nesting depth in objects and arrays: depth 0 is the object of
/// tables, depth 2 the row objects.
#[derive(Clone, Copy)]
struct NoDuplicates(usize);

impl<'de> serde::de::DeserializeSeed<'de> for NoDuplicates {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for NoDuplicates {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> std::result::Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<(), A::Error> {
        while seq.next_element_seed(NoDuplicates(self.0 + 1))?.is_some() {}
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<(), A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                let what = match self.0 {
                    0 => "table",
                    2 => "field",
                    _ => "key",
                };
                return Err(serde::de::Error::custom(format!(
                    "{what} {key:?} given twice in one object (only one of them could be used)"
                )));
            }
            map.next_value_seed(NoDuplicates(self.0 + 1))?;
        }
        Ok(())
    }
}

/// A complete row of values for `d`, or `(field, problem)`.
fn convert_row(
    d: &ModelDescriptor,
    row: &Map<String, Json>,
    now: &Value,
) -> std::result::Result<Vec<Value>, (Option<String>, String)> {
    let mut values: Vec<Option<Value>> = vec![None; d.columns.len()];
    for (key, json) in row {
        let i = d
            .columns
            .iter()
            .position(|c| c.field == Some(key.as_str()))
            .or_else(|| d.columns.iter().position(|c| c.name == key))
            .ok_or_else(|| {
                let fields: Vec<&str> = d.columns.iter().map(field_name).collect();
                (
                    Some(key.clone()),
                    format!(
                        "unknown field of model {} (fields: {})",
                        d.name,
                        fields.join(", ")
                    ),
                )
            })?;
        let c = &d.columns[i];
        if values[i].is_some() {
            return Err((
                Some(key.clone()),
                format!(
                    "given twice (as field {:?} and column {:?})",
                    field_name(c),
                    c.name
                ),
            ));
        }
        values[i] = Some(value_from_json(c, json).map_err(|m| (Some(key.clone()), m))?);
    }
    d.columns
        .iter()
        .zip(values)
        .map(|(c, v)| match v {
            Some(v) => Ok(v),
            None => missing_value(c, now).map_err(|m| (Some(field_name(c).to_owned()), m)),
        })
        .collect()
}

/// The value of a column the row leaves out.
fn missing_value(c: &ColumnDescriptor, now: &Value) -> std::result::Result<Value, String> {
    if c.primary_key && c.auto_increment {
        // Zero asks the database for a key (see `crud::wants_generated_key`).
        return Ok(match c.ty {
            LogicalType::SmallInt => Value::I16(0),
            LogicalType::Int => Value::I32(0),
            _ => Value::I64(0),
        });
    }
    match c.managed {
        Some(Managed::CreatedAt | Managed::UpdatedAt) => return Ok(current(c.ty, now)),
        Some(Managed::DeletedAt) => return Ok(Value::Null),
        None => {}
    }
    if let Some(default) = c.default {
        return default_value(c, default, now);
    }
    if c.nullable {
        return Ok(Value::Null);
    }
    Err(format!(
        "missing required field (a {} value; the field is not nullable and has no default)",
        c.ty
    ))
}

/// The current time as a value of `ty`.
fn current(ty: LogicalType, now: &Value) -> Value {
    let Value::TimestampTz(t) = now else {
        return now.clone();
    };
    match ty {
        LogicalType::Date => Value::Date(t.date_naive()),
        LogicalType::Timestamp => Value::Timestamp(t.naive_utc()),
        _ => now.clone(),
    }
}

/// A declared default as a value of the column.
fn default_value(
    c: &ColumnDescriptor,
    default: DefaultValue,
    now: &Value,
) -> std::result::Result<Value, String> {
    let json = match default {
        DefaultValue::CurrentTimestamp => return Ok(current(c.ty, now)),
        DefaultValue::Bool(b) => Json::Bool(b),
        DefaultValue::Int(i) => Json::from(i),
        DefaultValue::Float(f) => Json::from(f),
        DefaultValue::Text(t) if c.ty == LogicalType::Json => serde_json::from_str(t)
            .map_err(|e| format!("the declared default {t:?} is not JSON: {e}"))?,
        DefaultValue::Text(t) | DefaultValue::Decimal(t) => Json::from(t),
        DefaultValue::Json(t) => serde_json::from_str(t)
            .map_err(|e| format!("the declared default {t:?} is not JSON: {e}"))?,
    };
    value_from_json(c, &json).map_err(|e| format!("the declared default does not fit: {e}"))
}

const CHUNK_SAVEPOINT: &str = "dataflow_fixture_chunk";
const ROW_SAVEPOINT: &str = "dataflow_fixture_row";

/// Inserts converted tables in foreign-key order; returns the rows inserted.
fn load_tables(
    db: &DataFlow,
    c: &mut dyn Connection,
    tables: &BTreeMap<&'static str, TableLoad>,
) -> Result<usize> {
    let schema = Schema::from_descriptors(tables.values().map(|t| t.model));
    let mut total = 0;
    for table in creation_order(&schema) {
        let Some(load) = tables.get(table.name.as_str()) else {
            continue;
        };
        let d = load.model;
        // Rows with explicit keys first, then the key generator moves past them,
        // so keys generated for the other rows cannot collide with them.
        let (explicit, generated): (Vec<&FixtureRow>, Vec<&FixtureRow>) = load
            .rows
            .iter()
            .partition(|r| !wants_generated_key(d, &r.values[d.primary_key]));
        total += insert_rows(db, c, d, &explicit)?;
        if d.pk().auto_increment && !explicit.is_empty() {
            if let Some(sql) = db.dialect().reset_key_sequence(d.table, d.pk().name) {
                c.batch_execute(&sql)?;
            }
        }
        total += insert_rows(db, c, d, &generated)?;
    }
    Ok(total)
}

/// Multi-row inserts, each chunk under a savepoint; a failing chunk is retried
/// row by row to find the offending row.
fn insert_rows(
    db: &DataFlow,
    c: &mut dyn Connection,
    d: &'static ModelDescriptor,
    rows: &[&FixtureRow],
) -> Result<usize> {
    let mut total = 0;
    for chunk in rows.chunks(rows_per_statement(db, d.columns.len())) {
        let mut values: Vec<Vec<Value>> = chunk.iter().map(|r| r.values.clone()).collect();
        let s = multi_row_insert(db, d, &mut values).finish();
        c.batch_execute(&format!("SAVEPOINT {CHUNK_SAVEPOINT}"))?;
        match c.execute(&s.text, &s.binds) {
            Ok(n) => {
                c.batch_execute(&format!("RELEASE SAVEPOINT {CHUNK_SAVEPOINT}"))?;
                total += n;
            }
            Err(e) if !is_row_error(&e) => return Err(e),
            Err(_) => {
                c.batch_execute(&format!(
                    "ROLLBACK TO SAVEPOINT {CHUNK_SAVEPOINT}; RELEASE SAVEPOINT {CHUNK_SAVEPOINT}"
                ))?;
                for row in chunk {
                    total += insert_one(db, c, d, row)?;
                }
                // Reaching here, every row went in alone: the chunk failed only as
                // a whole (rows referring to later rows of the same table).
            }
        }
    }
    Ok(total)
}

fn insert_one(
    db: &DataFlow,
    c: &mut dyn Connection,
    d: &'static ModelDescriptor,
    row: &FixtureRow,
) -> Result<usize> {
    let s = multi_row_insert(db, d, &mut [row.values.clone()]).finish();
    c.batch_execute(&format!("SAVEPOINT {ROW_SAVEPOINT}"))?;
    match c.execute(&s.text, &s.binds) {
        Ok(n) => {
            c.batch_execute(&format!("RELEASE SAVEPOINT {ROW_SAVEPOINT}"))?;
            Ok(n)
        }
        Err(e) => {
            c.batch_execute(&format!(
                "ROLLBACK TO SAVEPOINT {ROW_SAVEPOINT}; RELEASE SAVEPOINT {ROW_SAVEPOINT}"
            ))?;
            Err(row_error(db, c, d, row, e))
        }
    }
}

/// Errors a single row can cause (as opposed to the connection or a lock).
fn is_row_error(e: &Error) -> bool {
    !matches!(
        e,
        Error::Busy { .. } | Error::Connection(_) | Error::LockTimeout { .. }
    )
}

/// The error of one row's insert, with its file, table, row index and field.
fn row_error(
    db: &DataFlow,
    c: &mut dyn Connection,
    d: &'static ModelDescriptor,
    row: &FixtureRow,
    e: Error,
) -> Error {
    let at = |field: Option<&str>| location(&row.file, d.table, Some(row.index), field);
    let column = |name: &str| d.columns.iter().position(|c| c.name == name);
    match e {
        Error::UniqueViolation { fields, .. } => {
            let cols: Vec<usize> = fields.iter().filter_map(|f| column(f)).collect();
            let names: Vec<&str> = cols.iter().map(|&i| field_name(&d.columns[i])).collect();
            let vals: Vec<String> = cols.iter().map(|&i| row.values[i].to_string()).collect();
            Error::InvalidInput(match cols.len() {
                0 => format!("{}: duplicate value for a unique constraint", at(None)),
                1 => format!(
                    "{}: duplicate value {}: another row already has it (unique)",
                    at(Some(names[0])),
                    vals[0]
                ),
                _ => format!(
                    "{}: duplicate values ({}) for the unique fields ({}): another row already has them",
                    at(Some(names[0])),
                    vals.join(", "),
                    names.join(", ")
                ),
            })
        }
        Error::ForeignKeyViolation { message } => match missing_reference(db, c, d, row) {
            Some((i, fk)) => Error::InvalidInput(format!(
                "{}: foreign key violated: no row in {} with {} = {}",
                at(Some(field_name(&d.columns[i]))),
                fk.references_table,
                fk.references_column,
                row.values[i]
            )),
            None => Error::InvalidInput(format!("{}: foreign key violated: {message}", at(None))),
        },
        Error::NotNullViolation { column: col, .. } => {
            let field = column(&col).map_or(col.as_str(), |i| field_name(&d.columns[i]));
            Error::InvalidInput(format!("{}: NULL is not allowed", at(Some(field))))
        }
        Error::CheckViolation { message } => Error::InvalidInput(format!(
            "{}: check constraint violated: {message}",
            at(None)
        )),
        Error::InvalidInput(message) => Error::InvalidInput(format!("{}: {message}", at(None))),
        Error::Database(message) => Error::Database(format!("{}: {message}", at(None))),
        other => other,
    }
}

/// The first foreign key of the row whose referenced row does not exist.
fn missing_reference(
    db: &DataFlow,
    c: &mut dyn Connection,
    d: &'static ModelDescriptor,
    row: &FixtureRow,
) -> Option<(usize, &'static crate::descriptor::ForeignKeyDescriptor)> {
    let dialect = db.dialect();
    d.foreign_keys.iter().find_map(|fk| {
        let i = d.columns.iter().position(|c| c.name == fk.column)?;
        let value = &row.values[i];
        if value.is_null() {
            return None;
        }
        let mut sql = String::from("SELECT COUNT(*) FROM ");
        dialect.quote_ident(fk.references_table, &mut sql);
        sql.push_str(" WHERE ");
        dialect.quote_ident(fk.references_column, &mut sql);
        sql.push_str(" = ");
        dialect.placeholder(1, &mut sql);
        let mut count = None;
        let found = c.query(
            &sql,
            std::slice::from_ref(value),
            &[LogicalType::BigInt],
            &mut |r| {
                count = Some(std::mem::take(&mut r[0]));
                Ok(())
            },
        );
        match (found, count) {
            (Ok(()), Some(Value::I64(0))) => Some((i, fk)),
            _ => None,
        }
    })
}

/// Runs a `.sql` fixture, then moves key generators past any keys it inserted.
fn run_sql(
    db: &DataFlow,
    models: &[&'static ModelDescriptor],
    c: &mut dyn Connection,
    file: &str,
    text: &str,
) -> Result<()> {
    if let Some((line, words)) = transaction_control(text) {
        return Err(Error::InvalidInput(format!(
            "{file}: line {line}: transaction control is not allowed in a .sql fixture \
             (found {words}); fixtures load in one transaction of their own, all or nothing"
        )));
    }
    c.batch_execute(text).map_err(|e| match e {
        Error::UniqueViolation { .. }
        | Error::ForeignKeyViolation { .. }
        | Error::NotNullViolation { .. }
        | Error::CheckViolation { .. } => Error::InvalidInput(format!("{file}: {e}")),
        Error::InvalidInput(m) => Error::InvalidInput(format!("{file}: {m}")),
        Error::Database(m) => Error::Database(format!("{file}: {m}")),
        other => other,
    })?;
    for d in models.iter().filter(|d| d.pk().auto_increment) {
        if let Some(sql) = db.dialect().reset_key_sequence(d.table, d.pk().name) {
            if db.backend().has_table(c, d.table)? {
                c.batch_execute(&sql)?;
            }
        }
    }
    Ok(())
}

/// The line and first words of the first statement of `sql` that controls the
/// transaction (`BEGIN`, `COMMIT`, `END`, `ROLLBACK`, `ABORT`, `SAVEPOINT`,
/// `RELEASE`, `START TRANSACTION`), in any case; words inside string literals,
/// quoted identifiers and comments do not count, nor `BEGIN … END` blocks inside
/// a statement (trigger bodies, `BEGIN ATOMIC`).
///
/// Hand-rolled rather than a SQL parser crate: only the lexical structure
/// matters here, and fixture files hold dialect-specific SQL (dollar quotes,
/// trigger bodies) that a full parser could refuse although the database runs it.
fn transaction_control(sql: &str) -> Option<(usize, String)> {
    let b = sql.as_bytes();
    let line_at = |i: usize| 1 + b[..i].iter().filter(|&&c| c == b'\n').count();
    let is_word = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80;
    // Words of the current statement so far (only the first two matter), and
    // the depth of BEGIN … END blocks and CASE … END expressions inside it.
    let mut first: Option<(usize, String)> = None;
    let mut second: Option<String> = None;
    let (mut blocks, mut cases) = (0usize, 0usize);
    let mut i = 0;
    let check = |first: &Option<(usize, String)>, second: &Option<String>| {
        let (at, w) = first.as_ref()?;
        let refused = match w.as_str() {
            "BEGIN" | "COMMIT" | "END" | "ROLLBACK" | "ABORT" | "SAVEPOINT" | "RELEASE" => true,
            "START" => second.as_deref() == Some("TRANSACTION"),
            _ => false,
        };
        refused.then(|| {
            let words = match second {
                Some(s) => format!("{w} {s}"),
                None => w.clone(),
            };
            (line_at(*at), words)
        })
    };
    while i < b.len() {
        let c = b[i];
        if b[i..].starts_with(b"--") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            // PostgreSQL nests block comments.
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == b'\'' || c == b'"' || c == b'`' || c == b'[' {
            // E'…' strings (PostgreSQL) take backslash escapes.
            let backslash = c == b'\''
                && i > 0
                && (b[i - 1] == b'E' || b[i - 1] == b'e')
                && (i < 2 || !is_word(b[i - 2]));
            let close = if c == b'[' { b']' } else { c };
            i += 1;
            while i < b.len() {
                if backslash && b[i] == b'\\' {
                    i += 2;
                } else if b[i] == close {
                    // A doubled quote is one quote inside the literal.
                    if close != b']' && b.get(i + 1) == Some(&close) {
                        i += 2;
                    } else {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            i += 1;
            if first.is_none() {
                first = Some((i, String::new()));
            }
        } else if c == b'$' && (i == 0 || !is_word(b[i - 1])) {
            // A dollar quote `$tag$ … $tag$`; `$1` is a parameter.
            let tag_end = b[i + 1..]
                .iter()
                .position(|&c| !is_word(c))
                .map(|n| i + 1 + n);
            match tag_end {
                Some(e) if b[e] == b'$' && !b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                    let tag = &b[i..=e];
                    let body = e + 1;
                    i = b[body..]
                        .windows(tag.len())
                        .position(|w| w == tag)
                        .map_or(b.len(), |n| body + n + tag.len());
                }
                _ => i += 1,
            }
            if first.is_none() {
                first = Some((i, String::new()));
            }
        } else if is_word(c) {
            let start = i;
            while i < b.len() && is_word(b[i]) {
                i += 1;
            }
            let word = sql[start..i].to_ascii_uppercase();
            match &first {
                None => first = Some((start, word)),
                Some(_) => {
                    if second.is_none() {
                        second = Some(word.clone());
                    }
                    match word.as_str() {
                        "BEGIN" => blocks += 1,
                        "CASE" => cases += 1,
                        "END" if cases > 0 => cases -= 1,
                        "END" => blocks = blocks.saturating_sub(1),
                        _ => {}
                    }
                }
            }
        } else if c == b';' && blocks == 0 {
            if let Some(found) = check(&first, &second) {
                return Some(found);
            }
            (first, second, cases) = (None, None, 0);
            i += 1;
        } else {
            if first.is_none() && !c.is_ascii_whitespace() {
                first = Some((i, String::new()));
            }
            i += 1;
        }
    }
    check(&first, &second)
}

/// A key naming a model set together with its fixture files' contents: test
/// templates built with fixtures are reused only while both are unchanged.
/// Unreadable files are an `InvalidInput` naming the file.
pub fn template_key(models: &[&'static ModelDescriptor], fixtures: &[PathBuf]) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(Schema::from_descriptors(models.iter().copied()).checksum());
    for path in fixtures {
        let bytes = std::fs::read(path).map_err(|e| {
            Error::InvalidInput(format!("{}: cannot read fixture file: {e}", path.display()))
        })?;
        h.update(path.to_string_lossy().as_bytes());
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    Ok(h.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::transaction_control;

    #[test]
    fn transaction_control_is_found_at_statement_starts_only() {
        let found = |sql: &str| transaction_control(sql).map(|(line, w)| format!("{line} {w}"));
        assert_eq!(
            found("INSERT INTO t VALUES (1);\ncommit"),
            Some("2 COMMIT".into())
        );
        assert_eq!(
            found("begin transaction;"),
            Some("1 BEGIN TRANSACTION".into())
        );
        assert_eq!(
            found("start transaction;"),
            Some("1 START TRANSACTION".into())
        );
        assert_eq!(
            found("SELECT 1; Rollback To s"),
            Some("1 ROLLBACK TO".into())
        );
        assert_eq!(found("SELECT 'a'';COMMIT;';"), None);
        assert_eq!(found("SELECT E'\\';COMMIT;';"), None);
        assert_eq!(found("SELECT \"x;commit\" FROM t;"), None);
        assert_eq!(found("SELECT $$;COMMIT;$$, $t$;END;$t$;"), None);
        assert_eq!(found("/* /* ; */ COMMIT; */ SELECT 1;"), None);
        assert_eq!(found("SELECT $1; -- ;commit\n"), None);
        // Trigger bodies and SQL-standard function bodies are blocks.
        let trigger = "CREATE TRIGGER tr AFTER INSERT ON t BEGIN \
                       UPDATE t SET a = CASE WHEN 1 THEN 2 ELSE 3 END; DELETE FROM u; END;\n\
                       INSERT INTO t VALUES (1);";
        assert_eq!(found(trigger), None);
        assert_eq!(found(&format!("{trigger}\nEND;")), Some("3 END".into()));
        assert_eq!(
            found("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;"),
            None
        );
        assert_eq!(found("SELECT 1;   "), None);
    }
}
