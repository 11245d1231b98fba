//! The per-model cache of fixed statements: plain data kept in the model's
//! static descriptor. The query layer renders the statements and fills it
//! (`ModelDescriptor::sql`); the model layer only holds it.

use std::sync::OnceLock;

use crate::model::value::LogicalType;

/// How many dialects the per-model statement cache has room for.
pub const DIALECT_SLOTS: usize = 4;

/// Per-model, per-dialect cache of rendered statements. Lives in the model's static
/// descriptor. Each dialect has a slot with and one without `RETURNING`.
#[derive(Debug)]
pub struct StatementCache {
    slots: [OnceLock<ModelSql>; 2 * DIALECT_SLOTS],
}

impl StatementCache {
    /// An empty cache (used in generated statics).
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        StatementCache {
            slots: [const { OnceLock::new() }; 2 * DIALECT_SLOTS],
        }
    }

    /// The cell of one slot (see `ModelDescriptor::sql`).
    pub fn slot(&self, slot: usize) -> &OnceLock<ModelSql> {
        &self.slots[slot]
    }
}

/// The fixed statements of one model in one dialect.
#[derive(Debug)]
pub struct ModelSql {
    /// `SELECT <all columns> FROM <table>`
    pub select: String,
    /// ` RETURNING <all columns>`, when the database has `RETURNING`
    /// ([`Capabilities::returning`](crate::Capabilities::returning)); otherwise writes read the row back.
    pub returning: Option<String>,
    /// Logical types of the selected columns, in order.
    pub types: Vec<LogicalType>,
    /// Read one row by key (live rows only under soft delete): one bind per
    /// key column, in key order.
    pub read_by_pk: String,
    /// Insert without the auto-assigned key, returning the row when
    /// [`ModelSql::returning`] is set.
    pub insert_auto: String,
    /// Insert every column, returning the row when [`ModelSql::returning`] is set.
    pub insert_all: String,
    /// Hard delete by key: one bind per key column.
    pub delete_by_pk: String,
    /// Soft delete by key (binds: deleted_at, then the key's values); only
    /// when the model has soft delete.
    pub soft_delete_by_pk: Option<String>,
    /// `WHERE`-clause fragment excluding soft-deleted rows (`"deleted_at" IS NULL`).
    pub live_only: Option<String>,
    /// Index of each column that `insert_auto` writes.
    pub insert_auto_columns: Vec<usize>,
}
