//! `embed_migrations!("dir")`: lists the migration directories of `dir`
//! (relative to the calling crate's `Cargo.toml`) when the crate compiles and
//! includes their files with `include_str!`, so cargo rebuilds when one of
//! them changes. A directory added later is seen when the crate is next
//! compiled; a build script with `cargo:rerun-if-changed=migrations` makes
//! cargo notice it by itself.

use std::path::{Path, PathBuf};

use proc_macro2::TokenStream;
use quote::quote;
use syn::LitStr;

const FILES: [&str; 3] = ["up.sql", "down.sql", "plan.json"];

pub fn expand(input: TokenStream) -> TokenStream {
    let lit: LitStr = match syn::parse2(input) {
        Ok(l) => l,
        Err(e) => return e.to_compile_error(),
    };
    match entries(&lit) {
        Ok(list) => {
            let items = list.iter().map(|(id, dir)| {
                let [up, down, plan] = FILES.map(|f| dir.join(f).display().to_string());
                quote! {
                    ::dataflow_core::__private::MigrationSource::embedded(
                        #id, include_str!(#up), include_str!(#down), include_str!(#plan),
                    )
                }
            });
            quote! {{
                const LIST: &[::dataflow_core::__private::MigrationSource] = &[#(#items),*];
                ::dataflow_core::__private::Migrations::embedded(LIST)
            }}
        }
        Err(msg) => syn::Error::new(lit.span(), msg).to_compile_error(),
    }
}

fn entries(lit: &LitStr) -> Result<Vec<(String, PathBuf)>, String> {
    let base = std::env::var("CARGO_MANIFEST_DIR").map_err(|_| "CARGO_MANIFEST_DIR is not set")?;
    let dir = Path::new(&base).join(lit.value());
    let read = std::fs::read_dir(&dir)
        .map_err(|e| format!("cannot read migration directory {}: {e}", dir.display()))?;
    let mut out = Vec::new();
    for entry in read {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let path = entry.path();
        let Some(id) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if !path.is_dir() || id.starts_with('.') {
            continue;
        }
        if !well_named(&id) {
            return Err(format!(
                "migration directory {id:?} is not named <YYYYMMDDHHMMSS>_<name>"
            ));
        }
        for f in FILES {
            if !path.join(f).is_file() {
                return Err(format!("migration {id} has no {f}"));
            }
        }
        out.push((id, path));
    }
    out.sort();
    Ok(out)
}

fn well_named(id: &str) -> bool {
    id.split_once('_').is_some_and(|(v, n)| {
        v.len() == 14
            && v.bytes().all(|b| b.is_ascii_digit())
            && !n.is_empty()
            && n.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    })
}
