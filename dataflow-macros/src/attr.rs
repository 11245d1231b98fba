//! Parsing `#[dataflow(...)]` attributes into raw, span-carrying values.
//! Nothing here checks meaning across attributes; `model.rs` validates.
//!
//! Kept whole (about 560 lines): one parser per attribute, all over the same
//! `ParseNestedMeta` helpers; the list of accepted attributes is easiest to
//! review in one file.

use proc_macro2::Span;
use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::parse::Parse;
use syn::spanned::Spanned;
use syn::{Attribute, Lit, LitBool, LitInt, LitStr};

use crate::errors::Errors;

const MODEL_ATTRS: &[&str] = &[
    "table",
    "primary_key(...)",
    "renamed_from",
    "timestamps",
    "soft_delete",
    "index(...)",
    "partial_index(...)",
    "jsonb_gin_indexes(...)",
    "text_search(...)",
    "foreign_key(...)",
    "check(...)",
];
const FIELD_ATTRS: &[&str] = &[
    "primary_key",
    "auto_increment",
    "unique",
    "index",
    "max_length",
    "default",
    "default_sql",
    "renamed_from",
    "column",
    "collation",
];
const VARIANT_ATTRS: &[&str] = &["rename", "renamed_from"];
const INDEX_ATTRS: &[&str] = &[
    "fields(\"a\", \"b\")",
    "name",
    "unique",
    "condition",
    "using",
];
const TEXT_SEARCH_ATTRS: &[&str] = &["fields(\"a\", \"b\")", "name", "language"];
const FK_ATTRS: &[&str] = &["field", "references", "on_delete", "on_update"];
const CHECK_ATTRS: &[&str] = &["name", "expr"];

/// Model-level attributes.
#[derive(Default)]
pub struct ModelAttrs {
    pub table: Option<LitStr>,
    pub renamed_from: Option<LitStr>,
    pub timestamps: Option<Span>,
    pub soft_delete: Option<Span>,
    pub indexes: Vec<IndexAttr>,
    pub gin_indexes: Vec<LitStr>,
    pub text_search: Vec<TextSearchAttr>,
    pub foreign_keys: Vec<ForeignKeyAttr>,
    /// `primary_key("a", "b")`: the key's fields, in key order.
    pub primary_key: Option<KeyAttr>,
    pub checks: Vec<CheckAttr>,
}

/// `check(name = "ck_price_positive", expr = "price > 0")`
pub struct CheckAttr {
    pub span: Span,
    pub name: Option<LitStr>,
    pub expr: Option<LitStr>,
}

/// `primary_key("order_id", "line_no")` on the struct.
pub struct KeyAttr {
    pub span: Span,
    pub fields: Vec<LitStr>,
    /// Some entry was not a string (already reported).
    pub had_error: bool,
}

/// `text_search(fields("title", "body"), language = "english", name = "...")`
pub struct TextSearchAttr {
    pub span: Span,
    pub fields: Vec<LitStr>,
    pub name: Option<LitStr>,
    pub language: Option<LitStr>,
}

/// `index(fields("a", "b"), name = "...", unique, condition = "...")`, or
/// `partial_index(...)` (the same, with the condition required).
pub struct IndexAttr {
    pub span: Span,
    pub fields: Vec<LitStr>,
    pub name: Option<LitStr>,
    pub unique: bool,
    pub condition: Option<LitStr>,
    pub partial: bool,
    /// `using = "gin"`: how the index is built (default b-tree).
    pub using: Option<LitStr>,
}

/// `foreign_key(field = "...", references = "table(column)", on_delete = "...")`
pub struct ForeignKeyAttr {
    pub span: Span,
    pub field: Option<LitStr>,
    pub references: Option<LitStr>,
    pub on_delete: Option<LitStr>,
    pub on_update: Option<LitStr>,
}

/// Field-level attributes.
#[derive(Default)]
pub struct FieldAttrs {
    pub primary_key: Option<Span>,
    pub auto_increment: Option<LitBool>,
    pub unique: Option<Span>,
    pub index: Option<Span>,
    pub max_length: Option<LitInt>,
    pub default: Option<Lit>,
    /// `default_sql = "<SQL expression>"`: a database-side default written as
    /// SQL (trusted code, like a migration).
    pub default_sql: Option<LitStr>,
    pub renamed_from: Option<LitStr>,
    pub column: Option<LitStr>,
    pub collation: Option<LitStr>,
    /// Some attribute of the field did not parse, so the field's role (e.g. its
    /// being the primary key) may be unknown: dependent errors are not reported.
    pub had_error: bool,
}

/// Attributes of a `#[derive(ModelEnum)]` variant.
#[derive(Default)]
pub struct VariantAttrs {
    pub rename: Option<LitStr>,
    pub renamed_from: Option<LitStr>,
}

/// Optimal-string-alignment distance (a transposition counts as one edit).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

/// The attribute a misspelled or misremembered `name` most likely meant.
pub fn suggest(name: &str, expected: &[&str]) -> Option<String> {
    const ALIASES: &[(&str, &str)] = &[
        ("pk", "primary_key"),
        ("primary", "primary_key"),
        ("key", "primary_key"),
        ("id", "primary_key"),
        ("autoincrement", "auto_increment"),
        ("serial", "auto_increment"),
        ("fk", "foreign_key(...)"),
        ("foreign", "foreign_key(...)"),
        ("references", "foreign_key(...)"),
        ("indexes", "index(...)"),
        ("indices", "index(...)"),
        ("name", "table"),
        ("table_name", "table"),
        ("name", "column"),
        ("column_name", "column"),
        ("rename", "renamed_from"),
        ("length", "max_length"),
        ("max_len", "max_length"),
        ("len", "max_length"),
    ];
    if let Some((_, target)) = ALIASES
        .iter()
        .find(|(alias, target)| *alias == name && expected.contains(target))
    {
        return Some((*target).to_owned());
    }
    let bare = |e: &&str| e.split('(').next().unwrap_or(e).to_owned();
    expected
        .iter()
        .map(|e| (edit_distance(name, &bare(e)), e))
        .filter(|(d, e)| {
            (*d <= 2 && *d < name.len()) || (name.len() >= 4 && bare(e).starts_with(name))
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, e)| (*e).to_owned())
}

fn unknown(meta: &ParseNestedMeta<'_>, expected: &[&str]) -> syn::Error {
    let name = meta.path.get_ident().map_or_else(
        || meta.path.to_token_stream().to_string().replace(' ', ""),
        ToString::to_string,
    );
    let hint = if name == "nullable" || name == "null" || name == "optional" {
        " (a field is nullable when its type is `Option<T>`)".to_owned()
    } else {
        suggest(&name, expected).map_or_else(String::new, |s| format!(" (did you mean `{s}`?)"))
    };
    meta.error(format!(
        "unknown dataflow attribute `{name}`{hint}; expected one of: {}",
        expected.join(", ")
    ))
}

/// Consumes whatever follows an attribute name (`= value` or `(...)`), so that
/// parsing goes on after an error and later attributes are still seen.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        meta.value()?.parse::<syn::Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        content.parse::<proc_macro2::TokenStream>()?;
    }
    Ok(())
}

fn name_of(meta: &ParseNestedMeta<'_>) -> String {
    meta.path
        .get_ident()
        .map_or_else(String::new, ToString::to_string)
}

/// A flag such as `unique`: it takes no value.
fn flag(meta: &ParseNestedMeta<'_>, errors: &mut Errors) -> syn::Result<Span> {
    let span = meta.path.span();
    if meta.input.peek(syn::Token![=]) || meta.input.peek(syn::token::Paren) {
        let name = name_of(meta);
        errors.push(meta.error(format!(
            "`{name}` is a flag and takes no value: write just `{name}`"
        )));
        skip_value(meta)?;
    }
    Ok(span)
}

/// `name = <T>`. A value of the wrong kind is reported at the value, and parsing
/// goes on (`Ok(None)`).
fn value<T: syn::parse::Parse>(
    meta: &ParseNestedMeta<'_>,
    what: &str,
    errors: &mut Errors,
) -> syn::Result<Option<T>> {
    let name = name_of(meta);
    if !meta.input.peek(syn::Token![=]) {
        errors.push(meta.error(format!("`{name}` needs a value: `{name} = {what}`")));
        skip_value(meta)?;
        return Ok(None);
    }
    let input = meta.value()?;
    if input.fork().parse::<T>().is_ok() {
        return input.parse::<T>().map(Some);
    }
    let found: syn::Expr = input.parse()?;
    errors.at(found, format!("`{name}` expects {what}"));
    Ok(None)
}

fn set_once<T>(slot: &mut Option<T>, value: T, meta: &ParseNestedMeta<'_>, errors: &mut Errors) {
    if slot.is_some() {
        errors.push(meta.error(format!("duplicate dataflow attribute `{}`", name_of(meta))));
    } else {
        *slot = Some(value);
    }
}

fn dataflow_attrs(attrs: &[Attribute]) -> impl Iterator<Item = &Attribute> {
    attrs.iter().filter(|a| a.path().is_ident("dataflow"))
}

/// Parses every `#[dataflow(...)]` on the struct.
pub fn parse_model_attrs(attrs: &[Attribute], errors: &mut Errors) -> ModelAttrs {
    let mut out = ModelAttrs::default();
    for attr in dataflow_attrs(attrs) {
        let res = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("table") {
                if let Some(v) = value::<LitStr>(&meta, "\"table_name\"", errors)? {
                    set_once(&mut out.table, v, &meta, errors);
                }
            } else if meta.path.is_ident("renamed_from") {
                if let Some(v) = value::<LitStr>(&meta, "\"previous_table_name\"", errors)? {
                    set_once(&mut out.renamed_from, v, &meta, errors);
                }
            } else if meta.path.is_ident("timestamps") {
                let span = flag(&meta, errors)?;
                set_once(&mut out.timestamps, span, &meta, errors);
            } else if meta.path.is_ident("soft_delete") {
                let span = flag(&meta, errors)?;
                set_once(&mut out.soft_delete, span, &meta, errors);
            } else if meta.path.is_ident("index") {
                out.indexes.extend(parse_index(&meta, false, errors)?);
            } else if meta.path.is_ident("partial_index") {
                out.indexes.extend(parse_index(&meta, true, errors)?);
            } else if meta.path.is_ident("jsonb_gin_indexes") {
                if !meta.input.peek(syn::token::Paren) {
                    errors.push(meta.error(
                        "`jsonb_gin_indexes` needs a field list: `jsonb_gin_indexes(\"profile\")`",
                    ));
                    skip_value(&meta)?;
                } else {
                    let list = string_list(&meta)?;
                    if list.is_empty() {
                        errors.push(meta.error("`jsonb_gin_indexes` needs at least one field"));
                    }
                    out.gin_indexes.extend(list);
                }
            } else if meta.path.is_ident("text_search") {
                out.text_search.extend(parse_text_search(&meta, errors)?);
            } else if meta.path.is_ident("foreign_key") {
                out.foreign_keys.extend(parse_foreign_key(&meta, errors)?);
            } else if meta.path.is_ident("primary_key") {
                if let Some(key) = parse_key(&meta, errors)? {
                    set_once(&mut out.primary_key, key, &meta, errors);
                }
            } else if meta.path.is_ident("check") {
                out.checks.extend(parse_check(&meta, errors)?);
            } else {
                errors.push(unknown(&meta, MODEL_ATTRS));
                skip_value(&meta)?;
            }
            Ok(())
        });
        if let Err(e) = res {
            errors.push(e);
        }
    }
    out
}

/// `("a", "b", …)` after an attribute's name.
fn string_list(meta: &ParseNestedMeta<'_>) -> syn::Result<Vec<LitStr>> {
    let content;
    syn::parenthesized!(content in meta.input);
    let list = content.parse_terminated(|p| p.parse::<LitStr>(), syn::Token![,])?;
    Ok(list.into_iter().collect())
}

/// `primary_key("a", "b")`: field names as strings, as in `index(fields(...))`;
/// a bare field name is reported at it with the spelling to use.
fn parse_key(meta: &ParseNestedMeta<'_>, errors: &mut Errors) -> syn::Result<Option<KeyAttr>> {
    if !meta.input.peek(syn::token::Paren) {
        errors.push(meta.error(
            "`primary_key` on the struct needs the key's fields: `primary_key(\"order_id\", \"line_no\")`; to make one field the key, put #[dataflow(primary_key)] on it",
        ));
        skip_value(meta)?;
        return Ok(None);
    }
    let content;
    syn::parenthesized!(content in meta.input);
    let items = content.parse_terminated(syn::Expr::parse, syn::Token![,])?;
    let mut fields = Vec::new();
    let mut had_error = false;
    for item in items {
        had_error |= !matches!(
            &item,
            syn::Expr::Lit(syn::ExprLit {
                lit: Lit::Str(_),
                ..
            })
        );
        match item {
            syn::Expr::Lit(syn::ExprLit {
                lit: Lit::Str(s), ..
            }) => fields.push(s),
            syn::Expr::Path(p) if p.path.get_ident().is_some() => {
                let name = p.path.to_token_stream().to_string();
                errors.at(
                    &p,
                    format!(
                        "write the field name as a string, as in `index(fields(...))`: \"{name}\""
                    ),
                );
            }
            other => errors.at(other, "expected a field name as a string: \"order_id\""),
        }
    }
    Ok(Some(KeyAttr {
        span: meta.path.span(),
        fields,
        had_error,
    }))
}

fn parse_text_search(
    meta: &ParseNestedMeta<'_>,
    errors: &mut Errors,
) -> syn::Result<Option<TextSearchAttr>> {
    let mut ts = TextSearchAttr {
        span: meta.path.span(),
        fields: Vec::new(),
        name: None,
        language: None,
    };
    if !meta.input.peek(syn::token::Paren) {
        errors.push(meta.error(
            "`text_search` needs a field list: `text_search(fields(\"title\", \"body\"), language = \"english\")`",
        ));
        skip_value(meta)?;
        return Ok(None);
    }
    meta.parse_nested_meta(|inner| {
        if inner.path.is_ident("fields") {
            ts.fields.extend(string_list(&inner)?);
        } else if inner.path.is_ident("name") {
            if let Some(v) = value::<LitStr>(&inner, "\"index_name\"", errors)? {
                set_once(&mut ts.name, v, &inner, errors);
            }
        } else if inner.path.is_ident("language") {
            if let Some(v) = value::<LitStr>(&inner, "\"english\"", errors)? {
                set_once(&mut ts.language, v, &inner, errors);
            }
        } else {
            errors.push(unknown(&inner, TEXT_SEARCH_ATTRS));
            skip_value(&inner)?;
        }
        Ok(())
    })?;
    Ok(Some(ts))
}

fn parse_index(
    meta: &ParseNestedMeta<'_>,
    partial: bool,
    errors: &mut Errors,
) -> syn::Result<Option<IndexAttr>> {
    let mut idx = IndexAttr {
        span: meta.path.span(),
        fields: Vec::new(),
        name: None,
        unique: false,
        condition: None,
        partial,
        using: None,
    };
    if !meta.input.peek(syn::token::Paren) {
        errors.push(meta.error(
            "`index` on the struct needs a field list: `index(fields(\"a\", \"b\"))`; to index one field, put #[dataflow(index)] on it",
        ));
        skip_value(meta)?;
        return Ok(None);
    }
    meta.parse_nested_meta(|inner| {
        if inner.path.is_ident("fields") {
            idx.fields.extend(string_list(&inner)?);
        } else if inner.path.is_ident("name") {
            if let Some(v) = value::<LitStr>(&inner, "\"index_name\"", errors)? {
                set_once(&mut idx.name, v, &inner, errors);
            }
        } else if inner.path.is_ident("unique") {
            flag(&inner, errors)?;
            idx.unique = true;
        } else if inner.path.is_ident("condition") {
            if let Some(v) = value::<LitStr>(&inner, "\"deleted_at IS NULL\"", errors)? {
                set_once(&mut idx.condition, v, &inner, errors);
            }
        } else if inner.path.is_ident("using") {
            if let Some(v) = value::<LitStr>(&inner, "\"gin\"", errors)? {
                set_once(&mut idx.using, v, &inner, errors);
            }
        } else {
            errors.push(unknown(&inner, INDEX_ATTRS));
            skip_value(&inner)?;
        }
        Ok(())
    })?;
    Ok(Some(idx))
}

fn parse_foreign_key(
    meta: &ParseNestedMeta<'_>,
    errors: &mut Errors,
) -> syn::Result<Option<ForeignKeyAttr>> {
    let mut fk = ForeignKeyAttr {
        span: meta.path.span(),
        field: None,
        references: None,
        on_delete: None,
        on_update: None,
    };
    if !meta.input.peek(syn::token::Paren) {
        errors.push(meta.error(
            "`foreign_key` needs arguments: `foreign_key(field = \"user_id\", references = \"users(id)\")`",
        ));
        skip_value(meta)?;
        return Ok(None);
    }
    meta.parse_nested_meta(|inner| {
        let (slot, what) = if inner.path.is_ident("field") {
            (&mut fk.field, "\"field_name\"")
        } else if inner.path.is_ident("references") {
            (&mut fk.references, "\"table(column)\"")
        } else if inner.path.is_ident("on_delete") {
            (&mut fk.on_delete, "\"cascade\"")
        } else if inner.path.is_ident("on_update") {
            (&mut fk.on_update, "\"cascade\"")
        } else {
            errors.push(unknown(&inner, FK_ATTRS));
            return skip_value(&inner);
        };
        if let Some(v) = value::<LitStr>(&inner, what, errors)? {
            set_once(slot, v, &inner, errors);
        }
        Ok(())
    })?;
    Ok(Some(fk))
}

fn parse_check(meta: &ParseNestedMeta<'_>, errors: &mut Errors) -> syn::Result<Option<CheckAttr>> {
    let mut check = CheckAttr {
        span: meta.path.span(),
        name: None,
        expr: None,
    };
    if !meta.input.peek(syn::token::Paren) {
        errors.push(meta.error(
            "`check` needs arguments: `check(name = \"ck_price_positive\", expr = \"price > 0\")`",
        ));
        skip_value(meta)?;
        return Ok(None);
    }
    meta.parse_nested_meta(|inner| {
        let (slot, what) = if inner.path.is_ident("name") {
            (&mut check.name, "\"constraint_name\"")
        } else if inner.path.is_ident("expr") {
            (&mut check.expr, "\"price > 0\"")
        } else {
            errors.push(unknown(&inner, CHECK_ATTRS));
            return skip_value(&inner);
        };
        if let Some(v) = value::<LitStr>(&inner, what, errors)? {
            set_once(slot, v, &inner, errors);
        }
        Ok(())
    })?;
    Ok(Some(check))
}

/// Parses every `#[dataflow(...)]` on a field.
pub fn parse_field_attrs(attrs: &[Attribute], errors: &mut Errors) -> FieldAttrs {
    let mut out = FieldAttrs::default();
    for attr in dataflow_attrs(attrs) {
        let mut local = Errors::default();
        let res = attr.parse_nested_meta(|meta| {
            let errors = &mut local;
            if meta.path.is_ident("primary_key") {
                let span = flag(&meta, errors)?;
                set_once(&mut out.primary_key, span, &meta, errors);
            } else if meta.path.is_ident("auto_increment") {
                if let Some(v) = value::<LitBool>(&meta, "`true` or `false`", errors)? {
                    set_once(&mut out.auto_increment, v, &meta, errors);
                }
            } else if meta.path.is_ident("unique") {
                let span = flag(&meta, errors)?;
                set_once(&mut out.unique, span, &meta, errors);
            } else if meta.path.is_ident("index") {
                let span = flag(&meta, errors)?;
                set_once(&mut out.index, span, &meta, errors);
            } else if meta.path.is_ident("max_length") {
                if let Some(v) = value::<LitInt>(&meta, "a positive integer", errors)? {
                    set_once(&mut out.max_length, v, &meta, errors);
                }
            } else if meta.path.is_ident("default") {
                if let Some(v) = parse_default(&meta, errors)? {
                    set_once(&mut out.default, v, &meta, errors);
                }
            } else if meta.path.is_ident("default_sql") {
                if let Some(v) = value::<LitStr>(&meta, "\"<SQL expression>\"", errors)? {
                    set_once(&mut out.default_sql, v, &meta, errors);
                }
            } else if meta.path.is_ident("renamed_from") {
                if let Some(v) = value::<LitStr>(&meta, "\"previous_column_name\"", errors)? {
                    set_once(&mut out.renamed_from, v, &meta, errors);
                }
            } else if meta.path.is_ident("column") {
                if let Some(v) = value::<LitStr>(&meta, "\"column_name\"", errors)? {
                    set_once(&mut out.column, v, &meta, errors);
                }
            } else if meta.path.is_ident("collation") {
                if let Some(v) = value::<LitStr>(&meta, "\"NOCASE\"", errors)? {
                    set_once(&mut out.collation, v, &meta, errors);
                }
            } else {
                errors.push(unknown(&meta, FIELD_ATTRS));
                skip_value(&meta)?;
            }
            Ok(())
        });
        if let Err(e) = res {
            local.push(e);
        }
        if let Err(e) = local.finish(()) {
            out.had_error = true;
            errors.push(e);
        }
    }
    out
}

/// `default = <literal>`, where a leading `-` makes a negative number literal.
fn parse_default(meta: &ParseNestedMeta<'_>, errors: &mut Errors) -> syn::Result<Option<Lit>> {
    const WHAT: &str = "a literal: `true`/`false`, a number, or a string such as \"now\" or \"{}\"";
    if !meta.input.peek(syn::Token![=]) {
        errors.push(meta.error(format!("`default` needs a value: `default = <{WHAT}>`")));
        skip_value(meta)?;
        return Ok(None);
    }
    let input = meta.value()?;
    if input.peek(syn::Token![-]) {
        let minus: syn::Token![-] = input.parse()?;
        let lit: Lit = input.parse()?;
        let span = minus.span.join(lit.span()).unwrap_or(lit.span());
        return match lit {
            Lit::Int(i) => Ok(Some(Lit::Int(LitInt::new(
                &format!("-{}{}", i.base10_digits(), i.suffix()),
                span,
            )))),
            Lit::Float(f) => Ok(Some(Lit::Float(syn::LitFloat::new(
                &format!("-{}{}", f.base10_digits(), f.suffix()),
                span,
            )))),
            other => {
                errors.at(other, "only numbers can be negative");
                Ok(None)
            }
        };
    }
    if input.fork().parse::<Lit>().is_ok() {
        return input.parse().map(Some);
    }
    let found: syn::Expr = input.parse()?;
    errors.at(found, format!("`default` expects {WHAT}"));
    Ok(None)
}

/// Parses every `#[dataflow(...)]` on an enum variant.
pub fn parse_variant_attrs(attrs: &[Attribute], errors: &mut Errors) -> VariantAttrs {
    let mut out = VariantAttrs::default();
    for attr in dataflow_attrs(attrs) {
        let res = attr.parse_nested_meta(|meta| {
            let (slot, what) = if meta.path.is_ident("rename") {
                (&mut out.rename, "\"stored_name\"")
            } else if meta.path.is_ident("renamed_from") {
                (&mut out.renamed_from, "\"previous_stored_name\"")
            } else {
                errors.push(unknown(&meta, VARIANT_ATTRS));
                return skip_value(&meta);
            };
            if let Some(v) = value::<LitStr>(&meta, what, errors)? {
                set_once(slot, v, &meta, errors);
            }
            Ok(())
        });
        if let Err(e) = res {
            errors.push(e);
        }
    }
    out
}

/// Refuses any `#[dataflow(...)]` on a `#[derive(ModelEnum)]` enum itself:
/// its options are per variant.
pub fn refuse_enum_attrs(attrs: &[Attribute], errors: &mut Errors) {
    for attr in dataflow_attrs(attrs) {
        errors.at(
            attr,
            "#[derive(ModelEnum)] takes no dataflow attribute on the enum; put `rename` or `renamed_from` on a variant",
        );
    }
}
