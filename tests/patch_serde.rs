//! A model deriving serde gets a `<Model>Patch` deriving it too, so a JSON
//! request body becomes a patch: an absent field leaves the column as is,
//! `null` sets a nullable one to NULL, unknown fields are refused, and the
//! model's `rename_all` / `rename` / `alias` apply to the patch.

use dataflow_core::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Model, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[dataflow(table = "members", timestamps)]
#[serde(rename_all = "camelCase")]
struct Member {
    id: i64,
    display_name: String,
    #[serde(rename = "mail", alias = "email")]
    email: String,
    age: Option<i32>,
    profile: Option<serde_json::Value>,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

fn patch(body: serde_json::Value) -> Result<MemberPatch, serde_json::Error> {
    serde_json::from_value(body)
}

#[test]
fn absent_null_and_values_are_told_apart() {
    assert_eq!(patch(json!({})).unwrap(), MemberPatch::default());
    let p = patch(json!({"age": null, "displayName": "Ann"})).unwrap();
    assert_eq!(p.age, Some(None));
    assert_eq!(p.display_name.as_deref(), Some("Ann"));
    assert_eq!(p.profile, None);
    let p = patch(json!({"age": 41, "profile": {"a": 1}})).unwrap();
    assert_eq!(p.age, Some(Some(41)));
    assert_eq!(p.profile, Some(Some(json!({"a": 1}))));
    // A JSON null inside a nullable JSON field is still "set NULL".
    assert_eq!(patch(json!({"profile": null})).unwrap().profile, Some(None));
}

#[test]
fn the_models_serde_names_apply_and_unknown_fields_are_refused() {
    assert_eq!(
        patch(json!({"mail": "a@x"})).unwrap().email.as_deref(),
        Some("a@x")
    );
    assert_eq!(
        patch(json!({"email": "a@x"})).unwrap().email.as_deref(),
        Some("a@x")
    );
    for bad in [
        json!({"display_name": "snake case is not the model's name"}),
        json!({"agee": 1}),
        json!({"id": 3}),
        json!({"createdAt": "2024-01-01T00:00:00Z"}),
    ] {
        let e = patch(bad.clone()).unwrap_err().to_string();
        assert!(e.contains("unknown field"), "{bad}: {e}");
    }
    // A non-nullable field cannot be set to null.
    assert!(patch(json!({"displayName": null})).is_err());
}

#[test]
fn patches_serialize_only_what_they_set() {
    let p = MemberPatch {
        age: Some(None),
        email: Some("b@x".into()),
        ..Default::default()
    };
    let j = serde_json::to_value(&p).unwrap();
    assert_eq!(j, json!({"age": null, "mail": "b@x"}));
    assert_eq!(patch(j).unwrap(), p);
    assert_eq!(
        serde_json::to_value(MemberPatch::default()).unwrap(),
        json!({})
    );
}

#[test]
fn a_json_body_updates_a_row() -> Result<(), Error> {
    let db = dataflow_sqlite::testing::TestDb::builder()
        .model::<Member>()
        .build()?;
    let now = chrono::Utc::now();
    let ann = Member::create(
        &db,
        Member {
            id: 0,
            display_name: "Ann".into(),
            email: "ann@x".into(),
            age: Some(30),
            profile: Some(json!({"k": 1})),
            created_at: now,
            updated_at: now,
        },
    )?;
    let body = r#"{"age": null, "displayName": "Ann B"}"#;
    let p: MemberPatch = serde_json::from_str(body).expect("a patch");
    let stored = Member::update(&db, ann.id, p)?;
    assert_eq!(stored.age, None);
    assert_eq!(stored.display_name, "Ann B");
    assert_eq!(stored.email, "ann@x", "absent fields are left as they are");
    assert_eq!(stored.profile, Some(json!({"k": 1})));
    Ok(())
}
