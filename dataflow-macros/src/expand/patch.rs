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
    let assigns = fields.iter().map(|(i, f)| {
        let id = &f.ident;
        quote! {
            if let ::core::option::Option::Some(v) = self.#id {
                out.push((#i, ::dataflow_core::__private::FieldType::into_value(v)));
            }
        }
    });
    let doc = format!(
        "A partial update of [`{ident}`]: `None` leaves a field as is; for a nullable field `Some(None)` sets NULL."
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
    }
}
