//! `#[derive(ModelEnum)]`: a fieldless enum as a field type stored as text.
//!
//! Validated like the model derive (every error of an enum reported together,
//! each at its token), then expanded into an `impl ModelEnum` holding its
//! `EnumDescriptor`; the blanket impls in `dataflow_core::model::enums` do
//! the rest.

use proc_macro2::{Ident, TokenStream};
use quote::quote;
use syn::ext::IdentExt;
use syn::{Data, DeriveInput, Fields, LitStr};

use crate::attr::{parse_variant_attrs, refuse_enum_attrs};
use crate::errors::Errors;
use crate::model::snake_case;

/// The validated enum.
pub struct EnumIr {
    pub ident: Ident,
    /// Each variant and its stored name.
    pub variants: Vec<(Ident, String)>,
    /// `(previous, current)` stored names.
    pub renamed: Vec<(String, String)>,
}

/// Where a stored name came from: its `rename = "..."`, or the variant's name.
enum Origin<'a> {
    Rename(&'a LitStr),
    Ident(&'a Ident),
}

impl Origin<'_> {
    fn report(&self, errors: &mut Errors, message: String) {
        match self {
            Origin::Rename(lit) => errors.at(lit, message),
            Origin::Ident(ident) => errors.at(ident, message),
        }
    }
}

fn check_name(errors: &mut Errors, lit: &LitStr, what: &str) {
    let v = lit.value();
    if v.is_empty() {
        errors.at(lit, format!("{what} must not be empty"));
    } else if v.contains('\0') {
        errors.at(lit, format!("{what} must not contain NUL"));
    }
}

pub fn build(input: &DeriveInput) -> syn::Result<EnumIr> {
    let data = match &input.data {
        Data::Enum(e) => e,
        Data::Struct(s) => return Err(syn::Error::new_spanned(
            s.struct_token,
            "#[derive(ModelEnum)] needs a fieldless enum, not a struct (derive Model for a table)",
        )),
        Data::Union(u) => {
            return Err(syn::Error::new_spanned(
                u.union_token,
                "#[derive(ModelEnum)] needs a fieldless enum, not a union",
            ))
        }
    };
    let mut errors = Errors::default();
    if !input.generics.params.is_empty() {
        errors.at(
            &input.generics,
            "#[derive(ModelEnum)] does not support generic enums",
        );
    }
    refuse_enum_attrs(&input.attrs, &mut errors);
    if data.variants.is_empty() {
        errors.at(
            &input.ident,
            "#[derive(ModelEnum)] needs at least one variant: an enum field without values could hold nothing",
        );
    }
    let mut variants: Vec<(Ident, String)> = Vec::new();
    let mut origins: Vec<Origin<'_>> = Vec::new();
    let mut renames: Vec<(&LitStr, usize)> = Vec::new();
    let mut attrs_of = Vec::new();
    for v in &data.variants {
        attrs_of.push(parse_variant_attrs(&v.attrs, &mut errors));
    }
    for (v, attrs) in data.variants.iter().zip(&attrs_of) {
        if !matches!(v.fields, Fields::Unit) {
            errors.at(
                &v.fields,
                format!(
                    "variant `{}` has fields; #[derive(ModelEnum)] needs a fieldless enum (each variant is one stored name)",
                    v.ident.unraw()
                ),
            );
        }
        let (stored, origin) = match &attrs.rename {
            Some(lit) => {
                check_name(&mut errors, lit, "a stored name");
                (lit.value(), Origin::Rename(lit))
            }
            None => (
                snake_case(&v.ident.unraw().to_string()),
                Origin::Ident(&v.ident),
            ),
        };
        if let Some(lit) = &attrs.renamed_from {
            check_name(&mut errors, lit, "renamed_from");
            renames.push((lit, variants.len()));
        }
        if let Some((first, _)) = variants.iter().find(|(_, s)| *s == stored) {
            origin.report(
                &mut errors,
                format!(
                    "duplicate stored name `{stored}`: variant `{}` is already stored as `{stored}`; give this variant another `rename = \"...\"`",
                    first.unraw()
                ),
            );
        }
        variants.push((v.ident.clone(), stored));
        origins.push(origin);
    }
    let mut renamed: Vec<(String, String)> = Vec::new();
    for (lit, i) in &renames {
        let old = lit.value();
        let current = &variants[*i].1;
        if old == *current {
            errors.at(
                lit,
                format!("renamed_from names this variant's own stored name `{current}`; remove it or give the previous name"),
            );
        } else if let Some((other, _)) = variants.iter().find(|(_, s)| *s == old) {
            errors.at(
                lit,
                format!(
                    "`{old}` is the stored name of variant `{}` now; renamed_from names a value no variant has any more",
                    other.unraw()
                ),
            );
        } else if let Some((_, earlier)) = renamed.iter().find(|(o, _)| *o == old) {
            errors.at(
                lit,
                format!("`{old}` is already renamed to `{earlier}`; one previous name becomes one value"),
            );
        } else {
            renamed.push((old, current.clone()));
        }
    }
    errors.finish(EnumIr {
        ident: input.ident.clone(),
        variants,
        renamed,
    })
}

pub fn expand(ir: &EnumIr) -> TokenStream {
    let ident = &ir.ident;
    let name = ident.unraw().to_string();
    let values = ir.variants.iter().map(|(_, s)| s);
    let renamed = ir.renamed.iter().map(|(old, new)| quote!((#old, #new)));
    let to_name = ir.variants.iter().map(|(v, s)| quote!(#ident::#v => #s));
    let from_name = ir
        .variants
        .iter()
        .map(|(v, s)| quote!(#s => ::core::option::Option::Some(#ident::#v)));
    quote! {
        const _: () = {
            use ::dataflow_core::__private as __df;

            impl __df::ModelEnum for #ident {
                const DESCRIPTOR: &'static __df::EnumDescriptor = &__df::EnumDescriptor {
                    name: #name,
                    values: &[#(#values),*],
                    renamed: &[#(#renamed),*],
                };

                fn as_stored(&self) -> &'static str {
                    match self {
                        #(#to_name,)*
                    }
                }

                fn from_stored(name: &str) -> ::core::option::Option<Self> {
                    match name {
                        #(#from_name,)*
                        _ => ::core::option::Option::None,
                    }
                }
            }

            // The stored name, as nodes and fixtures write it.
            impl __df::serde::Serialize for #ident {
                fn serialize<S: __df::serde::Serializer>(
                    &self,
                    serializer: S,
                ) -> ::core::result::Result<S::Ok, S::Error> {
                    serializer.serialize_str(__df::ModelEnum::as_stored(self))
                }
            }

            impl<'de> __df::serde::Deserialize<'de> for #ident {
                fn deserialize<D: __df::serde::Deserializer<'de>>(
                    deserializer: D,
                ) -> ::core::result::Result<Self, D::Error> {
                    __df::deserialize_stored(deserializer)
                }
            }
        };
    }
}
