//! Facts asked of the schema a step will meet.
//!
//! Over 500 lines only with its unit tests (about 80 lines).
//!
//! A plan's steps run one after another, but the planner judges them all
//! before any runs. [`Projection`] follows the plan step by step and knows,
//! for every table and column as the next step will see it, where its values
//! come from in the live database: a live column (perhaps under another name,
//! perhaps converted by an earlier step), NULL in every row, the column's
//! default in every row, or nothing at all (a table the plan creates is
//! empty). [`ProjectedFacts`] answers the risk rules' questions
//! ([`Facts`], asked in the step's own names) from that: without a query where
//! the answer is known, otherwise with one `COUNT` query over the live tables
//! that computes the values the step will meet.

use std::collections::BTreeMap;

use crate::backend::Connection;
use crate::error::Result;
use crate::migrate::dialect::{renamed_values_expression, Dialect};
use crate::migrate::diff::{Change, ValueRename};
use crate::migrate::risk::{Facts, UNCOUNTED};
use crate::migrate::schema::{Column, ForeignKey, Schema, SchemaDefault};
use crate::model::value::{LogicalType, Value};
use crate::query::dialect::Sql;
use crate::query::statement::SqlWriter;

/// Runs `COUNT` queries on the live database: each query returns one row
/// holding one integer. Implemented over a connection by `ConnCounts`.
pub trait LiveCounts {
    /// The integer the query returns.
    fn count(&mut self, query: &Sql) -> Result<i64>;
}

/// Where a column's values come from, in terms of the live database.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// The values of this live column (a renamed column keeps its old one's).
    Live(String),
    /// NULL in every row (a nullable column added without a default).
    Null,
    /// The same default in every row (a column added with a default).
    Default(SchemaDefault, Column),
    /// The values of `source` as an earlier step converted them, changing the
    /// column from `from` to `to` (a cast; NULLs filled with the default;
    /// renamed enum values rewritten).
    Converted {
        /// The values before the conversion.
        source: Box<Source>,
        /// The column before.
        from: Column,
        /// The column after.
        to: Column,
        /// Enum values the step renamed.
        renamed_values: Vec<ValueRename>,
    },
}

/// A table as a step will meet it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectedTable {
    /// The live table holding its rows; `None` for a table the plan creates
    /// (empty when later steps meet it).
    pub live: Option<String>,
    /// Each column's values by the column's name at this point of the plan.
    pub columns: BTreeMap<String, Source>,
}

/// Every table as the next step of a plan will meet it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Projection {
    /// Tables by their name at this point of the plan.
    pub tables: BTreeMap<String, ProjectedTable>,
}

impl Projection {
    /// The live database as it is: every table and column its own source.
    pub fn of_live(live: &Schema) -> Projection {
        Projection {
            tables: live
                .tables
                .values()
                .map(|t| {
                    let columns = t
                        .columns
                        .iter()
                        .map(|c| (c.name.clone(), Source::Live(c.name.clone())))
                        .collect();
                    (
                        t.name.clone(),
                        ProjectedTable {
                            live: Some(t.name.clone()),
                            columns,
                        },
                    )
                })
                .collect(),
        }
    }

    /// The live table holding the rows of `table`, if it exists before the
    /// plan (under this or an earlier name).
    pub fn live_table(&self, table: &str) -> Option<&str> {
        self.tables.get(table).and_then(|t| t.live.as_deref())
    }

    /// Moves past `change`: the next step meets what it leaves.
    pub fn advance(&mut self, change: &Change) {
        match change {
            Change::RebuildTable { changes, .. } => {
                for c in changes {
                    self.advance(c);
                }
            }
            Change::CreateTable { table } => {
                self.tables.insert(
                    table.name.clone(),
                    ProjectedTable {
                        live: None,
                        columns: table
                            .columns
                            .iter()
                            .map(|c| (c.name.clone(), Source::Null))
                            .collect(),
                    },
                );
            }
            Change::DropTable { table } => {
                self.tables.remove(&table.name);
            }
            Change::RenameTable { from, to } => {
                if let Some(t) = self.tables.remove(from) {
                    self.tables.insert(to.clone(), t);
                }
            }
            Change::AddColumn { table, column } => {
                if let Some(t) = self.tables.get_mut(table) {
                    let source = match &column.default {
                        Some(d) => Source::Default(d.clone(), column.clone()),
                        None => Source::Null,
                    };
                    t.columns.insert(column.name.clone(), source);
                }
            }
            Change::DropColumn { table, column } => {
                if let Some(t) = self.tables.get_mut(table) {
                    t.columns.remove(&column.name);
                }
            }
            Change::RenameColumn { table, from, to } => {
                if let Some(t) = self.tables.get_mut(table) {
                    if let Some(s) = t.columns.remove(from) {
                        t.columns.insert(to.clone(), s);
                    }
                }
            }
            Change::AlterColumn {
                table,
                from,
                to,
                renamed_values,
            } => {
                if let Some(s) = self
                    .tables
                    .get_mut(table)
                    .and_then(|t| t.columns.get_mut(&to.name))
                {
                    let rewrites = from.ty != to.ty
                        || from.max_length != to.max_length
                        || (from.nullable && !to.nullable && to.default.is_some())
                        || !renamed_values.is_empty();
                    if rewrites && *s != Source::Null {
                        *s = Source::Converted {
                            source: Box::new(s.clone()),
                            from: from.clone(),
                            to: to.clone(),
                            renamed_values: renamed_values.clone(),
                        };
                    } else if rewrites {
                        // NULLs stay NULL through a cast; only a fill changes them.
                        if let (true, Some(d)) = (from.nullable && !to.nullable, &to.default) {
                            *s = Source::Default(d.clone(), to.clone());
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// A column's values as an SQL expression over its live table; `None` when
/// every value is NULL.
fn expression(d: &dyn Dialect, source: &Source) -> Option<String> {
    match source {
        Source::Live(c) => {
            let mut o = String::new();
            d.quote_ident(c, &mut o);
            Some(o)
        }
        Source::Null => None,
        Source::Default(v, col) => Some(d.default_literal(v, col.ty)),
        Source::Converted {
            source,
            from,
            to,
            renamed_values,
        } => {
            let inner = expression(d, source)?;
            let mut e = if from.ty != to.ty || from.max_length != to.max_length {
                d.cast_expression(&inner, from, to)
            } else {
                inner
            };
            e = renamed_values_expression(d, &e, renamed_values);
            if from.nullable && !to.nullable {
                if let Some(v) = &to.default {
                    e = format!("coalesce({e}, {})", d.default_literal(v, to.ty));
                }
            }
            Some(e)
        }
    }
}

/// Whether every row holds the same value (no query needed to group by it).
fn constant(source: &Source) -> bool {
    match source {
        Source::Live(_) => false,
        Source::Null | Source::Default(..) => true,
        Source::Converted { source, .. } => constant(source),
    }
}

/// The risk rules' [`Facts`], answered for the schema each step will meet.
/// The planner calls [`ProjectedFacts::advance`] after judging each step.
pub struct ProjectedFacts<'a> {
    live: &'a mut dyn LiveCounts,
    dialect: &'a dyn Dialect,
    projection: Projection,
}

/// Where a question's table stands.
enum Rows<'p> {
    /// The plan creates it, or it does not exist: no rows.
    Empty,
    /// Its rows are those of this live table.
    Live(&'p str, &'p ProjectedTable),
}

impl<'a> ProjectedFacts<'a> {
    /// Facts about `live`, asked through `counts`, before any step has run.
    pub fn new(live: &Schema, dialect: &'a dyn Dialect, counts: &'a mut dyn LiveCounts) -> Self {
        ProjectedFacts {
            live: counts,
            dialect,
            projection: Projection::of_live(live),
        }
    }

    /// Moves past `change`: later questions are about what it leaves.
    pub fn advance(&mut self, change: &Change) {
        self.projection.advance(change);
    }

    /// The schema's state as the next step meets it.
    pub fn projection(&self) -> &Projection {
        &self.projection
    }

    fn rows(&self, table: &str) -> Rows<'_> {
        match self.projection.tables.get(table) {
            Some(t) => match &t.live {
                Some(l) => Rows::Live(l, t),
                None => Rows::Empty,
            },
            None => Rows::Empty,
        }
    }

    fn source<'p>(t: &'p ProjectedTable, column: &str) -> &'p Source {
        // A column the projection does not know has no values to judge.
        t.columns.get(column).unwrap_or(&Source::Null)
    }

    fn count(&mut self, w: SqlWriter<'_>) -> Result<i64> {
        let sql = w.finish();
        self.live.count(&sql)
    }

    /// Rows of live `table` where `expr` is not NULL.
    fn count_non_null(&mut self, table: &str, expr: &str) -> Result<i64> {
        let mut w = SqlWriter::new(self.dialect);
        w.push("SELECT COUNT(")
            .push(expr)
            .push(") FROM ")
            .ident(table);
        self.count(w)
    }
}

impl Facts for ProjectedFacts<'_> {
    fn row_count(&mut self, table: &str) -> Result<i64> {
        let Rows::Live(live, _) = self.rows(table) else {
            return Ok(0);
        };
        let mut w = SqlWriter::new(self.dialect);
        w.push("SELECT COUNT(*) FROM ").ident(live);
        self.count(w)
    }

    fn non_null_count(&mut self, table: &str, column: &str) -> Result<i64> {
        let Rows::Live(live, t) = self.rows(table) else {
            return Ok(0);
        };
        let Some(e) = expression(self.dialect, Self::source(t, column)) else {
            return Ok(0);
        };
        let live = live.to_owned();
        self.count_non_null(&live, &e)
    }

    fn duplicate_groups(&mut self, table: &str, columns: &[String]) -> Result<i64> {
        let Rows::Live(live, t) = self.rows(table) else {
            return Ok(0);
        };
        let mut exprs = Vec::new();
        let mut varying = Vec::new();
        for c in columns {
            let s = Self::source(t, c);
            // NULLs never collide: a column that is NULL everywhere has no groups.
            let Some(e) = expression(self.dialect, s) else {
                return Ok(0);
            };
            if !constant(s) {
                varying.push(e.clone());
            }
            exprs.push(e);
        }
        let live = live.to_owned();
        if varying.is_empty() {
            // Every row holds the same values.
            let rows = self.row_count(table)?;
            return Ok(i64::from(rows > 1));
        }
        // Constant columns split no group; grouping by a literal would even be
        // read as a column position.
        let mut w = SqlWriter::new(self.dialect);
        w.push("SELECT COUNT(*) FROM (SELECT 1 AS one FROM ")
            .ident(&live)
            .push(" WHERE ");
        for (i, e) in exprs.iter().enumerate() {
            if i > 0 {
                w.push(" AND ");
            }
            w.push(e).push(" IS NOT NULL");
        }
        w.push(" GROUP BY ");
        for (i, e) in varying.iter().enumerate() {
            if i > 0 {
                w.push(", ");
            }
            w.push(e);
        }
        w.push(" HAVING COUNT(*) > 1) ").ident("dups");
        self.count(w)
    }

    fn values_not_fitting(&mut self, table: &str, from: &Column, to: &Column) -> Result<i64> {
        let Rows::Live(live, t) = self.rows(table) else {
            return Ok(0);
        };
        let Some(e) = expression(self.dialect, Self::source(t, &from.name)) else {
            return Ok(0);
        };
        let live = live.to_owned();
        match self.dialect.not_fitting_predicate(&e, from, to) {
            Some(pred) => {
                let mut w = SqlWriter::new(self.dialect);
                w.push("SELECT COUNT(*) FROM ")
                    .ident(&live)
                    .push(" WHERE ")
                    .push(&e)
                    .push(" IS NOT NULL AND (")
                    .push(&pred)
                    .push(")");
                self.count(w)
            }
            None => self.count_non_null(&live, &e),
        }
    }

    fn values_outside(&mut self, table: &str, column: &str, allowed: &[String]) -> Result<i64> {
        let Rows::Live(live, t) = self.rows(table) else {
            return Ok(0);
        };
        let Some(e) = expression(self.dialect, Self::source(t, column)) else {
            return Ok(0);
        };
        let live = live.to_owned();
        let mut w = SqlWriter::new(self.dialect);
        w.push("SELECT COUNT(*) FROM ")
            .ident(&live)
            .push(" WHERE ")
            .push(&e)
            .push(" IS NOT NULL");
        if !allowed.is_empty() {
            w.push(" AND ").push(&e).push(" NOT IN (");
            for (i, v) in allowed.iter().enumerate() {
                if i > 0 {
                    w.push(", ");
                }
                w.bind(Value::Text(v.clone()));
            }
            w.push(")");
        }
        self.count(w)
    }

    fn check_violations(&mut self, table: &str, expr: &str) -> Result<i64> {
        let Rows::Live(live, t) = self.rows(table) else {
            return Ok(0);
        };
        let live = live.to_owned();
        let mut w = SqlWriter::new(self.dialect);
        w.push("SELECT COUNT(*) FROM ");
        let as_is = t
            .columns
            .iter()
            .all(|(name, s)| matches!(s, Source::Live(l) if l == name));
        if as_is && live == table {
            w.ident(&live);
        } else {
            // The condition names the columns as the step meets them: it is
            // asked of the live rows seen through the earlier steps (renamed,
            // converted, added), under the table's name at this point.
            w.push("(SELECT ");
            for (i, (name, s)) in t.columns.iter().enumerate() {
                if i > 0 {
                    w.push(", ");
                }
                let e = expression(self.dialect, s).unwrap_or_else(|| "NULL".to_owned());
                w.push(&e).push(" AS ").ident(name);
            }
            w.push(" FROM ").ident(&live).push(") ").ident(table);
        }
        w.push(" WHERE NOT (").push(expr).push(")");
        self.count(w)
    }

    fn orphans(&mut self, table: &str, fk: &ForeignKey) -> Result<i64> {
        let Rows::Live(live, t) = self.rows(table) else {
            return Ok(0);
        };
        let Some(e) = expression(self.dialect, Self::source(t, &fk.column)) else {
            return Ok(0);
        };
        let live = live.to_owned();
        // The referenced values, as the key will meet them.
        let referenced = match self.rows(&fk.references_table) {
            Rows::Empty => None,
            Rows::Live(rl, rt) => expression(self.dialect, Self::source(rt, &fk.references_column))
                .map(|re| (rl.to_owned(), re)),
        };
        let Some((ref_live, ref_expr)) = referenced else {
            // Nothing to reference: every value is an orphan.
            return self.count_non_null(&live, &e);
        };
        let mut w = SqlWriter::new(self.dialect);
        w.push("SELECT COUNT(*) FROM ")
            .ident(&live)
            .push(" WHERE ")
            .push(&e)
            .push(" IS NOT NULL AND ")
            .push(&e)
            .push(" NOT IN (SELECT ")
            .push(&ref_expr)
            .push(" FROM ")
            .ident(&ref_live)
            .push(" WHERE ")
            .push(&ref_expr)
            .push(" IS NOT NULL)");
        self.count(w)
    }
}

/// Counts for a plan judged without a database (a migration file written from
/// the models): every table holds rows and every column values
/// ([`UNCOUNTED`], which reasons quote as "some"), while the questions that
/// find rows in the way (duplicates, orphans, values that do not fit: the
/// queries with a `WHERE`) find none, so such steps are judged by what they
/// would risk rather than blocked. Applying the file judges again on the
/// live data.
#[derive(Debug, Default, Clone, Copy)]
pub struct AssumedCounts;

impl LiveCounts for AssumedCounts {
    fn count(&mut self, query: &Sql) -> Result<i64> {
        Ok(if query.text.contains(" WHERE ") {
            0
        } else {
            UNCOUNTED
        })
    }
}

/// `COUNT` queries on a connection, each asked once.
pub(crate) struct ConnCounts<'a> {
    conn: &'a mut dyn Connection,
    cache: BTreeMap<String, i64>,
}

impl<'a> ConnCounts<'a> {
    /// Counts over `conn`, with an empty cache.
    pub(crate) fn new(conn: &'a mut dyn Connection) -> Self {
        ConnCounts {
            conn,
            cache: BTreeMap::new(),
        }
    }
}

impl LiveCounts for ConnCounts<'_> {
    fn count(&mut self, query: &Sql) -> Result<i64> {
        if let Some(v) = self.cache.get(&query.text) {
            return Ok(*v);
        }
        let mut n = 0;
        self.conn.query(
            &query.text,
            &query.binds,
            &[LogicalType::BigInt],
            &mut |row| {
                if let Value::I64(v) = row[0] {
                    n = v;
                }
                Ok(())
            },
        )?;
        self.cache.insert(query.text.clone(), n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::schema::Table;
    use crate::model::value::LogicalType;

    fn col(name: &str, nullable: bool, default: Option<SchemaDefault>) -> Column {
        Column {
            name: name.into(),
            ty: LogicalType::BigInt,
            nullable,
            max_length: None,
            default,
            auto_increment: false,
            enum_values: None,
            collation: None,
        }
    }

    fn live() -> Schema {
        let mut s = Schema::default();
        s.tables.insert(
            "t".into(),
            Table {
                name: "t".into(),
                columns: vec![col("id", false, None), col("a", true, None)],
                primary_key: vec!["id".into()],
                indexes: Vec::new(),
                foreign_keys: Vec::new(),
                triggers: Vec::new(),
                checks: Vec::new(),
            },
        );
        s
    }

    #[test]
    fn sources_follow_the_plan() {
        let mut p = Projection::of_live(&live());
        for c in [
            Change::RenameTable {
                from: "t".into(),
                to: "u".into(),
            },
            Change::RenameColumn {
                table: "u".into(),
                from: "a".into(),
                to: "b".into(),
            },
            Change::AddColumn {
                table: "u".into(),
                column: col("n", true, None),
            },
            Change::AddColumn {
                table: "u".into(),
                column: col("d", false, Some(SchemaDefault::Int(3))),
            },
            Change::alter(
                "u",
                col("n", true, None),
                col("n", false, Some(SchemaDefault::Int(4))),
            ),
        ] {
            p.advance(&c);
        }
        let u = &p.tables["u"];
        assert_eq!(u.live.as_deref(), Some("t"));
        assert_eq!(u.columns["b"], Source::Live("a".into()));
        assert!(matches!(
            u.columns["d"],
            Source::Default(SchemaDefault::Int(3), _)
        ));
        // An all-NULL column made NOT NULL holds its default everywhere.
        assert!(matches!(
            u.columns["n"],
            Source::Default(SchemaDefault::Int(4), _)
        ));
        assert!(!p.tables.contains_key("t"));
    }
}
