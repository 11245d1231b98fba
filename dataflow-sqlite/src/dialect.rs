//! How SQLite spells dataflow's SQL.
//!
//! Declared column types are chosen so that (a) SQLite's type affinity never
//! rewrites a stored value — JSON and decimals get `TEXT` affinity through the
//! declared types `JSON TEXT` / `DECIMAL TEXT`, since a plain `JSON` column would
//! turn the document `1e5` into the REAL `100000.0` — and (b) each logical type has
//! a declared type of its own, so describing a table gives back the logical types.

use dataflow_core::migrate::default_sql::{default_clause, quoted_literal, same_default_sql};
use dataflow_core::migrate::schema::{Column, Schema, SchemaDefault};
use dataflow_core::{Change, LogicalType, QueryDialect, SchemaDialect};

/// The SQLite dialect.
#[derive(Debug, Clone, Copy)]
pub struct SqliteDialect;

/// The one instance backends hand out.
pub static SQLITE: SqliteDialect = SqliteDialect;

/// Fixed-width text formats: lexicographic order equals time order, so `<`/`>`
/// filters on stored text compare times correctly.
pub(crate) const TIMESTAMPTZ_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";
pub(crate) const TIMESTAMP_FORMAT: &str = "%Y-%m-%d %H:%M:%S%.6f";
pub(crate) const DATE_FORMAT: &str = "%Y-%m-%d";

impl QueryDialect for SqliteDialect {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn slot(&self) -> usize {
        0
    }

    fn placeholder(&self, _index: usize, out: &mut String) {
        out.push('?');
    }

    fn collation(&self, ty: LogicalType) -> Option<&'static str> {
        (ty == LogicalType::Decimal).then_some(crate::collation::DECIMAL_COLLATION)
    }

    fn generated_key_marker(&self) -> &'static str {
        "NULL"
    }

    fn json_contains(
        &self,
        column: &str,
        template: &serde_json::Value,
        out: &mut dataflow_core::query::statement::SqlWriter<'_>,
    ) {
        crate::json::contains(column, template, out);
    }

    fn json_path_compare(
        &self,
        column: &str,
        path: &[dataflow_core::query::json::JsonSegment],
        op: dataflow_core::CmpOp,
        value: &serde_json::Value,
        out: &mut dataflow_core::query::statement::SqlWriter<'_>,
    ) {
        crate::json::path_compare(column, path, op, value, out);
    }

    /// Decimals (stored as text) are summed and averaged exactly by the
    /// aggregates every connection registers (see `crate::aggregate`).
    fn aggregate(
        &self,
        func: dataflow_core::query::aggregate::Aggregate,
        operand: &str,
        ty: LogicalType,
        out: &mut String,
    ) {
        use dataflow_core::query::aggregate::Aggregate;
        match func {
            Aggregate::Sum if ty == LogicalType::Decimal => {
                out.push_str("COALESCE(");
                out.push_str(crate::aggregate::DECIMAL_SUM);
                out.push('(');
                out.push_str(operand);
                out.push_str("), '0')");
            }
            Aggregate::Avg if ty == LogicalType::Decimal => {
                out.push_str(crate::aggregate::DECIMAL_AVG);
                out.push('(');
                out.push_str(operand);
                out.push(')');
            }
            _ => dataflow_core::query::dialect::portable_aggregate(func, operand, ty, out),
        }
    }

    fn last_insert_id(&self) -> Option<&'static str> {
        Some("SELECT last_insert_rowid()")
    }

    /// One JSON array read back by `json_each`: the elements carry the very
    /// values (integer, real, text) the plain list would bind, and like bound
    /// parameters they have no affinity, so the column's affinity decides the
    /// comparison exactly as for `IN (?, ?, …)`. Blobs have no JSON form: a
    /// list holding one is bound value by value.
    fn long_in_list(
        &self,
        values: &[dataflow_core::Value],
    ) -> Option<(String, dataflow_core::Value, String)> {
        use crate::query::Bind;
        use serde_json::Value as Json;
        let mut items = Vec::with_capacity(values.len());
        for v in values {
            items.push(match Bind::from_value(v).ok()? {
                Bind::Null => Json::Null,
                Bind::Integer(i) => Json::from(i),
                Bind::Real(f) => Json::Number(serde_json::Number::from_f64(f)?),
                Bind::Text(t) => Json::from(t),
                Bind::OwnedText(t) => Json::from(t),
                Bind::Blob(_) => return None,
            });
        }
        Some((
            "SELECT value FROM json_each(".to_owned(),
            dataflow_core::Value::Text(Json::Array(items).to_string()),
            ")".to_owned(),
        ))
    }

    fn limit_offset(
        &self,
        limit: Option<i64>,
        offset: Option<i64>,
        out: &mut dataflow_core::query::statement::SqlWriter<'_>,
    ) {
        // SQLite accepts OFFSET only after a LIMIT; -1 means no limit. The limit
        // is written as a number: a bound LIMIT makes SQLite >= 3.48 re-prepare the
        // statement on every run (+80k instructions per list call). It is an i64
        // from the typed API, never text, so nothing user-supplied enters the SQL.
        out.push(&format!(" LIMIT {}", limit.unwrap_or(-1)));
        if let Some(o) = offset {
            out.push(" OFFSET ");
            out.bind(dataflow_core::Value::I64(o));
        }
    }
}

impl SchemaDialect for SqliteDialect {
    fn column_type(&self, column: &Column) -> String {
        match column.ty {
            LogicalType::SmallInt => "SMALLINT".into(),
            LogicalType::Int => "INTEGER".into(),
            LogicalType::BigInt => "BIGINT".into(),
            LogicalType::Float => "FLOAT".into(),
            LogicalType::Double => "DOUBLE".into(),
            LogicalType::Bool => "BOOLEAN".into(),
            LogicalType::Text => match column.max_length {
                Some(n) => format!("VARCHAR({n})"),
                None => "TEXT".into(),
            },
            LogicalType::Bytes => "BLOB".into(),
            LogicalType::Date => "DATE".into(),
            LogicalType::Timestamp => "DATETIME".into(),
            LogicalType::TimestampTz => "TIMESTAMPTZ".into(),
            LogicalType::Uuid => "UUID".into(),
            LogicalType::Json => "JSON TEXT".into(),
            LogicalType::Decimal => "DECIMAL TEXT".into(),
        }
    }

    fn cast_expression(&self, column: &str, from: &Column, to: &Column) -> String {
        // Column affinity converts on insert; only text narrowing needs work.
        match (to.ty, to.max_length) {
            (LogicalType::Text, Some(n)) => format!("substr({column}, 1, {n})"),
            _ => {
                let _ = from;
                column.to_owned()
            }
        }
    }

    fn auto_increment_primary_key(&self, _column: &Column) -> String {
        // Only this exact spelling aliases the rowid; AUTOINCREMENT never reuses
        // the key of a deleted row, as PostgreSQL identities do not.
        "INTEGER PRIMARY KEY AUTOINCREMENT".into()
    }

    fn default_literal(&self, default: &SchemaDefault, ty: LogicalType) -> String {
        match default {
            // Same text format as values dataflow writes, so comparisons hold.
            SchemaDefault::CurrentTimestamp => match ty {
                LogicalType::Date => "(date('now'))".into(),
                LogicalType::Timestamp => "(strftime('%Y-%m-%d %H:%M:%f000', 'now'))".into(),
                _ => "(strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))".into(),
            },
            SchemaDefault::Bool(b) => if *b { "1" } else { "0" }.into(),
            SchemaDefault::Int(i) => i.to_string(),
            SchemaDefault::Float(f) => format!("{f:?}"),
            SchemaDefault::Text(t) => {
                let mut out = String::new();
                self.string_literal(t, &mut out);
                out
            }
            // The author's SQL, verbatim: trusted like a migration.
            SchemaDefault::Sql(sql) => default_clause(sql),
        }
    }

    fn rebuild_reason(&self, change: &Change, before: &Schema) -> Option<String> {
        crate::rebuild::rebuild_reason(change, before)
    }

    /// SQLite alters little in place; what it cannot alter is made by a table
    /// rebuild (see the `rebuild` module), once for a whole
    /// [`Change::RebuildTable`].
    fn render_change(&self, change: &Change, before: &Schema, after: &Schema) -> Vec<String> {
        match change {
            Change::RebuildTable { table, changes } => {
                crate::rebuild::rebuild_table(self, table, changes, before, after)
            }
            c if crate::rebuild::rebuild_reason(c, before).is_some() => {
                crate::rebuild::rebuild_table(
                    self,
                    c.table(),
                    std::slice::from_ref(c),
                    before,
                    after,
                )
            }
            // SQLite cannot rename an index: it is built again under the new
            // name, inside the migration's transaction, so no other connection
            // ever sees the table without it.
            Change::RenameIndex { table, from, to } => {
                let Some(index) = after
                    .tables
                    .get(table)
                    .and_then(|t| t.indexes.iter().find(|i| &i.name == to))
                else {
                    return Vec::new();
                };
                let mut drop = String::from("DROP INDEX ");
                self.quote_ident(from, &mut drop);
                vec![drop, self.create_index(table, index)]
            }
            _ => dataflow_core::migrate::dialect::render_standard(self, change, before, after),
        }
    }

    fn normalize(&self, schema: &mut Schema) {
        for table in schema.tables.values_mut() {
            for c in &mut table.columns {
                // `INTEGER PRIMARY KEY` is the 64-bit rowid whatever the field's
                // width, and never NULL although the pragma reports it nullable.
                if c.auto_increment {
                    c.ty = LogicalType::BigInt;
                    c.nullable = false;
                }
                // A model's `default_sql` reads as the database would report
                // it: a literal written as SQL is that literal.
                if let Some(SchemaDefault::Sql(sql)) = &c.default {
                    c.default = Some(parse_default(sql, c.ty));
                }
                // Collation names are case-insensitive; BINARY is the default.
                c.collation = c
                    .collation
                    .take()
                    .map(|n| n.to_ascii_uppercase())
                    .filter(|n| n != "BINARY");
            }
        }
    }
}

/// Maps a declared column type back to a logical type and length.
pub(crate) fn logical_type(declared: &str) -> (LogicalType, Option<u32>) {
    let upper = declared.trim().to_ascii_uppercase();
    if let Some(n) = upper
        .strip_prefix("VARCHAR(")
        .and_then(|r| r.strip_suffix(')'))
        .and_then(|n| n.trim().parse().ok())
    {
        return (LogicalType::Text, Some(n));
    }
    let t = match upper.as_str() {
        "SMALLINT" => LogicalType::SmallInt,
        "INTEGER" | "INT" => LogicalType::Int,
        "BIGINT" => LogicalType::BigInt,
        "FLOAT" => LogicalType::Float,
        "DOUBLE" | "REAL" => LogicalType::Double,
        "BOOLEAN" => LogicalType::Bool,
        "TEXT" => LogicalType::Text,
        "BLOB" | "" => LogicalType::Bytes,
        "DATE" => LogicalType::Date,
        "DATETIME" => LogicalType::Timestamp,
        "TIMESTAMPTZ" => LogicalType::TimestampTz,
        "UUID" => LogicalType::Uuid,
        "JSON TEXT" => LogicalType::Json,
        "DECIMAL TEXT" => LogicalType::Decimal,
        // Tables dataflow did not create: SQLite's affinity rules.
        other if other.contains("INT") => LogicalType::BigInt,
        other if other.contains("CHAR") || other.contains("CLOB") || other.contains("TEXT") => {
            LogicalType::Text
        }
        other if other.contains("BLOB") => LogicalType::Bytes,
        other if other.contains("REAL") || other.contains("FLOA") || other.contains("DOUB") => {
            LogicalType::Double
        }
        _ => LogicalType::Decimal,
    };
    (t, None)
}

/// Parses a default as the pragma reports it (the text as written in
/// `CREATE TABLE`), for a column of type `ty`. A default that is none of the
/// literal kinds (`(strftime('%s','now'))`, `CURRENT_DATE`,
/// `(randomblob(16))`) is kept as [`SchemaDefault::Sql`], verbatim. The
/// current time is [`SchemaDefault::CurrentTimestamp`] only in the form
/// dataflow writes for the column's type (the pragma drops its outer
/// parentheses): `CURRENT_TIMESTAMP` stores another
/// text format, and reading it as dataflow's would let a rebuild change it.
/// The same function reads a model's `default_sql` (see `normalize`).
pub(crate) fn parse_default(raw: &str, ty: LogicalType) -> SchemaDefault {
    let raw = raw.trim();
    if let Some(text) = quoted_literal(raw) {
        return SchemaDefault::Text(text);
    }
    if matches!(
        ty,
        LogicalType::Date | LogicalType::Timestamp | LogicalType::TimestampTz
    ) && same_default_sql(
        raw,
        &SQLITE.default_literal(&SchemaDefault::CurrentTimestamp, ty),
    ) {
        return SchemaDefault::CurrentTimestamp;
    }
    match ty {
        LogicalType::Bool => match raw.to_ascii_uppercase().as_str() {
            "1" | "TRUE" => return SchemaDefault::Bool(true),
            "0" | "FALSE" => return SchemaDefault::Bool(false),
            _ => {}
        },
        LogicalType::Float | LogicalType::Double => {
            if let Ok(f) = raw.parse() {
                return SchemaDefault::Float(f);
            }
        }
        t if t.is_integer() => {
            if let Ok(i) = raw.parse() {
                return SchemaDefault::Int(i);
            }
        }
        _ => {}
    }
    if raw.parse::<f64>().is_ok_and(f64::is_finite) {
        // A bare number on a text or decimal column (`0` on `NUMERIC(10,2)`).
        return SchemaDefault::Text(raw.to_owned());
    }
    SchemaDefault::Sql(raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_round_trip() {
        for ty in LogicalType::ALL {
            for max_length in [None, Some(12)] {
                if max_length.is_some() && ty != LogicalType::Text {
                    continue;
                }
                let col = Column {
                    name: "c".into(),
                    ty,
                    nullable: true,
                    max_length,
                    default: None,
                    auto_increment: false,
                    enum_values: None,
                    collation: None,
                };
                assert_eq!(logical_type(&SQLITE.column_type(&col)), (ty, max_length));
            }
        }
    }

    #[test]
    fn defaults_round_trip() {
        let cases = [
            (SchemaDefault::Bool(true), LogicalType::Bool),
            (SchemaDefault::Int(-42), LogicalType::Int),
            (SchemaDefault::Float(1.5), LogicalType::Double),
            (SchemaDefault::Text("it's".into()), LogicalType::Text),
            (SchemaDefault::CurrentTimestamp, LogicalType::TimestampTz),
            (SchemaDefault::CurrentTimestamp, LogicalType::Date),
        ];
        for (d, ty) in cases {
            let written = SQLITE.default_literal(&d, ty);
            assert_eq!(parse_default(&written, ty), d);
            // The pragma reports an expression without its outer parentheses.
            let reported = written.strip_prefix('(').and_then(|w| w.strip_suffix(')'));
            if let Some(reported) = reported {
                assert_eq!(parse_default(reported, ty), d, "{reported}");
            }
        }
    }

    #[test]
    fn expression_defaults_stay_sql() {
        for (raw, ty) in [
            ("(strftime('%s','now'))", LogicalType::BigInt),
            ("CURRENT_DATE", LogicalType::Date),
            ("CURRENT_TIMESTAMP", LogicalType::Timestamp),
            ("(randomblob(16))", LogicalType::Bytes),
            ("'a' || 'b'", LogicalType::Text),
            ("(date('now'))", LogicalType::Timestamp),
            ("NULL", LogicalType::Text),
        ] {
            assert_eq!(
                parse_default(raw, ty),
                SchemaDefault::Sql(raw.into()),
                "{raw}"
            );
        }
        let sql = SchemaDefault::Sql("lower('X')".into());
        assert_eq!(
            parse_default(
                &SQLITE.default_literal(&sql, LogicalType::Text),
                LogicalType::Text
            ),
            sql
        );
    }
}
