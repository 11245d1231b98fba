//! Primary keys as values: one value for a single-column key, one per column
//! for a composite key.
//!
//! A model's `Key` type is its key field's type, or a tuple of its key
//! fields' types in key order (`(i64, i32)` for `primary_key("order_id",
//! "line_no")`), so a key of the wrong shape does not compile. The record layer
//! takes [`KeyValues`]: a single key stays one `Value` (no allocation on the
//! common path), a composite key is a `Vec` in key-column order.

use crate::model::field::FieldType;
use crate::model::value::Value;

/// The values of one row's primary key, in key-column order.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyValues {
    /// A single-column key.
    One(Value),
    /// A key over several columns, one value each, in key order.
    Many(Vec<Value>),
}

impl KeyValues {
    /// The values, in key order.
    pub fn as_slice(&self) -> &[Value] {
        match self {
            KeyValues::One(v) => std::slice::from_ref(v),
            KeyValues::Many(v) => v,
        }
    }

    /// The values, in key order, owned.
    pub fn into_vec(self) -> Vec<Value> {
        match self {
            KeyValues::One(v) => vec![v],
            KeyValues::Many(v) => v,
        }
    }
}

impl From<Value> for KeyValues {
    fn from(v: Value) -> Self {
        KeyValues::One(v)
    }
}

impl From<Vec<Value>> for KeyValues {
    fn from(v: Vec<Value>) -> Self {
        KeyValues::Many(v)
    }
}

/// A Rust type that can be a model's primary key: a field type, or a tuple of
/// field types for a composite key. Implemented by dataflow; the derive picks
/// the model's `Key`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a dataflow primary key",
    note = "a key is a field type, or a tuple of field types for a composite key"
)]
pub trait ModelKey: Sized {
    /// The key's values, in key-column order.
    fn into_key(self) -> KeyValues;
}

impl<T: FieldType> ModelKey for T {
    #[inline]
    fn into_key(self) -> KeyValues {
        KeyValues::One(self.into_value())
    }
}

macro_rules! tuple_key {
    ($($t:ident $v:ident),+) => {
        impl<$($t: FieldType),+> ModelKey for ($($t,)+) {
            fn into_key(self) -> KeyValues {
                let ($($v,)+) = self;
                KeyValues::Many(vec![$($v.into_value()),+])
            }
        }
    };
}

tuple_key!(A a, B b);
tuple_key!(A a, B b, C c);
tuple_key!(A a, B b, C c, D d);
tuple_key!(A a, B b, C c, D d, E e);
tuple_key!(A a, B b, C c, D d, E e, F f);
