//! The `<Model>Draft` struct: the fields a caller chooses when creating a row,
//! without the generated key and the managed columns.

use proc_macro2::{Ident, TokenStream};
use quote::quote;
use syn::ext::IdentExt;

use crate::model::ModelIr;

pub fn expand(ir: &ModelIr, new: &Ident) -> TokenStream {
    let ident = &ir.ident;
    let vis = &ir.vis;
    let (given, filled): (Vec<_>, Vec<_>) = ir
        .columns
        .iter()
        .filter_map(|c| c.field.as_ref().map(|f| (c, f)))
        .partition(|(c, _)| !c.auto_increment && c.managed.is_none());
    let decls = given.iter().map(|(_, f)| {
        let id = &f.ident;
        let ty = &f.ty;
        let doc = format!("The new row's `{}`.", id.unraw());
        quote!(#[doc = #doc] #vis #id: #ty)
    });
    let moved = given.iter().map(|(_, f)| {
        let id = &f.ident;
        quote!(#id: new.#id)
    });
    // Overwritten by `create`: the database assigns the key, dataflow the
    // timestamps (and `deleted_at` NULL).
    let placeholders = filled.iter().map(|(_, f)| {
        let id = &f.ident;
        quote!(#id: ::core::default::Default::default())
    });
    let doc = format!(
        "A row of [`{ident}`] to create, without what the database or dataflow fills in \
         (an auto-increment key, managed timestamps): `{ident}::create(&db, {new} {{ .. }})`."
    );
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone)]
        #vis struct #new {
            #(#decls,)*
        }

        impl ::core::convert::From<#new> for #ident {
            fn from(new: #new) -> Self {
                #ident {
                    #(#moved,)*
                    #(#placeholders,)*
                }
            }
        }
    }
}
