//! The dataflow quickstart: two related models on an SQLite file.
//!
//! Run it with `cargo run --example quickstart`.

use dataflow_core::prelude::*;

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "authors", timestamps)]
#[dataflow(index(fields("name", "age")))]
struct Author {
    id: i64,
    name: String,
    #[dataflow(unique, max_length = 255)]
    email: String,
    age: Option<i32>,
    #[dataflow(default = true)]
    is_active: bool,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "posts", soft_delete)]
#[dataflow(foreign_key(field = "author_id", references = "authors(id)", on_delete = "cascade"))]
struct Post {
    id: i64,
    author_id: i64,
    title: String,
    body: Option<String>,
    tags: Option<serde_json::Value>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("dataflow-quickstart-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("blog.db");
    println!("database: {}", path.display());

    let db = dataflow_sqlite::open(&path)?;
    db.register_all(models![Author, Post])?;
    let report = db.auto_migrate(MigrateOptions::default())?;
    println!("\n== auto_migrate ==\n{}", report.preview());

    let ann = Author::create(
        &db,
        Author {
            id: 0,
            name: "Ann".into(),
            email: "ann@example.org".into(),
            age: Some(31),
            is_active: true,
        },
    )?;
    let bob = Author::create(
        &db,
        Author {
            id: 0,
            name: "Bob".into(),
            email: "bob@example.org".into(),
            age: Some(17),
            is_active: true,
        },
    )?;
    println!("== create ==\n  {ann:?}\n  {bob:?}");

    let posts: Vec<Post> = ["Hello", "Second thoughts", "On SQLite"]
        .iter()
        .map(|t| Post {
            id: 0,
            author_id: ann.id,
            title: (*t).into(),
            body: None,
            tags: Some(serde_json::json!(["intro"])),
        })
        .collect();
    let n = Post::bulk_create(&db, &posts)?;
    println!("\n== bulk_create ==\n  {n} posts by {}", ann.name);

    let adults = Author::list(&db)
        .filter(Author::AGE.ge(18).and(Author::NAME.like("A%")))
        .order_by(Author::NAME.asc())
        .all()?;
    println!("\n== list (age >= 18 and name LIKE 'A%') ==");
    for a in &adults {
        println!("  {} <{}>, {:?}", a.name, a.email, a.age);
    }

    let bob = Author::update(
        &db,
        bob.id,
        AuthorPatch {
            age: Some(Some(18)),
            email: Some("robert@example.org".into()),
            ..Default::default()
        },
    )?;
    println!("\n== update ==\n  {bob:?}");

    let first = Post::list(&db)
        .order_by(Post::ID.asc())
        .first()?
        .expect("a post");
    Post::delete(&db, first.id)?;
    let live = Post::list(&db).count()?;
    let all = Post::list(&db).with_deleted().count()?;
    println!(
        "\n== delete (soft) ==\n  post {} deleted: {live} live posts, {all} including deleted",
        first.id
    );

    match Author::create(
        &db,
        Author {
            id: 0,
            ..ann.clone()
        },
    ) {
        Err(Error::UniqueViolation { table, fields }) => {
            println!(
                "\n== unique violation ==\n  {table}({}) already has {}",
                fields.join(", "),
                ann.email
            )
        }
        other => println!("unexpected: {other:?}"),
    }

    Author::delete(&db, ann.id)?;
    println!(
        "\n== delete (cascade) ==\n  authors: {}, posts: {}",
        Author::list(&db).count()?,
        Post::list(&db).with_deleted().count()?
    );

    drop(db);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
