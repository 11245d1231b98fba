//! How PostgreSQL spells dataflow's SQL. Standard `ALTER TABLE` covers every
//! change (DDL is transactional), so only types, keys and defaults differ from
//! core's rendering.
//!
//! Over 500 lines with its unit tests (about 80); the rest is one `impl` of
//! the two dialect traits, which reads as a whole.

use dataflow_core::migrate::default_sql::quoted_literal;
use dataflow_core::migrate::dialect::{create_index_head, enum_check_name, foreign_key_name};
use dataflow_core::migrate::schema::{Column, Index, IndexKind, Schema, SchemaDefault};
use dataflow_core::{
    Change, LogicalType, OnlineRendering, OnlineSql, QueryDialect, SchemaDialect, Value,
};

/// The PostgreSQL dialect.
#[derive(Debug, Clone, Copy)]
pub struct PgDialect;

/// The one instance backends hand out.
pub static POSTGRES: PgDialect = PgDialect;

impl QueryDialect for PgDialect {
    fn name(&self) -> &'static str {
        "postgres"
    }

    /// One `jsonb` array of the values' text forms, each cast back by the
    /// type's own input function. Values without a text form PostgreSQL reads
    /// back exactly (JSON, dates outside years 1–9999) are bound value by value.
    fn long_in_list(&self, values: &[Value]) -> Option<(String, Value, String)> {
        let mut ty = None;
        let mut items = Vec::with_capacity(values.len());
        for v in values {
            let (t, text) = text_form(v)?;
            match (ty, t) {
                (_, None) => {}
                (None, Some(t)) => ty = Some(t),
                (Some(a), Some(b)) if a == b => {}
                _ => return None,
            }
            items.push(text.map_or(serde_json::Value::Null, serde_json::Value::String));
        }
        Some((
            format!("SELECT CAST(e AS {}) FROM jsonb_array_elements_text(", ty?),
            Value::Json(serde_json::Value::Array(items)),
            ") AS e".to_owned(),
        ))
    }

    fn slot(&self) -> usize {
        1
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

    /// PostgreSQL widens `SUM(bigint)` and `AVG` of integers to `numeric` and
    /// sums `real` as `real`: sums of integers are cast back to `bigint` (an
    /// overflow is an error, as on SQLite), floats are summed and averaged as
    /// `double precision`, decimals stay `numeric`.
    fn aggregate(
        &self,
        func: dataflow_core::query::aggregate::Aggregate,
        operand: &str,
        ty: LogicalType,
        out: &mut String,
    ) {
        use dataflow_core::query::aggregate::Aggregate;
        let int = matches!(
            ty,
            LogicalType::SmallInt | LogicalType::Int | LogicalType::BigInt
        );
        let float = matches!(ty, LogicalType::Float | LogicalType::Double);
        match func {
            Aggregate::Sum if int => {
                out.push_str("CAST(COALESCE(SUM(");
                out.push_str(operand);
                out.push_str("), 0) AS BIGINT)");
            }
            Aggregate::Sum | Aggregate::Avg if float || (int && func == Aggregate::Avg) => {
                out.push_str(if func == Aggregate::Sum {
                    "COALESCE(SUM(CAST("
                } else {
                    "AVG(CAST("
                });
                out.push_str(operand);
                out.push_str(if func == Aggregate::Sum {
                    " AS DOUBLE PRECISION)), 0.0)"
                } else {
                    " AS DOUBLE PRECISION))"
                });
            }
            Aggregate::Avg if ty == LogicalType::Decimal => {
                // The exact sum over the count, rounded like SQLite's
                // registered aggregate: a fixed scale whatever the values.
                out.push_str("ROUND(CAST(SUM(");
                out.push_str(operand);
                out.push_str(") AS NUMERIC(1000, 28)) / COUNT(");
                out.push_str(operand);
                out.push_str("), ");
                out.push_str(&dataflow_core::query::aggregate::DECIMAL_AVG_SCALE.to_string());
                out.push(')');
            }
            _ => dataflow_core::query::dialect::portable_aggregate(func, operand, ty, out),
        }
    }

    fn like(&self, column: &str, pattern: &str, case_sensitive: bool, out: &mut String) {
        out.push_str(column);
        out.push_str(if case_sensitive { " LIKE " } else { " ILIKE " });
        out.push_str(pattern);
        out.push_str(" ESCAPE '\\'");
    }

    /// `~` and `~*`: Advanced Regular Expressions, whose meaning on the subset
    /// filters accept the SQLite backend's `regexp()` reproduces.
    fn regex(&self, column: &str, pattern: &str, case_insensitive: bool, out: &mut String) {
        out.push_str(column);
        out.push_str(if case_insensitive { " ~* " } else { " ~ " });
        out.push_str(pattern);
    }

    fn last_insert_id(&self) -> Option<&'static str> {
        Some("SELECT lastval()")
    }

    fn placeholder(&self, index: usize, out: &mut String) {
        out.push('$');
        out.push_str(&index.to_string());
    }

    fn reset_key_sequence(&self, table: &str, column: &str) -> Option<String> {
        // Identity sequences ignore explicit keys; move them past the largest key
        // (never backwards), so a later generated key cannot collide.
        let mut t = String::new();
        self.quote_ident(table, &mut t);
        let mut c = String::new();
        self.quote_ident(column, &mut c);
        let mut tl = String::new();
        self.string_literal(&t, &mut tl);
        let mut cl = String::new();
        self.string_literal(column, &mut cl);
        let seq = format!("pg_get_serial_sequence({tl}, {cl})");
        // The sequence's last value is read, not drawn with `nextval`: drawing
        // fails once the sequence has reached its maximum, which an explicit
        // key equal to that maximum makes it.
        Some(format!(
            "SELECT setval({seq}, GREATEST((SELECT COALESCE(MAX({c}), 0) FROM {t}), \
             COALESCE(pg_sequence_last_value({seq}::regclass), 0), 1))"
        ))
    }

    fn columnar_insert(&self, table: &str, columns: &[(&str, LogicalType)]) -> Option<String> {
        let mut sql = String::from("INSERT INTO ");
        self.quote_ident(table, &mut sql);
        sql.push_str(" (");
        let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
        self.ident_list(&names, &mut sql);
        sql.push_str(") SELECT * FROM unnest(");
        for (i, (_, ty)) in columns.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            self.placeholder(i + 1, &mut sql);
            // Text arrays carry no length: the column's VARCHAR(n) checks it.
            let element = Column {
                name: String::new(),
                ty: *ty,
                nullable: true,
                max_length: None,
                default: None,
                auto_increment: false,
                enum_values: None,
                collation: None,
            };
            sql.push_str("::");
            sql.push_str(&self.column_type(&element));
            sql.push_str("[]");
        }
        sql.push(')');
        Some(sql)
    }
}

impl SchemaDialect for PgDialect {
    fn column_type(&self, column: &Column) -> String {
        match column.ty {
            LogicalType::SmallInt => "SMALLINT".into(),
            LogicalType::Int => "INTEGER".into(),
            LogicalType::BigInt => "BIGINT".into(),
            LogicalType::Float => "REAL".into(),
            LogicalType::Double => "DOUBLE PRECISION".into(),
            LogicalType::Bool => "BOOLEAN".into(),
            LogicalType::Text => match column.max_length {
                Some(n) => format!("VARCHAR({n})"),
                None => "TEXT".into(),
            },
            LogicalType::Bytes => "BYTEA".into(),
            LogicalType::Date => "DATE".into(),
            LogicalType::Timestamp => "TIMESTAMP".into(),
            LogicalType::TimestampTz => "TIMESTAMPTZ".into(),
            LogicalType::Uuid => "UUID".into(),
            LogicalType::Json => "JSONB".into(),
            LogicalType::Decimal => "NUMERIC".into(),
        }
    }

    fn auto_increment_primary_key(&self, column: &Column) -> String {
        format!(
            "{} GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
            self.column_type(column)
        )
    }

    fn risk_note(&self, change: &Change) -> Option<String> {
        Some(match change {
            Change::AddColumn { column, .. }
                if matches!(column.default, Some(SchemaDefault::Sql(_))) =>
            {
                "PostgreSQL 11+ adds a column with a non-volatile default without rewriting the table; a volatile default_sql (gen_random_uuid(), nextval, clock_timestamp()) rewrites it under an ACCESS EXCLUSIVE lock"
                    .into()
            }
            Change::AddColumn { column, .. } if column.default.is_some() => {
                "PostgreSQL 11+ adds a column with a constant default without rewriting the table"
                    .into()
            }
            Change::AlterColumn { from, to, .. } => {
                let mut notes = Vec::new();
                if from.ty != to.ty {
                    notes.push("the type change rewrites the table under an ACCESS EXCLUSIVE lock");
                } else if from.max_length != to.max_length {
                    let widening = match (from.max_length, to.max_length) {
                        (_, None) => true,
                        (Some(a), Some(b)) => b >= a,
                        (None, Some(_)) => false,
                    };
                    notes.push(if widening {
                        "widening a varchar is a catalog change (no rewrite)"
                    } else {
                        "narrowing a varchar checks every row under an ACCESS EXCLUSIVE lock"
                    });
                }
                if from.nullable && !to.nullable {
                    notes.push("SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock");
                }
                if from.collation != to.collation {
                    notes.push(
                        "the collation change rewrites the column's indexes under an ACCESS EXCLUSIVE lock",
                    );
                }
                if from.enum_values != to.enum_values && to.enum_values.is_some() {
                    notes.push(
                        "the new check of allowed values scans the whole table under an ACCESS EXCLUSIVE lock",
                    );
                }
                if notes.is_empty() {
                    return None;
                }
                notes.join("; ")
            }
            Change::CreateIndex { .. } => {
                "building the index blocks writes to the table until it finishes".into()
            }
            Change::AddForeignKey { .. } => {
                "adding the key validates every row while writes wait".into()
            }
            Change::AddCheck { .. } => {
                "adding the check scans every row under an ACCESS EXCLUSIVE lock".into()
            }
            _ => return None,
        })
    }

    fn create_index(&self, table: &str, index: &Index) -> String {
        let mut out = create_index_head(self, table, index);
        let cols: Vec<&str> = index.columns.iter().map(String::as_str).collect();
        match &index.kind {
            IndexKind::BTree => {
                out.push_str(" (");
                self.ident_list(&cols, &mut out);
                out.push(')');
            }
            IndexKind::Gin => {
                out.push_str(" USING GIN (");
                self.ident_list(&cols, &mut out);
                out.push(')');
            }
            IndexKind::Other { method } => {
                out.push_str(" USING ");
                self.quote_ident(method, &mut out);
                out.push_str(" (");
                self.ident_list(&cols, &mut out);
                out.push(')');
            }
            IndexKind::TextSearch { language } => {
                // One document per row: the columns joined by spaces, NULLs as
                // empty text (a NULL would blank the whole vector).
                out.push_str(" USING GIN (to_tsvector(");
                self.string_literal(language, &mut out);
                out.push_str(", ");
                for (i, c) in cols.iter().enumerate() {
                    if i > 0 {
                        out.push_str(" || ' ' || ");
                    }
                    out.push_str("COALESCE(");
                    self.quote_ident(c, &mut out);
                    out.push_str(", '')");
                }
                out.push_str("))");
            }
        }
        if let Some(p) = &index.predicate {
            out.push_str(" WHERE ");
            out.push_str(p);
        }
        out
    }

    fn set_lock_timeout(&self, timeout: std::time::Duration, local: bool) -> Option<String> {
        Some(format!(
            "SET {}lock_timeout = '{}ms'",
            if local { "LOCAL " } else { "" },
            timeout.as_millis()
        ))
    }

    /// Renames keep what hangs off the table: constraint names derived from
    /// the table or column (its foreign keys, its primary key) follow, so a
    /// later step that names them by the new names finds them.
    fn render_change(&self, change: &Change, before: &Schema, after: &Schema) -> Vec<String> {
        let mut out = dataflow_core::migrate::dialect::render_standard(self, change, before, after);
        let q = |s: &str| {
            let mut o = String::new();
            self.quote_ident(s, &mut o);
            o
        };
        let rename = |table: &str, from: &str, to: &str| {
            format!(
                "ALTER TABLE {} RENAME CONSTRAINT {} TO {}",
                q(table),
                q(from),
                q(to)
            )
        };
        match change {
            Change::RenameTable { from, to } => {
                let Some(t) = before.tables.get(from) else {
                    return out;
                };
                for fk in &t.foreign_keys {
                    let (old, new) = (foreign_key_name(from, fk), foreign_key_name(to, fk));
                    if old != new {
                        out.push(rename(to, &old, &new));
                    }
                }
                // PostgreSQL named the key `<table>_pkey` unless that name was
                // taken: rename it only when it has that name and the new one
                // is free.
                let (old, new) = (format!("{from}_pkey"), format!("{to}_pkey"));
                let lit = |s: &str| {
                    let mut o = String::new();
                    self.string_literal(s, &mut o);
                    o
                };
                let body = format!(
                    "BEGIN IF EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = {}::regclass AND conname = {}) \
                     AND NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE n.nspname = current_schema() AND c.relname = {}) THEN EXECUTE {}; END IF; END",
                    lit(&q(to)),
                    lit(&old),
                    lit(&new),
                    lit(&rename(to, &old, &new)),
                );
                let mut tag = String::from("$df$");
                while body.contains(&tag) {
                    tag.insert(3, 'f');
                }
                out.push(format!("DO {tag}{body}{tag}"));
            }
            Change::RenameColumn { table, from, to } => {
                let Some(t) = before.tables.get(table) else {
                    return out;
                };
                for fk in t.foreign_keys.iter().filter(|f| &f.column == from) {
                    let mut moved = fk.clone();
                    moved.column = to.clone();
                    let (old, new) = (foreign_key_name(table, fk), foreign_key_name(table, &moved));
                    if old != new {
                        out.push(rename(table, &old, &new));
                    }
                }
                // An enum column's check is named after the column.
                if t.column(from).is_some_and(|c| c.enum_values.is_some()) {
                    let (old, new) = (enum_check_name(from), enum_check_name(to));
                    if old != new {
                        out.push(rename(table, &old, &new));
                    }
                }
            }
            _ => {}
        }
        out
    }

    fn render_online(
        &self,
        change: &Change,
        before: &Schema,
        after: &Schema,
        batch_size: u32,
    ) -> Option<OnlineRendering> {
        let _ = before;
        let q = |s: &str| {
            let mut o = String::new();
            self.quote_ident(s, &mut o);
            o
        };
        let lit = |s: &str| {
            let mut o = String::new();
            self.string_literal(s, &mut o);
            o
        };
        match change {
            Change::CreateIndex { table, index } => {
                let create = self.create_index(table, index).replacen(
                    "INDEX ",
                    "INDEX CONCURRENTLY IF NOT EXISTS ",
                    1,
                );
                // Only an INVALID index of this name in this schema is dropped:
                // a valid one would have been described and never re-planned.
                let body = format!(
                    "BEGIN IF EXISTS (SELECT 1 FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid \
                     JOIN pg_namespace n ON n.oid = i.relnamespace WHERE n.nspname = current_schema() \
                     AND i.relname = {} AND NOT ix.indisvalid) THEN EXECUTE {}; END IF; END",
                    lit(&index.name),
                    lit(&format!("DROP INDEX {}", q(&index.name)))
                );
                let mut tag = String::from("$df$");
                while body.contains(&tag) {
                    tag.insert(3, 'f');
                }
                Some(OnlineRendering {
                    in_transaction: Vec::new(),
                    after_commit: vec![OnlineSql::Index {
                        cleanup: format!("DO {tag}{body}{tag}"),
                        create,
                    }],
                    note: "built CONCURRENTLY after the commit; writes continue meanwhile".into(),
                })
            }
            Change::DropIndex { index, .. } => Some(OnlineRendering {
                in_transaction: Vec::new(),
                // IF EXISTS: a column or table dropped in the transaction takes
                // its indexes with it.
                after_commit: vec![OnlineSql::Statement {
                    sql: format!("DROP INDEX CONCURRENTLY IF EXISTS {}", q(&index.name)),
                }],
                note:
                    "dropped CONCURRENTLY after the commit; queries and writes continue meanwhile"
                        .into(),
            }),
            Change::AddForeignKey { table, foreign_key } => {
                let mut add = format!("ALTER TABLE {} ADD ", q(table));
                self.foreign_key_clause(table, foreign_key, &mut add);
                add.push_str(" NOT VALID");
                Some(OnlineRendering {
                    in_transaction: vec![add],
                    after_commit: vec![OnlineSql::Statement {
                        sql: format!(
                            "ALTER TABLE {} VALIDATE CONSTRAINT {}",
                            q(table),
                            q(&foreign_key_name(table, foreign_key))
                        ),
                    }],
                    note: "added NOT VALID (new rows checked at once), existing rows validated after the commit without blocking writes".into(),
                })
            }
            Change::AlterColumn {
                table,
                from,
                to,
                renamed_values,
            } if from.ty == to.ty
                && from.max_length == to.max_length
                && from.enum_values == to.enum_values
                && renamed_values.is_empty()
                && from.nullable
                && !to.nullable =>
            {
                let (t, c) = (q(table), q(&to.name));
                let check = dataflow_core::migrate::dialect::generated_name(&format!(
                    "df_nn_{table}_{}",
                    to.name
                ));
                let ck = q(&check);
                let mut in_tx = Vec::new();
                if from.default != to.default {
                    in_tx.push(match &to.default {
                        Some(d) => format!(
                            "ALTER TABLE {t} ALTER COLUMN {c} SET DEFAULT {}",
                            self.default_literal(d, to.ty)
                        ),
                        None => format!("ALTER TABLE {t} ALTER COLUMN {c} DROP DEFAULT"),
                    });
                }
                // The backfill runs before the check exists, so old rows can be
                // updated meanwhile; a second pass after it catches NULLs written
                // in between, and VALIDATE then cannot fail on them.
                let backfill = to.default.as_ref().map(|d| {
                    let value = self.default_literal(d, to.ty);
                    let key = after
                        .tables
                        .get(table)
                        .filter(|tb| tb.primary_key.len() == 1)
                        .and_then(|tb| tb.column(&tb.primary_key[0]))
                        .filter(|k| k.ty.is_integer());
                    match key {
                        Some(k) => {
                            let k = q(&k.name);
                            OnlineSql::Batched {
                                sql: format!(
                                    "UPDATE {t} SET {c} = {value} WHERE {k} BETWEEN $1 AND $2 AND {c} IS NULL"
                                ),
                                // `+ 0` keeps the planner off the key's index: with
                                // statistics that still expect NULLs, walking it from
                                // both ends to find none reads the whole index twice.
                                bounds: format!(
                                    "SELECT MIN({k} + 0)::bigint, MAX({k} + 0)::bigint FROM {t} WHERE {c} IS NULL"
                                ),
                                step: i64::from(batch_size),
                            }
                        }
                        None => OnlineSql::Repeat {
                            sql: format!(
                                "UPDATE {t} SET {c} = {value} WHERE ctid IN (SELECT ctid FROM {t} WHERE {c} IS NULL LIMIT {batch_size})"
                            ),
                        },
                    }
                });
                let mut after_commit = Vec::new();
                after_commit.extend(backfill.clone());
                // Every statement is safe to run again: a run stopped between a
                // statement's commit and its progress record repeats it.
                after_commit.push(OnlineSql::Statement {
                    sql: format!(
                        "ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {ck}; \
                         ALTER TABLE {t} ADD CONSTRAINT {ck} CHECK ({c} IS NOT NULL) NOT VALID"
                    ),
                });
                after_commit.extend(backfill);
                for sql in [
                    format!("ALTER TABLE {t} VALIDATE CONSTRAINT {ck}"),
                    // PostgreSQL 12+ proves NOT NULL from the valid check: no scan.
                    format!("ALTER TABLE {t} ALTER COLUMN {c} SET NOT NULL"),
                    format!("ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {ck}"),
                ] {
                    after_commit.push(OnlineSql::Statement { sql });
                }
                Some(OnlineRendering {
                    in_transaction: in_tx,
                    after_commit,
                    note: format!(
                        "NOT NULL via CHECK NOT VALID, {}VALIDATE, then SET NOT NULL without a table scan",
                        if to.default.is_some() {
                            format!("a backfill in batches of {batch_size} rows, ")
                        } else {
                            String::new()
                        }
                    ),
                })
            }
            _ => None,
        }
    }

    fn normalize(&self, schema: &mut Schema) {
        for table in schema.tables.values_mut() {
            for c in &mut table.columns {
                // A model's `default_sql` reads as the database's printing of
                // it would: a literal written as SQL is that literal.
                if let Some(SchemaDefault::Sql(sql)) = &c.default {
                    c.default = Some(parse_default(sql, c.ty));
                }
                // jsonb re-prints its constants: compare documents, not spellings.
                if c.ty == LogicalType::Json {
                    if let Some(SchemaDefault::Text(t)) = &mut c.default {
                        if let Ok(v) = serde_json::from_str::<serde_json::Value>(t) {
                            *t = v.to_string();
                        }
                    }
                }
                if c.auto_increment {
                    c.nullable = false;
                }
            }
        }
    }
}

/// Maps `format_type()` output back to a logical type and length.
pub(crate) fn logical_type(formatted: &str) -> (LogicalType, Option<u32>) {
    if let Some(n) = formatted
        .strip_prefix("character varying(")
        .and_then(|r| r.strip_suffix(')'))
        .and_then(|n| n.parse().ok())
    {
        return (LogicalType::Text, Some(n));
    }
    let t = match formatted {
        "smallint" => LogicalType::SmallInt,
        "integer" => LogicalType::Int,
        "bigint" => LogicalType::BigInt,
        "real" => LogicalType::Float,
        "double precision" => LogicalType::Double,
        "boolean" => LogicalType::Bool,
        "bytea" => LogicalType::Bytes,
        "date" => LogicalType::Date,
        "timestamp without time zone" => LogicalType::Timestamp,
        "timestamp with time zone" => LogicalType::TimestampTz,
        "uuid" => LogicalType::Uuid,
        "jsonb" | "json" => LogicalType::Json,
        f if f.starts_with("numeric") => LogicalType::Decimal,
        _ => LogicalType::Text,
    };
    (t, None)
}

/// Parses `pg_get_expr` of a column default (`'x'::text`, `'-7'::integer`,
/// `true`, `CURRENT_TIMESTAMP`, …) for a column of type `ty`. A default that
/// is none of the literal kinds (`gen_random_uuid()`, `lower('X'::text)`,
/// `CURRENT_DATE` on a timestamp column) is kept as
/// [`SchemaDefault::Sql`], as PostgreSQL prints it. The same function reads
/// a model's `default_sql` (see `normalize`), so a model's literal written as
/// SQL and the database's printing of it are the same kind.
pub(crate) fn parse_default(raw: &str, ty: LogicalType) -> SchemaDefault {
    let raw = raw.trim();
    let mut s = raw;
    // Strip casts: `'…'::character varying`, `(…)::numeric`.
    if let Some(i) = find_cast(s) {
        s = s[..i].trim();
    }
    let s = s
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or(s);
    let upper = s.to_ascii_uppercase();
    let now = match ty {
        // Each is today's date once stored in a date column.
        LogicalType::Date => {
            ["CURRENT_DATE", "CURRENT_TIMESTAMP", "NOW()"].contains(&upper.as_str())
        }
        LogicalType::Timestamp | LogicalType::TimestampTz => {
            ["CURRENT_TIMESTAMP", "NOW()"].contains(&upper.as_str())
        }
        _ => false,
    };
    if now {
        return SchemaDefault::CurrentTimestamp;
    }
    let literal = quoted_literal(s);
    let text = literal.clone().unwrap_or_else(|| s.to_owned());
    match ty {
        LogicalType::Bool => match text.as_str() {
            "true" => return SchemaDefault::Bool(true),
            "false" => return SchemaDefault::Bool(false),
            _ => {}
        },
        LogicalType::Float | LogicalType::Double => {
            if let Ok(f) = text.parse() {
                return SchemaDefault::Float(f);
            }
        }
        t if t.is_integer() => {
            if let Ok(i) = text.parse() {
                return SchemaDefault::Int(i);
            }
        }
        _ => {}
    }
    match literal {
        Some(text) => SchemaDefault::Text(text),
        // A bare number on a numeric or text column (`0` on `numeric(10,2)`).
        None if s.parse::<f64>().is_ok_and(f64::is_finite) => SchemaDefault::Text(s.to_owned()),
        None => SchemaDefault::Sql(raw.to_owned()),
    }
}

/// Position of a trailing `::type` cast outside quotes.
fn find_cast(s: &str) -> Option<usize> {
    let mut in_quote = false;
    let bytes = s.as_bytes();
    let mut last = None;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => in_quote = !in_quote,
            b':' if !in_quote && bytes.get(i + 1) == Some(&b':') => {
                last = Some(i);
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    last
}

/// A value's SQL type and its text form PostgreSQL's input function reads
/// back as the same value (`None` text for NULL); `None` when it has none.
fn text_form(v: &Value) -> Option<(Option<&'static str>, Option<String>)> {
    use chrono::Datelike;
    let float = |f: f64| {
        if f.is_nan() {
            "NaN".to_owned()
        } else if f.is_infinite() {
            if f > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
        } else {
            f.to_string()
        }
    };
    let year_ok = |y: i32| (1..=9999).contains(&y);
    Some(match v {
        Value::Null => (None, None),
        Value::Bool(b) => (Some("boolean"), Some(b.to_string())),
        Value::I16(i) => (Some("smallint"), Some(i.to_string())),
        Value::I32(i) => (Some("integer"), Some(i.to_string())),
        Value::I64(i) => (Some("bigint"), Some(i.to_string())),
        Value::F32(f) if f.is_finite() => (Some("real"), Some(f.to_string())),
        Value::F32(f) => (Some("real"), Some(float(f64::from(*f)))),
        Value::F64(f) => (Some("double precision"), Some(float(*f))),
        Value::Text(t) => (Some("text"), Some(t.clone())),
        Value::Bytes(b) => {
            let mut s = String::with_capacity(2 + 2 * b.len());
            s.push_str("\\x");
            for byte in b {
                s.push_str(&format!("{byte:02x}"));
            }
            (Some("bytea"), Some(s))
        }
        Value::Date(d) if year_ok(d.year()) => {
            (Some("date"), Some(d.format("%Y-%m-%d").to_string()))
        }
        Value::Timestamp(t) if year_ok(t.year()) => (
            Some("timestamp"),
            Some(t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()),
        ),
        Value::TimestampTz(t) if year_ok(t.year()) => (
            Some("timestamptz"),
            Some(t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()),
        ),
        Value::Uuid(u) => (Some("uuid"), Some(u.hyphenated().to_string())),
        Value::Decimal(d) => (Some("numeric"), Some(d.to_string())),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_is_case_sensitive_or_ilike() {
        let mut out = String::new();
        POSTGRES.like("\"name\"", "$1", true, &mut out);
        assert_eq!(out, "\"name\" LIKE $1 ESCAPE '\\'");
        out.clear();
        POSTGRES.like("\"name\"", "$1", false, &mut out);
        assert_eq!(out, "\"name\" ILIKE $1 ESCAPE '\\'");
        // The standard spelling, which SQLite keeps.
        out.clear();
        dataflow_core::QueryDialect::like(&Standard, "\"name\"", "?", false, &mut out);
        assert_eq!(out, "lower(\"name\") LIKE lower(?) ESCAPE '\\'");
    }

    /// Only the required hooks: every other spelling is the standard one.
    #[derive(Debug)]
    struct Standard;

    impl QueryDialect for Standard {
        fn name(&self) -> &'static str {
            "standard"
        }
        fn slot(&self) -> usize {
            3
        }
        fn placeholder(&self, _index: usize, out: &mut String) {
            out.push('?');
        }
        fn json_contains(
            &self,
            _: &str,
            _: &serde_json::Value,
            _: &mut dataflow_core::query::statement::SqlWriter<'_>,
        ) {
        }
        fn json_path_compare(
            &self,
            _: &str,
            _: &[dataflow_core::query::json::JsonSegment],
            _: dataflow_core::CmpOp,
            _: &serde_json::Value,
            _: &mut dataflow_core::query::statement::SqlWriter<'_>,
        ) {
        }
    }

    #[test]
    fn defaults_as_postgres_prints_them() {
        use LogicalType as T;
        assert_eq!(
            parse_default("'it''s'::text", T::Text),
            SchemaDefault::Text("it's".into())
        );
        assert_eq!(
            parse_default("'-7'::integer", T::Int),
            SchemaDefault::Int(-7)
        );
        assert_eq!(parse_default("42", T::BigInt), SchemaDefault::Int(42));
        assert_eq!(parse_default("true", T::Bool), SchemaDefault::Bool(true));
        assert_eq!(parse_default("0.5", T::Double), SchemaDefault::Float(0.5));
        assert_eq!(
            parse_default("CURRENT_TIMESTAMP", T::TimestampTz),
            SchemaDefault::CurrentTimestamp
        );
        assert_eq!(
            parse_default("'{\"a\": 1}'::jsonb", T::Json),
            SchemaDefault::Text("{\"a\": 1}".into())
        );
        assert_eq!(
            parse_default("12.50", T::Decimal),
            SchemaDefault::Text("12.50".into())
        );
        assert_eq!(
            parse_default("'x::y'::character varying", T::Text),
            SchemaDefault::Text("x::y".into())
        );
        assert_eq!(
            parse_default("CURRENT_DATE", T::Date),
            SchemaDefault::CurrentTimestamp
        );
    }

    #[test]
    fn expression_defaults_stay_sql() {
        use LogicalType as T;
        for (raw, ty) in [
            ("gen_random_uuid()", T::Uuid),
            ("lower('X'::text)", T::Text),
            ("('a'::text || 'b'::text)", T::Text),
            ("CURRENT_DATE", T::Timestamp),
            ("now()", T::Text),
            ("(now() + '1 day'::interval)", T::TimestampTz),
            ("nextval('t_c_seq'::regclass)", T::BigInt),
            ("NULL::text", T::Text),
        ] {
            assert_eq!(
                parse_default(raw, ty),
                SchemaDefault::Sql(raw.into()),
                "{raw}"
            );
        }
    }

    #[test]
    fn formatted_types_round_trip() {
        assert_eq!(
            logical_type("character varying(80)"),
            (LogicalType::Text, Some(80))
        );
        assert_eq!(
            logical_type("timestamp with time zone"),
            (LogicalType::TimestampTz, None)
        );
        assert_eq!(
            logical_type("double precision"),
            (LogicalType::Double, None)
        );
    }
}
