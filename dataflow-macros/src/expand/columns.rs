//! Typed column constants: `User::AGE: Column<User, Option<i32>>`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::model::ModelIr;

pub fn expand(ir: &ModelIr) -> TokenStream {
    let ident = &ir.ident;
    let vis = &ir.vis;
    let consts = ir.columns.iter().filter_map(|c| {
        let f = c.field.as_ref()?;
        let name = f.ident.to_string();
        let const_ident = format_ident!(
            "{}",
            name.trim_start_matches("r#").to_uppercase(),
            span = f.ident.span()
        );
        let ty = &f.ty;
        let column = &c.column;
        let doc = format!("The `{column}` column, for filters and ordering.");
        Some(quote! {
            #[doc = #doc]
            #vis const #const_ident: __df::Column<#ident, #ty> = __df::Column::new(#column);
        })
    });
    quote!(#(#consts)*)
}
