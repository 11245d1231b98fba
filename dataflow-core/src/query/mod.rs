//! The query layer: filters, lists, statements and CRUD over registered models.
//!
//! [`expr`] is the one expression model (checked, and rendered with bound
//! values), [`filter`] its typed front end (model columns build it),
//! [`statement`] renders CRUD statements through the backend's dialect and
//! caches the fixed ones per model, [`record`] is the CRUD written once,
//! untyped, over a model descriptor and values, and [`crud`] and [`list`] are
//! the typed wrappers over it that the derive's functions call.

pub mod crud;
pub mod expr;
pub mod filter;
pub mod list;
pub mod record;
pub mod statement;
