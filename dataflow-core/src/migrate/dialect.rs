//! How a backend spells DDL: column types, `CREATE TABLE`, indexes, foreign
//! keys, each schema change, online variants. Core renders standard SQL
//! through these hooks ([`render_standard`]); a backend overrides what its
//! database spells differently. [`Dialect`] is the whole of a backend's
//! spelling: this and the query layer's [`QueryDialect`].

use crate::migrate::diff::{Change, ValueRename};
use crate::migrate::schema::{Check, Column, ForeignKey, Index, Schema, SchemaDefault, Table};
use crate::migrate::OnlineSql;
use crate::model::value::LogicalType;
use crate::query::dialect::QueryDialect;

/// How a database spells DDL. Object-safe; implemented by the same static
/// instance as its [`QueryDialect`].
pub trait SchemaDialect: QueryDialect {
    /// The native column type of a logical type.
    fn column_type(&self, column: &Column) -> String;

    /// The full definition of an auto-incrementing primary key column, after its name.
    fn auto_increment_primary_key(&self, column: &Column) -> String;

    /// Appends a string literal (DDL only, where binds are not allowed; the text
    /// comes from compile-time model attributes).
    fn string_literal(&self, text: &str, out: &mut String) {
        out.push('\'');
        for ch in text.chars() {
            if ch == '\'' {
                out.push('\'');
            }
            out.push(ch);
        }
        out.push('\'');
    }

    /// The SQL default clause value for a declared default.
    fn default_literal(&self, default: &SchemaDefault, ty: LogicalType) -> String {
        let mut out = String::new();
        match default {
            SchemaDefault::Bool(b) => out.push_str(if *b { "TRUE" } else { "FALSE" }),
            SchemaDefault::Int(i) => out.push_str(&i.to_string()),
            SchemaDefault::Float(f) => out.push_str(&format!("{f:?}")),
            SchemaDefault::Text(t) => self.string_literal(t, &mut out),
            SchemaDefault::CurrentTimestamp => out.push_str(match ty {
                LogicalType::Date => "CURRENT_DATE",
                _ => "CURRENT_TIMESTAMP",
            }),
            // The author's SQL, verbatim: trusted like a migration.
            SchemaDefault::Sql(sql) => {
                out.push_str(&crate::migrate::default_sql::default_clause(sql))
            }
        }
        out
    }

    /// `CREATE TABLE` for a table, followed by its indexes.
    fn create_table(&self, table: &Table) -> Vec<String> {
        let mut out = String::from("CREATE TABLE ");
        self.quote_ident(&table.name, &mut out);
        out.push_str(" (");
        let single_auto_pk = table.primary_key.len() == 1
            && table
                .column(&table.primary_key[0])
                .is_some_and(|c| c.auto_increment);
        for (i, col) in table.columns.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            self.column_definition(
                col,
                single_auto_pk && col.name == table.primary_key[0],
                &mut out,
            );
        }
        if !single_auto_pk && !table.primary_key.is_empty() {
            out.push_str(", PRIMARY KEY (");
            let pk: Vec<&str> = table.primary_key.iter().map(String::as_str).collect();
            self.ident_list(&pk, &mut out);
            out.push(')');
        }
        for fk in &table.foreign_keys {
            out.push_str(", ");
            self.foreign_key_clause(&table.name, fk, &mut out);
        }
        for check in &table.checks {
            out.push_str(", ");
            self.check_clause(check, &mut out);
        }
        out.push(')');
        let mut stmts = vec![out];
        stmts.extend(
            table
                .indexes
                .iter()
                .map(|i| self.create_index(&table.name, i)),
        );
        stmts
    }

    /// One column's definition inside `CREATE TABLE` or `ADD COLUMN`.
    fn column_definition(&self, col: &Column, auto_pk: bool, out: &mut String) {
        self.quote_ident(&col.name, out);
        out.push(' ');
        if auto_pk {
            out.push_str(&self.auto_increment_primary_key(col));
            return;
        }
        out.push_str(&self.column_type(col));
        if let Some(collation) = &col.collation {
            out.push_str(" COLLATE ");
            self.quote_ident(collation, out);
        }
        if !col.nullable {
            out.push_str(" NOT NULL");
        }
        if let Some(d) = &col.default {
            out.push_str(" DEFAULT ");
            out.push_str(&self.default_literal(d, col.ty));
        }
        if col.enum_values.is_some() {
            out.push(' ');
            self.enum_check(col, out);
        }
    }

    /// `CONSTRAINT "ck_<column>" CHECK ("<column>" IN ('a', 'b'))`: the values
    /// an enum column allows (named after the column, so a change drops it by
    /// name; nothing for a column without them).
    fn enum_check(&self, col: &Column, out: &mut String) {
        let Some(values) = &col.enum_values else {
            return;
        };
        out.push_str("CONSTRAINT ");
        self.quote_ident(&enum_check_name(&col.name), out);
        out.push_str(" CHECK (");
        self.quote_ident(&col.name, out);
        out.push_str(" IN (");
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            self.string_literal(v, out);
        }
        out.push_str("))");
    }

    /// `CONSTRAINT "name" CHECK (expr)`: the expression as the model wrote it
    /// (trusted SQL, like a migration's).
    fn check_clause(&self, check: &Check, out: &mut String) {
        out.push_str("CONSTRAINT ");
        self.quote_ident(&check.name, out);
        out.push_str(" CHECK (");
        out.push_str(&check.expr);
        // A condition ending in a `--` comment would comment the parenthesis
        // out.
        if check.expr.contains("--") {
            out.push('\n');
        }
        out.push(')');
    }

    /// `CREATE [UNIQUE] INDEX … [WHERE …]`. Dialects with other index kinds
    /// override it; the default spells b-tree indexes only (see
    /// [`Capabilities::non_btree_indexes`](crate::Capabilities::non_btree_indexes)).
    fn create_index(&self, table: &str, index: &Index) -> String {
        let mut out = create_index_head(self, table, index);
        out.push_str(" (");
        let cols: Vec<&str> = index.columns.iter().map(String::as_str).collect();
        self.ident_list(&cols, &mut out);
        out.push(')');
        if let Some(p) = &index.predicate {
            out.push_str(" WHERE ");
            out.push_str(p);
        }
        out
    }

    /// `DROP TABLE`.
    fn drop_table(&self, table: &str) -> String {
        let mut out = String::from("DROP TABLE ");
        self.quote_ident(table, &mut out);
        out
    }

    /// Brings a schema into this dialect's canonical form (for example, where the
    /// database cannot tell two logical types apart). Applied to both the target and
    /// the live schema before they are compared.
    fn normalize(&self, _schema: &mut crate::migrate::schema::Schema) {}

    /// `CONSTRAINT "fk_<table>_<column>" FOREIGN KEY (…) REFERENCES …`.
    fn foreign_key_clause(&self, table: &str, fk: &ForeignKey, out: &mut String) {
        out.push_str("CONSTRAINT ");
        self.quote_ident(&foreign_key_name(table, fk), out);
        out.push_str(" FOREIGN KEY (");
        self.quote_ident(&fk.column, out);
        out.push_str(") REFERENCES ");
        self.quote_ident(&fk.references_table, out);
        out.push_str(" (");
        self.quote_ident(&fk.references_column, out);
        out.push_str(") ON DELETE ");
        out.push_str(fk.on_delete.sql());
        out.push_str(" ON UPDATE ");
        out.push_str(fk.on_update.sql());
    }

    /// What this database does when it runs the change (locks, rewrites), added
    /// to the step's reason so the preview tells operators what to expect.
    fn risk_note(&self, change: &Change) -> Option<String> {
        let _ = change;
        None
    }

    /// Why this database can make `change` (on the schema `before`) only by
    /// rebuilding its table, or `None` when it alters in place. The planner
    /// folds the changes of one table that need a rebuild into one
    /// [`Change::RebuildTable`], so the table is copied once.
    fn rebuild_reason(&self, change: &Change, before: &Schema) -> Option<String> {
        let _ = (change, before);
        None
    }

    /// SQL for one change, given the schema just before and just after it.
    /// The default spells standard `ALTER TABLE`; dialects override what their
    /// database does differently.
    fn render_change(&self, change: &Change, before: &Schema, after: &Schema) -> Vec<String> {
        render_standard(self, change, before, after)
    }

    /// How this database runs `change` without blocking writers, if it has a
    /// way (see `MigrateOptions::online`): statements for inside the
    /// migration's transaction, and statements for after it commits. `None`
    /// runs the change inside the transaction as usual.
    fn render_online(
        &self,
        change: &Change,
        before: &Schema,
        after: &Schema,
        batch_size: u32,
    ) -> Option<OnlineRendering> {
        let _ = (change, before, after, batch_size);
        None
    }

    /// The statement bounding how long each later statement waits for a lock
    /// (for the rest of the transaction when `local`, else for the session;
    /// zero means no bound), or `None` where the database has no such setting.
    fn set_lock_timeout(&self, timeout: std::time::Duration, local: bool) -> Option<String> {
        let _ = (timeout, local);
        None
    }

    /// `ALTER COLUMN` statements for a type, nullability, default or enum
    /// values change; rows holding a renamed enum value are rewritten between
    /// dropping the old `CHECK` and adding the new one.
    fn alter_column(
        &self,
        table: &str,
        from: &Column,
        to: &Column,
        renamed_values: &[ValueRename],
    ) -> Vec<String> {
        let mut t = String::new();
        self.quote_ident(table, &mut t);
        let mut c = String::new();
        self.quote_ident(&to.name, &mut c);
        let mut out = Vec::new();
        let values_change = from.enum_values != to.enum_values;
        if values_change && from.enum_values.is_some() {
            let mut ck = String::new();
            self.quote_ident(&enum_check_name(&from.name), &mut ck);
            out.push(format!("ALTER TABLE {t} DROP CONSTRAINT {ck}"));
        }
        let retyped = from.ty != to.ty || from.max_length != to.max_length;
        if retyped || from.collation != to.collation {
            // A collation is set with the type (`TYPE … COLLATE …`); going
            // back to the default names the collation `default`.
            let mut ty = self.column_type(to);
            if to.collation.is_some() || from.collation.is_some() {
                ty.push_str(" COLLATE ");
                self.quote_ident(to.collation.as_deref().unwrap_or("default"), &mut ty);
            }
            let mut stmt = format!("ALTER TABLE {t} ALTER COLUMN {c} TYPE {ty}");
            if retyped {
                stmt.push_str(" USING ");
                stmt.push_str(&self.cast_expression(&c, from, to));
            }
            out.push(stmt);
        }
        if from.default != to.default {
            out.push(match &to.default {
                Some(d) => format!(
                    "ALTER TABLE {t} ALTER COLUMN {c} SET DEFAULT {}",
                    self.default_literal(d, to.ty)
                ),
                None => format!("ALTER TABLE {t} ALTER COLUMN {c} DROP DEFAULT"),
            });
        }
        if from.nullable && !to.nullable {
            if let Some(d) = &to.default {
                out.push(format!(
                    "UPDATE {t} SET {c} = {} WHERE {c} IS NULL",
                    self.default_literal(d, to.ty)
                ));
            }
            out.push(format!("ALTER TABLE {t} ALTER COLUMN {c} SET NOT NULL"));
        } else if !from.nullable && to.nullable {
            out.push(format!("ALTER TABLE {t} ALTER COLUMN {c} DROP NOT NULL"));
        }
        if !renamed_values.is_empty() {
            let mut olds = String::new();
            for (i, r) in renamed_values.iter().enumerate() {
                if i > 0 {
                    olds.push_str(", ");
                }
                self.string_literal(&r.from, &mut olds);
            }
            out.push(format!(
                "UPDATE {t} SET {c} = {} WHERE {c} IN ({olds})",
                renamed_values_expression(self, &c, renamed_values)
            ));
        }
        if values_change && to.enum_values.is_some() {
            let mut check = format!("ALTER TABLE {t} ADD ");
            self.enum_check(to, &mut check);
            out.push(check);
        }
        out
    }

    /// The expression converting quoted column `column` from `from`'s type to
    /// `to`'s (text narrowing truncates: that step is HIGH and backed up).
    fn cast_expression(&self, column: &str, from: &Column, to: &Column) -> String {
        match (to.ty, to.max_length) {
            (crate::model::value::LogicalType::Text, Some(n))
                if from.ty == crate::model::value::LogicalType::Text =>
            {
                format!("substr({column}, 1, {n})")
            }
            _ => format!("CAST({column} AS {})", self.column_type(to)),
        }
    }

    /// A predicate true for values of quoted `column` (typed `from`) that do not fit
    /// `to`, or `None` when no cheap test exists (then every value counts).
    fn not_fitting_predicate(&self, column: &str, from: &Column, to: &Column) -> Option<String> {
        use crate::model::value::LogicalType as T;
        let _ = from;
        match (to.ty, to.max_length) {
            (T::SmallInt, _) => Some(format!("{column} < -32768 OR {column} > 32767")),
            (T::Int, _) => Some(format!("{column} < -2147483648 OR {column} > 2147483647")),
            (T::Float, _) => Some(format!("abs({column}) > 3.4028234663852886e38")),
            (T::Text, Some(n)) => Some(format!("length({column}) > {n}")),
            _ => None,
        }
    }
}

/// Everything a backend spells: CRUD ([`QueryDialect`]) and DDL
/// ([`SchemaDialect`]). Implemented for every type that implements both; the
/// handle holds one `&'static dyn Dialect`.
pub trait Dialect: SchemaDialect {}

impl<T: SchemaDialect + ?Sized> Dialect for T {}

/// A change split for online mode (see [`SchemaDialect::render_online`]).
#[derive(Debug, Clone, PartialEq)]
pub struct OnlineRendering {
    /// Runs inside the migration's transaction (quick, catalog-only work).
    pub in_transaction: Vec<String>,
    /// Runs after the commit, one statement at a time.
    pub after_commit: Vec<OnlineSql>,
    /// What operators should know (added to the step's reason).
    pub note: String,
}

/// `CREATE [UNIQUE] INDEX "name" ON "table"`, the part every index kind shares.
pub fn create_index_head<D: SchemaDialect + ?Sized>(d: &D, table: &str, index: &Index) -> String {
    let mut out = String::from(if index.unique {
        "CREATE UNIQUE INDEX "
    } else {
        "CREATE INDEX "
    });
    d.quote_ident(&index.name, &mut out);
    out.push_str(" ON ");
    d.quote_ident(table, &mut out);
    out
}

/// How many dialects the per-model statement cache has room for.
pub const DIALECT_SLOTS: usize = 4;

/// The constraint name dataflow gives an enum column's `CHECK`: one per
/// column, unique within its table (where PostgreSQL wants `CHECK` names
/// unique).
pub fn enum_check_name(column: &str) -> String {
    generated_name(&format!("ck_{column}"))
}

/// `expr` with each renamed enum value replaced by its new name:
/// `CASE expr WHEN 'old' THEN 'new' … ELSE expr END` (`expr` itself when
/// nothing is renamed).
pub fn renamed_values_expression<D: SchemaDialect + ?Sized>(
    d: &D,
    expr: &str,
    renamed_values: &[ValueRename],
) -> String {
    if renamed_values.is_empty() {
        return expr.to_owned();
    }
    let mut out = format!("CASE {expr}");
    for r in renamed_values {
        out.push_str(" WHEN ");
        d.string_literal(&r.from, &mut out);
        out.push_str(" THEN ");
        d.string_literal(&r.to, &mut out);
    }
    out.push_str(&format!(" ELSE {expr} END"));
    out
}

/// The constraint name dataflow gives a foreign key.
pub fn foreign_key_name(table: &str, fk: &ForeignKey) -> String {
    generated_name(&format!("fk_{table}_{}", fk.column))
}

/// The longest identifier, in bytes, every backend keeps as written
/// (PostgreSQL's `NAMEDATALEN - 1`; longer names are silently cut there).
pub const MAX_IDENTIFIER_BYTES: usize = 63;

/// A name dataflow derives from others (a constraint's from its table and
/// column), made to fit [`MAX_IDENTIFIER_BYTES`]: returned as is when it fits,
/// otherwise cut on a character boundary and ended with `_` and eight hex digits
/// of the whole name's SHA-256, so names that share their first 63 bytes stay
/// distinct and the database keeps the name it is given (a name PostgreSQL cut
/// itself would read back as drift).
///
/// `#[derive(Model)]` shortens the index names it derives the same way.
pub fn generated_name(name: &str) -> String {
    use sha2::{Digest, Sha256};
    if name.len() <= MAX_IDENTIFIER_BYTES {
        return name.to_owned();
    }
    const SUFFIX: usize = 9;
    let mut cut = MAX_IDENTIFIER_BYTES - SUFFIX;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    let digest = Sha256::digest(name.as_bytes());
    let mut out = String::with_capacity(MAX_IDENTIFIER_BYTES);
    out.push_str(&name[..cut]);
    out.push('_');
    for b in &digest[..4] {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The standard-SQL rendering of a change, which [`SchemaDialect::render_change`] uses by
/// default and dialects fall back to for the changes they spell the same way.
pub fn render_standard<D: SchemaDialect + ?Sized>(
    d: &D,
    change: &Change,
    before: &Schema,
    after: &Schema,
) -> Vec<String> {
    let _ = (before, after);
    let q = |s: &str| {
        let mut o = String::new();
        d.quote_ident(s, &mut o);
        o
    };
    match change {
        Change::CreateTable { table } => d.create_table(table),
        Change::DropTable { table } => vec![d.drop_table(&table.name)],
        Change::RenameTable { from, to } => {
            vec![format!("ALTER TABLE {} RENAME TO {}", q(from), q(to))]
        }
        Change::AddColumn { table, column } => {
            let mut def = String::new();
            d.column_definition(column, false, &mut def);
            vec![format!("ALTER TABLE {} ADD COLUMN {def}", q(table))]
        }
        Change::DropColumn { table, column } => {
            vec![format!(
                "ALTER TABLE {} DROP COLUMN {}",
                q(table),
                q(&column.name)
            )]
        }
        Change::RenameColumn { table, from, to } => vec![format!(
            "ALTER TABLE {} RENAME COLUMN {} TO {}",
            q(table),
            q(from),
            q(to)
        )],
        Change::AlterColumn {
            table,
            from,
            to,
            renamed_values,
        } => d.alter_column(table, from, to, renamed_values),
        Change::CreateIndex { table, index } => vec![d.create_index(table, index)],
        Change::DropIndex { index, .. } => vec![format!("DROP INDEX {}", q(&index.name))],
        Change::RenameIndex { from, to, .. } => {
            vec![format!("ALTER INDEX {} RENAME TO {}", q(from), q(to))]
        }
        Change::AddForeignKey { table, foreign_key } => {
            let mut c = format!("ALTER TABLE {} ADD ", q(table));
            d.foreign_key_clause(table, foreign_key, &mut c);
            vec![c]
        }
        Change::DropForeignKey { table, foreign_key } => vec![format!(
            "ALTER TABLE {} DROP CONSTRAINT {}",
            q(table),
            q(&foreign_key_name(table, foreign_key))
        )],
        Change::AddCheck { table, check } => {
            let mut c = format!("ALTER TABLE {} ADD ", q(table));
            d.check_clause(check, &mut c);
            vec![c]
        }
        Change::DropCheck { table, check } => vec![format!(
            "ALTER TABLE {} DROP CONSTRAINT {}",
            q(table),
            q(&check.name)
        )],
        // A database that alters in place runs the parts one after another.
        Change::RebuildTable { changes, .. } => {
            let mut at = before.clone();
            let mut out = Vec::new();
            for c in changes {
                let from = at.clone();
                crate::migrate::diff::apply(&mut at, c);
                out.extend(d.render_change(c, &from, &at));
            }
            out
        }
        Change::Unsupported { .. } => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_fit_stay_distinct_and_cut_on_characters() {
        assert_eq!(generated_name("fk_users_org_id"), "fk_users_org_id");
        let exact = "x".repeat(MAX_IDENTIFIER_BYTES);
        assert_eq!(generated_name(&exact), exact);
        let table = format!("a{}", "ë".repeat(30));
        let a = generated_name(&format!("fk_{table}_first_parent_id"));
        let b = generated_name(&format!("fk_{table}_second_parent_id"));
        for n in [&a, &b] {
            assert!(n.len() <= MAX_IDENTIFIER_BYTES, "{n}");
            assert!(n.starts_with("fk_aëë"), "{n}");
        }
        assert_ne!(a, b);
        // The macros crate derives index names with its own copy of this
        // function: both must give the same name for the same input.
        assert_eq!(
            generated_name(&format!("ix_{}_c", "t".repeat(70))),
            GOLDEN_LONG_NAME
        );
    }

    const GOLDEN_LONG_NAME: &str =
        "ix_ttttttttttttttttttttttttttttttttttttttttttttttttttt_b8ac184c";
}
