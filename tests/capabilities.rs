//! What each backend declares it supports agrees with what the core relies on
//! elsewhere: pure checks over the `Capabilities` values, no database.

use dataflow_core::migrate::dialect::MAX_IDENTIFIER_BYTES;
use dataflow_core::{Capabilities, QueryDialect};

fn backends() -> [(&'static str, Capabilities, &'static dyn QueryDialect); 2] {
    [
        (
            "sqlite",
            dataflow_sqlite::CAPABILITIES,
            &dataflow_sqlite::SQLITE,
        ),
        (
            "postgres",
            dataflow_postgres::CAPABILITIES,
            &dataflow_postgres::POSTGRES,
        ),
    ]
}

/// The derive refuses identifiers over `MAX_IDENTIFIER_BYTES` and generated
/// names are cut to it, so every backend must keep names that long.
#[test]
fn the_portable_identifier_limit_fits_every_backend() {
    for (name, caps, _) in backends() {
        assert!(
            caps.max_identifier_bytes
                .is_none_or(|n| n >= MAX_IDENTIFIER_BYTES),
            "{name}: {caps:?}"
        );
    }
}

/// Without `RETURNING` a write reads its generated key back through the
/// dialect: each current dialect can, so either backend would still work
/// reporting `returning: false` (run on SQLite by `without_returning.rs`).
#[test]
fn every_backend_can_find_the_row_it_wrote_without_returning() {
    for (name, _, dialect) in backends() {
        assert!(dialect.last_insert_id().is_some(), "{name}");
    }
}

/// Filters promise case-sensitive `LIKE` and chunk multi-row statements by
/// the bind limit: every backend must say so and leave room for a row.
#[test]
fn filters_and_bulk_writes_have_what_they_need() {
    for (name, caps, _) in backends() {
        assert!(caps.case_sensitive_like, "{name}");
        assert!(caps.max_bind_params >= 999, "{name}: {caps:?}");
    }
}
