//! Static model descriptors: what the derive emits, and everything downstream reads.
//!
//! Descriptors are plain data built at compile time. The runtime never parses
//! attributes or builds identifiers from user input: every table and column name
//! used in SQL comes from here.

use crate::model::cache::StatementCache;
pub use crate::model::enums::EnumDescriptor;
use crate::model::value::LogicalType;

/// Describes one model (one table).
#[derive(Debug)]
pub struct ModelDescriptor {
    /// The Rust struct name (`User`).
    pub name: &'static str,
    /// The table name (`users`).
    pub table: &'static str,
    /// A previous table name, from `#[dataflow(renamed_from = "...")]`. Keep
    /// the hint until every database has applied the rename (without it an
    /// old database sees a dropped and an added table); a generated migration
    /// file that carries the rename makes it unnecessary.
    pub renamed_from: Option<&'static str>,
    /// Every column of the table, in declaration order; managed columns
    /// (`created_at`, `updated_at`, `deleted_at`) that the struct does not declare
    /// come last.
    pub columns: &'static [ColumnDescriptor],
    /// Indexes into `columns` of the primary key's columns, in key order: one
    /// for most models, several for a composite key (`primary_key("a", "b")`).
    pub primary_key: &'static [usize],
    /// Indexes declared on the model or its fields (unique fields included).
    pub indexes: &'static [IndexDescriptor],
    /// Foreign keys.
    pub foreign_keys: &'static [ForeignKeyDescriptor],
    /// `CHECK` constraints declared with `#[dataflow(check(...))]`.
    pub checks: &'static [CheckDescriptor],
    /// `#[dataflow(timestamps)]`: managed `created_at` / `updated_at`.
    pub timestamps: bool,
    /// `#[dataflow(soft_delete)]`: `deleted_at`, rows with it set are hidden from reads.
    pub soft_delete: bool,
    /// SQL built once per dialect for this model's fixed statements.
    #[doc(hidden)]
    pub statements: StatementCache,
}

/// Describes one column.
#[derive(Debug)]
pub struct ColumnDescriptor {
    /// The column name in the database.
    pub name: &'static str,
    /// The Rust field name, or `None` for a managed column the struct does not declare.
    pub field: Option<&'static str>,
    /// Logical type.
    pub ty: LogicalType,
    /// Whether NULL is allowed (`Option<T>` fields).
    pub nullable: bool,
    /// Part of the primary key.
    pub primary_key: bool,
    /// Values assigned by the database (a single-column integer primary key;
    /// never a part of a composite key).
    pub auto_increment: bool,
    /// A single-column unique constraint.
    pub unique: bool,
    /// `max_length = N` for text columns.
    pub max_length: Option<u32>,
    /// For an enum field (stored as text): the allowed stored names and the
    /// renames of the next migration.
    pub enum_type: Option<&'static EnumDescriptor>,
    /// The SQL default, if any.
    pub default: Option<DefaultValue>,
    /// A previous column name, from `renamed_from`; kept as long as the
    /// table's hint (until every database has applied the rename).
    pub renamed_from: Option<&'static str>,
    /// Whether dataflow manages the value (timestamps, soft delete).
    pub managed: Option<Managed>,
    /// `collation = "..."`: the column's collation, by the name the database
    /// knows it by (text columns only).
    pub collation: Option<&'static str>,
}

impl ColumnDescriptor {
    /// Whether the user supplies this column's value on insert.
    pub fn is_user_writable(&self) -> bool {
        self.managed.is_none()
    }
}

/// Columns whose values dataflow sets itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(clippy::enum_variant_names)] // mirrors the column names
pub enum Managed {
    /// Set on insert.
    CreatedAt,
    /// Set on insert and every update.
    UpdatedAt,
    /// Set by a soft delete.
    DeletedAt,
}

/// A column default, as declared with `#[dataflow(default = ...)]`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum DefaultValue {
    /// `default = true`
    Bool(bool),
    /// `default = 42`
    Int(i64),
    /// `default = 1.5`
    Float(f64),
    /// `default = "text"`
    Text(&'static str),
    /// A JSON document (text form, validated at compile time).
    Json(&'static str),
    /// An exact decimal (text form).
    Decimal(&'static str),
    /// `default = "now"` on a date/time field: the current timestamp.
    CurrentTimestamp,
    /// `default_sql = "..."`: an SQL expression the database evaluates,
    /// emitted verbatim in DDL. Trusted code written by the model's author,
    /// like a migration, never user input.
    Sql(&'static str),
}

/// A table `CHECK` constraint, from `#[dataflow(check(name = "...", expr =
/// "..."))]`. The expression is SQL written by the model author and trusted
/// like a migration: it is emitted as written.
#[derive(Debug)]
pub struct CheckDescriptor {
    /// Constraint name (diffs compare checks by name).
    pub name: &'static str,
    /// The condition every row must satisfy (NULL counts as satisfied).
    pub expr: &'static str,
}

/// An index over one or more columns.
#[derive(Debug)]
pub struct IndexDescriptor {
    /// Index name (given, or derived as `ix_<table>_<cols>` / `ux_<table>_<cols>`).
    pub name: &'static str,
    /// Column names, in order.
    pub columns: &'static [&'static str],
    /// Whether the index enforces uniqueness.
    pub unique: bool,
    /// How the index is built.
    pub method: IndexMethod,
    /// `WHERE` condition of a partial index (SQL written by the model author).
    pub predicate: Option<&'static str>,
}

/// How an index is built. B-tree is everyone's default; the others are
/// PostgreSQL's and are skipped on backends without them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IndexMethod {
    /// An ordinary (b-tree) index.
    #[default]
    BTree,
    /// A GIN index over JSON documents (`jsonb_gin_indexes`).
    JsonGin,
    /// A GIN index over `to_tsvector(language, col1 || ' ' || col2 …)` (`text_search`).
    TextSearch {
        /// Text-search configuration, e.g. `english`.
        language: &'static str,
    },
}

/// Referential action of a foreign key.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum FkAction {
    /// `NO ACTION` (the SQL default).
    #[default]
    NoAction,
    /// `RESTRICT`
    Restrict,
    /// `CASCADE`
    Cascade,
    /// `SET NULL`
    SetNull,
    /// `SET DEFAULT`
    SetDefault,
}

impl FkAction {
    /// The SQL keywords.
    pub fn sql(self) -> &'static str {
        match self {
            FkAction::NoAction => "NO ACTION",
            FkAction::Restrict => "RESTRICT",
            FkAction::Cascade => "CASCADE",
            FkAction::SetNull => "SET NULL",
            FkAction::SetDefault => "SET DEFAULT",
        }
    }
}

/// A foreign key from one column to a column of another table.
#[derive(Debug)]
pub struct ForeignKeyDescriptor {
    /// The referencing column.
    pub column: &'static str,
    /// The referenced table.
    pub references_table: &'static str,
    /// The referenced column.
    pub references_column: &'static str,
    /// Action on delete of the referenced row.
    pub on_delete: FkAction,
    /// Action on update of the referenced key.
    pub on_update: FkAction,
}

impl ModelDescriptor {
    /// The primary key's columns, in key order.
    pub fn key_columns(&self) -> impl ExactSizeIterator<Item = &ColumnDescriptor> + '_ {
        self.primary_key.iter().map(|&i| &self.columns[i])
    }

    /// Whether the primary key has several columns.
    pub fn has_composite_key(&self) -> bool {
        self.primary_key.len() > 1
    }

    /// The key column whose values the database generates, with its index:
    /// the key when it is one auto-increment column, else `None` (a composite
    /// key is never generated).
    pub fn auto_key(&self) -> Option<(usize, &ColumnDescriptor)> {
        match self.primary_key {
            [i] if self.columns[*i].auto_increment => Some((*i, &self.columns[*i])),
            _ => None,
        }
    }

    /// Finds a column by its database name.
    pub fn column(&self, name: &str) -> Option<&ColumnDescriptor> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Finds a column by its Rust field name.
    pub fn field(&self, name: &str) -> Option<&ColumnDescriptor> {
        self.columns.iter().find(|c| c.field == Some(name))
    }

    /// The managed column of the given kind, if the model has one.
    pub fn managed(&self, kind: Managed) -> Option<&ColumnDescriptor> {
        self.columns.iter().find(|c| c.managed == Some(kind))
    }
}
