//! The model layer: what a `#[derive(Model)]` struct is at run time.
//!
//! [`descriptor`] holds the static description the derive emits (table, columns,
//! keys, indexes, foreign keys), [`field`] maps Rust field types to logical types,
//! [`enums`] makes fieldless enums field types (stored as text),
//! [`key`] is a primary key as values (one, or one per column of a composite key),
//! [`value`] is the one dynamic value every layer above binds and decodes,
//! [`cache`] holds the per-model statement cache the query layer fills,
//! [`row`] is how a result row is read (typed getters, or values), and
//! this module holds the [`Model`] and [`Patch`] traits the derive implements.
//! Nothing here knows SQL, a database or a migration.

pub mod cache;
pub mod descriptor;
pub mod enums;
pub mod field;
pub mod key;
pub mod row;
pub mod value;

use crate::error::Result;
use crate::model::descriptor::ModelDescriptor;
use crate::model::key::ModelKey;
use crate::model::row::RowReader;
use crate::model::value::Value;

/// A struct mapped to a table. Implemented by `#[derive(Model)]`; not meant to be
/// implemented by hand.
pub trait Model: Sized + Send + Sync + 'static {
    /// The primary key's Rust type: the key field's type, or a tuple of the
    /// key fields' types in key order for a composite key.
    type Key: ModelKey;
    /// The generated `<Model>Patch` type.
    type Patch: Patch<Model = Self>;
    /// The static descriptor.
    const DESCRIPTOR: &'static ModelDescriptor;

    /// Values for every column of the descriptor, in order (`Value::Null` for
    /// managed columns the struct does not declare).
    fn to_values(&self) -> Vec<Value>;

    /// Like `to_values`, consuming the struct to avoid copies.
    fn into_values(self) -> Vec<Value>;

    /// Builds the struct from a row holding every descriptor column in order,
    /// reading each column straight into its field.
    fn from_row(row: &mut dyn RowReader) -> Result<Self>;

    /// The primary key of this instance.
    fn key(&self) -> Self::Key;
}

/// A partial update of a model: every field optional. Generated per model
/// (`UserPatch`).
pub trait Patch: Default + Send {
    /// The patched model.
    type Model: Model;

    /// `(column index, new value)` for every field that is set.
    fn into_assignments(self) -> Vec<(usize, Value)>;
}
