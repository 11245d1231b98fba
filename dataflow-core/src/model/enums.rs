//! Enum fields: a fieldless Rust enum stored as text, one stored name per
//! variant, with the allowed names kept in the table (a `CHECK` on every
//! backend).
//!
//! `#[derive(ModelEnum)]` implements [`ModelEnum`]; the blanket impls here make
//! every such enum a [`Scalar`] (so `Status` and `Option<Status>` are field
//! types) and an [`Operand`] of its own columns only, so a filter compares an
//! enum column with enum values (`Issue::STATUS.eq(Status::Open)`), never with
//! a string.

use crate::error::{Error, Result};
use crate::model::field::{FieldType, Operand, Scalar};
use crate::model::row::RowReader;
use crate::model::value::{LogicalType, Value};

/// What the database knows of an enum: its stored names and the renames the
/// next migration carries out. Emitted by `#[derive(ModelEnum)]`.
#[derive(Debug, PartialEq, Eq)]
pub struct EnumDescriptor {
    /// The Rust enum's name (`Status`), for messages.
    pub name: &'static str,
    /// Every variant's stored name, in declaration order.
    pub values: &'static [&'static str],
    /// `(previous, current)` stored names, from `#[dataflow(renamed_from = "...")]`
    /// on a variant: a migration rewrites rows holding the previous name.
    pub renamed: &'static [(&'static str, &'static str)],
}

impl EnumDescriptor {
    /// Whether `value` is one of the stored names.
    pub fn contains(&self, value: &str) -> bool {
        self.values.contains(&value)
    }

    /// The stored names quoted and comma-separated, for messages:
    /// `"open", "closed"`.
    pub fn listed(&self) -> String {
        self.values
            .iter()
            .map(|v| format!("{v:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The message for a stored name that is not one of the values.
    pub fn unknown(&self, value: &str) -> String {
        format!(
            "{value:?} is not a value of {} (expected one of {})",
            self.name,
            self.listed()
        )
    }
}

/// A fieldless enum stored as text. Implemented by `#[derive(ModelEnum)]`;
/// not meant to be implemented by hand. The derive also implements serde's
/// `Serialize` and `Deserialize` as the stored name (the form nodes and
/// fixtures use), so the enum must not derive them itself.
///
/// ```ignore
/// #[derive(ModelEnum, Debug, Clone, Copy, PartialEq)]
/// pub enum Status {
///     Open,                                   // stored as "open"
///     #[dataflow(rename = "in-progress")]
///     InProgress,
///     #[dataflow(renamed_from = "done")]      // rows holding "done" become "closed"
///     Closed,
/// }
/// ```
pub trait ModelEnum: Clone + Send + Sync + 'static {
    /// The stored names and renames.
    const DESCRIPTOR: &'static EnumDescriptor;

    /// This variant's stored name.
    fn as_stored(&self) -> &'static str;

    /// The variant stored as `name`, if there is one.
    fn from_stored(name: &str) -> Option<Self>;
}

/// The variant stored as `text`, or why there is none.
fn parse<E: ModelEnum>(text: &str) -> std::result::Result<E, String> {
    E::from_stored(text).ok_or_else(|| E::DESCRIPTOR.unknown(text))
}

impl<E: ModelEnum> Scalar for E {
    const LOGICAL: LogicalType = LogicalType::Text;
    const ENUM: Option<&'static EnumDescriptor> = Some(E::DESCRIPTOR);

    fn into_scalar_value(self) -> Value {
        Value::Text(self.as_stored().to_owned())
    }

    fn to_scalar_value(&self) -> Value {
        Value::Text(self.as_stored().to_owned())
    }

    fn from_scalar_value(value: Value) -> std::result::Result<Self, String> {
        match value {
            Value::Text(t) => parse(&t),
            other => Err(format!(
                "expected a text value ({}), found {}",
                E::DESCRIPTOR.name,
                other.kind()
            )),
        }
    }

    fn read_scalar(row: &mut dyn RowReader, i: usize) -> Result<Option<Self>> {
        match row.text(i)? {
            None => Ok(None),
            Some(t) => parse(&t)
                .map(Some)
                .map_err(|why| Error::undecodable(&row.column_name(i), why)),
        }
    }
}

impl<E: ModelEnum> FieldType for E {
    type Inner = E;
    const NULLABLE: bool = false;

    fn to_value(&self) -> Value {
        self.to_scalar_value()
    }

    fn into_value(self) -> Value {
        self.into_scalar_value()
    }

    fn from_value(value: Value) -> std::result::Result<Self, String> {
        E::from_scalar_value(value)
    }

    fn read(row: &mut dyn RowReader, i: usize) -> Result<Self> {
        match E::read_scalar(row, i)? {
            Some(v) => Ok(v),
            None => Err(Error::undecodable(
                &row.column_name(i),
                format!("expected a {} value, found null", E::DESCRIPTOR.name),
            )),
        }
    }
}

impl<E: ModelEnum> Operand<E> for E {
    fn into_operand(self) -> Value {
        self.into_scalar_value()
    }
}

impl<E: ModelEnum> Operand<E> for &E {
    fn into_operand(self) -> Value {
        self.to_scalar_value()
    }
}

/// Deserializes an enum from its stored name (what `#[derive(ModelEnum)]`'s
/// `Deserialize` impl calls); another string is an error listing the names.
#[doc(hidden)]
pub fn deserialize_stored<'de, E: ModelEnum, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<E, D::Error> {
    let name = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
    E::from_stored(&name).ok_or_else(|| serde::de::Error::custom(E::DESCRIPTOR.unknown(&name)))
}

/// Whether `default` is one of the stored names of an enum field's type
/// (`true` for a type without them): `const`, so the derive checks an enum
/// field's `default` when the model compiles.
#[doc(hidden)]
pub const fn enum_default_fits(ty: Option<&EnumDescriptor>, default: &str) -> bool {
    match ty {
        Some(e) => const_contains(e.values, default),
        None => true,
    }
}

/// Whether `value` is one of `values`, in a `const` context.
const fn const_contains(values: &[&str], value: &str) -> bool {
    let mut i = 0;
    while i < values.len() {
        let (a, b) = (values[i].as_bytes(), value.as_bytes());
        if a.len() == b.len() {
            let mut j = 0;
            while j < a.len() && a[j] == b[j] {
                j += 1;
            }
            if j == a.len() {
                return true;
            }
        }
        i += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Status {
        Open,
        Closed,
    }

    static STATUS: EnumDescriptor = EnumDescriptor {
        name: "Status",
        values: &["open", "closed"],
        renamed: &[("done", "closed")],
    };

    impl ModelEnum for Status {
        const DESCRIPTOR: &'static EnumDescriptor = &STATUS;
        fn as_stored(&self) -> &'static str {
            match self {
                Status::Open => "open",
                Status::Closed => "closed",
            }
        }
        fn from_stored(name: &str) -> Option<Self> {
            match name {
                "open" => Some(Status::Open),
                "closed" => Some(Status::Closed),
                _ => None,
            }
        }
    }

    #[test]
    fn stored_names_convert_both_ways_and_others_are_refused() {
        assert_eq!(Status::Closed.to_value(), Value::Text("closed".into()));
        assert_eq!(
            Status::from_value(Value::Text("open".into())),
            Ok(Status::Open)
        );
        let err = Status::from_value(Value::Text("Open".into())).unwrap_err();
        assert!(
            err.contains("\"Open\"") && err.contains("\"open\", \"closed\""),
            "{err}"
        );
        assert!(Status::from_value(Value::I64(1)).is_err());
        assert_eq!(
            Option::<Status>::from_value(Value::Null),
            Ok(None::<Status>)
        );
        assert_eq!(<Option<Status> as FieldType>::LOGICAL, LogicalType::Text);
        assert_eq!(<Option<Status> as FieldType>::ENUM, Some(&STATUS));
        assert_eq!(<String as FieldType>::ENUM, None);
    }

    #[test]
    fn const_contains_matches_whole_names_only() {
        assert!(const_contains(&["open", "closed"], "closed"));
        assert!(!const_contains(&["open", "closed"], "close"));
        assert!(!const_contains(&["open"], "opened"));
        assert!(!const_contains(&[], ""));
    }
}
