//! `impl Model`: conversion to and from row values.

use proc_macro2::{Ident, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::model::ModelIr;

pub fn expand(ir: &ModelIr, patch: &Ident) -> TokenStream {
    let ident = &ir.ident;
    let model_name = ident.to_string();
    let n = ir.columns.len();
    let pk_ty = ir.key_type();
    let pk_fields: Vec<_> = ir.key_fields().map(|f| &f.ident).collect();
    let key = match pk_fields.as_slice() {
        [one] => quote!(::core::clone::Clone::clone(&self.#one)),
        many => quote!((#(::core::clone::Clone::clone(&self.#many)),*)),
    };

    let to_values = ir.columns.iter().map(|c| match &c.field {
        Some(f) => {
            let id = &f.ident;
            quote!(__df::FieldType::to_value(&self.#id))
        }
        None => quote!(__df::Value::Null),
    });
    let into_values = ir.columns.iter().map(|c| match &c.field {
        Some(f) => {
            let id = &f.ident;
            quote!(__df::FieldType::into_value(self.#id))
        }
        None => quote!(__df::Value::Null),
    });
    let from_row = ir.columns.iter().enumerate().filter_map(|(i, c)| {
        let f = c.field.as_ref()?;
        let id = &f.ident;
        let ty = &f.ty;
        // The trait bound is checked at the field's type, so an unsupported type
        // is reported there. A decode error names the column; the caller
        // attributes it to this field (`Error::for_model`).
        let read = quote_spanned!(ty.span()=> <#ty as __df::FieldType>::read);
        Some(quote!(#id: #read(row, #i)?))
    });
    quote! {
        impl __df::Model for #ident {
            type Key = #pk_ty;
            type Patch = #patch;
            const DESCRIPTOR: &'static __df::ModelDescriptor = &__DATAFLOW_DESCRIPTOR;

            fn to_values(&self) -> __df::Vec<__df::Value> {
                ::std::vec![#(#to_values),*]
            }

            fn into_values(self) -> __df::Vec<__df::Value> {
                ::std::vec![#(#into_values),*]
            }

            fn from_row(row: &mut dyn __df::RowReader) -> __df::Result<Self> {
                if row.columns() != #n {
                    return ::core::result::Result::Err(__df::Error::Database(::std::format!(
                        "{}: expected {} columns, the row has {}", #model_name, #n, row.columns()
                    )));
                }
                ::core::result::Result::Ok(#ident { #(#from_row),* })
            }

            fn key(&self) -> #pk_ty {
                #key
            }
        }
    }
}
