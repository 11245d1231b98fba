//! Names dataflow generates (foreign-key constraints, indexes): valid UTF-8,
//! distinct, and within PostgreSQL's 63-byte limit, so a table whose name is
//! near the limit migrates once and every later start finds nothing to do.

// Two foreign keys to the same parent are the point here; clippy reads the
// repeated `references = "…"` as a duplicated attribute.
#![allow(clippy::duplicated_attributes)]

use dataflow_core::prelude::*;

use crate::backends::TestBackend;

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "nm_parent")]
struct Parent {
    id: i64,
}

/// 61 bytes: `a` and thirty two-byte `ë`s, so cutting a generated name at
/// 63 bytes splits a character.
#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "aëëëëëëëëëëëëëëëëëëëëëëëëëëëëëë")]
#[dataflow(
    foreign_key(field = "first_parent_id", references = "nm_parent(id)"),
    foreign_key(field = "second_parent_id", references = "nm_parent(id)")
)]
struct Accented {
    id: i64,
    first_parent_id: Option<i64>,
    second_parent_id: Option<i64>,
    #[dataflow(index)]
    label_for_search: String,
    #[dataflow(unique)]
    code_that_is_unique: String,
}

/// Exactly 63 bytes: every generated name is cut, and only the end tells the
/// two foreign keys apart.
#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "table_name_that_is_exactly_sixty_three_bytes_long_xxxxxxxxxxxxx")]
#[dataflow(
    foreign_key(field = "parent_a", references = "nm_parent(id)"),
    foreign_key(field = "parent_b", references = "nm_parent(id)")
)]
#[dataflow(index(fields("parent_a", "parent_b")))]
#[dataflow(index(fields("parent_b", "parent_a")))]
struct Longest {
    id: i64,
    parent_a: i64,
    parent_b: i64,
}

fn migrates_once<M: Model>(db: &TestBackend, row: M, check: impl Fn(&DataFlow)) {
    let h = db.reopen();
    h.register::<Parent>().unwrap();
    h.register::<M>().unwrap();
    let r = h.auto_migrate(MigrateOptions::default()).unwrap();
    assert!(r.applied, "{}", r.preview());
    Parent::create(&h, Parent { id: 0 }).unwrap();
    dataflow_core::query::crud::create(&h, row).unwrap();
    check(&h);

    // A later start (a new process) sees the schema it made as up to date.
    let again = db.reopen();
    again.register::<Parent>().unwrap();
    again.register::<M>().unwrap();
    let plan = again.plan().unwrap();
    assert!(plan.steps.is_empty(), "drift:\n{}", plan.preview());
    again.check().unwrap();
    let r = again.auto_migrate(MigrateOptions::default()).unwrap();
    assert!(r.steps.is_empty(), "{}", r.preview());
}

pub fn long_multibyte_table_name_with_two_foreign_keys_migrates_once(db: &TestBackend) {
    migrates_once(
        db,
        Accented {
            id: 0,
            first_parent_id: Some(1),
            second_parent_id: None,
            label_for_search: "x".into(),
            code_that_is_unique: "c".into(),
        },
        |h| {
            // Both keys are enforced: a missing parent is refused.
            let orphan = Accented::create(
                h,
                Accented {
                    id: 0,
                    first_parent_id: None,
                    second_parent_id: Some(999),
                    label_for_search: "y".into(),
                    code_that_is_unique: "d".into(),
                },
            );
            assert!(
                matches!(orphan, Err(Error::ForeignKeyViolation { .. })),
                "{orphan:?}"
            );
        },
    );
}

pub fn two_foreign_keys_on_a_63_byte_table_name_get_distinct_names(db: &TestBackend) {
    migrates_once(
        db,
        Longest {
            id: 0,
            parent_a: 1,
            parent_b: 1,
        },
        |h| {
            let orphan = Longest::create(
                h,
                Longest {
                    id: 0,
                    parent_a: 1,
                    parent_b: 999,
                },
            );
            assert!(
                matches!(orphan, Err(Error::ForeignKeyViolation { .. })),
                "{orphan:?}"
            );
        },
    );
}
