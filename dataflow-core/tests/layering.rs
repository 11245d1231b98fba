//! The core's parts form layers, and a lower layer never imports a higher
//! one (so there is no import cycle between them):
//!
//! ```text
//! model (+ error, limits)  →  backend  →  query  →  migrate (+ terminal)
//!     →  fixtures  →  nodes  →  dataflow.rs (the handle)  →  introspect  →  cli  →  testing
//! ```
//!
//! `backend` is the seam a database crate plugs into (`Connection`,
//! `Backend`, `Capabilities`); `query` and `migrate` see the database through
//! traits of their own (`QueryHandle`, `MigrateHandle`) that the handle
//! implements. `testing` sits above the handle because `TestDb` hands one out.
//!
//! This test reads every source file of the crate and fails on a path
//! `crate::<part>` (or a root re-export of a higher part's item) in a file of
//! a lower part. Comments are skipped: doc links name items, they do not
//! import them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Each part by layer, lowest first; a part's top-level modules.
const LAYERS: &[(&str, &[&str])] = &[
    ("model", &["model", "error", "limits"]),
    ("backend", &["backend"]),
    ("query", &["query"]),
    ("migrate", &["migrate", "terminal"]),
    ("fixtures", &["fixtures"]),
    ("nodes", &["nodes"]),
    ("handle", &["dataflow"]),
    ("introspect", &["introspect"]),
    ("cli", &["cli"]),
    ("testing", &["testing"]),
];

fn layer_of_module(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, mods)| mods.contains(&module))
}

/// The layer of a source file, from its path under `src/`; `None` for
/// `lib.rs`, which assembles the crate.
fn layer_of_file(rel: &Path) -> Option<usize> {
    let first = rel.components().next()?.as_os_str().to_str()?;
    let module = first.strip_suffix(".rs").unwrap_or(first);
    if module == "lib" {
        return None;
    }
    Some(layer_of_module(module).unwrap_or_else(|| {
        panic!(
            "{}: a top-level module the layering does not place; add it to LAYERS",
            rel.display()
        )
    }))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Names the crate root re-exports (`pub use part::…::{A, B}`), by the layer
/// of the part they come from, so `crate::DataFlow` counts as the handle.
fn root_reexports(lib: &str) -> BTreeMap<String, usize> {
    let mut names = BTreeMap::new();
    let mut statement = String::new();
    for line in lib.lines() {
        let t = line.trim();
        if statement.is_empty() && !(line.starts_with("pub use ")) {
            continue;
        }
        statement.push_str(t);
        statement.push(' ');
        if !t.ends_with(';') {
            continue;
        }
        let body = statement
            .trim_start_matches("pub use ")
            .trim_end_matches("; ");
        let module = body.split("::").next().unwrap_or_default();
        if let Some(layer) = layer_of_module(module) {
            let items = match (body.find('{'), body.rfind('}')) {
                (Some(a), Some(b)) => body[a + 1..b].to_owned(),
                _ => body.rsplit("::").next().unwrap_or_default().to_owned(),
            };
            for item in items.split(',') {
                let name = item.split(" as ").last().unwrap_or_default().trim();
                if !name.is_empty() && name != "*" {
                    names.insert(name.to_owned(), layer);
                }
            }
        }
        statement.clear();
    }
    names
}

/// Every `crate::<name>` in the code (not comments) of `text`, with its line.
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            found.push((n + 1, name));
            rest = after;
        }
    }
    found
}

#[test]
fn lower_parts_never_import_higher_ones() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("read lib.rs");
    let reexports = root_reexports(&lib);
    assert!(
        reexports.get("DataFlow") == layer_of_module("dataflow").as_ref(),
        "the root re-exports are read: {reexports:?}"
    );
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 20, "the sources are found: {files:?}");
    let mut violations = Vec::new();
    for path in files {
        let rel = path.strip_prefix(&src).expect("under src").to_path_buf();
        let Some(own) = layer_of_file(&rel) else {
            continue;
        };
        let text = std::fs::read_to_string(&path).expect("read source");
        for (line, name) in crate_paths(&text) {
            if name.is_empty() {
                violations.push(format!(
                    "{}:{line}: `crate::{{…}}` hides which parts it imports; name each path",
                    rel.display()
                ));
                continue;
            }
            let target = layer_of_module(&name).or_else(|| reexports.get(&name).copied());
            if let Some(target) = target.filter(|&t| t > own) {
                violations.push(format!(
                    "{}:{line}: {} imports crate::{name} ({})",
                    rel.display(),
                    LAYERS[own].0,
                    LAYERS[target].0
                ));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "a lower part imports a higher one:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_check_sees_an_upward_import() {
    let text = "use crate::dataflow::DataFlow;\n/// [`x`](crate::migrate::x)\nfn f() { crate::query::g() }";
    let paths = crate_paths(text);
    assert_eq!(
        paths,
        vec![(1, "dataflow".to_owned()), (3, "query".to_owned())]
    );
    assert!(layer_of_module("dataflow") > layer_of_module("migrate"));
}
