//! # dataflow-postgres
//!
//! **Placeholder.** The PostgreSQL backend of dataflow arrives with the PostgreSQL
//! issue: `connect(url)` returning the same `DataFlow` handle, `pg_catalog`
//! description, PostgreSQL DDL and `pg_advisory_lock` migrations. This crate
//! compiles so the workspace layout is final, and offers nothing yet: it has no
//! functions that pretend to work.

/// The backend's planned name in dialect output and errors.
pub const BACKEND_NAME: &str = "postgres";
