//! Describing a live SQLite database into dataflow's schema type.
//!
//! Three queries whatever the number of tables: SQLite's table-valued pragma
//! functions (`pragma_table_xinfo`, `pragma_index_list`, `pragma_index_info`,
//! `pragma_foreign_key_list`) join against `sqlite_master`.

use std::collections::BTreeMap;

use dataflow_core::descriptor::FkAction;
use dataflow_core::schema::{Column, ForeignKey, Index, Schema, Table};
use dataflow_core::{Connection, LogicalType as T, Result, Value};

use crate::dialect::{logical_type, parse_default};

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
pub fn describe(conn: &mut dyn Connection) -> Result<Schema> {
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    let mut pk_order: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();

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
            let create_sql = text(&mut row[1]).to_ascii_uppercase();
            let name = text(&mut row[2]);
            let (ty, max_length) = logical_type(&text(&mut row[3]));
            let pk = int(&row[6]);
            let auto_increment = pk > 0 && ty == T::Int && create_sql.contains("AUTOINCREMENT");
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
            });
            t.columns.push(Column {
                name,
                ty,
                nullable: int(&row[4]) == 0,
                max_length,
                default,
                auto_increment,
            });
            Ok(())
        },
    )?;
    for (table, mut cols) in pk_order {
        cols.sort();
        if let Some(t) = tables.get_mut(&table) {
            t.primary_key = cols.into_iter().map(|(_, c)| c).collect();
        }
    }

    let sql = format!(
        "SELECT m.name, il.name, il.\"unique\", ii.name \
         FROM sqlite_master m JOIN pragma_index_list(m.name) il \
         JOIN pragma_index_info(il.name) ii \
         WHERE {USER_TABLES} AND il.origin <> 'pk' ORDER BY m.name, il.name, ii.seqno"
    );
    conn.query(
        &sql,
        &[],
        &[T::Text, T::Text, T::BigInt, T::Text],
        &mut |row| {
            let table = text(&mut row[0]);
            let name = text(&mut row[1]);
            let unique = int(&row[2]) != 0;
            let column = text(&mut row[3]);
            if let Some(t) = tables.get_mut(&table) {
                match t.indexes.iter_mut().find(|i| i.name == name) {
                    Some(i) => i.columns.push(column),
                    None => t.indexes.push(Index {
                        name,
                        columns: vec![column],
                        unique,
                    }),
                }
            }
            Ok(())
        },
    )?;

    let sql = format!(
        "SELECT m.name, fk.\"from\", fk.\"table\", fk.\"to\", fk.on_delete, fk.on_update \
         FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) fk \
         WHERE {USER_TABLES} ORDER BY m.name, fk.id, fk.seq"
    );
    conn.query(
        &sql,
        &[],
        &[T::Text, T::Text, T::Text, T::Text, T::Text, T::Text],
        &mut |row| {
            let table = text(&mut row[0]);
            if let Some(t) = tables.get_mut(&table) {
                t.foreign_keys.push(ForeignKey {
                    column: text(&mut row[1]),
                    references_table: text(&mut row[2]),
                    references_column: text(&mut row[3]),
                    on_delete: action(&text(&mut row[4])),
                    on_update: action(&text(&mut row[5])),
                });
            }
            Ok(())
        },
    )?;

    for t in tables.values_mut() {
        t.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        t.foreign_keys.sort_by(|a, b| a.column.cmp(&b.column));
    }
    Ok(Schema { tables })
}
