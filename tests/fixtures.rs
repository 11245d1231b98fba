//! Fixtures: `dataflow_core::testing::{load_fixtures, load_fixture_files,
//! dump_fixtures}` on every backend. PostgreSQL scenarios read `DATABASE_URL` and
//! run in a private schema each (under `CI=true` a missing URL fails them).

use std::ops::Deref;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use dataflow_core::prelude::*;
use dataflow_core::testing::{dump_fixtures, load_fixture_files, load_fixtures};
use rust_decimal::Decimal;
use uuid::Uuid;

/// The models of these tests.
mod models {
    use super::*;

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "users")]
    pub struct User {
        pub id: i64,
        pub name: String,
        #[dataflow(unique, max_length = 255)]
        pub email: String,
        pub age: Option<i32>,
        #[dataflow(default = true)]
        pub is_active: bool,
    }

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "posts", timestamps)]
    #[dataflow(foreign_key(field = "user_id", references = "users(id)", on_delete = "cascade"))]
    pub struct Post {
        pub id: i64,
        pub user_id: i64,
        pub title: String,
        #[dataflow(column = "body_text")]
        pub body: Option<String>,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }

    /// Soft delete with an undeclared `deleted_at`.
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "comments", soft_delete)]
    #[dataflow(foreign_key(field = "post_id", references = "posts(id)"))]
    pub struct Comment {
        pub id: i64,
        pub post_id: i64,
        pub text: String,
    }

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "tags")]
    pub struct Tag {
        #[dataflow(primary_key)]
        pub code: String,
        pub label: String,
    }

    /// Several types, for the dump → load property.
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "samples")]
    pub struct Sample {
        pub id: i64,
        pub small: i16,
        pub int: i32,
        pub single: f32,
        pub double: f64,
        pub flag: bool,
        pub text: String,
        pub bytes: Vec<u8>,
        pub date: NaiveDate,
        pub ts: NaiveDateTime,
        pub tstz: DateTime<Utc>,
        pub uuid: Uuid,
        pub json: serde_json::Value,
        pub dec: Decimal,
        pub o_text: Option<String>,
        pub o_big: Option<i64>,
        pub o_json: Option<serde_json::Value>,
        pub o_tstz: Option<DateTime<Utc>>,
    }
}
use models::*;

// ---------------------------------------------------------------------------
// One fresh, migrated database per call.

struct TestDb {
    db: DataFlow,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(DataFlow, String)>,
}

impl Deref for TestDb {
    type Target = DataFlow;
    fn deref(&self) -> &DataFlow {
        &self.db
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.pg {
            let sql = format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE");
            if let Err(e) = admin.with_conn(|c| c.batch_execute(&sql)) {
                eprintln!("could not drop test schema {name}: {e}");
            }
        }
    }
}

fn migrate(db: &DataFlow) {
    db.register_all(models![User, Post, Comment, Tag, Sample])
        .expect("register");
    db.auto_migrate(MigrateOptions::default()).expect("migrate");
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Sqlite,
    Postgres,
}

/// A fresh database of `kind`, or `None` when PostgreSQL is not configured
/// (locally; under `CI=true` that panics).
fn fresh(kind: Kind) -> Option<TestDb> {
    match kind {
        Kind::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let db = dataflow_sqlite::open(dir.path().join("test.db")).expect("open sqlite");
            migrate(&db);
            Some(TestDb {
                db,
                _dir: Some(dir),
                pg: None,
            })
        }
        Kind::Postgres => {
            let url = dataflow_postgres::testing::server_url()?;
            static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let name = format!(
                "df_fix_{}_{}_{}",
                std::process::id(),
                N.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.subsec_nanos())
                    .unwrap_or(0)
            );
            let admin = dataflow_postgres::PgOptions::new(url.as_str())
                .pool_size(1)
                .connect()
                .expect("connect to DATABASE_URL");
            admin
                .with_conn(|c| c.batch_execute(&format!("CREATE SCHEMA \"{name}\"")))
                .expect("create test schema");
            let sep = if url.contains('?') { '&' } else { '?' };
            let url = format!("{url}{sep}options=-csearch_path%3D{name}");
            let db = dataflow_postgres::PgOptions::new(url.as_str())
                .pool_size(2)
                .connect()
                .expect("connect to test schema");
            let t = TestDb {
                db,
                _dir: None,
                pg: Some((admin, name)),
            };
            migrate(&t);
            Some(t)
        }
    }
}

/// Declares `sqlite::name` and `postgres::name` for each scenario `fn name(Kind)`.
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $name() { super::$name(super::Kind::Sqlite) })*
        }
        mod postgres {
            $(#[test] fn $name() { super::$name(super::Kind::Postgres) })*
        }
    };
}

on_every_backend!(
    loads_in_foreign_key_order_whatever_the_file_order,
    explicit_keys_are_kept_and_later_creates_continue_above_them,
    unknown_table_is_refused,
    unknown_field_is_refused,
    wrong_value_type_is_refused,
    missing_required_field_is_refused,
    foreign_key_to_missing_row_is_refused,
    duplicate_unique_value_is_refused,
    duplicate_primary_key_is_refused,
    malformed_json_is_refused,
    bad_row_deep_in_a_large_fixture_is_found,
    later_bad_file_rolls_back_earlier_files,
    sql_fixture_runs_verbatim,
    dump_then_load_gives_equal_rows,
    dump_then_load_random_rows,
    table_given_twice_is_refused,
    field_given_twice_is_refused,
    transaction_control_in_sql_fixture_is_refused,
    transaction_words_in_strings_and_comments_are_data,
);

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Row counts of every table (soft-deleted rows included).
fn counts(db: &DataFlow) -> [i64; 5] {
    [
        User::list(db).count().unwrap(),
        Post::list(db).count().unwrap(),
        Comment::list(db).with_deleted().count().unwrap(),
        Tag::list(db).count().unwrap(),
        Sample::list(db).count().unwrap(),
    ]
}

// ---------------------------------------------------------------------------
// Loading

fn loads_in_foreign_key_order_whatever_the_file_order(kind: Kind) {
    let Some(db) = fresh(kind) else { return };
    let before = Utc::now() - chrono::Duration::seconds(5);
    // extras.json (comments → posts) comes before blog.json (posts before users).
    let n = load_fixture_files(&db, &[fixture("extras.json"), fixture("blog.json")]).unwrap();
    assert_eq!(n, 12);
    assert_eq!(counts(&db), [4, 3, 3, 2, 0]);

    let users = User::list(&db).order_by(User::ID.asc()).all().unwrap();
    assert_eq!(
        users.iter().map(|u| u.id).collect::<Vec<_>>()[..3],
        [1, 2, 5]
    );
    let dee = &users[3];
    assert!(
        dee.id > 5,
        "generated key {} must follow explicit ones",
        dee.id
    );
    assert_eq!((dee.name.as_str(), dee.age), ("Dee", Some(45)));
    // Declared default, and NULL for a nullable field left out.
    assert!(users[0].is_active && !users[1].is_active && users[2].is_active);
    assert_eq!(users[2].age, None);
    assert_eq!(User::list(&db).filter(User::AGE.ge(18)).count().unwrap(), 2);

    let posts = Post::list(&db).order_by(Post::ID.asc()).all().unwrap();
    assert_eq!(posts[0].body.as_deref(), Some("Body by field name"));
    assert_eq!(posts[1].body.as_deref(), Some("Body by column name"));
    assert_eq!(posts[2].body, None);
    // Managed timestamps: given ones kept, missing ones set to now.
    assert_eq!(
        posts[1].created_at,
        "2024-01-02T03:04:05.123456Z"
            .parse::<DateTime<Utc>>()
            .unwrap()
    );
    assert_eq!(
        posts[1].updated_at,
        "2024-01-03T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    assert!(posts[0].created_at >= before && posts[0].updated_at >= before);

    // The comment with a `deleted_at` is soft-deleted, the others are live.
    assert_eq!(Comment::list(&db).count().unwrap(), 2);
    assert!(Comment::read(&db, 2).unwrap().is_none());
    assert_eq!(
        Tag::read(&db, "rust".to_owned()).unwrap().unwrap().label,
        "Rust"
    );
}

fn explicit_keys_are_kept_and_later_creates_continue_above_them(kind: Kind) {
    let Some(db) = fresh(kind) else { return };
    load_fixtures(&db, fixture("blog.json")).unwrap();
    let max_user = User::list(&db)
        .order_by(User::ID.desc())
        .first()
        .unwrap()
        .unwrap()
        .id;
    let eve = User::create(
        &db,
        User {
            id: 0,
            name: "Eve".into(),
            email: "eve@example.org".into(),
            age: None,
            is_active: true,
        },
    )
    .unwrap();
    assert!(eve.id > max_user, "{} must be above {max_user}", eve.id);
    let post = Post::create(
        &db,
        Post {
            id: 0,
            user_id: eve.id,
            title: "New".into(),
            body: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        },
    )
    .unwrap();
    assert!(post.id > 3, "{}", post.id);
}

/// Loads `file`, expecting `Error::InvalidInput` containing every one of `parts`,
/// and checks that nothing was loaded.
fn refused(kind: Kind, file: &str, parts: &[&str]) {
    let Some(db) = fresh(kind) else { return };
    let path = fixture(file);
    let err = load_fixtures(&db, &path).expect_err("a bad fixture must be refused");
    let Error::InvalidInput(message) = &err else {
        panic!("expected InvalidInput, got {err:?}");
    };
    assert!(
        message.contains(&path.display().to_string()),
        "the message names the file: {message}"
    );
    for part in parts {
        assert!(message.contains(part), "{part:?} not in: {message}");
    }
    assert_eq!(counts(&db), [0; 5], "nothing may be loaded");
}

fn unknown_table_is_refused(kind: Kind) {
    refused(
        kind,
        "bad_unknown_table.json",
        &[
            "table \"nope\": no registered model has this table",
            "users",
        ],
    );
}

fn unknown_field_is_refused(kind: Kind) {
    refused(
        kind,
        "bad_unknown_field.json",
        &["table \"users\", row index 1, field \"nmae\": unknown field of model User"],
    );
}

fn wrong_value_type_is_refused(kind: Kind) {
    refused(
        kind,
        "bad_wrong_type.json",
        &["table \"users\", row index 2, field \"age\": expected an integer (int), found the string \"thirty\""],
    );
}

fn missing_required_field_is_refused(kind: Kind) {
    refused(
        kind,
        "bad_missing_field.json",
        &["table \"users\", row index 1, field \"email\": missing required field"],
    );
}

fn foreign_key_to_missing_row_is_refused(kind: Kind) {
    refused(
        kind,
        "bad_foreign_key.json",
        &["table \"posts\", row index 1, field \"user_id\": foreign key violated: no row in users with id = 99"],
    );
}

fn duplicate_unique_value_is_refused(kind: Kind) {
    refused(
        kind,
        "bad_duplicate_unique.json",
        &["table \"users\", row index 2, field \"email\": duplicate value \"ann@example.org\""],
    );
}

fn duplicate_primary_key_is_refused(kind: Kind) {
    let Some(db) = fresh(kind) else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dup_key.json");
    std::fs::write(
        &path,
        r#"{"tags": [{"code": "a", "label": "A"}, {"code": "b", "label": "B"}, {"code": "a", "label": "again"}]}"#,
    )
    .unwrap();
    let err = load_fixtures(&db, &path).unwrap_err().to_string();
    assert!(
        err.contains("table \"tags\", row index 2, field \"code\": duplicate value \"a\""),
        "{err}"
    );
    assert_eq!(counts(&db), [0; 5]);
}

fn malformed_json_is_refused(kind: Kind) {
    refused(
        kind,
        "bad_malformed.json",
        &["malformed JSON at line 3, column 29: expected `,` or `}`"],
    );
}

/// More rows than one statement takes: the bad row is found inside its chunk.
fn bad_row_deep_in_a_large_fixture_is_found(kind: Kind) {
    let Some(db) = fresh(kind) else { return };
    let mut users: Vec<serde_json::Value> = (0..1200)
        .map(|i| serde_json::json!({"name": format!("user {i}"), "email": format!("u{i}@example.org"), "age": i % 90}))
        .collect();
    users[1100]["email"] = serde_json::json!("u7@example.org");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.json");
    std::fs::write(&path, serde_json::json!({ "users": users }).to_string()).unwrap();
    let err = load_fixtures(&db, &path).unwrap_err();
    assert!(
        err.to_string().contains(
            "table \"users\", row index 1100, field \"email\": duplicate value \"u7@example.org\""
        ),
        "{err}"
    );
    assert_eq!(counts(&db), [0; 5]);

    // Without the duplicate, all 1200 load (several statements).
    users[1100]["email"] = serde_json::json!("fixed@example.org");
    std::fs::write(&path, serde_json::json!({ "users": users }).to_string()).unwrap();
    assert_eq!(load_fixtures(&db, &path).unwrap(), 1200);
    assert_eq!(User::list(&db).count().unwrap(), 1200);
}

fn later_bad_file_rolls_back_earlier_files(kind: Kind) {
    let Some(db) = fresh(kind) else { return };
    let err = load_fixture_files(
        &db,
        &[
            fixture("blog.json"),
            fixture("blog.sql"),
            fixture("bad_foreign_key.json"),
        ],
    )
    .unwrap_err();
    // bad_foreign_key.json's user 1 collides with blog.json's first.
    assert!(err.to_string().contains("bad_foreign_key.json"), "{err}");
    assert_eq!(counts(&db), [0; 5]);
}

fn sql_fixture_runs_verbatim(kind: Kind) {
    let Some(db) = fresh(kind) else { return };
    assert_eq!(load_fixtures(&db, fixture("blog.sql")).unwrap(), 0);
    assert_eq!(counts(&db), [2, 0, 0, 1, 0]);
    let bob = User::read(&db, 11).unwrap().unwrap();
    assert_eq!(
        (bob.name.as_str(), bob.age, bob.is_active),
        ("Sql Bob", None, false)
    );
    // The key generator moved past the keys the SQL inserted.
    let next = User::create(
        &db,
        User {
            id: 0,
            name: "Next".into(),
            email: "next@example.org".into(),
            age: None,
            is_active: true,
        },
    )
    .unwrap();
    assert!(next.id > 11, "{}", next.id);

    // A failing statement in a .sql file is an error naming the file; nothing stays.
    let Some(db) = fresh(kind) else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.sql");
    std::fs::write(
        &path,
        "INSERT INTO tags (code, label) VALUES ('a', 'A');\nINSERT INTO tags (code, label) VALUES ('a', 'B');\n",
    )
    .unwrap();
    let err = load_fixtures(&db, &path).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput(m) if m.contains("bad.sql")),
        "{err:?}"
    );
    assert_eq!(counts(&db), [0; 5]);
}

// ---------------------------------------------------------------------------
// Dumping

fn dump_then_load_gives_equal_rows(kind: Kind) {
    let Some(a) = fresh(kind) else { return };
    load_fixture_files(&a, &[fixture("blog.json"), fixture("extras.json")]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dump.json");
    // Given in an order that is not the foreign-key order.
    dump_fixtures(&a, &path, &["comments", "posts", "users", "tags"]).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let tables: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("  \""))
        .filter_map(|l| l.split_once('"').map(|(t, _)| t))
        .collect();
    assert_eq!(tables, ["comments", "posts", "users", "tags"], "{text}");
    // Managed columns are dumped, keyed by field name or column name.
    let spam = &doc["comments"][1];
    assert_eq!(spam["deleted_at"], "2024-03-01T12:00:00Z", "{text}");
    assert_eq!(doc["posts"][1]["body"], "Body by column name", "{text}");
    assert!(doc["posts"][1].get("created_at").is_some());

    let Some(b) = fresh(kind) else { return };
    assert_eq!(load_fixtures(&b, &path).unwrap(), 12);
    assert_eq!(counts(&a), counts(&b));
    let all_users = |db: &DataFlow| User::list(db).order_by(User::ID.asc()).all().unwrap();
    let all_posts = |db: &DataFlow| Post::list(db).order_by(Post::ID.asc()).all().unwrap();
    assert_eq!(all_users(&a), all_users(&b));
    assert_eq!(all_posts(&a), all_posts(&b));
    // Byte-for-byte the same dump, so every column (deleted_at too) is equal.
    let again = dir.path().join("again.json");
    dump_fixtures(&b, &again, &["comments", "posts", "users", "tags"]).unwrap();
    assert_eq!(text, std::fs::read_to_string(&again).unwrap());

    // No tables named: every registered table, in foreign-key order.
    let everything = dir.path().join("everything.json");
    dump_fixtures(&a, &everything, &[]).unwrap();
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&everything).unwrap()).unwrap();
    assert_eq!(doc.as_object().unwrap().len(), 5);
    let err = dump_fixtures(&a, &everything, &["nope"]).unwrap_err();
    assert!(err.to_string().contains("table \"nope\""), "{err}");
}

mod random {
    use super::*;
    use proptest::prelude::*;

    fn naive() -> impl Strategy<Value = NaiveDateTime> {
        // 1900 ..= 2199, microseconds: what every backend stores exactly.
        (-2_208_988_800i64..7_258_118_400, 0u32..1_000_000)
            .prop_map(|(s, us)| DateTime::from_timestamp(s, us * 1000).unwrap().naive_utc())
    }

    fn text() -> impl Strategy<Value = String> {
        // PostgreSQL text cannot hold NUL.
        "[^\u{0}]{0,12}"
    }

    fn doc() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i32>().prop_map(serde_json::Value::from),
            (-1000i32..1000).prop_map(|x| serde_json::Value::from(f64::from(x) / 8.0)),
            text().prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(2, 8, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(serde_json::Value::Array),
                prop::collection::btree_map("[a-z]{1,4}", inner, 0..3)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn finite_f64() -> impl Strategy<Value = f64> {
        any::<f64>().prop_filter("SQLite cannot store NaN", |f| !f.is_nan())
    }

    prop_compose! {
        fn sample()(
            small in any::<i16>(), int in any::<i32>(),
            single in any::<f32>().prop_filter("no NaN", |f| !f.is_nan()),
            double in finite_f64(), flag in any::<bool>(), text in text(),
            bytes in prop::collection::vec(any::<u8>(), 0..16),
            ts in naive(), tstz in naive(), uuid in any::<u128>(), json in doc(),
            dec in (any::<i64>(), 0u32..12),
            o_text in prop::option::of(text()), o_big in prop::option::of(any::<i64>()),
            // A nullable json column cannot hold the document `null` in a fixture.
            o_json in prop::option::of(doc().prop_filter("not null", |d| !d.is_null())),
            o_tstz in prop::option::of(naive()),
        ) -> Sample {
            Sample {
                id: 0, small, int, single, double, flag, text, bytes,
                date: ts.date(), ts, tstz: tstz.and_utc(), uuid: Uuid::from_u128(uuid), json,
                dec: Decimal::new(dec.0, dec.1), o_text, o_big, o_json,
                o_tstz: o_tstz.map(|t| t.and_utc()),
            }
        }
    }

    pub(super) fn run(kind: Kind) {
        let Some(a) = fresh(kind) else { return };
        let Some(b) = fresh(kind) else { return };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("samples.json");
        let all = |db: &DataFlow| Sample::list(db).order_by(Sample::ID.asc()).all().unwrap();
        let config = ProptestConfig {
            cases: 16,
            failure_persistence: None,
            ..ProptestConfig::default()
        };
        proptest!(config, |(rows in prop::collection::vec(sample(), 0..6))| {
            for db in [&a, &b] {
                db.with_conn(|c| c.batch_execute("DELETE FROM samples")).unwrap();
            }
            Sample::bulk_create(&a, &rows).unwrap();
            dump_fixtures(&a, &path, &["samples"]).unwrap();
            prop_assert_eq!(load_fixtures(&b, &path).unwrap(), rows.len());
            let (left, right) = (all(&a), all(&b));
            prop_assert_eq!(&left, &right);
        });
    }
}

fn dump_then_load_random_rows(kind: Kind) {
    random::run(kind);
}

// ---------------------------------------------------------------------------
// Ambiguous or unsafe fixture files

/// Writes `text` to a temporary file named `name`, loads it, expects
/// `Error::InvalidInput` naming the file and containing every one of `parts`,
/// and checks that nothing was loaded.
fn refused_text(kind: Kind, name: &str, text: &str, parts: &[&str]) {
    let Some(db) = fresh(kind) else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    let err = load_fixtures(&db, &path).expect_err("the fixture must be refused");
    let Error::InvalidInput(message) = &err else {
        panic!("expected InvalidInput, got {err:?}");
    };
    assert!(
        message.contains(&path.display().to_string()),
        "the message names the file: {message}"
    );
    for part in parts {
        assert!(message.contains(part), "{part:?} not in: {message}");
    }
    assert_eq!(counts(&db), [0; 5], "nothing may be loaded");
}

fn table_given_twice_is_refused(kind: Kind) {
    refused_text(
        kind,
        "twice.json",
        "{\n  \"tags\": [{\"code\": \"a\", \"label\": \"A\"}],\n  \"users\": [],\n  \"tags\": [{\"code\": \"b\", \"label\": \"B\"}]\n}\n",
        &["line 4", "table \"tags\" given twice"],
    );
}

fn field_given_twice_is_refused(kind: Kind) {
    refused_text(
        kind,
        "twice.json",
        "{\"tags\": [\n  {\"code\": \"a\", \"label\": \"A\"},\n  {\"code\": \"b\",\n   \"label\": \"B\", \"label\": \"again\"}\n]}\n",
        &["line 4", "field \"label\" given twice"],
    );
}

fn transaction_control_in_sql_fixture_is_refused(kind: Kind) {
    let insert = "INSERT INTO tags (code, label) VALUES ('a', 'A');\n";
    for (word, line) in [
        ("COMMIT;", 2),
        ("commit", 2),
        ("  Begin;", 2),
        ("ROLLBACK;", 2),
        ("SAVEPOINT s1;", 2),
        ("END;", 2),
        ("/* c */ -- x\n  END TRANSACTION;", 3),
        ("START TRANSACTION;", 2),
        ("RELEASE SAVEPOINT s1;", 2),
    ] {
        // A later failure must not leave the first insert committed.
        let text = format!("{insert}{word}\nINSERT INTO nope VALUES (1);\n");
        refused_text(
            kind,
            "tx.sql",
            &text,
            &[
                &format!("line {line}"),
                "transaction control is not allowed in a .sql fixture",
            ],
        );
    }
}

fn transaction_words_in_strings_and_comments_are_data(kind: Kind) {
    let Some(db) = fresh(kind) else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("words.sql");
    std::fs::write(
        &path,
        "-- COMMIT;\n/* ROLLBACK; */\nINSERT INTO tags (code, label) VALUES ('c', 'x; COMMIT; y');\n\
         INSERT INTO tags (code, label) VALUES ('it''s; begin', 'end');\n\
         INSERT INTO tags (\"code\", label) VALUES ('commit', 'savepoint');\n",
    )
    .unwrap();
    assert_eq!(load_fixtures(&db, &path).unwrap(), 0);
    assert_eq!(counts(&db), [0, 0, 0, 3, 0]);
    let label = Tag::read(&db, "c".to_owned()).unwrap().unwrap().label;
    assert_eq!(label, "x; COMMIT; y");
}
