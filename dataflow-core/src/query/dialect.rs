//! How a backend spells the SQL of reads and writes: quoting, placeholders,
//! `LIKE`, upserts, bulk inserts, `LIMIT`. The query layer renders statements
//! through these hooks; DDL is spelled by the migration layer's
//! [`SchemaDialect`](crate::SchemaDialect), and what the database supports at
//! all is data ([`Capabilities`](crate::Capabilities)), not spelling.

use crate::model::value::{LogicalType, Value};
use crate::query::aggregate::Aggregate;
use crate::query::expr::CmpOp;
use crate::query::json::JsonSegment;
use crate::query::statement::SqlWriter;

/// SQL text with its bound values, in placeholder order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sql {
    /// Statement text with placeholders.
    pub text: String,
    /// Values for the placeholders.
    pub binds: Vec<Value>,
}

pub use crate::model::cache::DIALECT_SLOTS;

/// How a database spells CRUD statements. Object-safe; one static instance
/// per backend, which also implements [`SchemaDialect`](crate::SchemaDialect)
/// (together: [`Dialect`](crate::Dialect)).
pub trait QueryDialect: Send + Sync + std::fmt::Debug {
    /// Short name (`sqlite`, `postgres`).
    fn name(&self) -> &'static str;

    /// A small integer (< [`DIALECT_SLOTS`]) unique to this dialect: it indexes the
    /// per-model cache of prepared SQL, so each model's fixed statements are built
    /// once per dialect instead of once per call.
    fn slot(&self) -> usize;

    /// Appends `ident` quoted as an identifier.
    fn quote_ident(&self, ident: &str, out: &mut String) {
        out.push('"');
        for ch in ident.chars() {
            if ch == '"' {
                out.push('"');
            }
            out.push(ch);
        }
        out.push('"');
    }

    /// Appends the placeholder for the `index`-th (1-based) bound value.
    fn placeholder(&self, index: usize, out: &mut String);

    /// The collation that makes this database compare and order stored values
    /// of `ty` by their meaning, where its own comparison of the stored form
    /// would not (SQLite stores decimals as text). Filters and `ORDER BY` on
    /// such columns are rendered `"column" COLLATE <name>`; the backend
    /// registers the collation on every connection. `None`: native comparison.
    fn collation(&self, ty: LogicalType) -> Option<&'static str> {
        let _ = ty;
        None
    }

    /// Appends `column LIKE pattern ESCAPE '\'`, given the quoted column and
    /// the pattern's placeholder. Case-sensitive when `case_sensitive` (what
    /// filters promise on every backend; a database whose plain `LIKE` ignores
    /// case spells it otherwise), else ignoring case. The escape is explicit so
    /// `\` escapes everywhere (SQLite has no default escape character;
    /// PostgreSQL's is `\`).
    fn like(&self, column: &str, pattern: &str, case_sensitive: bool, out: &mut String) {
        if case_sensitive {
            out.push_str(column);
            out.push_str(" LIKE ");
            out.push_str(pattern);
        } else {
            out.push_str("lower(");
            out.push_str(column);
            out.push_str(") LIKE lower(");
            out.push_str(pattern);
            out.push(')');
        }
        out.push_str(" ESCAPE '\\'");
    }

    /// Appends a test that the regular expression `pattern` (a placeholder)
    /// matches somewhere in `column` (quoted), ignoring ASCII case when
    /// `case_insensitive`, with the meaning [`crate::query::regex`] documents.
    /// The default calls the functions a backend registers on its connections
    /// ([`REGEXP_FUNCTION`](crate::query::regex::REGEXP_FUNCTION),
    /// [`IREGEXP_FUNCTION`](crate::query::regex::IREGEXP_FUNCTION)); only
    /// rendered when [`Capabilities::regex`](crate::Capabilities::regex) is set.
    fn regex(&self, column: &str, pattern: &str, case_insensitive: bool, out: &mut String) {
        out.push_str(if case_insensitive {
            crate::query::regex::IREGEXP_FUNCTION
        } else {
            crate::query::regex::REGEXP_FUNCTION
        });
        out.push('(');
        out.push_str(pattern);
        out.push_str(", ");
        out.push_str(column);
        out.push(')');
    }

    /// A query returning the key the connection's last insert generated
    /// (one row, one integer column), for databases without `RETURNING`
    /// (see [`Capabilities::returning`](crate::Capabilities::returning));
    /// `None` where there is none.
    fn last_insert_id(&self) -> Option<&'static str> {
        None
    }

    /// What to write in a multi-row `VALUES` list to let the database assign a key.
    fn generated_key_marker(&self) -> &'static str {
        "DEFAULT"
    }

    /// The upsert tail after `INSERT … VALUES …`: update every column in `update`
    /// when a row with the same `conflict` columns exists.
    fn upsert_clause(&self, conflict: &[&str], update: &[&str], out: &mut String) {
        out.push_str(" ON CONFLICT (");
        self.ident_list(conflict, out);
        out.push(')');
        if update.is_empty() {
            out.push_str(" DO NOTHING");
            return;
        }
        out.push_str(" DO UPDATE SET ");
        for (i, c) in update.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            self.quote_ident(c, out);
            out.push_str(" = excluded.");
            self.quote_ident(c, out);
        }
    }

    /// Appends a comma-separated list of quoted identifiers.
    fn ident_list(&self, idents: &[&str], out: &mut String) {
        for (i, c) in idents.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            self.quote_ident(c, out);
        }
    }

    /// An `INSERT` of many rows taking each column as one array bind (for
    /// example `INSERT … SELECT * FROM unnest($1, $2)`), for
    /// [`Connection::execute_columns`]; `None` where the database has no such
    /// form and bulk inserts use multi-row `VALUES`. One short statement
    /// whatever the row count: nothing to re-parse per chunk, no bind limit.
    ///
    /// [`Connection::execute_columns`]: crate::Connection::execute_columns
    fn columnar_insert(&self, table: &str, columns: &[(&str, LogicalType)]) -> Option<String> {
        let _ = (table, columns);
        None
    }

    /// A subquery yielding the values of an `IN` list longer than
    /// [`LONG_IN_LIST`](crate::query::statement::LONG_IN_LIST), with the whole list
    /// bound as one value: `(sql before the placeholder, the value, sql after)`,
    /// written as `column IN (before ? after)`. `None` where the values cannot
    /// be bound so; the list is then bound value by value. The rows must equal
    /// the plain list's values, NULLs included.
    fn long_in_list(&self, values: &[Value]) -> Option<(String, Value, String)> {
        let _ = values;
        None
    }

    /// Appends the aggregate `func` of `operand` (a quoted column, possibly
    /// with a collation; empty for `Count`) whose logical type is `ty`, so
    /// that it yields [`Aggregate::result_type`] on this database: `COUNT(*)`,
    /// `COALESCE(SUM(x), 0)` (the sum of nothing is zero), `AVG(x)`, `MIN(x)`,
    /// `MAX(x)`. A database whose sums or averages come back in another type
    /// (PostgreSQL's `SUM(bigint)` is `numeric`) casts them here.
    fn aggregate(&self, func: Aggregate, operand: &str, ty: LogicalType, out: &mut String) {
        portable_aggregate(func, operand, ty, out);
    }

    /// Appends a test that the JSON document in `column` (quoted) contains
    /// `template`, with the meaning of PostgreSQL's `@>` that
    /// [`json::contains`](crate::query::json::contains) defines. Values are
    /// bound through `out`.
    fn json_contains(&self, column: &str, template: &serde_json::Value, out: &mut SqlWriter<'_>);

    /// Appends a comparison of the value at `path` in the JSON document in
    /// `column` (quoted) with the JSON scalar `value`, with the meaning
    /// [`json::path_matches`](crate::query::json::path_matches) defines.
    /// Path segments are bound through `out`, never spliced.
    fn json_path_compare(
        &self,
        column: &str,
        path: &[JsonSegment],
        op: CmpOp,
        value: &serde_json::Value,
        out: &mut SqlWriter<'_>,
    );

    /// Appends ` LIMIT … OFFSET …` with bound values.
    fn limit_offset(&self, limit: Option<i64>, offset: Option<i64>, out: &mut SqlWriter<'_>) {
        if let Some(l) = limit {
            out.push(" LIMIT ");
            out.bind(Value::I64(l));
        }
        if let Some(o) = offset {
            out.push(" OFFSET ");
            out.bind(Value::I64(o));
        }
    }

    /// SQL that moves a table's key generator past keys inserted explicitly, or
    /// `None` when the database does that itself (SQLite's AUTOINCREMENT).
    fn reset_key_sequence(&self, table: &str, column: &str) -> Option<String> {
        let _ = (table, column);
        None
    }
}

/// The default spelling of [`QueryDialect::aggregate`], for dialects that
/// override only some aggregates.
pub fn portable_aggregate(func: Aggregate, operand: &str, ty: LogicalType, out: &mut String) {
    let zero = if matches!(ty, LogicalType::Float | LogicalType::Double) {
        "0.0"
    } else {
        "0"
    };
    match func {
        Aggregate::Count => out.push_str("COUNT(*)"),
        Aggregate::Sum => {
            out.push_str("COALESCE(SUM(");
            out.push_str(operand);
            out.push_str("), ");
            out.push_str(zero);
            out.push(')');
        }
        Aggregate::Avg | Aggregate::Min | Aggregate::Max => {
            out.push_str(match func {
                Aggregate::Avg => "AVG(",
                Aggregate::Min => "MIN(",
                _ => "MAX(",
            });
            out.push_str(operand);
            out.push(')');
        }
    }
}
