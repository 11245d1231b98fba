//! `#[derive(Model)]` and `#[derive(ModelEnum)]` for dataflow.
//!
//! Built as parse (`attr.rs`) → validated IR (`model.rs`) → expand (`expand/`).
//! `embed_migrations!` (`embed.rs`) compiles migration files in.
//! Every error of a struct is reported together, each at its exact span;
//! expansion of a valid IR cannot fail. Generated code reaches the runtime only
//! through `::dataflow_core::__private`.

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

mod attr;
mod embed;
mod errors;
mod expand;
mod model;
mod model_enum;
mod serde_attrs;
mod test_attr;
#[cfg(test)]
mod tests;
mod types;

/// Derives a dataflow model: a static descriptor, typed column constants, CRUD
/// methods and a `<Name>Patch` type. See the `dataflow_core` docs for attributes.
#[proc_macro_derive(Model, attributes(dataflow))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    derive(&input).into()
}

fn derive(input: &DeriveInput) -> proc_macro2::TokenStream {
    match model::build(input) {
        Ok(ir) => expand::expand(&ir),
        Err(e) => e.to_compile_error(),
    }
}

/// Derives a dataflow enum field type for a fieldless enum: stored as text,
/// each variant under the snake_case of its name or `#[dataflow(rename =
/// "...")]`; `#[dataflow(renamed_from = "...")]` on a variant makes the next
/// migration rewrite rows holding the previous name. See
/// `dataflow_core::model::enums`.
#[proc_macro_derive(ModelEnum, attributes(dataflow))]
pub fn derive_model_enum(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match model_enum::build(&input) {
        Ok(ir) => model_enum::expand(&ir).into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// A test with a private, migrated database:
/// `#[dataflow_core::test(models(User, Post), fixtures("tests/fixtures/blog.json"))]`
/// on `fn name(db: DataFlow)` (optionally returning `Result<(), E>`).
/// `backends(sqlite, postgres)` makes one test per backend (`name::sqlite`,
/// `name::postgres`); `isolation = "transaction"` picks PostgreSQL's rolled-back
/// transaction mode.
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    test_attr::expand(attr.into(), item.into()).into()
}

/// `embed_migrations!("migrations")`: the migration directories of
/// `migrations/` (relative to the crate's `Cargo.toml`), compiled into the
/// binary as a `dataflow_core::Migrations` value:
/// `static MIGRATIONS: Migrations = dataflow_core::embed_migrations!("migrations");`.
/// Each file is included with `include_str!`, so editing one rebuilds the
/// crate; a build script printing `cargo:rerun-if-changed=migrations` also
/// rebuilds it when a migration directory is added.
#[proc_macro]
pub fn embed_migrations(input: TokenStream) -> TokenStream {
    embed::expand(input.into()).into()
}
