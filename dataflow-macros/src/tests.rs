//! Snapshot tests: the expansion of representative models (pretty-printed), and
//! the error messages of invalid ones, each with the line, column and source text
//! it points at. Review changes with `cargo insta review` (or accept them with
//! `INSTA_UPDATE=always`).

use syn::DeriveInput;

fn parse(src: &str) -> DeriveInput {
    syn::parse_str(src).expect("test input parses")
}

/// The derive's output for `src`, formatted as Rust source.
fn expand(src: &str) -> String {
    let tokens = crate::derive(&parse(src));
    let file = syn::parse2::<syn::File>(tokens).expect("the expansion is valid Rust");
    prettyplease::unparse(&file)
}

/// Every error the derive reports for `src`, one per entry, in report order:
/// `line:column: message` followed by the source text the error points at.
fn errors(src: &str) -> String {
    let input = parse(src);
    let Err(err) = crate::model::build(&input) else {
        panic!("expected errors for:\n{src}");
    };
    // The real derive turns the same errors into `compile_error!`s.
    let compiled = crate::derive(&input).to_string();
    let mut out = String::new();
    let mut count = 0;
    for e in err {
        count += 1;
        let span = e.span();
        let start = span.start();
        out.push_str(&format!(
            "{}:{}: {e}\n    at: {}\n",
            start.line,
            start.column + 1,
            span.source_text().unwrap_or_default()
        ));
    }
    assert_eq!(compiled.matches("compile_error").count(), count);
    out
}

#[test]
fn expands_a_plain_model() {
    insta::assert_snapshot!(expand(
        r#"
        #[derive(Model, Debug, Clone, PartialEq)]
        pub struct User {
            pub id: i64,
            pub name: String,
            pub age: Option<i32>,
        }
        "#
    ));
}

/// The patch's serde impls, gated on the model's, with double options for
/// nullable fields and the model's serde names.
#[test]
fn a_serde_model_gets_a_serde_patch() {
    insta::assert_snapshot!(expand(
        r#"
        #[derive(Model, serde::Serialize, Deserialize, Debug)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        pub struct Member {
            pub id: i64,
            #[serde(rename = "mail", alias = "email", default)]
            pub email: String,
            pub nick_name: Option<String>,
        }
        "#
    ));
}

#[test]
fn expands_timestamps_soft_delete_indexes_foreign_keys_and_defaults() {
    insta::assert_snapshot!(expand(
        r#"
        #[derive(Model, Debug, Clone, PartialEq)]
        #[dataflow(table = "posts", timestamps, soft_delete)]
        #[dataflow(index(fields("author_id", "published"), name = "ix_posts_author_published"))]
        #[dataflow(index(fields("slug"), unique))]
        #[dataflow(foreign_key(field = "author_id", references = "users(id)", on_delete = "cascade"))]
        pub struct Post {
            pub id: i32,
            pub author_id: i64,
            #[dataflow(max_length = 200, default = "untitled")]
            pub title: String,
            pub slug: String,
            #[dataflow(default = false)]
            pub published: bool,
            #[dataflow(default = -1)]
            pub score: i16,
            #[dataflow(default = 0.5)]
            pub weight: f64,
            #[dataflow(default = "{}")]
            pub meta: serde_json::Value,
            #[dataflow(index, renamed_from = "summary")]
            pub body: Option<String>,
            /// Declared, so readable; `updated_at` and `deleted_at` are not.
            pub created_at: chrono::DateTime<chrono::Utc>,
        }
        "#
    ));
}

#[test]
fn expands_a_uuid_key_and_renamed_columns() {
    insta::assert_snapshot!(expand(
        r##"
        #[derive(Model, Debug, Clone)]
        #[dataflow(table = "api_keys", renamed_from = "tokens")]
        pub(crate) struct ApiKey {
            #[dataflow(primary_key)]
            pub token: uuid::Uuid,
            #[dataflow(column = "owner_email", unique)]
            pub owner: String,
            pub r#type: String,
            pub expires_on: Option<chrono::NaiveDate>,
            pub secret: Vec<u8>,
            #[dataflow(default = "now")]
            pub issued_at: chrono::NaiveDateTime,
        }
        "##
    ));
}

/// A key over two fields, in the attribute's order (not the fields'): the
/// descriptor lists both columns, `Key` is the tuple, neither part is
/// auto-increment (so both are in the draft) and neither is in the patch.
#[test]
fn expands_a_composite_key() {
    insta::assert_snapshot!(expand(
        r#"
        #[derive(Model, Debug, Clone, PartialEq)]
        #[dataflow(table = "post_tags", primary_key("tag", "post_id"))]
        pub struct PostTag {
            pub post_id: i64,
            pub tag: String,
            pub note: Option<String>,
        }
        "#
    ));
}

#[test]
fn reports_every_mistake_of_a_struct_at_its_token() {
    insta::assert_snapshot!(errors(
        r#"
        #[dataflow(tabel = "users", timestamps)]
        #[dataflow(index(fields("name", "agee")), foreign_key(field = "team_id", references = "teams.id", on_delete = "explode"))]
        pub struct User {
            #[dataflow(primary_key)]
            pub id: i64,
            #[dataflow(uniqe, primary_key)]
            pub email: String,
            #[dataflow(default = 70000)]
            pub rank: i16,
            #[dataflow(default = "yes")]
            pub is_active: bool,
            #[dataflow(max_length = 3, default = 5i32)]
            pub age: i32,
            #[dataflow(column = "email")]
            pub backup_email: String,
            #[dataflow(renamed_from = "name")]
            pub name: String,
            pub team_id: i64,
            pub created_at: String,
        }
        "#
    ));
}

#[test]
fn reports_malformed_attributes_and_keeps_parsing() {
    insta::assert_snapshot!(errors(
        r#"
        #[dataflow(table)]
        #[dataflow(timestamps = true, index, foreign_key)]
        pub struct User {
            pub id: i64,
            #[dataflow(max_length = "10", unique = true)]
            pub name: String,
            #[dataflow(nullable, pk)]
            pub nick: Option<String>,
            #[dataflow(default = yes)]
            pub is_active: bool,
            #[dataflow(default = -"x", auto_increment = 1)]
            pub score: i32,
        }
        "#
    ));
}

#[test]
fn does_not_cascade_from_one_mistake_to_others() {
    // Each struct has one mistake and gets exactly one error: a refused key type
    // or a misspelled `primary_key` is not also "no primary key", an index on a
    // refused field is not also "no such field", and without a key no other
    // field is taken for one.
    let mut out = String::new();
    for src in [
        r#"
        #[dataflow(index(fields("id")))]
        pub struct Counter { pub id: u64, pub name: String }
        "#,
        r#"
        pub struct Tag { #[dataflow(primry_key)] pub slug: String, pub label: Option<String> }
        "#,
        r#"
        pub struct LogLine { pub at: Option<i64>, pub message: String }
        "#,
        r#"
        pub enum Status { Active, Banned }
        "#,
        r#"
        pub struct Pair(i64, String);
        "#,
    ] {
        let errs = errors(src);
        assert_eq!(errs.lines().count(), 2, "one error expected, got:\n{errs}");
        out.push_str(&errs);
    }
    insta::assert_snapshot!(out);
}

#[test]
fn suggests_the_attribute_that_was_meant() {
    use crate::attr::suggest;
    let field = &[
        "primary_key",
        "auto_increment",
        "unique",
        "index",
        "max_length",
        "default",
        "renamed_from",
        "column",
    ];
    assert_eq!(suggest("uniqe", field).as_deref(), Some("unique"));
    assert_eq!(suggest("primry_key", field).as_deref(), Some("primary_key"));
    assert_eq!(suggest("pk", field).as_deref(), Some("primary_key"));
    assert_eq!(suggest("rename", field).as_deref(), Some("renamed_from"));
    assert_eq!(suggest("name", field).as_deref(), Some("column"));
    assert_eq!(suggest("sql_type", field), None);
    assert_eq!(suggest("ix", field), None);
}

/// The enum derive's output for `src`, formatted as Rust source.
fn expand_enum(src: &str) -> String {
    let ir = crate::model_enum::build(&parse(src)).expect("a valid enum");
    let file = syn::parse2::<syn::File>(crate::model_enum::expand(&ir))
        .expect("the expansion is valid Rust");
    prettyplease::unparse(&file)
}

/// Every error the enum derive reports for `src` (see [`errors`]).
fn enum_errors(src: &str) -> String {
    let Err(err) = crate::model_enum::build(&parse(src)) else {
        panic!("expected errors for:\n{src}");
    };
    err.into_iter()
        .map(|e| {
            let span = e.span();
            format!(
                "{}:{}: {e}\n    at: {}\n",
                span.start().line,
                span.start().column + 1,
                span.source_text().unwrap_or_default()
            )
        })
        .collect()
}

#[test]
fn expands_an_enum_and_a_model_using_it() {
    insta::assert_snapshot!(expand_enum(
        r#"
        #[derive(ModelEnum, Debug, Clone, Copy, PartialEq)]
        pub enum Status {
            Open,
            #[dataflow(rename = "in-progress")]
            InProgress,
            #[dataflow(renamed_from = "done")]
            ClosedForGood,
        }
        "#
    ));
    insta::assert_snapshot!(expand(
        r#"
        #[derive(Model, Debug, Clone, PartialEq)]
        pub struct Issue {
            pub id: i64,
            #[dataflow(default = "open", index)]
            pub status: Status,
            pub priority: Option<Priority>,
        }
        "#
    ));
}

#[test]
fn reports_every_mistake_of_an_enum_at_its_token() {
    insta::assert_snapshot!(enum_errors(
        r#"
        #[dataflow(rename_all = "kebab")]
        enum Bad<T> {
            Open,
            #[dataflow(rename = "open")]
            Reopened,
            Closed(String),
            #[dataflow(rename = "")]
            Empty,
            #[dataflow(renamed_from = "closed")]
            Other,
            #[dataflow(renamed_from = "gone", nme = "x")]
            Last,
            #[dataflow(renamed_from = "gone")]
            Again,
            #[dataflow(renamed_from = "selfish")]
            Selfish,
        }
        "#
    ));
    insta::assert_snapshot!(enum_errors("enum Nothing {}"));
    insta::assert_snapshot!(enum_errors("struct NotAnEnum { a: i32 }"));
}
