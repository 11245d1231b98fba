//! The `<Model>Patch` struct: every writable field optional.

use proc_macro2::{Ident, TokenStream};
use quote::quote;
use syn::ext::IdentExt;

use crate::model::ModelIr;

pub fn expand(ir: &ModelIr, patch: &Ident) -> TokenStream {
    let ident = &ir.ident;
    let vis = &ir.vis;
    // The key and managed columns are not patchable.
    let fields: Vec<_> = ir
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.primary_key && c.managed.is_none())
        .filter_map(|(i, c)| c.field.as_ref().map(|f| (i, f)))
        .collect();
    let decls = fields.iter().map(|(_, f)| {
        let id = &f.ident;
        let ty = &f.ty;
        let doc = format!("New value of `{}`; `None` leaves it as is.", id.unraw());
        quote!(#[doc = #doc] #vis #id: ::core::option::Option<#ty>)
    });
    let serde_impls = serde_impls(ir, patch, &fields);
    let assigns = fields.iter().map(|(i, f)| {
        let id = &f.ident;
        quote! {
            if let ::core::option::Option::Some(v) = self.#id {
                out.push((#i, ::dataflow_core::__private::FieldType::into_value(v)));
            }
        }
    });
    let doc = format!(
        "A partial update of [`{ident}`]: `None` leaves a field as is; for a nullable field `Some(None)` sets NULL. \
         It is `Serialize` / `Deserialize` when [`{ident}`] is: an absent field is `None`, `null` sets a nullable \
         field to NULL and is refused for another, unknown fields are refused."
    );
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, Default, PartialEq)]
        #vis struct #patch {
            #(#decls,)*
        }

        impl ::dataflow_core::__private::Patch for #patch {
            type Model = #ident;
            fn into_assignments(self) -> ::std::vec::Vec<(usize, ::dataflow_core::__private::Value)> {
                let mut out = ::std::vec::Vec::new();
                #(#assigns)*
                out
            }
        }

        #serde_impls
    }
}

/// Serde for the patch, implemented only when the model implements it: a
/// derive macro cannot see which other derives the struct has (not those of
/// its own attribute, and rustfmt merges derive attributes), so the impls are
/// gated by where clauses on the model instead. The bodies come from serde's
/// remote derive on a private twin of the patch; each clause names a generic
/// lifetime, so an unmet one only leaves the impl out.
fn serde_impls(
    ir: &ModelIr,
    patch: &Ident,
    fields: &[(usize, &crate::model::FieldRef)],
) -> TokenStream {
    let ident = &ir.ident;
    let serde = &ir.serde;
    let twin = quote::format_ident!("__{}Serde", patch);
    let patch_name = patch.to_string();
    let decls = fields.iter().map(|(i, f)| {
        let id = &f.ident;
        let ty = &f.ty;
        let copied = serde.field(&id.unraw().to_string());
        // Absent leaves the field as is; for a nullable field `null` sets
        // NULL, another refuses it rather than read it as "leave as is".
        let with = if ir.columns[*i].nullable {
            "::dataflow_core::__private::double_option"
        } else {
            "::dataflow_core::__private::present"
        };
        quote! {
            #[serde(default, skip_serializing_if = "::core::option::Option::is_none", with = #with, #(#copied,)*)]
            #id: ::core::option::Option<#ty>
        }
    });
    let container = &serde.container;
    quote! {
        const _: () = {
            use ::dataflow_core::__private::serde as __serde;

            #[derive(__serde::Serialize, __serde::Deserialize)]
            #[serde(crate = "::dataflow_core::__private::serde", remote = #patch_name, deny_unknown_fields, #(#container,)*)]
            #[allow(dead_code)]
            struct #twin {
                #(#decls,)*
            }

            impl<'__a> __serde::Serialize for #patch
            where
                &'__a #ident: __serde::Serialize,
            {
                fn serialize<__S: __serde::Serializer>(
                    &self,
                    serializer: __S,
                ) -> ::core::result::Result<__S::Ok, __S::Error> {
                    #twin::serialize(self, serializer)
                }
            }

            impl<'de> __serde::Deserialize<'de> for #patch
            where
                #ident: __serde::Deserialize<'de>,
            {
                fn deserialize<__D: __serde::Deserializer<'de>>(
                    deserializer: __D,
                ) -> ::core::result::Result<Self, __D::Error> {
                    #twin::deserialize(deserializer)
                }
            }
        };
    }
}
