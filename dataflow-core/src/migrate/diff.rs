//! The differ: pure functions from (live schema, target schema, hints) to an
//! ordered list of [`Change`]s, plus applying and inverting a change.
//!
//! Kept whole (about 630 lines): the [`Change`] type, the diff that produces it,
//! and `apply` / `inverse` must agree variant by variant.
//!
//! Renames are never guessed: a column or table that disappears while another
//! appears is a drop plus an add unless the model says `renamed_from`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::migrate::schema::{Check, Column, ForeignKey, Index, Schema, Table};
use crate::model::descriptor::ModelDescriptor;

/// One schema change. Plain, serialisable data: plans, history rows and migration
/// files are made of these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// Create a table (with its indexes and foreign keys).
    CreateTable {
        /// The new table.
        table: Table,
    },
    /// Drop a table.
    DropTable {
        /// The table as it was.
        table: Table,
    },
    /// Rename a table.
    RenameTable {
        /// Old name.
        from: String,
        /// New name.
        to: String,
    },
    /// Add a column.
    AddColumn {
        /// Table name.
        table: String,
        /// The new column.
        column: Column,
    },
    /// Drop a column.
    DropColumn {
        /// Table name.
        table: String,
        /// The column as it was.
        column: Column,
    },
    /// Rename a column.
    RenameColumn {
        /// Table name.
        table: String,
        /// Old name.
        from: String,
        /// New name.
        to: String,
    },
    /// Change a column's type, nullability, default, length or allowed
    /// (enum) values.
    AlterColumn {
        /// Table name.
        table: String,
        /// The column before.
        from: Column,
        /// The column after (same name).
        to: Column,
        /// Enum values renamed by hints: rows holding a `from` value are
        /// rewritten to its `to` (each `from` is a value of `from` only, each
        /// `to` of `to` only).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        renamed_values: Vec<ValueRename>,
    },
    /// Create an index.
    CreateIndex {
        /// Table name.
        table: String,
        /// The index.
        index: Index,
    },
    /// Drop an index.
    DropIndex {
        /// Table name.
        table: String,
        /// The index as it was.
        index: Index,
    },
    /// Rename an index whose definition stays (its name followed a renamed
    /// table or column): the index is kept, never dropped and built again.
    RenameIndex {
        /// Table name.
        table: String,
        /// Old name.
        from: String,
        /// New name.
        to: String,
    },
    /// Add a foreign key.
    AddForeignKey {
        /// Table name.
        table: String,
        /// The key.
        foreign_key: ForeignKey,
    },
    /// Drop a foreign key.
    DropForeignKey {
        /// Table name.
        table: String,
        /// The key as it was.
        foreign_key: ForeignKey,
    },
    /// Add a `CHECK` constraint.
    AddCheck {
        /// Table name.
        table: String,
        /// The check.
        check: Check,
    },
    /// Drop a `CHECK` constraint.
    DropCheck {
        /// Table name.
        table: String,
        /// The check as it was.
        check: Check,
    },
    /// Changes to one table that the database makes only by rebuilding the
    /// table (a new table of the final shape, one copy, a swap), grouped so the
    /// table is copied once. Built by the planner, never by the differ; see
    /// [`crate::migrate::rebuild`].
    RebuildTable {
        /// Table name.
        table: String,
        /// The changes, in the order they describe (each is judged on its own).
        changes: Vec<Change>,
    },
    /// A difference dataflow cannot migrate (e.g. a changed primary key).
    Unsupported {
        /// Table name.
        table: String,
        /// What differs.
        detail: String,
    },
}

/// A stored value of an enum column renamed by a migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueRename {
    /// The value rows hold before.
    pub from: String,
    /// The value they hold after.
    pub to: String,
}

impl ValueRename {
    /// The renames that undo `renames`.
    pub fn inverted(renames: &[ValueRename]) -> Vec<ValueRename> {
        renames
            .iter()
            .map(|r| ValueRename {
                from: r.to.clone(),
                to: r.from.clone(),
            })
            .collect()
    }
}

impl Change {
    /// An [`Change::AlterColumn`] that renames no enum value.
    pub fn alter(table: impl Into<String>, from: Column, to: Column) -> Change {
        Change::AlterColumn {
            table: table.into(),
            from,
            to,
            renamed_values: Vec::new(),
        }
    }

    /// The table the change touches (the new name for a rename).
    pub fn table(&self) -> &str {
        match self {
            Change::CreateTable { table } | Change::DropTable { table } => &table.name,
            Change::RenameTable { to, .. } => to,
            Change::AddColumn { table, .. }
            | Change::DropColumn { table, .. }
            | Change::RenameColumn { table, .. }
            | Change::AlterColumn { table, .. }
            | Change::CreateIndex { table, .. }
            | Change::DropIndex { table, .. }
            | Change::RenameIndex { table, .. }
            | Change::AddForeignKey { table, .. }
            | Change::DropForeignKey { table, .. }
            | Change::AddCheck { table, .. }
            | Change::DropCheck { table, .. }
            | Change::RebuildTable { table, .. }
            | Change::Unsupported { table, .. } => table,
        }
    }

    /// The change that undoes this one (`None` for `Unsupported`).
    pub fn inverse(&self) -> Option<Change> {
        Some(match self.clone() {
            Change::CreateTable { table } => Change::DropTable { table },
            Change::DropTable { table } => Change::CreateTable { table },
            Change::RenameTable { from, to } => Change::RenameTable { from: to, to: from },
            Change::AddColumn { table, column } => Change::DropColumn { table, column },
            Change::DropColumn { table, column } => Change::AddColumn { table, column },
            Change::RenameColumn { table, from, to } => Change::RenameColumn {
                table,
                from: to,
                to: from,
            },
            Change::AlterColumn {
                table,
                from,
                to,
                renamed_values,
            } => Change::AlterColumn {
                table,
                from: to,
                to: from,
                renamed_values: ValueRename::inverted(&renamed_values),
            },
            Change::CreateIndex { table, index } => Change::DropIndex { table, index },
            Change::DropIndex { table, index } => Change::CreateIndex { table, index },
            Change::RenameIndex { table, from, to } => Change::RenameIndex {
                table,
                from: to,
                to: from,
            },
            Change::AddForeignKey { table, foreign_key } => {
                Change::DropForeignKey { table, foreign_key }
            }
            Change::DropForeignKey { table, foreign_key } => {
                Change::AddForeignKey { table, foreign_key }
            }
            Change::AddCheck { table, check } => Change::DropCheck { table, check },
            Change::DropCheck { table, check } => Change::AddCheck { table, check },
            Change::RebuildTable { table, changes } => Change::RebuildTable {
                table,
                changes: changes
                    .iter()
                    .rev()
                    .map(Change::inverse)
                    .collect::<Option<Vec<_>>>()?,
            },
            Change::Unsupported { .. } => return None,
        })
    }

    /// Execution rank: table renames first (every later step, drops included,
    /// names the table by its new name), then drops of constraints, column
    /// renames, index renames (after the drops that free their new names),
    /// creations, column changes, new indexes, keys and checks (after the
    /// columns they name exist); table drops last.
    fn rank(&self) -> u8 {
        match self {
            Change::RenameTable { .. } => 0,
            Change::DropForeignKey { .. } | Change::DropCheck { .. } => 1,
            Change::DropIndex { .. } => 2,
            Change::RenameColumn { .. } => 3,
            Change::RenameIndex { .. } => 4,
            Change::CreateTable { .. } => 5,
            Change::AddColumn { .. } => 6,
            Change::AlterColumn { .. } | Change::RebuildTable { .. } => 7,
            Change::DropColumn { .. } => 8,
            Change::CreateIndex { .. } => 9,
            Change::AddForeignKey { .. } | Change::AddCheck { .. } => 10,
            Change::DropTable { .. } => 11,
            Change::Unsupported { .. } => 12,
        }
    }
}

/// Rename hints from the models' `renamed_from` attributes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hints {
    /// New table name → previous name.
    pub tables: BTreeMap<String, String>,
    /// (table, new column name) → previous column name.
    pub columns: BTreeMap<(String, String), String>,
    /// (table, column) → enum values renamed, previous name to current.
    pub values: BTreeMap<(String, String), Vec<ValueRename>>,
}

impl Hints {
    /// Collects the hints of a set of models.
    pub fn from_descriptors<'a>(models: impl IntoIterator<Item = &'a ModelDescriptor>) -> Hints {
        let mut h = Hints::default();
        for m in models {
            if let Some(old) = m.renamed_from {
                h.tables.insert(m.table.to_owned(), old.to_owned());
            }
            for c in m.columns {
                if let Some(old) = c.renamed_from {
                    h.columns
                        .insert((m.table.to_owned(), c.name.to_owned()), old.to_owned());
                }
                if let Some(e) = c.enum_type.filter(|e| !e.renamed.is_empty()) {
                    h.values.insert(
                        (m.table.to_owned(), c.name.to_owned()),
                        e.renamed
                            .iter()
                            .map(|(from, to)| ValueRename {
                                from: (*from).to_owned(),
                                to: (*to).to_owned(),
                            })
                            .collect(),
                    );
                }
            }
        }
        h
    }
}

/// Which live tables the differ may drop (those dataflow created and no model
/// declares any more, when the caller declares its model set complete).
pub type Droppable = BTreeSet<String>;

/// Differences from `live` to `target`, ordered so each step can run after the
/// previous ones. Live tables that are not in `target` are dropped only when
/// listed in `droppable`; otherwise they are left alone.
pub fn diff(live: &Schema, target: &Schema, hints: &Hints, droppable: &Droppable) -> Vec<Change> {
    let mut changes = Vec::new();
    // Hinted table renames first; every other comparison sees the new names
    // (the database rewrites references to a renamed table itself).
    let mut live = live.clone();
    for (new, old) in &hints.tables {
        if target.tables.contains_key(new)
            && !live.tables.contains_key(new)
            && !target.tables.contains_key(old)
        {
            if let Some(mut t) = live.tables.remove(old) {
                t.name = new.clone();
                live.tables.insert(new.clone(), t);
                for t in live.tables.values_mut() {
                    rename_references(t, old, new);
                }
                changes.push(Change::RenameTable {
                    from: old.clone(),
                    to: new.clone(),
                });
            }
        }
    }
    // Keys that reference a column renamed by a hint follow it (the database
    // rewrites them itself), so they are compared under the new name.
    let renamed_columns: Vec<(&String, String, String)> = target
        .tables
        .iter()
        .filter_map(|(name, t)| Some((name, live.tables.get(name)?, t)))
        .flat_map(|(name, l, t)| {
            column_renames(l, t, hints)
                .into_iter()
                .map(move |(from, to)| (name, from, to))
        })
        .collect();
    for (table, from, to) in &renamed_columns {
        for other in live.tables.values_mut() {
            rename_column_references(other, table, from, to);
        }
    }
    let mut created: Vec<&Table> = Vec::new();
    for (name, t) in &target.tables {
        match live.tables.get(name) {
            Some(l) => diff_table(l, t, hints, &mut changes),
            None => created.push(t),
        }
    }
    // New tables in foreign-key order.
    let created_schema = Schema {
        tables: created
            .iter()
            .map(|t| (t.name.clone(), (*t).clone()))
            .collect(),
    };
    // A key to a new table not created yet (tables that reference each
    // other) is added once both exist.
    let mut later_keys = Vec::new();
    let mut made: BTreeSet<&str> = BTreeSet::new();
    for t in crate::migrate::creation_order(&created_schema) {
        let mut table = t.clone();
        table.foreign_keys.retain(|fk| {
            let forward = fk.references_table != t.name
                && created_schema.tables.contains_key(&fk.references_table)
                && !made.contains(fk.references_table.as_str());
            if forward {
                later_keys.push(Change::AddForeignKey {
                    table: t.name.clone(),
                    foreign_key: fk.clone(),
                });
            }
            !forward
        });
        made.insert(&t.name);
        changes.push(Change::CreateTable { table });
    }
    changes.extend(later_keys);
    // Drops: referrers before the tables they reference.
    let drop_schema = Schema {
        tables: live
            .tables
            .values()
            .filter(|t| !target.tables.contains_key(&t.name) && droppable.contains(&t.name))
            .map(|t| (t.name.clone(), t.clone()))
            .collect(),
    };
    let mut order = crate::migrate::creation_order(&drop_schema);
    order.reverse();
    // A key of a table dropped later that references one dropped earlier
    // (tables that reference each other) is dropped first: the mirror of
    // creating such tables, so undoing the drops creates them and then adds
    // the keys.
    let mut drops: Vec<Change> = Vec::new();
    for (i, t) in order.iter().enumerate() {
        let mut table = (*t).clone();
        table.foreign_keys.retain(|fk| {
            let earlier = fk.references_table != t.name
                && order[..i].iter().any(|d| d.name == fk.references_table);
            if earlier {
                changes.push(Change::DropForeignKey {
                    table: t.name.clone(),
                    foreign_key: fk.clone(),
                });
            }
            !earlier
        });
        drops.push(Change::DropTable { table });
    }
    // Stable sort keeps the within-rank order established above.
    changes.sort_by_key(Change::rank);
    changes.extend(drops);
    changes
}

fn rename_references(t: &mut Table, from: &str, to: &str) {
    for fk in &mut t.foreign_keys {
        if fk.references_table == from {
            fk.references_table = to.to_owned();
        }
    }
}

/// The hinted column renames from `live` to `target` (same table), old name
/// to new, in the target's column order.
fn column_renames(live: &Table, target: &Table, hints: &Hints) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for c in &target.columns {
        if live.column(&c.name).is_some() {
            continue;
        }
        if let Some(old) = hints.columns.get(&(target.name.clone(), c.name.clone())) {
            if target.column(old).is_none()
                && live.column(old).is_some()
                && !out.iter().any(|(from, _)| from == old)
            {
                out.push((old.clone(), c.name.clone()));
            }
        }
    }
    out
}

/// The hinted enum-value renames that apply from `live` to `target`: the
/// previous value is allowed live and not in the target, the new one the
/// reverse (a hint already carried out, or naming values the column never
/// had, is ignored).
fn value_renames(
    live: &Column,
    target: &Column,
    hints: Option<&Vec<ValueRename>>,
) -> Vec<ValueRename> {
    let (Some(hints), Some(old), Some(new)) = (hints, &live.enum_values, &target.enum_values)
    else {
        return Vec::new();
    };
    hints
        .iter()
        .filter(|r| {
            old.contains(&r.from)
                && !new.contains(&r.from)
                && new.contains(&r.to)
                && !old.contains(&r.to)
        })
        .cloned()
        .collect()
}

fn rename_column_references(t: &mut Table, table: &str, from: &str, to: &str) {
    for fk in &mut t.foreign_keys {
        if fk.references_table == table && fk.references_column == from {
            fk.references_column = to.to_owned();
        }
    }
}

fn diff_table(live: &Table, target: &Table, hints: &Hints, out: &mut Vec<Change>) {
    let name = &target.name;
    // Column renames first, so later comparisons see the new names.
    let renames: BTreeMap<String, String> =
        column_renames(live, target, hints).into_iter().collect();
    let renamed = |c: &str| renames.get(c).cloned().unwrap_or_else(|| c.to_owned());
    let live_pk: Vec<String> = live.primary_key.iter().map(|c| renamed(c)).collect();
    if live_pk != target.primary_key {
        out.push(Change::Unsupported {
            table: name.clone(),
            detail: format!(
                "primary key ({}) → ({}): changing a primary key is not supported",
                live.primary_key.join(", "),
                target.primary_key.join(", ")
            ),
        });
        return;
    }
    let mut live_cols: Vec<Column> = live.columns.clone();
    for c in &target.columns {
        let Some(old) = renames
            .iter()
            .find(|(_, to)| *to == &c.name)
            .map(|(from, _)| from)
        else {
            continue;
        };
        if let Some(lc) = live_cols.iter_mut().find(|lc| &lc.name == old) {
            out.push(Change::RenameColumn {
                table: name.clone(),
                from: old.clone(),
                to: c.name.clone(),
            });
            lc.name = c.name.clone();
        }
    }

    for c in &target.columns {
        match live_cols.iter().find(|l| l.name == c.name) {
            None => out.push(Change::AddColumn {
                table: name.clone(),
                column: c.clone(),
            }),
            Some(l) if l != c => out.push(Change::AlterColumn {
                table: name.clone(),
                from: l.clone(),
                to: c.clone(),
                renamed_values: value_renames(
                    l,
                    c,
                    hints.values.get(&(name.clone(), c.name.clone())),
                ),
            }),
            Some(_) => {}
        }
    }
    for l in &live_cols {
        if target.column(&l.name).is_none() {
            out.push(Change::DropColumn {
                table: name.clone(),
                column: l.clone(),
            });
        }
    }

    // Compare through the renames, but drop what the database has: drops run
    // before renames, so they must name the columns as they are.
    let live_indexes: Vec<(Index, Index)> = live
        .indexes
        .iter()
        .map(|i| {
            let seen = Index {
                columns: i.columns.iter().map(|c| renamed(c)).collect(),
                ..i.clone()
            };
            (i.clone(), seen)
        })
        .collect();
    // An index whose definition stays while its name changes (a name derived
    // from a renamed table or column) is renamed, never rebuilt: a rebuild
    // leaves the column without its uniqueness while it runs.
    let mut taken: Vec<&Index> = Vec::new();
    for (orig, seen) in &live_indexes {
        if target.indexes.contains(seen) {
            continue;
        }
        let same = target.indexes.iter().find(|i| {
            !taken.contains(i)
                && !live_indexes.iter().any(|(_, s)| s == *i)
                && &Index {
                    name: i.name.clone(),
                    ..seen.clone()
                } == *i
                // A name a live index holds (a swap of names) is freed only
                // by dropping that index: build it again instead.
                && !live.indexes.iter().any(|l| l.name == i.name)
        });
        match same {
            Some(i) => {
                taken.push(i);
                out.push(Change::RenameIndex {
                    table: name.clone(),
                    from: orig.name.clone(),
                    to: i.name.clone(),
                });
            }
            None => out.push(Change::DropIndex {
                table: name.clone(),
                index: orig.clone(),
            }),
        }
    }
    for i in &target.indexes {
        if !live_indexes.iter().any(|(_, seen)| seen == i) && !taken.contains(&i) {
            out.push(Change::CreateIndex {
                table: name.clone(),
                index: i.clone(),
            });
        }
    }

    let live_fks: Vec<(ForeignKey, ForeignKey)> = live
        .foreign_keys
        .iter()
        .map(|f| {
            let seen = ForeignKey {
                column: renamed(&f.column),
                ..f.clone()
            };
            (f.clone(), seen)
        })
        .collect();
    for (orig, seen) in &live_fks {
        if !target.foreign_keys.contains(seen) {
            out.push(Change::DropForeignKey {
                table: name.clone(),
                foreign_key: orig.clone(),
            });
        }
    }
    for f in &target.foreign_keys {
        if !live_fks.iter().any(|(_, seen)| seen == f) {
            out.push(Change::AddForeignKey {
                table: name.clone(),
                foreign_key: f.clone(),
            });
        }
    }

    // Checks are matched by name; a changed condition is a drop and an add
    // (the new condition is verified against the rows like any new check).
    for c in &live.checks {
        if !target.checks.contains(c) {
            out.push(Change::DropCheck {
                table: name.clone(),
                check: c.clone(),
            });
        }
    }
    for c in &target.checks {
        if !live.checks.contains(c) {
            out.push(Change::AddCheck {
                table: name.clone(),
                check: c.clone(),
            });
        }
    }
}

/// Applies a change to a schema (the schema the database has after the step).
pub fn apply(schema: &mut Schema, change: &Change) {
    match change {
        Change::CreateTable { table } => {
            schema.tables.insert(table.name.clone(), table.clone());
        }
        Change::DropTable { table } => {
            schema.tables.remove(&table.name);
        }
        Change::RenameTable { from, to } => {
            if let Some(mut t) = schema.tables.remove(from) {
                t.name = to.clone();
                schema.tables.insert(to.clone(), t);
            }
            for t in schema.tables.values_mut() {
                rename_references(t, from, to);
            }
        }
        Change::Unsupported { .. } => {}
        Change::RebuildTable { changes, .. } => {
            for c in changes {
                apply(schema, c);
            }
        }
        other => {
            let Some(t) = schema.tables.get_mut(other.table()) else {
                return;
            };
            match other {
                Change::AddColumn { column, .. } => t.columns.push(column.clone()),
                Change::DropColumn { column, .. } => t.columns.retain(|c| c.name != column.name),
                Change::RenameColumn { from, to, .. } => {
                    for c in &mut t.columns {
                        if &c.name == from {
                            c.name = to.clone();
                        }
                    }
                    for i in &mut t.indexes {
                        for c in &mut i.columns {
                            if c == from {
                                *c = to.clone();
                            }
                        }
                    }
                    for f in &mut t.foreign_keys {
                        if &f.column == from {
                            f.column = to.clone();
                        }
                    }
                    for k in &mut t.primary_key {
                        if k == from {
                            *k = to.clone();
                        }
                    }
                    let table = t.name.clone();
                    for other in schema.tables.values_mut() {
                        rename_column_references(other, &table, from, to);
                    }
                }
                Change::AlterColumn { to, .. } => {
                    if let Some(c) = t.columns.iter_mut().find(|c| c.name == to.name) {
                        *c = to.clone();
                    }
                }
                Change::CreateIndex { index, .. } => {
                    t.indexes.push(index.clone());
                    t.indexes.sort_by(|a, b| a.name.cmp(&b.name));
                }
                Change::DropIndex { index, .. } => t.indexes.retain(|i| i.name != index.name),
                Change::RenameIndex { from, to, .. } => {
                    for i in &mut t.indexes {
                        if &i.name == from {
                            i.name = to.clone();
                        }
                    }
                    t.indexes.sort_by(|a, b| a.name.cmp(&b.name));
                }
                Change::AddForeignKey { foreign_key, .. } => {
                    t.foreign_keys.push(foreign_key.clone());
                    t.foreign_keys.sort_by(|a, b| a.column.cmp(&b.column));
                }
                Change::DropForeignKey { foreign_key, .. } => {
                    t.foreign_keys.retain(|f| f != foreign_key)
                }
                Change::AddCheck { check, .. } => {
                    t.checks.push(check.clone());
                    t.checks.sort_by(|a, b| a.name.cmp(&b.name));
                }
                Change::DropCheck { check, .. } => t.checks.retain(|c| c != check),
                _ => {}
            }
        }
    }
}
