//! Node parameters: every node of a model run on an in-memory SQLite database
//! with fuzzed JSON, inside a transaction rolled back afterwards. Never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dataflow_fuzz::nodes(data));
