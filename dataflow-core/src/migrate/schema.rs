//! The one normalised schema type. The target schema (built from registered
//! model descriptors) and the live schema (described from the database) are both
//! values of [`Schema`], normalised the same way, so comparing them is plain
//! equality per table, column and index.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::descriptor::{DefaultValue, FkAction, IndexMethod, ModelDescriptor};
use crate::model::value::LogicalType;

/// A set of tables, keyed by name (ordered, so iteration and rendering are
/// deterministic).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// Tables by name.
    pub tables: BTreeMap<String, Table>,
}

/// One table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// Table name.
    pub name: String,
    /// Columns in table order.
    pub columns: Vec<Column>,
    /// Primary-key column names.
    pub primary_key: Vec<String>,
    /// Secondary indexes (unique constraints included), sorted by name.
    pub indexes: Vec<Index>,
    /// Foreign keys, sorted by column.
    pub foreign_keys: Vec<ForeignKey>,
    /// Triggers defined on the table outside dataflow, as the live database
    /// reports them (never part of a model, never diffed). Kept so a dialect
    /// that must rebuild the table can define them again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub triggers: Vec<Trigger>,
    /// `CHECK` constraints of the table, sorted by name (an enum column's
    /// check of allowed values is not among them: it is the column's
    /// [`Column::enum_values`]). Absent from snapshots written before checks
    /// were described, which read as none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
}

/// A table's `CHECK` constraint: compared by name, then by expression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Constraint name.
    pub name: String,
    /// The condition, as SQL, in the form [`check_expression`] gives
    /// (without the parentheses that wrap all of it).
    pub expr: String,
}

impl Check {
    /// A check named `name` of the condition `expr` (normalised).
    pub fn new(name: impl Into<String>, expr: &str) -> Check {
        Check {
            name: name.into(),
            expr: check_expression(expr),
        }
    }
}

/// The one form a check's condition is compared in: surrounding whitespace
/// and parentheses that wrap the whole condition removed, so `((price > 0))`
/// (how PostgreSQL prints it) and `price > 0` (how a model writes it) are the
/// same text. Nothing else is rewritten: a canonical form that dropped inner
/// parentheses would also equate `(a OR b) AND c` with `a OR (b AND c)`.
/// What a database rewrites further (PostgreSQL's added casts) is compared
/// through the database's own printing of the model's condition (see
/// `Describe::reprint_checks`).
pub fn check_expression(expr: &str) -> String {
    let mut e = expr.trim();
    while let Some(inner) = e.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        if !balanced(inner) {
            break;
        }
        e = inner.trim();
    }
    e.to_owned()
}

/// Whether every parenthesis of `sql` outside quotes closes in order (so
/// `(a) OR (b)` is not one parenthesised whole once its outer pair is cut).
fn balanced(sql: &str) -> bool {
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    for ch in sql.chars() {
        match (quote, ch) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"' | '`') => quote = Some(ch),
            (None, '[') => quote = Some(']'),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0 && quote.is_none()
}

/// A trigger on a table, with the SQL that defines it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    /// Trigger name.
    pub name: String,
    /// The complete `CREATE TRIGGER` statement.
    pub sql: String,
}

/// One column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// Column name.
    pub name: String,
    /// Logical type.
    pub ty: LogicalType,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// Text length limit.
    pub max_length: Option<u32>,
    /// Declared SQL default.
    pub default: Option<SchemaDefault>,
    /// Database-assigned integer key.
    pub auto_increment: bool,
    /// For an enum column: the values a `CHECK` allows, sorted (their order
    /// in the Rust enum means nothing to the database). `None` for any other
    /// column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enum_values: Option<Vec<String>>,
    /// A collation other than the database's default (text columns), by the
    /// name the database knows it by (`NOCASE`, `C`, `und-x-icu`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collation: Option<String>,
}

/// Sorted, deduplicated allowed values: the one form both schemas hold.
pub fn normalized_values<S: AsRef<str>>(values: impl IntoIterator<Item = S>) -> Vec<String> {
    let mut v: Vec<String> = values.into_iter().map(|s| s.as_ref().to_owned()).collect();
    v.sort();
    v.dedup();
    v
}

/// A column default in owned form.
///
/// Equality is exact except for NaN floats (equal) and [`SchemaDefault::Sql`],
/// whose texts are equal when their normal forms are (see [`crate::migrate::default_sql`]): a
/// database that reprints an expression does not show its spelling as drift.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum SchemaDefault {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// Text (also JSON and decimal text).
    Text(String),
    /// The current date/time.
    CurrentTimestamp,
    /// An SQL expression the database evaluates (`default_sql = "..."` on a
    /// model; any live default that is none of the literal kinds above, as
    /// the database reports it). Emitted verbatim in DDL. Serialised as
    /// `{"kind": "sql", "value": "..."}`; snapshots written before it existed
    /// hold only the other kinds and read unchanged.
    Sql(String),
}

impl PartialEq for SchemaDefault {
    fn eq(&self, other: &Self) -> bool {
        use SchemaDefault as D;
        match (self, other) {
            (D::Bool(a), D::Bool(b)) => a == b,
            (D::Int(a), D::Int(b)) => a == b,
            // A NaN default (`'NaN'::double precision`) is the same default.
            (D::Float(a), D::Float(b)) => a == b || (a.is_nan() && b.is_nan()),
            (D::Text(a), D::Text(b)) => a == b,
            (D::CurrentTimestamp, D::CurrentTimestamp) => true,
            (D::Sql(a), D::Sql(b)) => crate::migrate::default_sql::same_default_sql(a, b),
            _ => false,
        }
    }
}

impl std::fmt::Display for SchemaDefault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SchemaDefault::Bool(b) => write!(f, "{b}"),
            SchemaDefault::Int(i) => write!(f, "{i}"),
            SchemaDefault::Float(x) => write!(f, "{x:?}"),
            SchemaDefault::Text(t) => write!(f, "{t:?}"),
            SchemaDefault::CurrentTimestamp => f.write_str("now"),
            SchemaDefault::Sql(sql) => f.write_str(sql),
        }
    }
}

impl From<DefaultValue> for SchemaDefault {
    fn from(d: DefaultValue) -> Self {
        match d {
            DefaultValue::Bool(b) => SchemaDefault::Bool(b),
            DefaultValue::Int(i) => SchemaDefault::Int(i),
            DefaultValue::Float(f) => SchemaDefault::Float(f),
            DefaultValue::Text(t) | DefaultValue::Json(t) | DefaultValue::Decimal(t) => {
                SchemaDefault::Text(t.to_owned())
            }
            DefaultValue::CurrentTimestamp => SchemaDefault::CurrentTimestamp,
            DefaultValue::Sql(sql) => SchemaDefault::Sql(sql.to_owned()),
        }
    }
}

/// A secondary index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// Index name.
    pub name: String,
    /// Column names in order.
    pub columns: Vec<String>,
    /// Enforces uniqueness.
    pub unique: bool,
    /// How the index is built (b-tree unless said otherwise).
    #[serde(default, skip_serializing_if = "IndexKind::is_btree")]
    pub kind: IndexKind,
    /// `WHERE` condition of a partial index, as SQL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicate: Option<String>,
}

impl Index {
    /// A plain b-tree index over `columns`.
    pub fn new(name: impl Into<String>, columns: &[&str], unique: bool) -> Index {
        Index {
            name: name.into(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            unique,
            kind: IndexKind::BTree,
            predicate: None,
        }
    }
}

/// How an index is built, in owned form (see [`IndexMethod`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "using", rename_all = "snake_case")]
pub enum IndexKind {
    /// An ordinary (b-tree) index.
    #[default]
    BTree,
    /// A GIN index over JSON documents.
    Gin,
    /// A GIN index over the text-search vector of the columns.
    TextSearch {
        /// Text-search configuration, e.g. `english`.
        language: String,
    },
    /// Another access method the database reports (`hash`, `gist`, …), kept so
    /// undoing a drop rebuilds the same kind of index.
    Other {
        /// The access method's name.
        method: String,
    },
}

impl IndexKind {
    /// Whether this is the default kind.
    pub fn is_btree(&self) -> bool {
        matches!(self, IndexKind::BTree)
    }
}

impl From<IndexMethod> for IndexKind {
    fn from(m: IndexMethod) -> Self {
        match m {
            IndexMethod::BTree => IndexKind::BTree,
            IndexMethod::JsonGin => IndexKind::Gin,
            IndexMethod::TextSearch { language } => IndexKind::TextSearch {
                language: language.to_owned(),
            },
        }
    }
}

/// A foreign key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKey {
    /// Referencing column.
    pub column: String,
    /// Referenced table.
    pub references_table: String,
    /// Referenced column.
    pub references_column: String,
    /// `ON DELETE` action.
    pub on_delete: FkAction,
    /// `ON UPDATE` action.
    pub on_update: FkAction,
}

impl Table {
    /// Builds the target table of a model.
    pub fn from_descriptor(d: &ModelDescriptor) -> Table {
        let columns = d
            .columns
            .iter()
            .map(|c| Column {
                name: c.name.to_owned(),
                ty: c.ty,
                nullable: c.nullable,
                max_length: c.max_length,
                default: c.default.map(SchemaDefault::from),
                auto_increment: c.auto_increment,
                enum_values: c.enum_type.map(|e| normalized_values(e.values)),
                collation: c.collation.map(str::to_owned),
            })
            .collect();
        let mut indexes: Vec<Index> = d
            .indexes
            .iter()
            .map(|i| Index {
                name: i.name.to_owned(),
                columns: i.columns.iter().map(|c| (*c).to_owned()).collect(),
                unique: i.unique,
                kind: i.method.into(),
                predicate: i.predicate.map(str::to_owned),
            })
            .collect();
        indexes.sort_by(|a, b| a.name.cmp(&b.name));
        let mut foreign_keys: Vec<ForeignKey> = d
            .foreign_keys
            .iter()
            .map(|f| ForeignKey {
                column: f.column.to_owned(),
                references_table: f.references_table.to_owned(),
                references_column: f.references_column.to_owned(),
                on_delete: f.on_delete,
                on_update: f.on_update,
            })
            .collect();
        foreign_keys.sort_by(|a, b| a.column.cmp(&b.column));
        let mut checks: Vec<Check> = d
            .checks
            .iter()
            .map(|c| Check::new(c.name, c.expr))
            .collect();
        checks.sort_by(|a, b| a.name.cmp(&b.name));
        Table {
            name: d.table.to_owned(),
            columns,
            primary_key: d.key_columns().map(|c| c.name.to_owned()).collect(),
            indexes,
            foreign_keys,
            triggers: Vec::new(),
            checks,
        }
    }

    /// Finds a column by name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

impl Schema {
    /// sha256 (hex) of the schema's canonical JSON: equal schemas, equal checksums.
    pub fn checksum(&self) -> String {
        use sha2::{Digest, Sha256};
        let json = serde_json::to_vec(self).unwrap_or_default();
        Sha256::digest(&json)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Builds the target schema of a set of models.
    pub fn from_descriptors<'a>(models: impl IntoIterator<Item = &'a ModelDescriptor>) -> Schema {
        let tables = models
            .into_iter()
            .map(|d| (d.table.to_owned(), Table::from_descriptor(d)))
            .collect();
        Schema { tables }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_conditions_lose_only_the_parentheses_around_all_of_them() {
        assert_eq!(check_expression("  ((price > 0)) "), "price > 0");
        assert_eq!(
            check_expression("(a > 0) AND (b > 0)"),
            "(a > 0) AND (b > 0)"
        );
        assert_eq!(
            check_expression("((a > 0) AND (b > 0))"),
            "(a > 0) AND (b > 0)"
        );
        assert_eq!(
            check_expression("(a = ')') OR (b = '(')"),
            "(a = ')') OR (b = '(')"
        );
        assert_eq!(check_expression("(x IN ('(', ')'))"), "x IN ('(', ')')");
    }

    #[test]
    fn snapshots_written_before_checks_and_collations_still_read() {
        let old = r#"{"tables":{"t":{"name":"t","columns":[{"name":"id","ty":"big_int",
            "nullable":false,"max_length":null,"default":null,"auto_increment":true}],
            "primary_key":["id"],"indexes":[],"foreign_keys":[]}}}"#;
        let s: Schema = serde_json::from_str(old).expect("an old snapshot reads");
        let t = &s.tables["t"];
        assert!(t.checks.is_empty());
        assert_eq!(t.columns[0].collation, None);
        // And none of the new fields is written when empty: old checksums hold.
        let json = serde_json::to_string(&s).expect("json");
        assert!(
            !json.contains("checks") && !json.contains("collation"),
            "{json}"
        );
    }
}
