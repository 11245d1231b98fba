//! Describing a live SQLite database into dataflow's schema type.
//!
//! Four queries whatever the number of tables: SQLite's table-valued pragma
//! functions (`pragma_table_xinfo`, `pragma_index_list`, `pragma_index_info`,
//! `pragma_foreign_key_list`) join against `sqlite_master`. Enum columns'
//! allowed values come from the `CREATE TABLE` text (see [`crate::checks`]).

use std::collections::BTreeMap;

use dataflow_core::migrate::describe::{read_foreign_keys, LiveDetails};
use dataflow_core::migrate::dialect::enum_check_name;
use dataflow_core::migrate::schema::{
    normalized_values, Check, Column, Index, Schema, Table, Trigger,
};
use dataflow_core::model::descriptor::FkAction;
use dataflow_core::{Connection, Describe, LogicalType as T, Result, Value};

use crate::checks::enum_checks;
use crate::dialect::{logical_type, parse_default};

/// How SQLite's live schema is read.
#[derive(Debug, Clone, Copy)]
pub struct SqliteDescribe;

/// The one instance handles use.
pub static SQLITE_DESCRIBE: SqliteDescribe = SqliteDescribe;

impl Describe for SqliteDescribe {
    fn describe(&self, conn: &mut dyn Connection) -> Result<Schema> {
        describe(conn)
    }

    fn describe_details(&self, conn: &mut dyn Connection) -> Result<LiveDetails> {
        describe_details(conn)
    }

    fn has_table(&self, conn: &mut dyn Connection, name: &str) -> Result<bool> {
        let mut found = false;
        conn.query(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
            &[dataflow_core::Value::Text(name.to_owned())],
            &[dataflow_core::LogicalType::BigInt],
            &mut |_| {
                found = true;
                Ok(())
            },
        )?;
        Ok(found)
    }
}

/// Tables that are SQLite's own or dataflow's own are not user tables.
const USER_TABLES: &str = "m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
     AND m.name NOT LIKE '\\_dataflow\\_%' ESCAPE '\\'";

fn text(v: &mut Value) -> String {
    match std::mem::take(v) {
        Value::Text(s) => s,
        _ => String::new(),
    }
}

fn int(v: &Value) -> i64 {
    match v {
        Value::I64(i) => *i,
        _ => 0,
    }
}

fn action(s: &str) -> FkAction {
    match s.to_ascii_uppercase().as_str() {
        "CASCADE" => FkAction::Cascade,
        "RESTRICT" => FkAction::Restrict,
        "SET NULL" => FkAction::SetNull,
        "SET DEFAULT" => FkAction::SetDefault,
        _ => FkAction::NoAction,
    }
}

/// Describes every user table.
fn describe(conn: &mut dyn Connection) -> Result<Schema> {
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    let mut pk_order: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();
    // Columns declared exactly `INTEGER` whose table says AUTOINCREMENT or
    // that are not declared NOT NULL: as the table's only key column they
    // alias the rowid, which the database assigns. (dataflow declares a key it
    // does not let the database assign `INTEGER NOT NULL`, without
    // AUTOINCREMENT.)
    let mut integer_columns: Vec<(String, String)> = Vec::new();
    let mut create_sql: BTreeMap<String, String> = BTreeMap::new();

    let sql = format!(
        "SELECT m.name, m.sql, p.name, p.type, p.\"notnull\", p.dflt_value, p.pk \
         FROM sqlite_master m JOIN pragma_table_xinfo(m.name) p \
         WHERE {USER_TABLES} AND p.hidden = 0 ORDER BY m.name, p.cid"
    );
    conn.query(
        &sql,
        &[],
        &[
            T::Text,
            T::Text,
            T::Text,
            T::Text,
            T::BigInt,
            T::Text,
            T::BigInt,
        ],
        &mut |row| {
            let table = text(&mut row[0]);
            let autoincrement = create_sql
                .entry(table.clone())
                .or_insert_with(|| text(&mut row[1]))
                .to_ascii_uppercase()
                .contains("AUTOINCREMENT");
            let name = text(&mut row[2]);
            let declared = text(&mut row[3]);
            let (ty, max_length) = logical_type(&declared);
            let pk = int(&row[6]);
            if declared.trim().eq_ignore_ascii_case("INTEGER")
                && (autoincrement || int(&row[4]) == 0)
            {
                integer_columns.push((table.clone(), name.clone()));
            }
            let default = match &row[5] {
                Value::Null => None,
                _ => Some(parse_default(&text(&mut row[5]), ty)),
            };
            if pk > 0 {
                pk_order
                    .entry(table.clone())
                    .or_default()
                    .push((pk, name.clone()));
            }
            let t = tables.entry(table.clone()).or_insert_with(|| Table {
                name: table,
                columns: Vec::new(),
                primary_key: Vec::new(),
                indexes: Vec::new(),
                foreign_keys: Vec::new(),
                triggers: Vec::new(),
                checks: Vec::new(),
            });
            t.columns.push(Column {
                name,
                ty,
                nullable: int(&row[4]) == 0,
                max_length,
                default,
                auto_increment: false,
                enum_values: None,
                collation: None,
            });
            Ok(())
        },
    )?;
    // Enum columns: the values their CHECK allows.
    for (table, sql) in &create_sql {
        let Some(t) = tables.get_mut(table) else {
            continue;
        };
        for (column, values) in enum_checks(sql) {
            if let Some(c) = t.columns.iter_mut().find(|c| c.name == column) {
                c.enum_values = Some(normalized_values(values));
            }
        }
        let written = crate::table_text::table_text(sql);
        for (column, collation) in written.collations {
            if let Some(c) = t.columns.iter_mut().find(|c| c.name == column) {
                c.collation = Some(collation);
            }
        }
        t.checks = named_checks(t, written.checks);
    }
    for (table, mut cols) in pk_order {
        cols.sort();
        if let Some(t) = tables.get_mut(&table) {
            t.primary_key = cols.into_iter().map(|(_, c)| c).collect();
            // The rowid alias, with or without AUTOINCREMENT (which only stops
            // the keys of deleted rows from being used again).
            if let [key] = t.primary_key.as_slice() {
                if integer_columns.contains(&(table.clone(), key.clone())) {
                    if let Some(c) = t.columns.iter_mut().find(|c| &c.name == key) {
                        c.auto_increment = true;
                    }
                }
            }
        }
    }

    // A partial index's condition is read back from the `CREATE INDEX` text
    // SQLite keeps verbatim, so it compares equal to what the model declared.
    let sql = format!(
        "SELECT m.name, il.name, il.\"unique\", ii.name, il.partial, mi.sql \
         FROM sqlite_master m JOIN pragma_index_list(m.name) il \
         JOIN pragma_index_info(il.name) ii \
         LEFT JOIN sqlite_master mi ON mi.type = 'index' AND mi.name = il.name \
         WHERE {USER_TABLES} AND il.origin <> 'pk' ORDER BY m.name, il.name, ii.seqno"
    );
    // Indexes over expressions are not dataflow's to manage: left out, so
    // they are neither diffed nor dropped.
    let mut over_expressions: Vec<(String, String)> = Vec::new();
    conn.query(
        &sql,
        &[],
        &[T::Text, T::Text, T::BigInt, T::Text, T::BigInt, T::Text],
        &mut |row| {
            let table = text(&mut row[0]);
            let name = text(&mut row[1]);
            let unique = int(&row[2]) != 0;
            if matches!(row[3], Value::Null) {
                over_expressions.push((table, name));
                return Ok(());
            }
            let column = text(&mut row[3]);
            let predicate = if int(&row[4]) != 0 {
                where_clause(&text(&mut row[5]))
            } else {
                None
            };
            if let Some(t) = tables.get_mut(&table) {
                match t.indexes.iter_mut().find(|i| i.name == name) {
                    Some(i) => i.columns.push(column),
                    None => t.indexes.push(Index {
                        predicate,
                        ..Index::new(name, &[&column], unique)
                    }),
                }
            }
            Ok(())
        },
    )?;

    for (table, name) in over_expressions {
        if let Some(t) = tables.get_mut(&table) {
            t.indexes.retain(|i| i.name != name);
        }
    }

    // Foreign keys over several columns are left out (a model's foreign key
    // has one column).
    let sql = format!(
        "SELECT m.name, fk.\"from\", fk.\"table\", fk.\"to\", fk.on_delete, fk.on_update \
         FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) fk \
         WHERE {USER_TABLES} AND (SELECT count(*) FROM pragma_foreign_key_list(m.name) o \
         WHERE o.id = fk.id) = 1 ORDER BY m.name, fk.id, fk.seq"
    );
    read_foreign_keys(conn, &sql, &mut tables, action)?;

    // Triggers are not dataflow's, but a table rebuild must define them again
    // (dropping the old table drops its triggers).
    let sql = format!(
        "SELECT m.name, tr.name, tr.sql FROM sqlite_master m \
         JOIN sqlite_master tr ON tr.type = 'trigger' AND tr.tbl_name = m.name \
         WHERE {USER_TABLES} AND tr.sql IS NOT NULL ORDER BY m.name, tr.name"
    );
    conn.query(&sql, &[], &[T::Text, T::Text, T::Text], &mut |row| {
        let table = text(&mut row[0]);
        if let Some(t) = tables.get_mut(&table) {
            t.triggers.push(Trigger {
                name: text(&mut row[1]),
                sql: text(&mut row[2]),
            });
        }
        Ok(())
    })?;

    for t in tables.values_mut() {
        t.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        t.foreign_keys.sort_by(|a, b| a.column.cmp(&b.column));
    }
    Ok(Schema { tables })
}

/// The table's checks under their names, the enum columns' checks left out
/// (they are those columns' allowed values). A check written without a name
/// gets the one PostgreSQL would give it, so a model can declare it under the
/// same name on either database: `<table>_<column>_check` when the condition
/// reads one column, `<table>_check` otherwise, followed by `1`, `2`, … when
/// the name is taken.
fn named_checks(t: &Table, written: Vec<crate::table_text::WrittenCheck>) -> Vec<Check> {
    let is_enum_check = |name: &str| {
        t.columns
            .iter()
            .any(|c| c.enum_values.is_some() && enum_check_name(&c.name) == name)
    };
    let mut taken: Vec<String> = written.iter().filter_map(|w| w.name.clone()).collect();
    let mut out = Vec::new();
    for w in written {
        let name = match w.name {
            Some(name) if is_enum_check(&name) => continue,
            Some(name) => name,
            None => {
                let mut read: Vec<&str> = Vec::new();
                for n in crate::table_text::names_in(&w.expr) {
                    if let Some(c) = t.columns.iter().find(|c| c.name.eq_ignore_ascii_case(&n)) {
                        if !read.contains(&c.name.as_str()) {
                            read.push(&c.name);
                        }
                    }
                }
                let base = match read.as_slice() {
                    [one] => format!("{}_{one}_check", t.name),
                    _ => format!("{}_check", t.name),
                };
                let mut name = base.clone();
                let mut n = 0;
                while taken.contains(&name) {
                    n += 1;
                    name = format!("{base}{n}");
                }
                taken.push(name.clone());
                name
            }
        };
        out.push(Check::new(name, &w.expr));
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Views, column types no field type matches exactly, collations, CHECK
/// constraints, and the keys and indexes [`describe`] leaves out.
fn describe_details(conn: &mut dyn Connection) -> Result<LiveDetails> {
    use dataflow_core::migrate::schema::Column;
    use dataflow_core::SchemaDialect;
    let mut details = LiveDetails::default();
    conn.query(
        "SELECT name FROM sqlite_master WHERE type = 'view' ORDER BY name",
        &[],
        &[T::Text],
        &mut |row| {
            details.views.push(text(&mut row[0]));
            Ok(())
        },
    )?;
    let sql = format!(
        "SELECT m.name, m.sql, p.name, p.type, \
         p.pk = 1 AND NOT EXISTS (SELECT 1 FROM pragma_table_xinfo(m.name) o WHERE o.pk > 1) \
         FROM sqlite_master m \
         JOIN pragma_table_xinfo(m.name) p WHERE {USER_TABLES} AND p.hidden = 0 \
         ORDER BY m.name, p.cid"
    );
    let mut create: BTreeMap<String, String> = BTreeMap::new();
    conn.query(
        &sql,
        &[],
        &[T::Text, T::Text, T::Text, T::Text, T::BigInt],
        &mut |row| {
            let table = text(&mut row[0]);
            create
                .entry(table.clone())
                .or_insert_with(|| text(&mut row[1]));
            let column = text(&mut row[2]);
            let declared = text(&mut row[3]);
            let (ty, max_length) = logical_type(&declared);
            let spelled = crate::dialect::SQLITE.column_type(&Column {
                name: column.clone(),
                ty,
                nullable: true,
                max_length,
                default: None,
                auto_increment: false,
                enum_values: None,
                collation: None,
            });
            // INTEGER is what dataflow declares an i32 as, but SQLite stores
            // 64-bit values in it; as the lone key column (the last value
            // selected) it is the rowid (an i64). A part of a composite key is
            // not.
            // REAL is SQLite's own name for the 8-byte float dataflow declares
            // DOUBLE.
            let exact = (declared.trim().eq_ignore_ascii_case(&spelled)
                || declared.trim().eq_ignore_ascii_case("REAL"))
                && !(ty == T::Int && int(&row[4]) == 0);
            let t = details.tables.entry(table).or_default();
            if !exact {
                t.inexact_types.insert(column, declared);
            }
            Ok(())
        },
    )?;
    for (table, sql) in &create {
        let written = crate::table_text::table_text(sql);
        let t = details.tables.entry(table.clone()).or_default();
        t.collations.extend(written.collations);
        t.checks = written
            .checks
            .into_iter()
            .map(|c| format!("({})", c.expr))
            .collect();
    }
    let sql = format!(
        "SELECT m.name, fk.id, fk.\"from\", fk.\"table\", fk.\"to\" \
         FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) fk \
         WHERE {USER_TABLES} AND (SELECT count(*) FROM pragma_foreign_key_list(m.name) o \
         WHERE o.id = fk.id) > 1 ORDER BY m.name, fk.id, fk.seq"
    );
    // (table, key id) → (columns, referenced table, referenced columns)
    type Composite = (Vec<String>, String, Vec<String>);
    let mut composite: BTreeMap<(String, i64), Composite> = BTreeMap::new();
    conn.query(
        &sql,
        &[],
        &[T::Text, T::BigInt, T::Text, T::Text, T::Text],
        &mut |row| {
            let key = (text(&mut row[0]), int(&row[1]));
            let e = composite.entry(key).or_default();
            e.0.push(text(&mut row[2]));
            e.1 = text(&mut row[3]);
            e.2.push(text(&mut row[4]));
            Ok(())
        },
    )?;
    for ((table, _), (from, to_table, to)) in composite {
        details
            .tables
            .entry(table)
            .or_default()
            .composite_foreign_keys
            .push(format!(
                "FOREIGN KEY ({}) REFERENCES {to_table}({})",
                from.join(", "),
                to.join(", ")
            ));
    }
    let sql = format!(
        "SELECT DISTINCT m.name, il.name FROM sqlite_master m \
         JOIN pragma_index_list(m.name) il JOIN pragma_index_xinfo(il.name) ii \
         WHERE {USER_TABLES} AND ii.key = 1 AND ii.cid = -2 ORDER BY m.name, il.name"
    );
    conn.query(&sql, &[], &[T::Text, T::Text], &mut |row| {
        let table = text(&mut row[0]);
        let index = text(&mut row[1]);
        details
            .tables
            .entry(table)
            .or_default()
            .skipped_indexes
            .push(index);
        Ok(())
    })?;
    Ok(details)
}

/// The condition after the top-level `WHERE` of a `CREATE INDEX` statement.
fn where_clause(create_index: &str) -> Option<String> {
    let bytes = create_index.as_bytes();
    let mut quote: Option<u8> = None;
    let mut depth = 0i32;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) => {
                let close = if q == b'[' { b']' } else { q };
                if b == close {
                    quote = None;
                }
            }
            None => match b {
                b'\'' | b'"' | b'`' | b'[' => quote = Some(b),
                b'(' => depth += 1,
                b')' => depth -= 1,
                _ if depth == 0
                    && create_index[i..].len() >= 5
                    && create_index[i..i + 5].eq_ignore_ascii_case("where")
                    && (i == 0
                        || !bytes[i - 1].is_ascii_alphanumeric() && bytes[i - 1] != b'_')
                    && bytes
                        .get(i + 5)
                        .is_none_or(|c| !c.is_ascii_alphanumeric() && *c != b'_') =>
                {
                    return Some(create_index[i + 5..].trim().to_owned());
                }
                _ => {}
            },
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::where_clause;

    #[test]
    fn finds_the_top_level_where() {
        assert_eq!(
            where_clause(r#"CREATE INDEX "where" ON "t" ("a") WHERE "a" IS NOT NULL"#).as_deref(),
            Some(r#""a" IS NOT NULL"#)
        );
        assert_eq!(
            where_clause("CREATE INDEX ix ON t (a) where status = 'a where b'").as_deref(),
            Some("status = 'a where b'")
        );
        assert_eq!(where_clause("CREATE INDEX ix ON t (nowhere)"), None);
    }
}
