//! Plans whose steps depend on earlier steps of the same plan: facts asked of
//! the schema a step will meet (a column added or renamed just before), new
//! tables that reference each other, a renamed primary key, and a renamed
//! table that keeps its indexes and constraints.

use dataflow_core::prelude::*;

use crate::backends::TestBackend;

fn opted_in(risk: RiskLevel) -> MigrateOptions {
    MigrateOptions::default().auto_confirm(true).max_risk(risk)
}

fn ops(r: &MigrationReport) -> Vec<(Operation, RiskLevel)> {
    r.steps.iter().map(|s| (s.operation, s.risk)).collect()
}

fn not_blocked(r: &MigrationReport) {
    assert!(
        r.steps.iter().all(|s| s.blocked.is_none()),
        "{}",
        r.preview()
    );
}

fn is_fk_violation<T: std::fmt::Debug>(r: Result<T>) -> bool {
    matches!(r, Err(Error::ForeignKeyViolation { .. }))
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "plan_users")]
struct PlanUser {
    id: i64,
    name: String,
}

mod added {
    use super::*;

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "plan_orders")]
    pub struct OrderV1 {
        pub id: i64,
        pub total: i64,
    }

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "plan_orders")]
    #[dataflow(foreign_key(field = "user_id", references = "plan_users(id)"))]
    pub struct OrderV2 {
        pub id: i64,
        pub total: i64,
        pub user_id: Option<i64>,
    }
}

/// The new column holds only NULLs when the key is added: no orphans, and no
/// query may ask the live table for a column it does not have yet.
pub fn foreign_key_on_an_added_column_is_judged_on_its_nulls(db: &TestBackend) {
    use added::*;
    let v1 = db.reopen();
    v1.register_all(models![PlanUser, OrderV1]).unwrap();
    v1.auto_migrate(MigrateOptions::default()).unwrap();
    PlanUser::create(
        &v1,
        PlanUser {
            id: 0,
            name: "ann".into(),
        },
    )
    .unwrap();
    OrderV1::create(&v1, OrderV1 { id: 0, total: 5 }).unwrap();

    let v2 = db.reopen();
    v2.register_all(models![PlanUser, OrderV2]).unwrap();
    let plan = v2.plan().unwrap();
    assert_eq!(
        ops(&plan),
        [
            (Operation::AddColumn, RiskLevel::Safe),
            (Operation::AddForeignKey, RiskLevel::Medium)
        ],
        "{}",
        plan.preview()
    );
    not_blocked(&plan);
    assert!(v2.check().is_err());
    let r = v2.auto_migrate(opted_in(RiskLevel::Medium)).unwrap();
    assert!(r.applied);
    v2.check().unwrap();
    let order = OrderV2::list(&v2).first().unwrap().unwrap();
    assert_eq!(order.user_id, None);
    assert!(is_fk_violation(OrderV2::update(
        &v2,
        order.id,
        added::OrderV2Patch {
            user_id: Some(Some(999)),
            ..Default::default()
        }
    )));
}

mod renamed {
    use super::*;

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "plan_orders")]
    pub struct OrderV1 {
        pub id: i64,
        pub owner: Option<i64>,
    }

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "plan_orders")]
    #[dataflow(foreign_key(field = "user_id", references = "plan_users(id)"))]
    pub struct OrderV2 {
        pub id: i64,
        #[dataflow(renamed_from = "owner")]
        pub user_id: Option<i64>,
    }
}

fn renamed_column_case(db: &TestBackend, owner: impl FnOnce(i64) -> i64) -> DataFlow {
    use renamed::*;
    let v1 = db.reopen();
    v1.register_all(models![PlanUser, OrderV1]).unwrap();
    v1.auto_migrate(MigrateOptions::default()).unwrap();
    let u = PlanUser::create(
        &v1,
        PlanUser {
            id: 0,
            name: "ann".into(),
        },
    )
    .unwrap();
    OrderV1::create(
        &v1,
        OrderV1 {
            id: 0,
            owner: Some(owner(u.id)),
        },
    )
    .unwrap();
    OrderV1::create(&v1, OrderV1 { id: 0, owner: None }).unwrap();
    let v2 = db.reopen();
    v2.register_all(models![PlanUser, OrderV2]).unwrap();
    v2
}

/// A renamed column holds the old column's values: valid references pass…
pub fn foreign_key_on_a_renamed_column_reads_its_old_values(db: &TestBackend) {
    let v2 = renamed_column_case(db, |id| id);
    let plan = v2.plan().unwrap();
    assert_eq!(
        ops(&plan),
        [
            (Operation::RenameColumn, RiskLevel::Medium),
            (Operation::AddForeignKey, RiskLevel::Medium)
        ],
        "{}",
        plan.preview()
    );
    not_blocked(&plan);
    v2.auto_migrate(opted_in(RiskLevel::Medium)).unwrap();
    v2.check().unwrap();
    assert_eq!(
        renamed::OrderV2::list(&v2)
            .filter(renamed::OrderV2::USER_ID.is_not_null())
            .count()
            .unwrap(),
        1
    );
}

/// …and orphans among them block the key, counted from the old column.
pub fn foreign_key_on_a_renamed_column_over_orphans_is_blocked(db: &TestBackend) {
    let v2 = renamed_column_case(db, |id| id + 1000);
    let plan = v2.plan().unwrap();
    let fk = plan
        .steps
        .iter()
        .find(|s| s.operation == Operation::AddForeignKey)
        .unwrap_or_else(|| panic!("{}", plan.preview()));
    assert_eq!(
        fk.blocked.as_deref(),
        Some("1 rows of plan_orders reference a missing plan_users.id")
    );
    assert!(matches!(
        v2.auto_migrate(opted_in(RiskLevel::High)),
        Err(Error::MigrationRefused { .. })
    ));
}

mod referenced {
    use super::*;

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "plan_accounts")]
    pub struct AccountV1 {
        pub id: i64,
        #[dataflow(unique)]
        pub code: i64,
    }

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "plan_entries")]
    pub struct EntryV1 {
        pub id: i64,
        pub account_code: Option<i64>,
    }

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "plan_ledgers", renamed_from = "plan_accounts")]
    pub struct LedgerV2 {
        pub id: i64,
        #[dataflow(unique, renamed_from = "code")]
        pub number: i64,
    }

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "plan_entries")]
    #[dataflow(foreign_key(field = "account_code", references = "plan_ledgers(number)"))]
    pub struct EntryV2 {
        pub id: i64,
        pub account_code: Option<i64>,
    }
}

/// The referenced side renamed in the same plan (its table and its column):
/// the key's check reads the renamed table's old column.
pub fn foreign_key_to_a_renamed_table_and_column_reads_the_old_ones(db: &TestBackend) {
    use referenced::*;
    let v1 = db.reopen();
    v1.register_all(models![AccountV1, EntryV1]).unwrap();
    v1.auto_migrate(MigrateOptions::default()).unwrap();
    AccountV1::create(&v1, AccountV1 { id: 0, code: 42 }).unwrap();
    EntryV1::create(
        &v1,
        EntryV1 {
            id: 0,
            account_code: Some(42),
        },
    )
    .unwrap();
    let v2 = db.reopen();
    v2.register_all(models![LedgerV2, EntryV2]).unwrap();
    let plan = v2.plan().unwrap();
    not_blocked(&plan);
    let fk = plan
        .steps
        .iter()
        .find(|s| s.operation == Operation::AddForeignKey)
        .unwrap_or_else(|| panic!("{}", plan.preview()));
    assert_eq!(fk.risk, RiskLevel::Medium, "{}", plan.preview());
    v2.auto_migrate(opted_in(RiskLevel::Medium)).unwrap();
    v2.check().unwrap();
    assert!(is_fk_violation(EntryV2::create(
        &v2,
        EntryV2 {
            id: 0,
            account_code: Some(7),
        }
    )));
}

mod circular {
    use super::*;

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "plan_a")]
    #[dataflow(foreign_key(field = "b_id", references = "plan_b(id)"))]
    pub struct A {
        pub id: i64,
        pub b_id: Option<i64>,
    }

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "plan_b")]
    #[dataflow(foreign_key(field = "a_id", references = "plan_a(id)"))]
    pub struct B {
        pub id: i64,
        pub a_id: Option<i64>,
    }
}

/// Two new tables whose keys point at each other: the tables first, then the
/// keys (where the database resolves references when they are created).
pub fn new_tables_with_circular_foreign_keys(db: &TestBackend) {
    use circular::*;
    let h = db.reopen();
    h.register_all(models![A, B]).unwrap();
    let plan = h.plan().unwrap();
    not_blocked(&plan);
    assert!(
        plan.steps.iter().all(|s| s.risk == RiskLevel::Safe),
        "{}",
        plan.preview()
    );
    let r = h.auto_migrate(MigrateOptions::default()).unwrap();
    assert!(r.applied);
    h.check().unwrap();
    let a = A::create(&h, A { id: 0, b_id: None }).unwrap();
    let b = B::create(
        &h,
        B {
            id: 0,
            a_id: Some(a.id),
        },
    )
    .unwrap();
    A::update(
        &h,
        a.id,
        circular::APatch {
            b_id: Some(Some(b.id)),
        },
    )
    .unwrap();
    assert!(is_fk_violation(A::create(
        &h,
        A {
            id: 0,
            b_id: Some(999)
        }
    )));
    assert!(is_fk_violation(B::create(
        &h,
        B {
            id: 0,
            a_id: Some(999)
        }
    )));
    // A second start finds nothing to do.
    assert!(h.plan().unwrap().steps.is_empty());
}

mod primary {
    use super::*;

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "plan_codes")]
    pub struct CodeV1 {
        #[dataflow(primary_key)]
        pub id: String,
        pub label: String,
    }

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "plan_uses")]
    #[dataflow(foreign_key(field = "code", references = "plan_codes(id)"))]
    pub struct UseV1 {
        pub id: i64,
        pub code: Option<String>,
    }

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "plan_codes")]
    pub struct CodeV2 {
        #[dataflow(primary_key, renamed_from = "id")]
        pub slug: String,
        pub label: String,
    }

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "plan_uses")]
    #[dataflow(foreign_key(field = "code", references = "plan_codes(slug)"))]
    pub struct UseV2 {
        pub id: i64,
        pub code: Option<String>,
    }
}

/// A hinted rename of the primary key is a rename; keys that reference it
/// follow it.
pub fn renamed_primary_key_is_a_rename(db: &TestBackend) {
    use primary::*;
    let v1 = db.reopen();
    v1.register_all(models![CodeV1, UseV1]).unwrap();
    v1.auto_migrate(MigrateOptions::default()).unwrap();
    CodeV1::create(
        &v1,
        CodeV1 {
            id: "rs".into(),
            label: "Rust".into(),
        },
    )
    .unwrap();
    UseV1::create(
        &v1,
        UseV1 {
            id: 0,
            code: Some("rs".into()),
        },
    )
    .unwrap();
    let v2 = db.reopen();
    v2.register_all(models![CodeV2, UseV2]).unwrap();
    let plan = v2.plan().unwrap();
    assert_eq!(
        ops(&plan),
        [(Operation::RenameColumn, RiskLevel::Medium)],
        "{}",
        plan.preview()
    );
    v2.auto_migrate(opted_in(RiskLevel::Medium)).unwrap();
    v2.check().unwrap();
    let code = CodeV2::read(&v2, "rs".into()).unwrap().unwrap();
    assert_eq!(code.label, "Rust");
    assert!(is_fk_violation(UseV2::create(
        &v2,
        UseV2 {
            id: 0,
            code: Some("go".into()),
        }
    )));
    v2.rollback_last().unwrap();
    let back = db.reopen();
    back.register_all(models![CodeV1, UseV1]).unwrap();
    back.check().unwrap();
    assert_eq!(
        CodeV1::read(&back, "rs".into()).unwrap().unwrap().label,
        "Rust"
    );
}

mod table_rename {
    use super::*;

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "plan_members")]
    #[dataflow(foreign_key(field = "user_id", references = "plan_users(id)"))]
    pub struct MemberV1 {
        pub id: i64,
        #[dataflow(unique)]
        pub email: String,
        pub user_id: Option<i64>,
    }

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "plan_people", renamed_from = "plan_members")]
    #[dataflow(foreign_key(field = "user_id", references = "plan_users(id)"))]
    pub struct PersonV2 {
        pub id: i64,
        #[dataflow(unique)]
        pub email: String,
        pub user_id: Option<i64>,
    }

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "plan_people")]
    pub struct PersonV3 {
        pub id: i64,
        #[dataflow(unique)]
        pub email: String,
        pub user_id: Option<i64>,
    }
}

/// A renamed table keeps its unique index (renamed, never dropped and built
/// again) and its foreign key, which can still be dropped by its new name.
pub fn renamed_table_keeps_its_indexes_and_constraints(db: &TestBackend) {
    use table_rename::*;
    let v1 = db.reopen();
    v1.register_all(models![PlanUser, MemberV1]).unwrap();
    v1.auto_migrate(MigrateOptions::default()).unwrap();
    MemberV1::create(
        &v1,
        MemberV1 {
            id: 0,
            email: "a@x".into(),
            user_id: None,
        },
    )
    .unwrap();
    let v2 = db.reopen();
    v2.register_all(models![PlanUser, PersonV2]).unwrap();
    let plan = v2.plan().unwrap();
    assert!(
        plan.steps.iter().all(|s| !matches!(
            s.operation,
            Operation::DropIndex | Operation::CreateIndex
        ) && s.sql_online.is_empty()),
        "{}",
        plan.preview()
    );
    assert_eq!(
        plan.steps[0].operation,
        Operation::RenameTable,
        "{}",
        plan.preview()
    );
    v2.auto_migrate(opted_in(RiskLevel::Medium)).unwrap();
    v2.check().unwrap();
    assert!(matches!(
        PersonV2::create(
            &v2,
            PersonV2 {
                id: 0,
                email: "a@x".into(),
                user_id: None,
            }
        ),
        Err(Error::UniqueViolation { .. })
    ));
    assert!(is_fk_violation(PersonV2::create(
        &v2,
        PersonV2 {
            id: 0,
            email: "b@x".into(),
            user_id: Some(999),
        }
    )));
    // The key keeps working under the new name: dropping it later succeeds.
    let v3 = db.reopen();
    v3.register_all(models![PlanUser, PersonV3]).unwrap();
    let r = v3.auto_migrate(opted_in(RiskLevel::Medium)).unwrap();
    assert_eq!(
        ops(&r),
        [(Operation::DropForeignKey, RiskLevel::Medium)],
        "{}",
        r.preview()
    );
    v3.check().unwrap();
    let unchecked = PersonV3::create(
        &v3,
        PersonV3 {
            id: 0,
            email: "c@x".into(),
            user_id: Some(999),
        },
    )
    .unwrap();
    PersonV3::delete(&v3, unchecked.id).unwrap();
    // Undone step by step, the names come back with the tables.
    v3.rollback_last().unwrap();
    v3.rollback_last().unwrap();
    let back = db.reopen();
    back.register_all(models![PlanUser, MemberV1]).unwrap();
    back.check().unwrap();
}

mod filled {
    use super::*;

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "plan_slots")]
    pub struct SlotV1 {
        pub id: i64,
        pub rank: Option<i64>,
    }

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "plan_slots")]
    pub struct SlotV2 {
        pub id: i64,
        #[dataflow(unique, default = 0)]
        pub rank: i64,
    }
}

/// A unique index on a column whose NULLs the same plan fills with a default
/// is judged on the filled values: two NULLs become two zeros.
pub fn unique_index_on_a_filled_column_counts_the_filled_values(db: &TestBackend) {
    use filled::*;
    let v1 = db.reopen();
    v1.register::<SlotV1>().unwrap();
    v1.auto_migrate(MigrateOptions::default()).unwrap();
    for rank in [None, None, Some(1)] {
        SlotV1::create(&v1, SlotV1 { id: 0, rank }).unwrap();
    }
    let v2 = db.reopen();
    v2.register::<SlotV2>().unwrap();
    let plan = v2.plan().unwrap();
    let index = plan
        .steps
        .iter()
        .find(|s| s.operation == Operation::CreateIndex)
        .unwrap_or_else(|| panic!("{}", plan.preview()));
    assert_eq!(
        index.blocked.as_deref(),
        Some("1 groups of rows in plan_slots share values in (rank): remove the duplicates first"),
        "{}",
        plan.preview()
    );
    assert!(matches!(
        v2.auto_migrate(opted_in(RiskLevel::High)),
        Err(Error::MigrationRefused { .. })
    ));
    // Nothing was applied: the NULLs are still there.
    assert_eq!(
        SlotV1::list(&v1)
            .filter(SlotV1::RANK.is_null())
            .count()
            .unwrap(),
        2
    );
}

/// Pruning tables that reference each other drops their keys first, and
/// undoing it brings both back with their keys.
pub fn pruning_tables_that_reference_each_other(db: &TestBackend) {
    use crate::models::{Everything, Note, Post, Tag, User};
    use circular::*;
    let v1 = db.reopen();
    v1.register_all(models![A, B]).unwrap();
    v1.auto_migrate(MigrateOptions::default()).unwrap();
    let v2 = db.reopen();
    v2.register_all(models![User, Post, Everything, Note, Tag])
        .unwrap();
    let r = v2
        .auto_migrate(opted_in(RiskLevel::High).prune(true))
        .unwrap();
    assert!(r.applied, "{}", r.preview());
    let live = v2.describe().unwrap();
    assert!(!live.tables.contains_key("plan_a") && !live.tables.contains_key("plan_b"));
    v2.rollback_last().unwrap();
    let back = db.reopen();
    back.register_all(models![A, B]).unwrap();
    back.check().unwrap();
    assert!(is_fk_violation(A::create(
        &back,
        A {
            id: 0,
            b_id: Some(999)
        }
    )));
}
