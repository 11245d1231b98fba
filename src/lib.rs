//! Workspace root of dataflow: it holds the examples, the backend-conformance suite
//! (`tests/`) and the benchmarks (`benches/`). Applications depend on
//! `dataflow-core` plus a backend crate; this crate only re-exports them for the
//! workspace's own programs.

pub use dataflow_core as core;
pub use dataflow_sqlite as sqlite;
