//! Describing the live PostgreSQL schema (the connection's `current_schema()`)
//! from `pg_catalog`, in five queries whatever the number of tables.
//!
//! Over 500 lines only with its unit tests (about 60); how PostgreSQL prints
//! the conditions a model writes is `crate::reprint`.

use std::collections::BTreeMap;

use dataflow_core::migrate::describe::{read_foreign_keys, LiveDetails};
use dataflow_core::migrate::dialect::enum_check_name;
use dataflow_core::migrate::schema::{
    normalized_values, Check, Column, Index, IndexKind, Schema, SchemaDefault, Table,
};
use dataflow_core::model::descriptor::FkAction;
use dataflow_core::{Connection, Describe, LogicalType, LogicalType as T, Result, Value};

use crate::dialect::{logical_type, parse_default};

/// How PostgreSQL's live schema is read: one implementation for every
/// PostgreSQL backend (pooled, or a test's one transaction).
#[derive(Debug, Clone, Copy)]
pub struct PgDescribe;

/// The one instance handles use.
pub static PG_DESCRIBE: PgDescribe = PgDescribe;

impl Describe for PgDescribe {
    fn describe(&self, conn: &mut dyn Connection) -> Result<Schema> {
        describe(conn)
    }

    fn reprint_predicates(
        &self,
        conn: &mut dyn Connection,
        table: &Table,
        predicates: &[String],
    ) -> Result<Vec<String>> {
        crate::reprint::reprint_predicates(conn, table, predicates)
    }

    fn reprint_checks(
        &self,
        conn: &mut dyn Connection,
        table: &Table,
        checks: &[String],
    ) -> Result<Vec<String>> {
        crate::reprint::reprint_checks(conn, table, checks)
    }

    fn has_table(&self, conn: &mut dyn Connection, name: &str) -> Result<bool> {
        has_table(conn, name)
    }

    fn describe_details(&self, conn: &mut dyn Connection) -> Result<LiveDetails> {
        describe_details(conn)
    }
}

fn has_table(conn: &mut dyn Connection, name: &str) -> Result<bool> {
    let mut found = false;
    conn.query(
        "SELECT 1::bigint FROM pg_tables WHERE schemaname = current_schema() AND tablename = $1",
        &[Value::Text(name.to_owned())],
        &[LogicalType::BigInt],
        &mut |_| {
            found = true;
            Ok(())
        },
    )?;
    Ok(found)
}

/// A column's collation when it is not its type's default (`NULL` otherwise,
/// and for types without one), over `a` (`pg_attribute`), `t` (`pg_type`)
/// and `co` (`pg_collation`).
const COLLATION: &str = "CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation \
     THEN co.collname::text END";

const USER_TABLE: &str = "n.nspname = current_schema() AND c.relkind IN ('r', 'p') \
     AND c.relname NOT LIKE '\\_dataflow\\_%'";

fn text(v: &mut Value) -> String {
    match std::mem::take(v) {
        Value::Text(s) => s,
        _ => String::new(),
    }
}

fn flag(v: &Value) -> bool {
    matches!(v, Value::Bool(true))
}

fn action(code: &str) -> FkAction {
    match code {
        "r" => FkAction::Restrict,
        "c" => FkAction::Cascade,
        "n" => FkAction::SetNull,
        "d" => FkAction::SetDefault,
        _ => FkAction::NoAction,
    }
}

fn describe(conn: &mut dyn Connection) -> Result<Schema> {
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    // Integer columns whose default takes the next value of a sequence, with
    // that default: database-assigned keys once the keys are known.
    let mut serial_defaults: Vec<(String, String, String)> = Vec::new();
    let sql = format!(
        "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, \
                pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, {COLLATION} \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
         JOIN pg_type t ON t.oid = a.atttypid \
         LEFT JOIN pg_collation co ON co.oid = a.attcollation \
         LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum \
         WHERE {USER_TABLE} ORDER BY c.relname, a.attnum"
    );
    conn.query(&sql, &[], &[T::Text; 7], &mut |row| {
        let table = text(&mut row[0]);
        let name = text(&mut row[1]);
        let (ty, max_length) = logical_type(&text(&mut row[2]));
        let mut default = match &row[4] {
            Value::Null => None,
            Value::Text(d) => Some(d.clone()),
            _ => None,
        };
        // A `serial` column's key comes from its sequence: database-assigned,
        // like an identity column.
        let serial = ty.is_integer()
            && default
                .as_deref()
                .is_some_and(|d| d.starts_with("nextval("));
        if serial {
            if let Some(d) = default.take() {
                serial_defaults.push((table.clone(), name.clone(), d));
            }
        }
        let default = default.map(|d| parse_default(&d, ty));
        let identity = !text(&mut row[5]).is_empty() || serial;
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
            nullable: !flag(&row[3]),
            max_length,
            default,
            auto_increment: identity,
            enum_values: None,
            collation: match std::mem::take(&mut row[6]) {
                Value::Text(c) => Some(c),
                _ => None,
            },
        });
        Ok(())
    })?;

    // Invalid indexes (left by a failed CREATE INDEX CONCURRENTLY) are not
    // described: the plan creates the index again, dropping the leftover first.
    let sql = format!(
        "SELECT c.relname::text, i.relname::text, ix.indisunique, ix.indisprimary, am.amname::text, \
                pg_get_expr(ix.indpred, ix.indrelid), a.attname::text, \
                CASE WHEN k.attnum = 0 THEN pg_get_indexdef(ix.indexrelid, k.ord::int, true) END \
         FROM pg_index ix JOIN pg_class c ON c.oid = ix.indrelid \
         JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_am am ON am.oid = i.relam \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord) \
         LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum AND k.attnum > 0 \
         WHERE {USER_TABLE} AND ix.indisvalid AND k.ord <= ix.indnkeyatts \
         ORDER BY c.relname, i.relname, k.ord"
    );
    // Expression indexes other than dataflow's text search are not ours to
    // manage: they are left out, so they are neither diffed nor dropped.
    let mut foreign_expression: Vec<(String, String)> = Vec::new();
    conn.query(&sql, &[], &[T::Text; 8], &mut |row| {
        let table = text(&mut row[0]);
        let name = text(&mut row[1]);
        let Some(t) = tables.get_mut(&table) else {
            return Ok(());
        };
        if flag(&row[3]) {
            t.primary_key.push(text(&mut row[6]));
            return Ok(());
        }
        let method = text(&mut row[4]);
        let predicate = match &row[5] {
            Value::Null => None,
            _ => Some(text(&mut row[5])),
        };
        let (kind, columns) = match (&row[6], &row[7]) {
            (Value::Text(_), _) => {
                let kind = match method.as_str() {
                    "btree" => IndexKind::BTree,
                    "gin" => IndexKind::Gin,
                    _ => IndexKind::Other { method },
                };
                (kind, vec![text(&mut row[6])])
            }
            (_, Value::Text(expr)) => match parse_text_search(expr) {
                Some((language, cols)) if method == "gin" => {
                    (IndexKind::TextSearch { language }, cols)
                }
                _ => {
                    foreign_expression.push((table, name));
                    return Ok(());
                }
            },
            _ => return Ok(()),
        };
        match t.indexes.iter_mut().find(|i| i.name == name) {
            Some(i) => i.columns.extend(columns),
            None => t.indexes.push(Index {
                name,
                columns,
                unique: flag(&row[2]),
                kind,
                predicate,
            }),
        }
        Ok(())
    })?;
    for (table, name) in foreign_expression {
        if let Some(t) = tables.get_mut(&table) {
            t.indexes.retain(|i| i.name != name);
        }
    }

    // A sequence default on a column outside the key is an ordinary default
    // a model declares with `default_sql`: only a model's key is assigned.
    for (table, column, default) in serial_defaults {
        if let Some(t) = tables.get_mut(&table) {
            if t.primary_key.contains(&column) {
                continue;
            }
            if let Some(c) = t.columns.iter_mut().find(|c| c.name == column) {
                c.auto_increment = false;
                c.default = Some(SchemaDefault::Sql(default));
            }
        }
    }

    let sql = format!(
        "SELECT c.relname::text, a.attname::text, rc.relname::text, ra.attname::text, \
                con.confdeltype::text, con.confupdtype::text \
         FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_class rc ON rc.oid = con.confrelid \
         JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1] \
         JOIN pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = con.confkey[1] \
         WHERE con.contype = 'f' AND array_length(con.conkey, 1) = 1 AND {USER_TABLE} \
         ORDER BY c.relname, con.conname"
    );
    read_foreign_keys(conn, &sql, &mut tables, action)?;

    // Enum columns: dataflow's check of a column's values is named after the
    // column (see `enum_check_name`); other checks are not dataflow's.
    let sql = format!(
        "SELECT c.relname::text, a.attname::text, con.conname::text, pg_get_constraintdef(con.oid) \
         FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1] \
         WHERE con.contype = 'c' AND cardinality(con.conkey) = 1 AND {USER_TABLE} \
         ORDER BY c.relname, con.conname"
    );
    conn.query(&sql, &[], &[T::Text; 4], &mut |row| {
        let (table, column) = (text(&mut row[0]), text(&mut row[1]));
        if text(&mut row[2]) != enum_check_name(&column) {
            return Ok(());
        }
        let values = check_literals(&text(&mut row[3]));
        if let Some(c) = tables
            .get_mut(&table)
            .and_then(|t| t.columns.iter_mut().find(|c| c.name == column))
        {
            c.enum_values = Some(normalized_values(values));
        }
        Ok(())
    })?;

    // Every other check of the table, as PostgreSQL prints it. Left out:
    // the enum columns' checks (read above), inherited ones (the parent's),
    // and the `NOT NULL` check an online migration holds while it runs.
    let sql = format!(
        "SELECT c.relname::text, con.conname::text, pg_get_constraintdef(con.oid), \
                (SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = con.conrelid \
                 AND a.attnum = con.conkey[1] AND cardinality(con.conkey) = 1) \
         FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE con.contype = 'c' AND con.conislocal AND {USER_TABLE} \
         ORDER BY c.relname, con.conname"
    );
    conn.query(&sql, &[], &[T::Text; 4], &mut |row| {
        let (table, name) = (text(&mut row[0]), text(&mut row[1]));
        let def = text(&mut row[2]);
        let column = text(&mut row[3]);
        let Some(t) = tables.get_mut(&table) else {
            return Ok(());
        };
        let enum_column = t
            .columns
            .iter()
            .any(|c| c.name == column && c.enum_values.is_some());
        if (enum_column && name == enum_check_name(&column)) || name.starts_with("df_nn_") {
            return Ok(());
        }
        t.checks.push(Check::new(name, check_condition(&def)));
        Ok(())
    })?;

    for t in tables.values_mut() {
        t.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        t.foreign_keys.sort_by(|a, b| a.column.cmp(&b.column));
        t.checks.sort_by(|a, b| a.name.cmp(&b.name));
    }
    Ok(Schema { tables })
}

/// The condition of a check as `pg_get_constraintdef` prints it:
/// `CHECK ((price > 0))` → `(price > 0)` (a check not yet validated ends in
/// `NOT VALID`, which is not part of it).
pub(crate) fn check_condition(def: &str) -> &str {
    let def = def.strip_suffix(" NOT VALID").unwrap_or(def);
    let def = def.strip_suffix(" NO INHERIT").unwrap_or(def);
    def.strip_prefix("CHECK ").unwrap_or(def)
}

/// Types `logical_type` maps exactly (what dataflow itself declares).
fn exact_type(formatted: &str) -> bool {
    matches!(
        formatted,
        "smallint"
            | "integer"
            | "bigint"
            | "real"
            | "double precision"
            | "boolean"
            | "text"
            | "bytea"
            | "date"
            | "timestamp without time zone"
            | "timestamp with time zone"
            | "uuid"
            | "jsonb"
            | "numeric"
    ) || formatted
        .strip_prefix("character varying(")
        .is_some_and(|r| r.ends_with(')'))
}

/// Views, column types no field type matches exactly, collations, CHECK
/// constraints, and the keys and indexes [`describe`] leaves out.
fn describe_details(conn: &mut dyn Connection) -> Result<LiveDetails> {
    let mut details = LiveDetails::default();
    conn.query(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = current_schema() AND c.relkind IN ('v', 'm') ORDER BY 1",
        &[],
        &[T::Text],
        &mut |row| {
            details.views.push(text(&mut row[0]));
            Ok(())
        },
    )?;
    let sql = format!(
        "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), \
                CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation \
                     THEN co.collname::text END \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
         JOIN pg_type t ON t.oid = a.atttypid \
         LEFT JOIN pg_collation co ON co.oid = a.attcollation \
         WHERE {USER_TABLE} ORDER BY c.relname, a.attnum"
    );
    conn.query(&sql, &[], &[T::Text; 4], &mut |row| {
        let t = details.tables.entry(text(&mut row[0])).or_default();
        let column = text(&mut row[1]);
        let ty = text(&mut row[2]);
        if !exact_type(&ty) {
            t.inexact_types.insert(column.clone(), ty);
        }
        if let Value::Text(collation) = std::mem::take(&mut row[3]) {
            t.collations.insert(column, collation);
        }
        Ok(())
    })?;
    let sql = format!(
        "SELECT c.relname::text, con.contype::text, pg_get_constraintdef(con.oid) \
         FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE {USER_TABLE} AND (con.contype = 'c' OR \
               (con.contype = 'f' AND array_length(con.conkey, 1) > 1)) \
         ORDER BY c.relname, con.conname"
    );
    conn.query(&sql, &[], &[T::Text; 3], &mut |row| {
        let t = details.tables.entry(text(&mut row[0])).or_default();
        let def = text(&mut row[2]);
        if text(&mut row[1]) == "c" {
            let condition = def.strip_prefix("CHECK ").unwrap_or(&def);
            t.checks.push(condition.to_owned());
        } else {
            t.composite_foreign_keys.push(def);
        }
        Ok(())
    })?;
    let described = describe(conn)?;
    let sql = format!(
        "SELECT c.relname::text, i.relname::text FROM pg_index ix \
         JOIN pg_class c ON c.oid = ix.indrelid JOIN pg_class i ON i.oid = ix.indexrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE {USER_TABLE} AND ix.indexprs IS NOT NULL ORDER BY 1, 2"
    );
    conn.query(&sql, &[], &[T::Text; 2], &mut |row| {
        let table = text(&mut row[0]);
        let index = text(&mut row[1]);
        let kept = described
            .tables
            .get(&table)
            .is_some_and(|t| t.indexes.iter().any(|i| i.name == index));
        if !kept {
            details
                .tables
                .entry(table)
                .or_default()
                .skipped_indexes
                .push(index);
        }
        Ok(())
    })?;
    Ok(details)
}

/// The string literals of a check as `pg_get_constraintdef` prints it:
/// `CHECK ((status = ANY (ARRAY['open'::text, 'it''s'::text])))`, or
/// `CHECK ((status = 'open'::text))` for one value.
pub(crate) fn check_literals(def: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = def.chars().peekable();
    while let Some(c) = chars.next() {
        // A quoted column name may hold a `'`: skip it whole.
        if c != '\'' && c != '"' {
            continue;
        }
        let mut lit = String::new();
        while let Some(ch) = chars.next() {
            if ch == c {
                if chars.peek() == Some(&c) {
                    chars.next();
                    lit.push(c);
                } else {
                    break;
                }
            } else {
                lit.push(ch);
            }
        }
        if c == '\'' {
            out.push(lit);
        }
    }
    out
}

/// Reads back dataflow's text-search expression,
/// `to_tsvector('english'::regconfig, (COALESCE(title, ''::text) || ' '::text) || COALESCE(body, ''::text))`,
/// as its language and columns.
pub(crate) fn parse_text_search(expr: &str) -> Option<(String, Vec<String>)> {
    let rest = expr.trim().strip_prefix("to_tsvector('")?;
    let (language, mut rest) = rest.split_once('\'')?;
    let mut columns = Vec::new();
    while let Some(i) = rest.find("COALESCE(") {
        rest = &rest[i + "COALESCE(".len()..];
        let (column, after) = if let Some(quoted) = rest.strip_prefix('"') {
            let mut name = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((j, ch)) = chars.next() {
                if ch == '"' {
                    if quoted[j + 1..].starts_with('"') {
                        name.push('"');
                        chars.next();
                    } else {
                        end = Some(j + 1);
                        break;
                    }
                } else {
                    name.push(ch);
                }
            }
            (name, &quoted[end?..])
        } else {
            let end = rest.find(',')?;
            (rest[..end].trim().to_owned(), &rest[end..])
        };
        columns.push(column);
        rest = after;
    }
    if columns.is_empty() {
        return None;
    }
    Some((language.to_owned(), columns))
}

#[cfg(test)]
mod tests {
    use super::{check_literals, parse_text_search};

    #[test]
    fn check_values_read_back() {
        assert_eq!(
            check_literals(
                "CHECK ((status = ANY (ARRAY['open'::text, 'it''s'::text, 'a, b'::text])))"
            ),
            ["open", "it's", "a, b"]
        );
        assert_eq!(check_literals("CHECK ((status = 'open'::text))"), ["open"]);
        assert_eq!(check_literals("CHECK ((s = ''::text))"), [""]);
        assert_eq!(
            check_literals("CHECK ((\"it's \"\"x\"\"\" = 'a'::text))"),
            ["a"]
        );
    }

    proptest::proptest! {
        /// Whatever the column's name and values, the values read back from
        /// the check as PostgreSQL prints it are the values written.
        #[test]
        fn any_values_read_back(
            column in "[^\\x00]{1,12}",
            values in proptest::collection::vec("[^\\x00]{0,12}", 1..5),
        ) {
            use dataflow_core::{QueryDialect, SchemaDialect};
            let d = &crate::dialect::POSTGRES;
            let mut col = String::new();
            d.quote_ident(&column, &mut col);
            let lits: Vec<String> = values
                .iter()
                .map(|v| {
                    let mut o = String::new();
                    d.string_literal(v, &mut o);
                    o + "::text"
                })
                .collect();
            let def = if lits.len() == 1 {
                format!("CHECK (({col} = {}))", lits[0])
            } else {
                format!("CHECK (({col} = ANY (ARRAY[{}])))", lits.join(", "))
            };
            proptest::prop_assert_eq!(check_literals(&def), values);
        }
    }

    #[test]
    fn text_search_expressions_read_back() {
        assert_eq!(
            parse_text_search(
                "to_tsvector('english'::regconfig, (COALESCE(title, ''::text) || ' '::text) || COALESCE(\"Body \"\"x\"\"\", ''::text))"
            ),
            Some(("english".into(), vec!["title".into(), "Body \"x\"".into()]))
        );
        assert_eq!(
            parse_text_search("to_tsvector('simple'::regconfig, COALESCE(name, ''::text))"),
            Some(("simple".into(), vec!["name".into()]))
        );
        assert_eq!(parse_text_search("lower(email)"), None);
    }
}
