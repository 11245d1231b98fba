//! Classifying field types, so the derive can check attributes against them
//! (defaults, `max_length`, key types) and report errors at the type.

use syn::{GenericArgument, PathArguments, Type};

/// A supported scalar type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    I16,
    I32,
    I64,
    F32,
    F64,
    Bool,
    String,
    Bytes,
    Date,
    DateTime,
    DateTimeUtc,
    Uuid,
    Json,
    Decimal,
    /// A type the derive does not know by name (`Status`): it must implement
    /// `FieldType` itself, which `#[derive(ModelEnum)]` provides. Checked by
    /// the compiler at the field's type.
    Other,
}

/// A classified field type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldTy {
    pub kind: Kind,
    pub nullable: bool,
}

pub const SUPPORTED: &str = "i16, i32, i64, f32, f64, bool, String, Vec<u8>, chrono::NaiveDate, \
chrono::NaiveDateTime, chrono::DateTime<Utc>, uuid::Uuid, serde_json::Value, rust_decimal::Decimal, \
a fieldless enum with #[derive(ModelEnum)], or Option<T> of one of these";

/// Built-in types no field can have: refused by name, so the message lists
/// what is supported instead of a missing trait.
const REFUSED: &[&str] = &[
    "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i128", "isize", "char", "str", "f16",
    "f128", "Box", "Rc", "Arc", "Vec", "HashMap", "BTreeMap", "HashSet", "BTreeSet",
];

impl Kind {
    pub fn is_integer(self) -> bool {
        matches!(self, Kind::I16 | Kind::I32 | Kind::I64)
    }
    pub fn is_datetime(self) -> bool {
        matches!(self, Kind::Date | Kind::DateTime | Kind::DateTimeUtc)
    }
}

fn single_generic(args: &PathArguments) -> Option<&Type> {
    match args {
        PathArguments::AngleBracketed(a) if a.args.len() == 1 => match &a.args[0] {
            GenericArgument::Type(t) => Some(t),
            _ => None,
        },
        _ => None,
    }
}

/// Classifies `ty`, or `None` when it is not a supported field type.
pub fn classify(ty: &Type) -> Option<FieldTy> {
    // A type passed through a `macro_rules!` `$t:ty` arrives wrapped in an
    // invisible group.
    if let Type::Group(g) = ty {
        return classify(&g.elem);
    }
    if let Type::Paren(p) = ty {
        return classify(&p.elem);
    }
    let Type::Path(p) = ty else { return None };
    if p.qself.is_some() {
        return None;
    }
    let last = p.path.segments.last()?;
    let name = last.ident.to_string();
    if name == "Option" {
        let inner = classify(single_generic(&last.arguments)?)?;
        if inner.nullable {
            return None;
        }
        return Some(FieldTy {
            kind: inner.kind,
            nullable: true,
        });
    }
    let no_args = matches!(last.arguments, PathArguments::None);
    let kind = match name.as_str() {
        "i16" if no_args => Kind::I16,
        "i32" if no_args => Kind::I32,
        "i64" if no_args => Kind::I64,
        "f32" if no_args => Kind::F32,
        "f64" if no_args => Kind::F64,
        "bool" if no_args => Kind::Bool,
        "String" if no_args => Kind::String,
        "NaiveDate" if no_args => Kind::Date,
        "NaiveDateTime" if no_args => Kind::DateTime,
        "Uuid" if no_args => Kind::Uuid,
        "Value" | "JsonValue" if no_args => Kind::Json,
        "Decimal" if no_args => Kind::Decimal,
        "Vec" => match single_generic(&last.arguments)? {
            Type::Path(u) if u.path.is_ident("u8") => Kind::Bytes,
            _ => return None,
        },
        "DateTime" => match single_generic(&last.arguments)? {
            Type::Path(u) if u.path.segments.last().is_some_and(|s| s.ident == "Utc") => {
                Kind::DateTimeUtc
            }
            _ => return None,
        },
        other if no_args && !REFUSED.contains(&other) => Kind::Other,
        _ => return None,
    };
    Some(FieldTy {
        kind,
        nullable: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    #[test]
    fn classifies_supported_and_rejects_others() {
        let t: Type = parse_quote!(Option<chrono::DateTime<chrono::Utc>>);
        assert_eq!(
            classify(&t),
            Some(FieldTy {
                kind: Kind::DateTimeUtc,
                nullable: true
            })
        );
        let t: Type = parse_quote!(Vec<u8>);
        assert_eq!(classify(&t).map(|f| f.kind), Some(Kind::Bytes));
        let t: Type = parse_quote!(Option<crate::Status>);
        assert_eq!(
            classify(&t),
            Some(FieldTy {
                kind: Kind::Other,
                nullable: true
            })
        );
        for bad in [
            parse_quote!(Vec<String>),
            parse_quote!(Generic<i32>),
            parse_quote!(Option<Option<i32>>),
            parse_quote!(std::collections::HashMap<String, i32>),
            parse_quote!(u64),
            parse_quote!(&'static str),
        ] {
            let bad: Type = bad;
            assert_eq!(classify(&bad), None);
        }
    }
}
