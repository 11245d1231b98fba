//! SQLite's table rebuild: how the changes `ALTER TABLE` cannot make are made.
//!
//! SQLite alters little in place: `ADD COLUMN` (nullable or with a constant
//! default), renames, `DROP COLUMN` of a column no key uses, and indexes. A
//! changed column type, nullability, default or collation, a foreign key or
//! a check added or dropped, a `NOT NULL` column added without a constant
//! default, or a key column dropped is made by SQLite's documented procedure
//! (<https://sqlite.org/lang_altertable.html#otheralter>): create a table of
//! the new shape, copy the rows, drop the old table, rename the new one,
//! recreate its indexes and triggers. [`rebuild_reason`] says which changes
//! need it; the planner folds those of one table into one
//! `Change::RebuildTable` step (see `dataflow_core::migrate::rebuild`), which
//! [`rebuild_table`] renders as one copy, so two altered columns copy the
//! table once.

use dataflow_core::migrate::dialect::renamed_values_expression;
use dataflow_core::migrate::diff::ValueRename;
use dataflow_core::migrate::schema::{Schema, SchemaDefault, Table};
use dataflow_core::{Change, QueryDialect, SchemaDialect};

use crate::dialect::SqliteDialect;

/// Why SQLite can make `change` on `before` only by rebuilding the table.
pub(crate) fn rebuild_reason(change: &Change, before: &Schema) -> Option<String> {
    Some(match change {
        Change::AlterColumn { .. } => "SQLite cannot alter a column in place".into(),
        Change::AddForeignKey { .. } | Change::DropForeignKey { .. } => {
            "SQLite cannot add or drop a foreign key in place".into()
        }
        Change::AddCheck { .. } | Change::DropCheck { .. } => {
            "SQLite cannot add or drop a check in place".into()
        }
        Change::AddColumn { column, .. } if !column.nullable && column.default.is_none() => {
            "SQLite adds a NOT NULL column without a default only by rebuilding".into()
        }
        Change::AddColumn { column, .. }
            if matches!(
                column.default,
                Some(SchemaDefault::CurrentTimestamp | SchemaDefault::Sql(_))
            ) =>
        {
            "SQLite adds a column with a non-constant default only by rebuilding".into()
        }
        Change::RenameColumn { table, from, .. }
            if before
                .tables
                .get(table)
                .and_then(|t| t.column(from))
                .is_some_and(|c| c.enum_values.is_some()) =>
        {
            "SQLite keeps the name of an enum column's check when it renames the column".into()
        }
        Change::DropColumn { table, column }
            if before.tables.get(table).is_some_and(|t| {
                t.primary_key.contains(&column.name)
                    || t.foreign_keys.iter().any(|f| f.column == column.name)
            }) =>
        {
            "SQLite cannot drop a key column in place".into()
        }
        _ => return None,
    })
}

/// The rebuild of `table` from its shape in `before` to its shape in
/// `after`, for `changes` (one change, or the parts of a
/// `Change::RebuildTable`), run inside the migration's transaction with
/// foreign keys off: create the new shape, copy every row once (each column
/// converted from the column it comes from, following renames; renamed enum
/// values rewritten; NULLs of a newly NOT NULL column take its default), carry
/// the AUTOINCREMENT counter over, drop the old table, rename the new one,
/// recreate the indexes and the table's triggers (dropping the old table drops
/// them). The executor runs
/// `foreign_key_check` before committing.
///
/// The rename runs with `legacy_alter_table` on: views and other tables'
/// triggers name the table, which is briefly missing, and SQLite 3.26+ would
/// otherwise refuse the rename ("error in view …: no such table") or rewrite
/// them to the temporary name. Left as they are, they name the rebuilt table.
pub(crate) fn rebuild_table(
    d: &SqliteDialect,
    table: &str,
    changes: &[Change],
    before: &Schema,
    after: &Schema,
) -> Vec<String> {
    let (Some(before), Some(after)) = (before.tables.get(table), after.tables.get(table)) else {
        return Vec::new();
    };
    let q = |s: &str| {
        let mut o = String::new();
        d.quote_ident(s, &mut o);
        o
    };
    let tmp = format!("_dataflow_new_{}", after.name);
    let mut shape = after.clone();
    shape.name = tmp.clone();
    shape.indexes.clear();
    let mut out = d.create_table(&shape);
    let mut targets = Vec::new();
    let mut sources = Vec::new();
    for col in &after.columns {
        let Some(old) = source_column(changes, &col.name).and_then(|s| before.column(&s)) else {
            continue;
        };
        let mut expr = q(&old.name);
        if old.ty != col.ty || old.max_length != col.max_length {
            expr = d.cast_expression(&expr, old, col);
        }
        expr = renamed_values_expression(d, &expr, &value_renames(changes, &col.name));
        if old.nullable && !col.nullable {
            if let Some(def) = &col.default {
                expr = format!("coalesce({expr}, {})", d.default_literal(def, col.ty));
            }
        }
        targets.push(q(&col.name));
        sources.push(expr);
    }
    out.push(format!(
        "INSERT INTO {} ({}) SELECT {} FROM {}",
        q(&tmp),
        targets.join(", "),
        sources.join(", "),
        q(&before.name)
    ));
    let autoinc = |t: &Table| t.columns.iter().any(|c| c.auto_increment);
    if autoinc(before) && autoinc(after) {
        let mut old = String::new();
        d.string_literal(&before.name, &mut old);
        let mut new = String::new();
        d.string_literal(&tmp, &mut new);
        out.push(format!("DELETE FROM sqlite_sequence WHERE name = {new}"));
        out.push(format!(
            "INSERT INTO sqlite_sequence (name, seq) SELECT {new}, seq FROM sqlite_sequence WHERE name = {old}"
        ));
    }
    out.push(format!("DROP TABLE {}", q(&before.name)));
    out.push("PRAGMA legacy_alter_table = ON".into());
    out.push(format!(
        "ALTER TABLE {} RENAME TO {}",
        q(&tmp),
        q(&after.name)
    ));
    out.push("PRAGMA legacy_alter_table = OFF".into());
    out.extend(after.indexes.iter().map(|i| d.create_index(&after.name, i)));
    out.extend(before.triggers.iter().map(|t| t.sql.clone()));
    out
}

/// The enum values `changes` rename in the column `name` (as named after
/// them), composed in order: one rename from each value the column held
/// before to the value it holds after (a value renamed and renamed back
/// drops out).
fn value_renames(changes: &[Change], name: &str) -> Vec<ValueRename> {
    let mut name = name.to_owned();
    let mut steps: Vec<&[ValueRename]> = Vec::new();
    for c in changes.iter().rev() {
        match c {
            Change::RenameColumn { from, to, .. } if *to == name => name = from.clone(),
            Change::AlterColumn {
                to, renamed_values, ..
            } if to.name == name && !renamed_values.is_empty() => steps.push(renamed_values),
            _ => {}
        }
    }
    let mut out: Vec<ValueRename> = Vec::new();
    for renames in steps.into_iter().rev() {
        for r in renames {
            match out.iter_mut().find(|o| o.to == r.from) {
                Some(o) => o.to = r.to.clone(),
                None => out.push(r.clone()),
            }
        }
    }
    out.retain(|r| r.from != r.to);
    out
}

/// The column of the table before `changes` whose values the column `name`
/// after them holds: renames followed back; `None` for a column added (or
/// dropped and added again) by them, which takes its default.
fn source_column(changes: &[Change], name: &str) -> Option<String> {
    let mut name = name.to_owned();
    for c in changes.iter().rev() {
        match c {
            Change::RenameColumn { from, to, .. } if *to == name => name = from.clone(),
            Change::AddColumn { column, .. } if column.name == name => return None,
            _ => {}
        }
    }
    Some(name)
}
