//! Schema-evolution scenarios (in the spirit of Django's autodetector and
//! Alembic's autogenerate tests): each declares a model before and after a
//! change, migrates a populated table, and asserts the plan *and* the data.

use dataflow_core::prelude::*;

use crate::backends::TestBackend;

pub(crate) fn opted_in(risk: RiskLevel) -> MigrateOptions {
    MigrateOptions::default().auto_confirm(true).max_risk(risk)
}

/// A handle with only `M` registered, migrated with default options.
pub(crate) fn start<M: Model>(db: &TestBackend, rows: &[M]) -> DataFlow {
    let h = db.reopen();
    h.register::<M>().unwrap();
    h.auto_migrate(MigrateOptions::default()).unwrap();
    dataflow_core::query::crud::bulk_create(&h, rows).unwrap();
    h
}

/// A second handle (a new deployment) with only `M` registered.
pub(crate) fn next<M: Model>(db: &TestBackend) -> DataFlow {
    let h = db.reopen();
    h.register::<M>().unwrap();
    h
}

fn ops(r: &MigrationReport) -> Vec<(Operation, RiskLevel)> {
    r.steps.iter().map(|s| (s.operation, s.risk)).collect()
}

fn refused(r: Result<MigrationReport>) -> Vec<String> {
    match r {
        Err(Error::MigrationRefused { steps, .. }) => steps,
        other => panic!("expected MigrationRefused, got {other:?}"),
    }
}

macro_rules! v1 {
    ($($field:ident : $ty:ty),* $(,)?) => {
        #[derive(Model, Debug, Clone, PartialEq)]
        #[dataflow(table = "evo")]
        struct V1 { id: i64, $($field: $ty),* }
    };
}

pub fn adds_nullable_column(db: &TestBackend) {
    v1!(name: String);
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    struct V2 {
        id: i64,
        name: String,
        nick: Option<String>,
    }
    start(
        db,
        &[V1 {
            id: 0,
            name: "a".into(),
        }],
    );
    let h = next::<V2>(db);
    let r = h.auto_migrate(MigrateOptions::default()).unwrap();
    assert_eq!(ops(&r), [(Operation::AddColumn, RiskLevel::Safe)]);
    assert!(r.applied && r.version.is_some());
    assert_eq!(
        V2::list(&h).all().unwrap()[0],
        V2 {
            id: 1,
            name: "a".into(),
            nick: None
        }
    );
    h.check().unwrap();
}

pub fn adds_column_with_default(db: &TestBackend) {
    v1!(name: String);
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    struct V2 {
        id: i64,
        name: String,
        #[dataflow(default = 7)]
        level: i32,
        #[dataflow(default = "now")]
        seen: chrono::DateTime<chrono::Utc>,
    }
    start(
        db,
        &[
            V1 {
                id: 0,
                name: "a".into(),
            },
            V1 {
                id: 0,
                name: "b".into(),
            },
        ],
    );
    let h = next::<V2>(db);
    let before = chrono::Utc::now() - chrono::Duration::seconds(5);
    let r = h.auto_migrate(MigrateOptions::default()).unwrap();
    assert!(
        r.steps.iter().all(|s| s.risk == RiskLevel::Safe),
        "{}",
        r.preview()
    );
    let rows = V2::list(&h).all().unwrap();
    assert!(
        rows.iter().all(|v| v.level == 7 && v.seen > before),
        "{rows:?}"
    );
    h.check().unwrap();
}

pub fn adds_not_null_column_without_default_to_populated_table_is_blocked(db: &TestBackend) {
    v1!(name: String);
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    struct V2 {
        id: i64,
        name: String,
        required: String,
    }
    start(
        db,
        &[V1 {
            id: 0,
            name: "a".into(),
        }],
    );
    let h = next::<V2>(db);
    let plan = h.plan().unwrap();
    let step = &plan.steps[0];
    assert_eq!(step.operation, Operation::AddColumn);
    let why = step.blocked.as_deref().unwrap();
    assert!(why.contains("1 rows") && why.contains("required"), "{why}");
    // Refused whatever the policy, nothing applied.
    let steps = refused(h.auto_migrate(opted_in(RiskLevel::High)));
    assert!(steps[0].contains("BLOCKED"));
    assert_eq!(V1::list(&db.reopen()).count().unwrap(), 1);
    assert!(h.check().is_err());
}

pub fn adds_not_null_column_to_empty_table_is_safe(db: &TestBackend) {
    v1!(name: String);
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    struct V2 {
        id: i64,
        name: String,
        required: String,
    }
    start::<V1>(db, &[]);
    let h = next::<V2>(db);
    let r = h.auto_migrate(MigrateOptions::default()).unwrap();
    assert_eq!(ops(&r), [(Operation::AddColumn, RiskLevel::Safe)]);
    V2::create(
        &h,
        V2 {
            id: 0,
            name: "n".into(),
            required: "r".into(),
        },
    )
    .unwrap();
    h.check().unwrap();
}

pub fn drops_column_with_data_is_high_and_refused_by_default(db: &TestBackend) {
    v1!(name: String, legacy: Option<String>);
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    struct V2 {
        id: i64,
        name: String,
    }
    let rows: Vec<V1> = (0..20)
        .map(|i| V1 {
            id: 0,
            name: format!("n{i}"),
            legacy: Some(format!("l{i}")),
        })
        .collect();
    let old = start(db, &rows);
    let h = next::<V2>(db);
    let plan = h.plan().unwrap();
    assert_eq!(ops(&plan), [(Operation::DropColumn, RiskLevel::High)]);
    assert!(
        plan.steps[0].reason.contains("20 rows")
            && plan.steps[0]
                .reason
                .contains("20 non-null values in legacy"),
        "{}",
        plan.steps[0].reason
    );
    assert!(plan.preview().contains("HIGH"));
    refused(h.auto_migrate(MigrateOptions::default()));
    refused(h.auto_migrate(MigrateOptions::default().max_risk(RiskLevel::High)));
    refused(h.auto_migrate(opted_in(RiskLevel::Medium)));
    assert_eq!(V1::list(&old).all().unwrap().len(), 20, "nothing applied");
    old.check().unwrap();
}

pub fn dropped_column_comes_back_on_rollback(db: &TestBackend) {
    v1!(name: String, legacy: String);
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    struct V2 {
        id: i64,
        name: String,
    }
    let rows: Vec<V1> = (0..5)
        .map(|i| V1 {
            id: 0,
            name: format!("n{i}"),
            legacy: format!("l{i}"),
        })
        .collect();
    let old = start(db, &rows);
    let before = V1::list(&old).order_by(V1::ID.asc()).all().unwrap();
    let h = next::<V2>(db);
    let r = h.auto_migrate(opted_in(RiskLevel::High)).unwrap();
    assert!(r.applied);
    assert!(!r.steps[0].backup.is_empty(), "destructive step backed up");
    assert_eq!(V2::list(&h).count().unwrap(), 5);
    assert!(old.check().is_err(), "the old model no longer matches");
    let undone = h.rollback_last().unwrap().rolled_back;
    assert_eq!(undone, [r.version.clone().unwrap()]);
    assert_eq!(
        V1::list(&old).order_by(V1::ID.asc()).all().unwrap(),
        before,
        "values restored"
    );
    old.check().unwrap();
    // The rollback is recorded as a migration of its own, after the one it undid.
    let history = h.migration_history().unwrap();
    let last = history
        .iter()
        .find(|m| Some(&m.version) == r.version.as_ref())
        .unwrap();
    assert_eq!(last.status, MigrationStatus::RolledBack);
    // Backup tables are gone after the restore.
    assert!(h
        .describe()
        .unwrap()
        .tables
        .keys()
        .all(|t| !t.starts_with("_dataflow")));
}

pub fn drops_column_on_empty_table_is_safe(db: &TestBackend) {
    v1!(name: String, legacy: i64);
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    struct V2 {
        id: i64,
        name: String,
    }
    start::<V1>(db, &[]);
    let h = next::<V2>(db);
    let r = h.auto_migrate(MigrateOptions::default()).unwrap();
    assert_eq!(ops(&r), [(Operation::DropColumn, RiskLevel::Safe)]);
    h.check().unwrap();
}

pub fn renames_column_with_hint(db: &TestBackend) {
    v1!(phone_number: Option<String>);
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    struct V2 {
        id: i64,
        #[dataflow(renamed_from = "phone_number")]
        phone: Option<String>,
    }
    start(
        db,
        &[V1 {
            id: 0,
            phone_number: Some("555".into()),
        }],
    );
    let h = next::<V2>(db);
    let plan = h.plan().unwrap();
    assert_eq!(ops(&plan), [(Operation::RenameColumn, RiskLevel::Medium)]);
    refused(h.auto_migrate(MigrateOptions::default()));
    h.auto_migrate(opted_in(RiskLevel::Medium)).unwrap();
    assert_eq!(V2::list(&h).all().unwrap()[0].phone.as_deref(), Some("555"));
    h.check().unwrap();
}

/// Issue 17, item 8: `max_risk(Medium)` without `auto_confirm`, and nobody to
/// ask, refuses a MEDIUM rename; the refusal says which policy was in force,
/// why, and the exact option and CLI flag that would allow the step.
pub fn refusal_names_the_policy_and_what_would_allow_the_step(db: &TestBackend) {
    v1!(phone_number: Option<String>);
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    struct V2 {
        id: i64,
        #[dataflow(renamed_from = "phone_number")]
        phone: Option<String>,
    }
    start(
        db,
        &[V1 {
            id: 0,
            phone_number: Some("555".into()),
        }],
    );
    let h = next::<V2>(db);
    h.set_interaction(dataflow_core::terminal::Headless);
    let err = h
        .auto_migrate(MigrateOptions::default().max_risk(RiskLevel::Medium))
        .unwrap_err();
    let Error::MigrationRefused { steps, policy } = &err else {
        panic!("expected a refusal, got {err:?}");
    };
    assert_eq!(
        policy,
        "non-interactive migration (the interaction is Headless, which never asks; no auto_confirm): \
         only steps up to SAFE run; max_risk(RiskLevel::Medium) alone does not consent: \
         it needs auto_confirm(true) or a terminal"
    );
    assert_eq!(steps.len(), 1, "{steps:?}");
    assert!(
        steps[0].starts_with("rename column evo: MEDIUM is above the allowed SAFE: "),
        "{}",
        steps[0]
    );
    assert!(
        steps[0].ends_with(
            "; allow it with MigrateOptions::auto_confirm(true) (CLI: --yes), \
             or run it where a terminal can answer the prompt"
        ),
        "{}",
        steps[0]
    );
    let shown = err.to_string();
    assert!(
        shown.starts_with(
            "migration refused; nothing was applied. Policy: non-interactive migration"
        ),
        "{shown}"
    );
    assert!(shown.contains("\nrename column evo: MEDIUM"), "{shown}");

    // With auto_confirm but the default ceiling, the flag that raises it is named.
    let err = h
        .auto_migrate(MigrateOptions::default().auto_confirm(true))
        .unwrap_err();
    let Error::MigrationRefused { steps, policy } = &err else {
        panic!("expected a refusal, got {err:?}");
    };
    assert!(
        policy.starts_with("migration with auto_confirm(true): steps up to SAFE"),
        "{policy}"
    );
    assert!(
        steps[0].ends_with(
            "; allow it with MigrateOptions::max_risk(RiskLevel::Medium) (CLI: --yes --max-risk medium)"
        ),
        "{}",
        steps[0]
    );

    // What the message named allows the step.
    h.auto_migrate(
        MigrateOptions::default()
            .max_risk(RiskLevel::Medium)
            .auto_confirm(true),
    )
    .unwrap();
    assert_eq!(V2::list(&h).all().unwrap()[0].phone.as_deref(), Some("555"));
}

pub fn unhinted_rename_is_drop_plus_add(db: &TestBackend) {
    v1!(phone_number: Option<String>);
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    struct V2 {
        id: i64,
        phone: Option<String>,
    }
    start(
        db,
        &[V1 {
            id: 0,
            phone_number: Some("555".into()),
        }],
    );
    let h = next::<V2>(db);
    let plan = h.plan().unwrap();
    assert_eq!(
        ops(&plan),
        [
            (Operation::AddColumn, RiskLevel::Safe),
            (Operation::DropColumn, RiskLevel::High)
        ]
    );
}

pub fn renames_table_with_hint(db: &TestBackend) {
    v1!(name: String);
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evolved", renamed_from = "evo")]
    struct V2 {
        id: i64,
        name: String,
    }
    start(
        db,
        &[V1 {
            id: 0,
            name: "kept".into(),
        }],
    );
    let h = next::<V2>(db);
    let plan = h.plan().unwrap();
    assert_eq!(ops(&plan), [(Operation::RenameTable, RiskLevel::Medium)]);
    h.auto_migrate(opted_in(RiskLevel::Medium)).unwrap();
    assert_eq!(V2::list(&h).all().unwrap()[0].name, "kept");
    let live = h.describe().unwrap();
    assert!(live.tables.contains_key("evolved") && !live.tables.contains_key("evo"));
    h.check().unwrap();
    // Rolling back renames it back.
    h.rollback_last().unwrap();
    assert_eq!(V1::list(&db.reopen()).count().unwrap(), 1);
}

pub fn widens_int_to_bigint(db: &TestBackend) {
    v1!(n: i32);
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    struct V2 {
        id: i64,
        n: i64,
    }
    start(db, &[V1 { id: 0, n: i32::MAX }, V1 { id: 0, n: i32::MIN }]);
    let h = next::<V2>(db);
    let r = h.auto_migrate(MigrateOptions::default()).unwrap();
    assert_eq!(ops(&r), [(Operation::AlterColumn, RiskLevel::Safe)]);
    assert!(r.steps[0].reason.contains("widens"));
    V2::create(&h, V2 { id: 0, n: i64::MAX }).unwrap();
    let ns: Vec<i64> = V2::list(&h)
        .order_by(V2::ID.asc())
        .all()
        .unwrap()
        .iter()
        .map(|v| v.n)
        .collect();
    assert_eq!(ns, [i64::from(i32::MAX), i64::from(i32::MIN), i64::MAX]);
}

pub fn narrows_bigint_to_int_when_values_fit(db: &TestBackend) {
    v1!(n: i64);
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    struct V2 {
        id: i64,
        n: i32,
    }
    start(db, &[V1 { id: 0, n: 5 }, V1 { id: 0, n: -5 }]);
    let h = next::<V2>(db);
    let plan = h.plan().unwrap();
    assert_eq!(ops(&plan), [(Operation::AlterColumn, RiskLevel::Medium)]);
    assert!(
        plan.steps[0].reason.contains("all 2 rows fit"),
        "{}",
        plan.steps[0].reason
    );
    h.auto_migrate(opted_in(RiskLevel::Medium)).unwrap();
    assert_eq!(V2::list(&h).count().unwrap(), 2);
}

pub fn narrows_bigint_to_int_when_values_do_not_fit_is_blocked(db: &TestBackend) {
    v1!(n: i64);
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    struct V2 {
        id: i64,
        n: i32,
    }
    start(db, &[V1 { id: 0, n: 5 }, V1 { id: 0, n: 1 << 40 }]);
    let h = next::<V2>(db);
    let plan = h.plan().unwrap();
    assert!(
        plan.steps[0]
            .blocked
            .as_deref()
            .unwrap()
            .contains("1 values"),
        "{:?}",
        plan.steps[0]
    );
    refused(h.auto_migrate(opted_in(RiskLevel::High)));
}

pub fn narrows_text_length_truncates_only_when_opted_in_and_rollback_restores(db: &TestBackend) {
    v1!(code: String);
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    struct V2 {
        id: i64,
        #[dataflow(max_length = 3)]
        code: String,
    }
    let old = start(
        db,
        &[
            V1 {
                id: 0,
                code: "abcdef".into(),
            },
            V1 {
                id: 0,
                code: "xy".into(),
            },
        ],
    );
    let h = next::<V2>(db);
    let plan = h.plan().unwrap();
    assert_eq!(ops(&plan), [(Operation::AlterColumn, RiskLevel::High)]);
    assert!(
        plan.steps[0].reason.contains("1 values are longer"),
        "{}",
        plan.steps[0].reason
    );
    refused(h.auto_migrate(opted_in(RiskLevel::Medium)));
    h.auto_migrate(opted_in(RiskLevel::High)).unwrap();
    let codes: Vec<String> = V2::list(&h)
        .order_by(V2::ID.asc())
        .all()
        .unwrap()
        .into_iter()
        .map(|v| v.code)
        .collect();
    assert_eq!(codes, ["abc", "xy"]);
    h.rollback_last().unwrap();
    let codes: Vec<String> = V1::list(&old)
        .order_by(V1::ID.asc())
        .all()
        .unwrap()
        .into_iter()
        .map(|v| v.code)
        .collect();
    assert_eq!(codes, ["abcdef", "xy"]);
    old.check().unwrap();
}

pub fn text_to_integer_has_no_safe_cast(db: &TestBackend) {
    v1!(n: String);
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    struct V2 {
        id: i64,
        n: i64,
    }
    start(
        db,
        &[V1 {
            id: 0,
            n: "12".into(),
        }],
    );
    let h = next::<V2>(db);
    let plan = h.plan().unwrap();
    assert_eq!(ops(&plan), [(Operation::AlterColumn, RiskLevel::High)]);
    assert!(
        plan.steps[0].reason.contains("no safe cast"),
        "{}",
        plan.steps[0].reason
    );
    refused(h.auto_migrate(opted_in(RiskLevel::Medium)));
}

pub fn makes_column_nullable(db: &TestBackend) {
    v1!(name: String);
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    struct V2 {
        id: i64,
        name: Option<String>,
    }
    start(
        db,
        &[V1 {
            id: 0,
            name: "a".into(),
        }],
    );
    let h = next::<V2>(db);
    let r = h.auto_migrate(MigrateOptions::default()).unwrap();
    assert_eq!(ops(&r), [(Operation::AlterColumn, RiskLevel::Safe)]);
    V2::create(&h, V2 { id: 0, name: None }).unwrap();
    assert_eq!(V2::list(&h).filter(V2::NAME.eq("a")).count().unwrap(), 1);
}

pub fn sets_not_null_without_nulls_is_medium(db: &TestBackend) {
    v1!(name: Option<String>);
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    struct V2 {
        id: i64,
        name: String,
    }
    start(
        db,
        &[V1 {
            id: 0,
            name: Some("a".into()),
        }],
    );
    let h = next::<V2>(db);
    let r = h.auto_migrate(opted_in(RiskLevel::Medium)).unwrap();
    assert_eq!(ops(&r), [(Operation::AlterColumn, RiskLevel::Medium)]);
    assert!(
        r.steps[0].reason.contains("no NULLs"),
        "{}",
        r.steps[0].reason
    );
    let err = V1::create(&db.reopen(), V1 { id: 0, name: None }).unwrap_err();
    assert!(matches!(err, Error::NotNullViolation { .. }), "{err:?}");
}

pub fn sets_not_null_over_nulls_without_default_is_blocked(db: &TestBackend) {
    v1!(name: Option<String>);
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    struct V2 {
        id: i64,
        name: String,
    }
    start(
        db,
        &[
            V1 {
                id: 0,
                name: Some("a".into()),
            },
            V1 { id: 0, name: None },
        ],
    );
    let h = next::<V2>(db);
    let plan = h.plan().unwrap();
    assert!(
        plan.steps[0]
            .blocked
            .as_deref()
            .unwrap()
            .contains("1 rows are NULL"),
        "{:?}",
        plan.steps[0]
    );
    refused(h.auto_migrate(opted_in(RiskLevel::High)));
}

pub fn sets_not_null_over_nulls_with_default_backfills(db: &TestBackend) {
    v1!(name: Option<String>);
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    struct V2 {
        id: i64,
        #[dataflow(default = "anonymous")]
        name: String,
    }
    start(
        db,
        &[
            V1 {
                id: 0,
                name: Some("a".into()),
            },
            V1 { id: 0, name: None },
        ],
    );
    let h = next::<V2>(db);
    let r = h.auto_migrate(opted_in(RiskLevel::Medium)).unwrap();
    assert_eq!(ops(&r), [(Operation::AlterColumn, RiskLevel::Medium)]);
    assert!(
        r.steps[0].reason.contains("1 NULLs take the default"),
        "{}",
        r.steps[0].reason
    );
    let names: Vec<String> = V2::list(&h)
        .order_by(V2::ID.asc())
        .all()
        .unwrap()
        .into_iter()
        .map(|v| v.name)
        .collect();
    assert_eq!(names, ["a", "anonymous"]);
    // Only the NULLs were kept, and undoing the step puts exactly them back.
    assert!(
        r.steps[0].backup[0].contains("IS NULL"),
        "{:?}",
        r.steps[0].backup
    );
    h.rollback_last().unwrap();
    let v1 = db.reopen();
    v1.register::<V1>().unwrap();
    v1.check().unwrap();
    let names: Vec<Option<String>> = V1::list(&v1)
        .order_by(V1::ID.asc())
        .all()
        .unwrap()
        .into_iter()
        .map(|v| v.name)
        .collect();
    assert_eq!(names, [Some("a".to_owned()), None]);
}

pub fn changes_default(db: &TestBackend) {
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    struct V1 {
        id: i64,
        #[dataflow(default = 1)]
        n: i32,
    }
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    struct V2 {
        id: i64,
        #[dataflow(default = 2)]
        n: i32,
    }
    start(db, &[V1 { id: 0, n: 9 }]);
    let h = next::<V2>(db);
    let r = h.auto_migrate(MigrateOptions::default()).unwrap();
    assert_eq!(ops(&r), [(Operation::AlterColumn, RiskLevel::Safe)]);
    let col = h.describe().unwrap().tables["evo"]
        .column("n")
        .cloned()
        .unwrap();
    assert_eq!(
        col.default,
        Some(dataflow_core::migrate::schema::SchemaDefault::Int(2))
    );
    assert_eq!(V2::list(&h).all().unwrap()[0].n, 9);
}

pub fn adds_index(db: &TestBackend) {
    v1!(name: String);
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    struct V2 {
        id: i64,
        #[dataflow(index)]
        name: String,
    }
    start(
        db,
        &[
            V1 {
                id: 0,
                name: "a".into(),
            },
            V1 {
                id: 0,
                name: "a".into(),
            },
        ],
    );
    let h = next::<V2>(db);
    let r = h.auto_migrate(MigrateOptions::default()).unwrap();
    assert_eq!(ops(&r), [(Operation::CreateIndex, RiskLevel::Safe)]);
    h.check().unwrap();
}

pub fn adds_unique_index_over_duplicates_is_blocked(db: &TestBackend) {
    v1!(name: String);
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    struct V2 {
        id: i64,
        #[dataflow(unique)]
        name: String,
    }
    start(
        db,
        &[
            V1 {
                id: 0,
                name: "a".into(),
            },
            V1 {
                id: 0,
                name: "a".into(),
            },
            V1 {
                id: 0,
                name: "b".into(),
            },
        ],
    );
    let h = next::<V2>(db);
    let plan = h.plan().unwrap();
    assert!(
        plan.steps[0]
            .blocked
            .as_deref()
            .unwrap()
            .contains("1 groups"),
        "{:?}",
        plan.steps[0]
    );
    refused(h.auto_migrate(opted_in(RiskLevel::High)));
}

pub fn adds_unique_index_without_duplicates_is_medium(db: &TestBackend) {
    v1!(name: String);
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    struct V2 {
        id: i64,
        #[dataflow(unique)]
        name: String,
    }
    start(
        db,
        &[
            V1 {
                id: 0,
                name: "a".into(),
            },
            V1 {
                id: 0,
                name: "b".into(),
            },
        ],
    );
    let h = next::<V2>(db);
    let r = h.auto_migrate(opted_in(RiskLevel::Medium)).unwrap();
    assert_eq!(ops(&r), [(Operation::CreateIndex, RiskLevel::Medium)]);
    let err = V2::create(
        &h,
        V2 {
            id: 0,
            name: "a".into(),
        },
    )
    .unwrap_err();
    assert!(matches!(err, Error::UniqueViolation { .. }));
}

pub fn drops_index_is_medium(db: &TestBackend) {
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    struct V1 {
        id: i64,
        #[dataflow(index)]
        name: String,
    }
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    struct V2 {
        id: i64,
        name: String,
    }
    start(
        db,
        &[V1 {
            id: 0,
            name: "a".into(),
        }],
    );
    let h = next::<V2>(db);
    let plan = h.plan().unwrap();
    assert_eq!(ops(&plan), [(Operation::DropIndex, RiskLevel::Medium)]);
    h.auto_migrate(opted_in(RiskLevel::Medium)).unwrap();
    h.check().unwrap();
}

pub fn renames_indexed_column_and_its_index(db: &TestBackend) {
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    struct V1 {
        id: i64,
        #[dataflow(index)]
        old_name: String,
    }
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    struct V2 {
        id: i64,
        #[dataflow(index, renamed_from = "old_name")]
        new_name: String,
    }
    start(
        db,
        &[V1 {
            id: 0,
            old_name: "v".into(),
        }],
    );
    let h = next::<V2>(db);
    let plan = h.plan().unwrap();
    let kinds: Vec<Operation> = plan.steps.iter().map(|s| s.operation).collect();
    // The index's name follows the column; the index itself is kept.
    assert_eq!(kinds, [Operation::RenameColumn, Operation::RenameIndex]);
    assert_eq!(plan.steps[1].risk, RiskLevel::Safe);
    h.auto_migrate(opted_in(RiskLevel::Medium)).unwrap();
    assert_eq!(
        V2::list(&h).filter(V2::NEW_NAME.eq("v")).count().unwrap(),
        1
    );
    h.check().unwrap();
    h.rollback_last().unwrap();
    db.reopen().register::<V1>().unwrap();
    let back = next::<V1>(db);
    back.check().unwrap();
}

pub fn adds_foreign_key_over_valid_data_is_medium(db: &TestBackend) {
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo_parent")]
    struct Parent {
        id: i64,
    }
    v1!(parent_id: i64);
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    #[dataflow(foreign_key(field = "parent_id", references = "evo_parent(id)"))]
    struct V2 {
        id: i64,
        parent_id: i64,
    }
    let p = start(db, &[Parent { id: 0 }]);
    let parent = Parent::list(&p).first().unwrap().unwrap();
    start(
        db,
        &[V1 {
            id: 0,
            parent_id: parent.id,
        }],
    );
    let h = next::<V2>(db);
    let r = h.auto_migrate(opted_in(RiskLevel::Medium)).unwrap();
    assert_eq!(ops(&r), [(Operation::AddForeignKey, RiskLevel::Medium)]);
    let err = V2::create(
        &h,
        V2 {
            id: 0,
            parent_id: 999,
        },
    )
    .unwrap_err();
    assert!(matches!(err, Error::ForeignKeyViolation { .. }), "{err:?}");
    h.check().unwrap();
}

pub fn adds_foreign_key_over_orphans_is_blocked(db: &TestBackend) {
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo_parent")]
    struct Parent {
        id: i64,
    }
    v1!(parent_id: i64);
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    #[dataflow(foreign_key(field = "parent_id", references = "evo_parent(id)"))]
    struct V2 {
        id: i64,
        parent_id: i64,
    }
    start::<Parent>(db, &[]);
    start(
        db,
        &[V1 {
            id: 0,
            parent_id: 42,
        }],
    );
    let h = next::<V2>(db);
    let plan = h.plan().unwrap();
    assert!(
        plan.steps[0]
            .blocked
            .as_deref()
            .unwrap()
            .contains("1 rows of evo reference a missing evo_parent.id"),
        "{:?}",
        plan.steps[0]
    );
    refused(h.auto_migrate(opted_in(RiskLevel::High)));
}

pub fn drops_foreign_key_is_medium(db: &TestBackend) {
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo_parent")]
    struct Parent {
        id: i64,
    }
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    #[dataflow(foreign_key(field = "parent_id", references = "evo_parent(id)"))]
    struct V1 {
        id: i64,
        parent_id: i64,
    }
    let p = start(db, &[Parent { id: 0 }]);
    let parent = Parent::list(&p).first().unwrap().unwrap();
    start(
        db,
        &[V1 {
            id: 0,
            parent_id: parent.id,
        }],
    );
    v1_as_v2(db);
    fn v1_as_v2(db: &TestBackend) {
        #[derive(Model, Debug, Clone, PartialEq)]
        #[dataflow(table = "evo")]
        struct V2 {
            id: i64,
            parent_id: i64,
        }
        let h = next::<V2>(db);
        let r = h.auto_migrate(opted_in(RiskLevel::Medium)).unwrap();
        assert_eq!(ops(&r), [(Operation::DropForeignKey, RiskLevel::Medium)]);
        V2::create(
            &h,
            V2 {
                id: 0,
                parent_id: 12345,
            },
        )
        .unwrap();
        h.check().unwrap();
    }
}

pub fn new_tables_are_created_before_tables_that_reference_them(db: &TestBackend) {
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo_a_child")]
    #[dataflow(foreign_key(
        field = "parent_id",
        references = "evo_z_parent(id)",
        on_delete = "cascade"
    ))]
    struct Child {
        id: i64,
        parent_id: i64,
    }
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo_z_parent")]
    struct Parent {
        id: i64,
    }
    let h = db.reopen();
    h.register_all(models![Child, Parent]).unwrap();
    let r = h.auto_migrate(MigrateOptions::default()).unwrap();
    let tables: Vec<&str> = r.steps.iter().map(|s| s.table.as_str()).collect();
    assert_eq!(tables, ["evo_z_parent", "evo_a_child"]);
    let p = Parent::create(&h, Parent { id: 0 }).unwrap();
    Child::create(
        &h,
        Child {
            id: 0,
            parent_id: p.id,
        },
    )
    .unwrap();
    Parent::delete(&h, p.id).unwrap();
    assert_eq!(Child::list(&h).count().unwrap(), 0, "cascade works");
}

pub fn no_op_when_nothing_changed(db: &TestBackend) {
    v1!(name: String, n: Option<i32>);
    let h = start(
        db,
        &[V1 {
            id: 0,
            name: "a".into(),
            n: Some(1),
        }],
    );
    let before = h.migration_history().unwrap().len();
    for _ in 0..3 {
        let r = h.auto_migrate(MigrateOptions::default()).unwrap();
        assert!(r.steps.is_empty() && !r.applied);
    }
    assert_eq!(
        h.migration_history().unwrap().len(),
        before,
        "no-ops are not recorded"
    );
}

pub fn tables_of_other_models_are_never_dropped(db: &TestBackend) {
    v1!(name: String);
    start(
        db,
        &[V1 {
            id: 0,
            name: "a".into(),
        }],
    );
    // A process that registers nothing of `evo` (nor of the fixture's tables).
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo_other")]
    struct Other {
        id: i64,
    }
    let h = next::<Other>(db);
    let r = h.auto_migrate(opted_in(RiskLevel::High)).unwrap();
    assert_eq!(ops(&r), [(Operation::CreateTable, RiskLevel::Safe)]);
    assert!(
        r.unmanaged_tables.contains(&"evo".to_owned()),
        "{:?}",
        r.unmanaged_tables
    );
    assert!(r.unmanaged_tables.contains(&"users".to_owned()));
    assert_eq!(V1::list(&db.reopen()).count().unwrap(), 1);
    let report = h.check().unwrap();
    assert!(report.unmanaged_tables.contains(&"evo".to_owned()));
}

pub fn prune_drops_only_owned_tables_and_rollback_restores_rows(db: &TestBackend) {
    v1!(name: String);
    start(
        db,
        &[
            V1 {
                id: 0,
                name: "a".into(),
            },
            V1 {
                id: 0,
                name: "b".into(),
            },
        ],
    );
    // A table dataflow did not create is never dropped, even with prune.
    db.with_conn(|c| c.batch_execute("CREATE TABLE hand_made (x INTEGER)"))
        .unwrap();
    let h = db.reopen();
    // Every model the database was made with: only `evo` is left over.
    h.register_all(crate::MODELS).unwrap();
    let plan = h
        .auto_migrate(MigrateOptions::default().prune(true).dry_run(true))
        .unwrap();
    assert_eq!(ops(&plan), [(Operation::DropTable, RiskLevel::High)]);
    assert_eq!(plan.steps[0].table, "evo");
    assert!(plan.steps[0].reason.contains("2 rows"));
    assert_eq!(plan.unmanaged_tables, ["hand_made"]);
    h.auto_migrate(
        MigrateOptions::default()
            .prune(true)
            .auto_confirm(true)
            .max_risk(RiskLevel::High),
    )
    .unwrap();
    assert!(!h.describe().unwrap().tables.contains_key("evo"));
    h.rollback_last().unwrap();
    let back = next::<V1>(db);
    back.check().unwrap();
    assert_eq!(
        V1::list(&back).order_by(V1::ID.asc()).all().unwrap().len(),
        2
    );
}

pub fn exclude_operations_and_include_tables_limit_the_plan(db: &TestBackend) {
    v1!(name: String, legacy: Option<String>);
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    struct V2 {
        id: i64,
        name: String,
        extra: Option<i64>,
    }
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo_side")]
    struct Side {
        id: i64,
    }
    start(
        db,
        &[V1 {
            id: 0,
            name: "a".into(),
            legacy: Some("l".into()),
        }],
    );
    let h = db.reopen();
    h.register_all(models![V2, Side]).unwrap();
    let r = h
        .auto_migrate(
            MigrateOptions::default()
                .exclude_operations([Operation::DropColumn])
                .include_tables(["evo"]),
        )
        .unwrap();
    assert_eq!(ops(&r), [(Operation::AddColumn, RiskLevel::Safe)]);
    let live = h.describe().unwrap();
    assert!(
        live.tables["evo"].column("legacy").is_some(),
        "excluded drop did not run"
    );
    assert!(
        !live.tables.contains_key("evo_side"),
        "table outside include_tables untouched"
    );
}

pub fn dry_run_returns_the_whole_plan_whatever_the_policy(db: &TestBackend) {
    v1!(name: Option<String>, legacy: Option<i64>);
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    struct V2 {
        id: i64,
        name: String,
        required: i64,
    }
    start(
        db,
        &[V1 {
            id: 0,
            name: None,
            legacy: Some(1),
        }],
    );
    let h = next::<V2>(db);
    let recorded = h.migration_history().unwrap().len();
    let r = h
        .auto_migrate(MigrateOptions::default().dry_run(true))
        .unwrap();
    assert!(!r.applied);
    // Counted by change: SQLite makes the two blocked ones in one table rebuild.
    let blocked: usize = r
        .steps
        .iter()
        .map(|s| match s.parts.is_empty() {
            true => usize::from(s.blocked.is_some()),
            false => s.parts.iter().filter(|p| p.blocked.is_some()).count(),
        })
        .sum();
    assert_eq!(blocked, 2, "{}", r.preview());
    assert!(r
        .steps
        .iter()
        .any(|s| s.risk == RiskLevel::High && s.operation == Operation::DropColumn));
    let p = r.preview();
    assert!(
        p.contains("BLOCKED") && p.contains("Rollback:") && p.contains("Safety:"),
        "{p}"
    );
    assert_eq!(
        h.migration_history().unwrap().len(),
        recorded,
        "a dry run records nothing"
    );
}

pub fn history_records_each_migration(db: &TestBackend) {
    v1!(name: String);
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    struct V2 {
        id: i64,
        name: String,
        more: Option<bool>,
    }
    start::<V1>(db, &[]);
    let h = next::<V2>(db);
    let r = h.auto_migrate(MigrateOptions::default()).unwrap();
    let history = h.migration_history().unwrap();
    let last = history.last().unwrap();
    assert_eq!(Some(&last.version), r.version.as_ref());
    assert_eq!(last.status, MigrationStatus::Applied);
    assert_eq!(last.checksum.len(), 64);
    assert!(last.finished_at.is_some() && last.duration_ms.is_some());
    assert_eq!(
        last.steps, r.steps,
        "steps round-trip through the history table"
    );
    assert!(!last.steps[0].sql_down.is_empty());
    assert!(history.windows(2).all(|w| w[0].version < w[1].version));
    // Rolling back a version that does not exist is an error, not a no-op.
    assert!(matches!(
        h.rollback("19700101"),
        Err(Error::InvalidInput(_))
    ));
}

pub fn rollback_of_create_table_drops_it(db: &TestBackend) {
    v1!(name: String);
    let h = start::<V1>(db, &[]);
    let v = h
        .migration_history()
        .unwrap()
        .last()
        .unwrap()
        .version
        .clone();
    h.rollback(&v).unwrap();
    assert!(!h.describe().unwrap().tables.contains_key("evo"));
    // Migrating again recreates it.
    h.auto_migrate(MigrateOptions::default()).unwrap();
    V1::create(
        &h,
        V1 {
            id: 0,
            name: "again".into(),
        },
    )
    .unwrap();
}

pub fn autoincrement_counter_survives_a_rebuild(db: &TestBackend) {
    v1!(name: String);
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    struct V2 {
        id: i64,
        name: Option<String>,
    }
    let old = start(
        db,
        &[
            V1 {
                id: 0,
                name: "a".into(),
            },
            V1 {
                id: 0,
                name: "b".into(),
            },
        ],
    );
    let last = V1::create(
        &old,
        V1 {
            id: 0,
            name: "c".into(),
        },
    )
    .unwrap();
    V1::delete(&old, last.id).unwrap();
    let h = next::<V2>(db);
    h.auto_migrate(MigrateOptions::default()).unwrap();
    let fresh = V2::create(&h, V2 { id: 0, name: None }).unwrap();
    assert!(fresh.id > last.id, "key {} reused after rebuild", fresh.id);
}

pub fn several_changes_on_one_table_in_one_migration(db: &TestBackend) {
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    struct V1 {
        id: i64,
        a: i32,
        b: Option<String>,
        #[dataflow(index)]
        c: String,
    }
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    #[dataflow(index(fields("a_wide", "d")))]
    struct V2 {
        id: i64,
        #[dataflow(renamed_from = "a")]
        a_wide: i64,
        #[dataflow(default = "none")]
        b: String,
        d: Option<f64>,
    }
    start(
        db,
        &[
            V1 {
                id: 0,
                a: 1,
                b: None,
                c: "x".into(),
            },
            V1 {
                id: 0,
                a: 2,
                b: Some("y".into()),
                c: "z".into(),
            },
        ],
    );
    let h = next::<V2>(db);
    let r = h.auto_migrate(opted_in(RiskLevel::High)).unwrap();
    assert!(r.applied, "{}", r.preview());
    let rows = V2::list(&h).order_by(V2::ID.asc()).all().unwrap();
    assert_eq!(
        rows.iter()
            .map(|v| (v.a_wide, v.b.as_str(), v.d))
            .collect::<Vec<_>>(),
        [(1, "none", None), (2, "y", None)]
    );
    h.check().unwrap();
    h.rollback_last().unwrap();
    let back = next::<V1>(db);
    back.check().unwrap();
    let rows = V1::list(&back).order_by(V1::ID.asc()).all().unwrap();
    assert_eq!(
        rows.iter().map(|v| v.c.as_str()).collect::<Vec<_>>(),
        ["x", "z"],
        "dropped column restored"
    );
}
