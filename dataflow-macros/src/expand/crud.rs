//! The inherent CRUD methods, each a thin call into `dataflow_core::query::crud`.

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::ModelIr;

pub fn expand(ir: &ModelIr) -> TokenStream {
    let vis = &ir.vis;
    let key_ty = &ir.key_type();
    let restore = ir.soft_delete.then(|| {
        quote! {
            /// Brings back a soft-deleted row and returns it; `Error::NotFound`
            /// when no soft-deleted row has this key (missing, or not deleted).
            #vis fn restore(db: &__df::DataFlow, key: #key_ty) -> __df::Result<Self> {
                __df::crud::restore::<Self>(db, key)
            }
        }
    });
    quote! {
        #restore

        /// Inserts `value` (a whole row, or its `…Draft` struct without the
        /// generated key and managed columns) and returns the stored row (with
        /// its assigned key when the key is auto-increment and `0`).
        #vis fn create(
            db: &__df::DataFlow,
            value: impl ::core::convert::Into<Self>,
        ) -> __df::Result<Self> {
            __df::crud::create::<Self>(db, ::core::convert::Into::into(value))
        }

        /// Reads one row by primary key; `Ok(None)` when it does not exist.
        #vis fn read(db: &__df::DataFlow, key: #key_ty) -> __df::Result<__df::Option<Self>> {
            __df::crud::read::<Self>(db, key)
        }

        /// Applies a patch to one row and returns the stored row;
        /// `Error::NotFound` when it does not exist.
        #vis fn update(
            db: &__df::DataFlow,
            key: #key_ty,
            patch: <Self as __df::Model>::Patch,
        ) -> __df::Result<Self> {
            __df::crud::update::<Self>(db, key, patch)
        }

        /// Deletes one row (soft delete when the model has it);
        /// `Error::NotFound` when it does not exist.
        #vis fn delete(db: &__df::DataFlow, key: #key_ty) -> __df::Result<()> {
            __df::crud::delete::<Self>(db, key)
        }

        /// Removes one row, even under soft delete.
        #vis fn hard_delete(db: &__df::DataFlow, key: #key_ty) -> __df::Result<()> {
            __df::crud::hard_delete::<Self>(db, key)
        }

        /// A query over this model's rows.
        #vis fn list(db: &__df::DataFlow) -> __df::List<'_, Self> {
            __df::List::new(db)
        }

        /// Inserts every row in one transaction; all or nothing.
        #vis fn bulk_create(db: &__df::DataFlow, values: &[Self]) -> __df::Result<usize> {
            __df::crud::bulk_create(db, values)
        }

        /// Applies a patch to every row matching `filter` (use `Filter::all()` for all).
        #vis fn bulk_update(
            db: &__df::DataFlow,
            filter: __df::Filter<Self>,
            patch: <Self as __df::Model>::Patch,
        ) -> __df::Result<usize> {
            __df::crud::bulk_update::<Self>(db, filter, patch)
        }

        /// Deletes every row matching `filter` (use `Filter::all()` for all).
        #vis fn bulk_delete(db: &__df::DataFlow, filter: __df::Filter<Self>) -> __df::Result<usize> {
            __df::crud::bulk_delete::<Self>(db, filter)
        }

        /// Inserts `value`, or updates the row with the same `conflict` columns.
        #vis fn upsert<C: __df::crud::ConflictTarget<Self> + ?Sized>(
            db: &__df::DataFlow,
            value: Self,
            conflict: &C,
        ) -> __df::Result<Self> {
            __df::crud::upsert(db, value, conflict)
        }

        /// Upserts every row in one transaction; all or nothing.
        #vis fn bulk_upsert<C: __df::crud::ConflictTarget<Self> + ?Sized>(
            db: &__df::DataFlow,
            values: &[Self],
            conflict: &C,
        ) -> __df::Result<usize> {
            __df::crud::bulk_upsert(db, values, conflict)
        }
    }
}
