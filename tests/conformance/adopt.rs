//! Databases dataflow did not create: existing-schema mode never alters them
//! and CRUD works on their tables; `adopt` hands over only the tables named;
//! and [`round_trip`], the harness of each backend's corpus of hand-written
//! schemas (models generated from the database, then `plan()` empty).

use dataflow_core::introspect::{generate_models, IntrospectOptions};
use dataflow_core::model::descriptor::ModelDescriptor;
use dataflow_core::prelude::*;

use crate::TestBackend;

/// A hand-written table dataflow did not create, per backend: a key the
/// database assigns (a rowid alias on SQLite, `bigserial` on PostgreSQL), an
/// extra column the model leaves out, and a CHECK constraint.
fn legacy_ddl(db: &DataFlow, table: &str) -> String {
    let key = if db.dialect().name() == "postgres" {
        "id BIGSERIAL PRIMARY KEY"
    } else {
        "id INTEGER PRIMARY KEY"
    };
    format!(
        "CREATE TABLE {table} ({key}, name VARCHAR(80) NOT NULL, note TEXT, \
         legacy_flag INTEGER NOT NULL DEFAULT 0, CHECK (length(name) > 0))"
    )
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "legacy_accounts")]
pub struct LegacyAccount {
    pub id: i64,
    #[dataflow(max_length = 80)]
    pub name: String,
    pub note: Option<String>,
}

/// A model that cannot work on `legacy_accounts`: a missing column, a field
/// that is not an `Option` over a column that allows NULL, a narrower type.
#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "legacy_accounts")]
pub struct StrictAccount {
    pub id: i32,
    pub name: String,
    pub note: String,
    pub email: Option<String>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "legacy_a")]
#[dataflow(check(name = "legacy_a_name_check", expr = "length(name) > 0"))]
pub struct LegacyA {
    pub id: i64,
    #[dataflow(max_length = 80)]
    pub name: String,
    pub note: Option<String>,
    #[dataflow(default = 0)]
    pub legacy_flag: i32,
}

/// `LegacyA` one release later: a nullable column added.
#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "legacy_a")]
#[dataflow(check(name = "legacy_a_name_check", expr = "length(name) > 0"))]
pub struct LegacyAV2 {
    pub id: i64,
    #[dataflow(max_length = 80)]
    pub name: String,
    pub note: Option<String>,
    #[dataflow(default = 0)]
    pub legacy_flag: i32,
    pub rating: Option<i32>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "legacy_b")]
#[dataflow(check(name = "legacy_b_name_check", expr = "length(name) > 0"))]
pub struct LegacyB {
    pub id: i64,
    #[dataflow(max_length = 80)]
    pub name: String,
    pub note: Option<String>,
    #[dataflow(default = 0)]
    pub legacy_flag: i32,
}

fn has_history(db: &DataFlow) -> bool {
    db.with_conn(|c| db.describer().has_table(c, "_dataflow_migrations"))
        .expect("has_table")
}

pub fn existing_schema_never_alters_and_crud_works(db: &TestBackend) {
    let h = db.reopen();
    let had_history = has_history(&h);
    h.with_conn(|c| c.batch_execute(&legacy_ddl(&h, "legacy_accounts")))
        .expect("ddl");
    h.register::<LegacyAccount>().expect("register");
    let before = h.describe().expect("describe");
    let report = h
        .auto_migrate(MigrateOptions::default().existing_schema(true))
        .expect("compatible");
    assert!(!report.applied);
    // The plan names what differs without doing it: the column the model
    // leaves out would be dropped by an ordinary migration.
    assert!(report
        .steps
        .iter()
        .all(|s| s.table == "legacy_accounts" || s.operation == Operation::CreateTable));
    assert_eq!(h.describe().expect("describe"), before, "nothing altered");
    assert_eq!(has_history(&h), had_history, "no dataflow table created");

    let ann = LegacyAccount::create(
        &h,
        LegacyAccount {
            id: 0,
            name: "Ann".into(),
            note: None,
        },
    )
    .expect("create");
    assert!(ann.id > 0, "the database assigned the key");
    let bob = LegacyAccount::create(
        &h,
        LegacyAccount {
            id: 0,
            name: "Bob".into(),
            note: Some("x".into()),
        },
    )
    .expect("create");
    assert_ne!(ann.id, bob.id);
    assert_eq!(
        LegacyAccount::read(&h, ann.id).expect("read"),
        Some(ann.clone())
    );
    LegacyAccount::update(
        &h,
        ann.id,
        LegacyAccountPatch {
            note: Some(Some("updated".into())),
            ..Default::default()
        },
    )
    .expect("update");
    let listed = LegacyAccount::list(&h)
        .order_by(LegacyAccount::NAME.asc())
        .all()
        .expect("list");
    assert_eq!(
        listed.iter().map(|a| a.note.as_deref()).collect::<Vec<_>>(),
        [Some("updated"), Some("x")]
    );
    LegacyAccount::delete(&h, bob.id).expect("delete");
    assert_eq!(LegacyAccount::list(&h).count().expect("count"), 1);
    // The CHECK constraint the model does not know is still the database's.
    let bad = LegacyAccount::create(
        &h,
        LegacyAccount {
            id: 0,
            name: String::new(),
            note: None,
        },
    );
    assert!(bad.is_err(), "{bad:?}");
    assert_eq!(h.describe().expect("describe"), before);
}

pub fn existing_schema_reports_incompatible_models(db: &TestBackend) {
    let h = db.reopen();
    h.with_conn(|c| c.batch_execute(&legacy_ddl(&h, "legacy_accounts")))
        .expect("ddl");
    h.register::<StrictAccount>().expect("register");
    let before = h.describe().expect("describe");
    let err = h
        .auto_migrate(MigrateOptions::default().existing_schema(true))
        .expect_err("incompatible");
    let Error::Drift { differences } = err else {
        panic!("expected Drift, got {err:?}");
    };
    // On SQLite an auto-increment key is the 64-bit rowid whatever the
    // field's width, so `id: i32` is a problem on PostgreSQL only.
    let key = usize::from(h.dialect().name() == "postgres");
    assert_eq!(differences.len(), 2 + key, "{differences:#?}");
    if key == 1 {
        assert!(
            differences[0].contains(
                "legacy_accounts.id: the column is bigint in the database, the field is int"
            ),
            "{differences:#?}"
        );
    }
    assert!(differences[key].contains("legacy_accounts.note: the column allows NULL"));
    assert!(differences[key + 1].contains("legacy_accounts.email: the column does not exist"));
    assert_eq!(h.describe().expect("describe"), before, "nothing altered");
}

pub fn adopt_hands_over_only_the_tables_named(db: &TestBackend) {
    let h = db.reopen();
    for t in ["legacy_a", "legacy_b"] {
        h.with_conn(|c| c.batch_execute(&legacy_ddl(&h, t)))
            .expect("ddl");
    }
    h.register::<LegacyA>().expect("register");
    h.register::<LegacyB>().expect("register");
    assert!(h.plan().expect("plan").steps.is_empty());
    let before = h.describe().expect("describe");

    let report = h.adopt(["legacy_a"]).expect("adopt");
    assert!(report.applied);
    assert!(report.steps.is_empty());
    let history = h.migration_history().expect("history");
    let last = history.last().expect("a baseline");
    assert_eq!(last.name, "adopt legacy_a");
    assert_eq!(Some(&last.version), report.version.as_ref());
    assert!(last.steps.is_empty());
    assert_eq!(h.describe().expect("describe"), before, "nothing altered");
    assert!(!h.adopt(["legacy_a"]).expect("again").applied, "idempotent");
    let missing = h.adopt(["no_such_table"]).expect_err("missing");
    assert!(matches!(missing, Error::InvalidInput(_)), "{missing:?}");

    // A process whose models no longer include either table, declaring its
    // model set complete: only the adopted table may be dropped.
    let other = db.reopen();
    let plan = other
        .auto_migrate(MigrateOptions::default().prune(true).dry_run(true))
        .expect("plan");
    let dropped: Vec<&str> = plan
        .steps
        .iter()
        .filter(|s| s.operation == Operation::DropTable)
        .map(|s| s.table.as_str())
        .collect();
    assert!(dropped.contains(&"legacy_a"), "{dropped:?}");
    assert!(!dropped.contains(&"legacy_b"), "{dropped:?}");
    assert!(plan.unmanaged_tables.contains(&"legacy_b".to_owned()));

    // A model change migrates the adopted table as usual.
    let next = db.reopen();
    next.register::<LegacyAV2>().expect("register");
    let applied = next
        .auto_migrate(MigrateOptions::default())
        .expect("migrate");
    assert!(applied.applied);
    assert_eq!(applied.steps.len(), 1);
    assert_eq!(applied.steps[0].operation, Operation::AddColumn);
    assert_eq!(applied.steps[0].table, "legacy_a");
}

pub fn adopt_refuses_tables_the_models_do_not_match(db: &TestBackend) {
    let h = db.reopen();
    h.with_conn(|c| c.batch_execute(&legacy_ddl(&h, "legacy_accounts")))
        .expect("ddl");
    // The model leaves `legacy_flag` out: a plan would drop it.
    h.register::<LegacyAccount>().expect("register");
    let err = h.adopt(["legacy_accounts"]).expect_err("refused");
    let Error::Drift { differences } = err else {
        panic!("expected Drift, got {err:?}");
    };
    assert!(
        differences[0].contains("legacy_accounts"),
        "{differences:?}"
    );
    assert!(!h
        .migration_history()
        .expect("history")
        .iter()
        .any(|m| m.name.starts_with("adopt")));
}

pub fn cli_pulls_checks_and_adopts(db: &TestBackend) {
    use dataflow_core::cli::{App, EXIT_OK, EXIT_PENDING};
    let run_from = |args: &[&str], models: &[&'static ModelDescriptor]| {
        App::new(models).run_from(args.iter().copied(), |_, _| Ok(db.reopen()))
    };
    let h = db.reopen();
    h.with_conn(|c| c.batch_execute(&legacy_ddl(&h, "legacy_accounts")))
        .expect("ddl");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("models.rs");
    let out_arg = out.to_str().expect("utf-8 path");
    let args = [
        "migrate",
        "pull",
        "--table",
        "legacy_accounts",
        "-o",
        out_arg,
    ];
    assert_eq!(run_from(&args, &[]), EXIT_OK);
    let source = std::fs::read_to_string(&out).expect("written");
    assert!(source.contains("pub struct LegacyAccount {"), "{source}");

    let check = ["migrate", "check", "--existing-schema"];
    let fits: &[&'static ModelDescriptor] = dataflow_core::models![LegacyAccount];
    assert_eq!(run_from(&check, fits), EXIT_OK);
    let strict: &[&'static ModelDescriptor] = dataflow_core::models![StrictAccount];
    assert_eq!(run_from(&check, strict), EXIT_PENDING);

    let adopt = ["migrate", "adopt", "legacy_accounts"];
    assert_eq!(run_from(&adopt, &[]), EXIT_OK);
    let history = h.migration_history().expect("history");
    assert_eq!(
        history.last().map(|m| m.name.as_str()),
        Some("adopt legacy_accounts")
    );
}

/// One hand-written schema of a backend's corpus.
pub struct Case {
    /// The schema's name (its files are `<name>.sql` and `<name>.rs`).
    pub name: &'static str,
    /// The DDL that builds it.
    pub ddl: &'static str,
    /// The models generated from it, compiled into the test (`<name>.rs`).
    pub models: &'static [&'static ModelDescriptor],
    /// The text of `<name>.rs`, which the generator must write again.
    pub generated: &'static str,
    /// Where `<name>.rs` is, rewritten when `DATAFLOW_BLESS` is set.
    pub path: String,
    /// Tables on which `plan()` has steps, each explained by a comment of the
    /// generated code that says what `plan()` proposes.
    pub explained: &'static [&'static str],
}

/// Builds a case's schema in `db` (a fresh database), generates its models and
/// checks: the generated source is the compiled one (`<name>.rs`; rewritten
/// under `DATAFLOW_BLESS=1`); registering the compiled models, `plan()` has no
/// step except on the tables the case lists as explained (and the source says
/// what `plan()` proposes there); existing-schema mode accepts the models; and
/// nothing of this altered the database.
pub fn round_trip(db: &DataFlow, case: &Case) {
    db.with_conn(|c| c.batch_execute(case.ddl))
        .unwrap_or_else(|e| panic!("{}: ddl: {e}", case.name));
    let source = generate_models(db, IntrospectOptions::default())
        .unwrap_or_else(|e| panic!("{}: generate: {e}", case.name));
    if std::env::var_os("DATAFLOW_BLESS").is_some() {
        std::fs::write(&case.path, &source).expect("bless");
        return;
    }
    assert_eq!(
        source, case.generated,
        "{}: the generated models differ from {} (DATAFLOW_BLESS=1 rewrites it)",
        case.name, case.path
    );
    let before = db.describe().expect("describe");
    db.register_all(case.models).expect("register");
    let plan = db.plan().expect("plan");
    for s in &plan.steps {
        assert!(
            case.explained.contains(&s.table.as_str()),
            "{}: unexpected step {} {} ({})",
            case.name,
            s.operation,
            s.table,
            s.detail
        );
    }
    for t in case.explained {
        assert!(
            plan.steps.iter().any(|s| s.table == *t),
            "{}: no step on {t}",
            case.name
        );
    }
    if !case.explained.is_empty() {
        assert!(source.contains("plan() proposes"), "{}", case.name);
    }
    if case.explained.is_empty() {
        db.auto_migrate(MigrateOptions::default().existing_schema(true))
            .unwrap_or_else(|e| panic!("{}: existing schema: {e}", case.name));
    }
    assert_eq!(db.describe().expect("describe"), before, "{}", case.name);
}

pub fn generate_models_names_missing_tables(db: &TestBackend) {
    let h = db.reopen();
    h.with_conn(|c| c.batch_execute(&legacy_ddl(&h, "legacy_accounts")))
        .expect("ddl");
    let only = generate_models(&h, IntrospectOptions::default().tables(["legacy_accounts"]))
        .expect("generate");
    assert!(only.contains("pub struct LegacyAccount {"), "{only}");
    assert!(only.contains("pub legacy_flag: i32,"), "{only}");
    assert!(
        only.contains("check(name = \"legacy_accounts_name_check\", expr = ")
            && only.contains("> 0"),
        "the CHECK is declared under the name PostgreSQL gives it: {only}"
    );
    assert_eq!(
        only.matches("#[derive(Model").count(),
        1,
        "only the table asked for: {only}"
    );
    let err = generate_models(&h, IntrospectOptions::default().tables(["nope"]))
        .expect_err("missing table");
    assert!(
        matches!(&err, Error::InvalidInput(m) if m.contains("nope")),
        "{err:?}"
    );
}

/// Declares a backend's corpus test: `adopt_corpus!(hook; shop; blog;
/// nullable_key explained("kv");)` in `<backend>/tests/adopt.rs` compiles
/// `tests/adopt/<name>.rs` into a module and declares `#[test] fn <name>`,
/// which runs [`round_trip`] on a fresh database from `hook()` (an
/// `Option<impl Deref<Target = DataFlow>>`; `None` skips).
#[macro_export]
macro_rules! adopt_corpus {
    ($hook:path; $($name:ident $(explained($($t:literal),*))?;)*) => {
        $(
            #[allow(dead_code, clippy::all)]
            mod $name {
                include!(concat!("adopt/", stringify!($name), ".rs"));
            }
            #[test]
            fn $name() {
                let ::core::option::Option::Some(db) = $hook() else {
                    return;
                };
                $crate::adopt::round_trip(&db, &$crate::adopt::Case {
                    name: stringify!($name),
                    ddl: include_str!(concat!("adopt/", stringify!($name), ".sql")),
                    models: $name::MODELS,
                    generated: include_str!(concat!("adopt/", stringify!($name), ".rs")),
                    path: concat!(env!("CARGO_MANIFEST_DIR"), "/tests/adopt/", stringify!($name), ".rs").to_owned(),
                    explained: &[$($($t),*)?],
                });
            }
        )*
    };
}
