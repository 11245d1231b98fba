//! The backend-conformance suite: every scenario is written once, against a
//! `DataFlow` handle (or a [`TestBackend`] when it needs a second handle), and
//! runs on every backend whose crate instantiates it with one line:
//!
//! ```ignore
//! // <backend crate>/tests/conformance.rs
//! fn test_db(models: &[&'static ModelDescriptor]) -> Option<dataflow_conformance::TestBackend> {
//!     // build the backend's TestDb with `models`; say how to open a second handle
//! }
//! dataflow_conformance::dataflow_conformance!(sqlite, test_db);
//! ```
//!
//! That declares one `#[test]` per scenario, named `<group>::<scenario>::<backend>`
//! (`crud::nulls_round_trip::sqlite`), so `cargo nextest run -E 'test(nulls_round_trip)'`
//! finds a scenario on every backend and `test(/::postgres$/)` one backend.
//!
//! Why a crate of its own, beside the backends rather than in them: the scenarios
//! are not generic (the backend comes in as a [`Hook`] value), so they compile
//! once however many backends run them; their dependencies (chrono, uuid,
//! rust_decimal, tempfile) stay out of `dataflow-core`; and a third backend adds
//! a dev-dependency and one small file, not a copy of the suite. It lives under
//! `tests/` because it is what runs on every backend.

// Scenario functions are named for what they check; the names are the docs.
#![allow(missing_docs)]

pub mod adopt;
pub mod aggregates;
mod backends;
pub mod checks;
pub mod comparisons;
pub mod composite_keys;
pub mod crud;
pub mod enums;
pub mod errors;
pub mod hostile;
pub mod indexes;
pub mod json_filters;
pub mod metrics;
pub mod migrate;
pub mod models;
pub mod names;
pub mod nodes;
pub mod planning;
pub mod records;
pub mod regex;
pub mod rollback;
pub mod schema;
pub mod sql_defaults;
pub mod tracker;
pub mod transactions;
pub mod versioned;
pub mod workflows;
pub mod writes;

/// Asserts `r` is `Error::InvalidInput` whose message holds every needle (the
/// field path, the offending value, the allowed ones).
pub(crate) fn assert_invalid<T: std::fmt::Debug>(r: dataflow_core::Result<T>, needles: &[&str]) {
    match r {
        Err(dataflow_core::Error::InvalidInput(m)) => {
            for n in needles {
                assert!(m.contains(n), "{m:?} lacks {n:?}");
            }
        }
        other => panic!("expected InvalidInput containing {needles:?}, got {other:?}"),
    }
}

pub use backends::{Hook, TestBackend, MODELS};

/// A fresh database for one scenario from the backend's hook, with every model's
/// table, or `None` when the hook says the backend is not available here.
#[doc(hidden)]
pub fn __test_db(hook: Hook) -> Option<TestBackend> {
    hook(MODELS)
}

/// Declares the whole suite for one backend: `dataflow_conformance!(sqlite, hook)`
/// where `hook` is a [`Hook`] (a function path visible where the macro is used).
/// Each scenario becomes `#[test] fn <group>::<scenario>::<backend>`.
///
/// `dataflow_conformance!(postgres_pgbouncer, hook, groups(crud, writes))`
/// declares only the scenarios of those groups: for a variant of a backend
/// (the same server behind a pooler) that need not pay for the whole suite
/// twice.
#[macro_export]
macro_rules! dataflow_conformance {
    ($backend:ident, $hook:path) => {
        fn __dataflow_conformance_db() -> ::core::option::Option<$crate::TestBackend> {
            $crate::__test_db($hook)
        }
        $crate::__dataflow_conformance_scenarios! { $backend }
    };
    ($backend:ident, $hook:path, groups($($group:ident),+ $(,)?)) => {
        fn __dataflow_conformance_db() -> ::core::option::Option<$crate::TestBackend> {
            $crate::__test_db($hook)
        }
        $($crate::__dataflow_conformance_group! { $group, $backend })+
    };
}

/// The scenario list, expanded by [`dataflow_conformance!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __dataflow_conformance_tests {
    ($backend:ident; $($group:ident :: { $($name:ident),* $(,)? }),* $(,)?) => {
        $(
            mod $group {
                $(
                    mod $name {
                        #[test]
                        fn $backend() {
                            let ::core::option::Option::Some(db) = super::super::__dataflow_conformance_db() else {
                                return;
                            };
                            $crate::$group::$name(&db);
                        }
                    }
                )*
            }
        )*
    };
}

/// Every scenario, by group.
#[doc(hidden)]
#[macro_export]
macro_rules! __dataflow_conformance_scenarios {
    ($backend:ident) => {
        $crate::__dataflow_conformance_group! { adopt, $backend }
        $crate::__dataflow_conformance_group! { checks, $backend }
        $crate::__dataflow_conformance_group! { aggregates, $backend }
        $crate::__dataflow_conformance_group! { json_filters, $backend }
        $crate::__dataflow_conformance_group! { tracker, $backend }
        $crate::__dataflow_conformance_group! { crud, $backend }
        $crate::__dataflow_conformance_group! { migrate, $backend }
        $crate::__dataflow_conformance_group! { sql_defaults, $backend }
        $crate::__dataflow_conformance_group! { versioned, $backend }
        $crate::__dataflow_conformance_group! { indexes, $backend }
        $crate::__dataflow_conformance_group! { metrics, $backend }
        $crate::__dataflow_conformance_group! { rollback, $backend }
        $crate::__dataflow_conformance_group! { composite_keys, $backend }
        $crate::__dataflow_conformance_group! { comparisons, $backend }
        $crate::__dataflow_conformance_group! { errors, $backend }
        $crate::__dataflow_conformance_group! { planning, $backend }
        $crate::__dataflow_conformance_group! { names, $backend }
        $crate::__dataflow_conformance_group! { schema, $backend }
        $crate::__dataflow_conformance_group! { writes, $backend }
        $crate::__dataflow_conformance_group! { records, $backend }
        $crate::__dataflow_conformance_group! { nodes, $backend }
        $crate::__dataflow_conformance_group! { transactions, $backend }
        $crate::__dataflow_conformance_group! { regex, $backend }
        $crate::__dataflow_conformance_group! { workflows, $backend }
        $crate::__dataflow_conformance_group! { hostile, $backend }
        $crate::__dataflow_conformance_group! { enums, $backend }
    };
}

/// One group's scenarios, expanded by [`dataflow_conformance!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __dataflow_conformance_group {
    (adopt, $backend:ident) => {
        $crate::__dataflow_conformance_tests! { $backend;
            adopt::{
                existing_schema_never_alters_and_crud_works,
                existing_schema_reports_incompatible_models,
                adopt_hands_over_only_the_tables_named,
                adopt_refuses_tables_the_models_do_not_match,
                generate_models_names_missing_tables,
                cli_pulls_checks_and_adopts,
            },
        }
    };
    (checks, $backend:ident) => {
        $crate::__dataflow_conformance_tests! { $backend;
            checks::{
                checks_and_collations_migrate_and_survive_a_rebuild,
                a_check_or_collation_the_model_leaves_out_is_a_visible_step,
            },
        }
    };
    (aggregates, $backend:ident) => {
        $crate::__dataflow_conformance_tests! { $backend;
            aggregates::{
                sums_averages_and_extremes_over_a_filter,
                nothing_to_aggregate_is_zero_or_none,
                group_by_gives_typed_pairs_in_key_order,
                aggregates_see_live_rows_unless_asked,
                a_sum_past_i64_is_an_error_not_a_wrapped_value,
            },
        }
    };
    (json_filters, $backend:ident) => {
        $crate::__dataflow_conformance_tests! { $backend;
            json_filters::{
                containment_matches_postgres_semantics,
                path_comparisons_match_the_reference,
                bad_json_filters_are_invalid_input,
                random_documents_match_the_reference,
            },
        }
    };
    (tracker, $backend:ident) => {
        $crate::__dataflow_conformance_tests! { $backend;
            tracker::{
                restore_brings_back_a_deleted_row,
                only_deleted_needs_soft_delete,
                one_builder_gives_a_page_and_its_total,
                drafts_leave_keys_and_timestamps_to_create,
                a_migration_can_be_named,
                a_foreign_key_to_a_table_nobody_declares_is_refused_naming_both,
                foreign_key_violations_name_the_table_and_the_key,
            },
        }
    };
    (crud, $backend:ident) => {
        $crate::__dataflow_conformance_tests! { $backend;
            crud::{
                all_types_round_trip,
                bulk_create_round_trips_every_type,
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
        }
    };
    (migrate, $backend:ident) => {
        $crate::__dataflow_conformance_tests! { $backend;
            migrate::{
                adds_nullable_column,
                adds_column_with_default,
                adds_not_null_column_without_default_to_populated_table_is_blocked,
                adds_not_null_column_to_empty_table_is_safe,
                drops_column_with_data_is_high_and_refused_by_default,
                dropped_column_comes_back_on_rollback,
                drops_column_on_empty_table_is_safe,
                renames_column_with_hint,
                refusal_names_the_policy_and_what_would_allow_the_step,
                unhinted_rename_is_drop_plus_add,
                renames_table_with_hint,
                widens_int_to_bigint,
                narrows_bigint_to_int_when_values_fit,
                narrows_bigint_to_int_when_values_do_not_fit_is_blocked,
                narrows_text_length_truncates_only_when_opted_in_and_rollback_restores,
                text_to_integer_has_no_safe_cast,
                makes_column_nullable,
                sets_not_null_without_nulls_is_medium,
                sets_not_null_over_nulls_without_default_is_blocked,
                sets_not_null_over_nulls_with_default_backfills,
                changes_default,
                adds_index,
                adds_unique_index_over_duplicates_is_blocked,
                adds_unique_index_without_duplicates_is_medium,
                drops_index_is_medium,
                renames_indexed_column_and_its_index,
                adds_foreign_key_over_valid_data_is_medium,
                adds_foreign_key_over_orphans_is_blocked,
                drops_foreign_key_is_medium,
                new_tables_are_created_before_tables_that_reference_them,
                no_op_when_nothing_changed,
                tables_of_other_models_are_never_dropped,
                prune_drops_only_owned_tables_and_rollback_restores_rows,
                exclude_operations_and_include_tables_limit_the_plan,
                dry_run_returns_the_whole_plan_whatever_the_policy,
                history_records_each_migration,
                rollback_of_create_table_drops_it,
                autoincrement_counter_survives_a_rebuild,
                several_changes_on_one_table_in_one_migration,
            },
        }
    };
    (sql_defaults, $backend:ident) => {
        $crate::__dataflow_conformance_tests! { $backend;
            sql_defaults::{
                sql_defaults_fill_rows_and_plan_nothing_more,
                a_changed_sql_default_is_one_safe_step,
                an_added_column_with_a_sql_default_fills_existing_rows,
            },
        }
    };
    (versioned, $backend:ident) => {
        $crate::__dataflow_conformance_tests! { $backend;
            versioned::{
                sixteen_evolutions_generate_apply_downgrade_and_apply_again,
                a_dropped_column_comes_back_with_its_values_on_downgrade,
                an_edited_applied_file_is_named_and_repair_accepts_it,
                multiple_heads_are_refused_and_a_merge_joins_them,
                a_squash_is_accepted_by_databases_past_it_and_runs_on_new_ones,
                a_no_transaction_migration_runs_statement_by_statement,
                a_data_migration_runs_forward_and_back_in_the_migration,
                a_failing_data_step_leaves_no_row_changed_and_the_migration_unapplied,
                a_data_step_writes_nothing_another_connection_sees_before_the_commit,
                a_deleted_applied_migration_is_reported_missing_and_refused,
                generated_files_are_deterministic_and_an_empty_diff_writes_nothing,
                baseline_switches_an_auto_migrated_database_to_files,
            },
        }
    };
    (indexes, $backend:ident) => {
        $crate::__dataflow_conformance_tests! { $backend;
            indexes::{
                partial_unique_index_applies_only_where_its_condition_holds,
                changing_a_partial_condition_replaces_the_index,
                gin_and_text_search_indexes_reconcile,
                dropping_a_gin_index_is_planned_and_undone,
            },
        }
    };
    (metrics, $backend:ident) => {
        $crate::__dataflow_conformance_tests! { $backend;
            metrics::{
                metrics_count_migrations_rollbacks_and_time_each_step,
                history_rows_without_durations_still_read_and_count,
            },
        }
    };
    (rollback, $backend:ident) => {
        $crate::__dataflow_conformance_tests! { $backend;
            rollback::{
                rollback_that_would_drop_written_values_is_refused_by_default,
                rollback_that_would_drop_a_populated_table_is_refused_by_default,
                a_rollback_that_overwrites_values_is_undoable,
                rollback_of_a_widening_restores_values_before_narrowing,
                rollback_to_a_version_undoes_what_came_after_it,
                resolve_failed_refuses_unknown_and_applied_versions,
                resolve_failed_resolves_a_failed_migration,
            },
        }
    };
    (composite_keys, $backend:ident) => {
        $crate::__dataflow_conformance_tests! { $backend;
            composite_keys::{
                composite_key_migrates_and_crud_by_tuple_works,
                composite_key_duplicates_and_missing_keys_are_typed_errors,
                changing_the_key_columns_is_refused,
                dropped_column_of_a_composite_key_table_comes_back_per_row,
            },
        }
    };
    (comparisons, $backend:ident) => {
        $crate::__dataflow_conformance_tests! { $backend;
            comparisons::{
                decimals_compare_and_order_as_numbers,
                dates_outside_years_0000_to_9999_are_refused_before_writing,
                like_has_one_meaning_with_backslash_escapes,
                nulls_sort_last_ascending_and_first_descending,
            },
        }
    };
    (errors, $backend:ident) => {
        $crate::__dataflow_conformance_tests! { $backend;
            errors::{
                limit_zero_returns_no_row,
                undecodable_values_are_decode_errors,
                in_list_over_the_bind_limit_works,
                long_in_lists_match_like_short_ones,
                very_many_or_terms_work_or_are_invalid_input,
            },
        }
    };
    (planning, $backend:ident) => {
        $crate::__dataflow_conformance_tests! { $backend;
            planning::{
                foreign_key_on_an_added_column_is_judged_on_its_nulls,
                foreign_key_on_a_renamed_column_reads_its_old_values,
                foreign_key_on_a_renamed_column_over_orphans_is_blocked,
                foreign_key_to_a_renamed_table_and_column_reads_the_old_ones,
                new_tables_with_circular_foreign_keys,
                renamed_primary_key_is_a_rename,
                renamed_table_keeps_its_indexes_and_constraints,
                unique_index_on_a_filled_column_counts_the_filled_values,
                pruning_tables_that_reference_each_other,
            },
        }
    };
    (names, $backend:ident) => {
        $crate::__dataflow_conformance_tests! { $backend;
            names::{
                long_multibyte_table_name_with_two_foreign_keys_migrates_once,
                two_foreign_keys_on_a_63_byte_table_name_get_distinct_names,
            },
        }
    };
    (schema, $backend:ident) => {
        $crate::__dataflow_conformance_tests! { $backend;
            schema::{
                auto_migrate_creates_tables_once,
                changed_model_is_planned_not_ignored,
                check_reports_missing_tables,
                described_schema_equals_target,
                dry_run_touches_nothing,
                two_models_for_one_table_are_refused,
            },
        }
    };
    (writes, $backend:ident) => {
        $crate::__dataflow_conformance_tests! { $backend;
            writes::{
                model_missing_a_column_is_a_clear_error_and_matches_nothing,
                json_too_deep_to_read_back_is_refused_before_writing,
                generated_key_past_the_field_range_writes_nothing,
                explicit_key_at_the_generator_maximum_commits_only_with_its_adjustment,
                timestamp_outside_the_stored_range_is_stored_or_refused_whole,
                bulk_create_mixes_explicit_and_generated_keys,
                deeply_nested_filters_are_refused_without_overflowing,
                deeply_nested_json_is_refused_without_overflowing,
            },
        }
    };
    (records, $backend:ident) => {
        $crate::__dataflow_conformance_tests! { $backend;
            records::{
                untyped_crud_matches_the_typed_api,
                untyped_soft_delete_and_timestamps,
                untyped_bad_input_is_refused_before_writing,
            },
        }
    };
    (nodes, $backend:ident) => {
        $crate::__dataflow_conformance_tests! { $backend;
            nodes::{
                nodes_round_trip,
                node_filters_match_the_typed_api,
                node_hostile_strings_are_stored_verbatim,
                node_bad_input_names_the_field_and_writes_nothing,
                node_bulk_writes_and_soft_delete,
                node_bulk_create_and_upserts,
                random_node_filters_match_the_typed_api,
                node_schemas_describe_parameters_and_output,
                node_injection_corpus_is_refused_or_plain,
            },
        }
    };
    (transactions, $backend:ident) => {
        $crate::__dataflow_conformance_tests! { $backend;
            transactions::{
                typed_transaction_commits,
                transaction_rolls_back_on_err,
                transaction_rolls_back_on_panic,
                nested_transaction_is_a_savepoint,
                nodes_records_and_raw_sql_join_the_transaction,
                typed_calls_inside_a_transaction_use_its_connection,
                another_connection_does_not_see_uncommitted_rows,
                a_bound_handle_is_shared_with_threads_and_ends_with_its_transaction,
                migrations_are_refused_inside_a_transaction,
            },
        }
    };
    (regex, $backend:ident) => {
        $crate::__dataflow_conformance_tests! { $backend;
            regex::{
                regex_corpus_selects_the_same_rows_everywhere,
                regex_outside_the_subset_is_refused_by_path,
                random_regexes_match_the_regex_crate,
            },
        }
    };
    (workflows, $backend:ident) => {
        $crate::__dataflow_conformance_tests! { $backend;
            workflows::{
                workflow_maps_outputs_into_later_inputs,
                workflow_failure_in_the_last_node_rolls_back_everything,
                invalid_workflows_are_refused_before_anything_runs,
                workflow_inside_a_transaction_is_a_savepoint,
            },
        }
    };
    (hostile, $backend:ident) => {
        $crate::__dataflow_conformance_tests! { $backend;
            hostile::{
                hostile_values_are_stored_verbatim_or_refused_whole,
                hostile_fixtures_load_verbatim_or_not_at_all,
            },
        }
    };
    (enums, $backend:ident) => {
        $crate::__dataflow_conformance_tests! { $backend;
            enums::{
                crud_round_trips_enum_values,
                filters_compare_enum_values,
                nodes_and_fixtures_take_stored_names,
                adding_a_value_is_safe_and_rolls_back,
                removing_a_value_rows_hold_is_blocked_with_their_count,
                removing_an_unused_value_applies_and_rolls_back,
                renaming_a_value_rewrites_rows_and_rollback_restores_them,
                a_text_column_becomes_an_enum_once_its_rows_fit,
                renaming_an_enum_column_keeps_its_check,
            },
        }
    };
}
