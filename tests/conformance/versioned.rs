//! Versioned migration files: generated from the models, applied, downgraded
//! and applied again through sixteen evolutions of one table (the evolutions
//! of the `migrate` group, as files); an applied file edited afterwards;
//! multiple heads and their merge; a squash that databases past it accept; a
//! migration that runs outside a transaction; data steps (in `data`);
//! deterministic output; baselining an auto-migrated database.

use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use dataflow_core::migrate::files::sql::no_transaction;
use dataflow_core::migrate::schema::Schema;
use dataflow_core::prelude::*;
use dataflow_core::{FileMigrationState, FilesReport, GenerateOptions, LogicalType};

use crate::backends::TestBackend;

mod data;
mod missing;
pub use data::*;
pub use missing::*;

fn high() -> MigrateOptions {
    MigrateOptions::default()
        .auto_confirm(true)
        .max_risk(RiskLevel::High)
}

fn at(i: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::minutes(i64::from(i))
}

fn generate(h: &DataFlow, dir: &Path, name: &str, i: u32) -> dataflow_core::MigrationPlan {
    match h
        .generate_migration_with(dir, name, GenerateOptions::default().at(at(i)))
        .unwrap()
    {
        Generated::Written { plan, .. } => *plan,
        Generated::UpToDate => panic!("{name}: nothing generated"),
    }
}

fn files(dir: &Path) -> Migrations {
    Migrations::from_dir(dir).unwrap()
}

fn apply(h: &DataFlow, dir: &Path) -> FilesReport {
    h.apply_migrations(&files(dir), high()).unwrap()
}

/// The live tables that `a` or `b` hold, as the database describes them.
fn live_like(h: &DataFlow, a: &Schema, b: &Schema) -> Schema {
    let mut live = h.describe().unwrap();
    live.tables
        .retain(|n, _| a.tables.contains_key(n) || b.tables.contains_key(n));
    live
}

fn row_count(h: &DataFlow, table: &str) -> i64 {
    let mut n = 0;
    h.with_conn(|c| {
        c.query(
            &format!("SELECT COUNT(*) FROM {table}"),
            &[],
            &[LogicalType::BigInt],
            &mut |row| {
                if let Value::I64(v) = row[0] {
                    n = v;
                }
                Ok(())
            },
        )
    })
    .unwrap();
    n
}

/// One evolution: register the models, generate, apply, check; downgrade to
/// the migration before and compare the live schema with its snapshot;
/// apply again and check.
fn evolve(db: &TestBackend, dir: &Path, i: u32, register: fn(&DataFlow)) {
    let h = db.reopen();
    register(&h);
    let before: Schema = files(dir)
        .plans()
        .unwrap()
        .last()
        .map(|p| p.schema.clone())
        .unwrap_or_default();
    let plan = generate(&h, dir, &format!("step_{i}"), i);
    assert_eq!(plan.dialect, h.dialect().name());
    let r = apply(&h, dir);
    assert_eq!(r.ids(), [plan.id()], "evolution {i}");
    h.check().unwrap_or_else(|e| panic!("evolution {i}: {e}"));
    assert_eq!(
        live_like(&h, &plan.schema, &before),
        plan.schema,
        "evolution {i}: the live schema is the snapshot"
    );
    // Down to the migration before, and up again.
    let parent = plan.parents.first().cloned().unwrap_or_else(|| "0".into());
    let d = h.downgrade(&files(dir), &parent, high()).unwrap();
    assert_eq!(d.ids(), [plan.id()], "evolution {i}");
    assert_eq!(
        live_like(&h, &plan.schema, &before),
        before,
        "evolution {i}: down.sql restores the schema before"
    );
    let r = apply(&h, dir);
    assert_eq!(r.ids(), [plan.id()], "evolution {i}: applied again");
    h.check()
        .unwrap_or_else(|e| panic!("evolution {i} again: {e}"));
    assert!(h
        .generate_migration(dir, "nothing")
        .unwrap()
        .is_up_to_date());
}

mod evo {
    use dataflow_core::prelude::*;

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    pub struct V1 {
        pub id: i64,
        pub name: String,
    }
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    pub struct V2 {
        pub id: i64,
        pub name: String,
        pub nick: Option<String>,
    }
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    pub struct V3 {
        pub id: i64,
        pub name: String,
        pub nick: Option<String>,
        #[dataflow(default = 0)]
        pub score: i32,
    }
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    pub struct V4 {
        pub id: i64,
        pub name: String,
        #[dataflow(renamed_from = "nick")]
        pub handle: Option<String>,
        #[dataflow(default = 0)]
        pub score: i32,
    }
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    pub struct V5 {
        pub id: i64,
        pub name: String,
        pub handle: Option<String>,
        #[dataflow(default = 0)]
        pub score: i64,
    }
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    #[dataflow(index(fields("name")))]
    pub struct V6 {
        pub id: i64,
        pub name: String,
        pub handle: Option<String>,
        #[dataflow(default = 0)]
        pub score: i64,
    }
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    #[dataflow(index(fields("name")))]
    pub struct V7 {
        pub id: i64,
        pub name: String,
        #[dataflow(unique)]
        pub handle: Option<String>,
        #[dataflow(default = 0)]
        pub score: i64,
    }
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    pub struct V8 {
        pub id: i64,
        pub name: String,
        #[dataflow(unique)]
        pub handle: Option<String>,
        #[dataflow(default = 0)]
        pub score: i64,
    }
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    pub struct V9 {
        pub id: i64,
        pub name: String,
        #[dataflow(unique)]
        pub handle: Option<String>,
        #[dataflow(default = 5)]
        pub score: i64,
    }
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo_kids")]
    #[dataflow(foreign_key(field = "evo_id", references = "evo(id)", on_delete = "cascade"))]
    pub struct Kid {
        pub id: i64,
        pub evo_id: i64,
        pub label: String,
    }
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    pub struct V11 {
        pub id: i64,
        pub name: String,
        #[dataflow(unique)]
        pub handle: Option<String>,
    }
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo_children", renamed_from = "evo_kids")]
    #[dataflow(foreign_key(field = "evo_id", references = "evo(id)", on_delete = "cascade"))]
    pub struct Child {
        pub id: i64,
        pub evo_id: i64,
        pub label: String,
    }
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    pub struct V13 {
        pub id: i64,
        pub name: String,
        #[dataflow(unique)]
        pub handle: Option<String>,
        #[dataflow(default = true)]
        pub active: bool,
    }
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    pub struct V14 {
        pub id: i64,
        pub name: Option<String>,
        #[dataflow(unique)]
        pub handle: Option<String>,
        #[dataflow(default = true)]
        pub active: bool,
    }
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    pub struct V15 {
        pub id: i64,
        pub name: Option<String>,
        #[dataflow(unique)]
        pub handle: Option<String>,
        #[dataflow(default = false)]
        pub active: bool,
    }
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    pub struct V17 {
        pub id: i64,
        pub name: Option<String>,
        #[dataflow(unique)]
        pub handle: Option<String>,
        #[dataflow(default = false)]
        pub active: bool,
        pub born: Option<chrono::NaiveDate>,
    }
}

pub fn sixteen_evolutions_generate_apply_downgrade_and_apply_again(db: &TestBackend) {
    use evo::*;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let steps: [fn(&DataFlow); 16] = [
        |h| h.register::<V1>().unwrap(),
        |h| h.register::<V2>().unwrap(),
        |h| h.register::<V3>().unwrap(),
        |h| h.register::<V4>().unwrap(),
        |h| h.register::<V5>().unwrap(),
        |h| h.register::<V6>().unwrap(),
        |h| h.register::<V7>().unwrap(),
        |h| h.register::<V8>().unwrap(),
        |h| h.register::<V9>().unwrap(),
        |h| h.register_all(models![V9, Kid]).unwrap(),
        |h| h.register_all(models![V11, Kid]).unwrap(),
        |h| h.register_all(models![V11, Child]).unwrap(),
        |h| h.register_all(models![V13, Child]).unwrap(),
        |h| h.register_all(models![V14, Child]).unwrap(),
        |h| h.register_all(models![V15, Child]).unwrap(),
        |h| h.register::<V15>().unwrap(),
    ];
    for (i, register) in steps.into_iter().enumerate() {
        evolve(db, dir, i as u32 + 1, register);
        if i == 0 {
            // Rows from the start, so every later step meets a populated table.
            let h = db.reopen();
            h.register::<V1>().unwrap();
            V1::create(
                &h,
                V1 {
                    id: 0,
                    name: "ann".into(),
                },
            )
            .unwrap();
            V1::create(
                &h,
                V1 {
                    id: 0,
                    name: "bob".into(),
                },
            )
            .unwrap();
        }
    }
    let h = db.reopen();
    h.register::<V17>().unwrap();
    generate(&h, dir, "born", 17);
    apply(&h, dir);
    let rows = V17::list(&h).order_by(V17::ID.asc()).all().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].name.as_deref(), Some("ann"));
    // Everything down, and everything up again.
    let all = files(dir);
    assert_eq!(all.len(), 17);
    let d = h.downgrade(&all, "0", high()).unwrap();
    assert_eq!(d.ids().len(), 17);
    assert_eq!(row_count_tables(&h), 0, "no evo table is left");
    let r = apply(&h, dir);
    assert_eq!(r.ids().len(), 17);
    h.check().unwrap();
    assert!(h
        .migration_status(&all)
        .unwrap()
        .iter()
        .all(|s| s.state == FileMigrationState::Applied));
}

fn row_count_tables(h: &DataFlow) -> usize {
    h.describe()
        .unwrap()
        .tables
        .keys()
        .filter(|t| t.starts_with("evo"))
        .count()
}

pub fn a_dropped_column_comes_back_with_its_values_on_downgrade(db: &TestBackend) {
    use evo::{V3, V5};
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo")]
    struct NoScore {
        id: i64,
        name: String,
        nick: Option<String>,
    }
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let h = db.reopen();
    h.register::<V3>().unwrap();
    generate(&h, dir, "start", 1);
    apply(&h, dir);
    V3::create(
        &h,
        V3 {
            id: 0,
            name: "a".into(),
            nick: None,
            score: 42,
        },
    )
    .unwrap();
    let h = db.reopen();
    h.register::<NoScore>().unwrap();
    let plan = generate(&h, dir, "drop_score", 2);
    assert_eq!(plan.steps[0].risk, RiskLevel::High);
    let up = std::fs::read_to_string(dir.join(plan.id()).join("up.sql")).unwrap();
    assert!(up.contains("-- RISK HIGH: table evo has some rows"), "{up}");
    // Refused by default, judged on the live rows.
    match h.apply_migrations(&files(dir), MigrateOptions::default()) {
        Err(Error::MigrationRefused { steps, .. }) => {
            assert!(steps[0].contains("1 non-null values in score"), "{steps:?}")
        }
        other => panic!("{other:?}"),
    }
    apply(&h, dir);
    h.downgrade(&files(dir), "20260101000100_start", high())
        .unwrap();
    let h = db.reopen();
    h.register::<V3>().unwrap();
    assert_eq!(V3::list(&h).all().unwrap()[0].score, 42);
    let _ = std::marker::PhantomData::<V5>;
}

pub fn an_edited_applied_file_is_named_and_repair_accepts_it(db: &TestBackend) {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let h = db.reopen();
    h.register::<evo::V1>().unwrap();
    let plan = generate(&h, dir, "start", 1);
    apply(&h, dir);
    let up = dir.join(plan.id()).join("up.sql");
    let text = std::fs::read_to_string(&up).unwrap();
    std::fs::write(&up, format!("{text}-- reviewed\n")).unwrap();
    let e = h
        .apply_migrations(&files(dir), high())
        .unwrap_err()
        .to_string();
    assert!(e.contains(&format!("{}/up.sql", plan.id())), "{e}");
    assert!(e.contains("repair_migration"), "{e}");
    assert_eq!(
        h.migration_status(&files(dir)).unwrap()[0].state,
        FileMigrationState::Edited
    );
    h.repair_migration(&files(dir), &plan.version).unwrap();
    assert!(apply(&h, dir).is_empty());
    assert_eq!(
        h.migration_status(&files(dir)).unwrap()[0].state,
        FileMigrationState::Applied
    );
}

pub fn multiple_heads_are_refused_and_a_merge_joins_them(db: &TestBackend) {
    use evo::{V1, V2};
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo_other")]
    struct Other {
        id: i64,
    }
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let h = db.reopen();
    h.register::<V1>().unwrap();
    generate(&h, dir, "start", 1);
    // Two branches generate from the same parent.
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    for d in [a.path(), b.path()] {
        copy_dir(dir, d);
    }
    let h2 = db.reopen();
    h2.register::<V2>().unwrap();
    let pa = generate(&h2, a.path(), "nick", 2);
    let h3 = db.reopen();
    h3.register_all(models![V1, Other]).unwrap();
    let pb = generate(&h3, b.path(), "other", 3);
    copy_dir(a.path(), dir);
    copy_dir(b.path(), dir);
    for e in [
        h.apply_migrations(&files(dir), high()).unwrap_err(),
        h.generate_migration(dir, "more").unwrap_err(),
    ] {
        let e = e.to_string();
        assert!(e.contains("multiple heads"), "{e}");
        assert!(e.contains(&pa.id()) && e.contains(&pb.id()), "{e}");
    }
    let merged = match h
        .merge_migrations(dir, "merge", GenerateOptions::default().at(at(4)))
        .unwrap()
    {
        Generated::Written { plan, .. } => *plan,
        other => panic!("{other:?}"),
    };
    assert_eq!(merged.parents, [pa.id(), pb.id()]);
    assert!(merged.steps.is_empty());
    assert!(merged.schema.tables["evo"].column("nick").is_some());
    assert!(merged.schema.tables.contains_key("evo_other"));
    let r = apply(&h, dir);
    assert_eq!(r.ids().len(), 4);
    let both = db.reopen();
    both.register_all(models![V2, Other]).unwrap();
    both.check().unwrap();
    assert!(both
        .generate_migration(dir, "after")
        .unwrap()
        .is_up_to_date());
}

fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

pub fn a_squash_is_accepted_by_databases_past_it_and_runs_on_new_ones(db: &TestBackend) {
    use evo::{V1, V2, V3, V4};
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let old = db.reopen();
    let regs: [fn(&DataFlow); 4] = [
        |h| h.register::<V1>().unwrap(),
        |h| h.register::<V2>().unwrap(),
        |h| h.register::<V3>().unwrap(),
        |h| h.register::<V4>().unwrap(),
    ];
    let mut ids = Vec::new();
    for (i, r) in regs.into_iter().enumerate() {
        let h = db.reopen();
        r(&h);
        ids.push(generate(&h, dir, &format!("s{i}"), i as u32 + 1).id());
        if i < 3 {
            apply(&old, dir);
        }
    }
    // `old` applied the first three; squash them.
    let squashed = match old
        .squash_migrations(dir, &ids[0], &ids[2], "squashed")
        .unwrap()
    {
        Generated::Written { plan, .. } => *plan,
        other => panic!("{other:?}"),
    };
    assert_eq!(squashed.replaces, ids[..3]);
    assert!(!dir.join(&ids[0]).exists());
    let r = apply(&old, dir);
    assert_eq!(r.recorded, [squashed.id()]);
    assert_eq!(r.ids(), [ids[3].clone()]);
    let h = db.reopen();
    h.register::<V4>().unwrap();
    h.check().unwrap();
    // A fresh schema runs the squash itself: down to nothing, up again.
    h.downgrade(&files(dir), "0", high()).unwrap();
    assert_eq!(row_count_tables(&h), 0);
    let r = apply(&h, dir);
    assert_eq!(r.ids(), [squashed.id(), ids[3].clone()]);
    h.check().unwrap();
}

pub fn a_no_transaction_migration_runs_statement_by_statement(db: &TestBackend) {
    use evo::V1;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let h = db.reopen();
    h.register::<V1>().unwrap();
    generate(&h, dir, "start", 1);
    apply(&h, dir);
    let concurrently = if h.capabilities().online_index_builds {
        "CONCURRENTLY "
    } else {
        ""
    };
    let first = files(dir).plans().unwrap().remove(0);
    let first_id = first.id();
    let m = dir.join("20260101000200_by_hand");
    std::fs::create_dir(&m).unwrap();
    let up = format!(
        "-- dataflow:no-transaction\nCREATE INDEX {concurrently}ix_evo_name_by_hand ON evo (name);\nCREATE INDEX {concurrently}ix_evo_id_name_by_hand ON evo (id, name);\n"
    );
    assert!(no_transaction(&up));
    std::fs::write(m.join("up.sql"), &up).unwrap();
    std::fs::write(
        m.join("down.sql"),
        format!("-- dataflow:no-transaction\nDROP INDEX {concurrently}ix_evo_name_by_hand;\nDROP INDEX {concurrently}ix_evo_id_name_by_hand;\n"),
    )
    .unwrap();
    let plan = dataflow_core::MigrationPlan {
        version: "20260101000200".into(),
        name: "by_hand".into(),
        parents: vec![first_id.clone()],
        steps: Vec::new(),
        ..first
    };
    std::fs::write(m.join("plan.json"), plan.to_json().unwrap()).unwrap();
    let r = apply(&h, dir);
    assert_eq!(r.ids(), ["20260101000200_by_hand"]);
    let live = h.describe().unwrap();
    let names: Vec<&str> = live.tables["evo"]
        .indexes
        .iter()
        .map(|i| i.name.as_str())
        .collect();
    assert!(names.contains(&"ix_evo_name_by_hand"), "{names:?}");
    h.downgrade(&files(dir), &first_id, high()).unwrap();
    assert!(h.describe().unwrap().tables["evo"].indexes.is_empty());
}

pub fn generated_files_are_deterministic_and_an_empty_diff_writes_nothing(db: &TestBackend) {
    let one = tempfile::tempdir().unwrap();
    let two = tempfile::tempdir().unwrap();
    let h = db.reopen();
    h.register_all(models![evo::V9, evo::Kid]).unwrap();
    let a = generate(&h, one.path(), "all", 1);
    let b = generate(&h, two.path(), "all", 1);
    for f in ["up.sql", "down.sql", "plan.json"] {
        assert_eq!(
            std::fs::read(one.path().join(a.id()).join(f)).unwrap(),
            std::fs::read(two.path().join(b.id()).join(f)).unwrap(),
            "{f}"
        );
    }
    assert_eq!(
        h.generate_migration(one.path(), "again").unwrap(),
        Generated::UpToDate
    );
    assert_eq!(std::fs::read_dir(one.path()).unwrap().count(), 1);
    // A migration for another backend is refused, naming both.
    let plan_json = one.path().join(a.id()).join("plan.json");
    let text = std::fs::read_to_string(&plan_json).unwrap();
    let other = if h.dialect().name() == "sqlite" {
        "postgres"
    } else {
        "sqlite"
    };
    std::fs::write(
        &plan_json,
        text.replace(
            &format!("\"dialect\": \"{}\"", h.dialect().name()),
            &format!("\"dialect\": \"{other}\""),
        ),
    )
    .unwrap();
    let e = h
        .apply_migrations(&files(one.path()), high())
        .unwrap_err()
        .to_string();
    assert!(e.contains(other) && e.contains(h.dialect().name()), "{e}");
}

pub fn baseline_switches_an_auto_migrated_database_to_files(db: &TestBackend) {
    use evo::{V1, V2};
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let h = db.reopen();
    h.register::<V1>().unwrap();
    h.auto_migrate(MigrateOptions::default()).unwrap();
    V1::create(
        &h,
        V1 {
            id: 0,
            name: "kept".into(),
        },
    )
    .unwrap();
    let base = match h
        .baseline_with(dir, "baseline", GenerateOptions::default().at(at(1)))
        .unwrap()
    {
        Generated::Written { plan, .. } => *plan,
        other => panic!("{other:?}"),
    };
    assert!(base.schema.tables.contains_key("evo"));
    // Recorded, not run: applying finds nothing to do and the row stays.
    assert!(apply(&h, dir).is_empty());
    assert_eq!(row_count(&h, "evo"), 1);
    let h2 = db.reopen();
    h2.register::<V2>().unwrap();
    generate(&h2, dir, "nick", 2);
    assert_eq!(apply(&h2, dir).ids().len(), 1);
    h2.check().unwrap();
    assert!(h.baseline(dir, "again").is_err());
}
