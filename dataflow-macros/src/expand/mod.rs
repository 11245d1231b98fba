//! Code generation from the validated IR. Nothing here can fail.

mod columns;
mod crud;
mod descriptor;
mod model_impl;
mod new;
mod patch;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::model::ModelIr;

pub fn expand(ir: &ModelIr) -> TokenStream {
    let ident = &ir.ident;
    let patch_ident = format_ident!("{}Patch", ident);
    let new_ident = format_ident!("{}Draft", ident);
    let new = new::expand(ir, &new_ident);
    let descriptor = descriptor::expand(ir);
    let model_impl = model_impl::expand(ir, &patch_ident);
    let columns = columns::expand(ir);
    let crud = crud::expand(ir);
    let patch = patch::expand(ir, &patch_ident);
    quote! {
        #patch
        #new

        const _: () = {
            use ::dataflow_core::__private as __df;

            #descriptor
            #model_impl

            impl #ident {
                #columns
                #crud
            }
        };
    }
}
