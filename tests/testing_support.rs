//! `#[dataflow_core::test]` and `TestDb`: a private, migrated database per test,
//! with fixtures, on SQLite and PostgreSQL, in parallel without interference.

use dataflow_core::prelude::*;

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "people")]
struct Person {
    id: i64,
    name: String,
    age: Option<i32>,
    #[dataflow(unique)]
    email: Option<String>,
}

fn person(name: &str) -> Person {
    Person {
        id: 0,
        name: name.into(),
        age: None,
        email: None,
    }
}

#[dataflow_core::test(models(Person), fixtures("tests/fixtures/attr_people.json"))]
fn lists_adults(db: DataFlow) -> Result<(), Error> {
    assert_eq!(Person::list(&db).filter(Person::AGE.ge(18)).count()?, 2);
    // Explicit fixture ids are kept and later keys do not collide.
    let new = Person::create(&db, person("Dee"))?;
    assert!(new.id > 3, "{}", new.id);
    Ok(())
}

#[dataflow_core::test(
    models(Person),
    fixtures("tests/fixtures/attr_people.json"),
    backends(sqlite, postgres)
)]
fn same_body_on_every_backend(db: DataFlow) {
    let cid = Person::read(&db, 3).unwrap().unwrap();
    assert_eq!(cid.email.as_deref(), Some("cid@example.org"));
    assert!(matches!(
        Person::create(
            &db,
            Person {
                email: Some("cid@example.org".into()),
                ..person("X")
            }
        ),
        Err(Error::UniqueViolation { .. })
    ));
    // The failed insert did not poison the connection (a test transaction on PG).
    assert_eq!(Person::list(&db).count().unwrap(), 3);
}

#[dataflow_core::test(
    models(Person),
    fixtures("tests/fixtures/attr_people.json"),
    backends(postgres),
    isolation = "transaction"
)]
fn transaction_mode_sees_fixtures_and_its_own_writes(db: DataFlow) {
    Person::create(&db, person("Tx")).unwrap();
    assert_eq!(Person::list(&db).count().unwrap(), 4);
}

#[dataflow_core::test(
    models(Person),
    fixtures("tests/fixtures/attr_people.json"),
    backends(sqlite, postgres),
    isolation = "transaction"
)]
fn user_transactions_nest_inside_the_test_transaction(db: DataFlow) {
    db.transaction(|tx| Person::create(tx, person("Kept")))
        .unwrap();
    let dropped: Result<(), Error> = db.transaction(|tx| {
        Person::create(tx, person("Dropped"))?;
        Err(Error::InvalidInput("undo".into()))
    });
    assert!(dropped.is_err());
    let mut names: Vec<String> = Person::list(&db)
        .all()
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    names.retain(|n| n == "Kept" || n == "Dropped");
    assert_eq!(names, ["Kept"]);
    assert_eq!(Person::list(&db).count().unwrap(), 4);
}

/// 16 tests writing at once: each must see only the fixtures and its own row,
/// in every backend and isolation mode.
macro_rules! isolated {
    ($($name:ident),*) => {
        $(
            #[dataflow_core::test(models(Person), fixtures("tests/fixtures/attr_people.json"), backends(sqlite, postgres))]
            fn $name(db: DataFlow) {
                let me = Person::create(&db, person(stringify!($name))).unwrap();
                std::thread::sleep(std::time::Duration::from_millis(20));
                let names: Vec<String> = Person::list(&db).all().unwrap().into_iter().map(|p| p.name).collect();
                assert_eq!(names.len(), 4, "{names:?}");
                assert!(names.contains(&me.name));
            }
        )*
        mod in_transaction {
            use super::*;
            $(
                #[dataflow_core::test(models(Person), fixtures("tests/fixtures/attr_people.json"), backends(postgres), isolation = "transaction")]
                fn $name(db: DataFlow) {
                    Person::create(&db, person(stringify!($name))).unwrap();
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    assert_eq!(Person::list(&db).count().unwrap(), 4);
                }
            )*
        }
    };
}

isolated!(p01, p02, p03, p04, p05, p06, p07, p08, p09, p10, p11, p12, p13, p14, p15, p16);

#[test]
fn a_broken_fixture_names_file_table_row_and_field() {
    let err = dataflow_sqlite::testing::TestDb::builder()
        .model::<Person>()
        .fixtures(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/attr_people_bad.json"
        ))
        .build()
        .unwrap_err();
    let msg = err.to_string();
    for part in ["attr_people_bad.json", "people", "1", "age"] {
        assert!(msg.contains(part), "{part:?} missing from: {msg}");
    }
    assert!(matches!(err, Error::InvalidInput(_)));
}

#[test]
fn the_file_is_removed_on_drop_and_kept_when_the_test_panics() {
    let db = dataflow_sqlite::testing::TestDb::builder()
        .model::<Person>()
        .build()
        .unwrap();
    let path = db.path().to_path_buf();
    assert!(path.exists());
    drop(db);
    assert!(!path.exists());

    let kept = std::thread::spawn(|| {
        let db = dataflow_sqlite::testing::TestDb::builder()
            .model::<Person>()
            .build()
            .unwrap();
        let path = db.path().to_path_buf();
        std::panic::set_hook(Box::new(|_| {}));
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let _db = db;
            panic!("test failure");
        }));
        let _ = std::panic::take_hook();
        path
    })
    .join()
    .unwrap();
    assert!(kept.exists(), "a failed test keeps its database");
    std::fs::remove_file(&kept).unwrap();
}

#[test]
fn a_changed_model_set_gets_its_own_template() {
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "people")]
    struct PersonV2 {
        id: i64,
        name: String,
        nickname: Option<String>,
    }
    let a = dataflow_sqlite::testing::TestDb::builder()
        .model::<Person>()
        .build()
        .unwrap();
    let b = dataflow_sqlite::testing::TestDb::builder()
        .model::<PersonV2>()
        .build()
        .unwrap();
    a.check().unwrap();
    b.check().unwrap();
    PersonV2::create(
        &b,
        PersonV2 {
            id: 0,
            name: "n".into(),
            nickname: Some("x".into()),
        },
    )
    .unwrap();
}

// Run by `a_failing_result_points_at_the_test`, not on its own.
#[dataflow_core::test(models(Person))]
#[ignore = "fails on purpose; called by a_failing_result_points_at_the_test"]
fn fails_with_an_error(db: DataFlow) -> Result<(), Error> {
    Person::list(&db).count()?;
    Err(Error::InvalidInput("on purpose".into()))
}

/// The line of `fn fails_with_an_error` above.
const FAILING_FN_LINE: u32 = line!() - 6;

#[test]
fn a_failing_result_points_at_the_test() {
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<Option<(String, u32, String)>>> = Arc::default();
    let hook = std::panic::take_hook();
    let s = seen.clone();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        *s.lock().unwrap() = info
            .location()
            .map(|l| (l.file().to_owned(), l.line(), message));
    }));
    let r = std::panic::catch_unwind(fails_with_an_error);
    std::panic::set_hook(hook);
    assert!(r.is_err(), "the test body's error fails the test");
    let (file, line, message) = seen.lock().unwrap().clone().expect("a panic location");
    assert!(file.ends_with("testing_support.rs"), "{file}:{line}");
    assert_eq!(line, FAILING_FN_LINE, "{file}:{line}");
    assert!(message.contains("on purpose"), "{message}");
}
