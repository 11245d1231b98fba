//! The backend-conformance suite: every scenario is written once, against a
//! `DataFlow` handle, and runs on every backend (`sqlite::crud::nulls_round_trip`).
//! The PostgreSQL backend joins by adding its module to `conformance!` below.

mod backends;
mod crud;
mod models;
mod schema;

/// Declares one `#[test]` per backend for each scenario function.
macro_rules! conformance {
    ($($group:ident :: { $($name:ident),* $(,)? }),* $(,)?) => {
        mod sqlite {
            $(
                mod $group {
                    $(
                        #[test]
                        fn $name() {
                            let db = crate::backends::sqlite();
                            crate::$group::$name(&db);
                        }
                    )*
                }
            )*
        }
    };
}

conformance! {
    crud::{
        all_types_round_trip,
        nulls_round_trip,
        unicode_text_round_trips,
        blobs_round_trip,
        json_round_trips,
        float_edge_values,
        integer_bounds,
        hostile_strings_are_values,
        like_is_case_sensitive_with_wildcards,
        unique_violation_is_classified_and_writes_nothing,
        missing_rows,
        create_assigns_keys_and_keeps_explicit_ones,
        update_applies_only_set_fields,
        list_filters_orders_and_pages,
        in_and_boolean_combinators,
        bulk_create_is_all_or_nothing,
        bulk_create_spans_many_statements,
        bulk_update_and_delete,
        upsert_inserts_then_updates,
        upsert_refuses_non_unique_target,
        bulk_upsert_last_row_wins,
        max_length_is_enforced_before_writing,
        foreign_keys_are_enforced_and_cascade,
        timestamps_are_managed,
        soft_delete_hides_rows,
        string_primary_key,
        concurrent_use_from_four_threads,
    },
    schema::{
        auto_migrate_creates_tables_once,
        changed_model_is_planned_not_ignored,
        check_reports_missing_tables,
        described_schema_equals_target,
        dry_run_touches_nothing,
        two_models_for_one_table_are_refused,
    },
}
