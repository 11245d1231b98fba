//! Writing `#[derive(Model)]` structs for described tables: pure, from the
//! live [`Schema`] and its [`LiveDetails`]. Whatever a model cannot declare is
//! said in a comment where it applies, with what `plan()` will then show. A
//! default no `default = ` literal declares is written as `default_sql` with
//! the database's own text, so the model keeps it.

use std::collections::BTreeSet;

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use crate::error::{Error, Result};
use crate::migrate::describe::{LiveDetails, TableDetails};
use crate::migrate::dialect::generated_name;
use crate::migrate::schema::{Column, Index, IndexKind, Schema, SchemaDefault, Table};
use crate::model::descriptor::FkAction;
use crate::model::value::LogicalType as T;

use super::names::{field_name, struct_name, FieldName};

/// The Rust type of a logical type.
fn rust_type(ty: T) -> TokenStream {
    match ty {
        T::SmallInt => quote!(i16),
        T::Int => quote!(i32),
        T::BigInt => quote!(i64),
        T::Float => quote!(f32),
        T::Double => quote!(f64),
        T::Bool => quote!(bool),
        T::Text => quote!(String),
        T::Bytes => quote!(Vec<u8>),
        T::Date => quote!(chrono::NaiveDate),
        T::Timestamp => quote!(chrono::NaiveDateTime),
        T::TimestampTz => quote!(chrono::DateTime<chrono::Utc>),
        T::Uuid => quote!(uuid::Uuid),
        T::Json => quote!(serde_json::Value),
        T::Decimal => quote!(rust_decimal::Decimal),
    }
}

fn rust_type_name(ty: T) -> String {
    rust_type(ty).to_string().replace(' ', "")
}

fn is_decimal(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    let mut parts = s.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    !int.is_empty()
        && int.chars().all(|c| c.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.chars().all(|c| c.is_ascii_digit()))
}

/// The SQL text of a literal default, for `default_sql` where `default =`
/// cannot declare it on the field's type: each backend reads this text back as
/// the same literal, so the round trip stays without steps.
fn literal_sql(d: &SchemaDefault) -> String {
    match d {
        SchemaDefault::Bool(b) => b.to_string(),
        SchemaDefault::Int(i) => i.to_string(),
        SchemaDefault::Float(f) if f.is_finite() => format!("{f:?}"),
        SchemaDefault::Float(f) => format!("'{f}'").replace("inf", "Infinity"),
        SchemaDefault::Text(t) => format!("'{}'", t.replace('\'', "''")),
        SchemaDefault::CurrentTimestamp => "CURRENT_TIMESTAMP".to_owned(),
        SchemaDefault::Sql(sql) => sql.clone(),
    }
}

/// `default = …` for a column's default when the derive has a literal for it
/// on the field's type, else `default_sql = "…"` with the database's text.
fn default_attr(c: &Column) -> Option<TokenStream> {
    let d = c.default.as_ref()?;
    let signed = |negative: bool, lit: Literal| {
        if negative {
            quote!(default = -#lit)
        } else {
            quote!(default = #lit)
        }
    };
    let datetime = matches!(c.ty, T::Date | T::Timestamp | T::TimestampTz);
    let declared = match (d, c.ty) {
        (SchemaDefault::Bool(b), T::Bool) => Some(quote!(default = #b)),
        (SchemaDefault::Int(i), ty) if ty.is_integer() => {
            Some(signed(*i < 0, Literal::u64_unsuffixed(i.unsigned_abs())))
        }
        (SchemaDefault::Float(f), T::Float | T::Double) if f.is_finite() => {
            Some(signed(*f < 0.0, Literal::f64_unsuffixed(f.abs())))
        }
        (SchemaDefault::Text(t), T::Text)
            if c.max_length.is_none_or(|n| t.chars().count() <= n as usize) =>
        {
            Some(quote!(default = #t))
        }
        (SchemaDefault::Text(t), T::Json)
            if serde_json::from_str::<serde_json::Value>(t).is_ok() =>
        {
            Some(quote!(default = #t))
        }
        (SchemaDefault::Text(t), T::Decimal) if is_decimal(t) => Some(quote!(default = #t)),
        (SchemaDefault::CurrentTimestamp, _) if datetime => Some(quote!(default = "now")),
        _ => None,
    };
    Some(declared.unwrap_or_else(|| {
        let sql = literal_sql(d);
        quote!(default_sql = #sql)
    }))
}

/// PostgreSQL types whose values travel as text (`character(n)`,
/// `character varying`, `name`).
fn pg_text_like(declared: &str) -> bool {
    declared.starts_with("character") || declared == "name"
}

fn action_name(a: FkAction) -> &'static str {
    match a {
        FkAction::NoAction => "no_action",
        FkAction::Restrict => "restrict",
        FkAction::Cascade => "cascade",
        FkAction::SetNull => "set_null",
        FkAction::SetDefault => "set_default",
    }
}

/// The most columns of a key a model declares (`primary_key("a", …)`).
const MAX_KEY_COLUMNS: usize = 6;

/// Why a table cannot be a model, if it cannot.
fn unmodelable(t: &Table) -> Option<String> {
    if t.primary_key.is_empty() {
        return Some("it has no primary key, and a model needs one".to_owned());
    }
    if t.primary_key.len() > MAX_KEY_COLUMNS {
        return Some(format!(
            "its primary key has {} columns ({}), and a model's key has at most {MAX_KEY_COLUMNS}",
            t.primary_key.len(),
            t.primary_key.join(", ")
        ));
    }
    t.primary_key
        .iter()
        .find_map(|key| match t.column(key).map(|c| c.ty) {
            Some(T::SmallInt | T::Int | T::BigInt | T::Text | T::Uuid) => None,
            Some(ty) => Some(format!(
                "its primary key column `{key}` is a {} column, and a model's key is made of integers, Strings and Uuids",
                ty.name()
            )),
            None => Some(format!("its primary key `{key}` is not among its columns")),
        })
}

/// One table as a model: the struct's items, or a comment saying why not.
pub(crate) struct Generated {
    /// The struct name, when the table became a model.
    pub model: Option<String>,
    /// The code (a struct) or the comment.
    pub text: String,
}

/// Writes the model of one table.
pub(crate) fn table_model(
    t: &Table,
    details: &TableDetails,
    backend: &str,
    taken: &mut BTreeSet<String>,
) -> Result<Generated> {
    if let Some(why) = unmodelable(t) {
        let mut text = format!(
            "// Table `{}` is not generated: {why}. It stays unmanaged: dataflow never alters or drops it.\n",
            t.name
        );
        text.push_str(&extras_comment(details, "// "));
        return Ok(Generated { model: None, text });
    }
    let name = struct_name(&t.name, taken);
    let ident = format_ident!("{name}");
    let composite = t.primary_key.len() > 1;
    let mut notes: Vec<String> = Vec::new();
    let mut fields_taken = BTreeSet::new();
    let names: Vec<FieldName> = t
        .columns
        .iter()
        .map(|c| field_name(&c.name, &mut fields_taken))
        .collect();
    let field_of = |column: &str| -> Option<String> {
        t.columns
            .iter()
            .position(|c| c.name == column)
            .map(|i| names[i].written.trim_start_matches("r#").to_owned())
    };
    let mut fields = Vec::new();
    for (c, n) in t.columns.iter().zip(&names) {
        let mut attrs: Vec<TokenStream> = Vec::new();
        let mut docs: Vec<String> = Vec::new();
        let is_key = t.primary_key.contains(&c.name);
        if is_key && composite {
            // Declared on the struct (`primary_key("a", "b")`), below.
            if c.nullable {
                docs.push(format!(
                    "The database lets this key column hold NULL; a model's key cannot: plan() proposes making it NOT NULL ({backend} allows NULL in a key it does not enforce)."
                ));
            }
            if c.auto_increment {
                docs.push(
                    "The database assigns this column's values from a sequence; a part of a composite key cannot be auto-increment, so plan() proposes a plain column."
                        .to_owned(),
                );
            }
        } else if is_key {
            let default_key = n.written == "id" && c.ty.is_integer();
            if !default_key || !c.auto_increment {
                attrs.push(quote!(primary_key));
            }
            if c.ty.is_integer() && !c.auto_increment {
                attrs.push(quote!(auto_increment = false));
            }
            if c.nullable {
                docs.push(format!(
                    "The database lets this key hold NULL; a model's key cannot: plan() proposes making it NOT NULL ({backend} allows NULL in a key it does not enforce)."
                ));
            }
        } else if c.auto_increment {
            docs.push(
                "The database assigns this column's values from a sequence; only a model's key can be auto-increment, so plan() proposes a plain column."
                    .to_owned(),
            );
        }
        if !n.derives_column {
            let col = &c.name;
            attrs.push(quote!(column = #col));
        }
        if let Some(n) = c.max_length {
            let n = Literal::u32_unsuffixed(n);
            attrs.push(quote!(max_length = #n));
        }
        if !(is_key && c.auto_increment) {
            attrs.extend(default_attr(c));
        }
        if let Some(declared) = details.inexact_types.get(&c.name) {
            docs.push(format!(
                "The column's type `{declared}` has no exact field type: read as `{}`.",
                rust_type_name(c.ty)
            ));
            if backend == "postgres" && c.ty == T::Text && !pg_text_like(declared) {
                docs.push(
                    "PostgreSQL does not send or take this type as text, so a row where it is set fails to load and writing it fails; cast it in a view, or change the column's type."
                        .to_owned(),
                );
            }
            if backend == "sqlite" && declared.eq_ignore_ascii_case("INTEGER") {
                docs.push(
                    "SQLite's INTEGER holds 64-bit values; a value beyond i32 fails to load. Making the field i64 is a migration (a table rebuild)."
                        .to_owned(),
                );
            }
        }
        if let Some(coll) = &c.collation {
            if c.ty == T::Text {
                attrs.push(quote!(collation = #coll));
            } else {
                docs.push(format!(
                    "The column has collation `{coll}`, which only a String field can declare: plan() proposes dropping it."
                ));
            }
        }
        let fname: TokenStream = n
            .written
            .parse()
            .map_err(|e| Error::InvalidInput(format!("field name {}: {e}", n.written)))?;
        let ty = rust_type(c.ty);
        let ty = if c.nullable && !is_key {
            quote!(Option<#ty>)
        } else {
            ty
        };
        let attr = (!attrs.is_empty()).then(|| quote!(#[dataflow(#(#attrs),*)]));
        let docs = docs.iter().map(|d| format!(" {d}"));
        fields.push(quote! {
            #(#[doc = #docs])*
            #attr
            pub #fname: #ty
        });
    }

    let mut model_attrs: Vec<TokenStream> = Vec::new();
    let table_name = &t.name;
    model_attrs.push(quote!(table = #table_name));
    if composite {
        let key: Vec<String> = t.primary_key.iter().filter_map(|c| field_of(c)).collect();
        model_attrs.push(quote!(primary_key(#(#key),*)));
    }
    for i in &t.indexes {
        match index_attr(t, i, &field_of) {
            Ok(a) => model_attrs.push(a),
            Err(why) => notes.push(why),
        }
    }
    for check in &t.checks {
        let (name, expr) = (&check.name, &check.expr);
        model_attrs.push(quote!(check(name = #name, expr = #expr)));
    }
    for fk in &t.foreign_keys {
        let Some(field) = field_of(&fk.column) else {
            continue;
        };
        let nullable = t.column(&fk.column).is_some_and(|c| c.nullable);
        if fk.on_delete == FkAction::SetNull && !nullable {
            notes.push(format!(
                "The foreign key on `{}` sets NULL on delete, but the column is NOT NULL, which a model cannot declare: plan() proposes dropping the key.",
                fk.column
            ));
            continue;
        }
        let references = format!("{}({})", fk.references_table, fk.references_column);
        let mut parts = vec![quote!(field = #field), quote!(references = #references)];
        if fk.on_delete != FkAction::NoAction {
            let a = action_name(fk.on_delete);
            parts.push(quote!(on_delete = #a));
        }
        if fk.on_update != FkAction::NoAction {
            let a = action_name(fk.on_update);
            parts.push(quote!(on_update = #a));
        }
        model_attrs.push(quote!(foreign_key(#(#parts),*)));
    }
    let mut doc = vec![format!("The table `{}`.", t.name)];
    doc.extend(notes);
    // The checks are declared above, each with its condition.
    let extras = extras_comment(
        &TableDetails {
            checks: Vec::new(),
            ..details.clone()
        },
        "",
    );
    doc.extend(extras.lines().map(str::to_owned));
    let doc = doc.iter().map(|d| format!(" {d}"));
    let item = quote! {
        #(#[doc = #doc])*
        #[derive(Model, Debug, Clone, PartialEq)]
        #(#[dataflow(#model_attrs)])*
        pub struct #ident {
            #(#fields),*
        }
    };
    Ok(Generated {
        model: Some(name),
        text: unparse(item)?,
    })
}

/// What the table holds that no model declares, one sentence a line.
fn extras_comment(details: &TableDetails, prefix: &str) -> String {
    let mut out = String::new();
    for check in &details.checks {
        out.push_str(&format!("{prefix}CHECK {check}: kept by the database.\n"));
    }
    for fk in &details.composite_foreign_keys {
        out.push_str(&format!(
            "{prefix}{fk}: a foreign key over several columns, which a model cannot declare; dataflow leaves it alone.\n"
        ));
    }
    for index in &details.skipped_indexes {
        out.push_str(&format!(
            "{prefix}Index `{index}` is over expressions, which a model cannot declare; dataflow leaves it alone.\n"
        ));
    }
    out
}

/// The model attribute declaring an index, or why none can.
fn index_attr(
    t: &Table,
    i: &Index,
    field_of: &dyn Fn(&str) -> Option<String>,
) -> std::result::Result<TokenStream, String> {
    let fields: Vec<String> = i.columns.iter().filter_map(|c| field_of(c)).collect();
    if fields.len() != i.columns.len() {
        return Err(format!(
            "Index `{}` names columns the table does not have.",
            i.name
        ));
    }
    let name = &i.name;
    match &i.kind {
        IndexKind::BTree => {
            let mut parts = vec![quote!(fields(#(#fields),*)), quote!(name = #name)];
            if i.unique {
                parts.push(quote!(unique));
            }
            if let Some(p) = &i.predicate {
                parts.push(quote!(condition = #p));
            }
            Ok(quote!(index(#(#parts),*)))
        }
        IndexKind::Gin
            if i.columns.len() == 1
                && !i.unique
                && i.predicate.is_none()
                && t.column(&i.columns[0]).is_some_and(|c| c.ty == T::Json) =>
        {
            let f = &fields[0];
            if *name == generated_name(&format!("gin_{}_{}", t.name, i.columns[0])) {
                Ok(quote!(jsonb_gin_indexes(#f)))
            } else {
                Ok(quote!(index(fields(#f), name = #name, using = "gin")))
            }
        }
        IndexKind::TextSearch { language } if !i.unique && i.predicate.is_none() => Ok(
            quote!(text_search(fields(#(#fields),*), language = #language, name = #name)),
        ),
        other => Err(format!(
            "Index `{}` ({}) cannot be declared by a model: plan() proposes dropping it; keep it by leaving the table unregistered or use existing_schema mode.",
            i.name,
            match other {
                IndexKind::Gin => "a GIN index that is not over one JSON column".to_owned(),
                IndexKind::Other { method } => format!("USING {method}"),
                _ => "unique or partial".to_owned(),
            }
        )),
    }
}

fn unparse(item: TokenStream) -> Result<String> {
    let file: syn::File = syn::parse2(item)
        .map_err(|e| Error::InvalidInput(format!("generated code does not parse: {e}")))?;
    Ok(prettyplease::unparse(&file))
}

/// Writes the models of every table of `schema` (in name order), with a
/// header naming `backend` and the views left out, and `MODELS`, the list of
/// their descriptors.
pub(crate) fn models_source(
    schema: &Schema,
    details: &LiveDetails,
    backend: &str,
) -> Result<String> {
    let mut out = format!(
        "// Models generated by dataflow from a live {backend} database \
         (dataflow_core::introspect::generate_models).\n"
    );
    if !details.views.is_empty() {
        out.push_str(&format!(
            "// Views are not models and are left alone: {}.\n",
            details.views.join(", ")
        ));
    }
    out.push('\n');
    out.push_str(&unparse(quote!(
        use dataflow_core::Model;
    ))?);
    let mut taken = BTreeSet::new();
    let empty = TableDetails::default();
    let mut models = Vec::new();
    for t in schema.tables.values() {
        let d = details.tables.get(&t.name).unwrap_or(&empty);
        let g = table_model(t, d, backend, &mut taken)?;
        out.push('\n');
        out.push_str(&g.text);
        models.extend(g.model);
    }
    let idents = models.iter().map(|m| format_ident!("{m}"));
    out.push('\n');
    out.push_str(&unparse(quote! {
        /// Every model above: `db.register_all(MODELS)`.
        pub const MODELS: &[&dataflow_core::ModelDescriptor] = dataflow_core::models![#(#idents),*];
    })?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(ty: T, default: SchemaDefault) -> Column {
        Column {
            name: "c".into(),
            ty,
            nullable: false,
            max_length: None,
            default: Some(default),
            auto_increment: false,
            enum_values: None,
            collation: None,
        }
    }

    fn attr(ty: T, default: SchemaDefault) -> String {
        default_attr(&column(ty, default))
            .map(|t| t.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn literal_defaults_stay_literals() {
        assert_eq!(attr(T::Int, SchemaDefault::Int(-3)), "default = - 3");
        assert_eq!(
            attr(T::Date, SchemaDefault::CurrentTimestamp),
            "default = \"now\""
        );
    }

    #[test]
    fn other_defaults_become_default_sql_with_the_database_text() {
        assert_eq!(
            attr(T::Uuid, SchemaDefault::Sql("gen_random_uuid()".into())),
            "default_sql = \"gen_random_uuid()\""
        );
        assert_eq!(
            attr(T::Uuid, SchemaDefault::Text("it's".into())),
            "default_sql = \"'it''s'\""
        );
        assert_eq!(
            attr(T::Double, SchemaDefault::Float(f64::NAN)),
            "default_sql = \"'NaN'\""
        );
        assert_eq!(
            attr(T::Text, SchemaDefault::CurrentTimestamp),
            "default_sql = \"CURRENT_TIMESTAMP\""
        );
    }
}
