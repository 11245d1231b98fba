//! The counterpart of the compile-fail cases: models using every option, and the
//! typed query API used correctly, compile (nothing here touches a database).

use dataflow_core::prelude::*;

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "users")]
#[dataflow(index(fields("name", "age")))]
pub struct User {
    #[dataflow(primary_key)]
    pub id: i64,
    pub name: String,
    #[dataflow(unique, max_length = 255)]
    pub email: String,
    pub age: Option<i32>,
    #[dataflow(default = true)]
    pub is_active: bool,
    #[dataflow(renamed_from = "phone_number")]
    pub phone: Option<String>,
    pub profile: Option<serde_json::Value>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "posts", timestamps, soft_delete)]
#[dataflow(index(fields("author_id", "published"), name = "ix_posts_author_published"))]
#[dataflow(index(fields("slug"), unique))]
#[dataflow(foreign_key(field = "author_id", references = "users(id)", on_delete = "cascade"))]
#[dataflow(partial_index(fields("slug"), unique, condition = "deleted_at IS NULL"))]
#[dataflow(index(fields("author_id"), condition = "published = TRUE", name = "px_live"))]
#[dataflow(jsonb_gin_indexes("meta"))]
#[dataflow(text_search(fields("title", "body"), language = "english"))]
#[dataflow(check(name = "ck_posts_score", expr = "score >= -1"))]
#[dataflow(check(name = "ck_posts_weight", expr = "weight BETWEEN 0 AND 1"))]
pub struct Post {
    pub id: i32,
    pub author_id: i64,
    #[dataflow(max_length = 200, default = "untitled")]
    pub title: String,
    #[dataflow(collation = "NOCASE")]
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
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Model, Debug, Clone)]
#[dataflow(table = "api_keys", renamed_from = "tokens")]
pub(crate) struct ApiKey {
    #[dataflow(primary_key)]
    pub token: uuid::Uuid,
    #[dataflow(column = "owner_email", unique)]
    pub owner: String,
    pub r#type: String,
    #[dataflow(default_sql = "CURRENT_DATE")]
    pub expires_on: Option<chrono::NaiveDate>,
    pub secret: Vec<u8>,
    #[dataflow(default = "now")]
    pub issued_at: chrono::NaiveDateTime,
}

#[allow(dead_code)]
fn queries(db: &DataFlow) -> Result<()> {
    let _: Vec<User> = User::list(db)
        .filter(User::AGE.gt(18).and(User::NAME.like("A%")))
        .filter(User::PHONE.like("+1%").or(User::PHONE.is_null()))
        .filter(!User::EMAIL.is_in(["a@x.org", "b@x.org"]))
        .order_by(User::NAME.asc())
        .limit(20)
        .offset(40)
        .all()?;
    let _: i64 = User::list(db).filter(User::IS_ACTIVE.eq(true)).count()?;
    let _ = User::update(
        db,
        1,
        UserPatch {
            age: Some(None),
            email: Some("a@x.org".into()),
            ..Default::default()
        },
    )?;
    let _ = User::bulk_delete(db, Filter::all())?;
    let _: Option<Post> = Post::read(db, 1)?;
    let _ = Post::list(db)
        .filter(Post::SCORE.ge(-5).and(Post::BODY.is_not_null()))
        .count()?;
    let _ = Post::upsert(db, Post::read(db, 1)?.unwrap(), &[Post::SLUG])?;
    let _ = ApiKey::read(db, uuid::Uuid::nil())?;
    // Aggregates, typed by column; one builder for a page and its total.
    let q = Post::list(db).filter(Post::PUBLISHED.eq(true));
    let _: i64 = q.clone().count()?;
    let _: i64 = q.clone().sum(Post::SCORE)?;
    let _: f64 = q.clone().sum(Post::WEIGHT)?;
    let _: Option<f64> = q.clone().avg(Post::SCORE)?;
    let _: Option<String> = q.clone().max(Post::SLUG)?;
    let _: Vec<(i64, i64)> = q.clone().group_by(Post::AUTHOR_ID).count()?;
    let _: Vec<(Option<String>, Option<i16>)> = q.clone().group_by(Post::BODY).min(Post::SCORE)?;
    let _: Vec<Post> = q.limit(10).offset(20).all()?;
    // Soft delete round trip; creating without the key and managed columns.
    let _: Post = Post::restore(db, 1)?;
    let _: Vec<Post> = Post::list(db).only_deleted().all()?;
    let _: User = User::create(
        db,
        UserDraft {
            name: "Ann".into(),
            email: "ann@x.org".into(),
            age: None,
            is_active: true,
            phone: None,
            profile: None,
        },
    )?;
    let _: ApiKey = ApiKey::create(
        db,
        ApiKeyDraft {
            token: uuid::Uuid::nil(),
            owner: "o".into(),
            r#type: "admin".into(),
            expires_on: None,
            secret: vec![],
            issued_at: chrono::NaiveDateTime::default(),
        },
    )?;
    let _ = ApiKey::list(db)
        .filter(ApiKey::TYPE.eq("admin"))
        .order_by(ApiKey::ISSUED_AT.desc());
    Ok(())
}

fn main() {
    assert_eq!(User::AGE.name(), "age");
    assert_eq!(ApiKey::OWNER.name(), "owner_email");
    assert_eq!(ApiKey::TYPE.name(), "type");
    let d = <Post as Model>::DESCRIPTOR;
    assert_eq!(d.table, "posts");
    assert_eq!(d.columns.len(), 12);
}
