//! How PostgreSQL itself prints the conditions a model writes (partial-index
//! predicates, `CHECK`s): it rewrites them (casts, parentheses), so a
//! described condition is compared with the database's printing of the
//! model's, made on a temporary table of the same shape.

use dataflow_core::migrate::schema::{Check, Table};
use dataflow_core::{Connection, LogicalType as T, Result, Value};

use crate::describe::check_condition;

fn text(v: &mut Value) -> String {
    match std::mem::take(v) {
        Value::Text(s) => s,
        _ => String::new(),
    }
}

/// Runs `probe` over a temporary table shaped like `table` (its columns
/// only), passing the table's quoted name (`pg_temp."…"`) and the text
/// literal of that name.
///
/// All of it happens inside one transaction, rolled back at the end whatever
/// `probe` returns: a savepoint of the caller's transaction, or a transaction
/// of its own when there is none (`SAVEPOINT` outside one is an error, which
/// says so). A transaction pooler hands each transaction to one server
/// session, so the table is created, used and read on the same session, and
/// nothing of it (not even an empty temporary schema entry) outlives the
/// probe; `ON COMMIT DROP` guards the one path that could commit it, a caller
/// committing a savepoint that failed to roll back.
fn with_probe_table<R>(
    conn: &mut dyn Connection,
    table: &Table,
    probe: impl FnOnce(&mut dyn Connection, &str, &str) -> Result<R>,
) -> Result<R> {
    use dataflow_core::{QueryDialect, SchemaDialect};
    static PROBES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let d = &crate::dialect::POSTGRES;
    let n = PROBES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut shape = table.clone();
    shape.name = format!("df_probe_{}_{n}", std::process::id());
    shape.indexes.clear();
    shape.foreign_keys.clear();
    shape.checks.clear();
    let mut qualified = String::from("pg_temp.");
    d.quote_ident(&shape.name, &mut qualified);
    let mut lit = String::new();
    d.string_literal(&qualified, &mut lit);
    let create = format!(
        "{} ON COMMIT DROP",
        d.create_table(&shape)[0].replacen("CREATE TABLE", "CREATE TEMP TABLE", 1)
    );
    let nested = conn.batch_execute("SAVEPOINT df_reprint").is_ok();
    if !nested {
        conn.batch_execute("BEGIN")?;
    }
    let probed = conn
        .batch_execute(&create)
        .and_then(|()| probe(conn, &qualified, &lit));
    let ended = conn.batch_execute(if nested {
        "ROLLBACK TO SAVEPOINT df_reprint; RELEASE SAVEPOINT df_reprint"
    } else {
        "ROLLBACK"
    });
    let probed = probed?;
    ended?;
    Ok(probed)
}

/// Reads `(name, text)` rows of `sql` into the slot each name's number
/// (after its last `_`) gives, out of `n`.
fn read_numbered(
    conn: &mut dyn Connection,
    sql: &str,
    n: usize,
    clean: fn(&str) -> &str,
) -> Result<Vec<String>> {
    let mut printed = vec![String::new(); n];
    conn.query(sql, &[], &[T::Text, T::Text], &mut |row| {
        let name = text(&mut row[0]);
        if let Some(slot) = name
            .rsplit('_')
            .next()
            .and_then(|i| i.parse::<usize>().ok())
            .and_then(|i| printed.get_mut(i))
        {
            *slot = clean(&text(&mut row[1])).to_owned();
        }
        Ok(())
    })?;
    Ok(printed)
}

/// How PostgreSQL prints each condition over a table shaped like `table`: a
/// temporary copy of the shape gets one partial index per condition, and
/// `pg_get_expr` reads them back.
pub(crate) fn reprint_predicates(
    conn: &mut dyn Connection,
    table: &Table,
    predicates: &[String],
) -> Result<Vec<String>> {
    use dataflow_core::QueryDialect;
    let d = &crate::dialect::POSTGRES;
    let Some(first) = table.columns.first() else {
        return Ok(predicates.to_vec());
    };
    let mut column = String::new();
    d.quote_ident(&first.name, &mut column);
    with_probe_table(conn, table, |conn, qualified, lit| {
        for (i, p) in predicates.iter().enumerate() {
            let mut index = String::new();
            d.quote_ident(&format!("df_probe_ix_{i}"), &mut index);
            conn.batch_execute(&format!(
                "CREATE INDEX {index} ON {qualified} ({column}) WHERE {p}"
            ))?;
        }
        read_numbered(
            conn,
            &format!(
                "SELECT i.relname::text, pg_get_expr(ix.indpred, ix.indrelid) FROM pg_index ix \
                 JOIN pg_class i ON i.oid = ix.indexrelid WHERE ix.indrelid = {lit}::regclass"
            ),
            predicates.len(),
            |p| p,
        )
    })
}

/// How PostgreSQL prints each check condition over a table shaped like
/// `table`: a temporary copy of the shape gets one check per condition, and
/// `pg_get_constraintdef` reads them back.
pub(crate) fn reprint_checks(
    conn: &mut dyn Connection,
    table: &Table,
    checks: &[String],
) -> Result<Vec<String>> {
    use dataflow_core::SchemaDialect;
    let d = &crate::dialect::POSTGRES;
    with_probe_table(conn, table, |conn, qualified, lit| {
        for (i, c) in checks.iter().enumerate() {
            let mut add = format!("ALTER TABLE {qualified} ADD ");
            d.check_clause(&Check::new(format!("df_probe_ck_{i}"), c), &mut add);
            conn.batch_execute(&add)?;
        }
        read_numbered(
            conn,
            &format!(
                "SELECT conname::text, pg_get_constraintdef(oid) FROM pg_constraint \
                 WHERE conrelid = {lit}::regclass AND contype = 'c'"
            ),
            checks.len(),
            check_condition,
        )
    })
}
