//! The planner: changes → steps with risk, reason, backup and SQL both ways.
//! Pure apart from the facts it asks for (see [`crate::migrate::facts`]).
//!
//! Kept whole (about 540 lines): planning one change, planning a table rebuild
//! and writing backups share the plan's running schema and are read together.

use crate::backend::capabilities::Capabilities;
use crate::error::Result;
use crate::migrate::dialect::Dialect;
use crate::migrate::diff::{self, Change, Droppable, Hints, ValueRename};
use crate::migrate::facts::{LiveCounts, ProjectedFacts};
use crate::migrate::rebuild;
use crate::migrate::risk::{assess, classify_cast, Cast};
use crate::migrate::schema::{Column, IndexKind, Schema, Table};
use crate::migrate::{MigrateOptions, MigrationStep, Operation, StepPart};

impl Change {
    /// The step kind of this change.
    pub fn operation(&self) -> Operation {
        match self {
            Change::CreateTable { .. } => Operation::CreateTable,
            Change::DropTable { .. } => Operation::DropTable,
            Change::RenameTable { .. } => Operation::RenameTable,
            Change::AddColumn { .. } => Operation::AddColumn,
            Change::DropColumn { .. } => Operation::DropColumn,
            Change::RenameColumn { .. } => Operation::RenameColumn,
            Change::AlterColumn { .. } => Operation::AlterColumn,
            Change::CreateIndex { .. } => Operation::CreateIndex,
            Change::DropIndex { .. } => Operation::DropIndex,
            Change::RenameIndex { .. } => Operation::RenameIndex,
            Change::AddForeignKey { .. } => Operation::AddForeignKey,
            Change::DropForeignKey { .. } => Operation::DropForeignKey,
            Change::AddCheck { .. } => Operation::AddCheck,
            Change::DropCheck { .. } => Operation::DropCheck,
            Change::RebuildTable { .. } => Operation::RebuildTable,
            Change::Unsupported { .. } => Operation::Unsupported,
        }
    }

    /// A short human description for the preview's Details column.
    pub fn detail(&self) -> String {
        let col = |c: &Column| {
            let mut s = format!("{} {}", c.name, c.ty);
            if let Some(n) = c.max_length {
                s.push_str(&format!("({n})"));
            }
            s.push_str(if c.nullable { " NULL" } else { " NOT NULL" });
            if let Some(d) = &c.default {
                s.push_str(&format!(" DEFAULT {d}"));
            }
            if let Some(coll) = &c.collation {
                s.push_str(&format!(" COLLATE {coll}"));
            }
            s
        };
        match self {
            Change::CreateTable { table } => format!(
                "columns {}",
                table
                    .columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Change::DropTable { table } => format!("{} columns", table.columns.len()),
            Change::RenameTable { from, to } => format!("{from} → {to}"),
            Change::AddColumn { column, .. } => col(column),
            Change::DropColumn { column, .. } => col(column),
            Change::RenameColumn { from, to, .. } | Change::RenameIndex { from, to, .. } => {
                format!("{from} → {to}")
            }
            Change::AlterColumn { from, to, .. } => format!("{} → {}", col(from), col(to)),
            Change::CreateIndex { index, .. } | Change::DropIndex { index, .. } => {
                let kind = match &index.kind {
                    IndexKind::BTree => String::new(),
                    IndexKind::Gin => "gin ".into(),
                    IndexKind::TextSearch { language } => format!("text search ({language}) "),
                    IndexKind::Other { method } => format!("{method} "),
                };
                let mut s = format!(
                    "{}{kind}{} ({})",
                    if index.unique { "unique " } else { "" },
                    index.name,
                    index.columns.join(", ")
                );
                if let Some(p) = &index.predicate {
                    s.push_str(&format!(" WHERE {p}"));
                }
                s
            }
            Change::AddForeignKey { foreign_key: f, .. }
            | Change::DropForeignKey { foreign_key: f, .. } => {
                format!(
                    "{} → {}({})",
                    f.column, f.references_table, f.references_column
                )
            }
            Change::AddCheck { check, .. } | Change::DropCheck { check, .. } => {
                format!("{} CHECK ({})", check.name, check.expr)
            }
            Change::RebuildTable { changes, .. } => changes
                .iter()
                .map(|c| format!("{} {}", c.operation(), c.detail()))
                .collect::<Vec<_>>()
                .join("; "),
            Change::Unsupported { detail, .. } => detail.clone(),
        }
    }
}

/// What the planner needs to know.
pub struct PlanInput<'a> {
    /// The live schema (normalised).
    pub live: &'a Schema,
    /// The target schema (normalised).
    pub target: &'a Schema,
    /// Rename hints.
    pub hints: &'a Hints,
    /// Live tables that may be dropped.
    pub droppable: &'a Droppable,
    /// The backend's dialect.
    pub dialect: &'a dyn Dialect,
    /// What the backend's database supports.
    pub capabilities: &'a Capabilities,
    /// The options.
    pub options: &'a MigrateOptions,
    /// The version this plan would be recorded as (names backup tables).
    pub version: &'a str,
    /// Whether steps on existing tables may use the dialect's online rendering.
    pub online: bool,
}

/// Builds the steps of a plan. Changes excluded by the options are left out.
/// Each step's facts are asked of the schema as the steps before it leave it
/// (see [`crate::migrate::facts`]), through `counts` on the live database.
pub fn plan(input: &PlanInput<'_>, counts: &mut dyn LiveCounts) -> Result<Vec<MigrationStep>> {
    let mut changes = diff::diff(input.live, input.target, input.hints, input.droppable);
    if input.capabilities.forward_references {
        changes = inline_new_table_keys(changes);
    }
    let changes = rebuild::group(input.dialect, input.live, changes);
    plan_changes(input, changes, counts)
}

/// Builds the steps for `changes`, which run in this order on `input.live`
/// (`input.target`, `hints` and `droppable` are not read): the planner behind
/// [`plan`], for callers that have their changes already (undoing a
/// migration plans the inverse changes).
pub fn plan_changes(
    input: &PlanInput<'_>,
    changes: Vec<Change>,
    counts: &mut dyn LiveCounts,
) -> Result<Vec<MigrationStep>> {
    let changes = if input.capabilities.forward_references {
        inline_new_table_keys(changes)
    } else {
        changes
    };
    let d = input.dialect;
    let mut facts = ProjectedFacts::new(input.live, d, counts);
    let mut state = input.live.clone();
    let mut steps = Vec::new();
    for change in changes.clone() {
        if let Change::RebuildTable { .. } = change {
            let index = steps.len();
            steps.extend(plan_rebuild(input, change, &mut facts, &mut state, index)?);
            continue;
        }
        let index = steps.len();
        steps.extend(plan_one(
            input, change, &changes, &mut facts, &mut state, index,
        )?);
    }
    Ok(steps)
}

/// Plans one change (not a rebuild group) as step number `index`, unless the
/// options leave it out; `changes` is the whole plan, for the online rendering.
fn plan_one(
    input: &PlanInput<'_>,
    change: Change,
    changes: &[Change],
    facts: &mut ProjectedFacts<'_>,
    state: &mut Schema,
    index: usize,
) -> Result<Option<MigrationStep>> {
    let d = input.dialect;
    let op = change.operation();
    if !input.options.includes(change.table()) || !input.options.allows(op) {
        return Ok(None);
    }
    let mut assessment = assess(&change, facts)?;
    // Only tables that hold rows before the plan need the online rendering.
    let existing = facts.projection().live_table(change.table()).is_some()
        && !matches!(change, Change::CreateTable { .. });
    facts.advance(&change);
    let before = state.clone();
    diff::apply(state, &change);
    let online = if input.online && existing && !needed_by_foreign_key(&change, changes) {
        d.render_online(&change, &before, state, input.options.batch_size)
    } else {
        None
    };
    // The database's own note (locks, rewrites) describes the plain
    // rendering; an online rendering carries its own.
    let (sql_up, sql_online) = match online {
        Some(o) => {
            assessment.reason = format!("{}; online: {}", assessment.reason, o.note);
            (o.in_transaction, o.after_commit)
        }
        None => {
            if let Some(note) = d.risk_note(&change) {
                assessment.reason = format!("{}; {note}", assessment.reason);
            }
            if let Some(why) = d.rebuild_reason(&change, &before) {
                assessment.reason = format!("{}; copies the table ({why})", assessment.reason);
            }
            (d.render_change(&change, &before, state), Vec::new())
        }
    };
    let inverse = change.inverse();
    let mut sql_down = inverse
        .as_ref()
        .map(|inv| d.render_change(inv, state, &before))
        .unwrap_or_default();
    let mut backup = Vec::new();
    let mut irreversible = None;
    if assessment.destructive {
        if input.options.backup {
            let name = format!("_dataflow_backup_{}_{index}", input.version);
            let (b, down) = backup_sql(d, &change, &before, state, &name);
            backup = b;
            if let Some(down) = down {
                sql_down = down;
            }
        } else {
            irreversible =
                Some("applied with backup(false): undoing it cannot restore the data".into());
        }
    }
    Ok(Some(MigrationStep {
        operation: op,
        table: change.table().to_owned(),
        detail: change.detail(),
        risk: assessment.risk,
        reason: assessment.reason,
        blocked: assessment.blocked,
        sql_up,
        sql_down,
        backup,
        irreversible,
        change,
        sql_online,
        online_done: 0,
        undoes: None,
        parts: Vec::new(),
        duration_ms: None,
    }))
}

/// Plans a [`Change::RebuildTable`]: each part judged as a step of its own
/// would be, against the schema it meets; one rendering of the whole copy; one
/// copy back to undo it. Parts the options exclude are left out, and a single
/// part left is planned as itself.
fn plan_rebuild(
    input: &PlanInput<'_>,
    group: Change,
    facts: &mut ProjectedFacts<'_>,
    state: &mut Schema,
    index: usize,
) -> Result<Option<MigrationStep>> {
    let Change::RebuildTable { table, changes } = group else {
        return Ok(None);
    };
    let options = input.options;
    let mut changes: Vec<Change> = changes
        .into_iter()
        .filter(|c| options.includes(c.table()) && options.allows(c.operation()))
        .collect();
    if changes.is_empty() || !options.includes(&table) || !options.allows(Operation::RebuildTable) {
        return Ok(None);
    }
    if changes.len() == 1 {
        let single = PlanInput {
            online: false,
            ..*input
        };
        return plan_one(&single, changes.remove(0), &[], facts, state, index);
    }
    let d = input.dialect;
    let before = state.clone();
    let mut parts = Vec::with_capacity(changes.len());
    let mut destructive = Vec::with_capacity(changes.len());
    for c in &changes {
        let a = assess(c, facts)?;
        let rebuild = d.rebuild_reason(c, state);
        facts.advance(c);
        diff::apply(state, c);
        destructive.push(a.destructive);
        parts.push(StepPart {
            operation: c.operation(),
            subject: rebuild::subject(c),
            detail: c.detail(),
            risk: a.risk,
            reason: a.reason,
            blocked: a.blocked,
            rebuild,
            backed_up: false,
        });
    }
    let group = Change::RebuildTable { table, changes };
    let (risk, reason, blocked) = rebuild::summarize(&parts);
    let sql_up = d.render_change(&group, &before, state);
    let mut sql_down = group
        .inverse()
        .map(|inv| d.render_change(&inv, state, &before))
        .unwrap_or_default();
    let mut backup = Vec::new();
    let mut irreversible = None;
    if destructive.iter().any(|x| *x) {
        if options.backup {
            let names: Vec<Option<String>> = destructive
                .iter()
                .enumerate()
                .map(|(k, x)| x.then(|| format!("_dataflow_backup_{}_{index}_{k}", input.version)))
                .collect();
            let (b, down, kept) = rebuild::backup_and_down(d, &group, &names, &before, state);
            if !b.is_empty() {
                backup = b;
                sql_down = down;
            }
            for (p, k) in parts.iter_mut().zip(kept) {
                p.backed_up = k;
            }
        } else {
            irreversible =
                Some("applied with backup(false): undoing it cannot restore the data".into());
        }
    }
    Ok(Some(MigrationStep {
        operation: Operation::RebuildTable,
        table: group.table().to_owned(),
        detail: group.detail(),
        risk,
        reason,
        blocked,
        sql_up,
        sql_down,
        backup,
        irreversible,
        change: group,
        sql_online: Vec::new(),
        online_done: 0,
        undoes: None,
        parts,
        duration_ms: None,
    }))
}

/// Puts keys that the differ split off tables that reference each other back
/// into the tables, for databases that resolve a key's table only when the
/// key is used: a key added after its table was created goes into the
/// `CREATE TABLE`, a key dropped before its table is dropped stays with it.
fn inline_new_table_keys(changes: Vec<Change>) -> Vec<Change> {
    let dropped: Vec<String> = changes
        .iter()
        .filter_map(|c| match c {
            Change::DropTable { table } => Some(table.name.clone()),
            _ => None,
        })
        .collect();
    let mut out: Vec<Change> = Vec::with_capacity(changes.len());
    let mut kept_keys: Vec<(String, crate::migrate::schema::ForeignKey)> = Vec::new();
    for c in changes {
        match &c {
            Change::AddForeignKey { table, foreign_key } => {
                let created = out.iter_mut().find_map(|o| match o {
                    Change::CreateTable { table: t } if &t.name == table => Some(t),
                    _ => None,
                });
                if let Some(t) = created {
                    t.foreign_keys.push(foreign_key.clone());
                    t.foreign_keys.sort_by(|a, b| a.column.cmp(&b.column));
                    continue;
                }
            }
            Change::DropForeignKey { table, foreign_key } if dropped.contains(table) => {
                kept_keys.push((table.clone(), foreign_key.clone()));
                continue;
            }
            Change::DropTable { table } => {
                let mut table = table.clone();
                table.foreign_keys.extend(
                    kept_keys
                        .iter()
                        .filter(|(t, _)| t == &table.name)
                        .map(|(_, fk)| fk.clone()),
                );
                table.foreign_keys.sort_by(|a, b| a.column.cmp(&b.column));
                out.push(Change::DropTable { table });
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

/// Whether this change must run inside the transaction even in online mode:
/// a unique index that a foreign key added by the same plan references (a key
/// needs its unique index to exist), or the drop of an index whose name such an
/// index takes over.
fn needed_by_foreign_key(change: &Change, changes: &[Change]) -> bool {
    if let Change::DropIndex { index, .. } = change {
        return changes.iter().any(|c| {
            matches!(c, Change::CreateIndex { index: i, .. } if i.name == index.name)
                && needed_by_foreign_key(c, changes)
        });
    }
    let Change::CreateIndex { table, index } = change else {
        return false;
    };
    index.unique
        && changes.iter().any(|c| {
            let fk = match c {
                Change::AddForeignKey { foreign_key, .. } => foreign_key,
                Change::CreateTable { table: t } => {
                    return t.foreign_keys.iter().any(|f| {
                        &f.references_table == table
                            && index.columns == [f.references_column.clone()]
                    })
                }
                _ => return false,
            };
            &fk.references_table == table && index.columns == [fk.references_column.clone()]
        })
}

fn q(d: &dyn Dialect, s: &str) -> String {
    let mut o = String::new();
    d.quote_ident(s, &mut o);
    o
}

/// How backups find a row again: by its primary key's columns, quoted by the
/// dialect. One column reads as before (`"id"`); a composite key compares row
/// values (`("a", "b") IN (SELECT "a", "b" …)`), which both backends have.
pub(crate) struct RowKey {
    columns: Vec<String>,
}

impl RowKey {
    /// The key of `table`, `None` when it has none (its rows cannot be found
    /// again, so nothing is backed up).
    pub(crate) fn of(d: &dyn Dialect, table: &Table) -> Option<RowKey> {
        (!table.primary_key.is_empty()).then(|| RowKey {
            columns: table.primary_key.iter().map(|c| q(d, c)).collect(),
        })
    }

    /// `"a", "b"`: the key as a select list.
    pub(crate) fn list(&self) -> String {
        self.columns.join(", ")
    }

    /// `"a"`, or `("a", "b")`: the left side of `IN (SELECT <list> …)`.
    pub(crate) fn value(&self) -> String {
        match self.columns.as_slice() {
            [one] => one.clone(),
            many => format!("({})", many.join(", ")),
        }
    }

    /// `l."a" = r."a" AND l."b" = r."b"`: the same row in two tables.
    pub(crate) fn same_row(&self, l: &str, r: &str) -> String {
        self.columns
            .iter()
            .map(|c| format!("{l}.{c} = {r}.{c}"))
            .collect::<Vec<_>>()
            .join(" AND ")
    }
}

/// The statements that keep what a destructive change destroys, and the
/// `sql_down` that puts it back.
pub(crate) fn backup_sql(
    d: &dyn Dialect,
    change: &Change,
    before: &Schema,
    after: &Schema,
    name: &str,
) -> (Vec<String>, Option<Vec<String>>) {
    let bk = q(d, name);
    match change {
        Change::DropTable { table } => {
            let t = q(d, &table.name);
            let cols: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
            let mut list = String::new();
            d.ident_list(&cols, &mut list);
            let mut down = d.create_table(table);
            down.push(format!("INSERT INTO {t} ({list}) SELECT {list} FROM {bk}"));
            if let Some(key) = table.columns.iter().find(|c| c.auto_increment) {
                down.extend(d.reset_key_sequence(&table.name, &key.name));
            }
            down.push(d.drop_table(name));
            (
                vec![format!("CREATE TABLE {bk} AS SELECT * FROM {t}")],
                Some(down),
            )
        }
        Change::DropColumn { table, column }
        | Change::AlterColumn {
            table,
            from: column,
            ..
        } => {
            let Some(tb) = before.tables.get(table) else {
                return (Vec::new(), None);
            };
            let Some(key) = RowKey::of(d, tb) else {
                return (Vec::new(), None);
            };
            let (t, c) = (q(d, table), q(d, &column.name));
            let (list, value) = (key.list(), key.value());
            // Making a column NOT NULL (same type) changes only its NULLs: keep
            // just those rows, and put back just those.
            let only_nulls = matches!(change, Change::AlterColumn { from, to, .. }
                if from.ty == to.ty && from.max_length == to.max_length && from.nullable && !to.nullable);
            let (backup, restore) = if only_nulls {
                (
                    vec![format!(
                        "CREATE TABLE {bk} AS SELECT {list} FROM {t} WHERE {c} IS NULL"
                    )],
                    format!("UPDATE {t} SET {c} = NULL WHERE {value} IN (SELECT {list} FROM {bk})"),
                )
            } else {
                (
                    vec![format!("CREATE TABLE {bk} AS SELECT {list}, {c} FROM {t}")],
                    // Only the backed-up rows: a row written since has no old
                    // value, and keeps what it holds (or the re-added
                    // column's default).
                    format!(
                        "UPDATE {t} SET {c} = (SELECT {bk}.{c} FROM {bk} WHERE {}) WHERE {value} IN (SELECT {list} FROM {bk})",
                        key.same_row(&bk, &t)
                    ),
                )
            };
            let mut down = Vec::new();
            match change {
                Change::DropColumn { .. } => {
                    // Re-add it as nullable, refill it, then restore its constraints.
                    let relaxed = Column {
                        nullable: true,
                        ..column.clone()
                    };
                    let add = Change::AddColumn {
                        table: table.clone(),
                        column: relaxed.clone(),
                    };
                    let mut mid = after.clone();
                    diff::apply(&mut mid, &add);
                    down.extend(d.render_change(&add, after, &mid));
                    down.push(restore);
                    if !column.nullable {
                        let tighten = Change::alter(table.clone(), relaxed, column.clone());
                        down.extend(d.render_change(&tighten, &mid, before));
                    }
                    // Indexes the column had come back with the table's own steps.
                }
                // The old values go back while the column is the wider of
                // its two shapes: after a widening, before narrowing it back
                // (so a row whose new value only the wide type holds, such as
                // a filled-in default, fits again once restored); otherwise
                // after widening it back. NULLs go back only into a nullable
                // column, so a column that was nullable is relaxed first.
                Change::AlterColumn {
                    from,
                    to,
                    renamed_values,
                    ..
                } if classify_cast(from, to) == Cast::Widening => {
                    let relaxed = Column {
                        nullable: to.nullable || from.nullable,
                        ..to.clone()
                    };
                    let mut mid = after.clone();
                    if relaxed != *to {
                        let relax = Change::alter(table.clone(), to.clone(), relaxed.clone());
                        diff::apply(&mut mid, &relax);
                        down.extend(d.render_change(&relax, after, &mid));
                    }
                    down.push(restore);
                    let back = Change::AlterColumn {
                        table: table.clone(),
                        from: relaxed,
                        to: from.clone(),
                        renamed_values: ValueRename::inverted(renamed_values),
                    };
                    down.extend(d.render_change(&back, &mid, before));
                }
                Change::AlterColumn { .. } => {
                    if let Some(back) = change.inverse() {
                        down.extend(d.render_change(&back, after, before));
                    }
                    down.push(restore);
                }
                _ => {}
            }
            down.push(d.drop_table(name));
            (backup, Some(down))
        }
        _ => (Vec::new(), None),
    }
}
