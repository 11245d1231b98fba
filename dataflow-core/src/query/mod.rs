//! The query layer: filters, lists, statements and CRUD over registered models.
//!
//! [`filter`] is the one expression model (typed columns build it; it is checked
//! and rendered with bound values), [`list`] the `Model::list(&db)` builder,
//! [`statement`] renders CRUD statements through the backend's dialect and caches
//! the fixed ones per model, and [`crud`] is the CRUD written once, generic over
//! the model, that the derive's functions call.

pub mod crud;
pub mod filter;
pub mod list;
pub mod statement;
