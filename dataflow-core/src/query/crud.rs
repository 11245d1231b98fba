//! The generated CRUD functions: typed wrappers over the record layer.
//!
//! `#[derive(Model)]` emits thin inherent methods (`User::create`, …) that call
//! these; each turns the model into values, calls [`Records`] (the one CRUD
//! implementation) and decodes the stored row back into the struct.

use crate::error::Result;
use crate::limits::dispose_values;
use crate::model::key::ModelKey;
use crate::model::{Model, Patch};
use crate::query::filter::{Column, Filter};
use crate::query::record::Records;
use crate::query::QueryHandle;

pub use crate::query::record::now;

fn records<M: Model>(db: &dyn QueryHandle) -> Records<'_> {
    Records::new(db, M::DESCRIPTOR)
}

/// `M::create`: inserts one row and returns it as stored.
pub fn create<M: Model>(db: &dyn QueryHandle, value: M) -> Result<M> {
    records::<M>(db).insert_as(value.into_values(), &mut M::from_row)
}

/// `M::read`: one row by primary key, `None` when missing.
pub fn read<M: Model>(db: &dyn QueryHandle, key: M::Key) -> Result<Option<M>> {
    records::<M>(db).get_as(key.into_key(), &mut M::from_row)
}

/// `M::update`: applies a patch to one row and returns the stored row;
/// `Error::NotFound` when the row does not exist.
pub fn update<M: Model>(db: &dyn QueryHandle, key: M::Key, patch: M::Patch) -> Result<M> {
    records::<M>(db).update_as(key.into_key(), patch.into_assignments(), &mut M::from_row)
}

/// `M::delete`: deletes one row (sets `deleted_at` under soft delete);
/// `Error::NotFound` when the row does not exist.
pub fn delete<M: Model>(db: &dyn QueryHandle, key: M::Key) -> Result<()> {
    records::<M>(db).delete_unchecked(key.into_key())
}

/// `M::restore` (soft-delete models): brings back a soft-deleted row and
/// returns it; `Error::NotFound` when no soft-deleted row has the key (a
/// missing row, or one that is not deleted).
pub fn restore<M: Model>(db: &dyn QueryHandle, key: M::Key) -> Result<M> {
    records::<M>(db).restore_as(key.into_key(), &mut M::from_row)
}

/// `M::hard_delete`: removes one row even under soft delete.
pub fn hard_delete<M: Model>(db: &dyn QueryHandle, key: M::Key) -> Result<()> {
    records::<M>(db).hard_delete_unchecked(key.into_key())
}

/// `M::bulk_create`: inserts every row in one transaction (multi-row statements);
/// all or nothing. Returns the number of rows inserted.
pub fn bulk_create<M: Model>(db: &dyn QueryHandle, items: &[M]) -> Result<usize> {
    records::<M>(db).insert_many_unchecked(items.iter().map(M::to_values).collect())
}

/// Columns an upsert may use as its conflict target.
pub trait ConflictTarget<M> {
    /// Column names.
    fn columns(&self) -> Vec<&'static str>;
}

impl<M, T> ConflictTarget<M> for [Column<M, T>] {
    fn columns(&self) -> Vec<&'static str> {
        self.iter().map(|c| c.name()).collect()
    }
}
impl<M, T, const N: usize> ConflictTarget<M> for [Column<M, T>; N] {
    fn columns(&self) -> Vec<&'static str> {
        self.iter().map(|c| c.name()).collect()
    }
}
impl<M, A, B> ConflictTarget<M> for (Column<M, A>, Column<M, B>) {
    fn columns(&self) -> Vec<&'static str> {
        vec![self.0.name(), self.1.name()]
    }
}
impl<M, A, B, C> ConflictTarget<M> for (Column<M, A>, Column<M, B>, Column<M, C>) {
    fn columns(&self) -> Vec<&'static str> {
        vec![self.0.name(), self.1.name(), self.2.name()]
    }
}

/// `M::upsert`: inserts the row, or updates the existing row that has the same
/// values in `conflict` columns; returns the stored row.
pub fn upsert<M: Model, C: ConflictTarget<M> + ?Sized>(
    db: &dyn QueryHandle,
    value: M,
    conflict: &C,
) -> Result<M> {
    records::<M>(db).upsert_as(value.into_values(), &conflict.columns(), &mut M::from_row)
}

/// `M::bulk_upsert`: upserts every row in one transaction. When several rows share
/// conflict values the last one wins (the same on every backend). Returns the
/// number of rows inserted or updated.
pub fn bulk_upsert<M: Model, C: ConflictTarget<M> + ?Sized>(
    db: &dyn QueryHandle,
    items: &[M],
    conflict: &C,
) -> Result<usize> {
    records::<M>(db).upsert_many_unchecked(
        items.iter().map(M::to_values).collect(),
        &conflict.columns(),
    )
}

/// `M::bulk_update`: applies a patch to every row matching the filter, in one
/// statement. Returns the number of rows changed.
pub fn bulk_update<M: Model>(
    db: &dyn QueryHandle,
    filter: Filter<M>,
    patch: M::Patch,
) -> Result<usize> {
    let assignments = patch.into_assignments();
    let expr = match filter.try_into_expr() {
        Ok(e) => e,
        Err(e) => {
            dispose_values(assignments.into_iter().map(|(_, v)| v));
            return Err(e);
        }
    };
    records::<M>(db).update_where_unchecked(expr, assignments)
}

/// `M::bulk_delete`: deletes every row matching the filter (soft delete sets
/// `deleted_at`). Returns the number of rows deleted.
pub fn bulk_delete<M: Model>(db: &dyn QueryHandle, filter: Filter<M>) -> Result<usize> {
    records::<M>(db).delete_where(filter.try_into_expr()?)
}
