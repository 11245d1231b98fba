//! Tables dataflow did not create. Existing-schema mode
//! ([`MigrateOptions::existing_schema`]) checks that every registered model
//! can work on its table — columns present, with compatible types and
//! nullability — without altering anything; [`adopt`](crate::DataFlow::adopt)
//! hands tables over: it records their schema as a baseline migration and
//! lists them as dataflow's, so `prune(true)` may drop them once their model is
//! gone, as it may a table dataflow created. Tables never adopted nor created
//! by dataflow are never dropped.

use crate::error::{Error, Result};
use crate::migrate::apply::new_version;
use crate::migrate::diff::Change;
use crate::migrate::handle::MigrateHandle;
use crate::migrate::history::{self, MigrationRecord, MigrationStatus};
use crate::migrate::live::full_plan;
use crate::migrate::schema::{Column, Schema, Table};
use crate::migrate::{MigrateOptions, MigrationReport};
use crate::model::value::LogicalType as T;

fn int_width(t: T) -> Option<u8> {
    match t {
        T::SmallInt => Some(2),
        T::Int => Some(4),
        T::BigInt => Some(8),
        _ => None,
    }
}

/// Whether a field of type `model` reads and writes a column of type `live`
/// without losing values: the same type, a wider integer, or a double over a
/// float.
fn type_fits(model: T, live: T) -> bool {
    model == live
        || matches!((int_width(model), int_width(live)), (Some(m), Some(l)) if m >= l)
        || (model == T::Double && live == T::Float)
}

fn column_problems(table: &str, model: &Column, live: &Column, key: bool, out: &mut Vec<String>) {
    if !type_fits(model.ty, live.ty) {
        out.push(format!(
            "{table}.{}: the column is {} in the database, the field is {}",
            model.name, live.ty, model.ty
        ));
    }
    if live.nullable && !model.nullable && !key {
        out.push(format!(
            "{table}.{}: the column allows NULL, the field is not an Option",
            model.name
        ));
    }
}

/// Why each model of `target` cannot work on its table in `live`: empty when
/// every one can. Differences that do not stop reads and writes (indexes,
/// defaults, extra nullable columns, lengths) are not problems.
pub fn incompatibilities(live: &Schema, target: &Schema, options: &MigrateOptions) -> Vec<String> {
    let mut out = Vec::new();
    for t in target.tables.values().filter(|t| options.includes(&t.name)) {
        let Some(l) = live.tables.get(&t.name) else {
            out.push(format!("{}: the table does not exist", t.name));
            continue;
        };
        table_problems(l, t, &mut out);
    }
    out
}

fn table_problems(live: &Table, model: &Table, out: &mut Vec<String>) {
    let name = &model.name;
    let key = &model.primary_key;
    for c in &model.columns {
        match live.column(&c.name) {
            None => out.push(format!("{name}.{}: the column does not exist", c.name)),
            Some(l) => column_problems(name, c, l, key.contains(&c.name), out),
        }
    }
    for l in &live.columns {
        if model.column(&l.name).is_none()
            && !l.nullable
            && l.default.is_none()
            && !l.auto_increment
        {
            out.push(format!(
                "{name}.{}: NOT NULL without a default and not in the model, so inserts would fail",
                l.name
            ));
        }
    }
    // Uniqueness over a set of columns does not depend on their order.
    let same_columns =
        |cols: &[String]| cols.len() == key.len() && key.iter().all(|k| cols.contains(k));
    let unique_key = same_columns(&live.primary_key)
        || live
            .indexes
            .iter()
            .any(|i| i.unique && i.predicate.is_none() && same_columns(&i.columns));
    if !unique_key {
        out.push(format!(
            "{name}.{}: the model's key is neither the table's primary key nor unique",
            key.join(", ")
        ));
    }
    let [key] = key.as_slice() else {
        // A composite key is never auto-increment.
        return;
    };
    if let (Some(m), Some(l)) = (model.column(key), live.column(key)) {
        if m.auto_increment && !l.auto_increment && l.default.is_none() {
            out.push(format!(
                "{name}.{key}: the database does not assign it, but the model's key is auto-increment (declare `auto_increment = false`)"
            ));
        }
    }
}

impl dyn MigrateHandle + '_ {
    /// Existing-schema mode: checks the models against the live tables and
    /// returns the plan a migration would make, never applied (the database
    /// is not touched, dataflow's own tables are not created). A model that
    /// cannot work on its table is `Error::Drift` listing why.
    pub(crate) fn verify_existing(&self, options: &MigrateOptions) -> Result<MigrationReport> {
        self.with_conn(|conn| {
            let live = self.describe_with(conn)?;
            let problems = incompatibilities(&live, &self.target_schema(), options);
            if !problems.is_empty() {
                return Err(Error::Drift {
                    differences: problems,
                });
            }
            Ok(full_plan(self, conn, options, &new_version())?.report)
        })
    }

    /// Behind [`DataFlow::adopt`](crate::DataFlow::adopt).
    pub fn adopt(&self, tables: &[String], options: &MigrateOptions) -> Result<MigrationReport> {
        if tables.is_empty() {
            return Err(Error::InvalidInput("adopt: name at least one table".into()));
        }
        let d = self.dialect();
        let version = new_version();
        let mut adopted: Vec<String> = Vec::new();
        self.backend().with_migration(options.lock_timeout, &mut |conn| {
            adopted.clear();
            let live = self.describe_with(conn)?;
            if let Some(missing) = tables.iter().find(|t| !live.tables.contains_key(*t)) {
                return Err(Error::InvalidInput(format!(
                    "adopt: the database has no table `{missing}`"
                )));
            }
            let scoped = options.clone().include_tables(tables.iter().cloned());
            let plan = full_plan(self, conn, &scoped, &version)?.report;
            if !plan.steps.is_empty() {
                return Err(Error::Drift {
                    differences: plan
                        .steps
                        .iter()
                        .map(|s| {
                            format!(
                                "{}: {} ({}); adopt records the tables as they are, so the models must match them first",
                                s.table, s.operation, s.detail
                            )
                        })
                        .collect(),
                });
            }
            history::ensure(self, conn)?;
            let owned = history::owned(self, conn)?;
            let mut baseline = Schema::default();
            for name in tables {
                if owned.contains(name) || adopted.contains(name) {
                    continue;
                }
                let table = live.tables[name].clone();
                history::track(
                    conn,
                    d,
                    &Change::CreateTable {
                        table: table.clone(),
                    },
                    &version,
                    true,
                )?;
                baseline.tables.insert(name.clone(), table);
                adopted.push(name.clone());
            }
            if adopted.is_empty() {
                return Ok(());
            }
            let now = chrono::Utc::now();
            history::record(
                conn,
                d,
                &MigrationRecord {
                    version: version.clone(),
                    name: format!("adopt {}", adopted.join(", ")),
                    checksum: baseline.checksum(),
                    started_at: now,
                    finished_at: Some(now),
                    duration_ms: Some(0),
                    steps: Vec::new(),
                    status: MigrationStatus::Applied,
                    error: None,
                },
            )
        })?;
        Ok(MigrationReport {
            applied: !adopted.is_empty(),
            version: (!adopted.is_empty()).then_some(version),
            steps: Vec::new(),
            unmanaged_tables: Vec::new(),
            in_progress: None,
            rolled_back: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, ty: T, nullable: bool) -> Column {
        Column {
            name: name.into(),
            ty,
            nullable,
            max_length: None,
            default: None,
            auto_increment: false,
            enum_values: None,
            collation: None,
        }
    }

    fn table(columns: Vec<Column>, key: &str) -> Table {
        Table {
            name: "t".into(),
            columns,
            primary_key: vec![key.into()],
            indexes: Vec::new(),
            foreign_keys: Vec::new(),
            triggers: Vec::new(),
            checks: Vec::new(),
        }
    }

    fn problems(live: Table, model: Table) -> Vec<String> {
        let mut out = Vec::new();
        table_problems(&live, &model, &mut out);
        out
    }

    #[test]
    fn compatible_tables_have_no_problems() {
        let live = table(
            vec![
                col("id", T::Int, false),
                col("name", T::Text, false),
                col("note", T::Text, true),
            ],
            "id",
        );
        let model = table(
            vec![col("id", T::BigInt, false), col("name", T::Text, true)],
            "id",
        );
        assert_eq!(problems(live, model), Vec::<String>::new());
    }

    #[test]
    fn each_incompatibility_is_named() {
        let mut required = col("required", T::Text, false);
        required.default = None;
        let live = table(
            vec![
                col("id", T::Text, false),
                col("n", T::BigInt, false),
                col("maybe", T::Bool, true),
                required,
            ],
            "id",
        );
        let mut id = col("id", T::Text, false);
        id.auto_increment = false;
        let model = table(
            vec![
                id,
                col("n", T::Int, false),
                col("maybe", T::Bool, false),
                col("gone", T::Text, true),
            ],
            "id",
        );
        let p = problems(live, model);
        assert_eq!(p.len(), 4, "{p:#?}");
        assert!(p[0].contains("t.n: the column is bigint"), "{p:#?}");
        assert!(p[1].contains("t.maybe: the column allows NULL"), "{p:#?}");
        assert!(p[2].contains("t.gone: the column does not exist"), "{p:#?}");
        assert!(
            p[3].contains("t.required: NOT NULL without a default"),
            "{p:#?}"
        );
    }

    #[test]
    fn a_key_must_be_unique_and_assigned_as_declared() {
        let live = table(vec![col("id", T::BigInt, false)], "other");
        let mut id = col("id", T::BigInt, false);
        id.auto_increment = true;
        let p = problems(live, table(vec![id], "id"));
        assert_eq!(p.len(), 2, "{p:#?}");
        assert!(p[0].contains("neither the table's primary key nor unique"));
        assert!(p[1].contains("auto_increment = false"));
    }
}
