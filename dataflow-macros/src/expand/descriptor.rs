//! The static `ModelDescriptor`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;

use crate::model::{ColumnIr, DefaultIr, Managed, MethodIr, ModelIr};
use crate::types::Kind;

fn logical(kind: Kind) -> TokenStream {
    let v = match kind {
        Kind::I16 => quote!(SmallInt),
        Kind::I32 => quote!(Int),
        Kind::I64 => quote!(BigInt),
        Kind::F32 => quote!(Float),
        Kind::F64 => quote!(Double),
        Kind::Bool => quote!(Bool),
        Kind::String => quote!(Text),
        Kind::Bytes => quote!(Bytes),
        Kind::Date => quote!(Date),
        Kind::DateTime => quote!(Timestamp),
        Kind::DateTimeUtc => quote!(TimestampTz),
        Kind::Uuid => quote!(Uuid),
        Kind::Json => quote!(Json),
        Kind::Decimal => quote!(Decimal),
        Kind::Other => unreachable!("read from the type's FieldType impl"),
    };
    quote!(__df::LogicalType::#v)
}

fn opt_str(s: &Option<String>) -> TokenStream {
    match s {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    }
}

fn default(d: &Option<DefaultIr>) -> TokenStream {
    let v = match d {
        None => return quote!(::core::option::Option::None),
        Some(DefaultIr::Bool(b)) => quote!(Bool(#b)),
        Some(DefaultIr::Int(i)) => quote!(Int(#i)),
        Some(DefaultIr::Float(f)) => quote!(Float(#f)),
        Some(DefaultIr::Text(t)) => quote!(Text(#t)),
        Some(DefaultIr::Json(t)) => quote!(Json(#t)),
        Some(DefaultIr::Decimal(t)) => quote!(Decimal(#t)),
        Some(DefaultIr::Now) => quote!(CurrentTimestamp),
        Some(DefaultIr::Sql(t)) => quote!(Sql(#t)),
    };
    quote!(::core::option::Option::Some(__df::DefaultValue::#v))
}

fn column(c: &ColumnIr) -> TokenStream {
    let name = &c.column;
    // `r#type` is the field `type`.
    let field = opt_str(&c.field.as_ref().map(|f| f.ident.unraw().to_string()));
    // A type known by name is spelled out; any other (an enum) tells its
    // own, checked at the field's type.
    let (ty, nullable, enum_type) = match (c.kind, &c.field) {
        (Kind::Other, Some(f)) => {
            let t = &f.ty;
            let at = t.span();
            (
                quote_spanned!(at=> <#t as __df::FieldType>::LOGICAL),
                quote_spanned!(at=> <#t as __df::FieldType>::NULLABLE),
                quote_spanned!(at=> <#t as __df::FieldType>::ENUM),
            )
        }
        _ => {
            let nullable = c.nullable;
            (
                logical(c.kind),
                quote!(#nullable),
                quote!(::core::option::Option::None),
            )
        }
    };
    let pk = c.primary_key;
    let auto = c.auto_increment;
    let unique = c.unique;
    let max_length = match c.max_length {
        Some(n) => quote!(::core::option::Option::Some(#n)),
        None => quote!(::core::option::Option::None),
    };
    let default = default(&c.default);
    let renamed = opt_str(&c.renamed_from);
    let collation = opt_str(&c.collation);
    let managed = match c.managed {
        None => quote!(::core::option::Option::None),
        Some(Managed::CreatedAt) => quote!(::core::option::Option::Some(__df::Managed::CreatedAt)),
        Some(Managed::UpdatedAt) => quote!(::core::option::Option::Some(__df::Managed::UpdatedAt)),
        Some(Managed::DeletedAt) => quote!(::core::option::Option::Some(__df::Managed::DeletedAt)),
    };
    quote! {
        __df::ColumnDescriptor {
            name: #name,
            field: #field,
            ty: #ty,
            nullable: #nullable,
            primary_key: #pk,
            auto_increment: #auto,
            unique: #unique,
            max_length: #max_length,
            enum_type: #enum_type,
            default: #default,
            renamed_from: #renamed,
            managed: #managed,
            collation: #collation,
        }
    }
}

/// Compile-time checks that each enum field's default is one of the enum's
/// stored names, reported at the default.
fn enum_default_checks(ir: &ModelIr) -> TokenStream {
    let checks = ir.columns.iter().filter_map(|c| {
        let (Kind::Other, Some(f), Some(DefaultIr::Text(value))) = (c.kind, &c.field, &c.default)
        else {
            return None;
        };
        let t = &f.ty;
        let message = format!(
            "default \"{}\" is not a stored name of the field's enum `{}`",
            value.escape_default(),
            crate::model::type_name(t)
        );
        let at = c.default_span.unwrap_or_else(|| t.span());
        Some(quote_spanned! {at=>
            const _: () = if !__df::enum_default_fits(<#t as __df::FieldType>::ENUM, #value) {
                ::core::panic!(#message)
            };
        })
    });
    quote!(#(#checks)*)
}

pub fn expand(ir: &ModelIr) -> TokenStream {
    let checks = enum_default_checks(ir);
    let name = ir.ident.to_string();
    let table = &ir.table;
    let renamed = opt_str(&ir.table_renamed_from);
    let columns = ir.columns.iter().map(column);
    let pk = &ir.pk;
    let indexes = ir.indexes.iter().map(|i| {
        let name = &i.name;
        let cols = &i.columns;
        let unique = i.unique;
        let method = match &i.method {
            MethodIr::BTree => quote!(__df::IndexMethod::BTree),
            MethodIr::JsonGin => quote!(__df::IndexMethod::JsonGin),
            MethodIr::TextSearch(l) => quote!(__df::IndexMethod::TextSearch { language: #l }),
        };
        let predicate = opt_str(&i.predicate);
        quote! {
            __df::IndexDescriptor {
                name: #name,
                columns: &[#(#cols),*],
                unique: #unique,
                method: #method,
                predicate: #predicate,
            }
        }
    });
    let fks = ir.foreign_keys.iter().map(|f| {
        let column = &f.column;
        let table = &f.table;
        let rc = &f.ref_column;
        let od = quote::format_ident!("{}", f.on_delete);
        let ou = quote::format_ident!("{}", f.on_update);
        quote! {
            __df::ForeignKeyDescriptor {
                column: #column,
                references_table: #table,
                references_column: #rc,
                on_delete: __df::FkAction::#od,
                on_update: __df::FkAction::#ou,
            }
        }
    });
    let model_checks = ir.checks.iter().map(|c| {
        let (name, expr) = (&c.name, &c.expr);
        quote!(__df::CheckDescriptor { name: #name, expr: #expr })
    });
    let timestamps = ir.timestamps;
    let soft_delete = ir.soft_delete;
    quote! {
        #checks
        static __DATAFLOW_DESCRIPTOR: __df::ModelDescriptor = __df::ModelDescriptor {
            name: #name,
            table: #table,
            renamed_from: #renamed,
            columns: &[#(#columns),*],
            primary_key: &[#(#pk),*],
            indexes: &[#(#indexes),*],
            foreign_keys: &[#(#fks),*],
            checks: &[#(#model_checks),*],
            timestamps: #timestamps,
            soft_delete: #soft_delete,
            statements: __df::StatementCache::new(),
        };
    }
}
