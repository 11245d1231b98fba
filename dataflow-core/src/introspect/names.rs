//! Rust names for database names: struct names for tables, field names for
//! columns, each valid, distinct, and mapped back with `table = ` /
//! `column = ` where the derive would not find the database name itself.

use std::collections::BTreeSet;

/// Words a field cannot be named, even raw (`r#self` is not an identifier).
const NOT_RAW: [&str; 5] = ["self", "Self", "super", "crate", "_"];

/// Rust's strict and reserved keywords (2021 edition), which a field can be
/// as a raw identifier.
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "dyn", "else", "enum", "extern", "false",
    "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref",
    "return", "static", "struct", "trait", "true", "type", "unsafe", "use", "where", "while",
    "abstract", "become", "box", "do", "final", "gen", "macro", "override", "priv", "try",
    "typeof", "unsized", "virtual", "yield", "union",
];

/// How a column becomes a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldName {
    /// The field as written in the struct (`name`, `r#type`, `unit_price`).
    pub written: String,
    /// The name the derive derives from the field: the column's own name, or
    /// not (then the field needs `column = "…"`).
    pub derives_column: bool,
}

fn plain_snake(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && s != "_"
}

/// `Unit Price`, `unitPrice`, `2fa` → `unit_price`, `unit_price`, `c_2fa`.
fn snake(s: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && prev_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        } else {
            if !out.ends_with('_') {
                out.push('_');
            }
            prev_lower = false;
        }
    }
    let out = out.trim_matches('_').to_owned();
    match out.chars().next() {
        None => "column".to_owned(),
        Some(c) if c.is_ascii_digit() => format!("c_{out}"),
        Some(_) => out,
    }
}

/// The field for `column`, distinct from the names in `taken` (which it joins).
pub(crate) fn field_name(column: &str, taken: &mut BTreeSet<String>) -> FieldName {
    let (mut base, mut derives) = if plain_snake(column) && !NOT_RAW.contains(&column) {
        (column.to_owned(), true)
    } else {
        (snake(column), false)
    };
    if NOT_RAW.contains(&base.as_str()) {
        base.push('_');
        derives = false;
    }
    let mut name = base.clone();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{base}_{n}");
        derives = false;
        n += 1;
    }
    taken.insert(name.clone());
    let written = if KEYWORDS.contains(&name.as_str()) {
        format!("r#{name}")
    } else {
        name
    };
    FieldName {
        written,
        derives_column: derives,
    }
}

/// A struct name for `table`: CamelCase, singular where the plural is a plain
/// English one (`order_items` → `OrderItem`, `categories` → `Category`),
/// distinct from the names in `taken` (which it joins).
pub(crate) fn struct_name(table: &str, taken: &mut BTreeSet<String>) -> String {
    let mut words: Vec<String> = snake(table)
        .split('_')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(last) = words.last_mut() {
        *last = singular(last);
    }
    let mut base: String = words
        .iter()
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect();
    if base.is_empty() || base == "Self" {
        base.push_str("Table");
    }
    let mut name = base.clone();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{base}{n}");
        n += 1;
    }
    taken.insert(name.clone());
    name
}

fn singular(word: &str) -> String {
    if let Some(stem) = word.strip_suffix("ies") {
        if stem.len() > 1 {
            return format!("{stem}y");
        }
    }
    for keep in ["ss", "us", "is", "news"] {
        if word.ends_with(keep) {
            return word.to_owned();
        }
    }
    for suffix in ["sses", "shes", "ches", "xes"] {
        if word.ends_with(suffix) {
            return word[..word.len() - 2].to_owned();
        }
    }
    match word.strip_suffix('s') {
        Some(stem) if stem.len() > 1 => stem.to_owned(),
        _ => word.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_valid_and_distinct() {
        let mut taken = BTreeSet::new();
        let f = |c: &str, t: &mut BTreeSet<String>| {
            let n = field_name(c, t);
            (n.written, n.derives_column)
        };
        assert_eq!(f("name", &mut taken), ("name".into(), true));
        assert_eq!(f("type", &mut taken), ("r#type".into(), true));
        assert_eq!(f("Unit Price", &mut taken), ("unit_price".into(), false));
        assert_eq!(f("unitPrice", &mut taken), ("unit_price_2".into(), false));
        assert_eq!(f("2fa", &mut taken), ("c_2fa".into(), false));
        assert_eq!(f("self", &mut taken), ("self_".into(), false));
        assert_eq!(f("é", &mut taken), ("column".into(), false));
        for w in KEYWORDS {
            let n = field_name(w, &mut BTreeSet::new());
            assert!(syn::parse_str::<syn::Ident>(&n.written).is_ok(), "{w}");
        }
    }

    #[test]
    fn structs_are_camel_and_singular() {
        let mut taken = BTreeSet::new();
        assert_eq!(struct_name("order_items", &mut taken), "OrderItem");
        assert_eq!(struct_name("categories", &mut taken), "Category");
        assert_eq!(struct_name("addresses", &mut taken), "Address");
        assert_eq!(struct_name("status", &mut taken), "Status");
        assert_eq!(struct_name("Order Items", &mut taken), "OrderItem2");
        assert_eq!(struct_name("2024_sales", &mut taken), "C2024Sale");
    }
}
