//! Parsing `#[dataflow(...)]` attributes into raw, span-carrying values.
//! Nothing here checks meaning across attributes; `model.rs` validates.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{Attribute, Lit, LitBool, LitInt, LitStr};

use crate::errors::Errors;

const MODEL_ATTRS: &str =
    "table, renamed_from, timestamps, soft_delete, index(...), foreign_key(...)";
const FIELD_ATTRS: &str =
    "primary_key, auto_increment, unique, index, max_length, default, renamed_from, column";
const INDEX_ATTRS: &str = "fields(\"a\", \"b\"), name, unique";
const FK_ATTRS: &str = "field, references, on_delete, on_update";

/// Model-level attributes.
#[derive(Default)]
pub struct ModelAttrs {
    pub table: Option<LitStr>,
    pub renamed_from: Option<LitStr>,
    pub timestamps: Option<Span>,
    pub soft_delete: Option<Span>,
    pub indexes: Vec<IndexAttr>,
    pub foreign_keys: Vec<ForeignKeyAttr>,
}

/// `index(fields("a", "b"), name = "...", unique)`
pub struct IndexAttr {
    pub span: Span,
    pub fields: Vec<LitStr>,
    pub name: Option<LitStr>,
    pub unique: bool,
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
    pub renamed_from: Option<LitStr>,
    pub column: Option<LitStr>,
}

fn unknown(meta: &ParseNestedMeta<'_>, expected: &str) -> syn::Error {
    let name = meta
        .path
        .get_ident()
        .map_or_else(|| "?".to_owned(), ToString::to_string);
    meta.error(format!(
        "unknown dataflow attribute `{name}`; expected one of: {expected}"
    ))
}

fn set_once<T>(slot: &mut Option<T>, value: T, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if slot.is_some() {
        let name = meta
            .path
            .get_ident()
            .map_or_else(String::new, ToString::to_string);
        return Err(meta.error(format!("duplicate dataflow attribute `{name}`")));
    }
    *slot = Some(value);
    Ok(())
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
                let v: LitStr = meta.value()?.parse()?;
                set_once(&mut out.table, v, &meta)
            } else if meta.path.is_ident("renamed_from") {
                let v: LitStr = meta.value()?.parse()?;
                set_once(&mut out.renamed_from, v, &meta)
            } else if meta.path.is_ident("timestamps") {
                set_once(&mut out.timestamps, meta.path.span(), &meta)
            } else if meta.path.is_ident("soft_delete") {
                set_once(&mut out.soft_delete, meta.path.span(), &meta)
            } else if meta.path.is_ident("index") {
                out.indexes.push(parse_index(&meta)?);
                Ok(())
            } else if meta.path.is_ident("foreign_key") {
                out.foreign_keys.push(parse_foreign_key(&meta)?);
                Ok(())
            } else {
                Err(unknown(&meta, MODEL_ATTRS))
            }
        });
        if let Err(e) = res {
            errors.push(e);
        }
    }
    out
}

fn parse_index(meta: &ParseNestedMeta<'_>) -> syn::Result<IndexAttr> {
    let mut idx = IndexAttr {
        span: meta.path.span(),
        fields: Vec::new(),
        name: None,
        unique: false,
    };
    meta.parse_nested_meta(|inner| {
        if inner.path.is_ident("fields") {
            let content;
            syn::parenthesized!(content in inner.input);
            let list = content.parse_terminated(|p| p.parse::<LitStr>(), syn::Token![,])?;
            idx.fields.extend(list);
            Ok(())
        } else if inner.path.is_ident("name") {
            let v: LitStr = inner.value()?.parse()?;
            set_once(&mut idx.name, v, &inner)
        } else if inner.path.is_ident("unique") {
            idx.unique = true;
            Ok(())
        } else {
            Err(unknown(&inner, INDEX_ATTRS))
        }
    })?;
    Ok(idx)
}

fn parse_foreign_key(meta: &ParseNestedMeta<'_>) -> syn::Result<ForeignKeyAttr> {
    let mut fk = ForeignKeyAttr {
        span: meta.path.span(),
        field: None,
        references: None,
        on_delete: None,
        on_update: None,
    };
    meta.parse_nested_meta(|inner| {
        let slot = if inner.path.is_ident("field") {
            &mut fk.field
        } else if inner.path.is_ident("references") {
            &mut fk.references
        } else if inner.path.is_ident("on_delete") {
            &mut fk.on_delete
        } else if inner.path.is_ident("on_update") {
            &mut fk.on_update
        } else {
            return Err(unknown(&inner, FK_ATTRS));
        };
        let v: LitStr = inner.value()?.parse()?;
        set_once(slot, v, &inner)
    })?;
    Ok(fk)
}

/// Parses every `#[dataflow(...)]` on a field.
pub fn parse_field_attrs(attrs: &[Attribute], errors: &mut Errors) -> FieldAttrs {
    let mut out = FieldAttrs::default();
    for attr in dataflow_attrs(attrs) {
        let res = attr.parse_nested_meta(|meta| {
            let span = meta.path.span();
            if meta.path.is_ident("primary_key") {
                set_once(&mut out.primary_key, span, &meta)
            } else if meta.path.is_ident("auto_increment") {
                let v: LitBool = meta.value()?.parse()?;
                set_once(&mut out.auto_increment, v, &meta)
            } else if meta.path.is_ident("unique") {
                set_once(&mut out.unique, span, &meta)
            } else if meta.path.is_ident("index") {
                set_once(&mut out.index, span, &meta)
            } else if meta.path.is_ident("max_length") {
                let v: LitInt = meta.value()?.parse()?;
                set_once(&mut out.max_length, v, &meta)
            } else if meta.path.is_ident("default") {
                let v = parse_default(&meta)?;
                set_once(&mut out.default, v, &meta)
            } else if meta.path.is_ident("renamed_from") {
                let v: LitStr = meta.value()?.parse()?;
                set_once(&mut out.renamed_from, v, &meta)
            } else if meta.path.is_ident("column") {
                let v: LitStr = meta.value()?.parse()?;
                set_once(&mut out.column, v, &meta)
            } else {
                Err(unknown(&meta, FIELD_ATTRS))
            }
        });
        if let Err(e) = res {
            errors.push(e);
        }
    }
    out
}

/// `default = <literal>`, where a leading `-` makes a negative number literal.
fn parse_default(meta: &ParseNestedMeta<'_>) -> syn::Result<Lit> {
    let input = meta.value()?;
    if input.peek(syn::Token![-]) {
        let minus: syn::Token![-] = input.parse()?;
        let lit: Lit = input.parse()?;
        let span = minus.span.join(lit.span()).unwrap_or(lit.span());
        return match lit {
            Lit::Int(i) => Ok(Lit::Int(LitInt::new(
                &format!("-{}", i.base10_digits()),
                span,
            ))),
            Lit::Float(f) => Ok(Lit::Float(syn::LitFloat::new(
                &format!("-{}", f.base10_digits()),
                span,
            ))),
            other => Err(syn::Error::new(
                other.span(),
                "only numbers can be negative",
            )),
        };
    }
    input.parse()
}
