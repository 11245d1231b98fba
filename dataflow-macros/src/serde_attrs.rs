//! The serde attributes a `<Model>Patch` copies from its model (the
//! container's `rename_all`, each field's `rename` and `alias`), so a patch
//! reads the same JSON names the model does.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::punctuated::Punctuated;
use syn::{Attribute, Data, DeriveInput, Fields, Meta, Token};

/// The model's serde attributes a patch copies.
#[derive(Default)]
pub struct SerdeIr {
    /// Container attributes to copy (`rename_all = ...`).
    pub container: Vec<TokenStream>,
    /// Per field (by its unraw name), the attributes to copy.
    pub fields: Vec<(String, Vec<TokenStream>)>,
}

impl SerdeIr {
    /// The attributes to copy onto field `name` of the patch.
    pub fn field(&self, name: &str) -> &[TokenStream] {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map_or(&[], |(_, a)| a.as_slice())
    }
}

/// The metas of `#[serde(...)]` attributes whose name is one of `keep`.
fn serde_metas(attrs: &[Attribute], keep: &[&str]) -> Vec<TokenStream> {
    let mut out = Vec::new();
    for a in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        // An attribute serde itself would refuse is serde's error to report.
        let Ok(metas) = a.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated) else {
            continue;
        };
        out.extend(
            metas
                .into_iter()
                .filter(|m| keep.iter().any(|k| m.path().is_ident(k)))
                .map(|m| m.into_token_stream()),
        );
    }
    out
}

pub fn read(input: &DeriveInput) -> SerdeIr {
    let mut ir = SerdeIr {
        container: serde_metas(&input.attrs, &["rename_all"]),
        ..SerdeIr::default()
    };
    if let Data::Struct(s) = &input.data {
        if let Fields::Named(named) = &s.fields {
            for f in &named.named {
                let attrs = serde_metas(&f.attrs, &["rename", "alias"]);
                if let (Some(ident), false) = (&f.ident, attrs.is_empty()) {
                    ir.fields.push((ident.unraw().to_string(), attrs));
                }
            }
        }
    }
    ir
}
