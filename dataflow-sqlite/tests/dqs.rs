//! The bundled SQLite is built without the double-quoted-string fallback
//! (`SQLITE_DQS=0`, set in the workspace's `.cargo/config.toml`): a double-quoted
//! name that is not a column is an error, never the string itself. With the
//! fallback, a model column missing from its table reads as its own name and a
//! filter on it matches every row.

use dataflow_core::{LogicalType, Value};

#[test]
fn a_double_quoted_unknown_column_is_an_error_not_a_string() {
    let db = dataflow_sqlite::open(":memory:").unwrap();
    let mut got = Vec::new();
    let result = db.with_conn(|c| {
        c.batch_execute("CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t (id) VALUES (1);")?;
        c.query(
            "SELECT \"missing\" FROM \"t\"",
            &[],
            &[LogicalType::Text],
            &mut |row| {
                got.push(std::mem::take(&mut row[0]));
                Ok(())
            },
        )
    });
    assert!(
        matches!(&result, Err(e) if e.to_string().contains("no such column")),
        "SQLite was built with the double-quoted-string fallback (SQLITE_DQS != 0): \
         {result:?}, rows {got:?}"
    );
    assert_eq!(got, Vec::<Value>::new());
}

#[test]
fn a_double_quoted_string_in_ddl_is_refused() {
    let db = dataflow_sqlite::open(":memory:").unwrap();
    let result = db
        .with_conn(|c| c.batch_execute("CREATE TABLE t (a TEXT DEFAULT \"x\" CHECK (a <> \"y\"))"));
    assert!(result.is_err(), "{result:?}");
}
