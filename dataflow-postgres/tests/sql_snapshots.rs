//! Snapshots of the SQL dataflow renders for PostgreSQL: DDL, CRUD statements and
//! the migration preview, the same set as SQLite's. Rendering is deterministic,
//! so these only change when the SQL does. Everything but the preview is pure
//! rendering and runs without a server; the preview plans against an empty
//! database on `DATABASE_URL`.

use dataflow_core::migrate::schema::Schema;
use dataflow_core::prelude::*;
use dataflow_core::query::statement::SqlWriter;
use dataflow_core::{QueryDialect, SchemaDialect};
use dataflow_postgres::testing::TestDb;
use dataflow_postgres::POSTGRES;

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "accounts", timestamps, soft_delete)]
#[dataflow(index(fields("owner_id", "name"), unique))]
#[dataflow(foreign_key(field = "owner_id", references = "owners(id)", on_delete = "set_null"))]
struct Account {
    id: i64,
    #[dataflow(max_length = 80, index)]
    name: String,
    owner_id: Option<i64>,
    #[dataflow(default = 0.5)]
    ratio: f64,
    #[dataflow(default = "it's \"quoted\"")]
    note: String,
    #[dataflow(default = "{\"tier\": 1}")]
    settings: serde_json::Value,
    #[dataflow(default = -7)]
    small: i16,
    #[dataflow(column = "is_open", default = false)]
    open: bool,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "owners")]
struct Owner {
    id: i32,
    #[dataflow(unique)]
    email: String,
}

fn schema() -> Schema {
    Schema::from_descriptors([Owner::DESCRIPTOR, Account::DESCRIPTOR])
}

#[test]
fn create_table_sql() {
    let s = schema();
    let sql: Vec<String> = s
        .tables
        .values()
        .flat_map(|t| POSTGRES.create_table(t))
        .collect();
    insta::assert_snapshot!(sql.join(";\n"));
}

#[test]
fn fixed_crud_statements() {
    let sql = Account::DESCRIPTOR.sql(&POSTGRES, &dataflow_postgres::CAPABILITIES);
    insta::assert_snapshot!(format!(
        "read:   {}\ninsert: {}\ndelete: {}\nsoft:   {}",
        sql.read_by_pk,
        sql.insert_auto,
        sql.delete_by_pk,
        sql.soft_delete_by_pk.as_deref().unwrap_or("-")
    ));
}

#[test]
fn filter_rendering_binds_every_value() {
    let f = Account::NAME
        .like("a%")
        .and(
            Account::OWNER_ID
                .is_in([1, 2, 3])
                .or(Account::OWNER_ID.is_null()),
        )
        .and(Account::RATIO.gt(0.25).not())
        .and(Account::NAME.is_in(Vec::<String>::new()));
    let mut w = SqlWriter::new(&POSTGRES);
    w.push("SELECT 1 FROM ").ident("accounts").push(" WHERE ");
    w.expr(f.expr());
    let sql = w.finish();
    // Placeholders are numbered: $1 … $n, one per bind, in order.
    for n in 1..=sql.binds.len() {
        assert!(sql.text.contains(&format!("${n}")), "${n} in {}", sql.text);
    }
    let next = format!("${}", sql.binds.len() + 1);
    assert!(!sql.text.contains(&next), "{next} in {}", sql.text);
    insta::assert_snapshot!(format!("{}\n{:?}", sql.text, sql.binds));
}

#[test]
fn identifiers_are_quoted() {
    let mut out = String::new();
    POSTGRES.quote_ident("we\"ird name", &mut out);
    assert_eq!(out, "\"we\"\"ird name\"");
}

#[test]
fn migration_preview() {
    if dataflow_postgres::testing::server_url().is_none() {
        return;
    }
    let db = TestDb::builder().build().unwrap();
    db.register_all(models![Account, Owner]).unwrap();
    let report = db.plan().unwrap();
    insta::assert_snapshot!(report.preview());
    let applied = db.auto_migrate(MigrateOptions::default()).unwrap();
    assert!(applied.applied);
    assert_eq!(
        db.plan().unwrap().preview(),
        "No changes: the database matches the models.\n"
    );
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "tickets")]
struct Ticket {
    id: i64,
    #[dataflow(default_sql = "lower('X')")]
    code: String,
    #[dataflow(default_sql = "(CURRENT_DATE)")]
    opened: Option<chrono::NaiveDate>,
}

/// `default_sql` is emitted verbatim, in one pair of parentheses, when the
/// table is created and when the expression changes.
#[test]
fn sql_default_ddl() {
    let before = Schema::from_descriptors([Ticket::DESCRIPTOR]);
    let mut after = before.clone();
    let table = after.tables.get_mut("tickets").unwrap();
    let from = table.column("code").unwrap().clone();
    let mut to = from.clone();
    to.default = Some(dataflow_core::migrate::schema::SchemaDefault::Sql(
        "upper('y')".into(),
    ));
    table.columns[1] = to.clone();
    let mut sql = POSTGRES.create_table(&before.tables["tickets"]);
    sql.extend(POSTGRES.render_change(
        &dataflow_core::Change::alter("tickets", from, to),
        &before,
        &after,
    ));
    insta::assert_snapshot!(sql.join(";\n"));
}
