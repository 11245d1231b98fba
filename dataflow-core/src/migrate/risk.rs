//! Risk classification: pure rules over a change, refined with live facts (row
//! counts, NULL counts, duplicates, values that would not fit) that are queried
//! only for the changes that need them.
//!
//! The rules, one row each, are justified in `docs/risk.md`.
//!
//! Kept whole (about 630 lines): one rule per change kind, read side by side
//! with `docs/risk.md`; splitting the alter and enum-value rules away from the
//! rest would separate rules that must agree. Tests are in `risk/tests.rs`.

use crate::error::Result;
use crate::migrate::diff::{Change, ValueRename};
use crate::migrate::schema::Column;
use crate::migrate::RiskLevel;
use crate::model::value::LogicalType as T;

/// Facts about the live data. Implemented over a connection by the executor; tests
/// implement it over plain numbers.
pub trait Facts {
    /// Rows in the table.
    fn row_count(&mut self, table: &str) -> Result<i64>;
    /// Non-NULL values in the column.
    fn non_null_count(&mut self, table: &str, column: &str) -> Result<i64>;
    /// Groups of rows sharing the same values in `columns` (NULLs never collide).
    fn duplicate_groups(&mut self, table: &str, columns: &[String]) -> Result<i64>;
    /// Values of `from` that the type of `to` cannot hold.
    fn values_not_fitting(&mut self, table: &str, from: &Column, to: &Column) -> Result<i64>;
    /// Non-NULL values of the column that are none of `allowed` (rows an
    /// enum `CHECK` of those values would refuse).
    fn values_outside(&mut self, table: &str, column: &str, allowed: &[String]) -> Result<i64>;
    /// Rows whose foreign-key value has no referenced row.
    fn orphans(&mut self, table: &str, fk: &crate::migrate::schema::ForeignKey) -> Result<i64>;
    /// Rows for which the `CHECK` condition `expr` is false (a `CHECK`
    /// accepts a row where it is NULL, as the database does).
    fn check_violations(&mut self, table: &str, expr: &str) -> Result<i64>;
}

/// A count the facts did not take: a plan written to a migration file is
/// judged without a database, as if every table held rows and every column
/// values (see [`crate::migrate::facts::AssumedCounts`]). Reasons say "some"
/// where they would quote it.
pub const UNCOUNTED: i64 = i64::MAX;

/// `n` as reasons quote it.
fn qty(n: i64) -> String {
    if n == UNCOUNTED {
        "some".to_owned()
    } else {
        n.to_string()
    }
}

/// The verdict on one change.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// Risk level.
    pub risk: RiskLevel,
    /// Why, quoting the facts.
    pub reason: String,
    /// Why the change cannot run as planned, if it cannot.
    pub blocked: Option<String>,
    /// Whether data is destroyed (so a backup is taken first).
    pub destructive: bool,
}

impl Assessment {
    fn new(risk: RiskLevel, reason: impl Into<String>) -> Self {
        Assessment {
            risk,
            reason: reason.into(),
            blocked: None,
            destructive: false,
        }
    }
    fn blocked(risk: RiskLevel, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Assessment {
            risk,
            blocked: Some(reason.clone()),
            reason,
            destructive: false,
        }
    }
    fn destructive(mut self) -> Self {
        self.destructive = true;
        self
    }
}

/// How a type change relates the old and new types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cast {
    /// Same type and limits.
    Same,
    /// Every old value is representable, unchanged.
    Widening,
    /// Old values may not fit.
    Narrowing,
    /// No cast keeps values in general (e.g. text to integer).
    Unsafe,
}

fn int_rank(t: T) -> Option<u8> {
    match t {
        T::SmallInt => Some(1),
        T::Int => Some(2),
        T::BigInt => Some(3),
        _ => None,
    }
}

/// Classifies a change of type (and text length) from `from` to `to`.
pub fn classify_cast(from: &Column, to: &Column) -> Cast {
    use Cast::*;
    if from.ty == to.ty {
        if from.ty != T::Text || from.max_length == to.max_length {
            return Same;
        }
        return match (from.max_length, to.max_length) {
            (_, None) => Widening,
            (Some(a), Some(b)) if b >= a => Widening,
            _ => Narrowing,
        };
    }
    match (from.ty, to.ty) {
        (a, b) if int_rank(a).is_some() && int_rank(b).is_some() => {
            if int_rank(b) > int_rank(a) {
                Widening
            } else {
                Narrowing
            }
        }
        (T::Float, T::Double) => Widening,
        (T::Double, T::Float) => Narrowing,
        (T::SmallInt | T::Int, T::Double) | (T::SmallInt, T::Float) => Widening,
        (T::SmallInt | T::Int | T::BigInt, T::Decimal) => Widening,
        // Everything has a faithful text form.
        (T::Bytes, T::Text) => Unsafe,
        (_, T::Text) if to.max_length.is_none() => Widening,
        (_, T::Text) => Narrowing,
        (T::Date, T::Timestamp) => Widening,
        _ => Unsafe,
    }
}

fn col_desc(c: &Column) -> String {
    let mut s = c.ty.to_string();
    if let Some(n) = c.max_length {
        s.push_str(&format!("({n})"));
    }
    s
}

/// Assesses one change against live facts.
pub fn assess(change: &Change, facts: &mut dyn Facts) -> Result<Assessment> {
    use RiskLevel::*;
    Ok(match change {
        Change::CreateTable { .. } => Assessment::new(Safe, "a new table holds no data"),
        Change::DropTable { table } => {
            let rows = facts.row_count(&table.name)?;
            if rows == 0 {
                Assessment::new(Safe, format!("table {} is empty", table.name))
            } else {
                Assessment::new(
                    High,
                    format!(
                        "table {} has {} rows that would be lost",
                        table.name,
                        qty(rows)
                    ),
                )
                .destructive()
            }
        }
        Change::RenameTable { from, to } => Assessment::new(
            Medium,
            format!("renames {from} to {to}: no data changes, but code still using {from} breaks"),
        ),
        Change::RenameColumn { table, from, to } => Assessment::new(
            Medium,
            format!("renames {table}.{from} to {to}: no data changes, but old readers break"),
        ),
        Change::AddColumn { table, column } => {
            if column.nullable || column.default.is_some() {
                Assessment::new(
                    Safe,
                    if column.nullable {
                        "a nullable column: existing rows read NULL".to_owned()
                    } else {
                        "existing rows take the column's default".to_owned()
                    },
                )
            } else {
                let rows = facts.row_count(table)?;
                if rows == 0 {
                    Assessment::new(Safe, format!("table {table} is empty"))
                } else {
                    Assessment::blocked(
                        High,
                        format!(
                            "NOT NULL column {} without a default cannot be added to {table}, which has {} rows: give it a default or make it Option",
                            column.name,
                            qty(rows)
                        ),
                    )
                }
            }
        }
        Change::DropColumn { table, column } => {
            let rows = facts.row_count(table)?;
            if rows == 0 {
                Assessment::new(Safe, format!("table {table} is empty"))
            } else {
                let values = facts.non_null_count(table, &column.name)?;
                if values == 0 {
                    // Backed up all the same: re-adding a column with a default
                    // would otherwise fill those rows with the default on rollback.
                    Assessment::new(
                        Medium,
                        format!(
                            "table {table} has {rows} rows, all NULL in {}: nothing is lost, old readers break",
                            column.name
                        ),
                    )
                    .destructive()
                } else {
                    Assessment::new(
                        High,
                        format!(
                            "table {table} has {} rows; {} non-null values in {} would be lost",
                            qty(rows),
                            qty(values),
                            column.name
                        ),
                    )
                    .destructive()
                }
            }
        }
        Change::AlterColumn {
            table,
            from,
            to,
            renamed_values,
        } => assess_alter(table, from, to, renamed_values, facts)?,
        Change::CreateIndex { table, index } => {
            let rows = if index.unique {
                facts.row_count(table)?
            } else {
                0
            };
            if !index.unique {
                Assessment::new(Safe, "a non-unique index changes no data")
            } else if rows == 0 {
                Assessment::new(Safe, format!("table {table} is empty"))
            } else {
                let dups = facts.duplicate_groups(table, &index.columns)?;
                if dups == 0 && rows == UNCOUNTED {
                    Assessment::new(
                        Medium,
                        format!(
                            "fails if rows share values in ({}); writes of duplicates fail from then on",
                            index.columns.join(", ")
                        ),
                    )
                } else if dups == 0 {
                    Assessment::new(
                        Medium,
                        format!(
                            "no duplicates in ({}) today; writes of duplicates fail from now on",
                            index.columns.join(", ")
                        ),
                    )
                } else {
                    Assessment::blocked(
                        High,
                        format!(
                            "{dups} groups of rows in {table} share values in ({}): remove the duplicates first",
                            index.columns.join(", ")
                        ),
                    )
                }
            }
        }
        Change::RenameIndex { from, to, .. } => Assessment::new(
            Safe,
            format!("renames index {from} to {to}: the index and its data stay"),
        ),
        Change::DropIndex { index, .. } => Assessment::new(
            Medium,
            if index.unique {
                format!(
                    "drops unique index {}: duplicates become possible",
                    index.name
                )
            } else {
                format!("drops index {}: queries using it slow down", index.name)
            },
        ),
        Change::AddForeignKey { table, foreign_key } => {
            let rows = facts.row_count(table)?;
            if rows == 0 {
                Assessment::new(Safe, format!("table {table} is empty"))
            } else {
                let orphans = facts.orphans(table, foreign_key)?;
                if orphans == 0 && rows == UNCOUNTED {
                    Assessment::new(
                        Medium,
                        format!(
                            "fails if rows reference a missing {}.{}",
                            foreign_key.references_table, foreign_key.references_column
                        ),
                    )
                } else if orphans == 0 {
                    Assessment::new(Medium, "every existing row references an existing row")
                } else {
                    Assessment::blocked(
                        High,
                        format!(
                            "{orphans} rows of {table} reference a missing {}.{}",
                            foreign_key.references_table, foreign_key.references_column
                        ),
                    )
                }
            }
        }
        Change::DropForeignKey { foreign_key, .. } => Assessment::new(
            Medium,
            format!(
                "{} no longer has to reference an existing {}",
                foreign_key.column, foreign_key.references_table
            ),
        ),
        Change::AddCheck { table, check } => {
            let rows = facts.row_count(table)?;
            if rows == 0 {
                Assessment::new(Safe, format!("table {table} is empty"))
            } else {
                let bad = facts.check_violations(table, &check.expr)?;
                if bad == 0 && rows == UNCOUNTED {
                    Assessment::new(
                        Medium,
                        format!(
                            "fails if rows violate check {} ({}); writes that violate it fail from then on",
                            check.name, check.expr
                        ),
                    )
                } else if bad == 0 {
                    Assessment::new(
                        Medium,
                        format!(
                            "every row satisfies check {} ({}) today; writes that violate it fail from now on",
                            check.name, check.expr
                        ),
                    )
                } else {
                    Assessment::blocked(
                        High,
                        format!(
                            "{bad} rows of {table} violate check {} ({}): change or delete them first",
                            check.name, check.expr
                        ),
                    )
                }
            }
        }
        // No data changes, but a guarantee goes: judged as dropping a unique
        // index or a foreign key is, so a check the model does not declare
        // (one written by hand on an adopted table) is never dropped as SAFE.
        Change::DropCheck { check, .. } => Assessment::new(
            Medium,
            format!(
                "drops check {} ({}): rows that violate it become possible",
                check.name, check.expr
            ),
        ),
        // The planner judges the parts one by one as the schema advances; this
        // judges them all against the same facts.
        Change::RebuildTable { changes, .. } => {
            let mut all = Assessment::new(Safe, String::new());
            let mut reasons = Vec::new();
            let mut blocked = Vec::new();
            for c in changes {
                let a = assess(c, facts)?;
                all.risk = all.risk.max(a.risk);
                all.destructive |= a.destructive;
                reasons.push(a.reason);
                blocked.extend(a.blocked);
            }
            all.reason = reasons.join("; ");
            all.blocked = (!blocked.is_empty()).then(|| blocked.join("; "));
            all
        }
        Change::Unsupported { detail, .. } => Assessment::blocked(High, detail.clone()),
    })
}

fn assess_alter(
    table: &str,
    from: &Column,
    to: &Column,
    renamed_values: &[ValueRename],
    facts: &mut dyn Facts,
) -> Result<Assessment> {
    use RiskLevel::*;
    let rows = facts.row_count(table)?;
    let mut parts: Vec<String> = Vec::new();
    let mut risk = Safe;
    let mut blocked = None;
    let mut destructive = false;
    let name = &to.name;

    match classify_cast(from, to) {
        Cast::Same => {}
        Cast::Widening => parts.push(format!(
            "widens {} to {}: every value fits",
            col_desc(from),
            col_desc(to)
        )),
        Cast::Narrowing | Cast::Unsafe if rows == 0 => parts.push(format!(
            "{} to {} on an empty table",
            col_desc(from),
            col_desc(to)
        )),
        Cast::Narrowing => {
            let bad = facts.values_not_fitting(table, from, to)?;
            if bad == 0 && rows == UNCOUNTED {
                risk = risk.max(Medium);
                parts.push(format!(
                    "narrows {} to {}: fails if values do not fit",
                    col_desc(from),
                    col_desc(to)
                ));
            } else if bad == 0 {
                risk = risk.max(Medium);
                parts.push(format!(
                    "narrows {} to {}; all {rows} rows fit today",
                    col_desc(from),
                    col_desc(to)
                ));
            } else if to.ty == T::Text {
                risk = High;
                destructive = true;
                parts.push(format!(
                    "narrows {} to {}: {bad} values are longer and would be truncated",
                    col_desc(from),
                    col_desc(to)
                ));
            } else {
                risk = High;
                blocked = Some(format!(
                    "{bad} values of {table}.{name} do not fit in {}",
                    col_desc(to)
                ));
                parts.push(blocked.clone().unwrap_or_default());
            }
        }
        Cast::Unsafe => {
            let values = facts.non_null_count(table, &from.name)?;
            if values == 0 {
                risk = risk.max(Medium);
                parts.push(format!(
                    "{} to {}: no values to convert",
                    col_desc(from),
                    col_desc(to)
                ));
            } else {
                risk = High;
                destructive = true;
                parts.push(format!(
                    "{} to {} has no safe cast: {} values must convert or the migration fails",
                    col_desc(from),
                    col_desc(to),
                    qty(values)
                ));
            }
        }
    }

    if from.nullable && !to.nullable {
        let nulls = if rows == 0 {
            0
        } else if rows == UNCOUNTED {
            UNCOUNTED
        } else {
            rows - facts.non_null_count(table, &from.name)?
        };
        if nulls == 0 {
            if rows > 0 {
                risk = risk.max(Medium);
            }
            parts.push("sets NOT NULL; no NULLs today".to_owned());
        } else if to.default.is_some() {
            risk = risk.max(Medium);
            // The NULLs are overwritten: keep them so rollback can put them back.
            destructive = true;
            parts.push(format!(
                "sets NOT NULL; {} NULLs take the default",
                qty(nulls)
            ));
        } else {
            risk = High;
            let why = format!(
                "cannot set NOT NULL on {table}.{name}: {} rows are NULL and there is no default",
                qty(nulls)
            );
            parts.push(why.clone());
            blocked = Some(why);
        }
    } else if !from.nullable && to.nullable {
        parts.push("allows NULL".to_owned());
    }
    if from.default != to.default {
        parts.push(match &to.default {
            Some(d) => format!("default becomes {d}"),
            None => "drops the default".to_owned(),
        });
    }
    if from.collation != to.collation {
        // No value changes, but comparisons, ordering and uniqueness follow
        // the collation: a unique index over the column is built again under
        // the new one (and fails the migration if values collide there), and
        // queries relying on the old order or equality change results.
        risk = risk.max(Medium);
        let name = |c: &Option<String>| c.as_deref().unwrap_or("the default").to_owned();
        parts.push(format!(
            "collation {} becomes {}: ordering, equality and unique indexes follow the new one (fails if values collide under it)",
            name(&from.collation),
            name(&to.collation)
        ));
    }
    let values = assess_values(table, from, to, renamed_values, rows, facts)?;
    risk = risk.max(values.risk);
    parts.extend(values.parts);
    if values.blocked.is_some() {
        blocked = values.blocked;
    }
    if from.auto_increment != to.auto_increment {
        risk = High;
        let why = format!("{table}.{name}: changing auto-increment is not supported");
        parts.push(why.clone());
        blocked = Some(why);
    }
    Ok(Assessment {
        risk,
        reason: parts.join("; "),
        blocked,
        destructive,
    })
}

/// The verdict on a change of an enum column's allowed values.
struct ValuesVerdict {
    risk: RiskLevel,
    parts: Vec<String>,
    blocked: Option<String>,
}

fn quoted(values: &[&String]) -> String {
    values
        .iter()
        .map(|v| format!("{v:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Adding a value is SAFE (every row still fits). Removing one is judged on
/// the rows: rows holding it block the step (with their count); with none,
/// it is MEDIUM on a populated table (nothing changes, but a writer still
/// using the value now fails) and SAFE on an empty one. A rename rewrites the
/// rows holding the old value (undone by rollback, so nothing is lost) and is
/// MEDIUM, as a renamed column is: code still writing or reading the old name
/// breaks. Putting a `CHECK` on a plain text column is removing every other
/// value; dropping it is SAFE.
fn assess_values(
    table: &str,
    from: &Column,
    to: &Column,
    renamed_values: &[ValueRename],
    rows: i64,
    facts: &mut dyn Facts,
) -> Result<ValuesVerdict> {
    use RiskLevel::*;
    let mut v = ValuesVerdict {
        risk: Safe,
        parts: Vec::new(),
        blocked: None,
    };
    let name = &to.name;
    let Some(new) = &to.enum_values else {
        if from.enum_values.is_some() {
            v.parts
                .push("drops the check of allowed values: any text fits".to_owned());
        }
        return Ok(v);
    };
    let old: Vec<&String> = match &from.enum_values {
        Some(old) => old.iter().collect(),
        None => Vec::new(),
    };
    let renamed_from: Vec<&String> = renamed_values.iter().map(|r| &r.from).collect();
    let added: Vec<&String> = new
        .iter()
        .filter(|n| !old.contains(n) && !renamed_values.iter().any(|r| &r.to == *n))
        .collect();
    if from.enum_values.is_some() && !added.is_empty() {
        v.parts
            .push(format!("allows {}: every row still fits", quoted(&added)));
    }
    if !renamed_values.is_empty() {
        v.risk = Medium;
        let renames = renamed_values
            .iter()
            .map(|r| format!("{:?} to {:?}", r.from, r.to))
            .collect::<Vec<_>>()
            .join(", ");
        // Every row holds an allowed value: those outside the values kept
        // hold a renamed one.
        let kept: Vec<String> = old
            .iter()
            .filter(|o| !renamed_from.contains(o))
            .map(|o| (*o).clone())
            .collect();
        let rewritten = if rows == 0 {
            0
        } else {
            facts.values_outside(table, &from.name, &kept)?
        };
        v.parts.push(format!(
            "renames {renames}: {rewritten} rows are rewritten (rollback renames them back); code still using the old names breaks"
        ));
    }
    let removed: Vec<&String> = match &from.enum_values {
        Some(_) => old
            .iter()
            .copied()
            .filter(|o| !new.contains(o) && !renamed_from.contains(o))
            .collect(),
        None => Vec::new(),
    };
    if from.enum_values.is_some() && removed.is_empty() {
        return Ok(v);
    }
    let what = if from.enum_values.is_some() {
        format!("removes {}", quoted(&removed))
    } else {
        format!("allows only {}", quoted(&new.iter().collect::<Vec<_>>()))
    };
    if rows == 0 {
        v.parts.push(format!("{what} on an empty table"));
        return Ok(v);
    }
    let mut allowed: Vec<String> = new.clone();
    allowed.extend(renamed_from.iter().map(|r| (*r).clone()));
    let outside = facts.values_outside(table, &from.name, &allowed)?;
    if outside == 0 {
        v.risk = v.risk.max(Medium);
        v.parts.push(format!(
            "{what}; no row holds {} today; writes of {} fail from now on",
            if from.enum_values.is_some() {
                "them"
            } else {
                "another value"
            },
            if from.enum_values.is_some() {
                "them"
            } else {
                "other values"
            },
        ));
    } else {
        v.risk = High;
        let why = if from.enum_values.is_some() {
            format!(
                "{outside} rows of {table}.{name} hold removed values ({}): change or delete them first",
                quoted(&removed)
            )
        } else {
            format!(
                "{outside} rows of {table}.{name} hold values outside {}: change or delete them first",
                quoted(&new.iter().collect::<Vec<_>>())
            )
        };
        v.parts.push(why.clone());
        v.blocked = Some(why);
    }
    Ok(v)
}

// The rules over plain numbers, one case per row of `docs/risk.md`.
#[cfg(test)]
mod tests;
