//! Table rebuilds as planned steps.
//!
//! Some databases make certain changes only by rebuilding the table: create a
//! table of the new shape, copy every row, drop the old table, rename the new
//! one, recreate its indexes and triggers (SQLite, for a changed column type,
//! nullability or default, a key added or dropped, a key column dropped; see
//! [`SchemaDialect::rebuild_reason`](crate::SchemaDialect::rebuild_reason)). Run once per change, two altered columns of
//! one table would copy the table twice. Here the planner folds every change of
//! one table that needs a rebuild, and the changes to that table in between,
//! into one [`Change::RebuildTable`]: one step in the preview, with each part
//! judged as it would be alone, and one copy when it runs. The dialect spells
//! the copy (SQLite: `dataflow_sqlite::rebuild`).

use crate::migrate::dialect::Dialect;
use crate::migrate::diff::{self, Change};
use crate::migrate::plan::RowKey;
use crate::migrate::schema::{Column, Schema};
use crate::migrate::{MigrationStep, RiskLevel, StepPart};

/// Folds the changes of each table that `d` must rebuild twice or more into
/// one [`Change::RebuildTable`], which takes the place of the last of them and
/// also carries that table's changes in between (the copy makes them too, and
/// keeping their order keeps renames and drops meaning what they say).
/// Changes of other tables keep their order; a table rebuilt for one change
/// only keeps that change as it is.
pub fn group(d: &dyn Dialect, live: &Schema, changes: Vec<Change>) -> Vec<Change> {
    // Which changes need a rebuild, judged on the schema each one meets.
    let mut state = live.clone();
    let mut needs = Vec::with_capacity(changes.len());
    for c in &changes {
        let groupable = !matches!(
            c,
            Change::CreateTable { .. }
                | Change::DropTable { .. }
                | Change::RenameTable { .. }
                | Change::RebuildTable { .. }
                | Change::Unsupported { .. }
        );
        needs.push(groupable && d.rebuild_reason(c, &state).is_some());
        diff::apply(&mut state, c);
    }
    // Per table, the span from its first to its last change that needs one.
    let mut spans: Vec<(String, usize, usize)> = Vec::new();
    for (i, c) in changes.iter().enumerate() {
        if !needs[i] {
            continue;
        }
        match spans.iter_mut().find(|(t, _, _)| t == c.table()) {
            Some(span) => span.2 = i,
            None => spans.push((c.table().to_owned(), i, i)),
        }
    }
    spans.retain(|(_, first, last)| first < last);
    if spans.is_empty() {
        return changes;
    }
    let span_of = |i: usize, c: &Change| {
        spans.iter().position(|(t, first, last)| {
            t == c.table()
                && (*first..=*last).contains(&i)
                && !matches!(
                    c,
                    Change::CreateTable { .. }
                        | Change::DropTable { .. }
                        | Change::RenameTable { .. }
                        | Change::Unsupported { .. }
                )
        })
    };
    let mut parts: Vec<Vec<Change>> = vec![Vec::new(); spans.len()];
    let mut out = Vec::with_capacity(changes.len());
    for (i, c) in changes.into_iter().enumerate() {
        match span_of(i, &c) {
            Some(s) => {
                parts[s].push(c);
                if spans[s].2 == i {
                    out.push(Change::RebuildTable {
                        table: spans[s].0.clone(),
                        changes: std::mem::take(&mut parts[s]),
                    });
                }
            }
            None => out.push(c),
        }
    }
    out
}

/// What one part changes, short ("email", "ix_users_email", "owner_id →
/// owners"): with its operation, it names the part in the step's reason.
pub(crate) fn subject(change: &Change) -> String {
    match change {
        Change::AddColumn { column, .. } | Change::DropColumn { column, .. } => column.name.clone(),
        Change::AlterColumn { to, .. } => to.name.clone(),
        Change::RenameColumn { from, to, .. } | Change::RenameIndex { from, to, .. } => {
            format!("{from} → {to}")
        }
        Change::CreateIndex { index, .. } | Change::DropIndex { index, .. } => index.name.clone(),
        Change::AddForeignKey { foreign_key: f, .. }
        | Change::DropForeignKey { foreign_key: f, .. } => {
            format!("{} → {}", f.column, f.references_table)
        }
        Change::AddCheck { check, .. } | Change::DropCheck { check, .. } => check.name.clone(),
        other => other.table().to_owned(),
    }
}

/// The first line of a rebuild step's reason: how many changes one copy
/// makes, and why the database needs the copy.
pub fn headline(parts: &[StepPart]) -> String {
    let mut why: Vec<&str> = Vec::new();
    for w in parts.iter().filter_map(|p| p.rebuild.as_deref()) {
        if !why.contains(&w) {
            why.push(w);
        }
    }
    format!(
        "one copy of the table for {} changes ({})",
        parts.len(),
        why.join("; ")
    )
}

/// The step's risk, reason and blocked verdict from its parts: the highest
/// risk, every part's reason, every part's block.
pub(crate) fn summarize(parts: &[StepPart]) -> (RiskLevel, String, Option<String>) {
    let risk = parts
        .iter()
        .map(|p| p.risk)
        .max()
        .unwrap_or(RiskLevel::Safe);
    let reasons: Vec<String> = parts
        .iter()
        .map(|p| format!("{} {}: {}", p.operation, p.subject, p.reason))
        .collect();
    let reason = format!("{}: {}", headline(parts), reasons.join(" | "));
    let blocked: Vec<String> = parts
        .iter()
        .filter_map(|p| {
            p.blocked
                .as_ref()
                .map(|b| format!("{} {}: {b}", p.operation, p.subject))
        })
        .collect();
    (
        risk,
        reason,
        (!blocked.is_empty()).then(|| blocked.join("; ")),
    )
}

/// The name a column of `changes[..k]`'s result had before the first change:
/// renames among the earlier parts undone.
fn name_at_start(changes: &[Change], k: usize, name: &str) -> String {
    let mut name = name.to_owned();
    for c in changes[..k].iter().rev() {
        if let Change::RenameColumn { from, to, .. } = c {
            if *to == name {
                name = from.clone();
            }
        }
    }
    name
}

/// For a [`Change::RebuildTable`] from `before` to `after`: the statements that
/// keep, before it runs, what the parts named in `backups` (one optional
/// backup table per part) destroy, and the `sql_down` that copies the table
/// back once and puts the kept values back. A dropped `NOT NULL` column
/// without a default comes back nullable, is refilled, and is then made
/// `NOT NULL` by a second copy. Parts whose table has no primary key cannot
/// be backed up: their entry in the returned flags is false.
pub(crate) fn backup_and_down(
    d: &dyn Dialect,
    group: &Change,
    backups: &[Option<String>],
    before: &Schema,
    after: &Schema,
) -> (Vec<String>, Vec<String>, Vec<bool>) {
    let Change::RebuildTable { table, changes } = group else {
        return (Vec::new(), Vec::new(), Vec::new());
    };
    let q = |s: &str| {
        let mut o = String::new();
        d.quote_ident(s, &mut o);
        o
    };
    let mut flags = vec![false; changes.len()];
    let Some(key) = before.tables.get(table).and_then(|t| RowKey::of(d, t)) else {
        return (Vec::new(), Vec::new(), flags);
    };
    let (list, value) = (key.list(), key.value());
    let mut relaxed = before.clone();
    let mut tighten: Vec<Change> = Vec::new();
    let (mut backup, mut restores, mut drops) = (Vec::new(), Vec::new(), Vec::new());
    for (k, (c, name)) in changes.iter().zip(backups).enumerate() {
        let Some(name) = name else { continue };
        let (column, only_nulls) = match c {
            Change::DropColumn { column, .. } => (column, false),
            Change::AlterColumn { from, to, .. } => (
                from,
                from.ty == to.ty
                    && from.max_length == to.max_length
                    && from.nullable
                    && !to.nullable,
            ),
            _ => continue,
        };
        flags[k] = true;
        let col = name_at_start(changes, k, &column.name);
        let (t, cq, bk) = (q(table), q(&col), q(name));
        if only_nulls {
            backup.push(format!(
                "CREATE TABLE {bk} AS SELECT {list} FROM {t} WHERE {cq} IS NULL"
            ));
            restores.push(format!(
                "UPDATE {t} SET {cq} = NULL WHERE {value} IN (SELECT {list} FROM {bk})"
            ));
        } else {
            backup.push(format!("CREATE TABLE {bk} AS SELECT {list}, {cq} FROM {t}"));
            // Only the backed-up rows: a row written since has no old value.
            restores.push(format!(
                "UPDATE {t} SET {cq} = (SELECT {bk}.{cq} FROM {bk} WHERE {}) WHERE {value} IN (SELECT {list} FROM {bk})",
                key.same_row(&bk, &t)
            ));
        }
        drops.push(d.drop_table(name));
        if matches!(c, Change::DropColumn { .. }) && !column.nullable && column.default.is_none() {
            // Copied back without values, it must accept NULL until refilled.
            let Some(c) = relaxed
                .tables
                .get_mut(table)
                .and_then(|t| t.columns.iter_mut().find(|c| c.name == col))
            else {
                continue;
            };
            c.nullable = true;
            let from: Column = c.clone();
            let to = Column {
                nullable: false,
                ..from.clone()
            };
            tighten.push(Change::alter(table.clone(), from, to));
        }
    }
    let mut down = group
        .inverse()
        .map(|inv| d.render_change(&inv, after, &relaxed))
        .unwrap_or_default();
    down.extend(restores);
    if !tighten.is_empty() {
        let again = if tighten.len() == 1 {
            tighten.remove(0)
        } else {
            Change::RebuildTable {
                table: table.clone(),
                changes: tighten,
            }
        };
        down.extend(d.render_change(&again, &relaxed, before));
    }
    down.extend(drops);
    (backup, down, flags)
}

/// For a rollback `step` that undoes the [`Change::RebuildTable`] step
/// `forward`, which backed up what some parts destroy: the rollback runs
/// `forward`'s `sql_down` (one copy back, the kept values put back), so those
/// parts are judged as restores — a dropped column comes back with its values
/// (SAFE), an altered column's old values overwrite what its rows hold now
/// (at least MEDIUM; kept first in a backup of the rollback's own, named from
/// `backup`, so undoing the rollback puts them back) — and the step as the
/// sum of its parts. `before`/`after`: the schema around the rollback step.
pub(crate) fn restore_parts(
    d: &dyn Dialect,
    step: &mut MigrationStep,
    forward: &MigrationStep,
    before: &Schema,
    after: &Schema,
    backup: Option<String>,
) {
    let Change::RebuildTable { changes: done, .. } = &forward.change else {
        return;
    };
    let n = done.len();
    if step.parts.len() != n || forward.parts.len() != n {
        return;
    }
    let name = |i: usize| match &backup {
        Some(name) => format!("{name}_{i}"),
        None => String::new(),
    };
    // What the rollback itself destroys is kept as the planner decided.
    let mut keep: Vec<Option<String>> = step
        .parts
        .iter()
        .enumerate()
        .map(|(i, p)| p.backed_up.then(|| name(i)))
        .collect();
    // The rollback's parts undo the forward step's in reverse order.
    let undone = done.iter().zip(&forward.parts).rev();
    for (i, ((change, was), part)) in undone.zip(&mut step.parts).enumerate() {
        if !was.backed_up {
            continue;
        }
        match change {
            Change::DropColumn { table, column } => {
                part.risk = RiskLevel::Safe;
                part.blocked = None;
                part.reason = format!("restores {table}.{} and its backed-up values", column.name);
            }
            Change::AlterColumn { table, from, .. } => {
                part.risk = part.risk.max(RiskLevel::Medium);
                part.reason = format!(
                    "{}; puts back the backed-up values of {table}.{}, overwriting what those rows hold now",
                    part.reason, from.name
                );
                keep[i] = Some(name(i));
            }
            _ => {}
        }
    }
    let (risk, reason, blocked) = summarize(&step.parts);
    step.risk = risk;
    step.reason = reason;
    step.blocked = blocked;
    if keep.iter().all(Option::is_none) {
        return;
    }
    if backup.is_none() {
        for p in &mut step.parts {
            p.backed_up = false;
        }
        step.irreversible = Some(
            "rolled back with backup(false): undoing the rollback cannot restore the values it overwrote".into(),
        );
        return;
    }
    let (b, down, kept) = backup_and_down(d, &step.change, &keep, before, after);
    if !b.is_empty() {
        step.backup = b;
        step.sql_down = down;
    }
    for (p, k) in step.parts.iter_mut().zip(kept) {
        p.backed_up = k;
    }
}
