//! `#[dataflow_core::test(...)]`: a test function that receives a private,
//! migrated database (with fixtures) on one or more backends.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{FnArg, ItemFn, LitStr, Path, ReturnType, Token};

use crate::errors::Errors;

const ATTRS: &str = "models(...), fixtures(\"...\"), backends(sqlite, postgres), isolation = \"database\" | \"transaction\"";

#[derive(Clone, Copy, PartialEq)]
enum Backend {
    Sqlite,
    Postgres,
}

struct Args {
    models: Vec<Path>,
    fixtures: Vec<LitStr>,
    backends: Vec<Backend>,
    transaction: bool,
}

fn parse_args(attr: TokenStream, errors: &mut Errors) -> Args {
    let mut args = Args {
        models: Vec::new(),
        fixtures: Vec::new(),
        backends: Vec::new(),
        transaction: false,
    };
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("models") {
            let content;
            syn::parenthesized!(content in meta.input);
            let list = Punctuated::<Path, Token![,]>::parse_terminated(&content)?;
            args.models.extend(list);
            Ok(())
        } else if meta.path.is_ident("fixtures") {
            let content;
            syn::parenthesized!(content in meta.input);
            let list = Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?;
            args.fixtures.extend(list);
            Ok(())
        } else if meta.path.is_ident("backends") {
            meta.parse_nested_meta(|b| {
                if b.path.is_ident("sqlite") {
                    args.backends.push(Backend::Sqlite);
                } else if b.path.is_ident("postgres") {
                    args.backends.push(Backend::Postgres);
                } else {
                    return Err(b.error("unknown backend; expected one of: sqlite, postgres"));
                }
                Ok(())
            })
        } else if meta.path.is_ident("isolation") {
            let v: LitStr = meta.value()?.parse()?;
            match v.value().as_str() {
                "transaction" => args.transaction = true,
                "database" => args.transaction = false,
                _ => {
                    return Err(syn::Error::new(
                        v.span(),
                        "unknown isolation; expected \"database\" or \"transaction\"",
                    ))
                }
            }
            Ok(())
        } else {
            let name = meta
                .path
                .get_ident()
                .map_or_else(|| "?".into(), ToString::to_string);
            Err(meta.error(format!(
                "unknown argument `{name}`; expected one of: {ATTRS}"
            )))
        }
    });
    if let Err(e) = parser.parse2(attr) {
        errors.push(e);
    }
    if args.backends.is_empty() {
        args.backends.push(Backend::Sqlite);
    }
    args
}

pub fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = parse_args(attr, &mut errors);
    let func: ItemFn = match syn::parse2(item) {
        Ok(f) => f,
        Err(e) => return e.to_compile_error(),
    };
    if args.models.is_empty() {
        errors.at_span(Span::call_site(), "#[dataflow_core::test] needs models(...): the models whose tables the test database has");
    }
    if let Some(a) = &func.sig.asyncness {
        errors.at(
            a,
            "async tests are not supported; dataflow's API is synchronous",
        );
    }
    if func.sig.inputs.len() != 1 || !matches!(func.sig.inputs.first(), Some(FnArg::Typed(_))) {
        errors.at(
            &func.sig,
            "the test function takes exactly one argument: `db: DataFlow`",
        );
    }
    if args.transaction && !args.backends.contains(&Backend::Postgres) {
        errors.at_span(Span::call_site(), "isolation applies to the postgres backend: add backends(postgres) or backends(sqlite, postgres)");
    }
    if let Err(e) = errors.finish(()) {
        return e.to_compile_error();
    }

    let name = &func.sig.ident;
    let attrs = &func.attrs;
    let vis = &func.vis;
    let inputs = &func.sig.inputs;
    let output = match &func.sig.output {
        ReturnType::Default => quote!(),
        o => quote!(#o),
    };
    let block = &func.block;
    let models = &args.models;
    let fixtures = args.fixtures.iter().map(|f| {
        let path = f.value();
        if std::path::Path::new(&path).is_absolute() {
            quote!(#f)
        } else {
            // Relative to the crate, whatever the runner's working directory.
            quote!(::std::concat!(::std::env!("CARGO_MANIFEST_DIR"), "/", #f))
        }
    });
    let setup = quote! {
        #( .model::<#models>() )*
        #( .fixtures(#fixtures) )*
    };
    let body_fn = quote! {
        #[allow(clippy::needless_pass_by_value)]
        fn __dataflow_body(#inputs) #output #block
    };
    // The call to `check` (a `#[track_caller]` panic on an error) is spanned at
    // the test function, so a failing `Result` reports the user's fn, not the
    // attribute's expansion; what it is called with keeps the macro's own
    // spans, so its names resolve whatever macro the test sits in.
    let check = {
        let path =
            quote::quote_spanned!(name.span()=> ::dataflow_core::__private::TestOutcome::check);
        let mut args = proc_macro2::Group::new(
            proc_macro2::Delimiter::Parenthesis,
            quote!(__dataflow_body(__guard.handle())),
        );
        args.set_span(name.span());
        quote!(#path #args;)
    };
    let run = |backend: Backend| -> TokenStream {
        match backend {
            Backend::Sqlite => quote! {
                let __guard = match ::dataflow_sqlite::testing::TestDb::builder() #setup .build() {
                    ::core::result::Result::Ok(g) => g,
                    ::core::result::Result::Err(e) => ::core::panic!("dataflow test setup failed (sqlite): {e}"),
                };
                #check
            },
            Backend::Postgres => {
                let isolation = if args.transaction {
                    quote!(::dataflow_postgres::testing::Isolation::Transaction)
                } else {
                    quote!(::dataflow_postgres::testing::Isolation::Database)
                };
                quote! {
                    if ::std::env::var("DATABASE_URL").is_err() {
                        if ::std::env::var("CI").map_or(false, |v| v == "true") {
                            ::core::panic!("CI=true but DATABASE_URL is not set: PostgreSQL tests must not skip in CI");
                        }
                        ::std::eprintln!("skipping PostgreSQL test {}: DATABASE_URL is not set", ::core::module_path!());
                        return;
                    }
                    let __guard = match ::dataflow_postgres::testing::TestDb::builder() #setup .isolation(#isolation).build() {
                        ::core::result::Result::Ok(g) => g,
                        ::core::result::Result::Err(e) => ::core::panic!("dataflow test setup failed (postgres): {e}"),
                    };
                    #check
                }
            }
        }
    };
    if args.backends.len() == 1 {
        let body = run(args.backends[0]);
        return quote! {
            #[::core::prelude::v1::test]
            #(#attrs)*
            #vis fn #name() {
                #body_fn
                #body
            }
        };
    }
    let tests = args.backends.iter().map(|b| {
        let ident = format_ident!(
            "{}",
            match b {
                Backend::Sqlite => "sqlite",
                Backend::Postgres => "postgres",
            },
            span = name.span()
        );
        let body = run(*b);
        quote! {
            #[::core::prelude::v1::test]
            #(#attrs)*
            fn #ident() {
                #body
            }
        }
    });
    quote! {
        #vis mod #name {
            #[allow(unused_imports)]
            use super::*;
            #body_fn
            #(#tests)*
        }
    }
}
