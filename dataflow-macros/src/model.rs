//! The validated model IR: everything expansion needs, already checked, so
//! expansion itself cannot fail. All errors of a struct are collected and reported
//! together, each at the token that causes it.
//!
//! Kept whole (about 1 000 lines): one `build` validates a struct attribute by
//! attribute, and splitting it would pass the half-built IR and the error
//! collector between files without making any check easier to find.

use proc_macro2::{Ident, Span};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::{Data, DeriveInput, Fields, Lit, LitStr, Type, Visibility};

use crate::attr::{parse_field_attrs, parse_model_attrs, FieldAttrs};
use crate::errors::Errors;
use crate::types::{classify, FieldTy, Kind, SUPPORTED};

pub struct ModelIr {
    pub ident: Ident,
    pub vis: Visibility,
    pub table: String,
    pub table_renamed_from: Option<String>,
    pub columns: Vec<ColumnIr>,
    /// Indexes into `columns` of the key's columns, in key order (one, or
    /// several for a composite key).
    pub pk: Vec<usize>,
    pub indexes: Vec<IndexIr>,
    pub foreign_keys: Vec<ForeignKeyIr>,
    pub checks: Vec<CheckIr>,
    pub timestamps: bool,
    pub soft_delete: bool,
    /// The model's serde names, which its patch's serde follows.
    pub serde: crate::serde_attrs::SerdeIr,
}

impl ModelIr {
    /// The key's fields, in key order.
    pub fn key_fields(&self) -> impl Iterator<Item = &FieldRef> {
        self.pk.iter().map(|&i| {
            self.columns[i]
                .field
                .as_ref()
                .expect("validated: the key is fields")
        })
    }

    /// `Model::Key`: the key field's type, or a tuple of the key fields'
    /// types in key order.
    pub fn key_type(&self) -> proc_macro2::TokenStream {
        let tys: Vec<&Type> = self.key_fields().map(|f| &f.ty).collect();
        match tys.as_slice() {
            [one] => one.to_token_stream(),
            many => quote::quote!((#(#many),*)),
        }
    }
}

pub struct FieldRef {
    pub ident: Ident,
    pub ty: Type,
}

pub struct ColumnIr {
    /// `None` for a managed column the struct does not declare.
    pub field: Option<FieldRef>,
    pub column: String,
    pub kind: Kind,
    pub nullable: bool,
    pub primary_key: bool,
    pub auto_increment: bool,
    pub unique: bool,
    pub max_length: Option<u32>,
    pub default: Option<DefaultIr>,
    /// Where the default is written (an enum's is checked there).
    pub default_span: Option<Span>,
    pub renamed_from: Option<String>,
    pub managed: Option<Managed>,
    pub collation: Option<String>,
}

/// A table `CHECK` (mirrors `CheckDescriptor`).
pub struct CheckIr {
    pub name: String,
    pub expr: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)] // mirrors the column names
pub enum Managed {
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DefaultIr {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Json(String),
    Decimal(String),
    Now,
    /// `default_sql = "..."`: SQL the database evaluates, emitted verbatim.
    Sql(String),
}

pub struct IndexIr {
    pub name: String,
    pub columns: Vec<String>,
    pub unique: bool,
    pub method: MethodIr,
    pub predicate: Option<String>,
}

/// How an index is built (mirrors `IndexMethod`).
pub enum MethodIr {
    BTree,
    JsonGin,
    TextSearch(String),
}

/// Why a condition (of a partial index or a check) cannot be a SQL boolean
/// expression, if it visibly cannot: empty, several statements, unbalanced
/// quotes, comments or parentheses.
fn condition_problem(sql: &str) -> Option<&'static str> {
    if sql.trim().is_empty() {
        return Some("the condition must not be empty");
    }
    if sql.contains('\0') {
        return Some("the condition must not contain NUL");
    }
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(ch) = chars.next() {
        match (quote, ch) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"' | '`') => quote = Some(ch),
            (None, '[') => quote = Some(']'),
            // Comments hold anything: skipped to their end.
            (None, '-') if chars.peek() == Some(&'-') => {
                chars.by_ref().find(|c| *c == '\n');
            }
            (None, '/') if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                let closed = chars.by_ref().any(|c| {
                    let end = prev == '*' && c == '/';
                    prev = c;
                    end
                });
                if !closed {
                    return Some("the condition has an unterminated comment");
                }
            }
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth < 0 {
                    return Some("the condition has a `)` without its `(`");
                }
            }
            (None, ';') => return Some("the condition must be one expression, without `;`"),
            _ => {}
        }
    }
    if quote.is_some() {
        return Some("the condition has an unterminated quote");
    }
    if depth != 0 {
        return Some("the condition has a `(` without its `)`");
    }
    None
}

pub struct ForeignKeyIr {
    pub column: String,
    pub table: String,
    pub ref_column: String,
    pub on_delete: &'static str,
    pub on_update: &'static str,
}

/// PostgreSQL truncates identifiers longer than this; refusing them keeps every
/// backend's names identical.
const MAX_IDENT: usize = 63;

/// Prefixes of tables that are not the user's: describing a database skips
/// them (dataflow's own history and backups; SQLite's internal tables), so a
/// model's table named so would look missing on every start.
const RESERVED_TABLE_PREFIXES: [&str; 2] = ["_dataflow_", "sqlite_"];

/// A derived index name made to fit [`MAX_IDENT`]: as is when it fits, else cut
/// on a character boundary and ended with `_` and eight hex digits of the whole
/// name's SHA-256 (names sharing their first bytes stay distinct). The same
/// function as `dataflow_core::backend::dialect::generated_name`, which a proc-macro
/// crate cannot call (core depends on this crate); a test in each pins the
/// same output.
fn generated_name(name: &str) -> String {
    use sha2::{Digest, Sha256};
    if name.len() <= MAX_IDENT {
        return name.to_owned();
    }
    const SUFFIX: usize = 9;
    let mut cut = MAX_IDENT - SUFFIX;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    let digest = Sha256::digest(name.as_bytes());
    let mut out = String::with_capacity(MAX_IDENT);
    out.push_str(&name[..cut]);
    out.push('_');
    for b in &digest[..4] {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Refuses a table name no database could use as the model's: too long, or
/// with a prefix describe skips. `derived` names came from the struct's name.
fn check_table_name(errors: &mut Errors, span: Span, name: &str, derived: bool) {
    if derived && name.len() > MAX_IDENT {
        errors.at_span(
            span,
            format!(
                "table name `{name}` (derived from the struct's name) is longer than {MAX_IDENT} bytes (PostgreSQL's limit); give a shorter one with #[dataflow(table = \"...\")]"
            ),
        );
    }
    let lower = name.to_ascii_lowercase();
    if let Some(prefix) = RESERVED_TABLE_PREFIXES
        .iter()
        .find(|p| lower.starts_with(*p))
    {
        errors.at_span(
            span,
            format!(
                "table name `{name}` starts with `{prefix}`, which is reserved for {}'s own tables; choose another name{}",
                if *prefix == "sqlite_" { "SQLite" } else { "dataflow" },
                if derived { " with #[dataflow(table = \"...\")]" } else { "" }
            ),
        );
    }
}

pub fn snake_case(name: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev_lower = i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_numeric());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if i > 0 && (prev_lower || (next_lower && chars[i - 1].is_uppercase())) {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A type as written, for messages: `Option<i32>`, `HashMap<String, i32>`.
pub(crate) fn type_name(ty: &Type) -> String {
    let s = ty.to_token_stream().to_string();
    s.replace(" < ", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" :: ", "::")
        .replace(":: ", "::")
        .replace(" ,", ",")
        .replace("& ", "&")
}

/// The names an index or a foreign key may use: the struct's fields and the
/// managed columns.
fn field_names(columns: &[ColumnIr]) -> String {
    columns
        .iter()
        .map(|c| match &c.field {
            Some(f) => format!("`{}`", f.ident.unraw()),
            None => format!("`{}`", c.column),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_ident(errors: &mut Errors, span: Span, what: &str, name: &str) {
    if name.is_empty() {
        errors.at_span(span, format!("{what} must not be empty"));
    } else if name.len() > MAX_IDENT {
        errors.at_span(
            span,
            format!("{what} `{name}` is longer than {MAX_IDENT} bytes (PostgreSQL's limit)"),
        );
    } else if name.contains('\0') {
        errors.at_span(span, format!("{what} must not contain NUL"));
    }
}

fn fk_action(lit: &Option<LitStr>, errors: &mut Errors) -> &'static str {
    let Some(lit) = lit else { return "NoAction" };
    match lit.value().to_ascii_lowercase().replace(' ', "_").as_str() {
        "cascade" => "Cascade",
        "restrict" => "Restrict",
        "set_null" => "SetNull",
        "set_default" => "SetDefault",
        "no_action" => "NoAction",
        other => {
            errors.at(
                lit,
                format!(
                    "unknown referential action `{other}`; expected one of: cascade, restrict, set_null, set_default, no_action"
                ),
            );
            "NoAction"
        }
    }
}

/// `default_sql = "..."`: any non-empty text. The SQL is not parsed here:
/// like a migration it is trusted code, and the database judges it when the
/// table is created.
fn check_default_sql(sql: &LitStr, errors: &mut Errors) -> Option<DefaultIr> {
    let text = sql.value();
    if text.trim().is_empty() {
        errors.at(
            sql,
            "default_sql is empty: write the SQL expression the database evaluates, e.g. `default_sql = \"gen_random_uuid()\"`",
        );
        return None;
    }
    Some(DefaultIr::Sql(text))
}

fn check_default(lit: &Lit, ty: FieldTy, ty_name: &str, errors: &mut Errors) -> Option<DefaultIr> {
    let wrong = |errors: &mut Errors, expected: &str| {
        errors.at(
            lit,
            format!("default does not fit the field type `{ty_name}`: expected {expected}"),
        );
        None
    };
    match (ty.kind, lit) {
        (Kind::Bool, Lit::Bool(b)) => Some(DefaultIr::Bool(b.value)),
        (Kind::Bool, _) => wrong(errors, "`true` or `false`"),
        (k, Lit::Int(i)) if k.is_integer() => {
            let parsed = i.base10_parse::<i64>();
            let fits = match (k, &parsed) {
                (Kind::I16, Ok(v)) => i16::try_from(*v).is_ok(),
                (Kind::I32, Ok(v)) => i32::try_from(*v).is_ok(),
                (_, Ok(_)) => true,
                (_, Err(_)) => false,
            };
            if !i.suffix().is_empty() {
                errors.at(
                    lit,
                    format!(
                        "default takes an unsuffixed integer: write `{}`",
                        i.base10_digits()
                    ),
                );
                return None;
            }
            if !fits {
                let (name, range) = match k {
                    Kind::I16 => ("i16", format!("{}..={}", i16::MIN, i16::MAX)),
                    Kind::I32 => ("i32", format!("{}..={}", i32::MIN, i32::MAX)),
                    _ => ("i64", format!("{}..={}", i64::MIN, i64::MAX)),
                };
                errors.at(
                    lit,
                    format!(
                        "default {} does not fit in {name}: expected an integer in {range}",
                        i.base10_digits()
                    ),
                );
                return None;
            }
            parsed.ok().map(DefaultIr::Int)
        }
        (k, _) if k.is_integer() => wrong(errors, "an integer literal"),
        (Kind::F32 | Kind::F64, Lit::Float(f)) => {
            f.base10_parse::<f64>().ok().map(DefaultIr::Float)
        }
        (Kind::F32 | Kind::F64, Lit::Int(i)) => i.base10_parse::<f64>().ok().map(DefaultIr::Float),
        (Kind::F32 | Kind::F64, _) => wrong(errors, "a number literal"),
        (Kind::String, Lit::Str(s)) => Some(DefaultIr::Text(s.value())),
        (Kind::String, _) => wrong(errors, "a string literal"),
        (Kind::Json, Lit::Str(s)) => match serde_json::from_str::<serde_json::Value>(&s.value()) {
            Ok(_) => Some(DefaultIr::Json(s.value())),
            Err(e) => {
                errors.at(lit, format!("default is not valid JSON: {e}"));
                None
            }
        },
        (Kind::Json, _) => wrong(errors, "a string holding JSON, e.g. \"{}\""),
        (Kind::Decimal, Lit::Str(s)) if is_decimal(&s.value()) => {
            Some(DefaultIr::Decimal(s.value()))
        }
        (Kind::Decimal, Lit::Int(i)) => Some(DefaultIr::Decimal(i.base10_digits().to_owned())),
        (Kind::Decimal, Lit::Float(f)) => Some(DefaultIr::Decimal(f.base10_digits().to_owned())),
        (Kind::Decimal, _) => wrong(errors, "a decimal number or a string like \"12.50\""),
        // Checked against the enum's stored names when the model compiles.
        (Kind::Other, Lit::Str(s)) => Some(DefaultIr::Text(s.value())),
        (Kind::Other, _) => wrong(errors, "a string naming one of the enum's stored names"),
        (k, Lit::Str(s)) if k.is_datetime() && s.value() == "now" => Some(DefaultIr::Now),
        (k, _) if k.is_datetime() => wrong(errors, "\"now\""),
        (Kind::Bytes | Kind::Uuid, _) => {
            errors.at(lit, "a default is not supported for this field type");
            None
        }
        _ => wrong(errors, "a literal of the field's type"),
    }
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

fn hidden(column: &str, kind: Kind, nullable: bool, managed: Managed) -> ColumnIr {
    ColumnIr {
        field: None,
        column: column.to_owned(),
        kind,
        nullable,
        primary_key: false,
        auto_increment: false,
        unique: false,
        max_length: None,
        default: None,
        default_span: None,
        renamed_from: None,
        managed: Some(managed),
        collation: None,
    }
}

/// The most fields a composite key has: the tuples `ModelKey` is implemented for.
const MAX_KEY_FIELDS: usize = 6;

/// The columns of `primary_key("a", "b")`, in key order, each error at the
/// field name that causes it: an unknown field, a field named twice, too many
/// fields. A field whose type was refused is already reported, so naming it
/// is not a second error.
fn key_fields(
    key: &crate::attr::KeyAttr,
    columns: &[ColumnIr],
    refused: &[String],
    errors: &mut Errors,
) -> Vec<usize> {
    if key.fields.is_empty() {
        if key.had_error {
            return Vec::new();
        }
        errors.at_span(
            key.span,
            "primary_key(...) needs the key's fields: `primary_key(\"order_id\", \"line_no\")`",
        );
        return Vec::new();
    }
    let mut out: Vec<usize> = Vec::new();
    let mut named: Vec<String> = Vec::new();
    for (n, lit) in key.fields.iter().enumerate() {
        let name = lit.value();
        if n == MAX_KEY_FIELDS {
            errors.at(
                lit,
                format!("a primary key has at most {MAX_KEY_FIELDS} fields"),
            );
        }
        if named.contains(&name) {
            errors.at(
                lit,
                format!("field `{name}` appears twice in the primary key"),
            );
            continue;
        }
        named.push(name.clone());
        match columns
            .iter()
            .position(|c| c.field.as_ref().is_some_and(|f| f.ident.unraw() == name))
        {
            Some(i) => out.push(i),
            None if refused.contains(&name) => {}
            None => errors.at(
                lit,
                format!(
                    "primary_key names field `{name}`, which the struct does not have; expected one of: {}",
                    field_names(columns)
                ),
            ),
        }
    }
    out
}

pub fn build(input: &DeriveInput) -> syn::Result<ModelIr> {
    let mut errors = Errors::default();
    let fields = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => named.named.iter().collect::<Vec<_>>(),
            Fields::Unnamed(unnamed) => {
                return Err(syn::Error::new_spanned(
                    unnamed,
                    "#[derive(Model)] needs a struct with named fields, not a tuple struct: each field names a column",
                ))
            }
            Fields::Unit => {
                return Err(syn::Error::new_spanned(
                    &input.ident,
                    "#[derive(Model)] needs a struct with named fields, not a unit struct: each field names a column",
                ))
            }
        },
        Data::Enum(e) => {
            return Err(syn::Error::new_spanned(
                e.enum_token,
                "#[derive(Model)] needs a struct with named fields, not an enum",
            ))
        }
        Data::Union(u) => {
            return Err(syn::Error::new_spanned(
                u.union_token,
                "#[derive(Model)] needs a struct with named fields, not a union",
            ))
        }
    };
    if !input.generics.params.is_empty() {
        errors.at(
            &input.generics,
            "#[derive(Model)] does not support generic structs",
        );
    }
    let attrs = parse_model_attrs(&input.attrs, &mut errors);
    let table = match &attrs.table {
        Some(t) => {
            check_ident(&mut errors, t.span(), "table name", &t.value());
            check_table_name(&mut errors, t.span(), &t.value(), false);
            t.value()
        }
        None => {
            let derived = snake_case(&input.ident.to_string());
            check_table_name(&mut errors, input.ident.span(), &derived, true);
            derived
        }
    };
    let table_renamed_from = attrs.renamed_from.as_ref().map(|r| {
        if r.value() == table {
            errors.at(
                r,
                "renamed_from names the table's own name; remove it or give the previous name",
            );
        }
        r.value()
    });
    let timestamps = attrs.timestamps.is_some();
    let soft_delete = attrs.soft_delete.is_some();

    let mut columns: Vec<ColumnIr> = Vec::new();
    let mut explicit_pk: Vec<(usize, Span, String)> = Vec::new();
    let mut field_attrs: Vec<FieldAttrs> = Vec::new();
    let mut indexes: Vec<IndexIr> = Vec::new();
    let mut index_spans: Vec<Span> = Vec::new();
    // Fields whose type was refused: they exist, so naming them elsewhere (an
    // index, a foreign key, the key) is not a second error.
    let mut refused: Vec<String> = Vec::new();
    let mut refused_pk = false;

    for field in &fields {
        let ident = field.ident.clone().expect("named field");
        let field_name = ident.unraw().to_string();
        let fa = parse_field_attrs(&field.attrs, &mut errors);
        let column = match &fa.column {
            Some(c) => {
                check_ident(&mut errors, c.span(), "column name", &c.value());
                c.value()
            }
            None => {
                if field_name.len() > MAX_IDENT {
                    errors.at(
                        &ident,
                        format!(
                            "column name `{field_name}` (derived from the field's name) is longer than {MAX_IDENT} bytes (PostgreSQL's limit); give a shorter one with #[dataflow(column = \"...\")]"
                        ),
                    );
                }
                field_name.clone()
            }
        };
        // A generic parameter is no type the derive or the compiler can map.
        let generic_param = matches!(&field.ty, Type::Path(p)
            if p.qself.is_none() && input.generics.type_params().any(|g| p.path.is_ident(&g.ident)));
        let Some(ty) = classify(&field.ty).filter(|_| !generic_param) else {
            errors.at(
                &field.ty,
                format!(
                    "unsupported field type `{}`; expected one of: {SUPPORTED}",
                    type_name(&field.ty)
                ),
            );
            refused_pk |= fa.primary_key.is_some() || column == "id";
            refused.push(field_name);
            field_attrs.push(fa);
            continue;
        };
        let managed = match column.as_str() {
            "created_at" if timestamps => Some(Managed::CreatedAt),
            "updated_at" if timestamps => Some(Managed::UpdatedAt),
            "deleted_at" if soft_delete => Some(Managed::DeletedAt),
            _ => None,
        };
        if let Some(m) = managed {
            let ok = match m {
                Managed::DeletedAt => ty.kind == Kind::DateTimeUtc && ty.nullable,
                _ => ty.kind == Kind::DateTimeUtc && !ty.nullable,
            };
            if !ok {
                let expected = if m == Managed::DeletedAt {
                    "Option<chrono::DateTime<Utc>>"
                } else {
                    "chrono::DateTime<Utc>"
                };
                errors.at(
                    &field.ty,
                    format!("`{column}` is managed by dataflow here and must be `{expected}`"),
                );
            }
        }
        if let Some(span) = fa.primary_key {
            explicit_pk.push((columns.len(), span, field_name.clone()));
        }
        let max_length = fa.max_length.as_ref().and_then(|lit| {
            if ty.kind != Kind::String {
                errors.at(
                    lit,
                    format!(
                        "max_length applies only to String fields, not `{}`",
                        type_name(&field.ty)
                    ),
                );
                return None;
            }
            match lit.base10_parse::<u32>() {
                Ok(0) | Err(_) => {
                    errors.at(lit, "max_length must be a positive integer");
                    None
                }
                Ok(n) => Some(n),
            }
        });
        let default = match (&fa.default, &fa.default_sql) {
            (Some(_), Some(sql)) => {
                errors.at(
                    sql,
                    "`default_sql` and `default` both declare the column's default: keep one",
                );
                None
            }
            (None, Some(sql)) => check_default_sql(sql, &mut errors),
            (lit, None) => lit
                .as_ref()
                .and_then(|lit| check_default(lit, ty, &type_name(&field.ty), &mut errors)),
        };
        if let (Some(DefaultIr::Text(t)), Some(max)) = (&default, max_length) {
            if t.chars().count() > max as usize {
                errors.at(
                    fa.default.as_ref(),
                    format!("default is longer than max_length {max}"),
                );
            }
        }
        let collation = fa.collation.as_ref().and_then(|lit| {
            let v = lit.value();
            if ty.kind != Kind::String {
                errors.at(
                    lit,
                    format!(
                        "collation applies only to String fields, not `{}`",
                        type_name(&field.ty)
                    ),
                );
                return None;
            }
            check_ident(&mut errors, lit.span(), "collation", &v);
            Some(v)
        });
        let renamed_from = fa.renamed_from.as_ref().map(|r| {
            if r.value() == column {
                errors.at(r, format!("renamed_from names the field's own column `{column}`; remove it or give the previous name"));
            }
            r.value()
        });
        if fa.unique.is_some() {
            indexes.push(IndexIr {
                name: generated_name(&format!("ux_{table}_{column}")),
                columns: vec![column.clone()],
                unique: true,
                method: MethodIr::BTree,
                predicate: None,
            });
            index_spans.push(fa.unique.unwrap_or_else(Span::call_site));
        }
        if let Some(span) = fa.index {
            indexes.push(IndexIr {
                name: generated_name(&format!("ix_{table}_{column}")),
                columns: vec![column.clone()],
                unique: false,
                method: MethodIr::BTree,
                predicate: None,
            });
            index_spans.push(span);
        }
        columns.push(ColumnIr {
            field: Some(FieldRef {
                ident,
                ty: field.ty.clone(),
            }),
            column,
            kind: ty.kind,
            nullable: ty.nullable,
            primary_key: false,
            auto_increment: false,
            unique: fa.unique.is_some(),
            max_length,
            default,
            default_span: fa
                .default
                .as_ref()
                .map(Lit::span)
                .or_else(|| fa.default_sql.as_ref().map(LitStr::span)),
            renamed_from,
            managed,
            collation,
        });
        field_attrs.push(fa);
    }

    // Managed columns the struct does not declare still exist in the table.
    let has = |cols: &[ColumnIr], name: &str| cols.iter().any(|c| c.column == name);
    if timestamps {
        for (name, m) in [
            ("created_at", Managed::CreatedAt),
            ("updated_at", Managed::UpdatedAt),
        ] {
            if !has(&columns, name) {
                columns.push(hidden(name, Kind::DateTimeUtc, false, m));
            }
        }
    }
    if soft_delete && !has(&columns, "deleted_at") {
        columns.push(hidden(
            "deleted_at",
            Kind::DateTimeUtc,
            true,
            Managed::DeletedAt,
        ));
    }

    // Duplicate column names (a `column = "..."` colliding with another field),
    // ignoring ASCII case: SQLite's names are case-insensitive, so `name` and
    // `Name` are one column there.
    for (i, later) in columns.iter().enumerate() {
        if let Some(earlier) = columns[..i]
            .iter()
            .find(|o| o.column.eq_ignore_ascii_case(&later.column))
        {
            // Report at the field that brings the clash: the later one, unless
            // that is a managed column the struct does not declare.
            let (c, first) = if later.field.is_none() {
                (earlier, later)
            } else {
                (later, earlier)
            };
            let same_as = if first.column == c.column {
                String::new()
            } else {
                format!(
                    " (`{}` differs only by case, and SQLite ignores case in names)",
                    first.column
                )
            };
            let at = fields.iter().zip(&field_attrs).find(|(f, _)| {
                c.field
                    .as_ref()
                    .is_some_and(|r| f.ident.as_ref() == Some(&r.ident))
            });
            let msg = match &first.field {
                Some(f) => format!(
                    "duplicate column name `{}`{same_as}: field `{}` already maps to it; give this field another `column = \"...\"`",
                    c.column,
                    f.ident.unraw()
                ),
                None => format!(
                    "duplicate column name `{}`{same_as}: dataflow manages that column here; give this field another `column = \"...\"`",
                    c.column
                ),
            };
            match at {
                Some((f, fa)) => match &fa.column {
                    Some(lit) => errors.at(lit, msg),
                    None => errors.at(&f.ident, msg),
                },
                None => errors.at(&input.ident, msg),
            }
        }
    }

    // Primary key: the struct's `primary_key("a", "b")`, one field marked
    // #[dataflow(primary_key)], or a field named `id`.
    let key_maybe_refused = refused_pk || field_attrs.iter().any(|fa| fa.had_error);
    let pk: Vec<usize> = match &attrs.primary_key {
        Some(key) => {
            for (_, span, name) in &explicit_pk {
                errors.at_span(
                    *span,
                    format!("`{name}` is marked primary_key, but the struct declares its key with primary_key(...): keep one of them"),
                );
            }
            key_fields(key, &columns, &refused, &mut errors)
        }
        None => match explicit_pk.as_slice() {
            [] => columns
                .iter()
                .position(|c| c.column == "id" && c.field.is_some())
                .into_iter()
                .collect(),
            [(i, _, _)] => vec![*i],
            [(first, _, first_name), rest @ ..] => {
                for (_, span, name) in rest {
                    errors.at_span(
                        *span,
                        format!("second primary key: `{first_name}` is already the primary key; for a key over several fields declare it on the struct: #[dataflow(primary_key(\"{first_name}\", \"{name}\"))]"),
                    );
                }
                vec![*first]
            }
        },
    };
    // A key whose type or attributes were refused is already reported, and
    // so is a `primary_key(...)` that names no usable field.
    if pk.is_empty() && !key_maybe_refused && attrs.primary_key.is_none() {
        errors.at(
            &input.ident,
            "no primary key: add a field named `id`, mark one field #[dataflow(primary_key)], or declare a composite key on the struct: #[dataflow(primary_key(\"a\", \"b\"))]",
        );
    }
    let composite = pk.len() > 1;
    for &i in &pk {
        let Some(c) = columns.get_mut(i) else {
            continue;
        };
        let Some(f) = &c.field else {
            continue;
        };
        let fa = fields
            .iter()
            .zip(&field_attrs)
            .find(|(fl, _)| fl.ident.as_ref() == Some(&f.ident))
            .map(|(_, fa)| fa);
        if c.nullable {
            errors.at(
                &f.ty,
                if composite {
                    "a part of the primary key cannot be an `Option`: use the inner type"
                } else {
                    "the primary key cannot be an `Option`: use the inner type (an auto-increment key of 0 is assigned by the database)"
                },
            );
        }
        if !matches!(
            c.kind,
            Kind::I16 | Kind::I32 | Kind::I64 | Kind::String | Kind::Uuid
        ) {
            errors.at(&f.ty, "the primary key must be an integer, String or Uuid");
        }
        let requested = fa.and_then(|fa| fa.auto_increment.as_ref());
        c.primary_key = true;
        c.auto_increment = match requested {
            // The database generates a whole key, never one part of it.
            Some(lit) if lit.value && composite => {
                errors.at(lit, "auto_increment does not apply to a part of a composite key: the database generates whole keys only; set the part's value yourself");
                false
            }
            Some(lit) if lit.value && !c.kind.is_integer() => {
                errors.at(lit, "auto_increment needs an integer primary key");
                false
            }
            Some(lit) => lit.value,
            None => !composite && c.kind.is_integer(),
        };
        if c.auto_increment && c.default.is_some() {
            let at = fa.and_then(|fa| {
                fa.default
                    .as_ref()
                    .map(ToTokens::to_token_stream)
                    .or_else(|| fa.default_sql.as_ref().map(ToTokens::to_token_stream))
            });
            match at {
                Some(lit) => errors.at(lit, "an auto-increment primary key cannot have a default"),
                None => errors.at(
                    &f.ident,
                    "an auto-increment primary key cannot have a default",
                ),
            }
        }
    }
    let key_idents: Vec<&Ident> = pk
        .iter()
        .filter_map(|&i| columns.get(i))
        .filter_map(|c| c.field.as_ref())
        .map(|f| &f.ident)
        .collect();
    for (field, fa) in fields.iter().zip(&field_attrs) {
        if let Some(lit) = &fa.auto_increment {
            if !field
                .ident
                .as_ref()
                .is_some_and(|i| key_idents.contains(&i))
            {
                errors.at(lit, "auto_increment applies only to the primary key");
            }
        }
    }

    // Model-level indexes.
    let field_column = |name: &str| {
        columns
            .iter()
            .find(|c| {
                c.field.as_ref().is_some_and(|f| f.ident.unraw() == name)
                    || (c.field.is_none() && c.column == name)
            })
            .map(|c| c.column.clone())
    };
    for idx in &attrs.indexes {
        if idx.fields.is_empty() {
            errors.at_span(idx.span, "index needs fields(\"a\", ...)");
            continue;
        }
        let mut cols = Vec::new();
        for f in &idx.fields {
            match field_column(&f.value()) {
                Some(c) if cols.contains(&c) => errors.at(
                    f,
                    format!("field `{}` appears twice in the index", f.value()),
                ),
                Some(c) => cols.push(c),
                None if refused.contains(&f.value()) => {}
                None => errors.at(
                    f,
                    format!(
                        "index names field `{}`, which the struct does not have; expected one of: {}",
                        f.value(),
                        field_names(&columns)
                    ),
                ),
            }
        }
        let predicate = match &idx.condition {
            Some(c) => {
                if let Some(problem) = condition_problem(&c.value()) {
                    errors.at(c, problem);
                }
                Some(c.value())
            }
            None if idx.partial => {
                errors.at_span(
                    idx.span,
                    "partial_index needs a condition: `partial_index(fields(\"a\"), condition = \"deleted_at IS NULL\")`",
                );
                None
            }
            None => None,
        };
        // `using = "gin"`: a GIN index over one JSON field, as
        // `jsonb_gin_indexes` declares, under a name of the model's choosing.
        let gin = match &idx.using {
            None => false,
            Some(u) if u.value().eq_ignore_ascii_case("btree") => false,
            Some(u) if u.value().eq_ignore_ascii_case("gin") => {
                let json = cols.len() == 1
                    && columns
                        .iter()
                        .any(|c| c.column == cols[0] && c.kind == Kind::Json);
                if !json || idx.unique || predicate.is_some() {
                    errors.at(
                        u,
                        "using = \"gin\" indexes one serde_json::Value field, without `unique` or a condition",
                    );
                }
                true
            }
            Some(u) => {
                errors.at(
                    u,
                    format!(
                        "unknown index method `{}`; expected \"btree\" or \"gin\"",
                        u.value()
                    ),
                );
                false
            }
        };
        let name = match &idx.name {
            Some(n) => {
                check_ident(&mut errors, n.span(), "index name", &n.value());
                n.value()
            }
            None if gin => generated_name(&format!("gin_{table}_{}", cols.join("_"))),
            None => generated_name(&format!(
                "{}_{table}_{}",
                match (idx.unique, predicate.is_some()) {
                    (true, false) => "ux",
                    (false, false) => "ix",
                    (true, true) => "upx",
                    (false, true) => "px",
                },
                cols.join("_")
            )),
        };
        indexes.push(IndexIr {
            name,
            columns: cols,
            unique: idx.unique,
            method: if gin {
                MethodIr::JsonGin
            } else {
                MethodIr::BTree
            },
            predicate,
        });
        index_spans.push(idx.name.as_ref().map_or(idx.span, LitStr::span));
    }

    // PostgreSQL GIN indexes: JSON documents, and text search over text fields.
    let field_of_kind = |f: &LitStr, want: Kind, what: &str, errors: &mut Errors| {
        let name = f.value();
        match columns.iter().find(|c| {
            c.field.as_ref().is_some_and(|x| x.ident.unraw() == name)
                || (c.field.is_none() && c.column == name)
        }) {
            Some(c) if c.kind == want => Some(c.column.clone()),
            Some(_) => {
                errors.at(
                    f,
                    format!(
                        "{what} needs a field of type {}; `{name}` is not one",
                        match want {
                            Kind::Json => "serde_json::Value (or Option of it)",
                            _ => "String (or Option<String>)",
                        }
                    ),
                );
                None
            }
            None if refused.contains(&name) => None,
            None => {
                errors.at(
                    f,
                    format!(
                        "{what} names field `{name}`, which the struct does not have; expected one of: {}",
                        field_names(&columns)
                    ),
                );
                None
            }
        }
    };
    for f in &attrs.gin_indexes {
        if let Some(col) = field_of_kind(f, Kind::Json, "jsonb_gin_indexes", &mut errors) {
            indexes.push(IndexIr {
                name: generated_name(&format!("gin_{table}_{col}")),
                columns: vec![col],
                unique: false,
                method: MethodIr::JsonGin,
                predicate: None,
            });
            index_spans.push(f.span());
        }
    }
    for ts in &attrs.text_search {
        if ts.fields.is_empty() {
            errors.at_span(ts.span, "text_search needs fields(\"a\", ...)");
            continue;
        }
        let mut cols = Vec::new();
        for f in &ts.fields {
            if let Some(col) = field_of_kind(f, Kind::String, "text_search", &mut errors) {
                if cols.contains(&col) {
                    errors.at(
                        f,
                        format!("field `{}` appears twice in text_search", f.value()),
                    );
                } else {
                    cols.push(col);
                }
            }
        }
        let language = match &ts.language {
            Some(l) => {
                let v = l.value();
                let ok = !v.is_empty()
                    && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !v.starts_with(|c: char| c.is_ascii_digit());
                if !ok {
                    errors.at(l, format!("text-search language `{v}` must be a configuration name such as \"english\" or \"simple\""));
                }
                v
            }
            None => "english".to_owned(),
        };
        let name = match &ts.name {
            Some(n) => {
                check_ident(&mut errors, n.span(), "index name", &n.value());
                n.value()
            }
            None => generated_name(&format!("ts_{table}_{}", cols.join("_"))),
        };
        indexes.push(IndexIr {
            name,
            columns: cols,
            unique: false,
            method: MethodIr::TextSearch(language),
            predicate: None,
        });
        index_spans.push(ts.name.as_ref().map_or(ts.span, LitStr::span));
    }
    // Explicit names were checked where they are written; derived ones fit.
    for (i, idx) in indexes.iter().enumerate() {
        if indexes[..i].iter().any(|o| o.name == idx.name) {
            errors.at_span(
                index_spans[i],
                format!("duplicate index name `{}`", idx.name),
            );
        }
    }

    // Foreign keys.
    let mut foreign_keys = Vec::new();
    for fk in &attrs.foreign_keys {
        let on_delete = fk_action(&fk.on_delete, &mut errors);
        let on_update = fk_action(&fk.on_update, &mut errors);
        let column = match &fk.field {
            None => {
                errors.at_span(
                    fk.span,
                    "foreign_key needs field = \"...\", the field holding the reference",
                );
                None
            }
            Some(field) => {
                let found = field_column(&field.value());
                if found.is_none() && !refused.contains(&field.value()) {
                    errors.at(
                        field,
                        format!(
                            "foreign_key names field `{}`, which the struct does not have; expected one of: {}",
                            field.value(),
                            field_names(&columns)
                        ),
                    );
                }
                found
            }
        };
        let target = match &fk.references {
            None => {
                errors.at_span(fk.span, "foreign_key needs references = \"table(column)\"");
                None
            }
            Some(references) => {
                let r = references.value();
                let is_ident = |s: &str| !s.is_empty() && !s.contains(['(', ')', ',', '"', '\0']);
                let parsed = r
                    .strip_suffix(')')
                    .and_then(|s| s.split_once('('))
                    .map(|(t, c)| (t.trim(), c.trim()))
                    .filter(|(t, c)| is_ident(t) && is_ident(c));
                if parsed.is_none() {
                    errors.at(
                        references,
                        format!("references must look like \"table(column)\", e.g. \"users(id)\"; found \"{r}\""),
                    );
                }
                parsed.map(|(t, c)| (t.to_owned(), c.to_owned()))
            }
        };
        let (Some(column), Some((table, ref_column))) = (column, target) else {
            continue;
        };
        if on_delete == "SetNull" && !columns.iter().any(|c| c.column == column && c.nullable) {
            errors.at(
                fk.on_delete.as_ref(),
                "on_delete = \"set_null\" needs an Option field",
            );
        }
        foreign_keys.push(ForeignKeyIr {
            column,
            table,
            ref_column,
            on_delete,
            on_update,
        });
    }

    // Checks: named, so a changed condition is a drop and an add of that
    // name and never a guess; the condition is trusted SQL, checked only for
    // what visibly cannot be one expression.
    let mut checks: Vec<CheckIr> = Vec::new();
    for ck in &attrs.checks {
        let name = match &ck.name {
            None => {
                errors.at_span(
                    ck.span,
                    "check needs name = \"...\": checks are told apart by name, so a changed condition migrates as one",
                );
                None
            }
            Some(n) => {
                let v = n.value();
                check_ident(&mut errors, n.span(), "check name", &v);
                if checks.iter().any(|c| c.name == v) {
                    errors.at(n, format!("duplicate check name `{v}`"));
                }
                // An enum field (a type known by its `FieldType` impl) has a
                // check of its values under this name.
                if let Some(c) = columns.iter().find(|c| {
                    c.kind == Kind::Other && generated_name(&format!("ck_{}", c.column)) == v
                }) {
                    errors.at(
                        n,
                        format!(
                            "check name `{v}` is the one dataflow gives the allowed values of an enum field (`{}`); choose another",
                            c.column
                        ),
                    );
                }
                Some(v)
            }
        };
        let expr = match &ck.expr {
            None => {
                errors.at_span(
                    ck.span,
                    "check needs expr = \"...\", the condition rows must satisfy",
                );
                None
            }
            Some(e) => {
                if let Some(problem) = condition_problem(&e.value()) {
                    errors.at(e, problem);
                }
                Some(e.value())
            }
        };
        if let (Some(name), Some(expr)) = (name, expr) {
            checks.push(CheckIr { name, expr });
        }
    }

    errors.finish(ModelIr {
        ident: input.ident.clone(),
        vis: input.vis.clone(),
        table,
        table_renamed_from,
        columns,
        // Without a key there is an error, so this IR is never expanded.
        pk,
        indexes,
        foreign_keys,
        checks,
        timestamps,
        soft_delete,
        serde: crate::serde_attrs::read(input),
    })
}

#[cfg(test)]
mod tests {
    use super::{generated_name, snake_case, MAX_IDENT};

    #[test]
    fn generated_index_names_fit_and_match_core() {
        let long = format!("ix_{}_c", "t".repeat(70));
        let short = generated_name(&long);
        assert!(short.len() <= MAX_IDENT);
        // Pinned in dataflow-core's copy of this function too.
        assert_eq!(short, GOLDEN_LONG_NAME);
        let accented = generated_name(&format!("ix_a{}_label", "ë".repeat(30)));
        assert!(accented.len() <= MAX_IDENT, "{accented}");
        assert_eq!(generated_name("ix_users_email"), "ix_users_email");
    }

    const GOLDEN_LONG_NAME: &str =
        "ix_ttttttttttttttttttttttttttttttttttttttttttttttttttt_b8ac184c";

    #[test]
    fn snake_case_of_struct_names() {
        assert_eq!(snake_case("User"), "user");
        assert_eq!(snake_case("BlogPost"), "blog_post");
        assert_eq!(snake_case("HTTPRequest"), "http_request");
        assert_eq!(snake_case("Order2Item"), "order2_item");
    }
}
