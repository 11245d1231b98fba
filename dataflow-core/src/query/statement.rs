//! Rendering CRUD statements, and the per-model cache of the fixed ones.
//!
//! A model's fixed statements (insert, read by key, delete by key) are rendered
//! once per dialect and kept in the model's static descriptor; only statements
//! whose shape depends on the call (filters, patches) are rendered per call.

use crate::backend::capabilities::Capabilities;
pub use crate::model::cache::{ModelSql, StatementCache};
use crate::model::descriptor::{Managed, ModelDescriptor};
use crate::model::value::{LogicalType, Value};
use crate::query::dialect::{QueryDialect, Sql};
use crate::query::filter::{Expr, OrderTerm};

/// `IN` lists longer than this are offered to [`QueryDialect::long_in_list`], which
/// can bind the whole list as one value: a statement takes at most a few tens
/// of thousands of binds (SQLite 32 766, PostgreSQL 65 535), and several long
/// lists in one filter must stay below that together.
pub const LONG_IN_LIST: usize = 256;

/// Builds SQL text and its binds together, so placeholders are numbered right.
pub struct SqlWriter<'d> {
    dialect: &'d dyn QueryDialect,
    sql: Sql,
    model: Option<&'static ModelDescriptor>,
}

impl<'d> SqlWriter<'d> {
    /// An empty statement.
    pub fn new(dialect: &'d dyn QueryDialect) -> Self {
        SqlWriter {
            dialect,
            sql: Sql::default(),
            model: None,
        }
    }

    /// Takes column types from `model` (the table the statement reads or
    /// writes), so filters and orderings compare by meaning where the dialect
    /// needs a collation for that (see [`QueryDialect::collation`]).
    pub fn for_model(mut self, model: &'static ModelDescriptor) -> Self {
        self.model = Some(model);
        self
    }

    /// Starts from fixed text that carries `binds` placeholders already.
    pub fn from_text(dialect: &'d dyn QueryDialect, text: &str, binds: Vec<Value>) -> Self {
        let mut sql = Sql {
            text: String::with_capacity(text.len() + 64),
            binds,
        };
        sql.text.push_str(text);
        SqlWriter {
            dialect,
            sql,
            model: None,
        }
    }

    /// Appends raw SQL text (keywords and punctuation only; never user data).
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.sql.text.push_str(text);
        self
    }

    /// Appends a quoted identifier.
    pub fn ident(&mut self, ident: &str) -> &mut Self {
        self.dialect.quote_ident(ident, &mut self.sql.text);
        self
    }

    /// Appends a column as an operand of a comparison, ordering or grouping:
    /// quoted, with the dialect's collation for its type. The type comes from
    /// the model, or else from `value_type` (the value it is compared with).
    pub fn column(&mut self, column: &str, value_type: Option<LogicalType>) -> &mut Self {
        let ty = self
            .model
            .and_then(|d| d.column(column))
            .map(|c| c.ty)
            .or(value_type);
        self.ident(column);
        if let Some(collation) = ty.and_then(|t| self.dialect.collation(t)) {
            self.push(" COLLATE ").push(collation);
        }
        self
    }

    /// Appends a placeholder and records its value.
    pub fn bind(&mut self, value: Value) -> &mut Self {
        self.sql.binds.push(value);
        self.dialect
            .placeholder(self.sql.binds.len(), &mut self.sql.text);
        self
    }

    /// The quoted column and the placeholder of `pattern`, now bound, for a
    /// dialect hook that spells the match (`LIKE`, regular expressions).
    fn pattern_operands(&mut self, column: &str, pattern: &str) -> (String, String) {
        let mut quoted = String::new();
        self.dialect.quote_ident(column, &mut quoted);
        self.sql.binds.push(Value::Text(pattern.to_owned()));
        let mut placeholder = String::new();
        self.dialect
            .placeholder(self.sql.binds.len(), &mut placeholder);
        (quoted, placeholder)
    }

    /// Appends a filter expression.
    pub fn expr(&mut self, expr: &Expr) -> &mut Self {
        match expr {
            Expr::True => {
                self.push("1 = 1");
            }
            Expr::Compare { column, op, value } => {
                self.column(column, value.logical_type())
                    .push(" ")
                    .push(op.sql())
                    .push(" ");
                self.bind(value.clone());
            }
            Expr::In {
                column,
                values,
                negated,
            } => {
                if values.is_empty() {
                    self.push(if *negated { "1 = 1" } else { "1 = 0" });
                } else if let Some((before, list, after)) = (values.len() > LONG_IN_LIST)
                    .then(|| self.dialect.long_in_list(values))
                    .flatten()
                {
                    // Bound as one value: no bind limit, one placeholder.
                    let ty = values.iter().find_map(Value::logical_type);
                    self.column(column, ty)
                        .push(if *negated { " NOT IN (" } else { " IN (" })
                        .push(&before)
                        .bind(list)
                        .push(&after)
                        .push(")");
                } else {
                    let ty = values.iter().find_map(Value::logical_type);
                    self.column(column, ty)
                        .push(if *negated { " NOT IN (" } else { " IN (" });
                    for (i, v) in values.iter().enumerate() {
                        if i > 0 {
                            self.push(", ");
                        }
                        self.bind(v.clone());
                    }
                    self.push(")");
                }
            }
            Expr::IsNull { column, negated } => {
                self.ident(column)
                    .push(if *negated { " IS NOT NULL" } else { " IS NULL" });
            }
            Expr::Like { column, pattern } => {
                let (quoted, placeholder) = self.pattern_operands(column, pattern);
                self.dialect
                    .like(&quoted, &placeholder, true, &mut self.sql.text);
            }
            Expr::Regex {
                column,
                pattern,
                case_insensitive,
            } => {
                let (quoted, placeholder) = self.pattern_operands(column, pattern);
                self.dialect
                    .regex(&quoted, &placeholder, *case_insensitive, &mut self.sql.text);
            }
            Expr::JsonContains { column, value } => {
                let mut quoted = String::new();
                self.dialect.quote_ident(column, &mut quoted);
                let dialect = self.dialect;
                dialect.json_contains(&quoted, value, self);
            }
            Expr::JsonPath {
                column,
                path,
                op,
                value,
            } => {
                let mut quoted = String::new();
                self.dialect.quote_ident(column, &mut quoted);
                let dialect = self.dialect;
                match path {
                    Ok(path) => dialect.json_path_compare(&quoted, path, *op, value, self),
                    // Refused by `Expr::check` before rendering.
                    Err(_) => {
                        self.push("1 = 0");
                    }
                }
            }
            Expr::And(items) | Expr::Or(items) => {
                let joiner = if matches!(expr, Expr::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                if items.is_empty() {
                    // An empty conjunction is true, an empty disjunction false.
                    self.push(if joiner == " AND " { "1 = 1" } else { "1 = 0" });
                    return self;
                }
                self.push("(");
                for (i, e) in items.iter().enumerate() {
                    if i > 0 {
                        self.push(joiner);
                    }
                    self.expr(e);
                }
                self.push(")");
            }
            Expr::Not(inner) => {
                self.push("NOT (");
                self.expr(inner);
                self.push(")");
            }
        }
        self
    }

    /// Appends ` ORDER BY …`, if there are terms. NULLs sort after every value
    /// ascending and before every value descending, on every backend.
    pub fn order_by(&mut self, terms: &[OrderTerm]) -> &mut Self {
        for (i, t) in terms.iter().enumerate() {
            self.push(if i == 0 { " ORDER BY " } else { ", " });
            self.column(t.column, None);
            self.push(if t.descending { " DESC" } else { " ASC" });
            // PostgreSQL's placement (NULLs count as larger than every value),
            // spelled out because SQLite's default is the opposite.
            let nullable = self
                .model
                .and_then(|d| d.column(t.column))
                .is_none_or(|c| c.nullable);
            if nullable {
                self.push(if t.descending {
                    " NULLS FIRST"
                } else {
                    " NULLS LAST"
                });
            }
        }
        self
    }

    /// Number of values bound so far.
    pub fn bind_count(&self) -> usize {
        self.sql.binds.len()
    }

    /// The finished statement.
    pub fn finish(self) -> Sql {
        self.sql
    }
}

impl ModelDescriptor {
    /// The fixed statements of this model for `dialect` on a database with
    /// `capabilities`, rendered on first use.
    pub fn sql(
        &'static self,
        dialect: &dyn QueryDialect,
        capabilities: &Capabilities,
    ) -> &'static ModelSql {
        let slot = 2 * dialect.slot() + usize::from(capabilities.returning);
        self.statements
            .slot(slot)
            .get_or_init(|| ModelSql::render(self, dialect, capabilities))
    }
}

impl ModelSql {
    /// Renders the fixed statements (what [`ModelDescriptor::sql`] caches).
    pub fn render(
        d: &ModelDescriptor,
        dialect: &dyn QueryDialect,
        capabilities: &Capabilities,
    ) -> ModelSql {
        let q = |s: &str| {
            let mut out = String::new();
            dialect.quote_ident(s, &mut out);
            out
        };
        let table = q(d.table);
        let all: Vec<&str> = d.columns.iter().map(|c| c.name).collect();
        let mut cols = String::new();
        dialect.ident_list(&all, &mut cols);
        let select = format!("SELECT {cols} FROM {table}");
        let returning = capabilities.returning.then(|| format!(" RETURNING {cols}"));
        let tail = returning.as_deref().unwrap_or_default();
        let live_only = d
            .managed(Managed::DeletedAt)
            .map(|c| format!("{} IS NULL", q(c.name)));
        let mut p1 = String::new();
        dialect.placeholder(1, &mut p1);
        // `k1 = $n AND k2 = $n+1 …`: the key's columns, bound in key order
        // from placeholder `first` on.
        let by_key = |first: usize| {
            let mut s = String::new();
            for (n, c) in d.key_columns().enumerate() {
                if n > 0 {
                    s.push_str(" AND ");
                }
                dialect.quote_ident(c.name, &mut s);
                s.push_str(" = ");
                dialect.placeholder(first + n, &mut s);
            }
            s
        };
        let key1 = by_key(1);
        let mut read_by_pk = format!("{select} WHERE {key1}");
        if let Some(l) = &live_only {
            read_by_pk.push_str(" AND ");
            read_by_pk.push_str(l);
        }
        let insert = |indices: &[usize]| {
            if indices.is_empty() {
                // A model whose only column is its generated key.
                return format!("INSERT INTO {table} DEFAULT VALUES{tail}");
            }
            let names: Vec<&str> = indices.iter().map(|&i| d.columns[i].name).collect();
            let mut s = format!("INSERT INTO {table} (");
            dialect.ident_list(&names, &mut s);
            s.push_str(") VALUES (");
            for n in 1..=indices.len() {
                if n > 1 {
                    s.push_str(", ");
                }
                dialect.placeholder(n, &mut s);
            }
            s.push(')');
            s.push_str(tail);
            s
        };
        let insert_auto_columns: Vec<usize> = (0..d.columns.len())
            .filter(|&i| !d.columns[i].auto_increment)
            .collect();
        let every: Vec<usize> = (0..d.columns.len()).collect();
        let soft_delete_by_pk = d.managed(Managed::DeletedAt).map(|c| {
            format!(
                "UPDATE {table} SET {} = {p1} WHERE {} AND {} IS NULL",
                q(c.name),
                by_key(2),
                q(c.name)
            )
        });
        ModelSql {
            types: d.columns.iter().map(|c| c.ty).collect(),
            read_by_pk,
            insert_auto: insert(&insert_auto_columns),
            insert_all: insert(&every),
            delete_by_pk: format!("DELETE FROM {table} WHERE {key1}"),
            soft_delete_by_pk,
            live_only,
            insert_auto_columns,
            select,
            returning,
        }
    }
}

/// `SELECT <all columns> FROM <table> WHERE c1 = ? AND …`: reads back the row
/// a write without `RETURNING` stored, by the values of `columns` (its key,
/// or an upsert's conflict target), bound in that order.
pub fn select_by(d: &ModelDescriptor, dialect: &dyn QueryDialect, columns: &[&str]) -> String {
    let mut w = SqlWriter::new(dialect);
    w.push("SELECT ");
    for (i, c) in d.columns.iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        w.ident(c.name);
    }
    w.push(" FROM ").ident(d.table);
    for (i, c) in columns.iter().enumerate() {
        w.push(if i == 0 { " WHERE " } else { " AND " });
        w.ident(c).push(" = ");
        w.bind(Value::Null);
    }
    w.finish().text
}
