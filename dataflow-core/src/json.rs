//! The one conversion between JSON and column [`Value`]s.
//!
//! Fixtures use it today and the JSON nodes will use it, so both accept exactly
//! the same input. The mapping per logical type:
//!
//! | logical | JSON |
//! |---|---|
//! | smallint / int / bigint | an integer number, range-checked for the width |
//! | float / double | a number (integers too); `"NaN"`, `"Infinity"`, `"-Infinity"` as strings |
//! | bool | `true` / `false` |
//! | text | a string, at most `max_length` characters |
//! | bytes | a base64 string (standard alphabet, padding optional) |
//! | date | `"YYYY-MM-DD"` |
//! | timestamp | `"YYYY-MM-DDTHH:MM:SS[.fff…]"` (a space instead of `T` is accepted) |
//! | timestamptz | RFC 3339: `"YYYY-MM-DDTHH:MM:SS[.fff…]Z"` or with an offset |
//! | uuid | a UUID string |
//! | decimal | a string (exact) or a number |
//! | json | any JSON value |
//!
//! `null` is accepted only for nullable columns (it is then SQL `NULL`); on a
//! non-nullable json column it is the JSON document `null`. [`value_to_json`] is
//! the inverse and writes the first form of each row above.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde_json::Value as Json;

use crate::descriptor::ColumnDescriptor;
use crate::value::{LogicalType, Value};

/// Standard alphabet; writes padding, reads with or without it.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The format [`value_to_json`] writes for `timestamp` values.
const TIMESTAMP_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.f";

/// Converts a JSON value into the value of `column`, strictly: the JSON kind must
/// fit the column's logical type (see the module docs). The error names what was
/// expected and what was found, without the column's name (callers add context).
pub fn value_from_json(column: &ColumnDescriptor, json: &Json) -> Result<Value, String> {
    from_json(column.ty, column.nullable, column.max_length, json)
}

/// Converts a value into JSON, the inverse of [`value_from_json`]: bytes as
/// base64, decimals as strings, dates and times as ISO-8601 / RFC 3339 strings,
/// non-finite floats as `"NaN"` / `"Infinity"` / `"-Infinity"`.
pub fn value_to_json(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::I16(v) => Json::from(*v),
        Value::I32(v) => Json::from(*v),
        Value::I64(v) => Json::from(*v),
        Value::F32(v) => f32_to_json(*v),
        Value::F64(v) => f64_to_json(*v),
        Value::Text(s) => Json::String(s.clone()),
        Value::Bytes(b) => Json::String(BASE64.encode(b)),
        Value::Date(d) => Json::String(d.format("%Y-%m-%d").to_string()),
        Value::Timestamp(t) => Json::String(t.format(TIMESTAMP_FORMAT).to_string()),
        Value::TimestampTz(t) => Json::String(t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        Value::Uuid(u) => Json::String(u.hyphenated().to_string()),
        Value::Json(j) => j.clone(),
        #[cfg(feature = "decimal")]
        Value::Decimal(d) => Json::String(d.to_string()),
    }
}

fn f64_to_json(v: f64) -> Json {
    match serde_json::Number::from_f64(v) {
        Some(n) => Json::Number(n),
        None => Json::String(non_finite_name(v).to_owned()),
    }
}

/// The shortest decimal that reads back as the same `f32` (`0.1`, not
/// `0.10000000149011612`).
fn f32_to_json(v: f32) -> Json {
    if !v.is_finite() {
        return Json::String(non_finite_name(f64::from(v)).to_owned());
    }
    let wide = v
        .to_string()
        .parse::<f64>()
        .ok()
        .filter(|w| (*w as f32).to_bits() == v.to_bits())
        .unwrap_or(f64::from(v));
    f64_to_json(wide)
}

fn non_finite_name(v: f64) -> &'static str {
    if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

/// What a column of this type expects, for messages.
fn expected(ty: LogicalType, max_length: Option<u32>) -> String {
    let what = match ty {
        LogicalType::SmallInt | LogicalType::Int | LogicalType::BigInt => "an integer".to_owned(),
        LogicalType::Float | LogicalType::Double => "a number".to_owned(),
        LogicalType::Bool => "true or false".to_owned(),
        LogicalType::Text => match max_length {
            Some(n) => format!("a string of at most {n} characters"),
            None => "a string".to_owned(),
        },
        LogicalType::Bytes => "a base64 string".to_owned(),
        LogicalType::Date => "a date string \"YYYY-MM-DD\"".to_owned(),
        LogicalType::Timestamp => "a timestamp string \"YYYY-MM-DDTHH:MM:SS[.ffffff]\"".to_owned(),
        LogicalType::TimestampTz => {
            "an RFC 3339 timestamp string \"YYYY-MM-DDTHH:MM:SS[.ffffff]Z\"".to_owned()
        }
        LogicalType::Uuid => "a UUID string".to_owned(),
        LogicalType::Json => "a JSON value".to_owned(),
        LogicalType::Decimal => "a decimal string or number".to_owned(),
    };
    format!("{what} ({ty})")
}

/// A short description of a JSON value, for messages.
fn found(json: &Json) -> String {
    match json {
        Json::Null => "null".to_owned(),
        Json::Bool(b) => format!("{b}"),
        Json::Number(n) => format!("the number {n}"),
        Json::String(s) => {
            let mut shown: String = s.chars().take(40).collect();
            if shown.len() < s.len() {
                shown.push('…');
            }
            format!("the string {shown:?}")
        }
        Json::Array(a) => format!("an array of {} items", a.len()),
        Json::Object(o) => format!("an object with {} keys", o.len()),
    }
}

fn mismatch(ty: LogicalType, max_length: Option<u32>, json: &Json) -> String {
    format!(
        "expected {}, found {}",
        expected(ty, max_length),
        found(json)
    )
}

fn from_json(
    ty: LogicalType,
    nullable: bool,
    max_length: Option<u32>,
    json: &Json,
) -> Result<Value, String> {
    let bad = || mismatch(ty, max_length, json);
    let bad_because = |why: &dyn std::fmt::Display| format!("{}: {why}", bad());
    if json.is_null() {
        return if nullable {
            Ok(Value::Null)
        } else if ty == LogicalType::Json {
            Ok(Value::Json(Json::Null))
        } else {
            Err(format!("{} (the field is not nullable)", bad()))
        };
    }
    let text = || json.as_str().ok_or_else(bad);
    let value = match ty {
        LogicalType::SmallInt | LogicalType::Int | LogicalType::BigInt => {
            let Json::Number(n) = json else {
                return Err(bad());
            };
            let (min, max) = match ty {
                LogicalType::SmallInt => (i64::from(i16::MIN), i64::from(i16::MAX)),
                LogicalType::Int => (i64::from(i32::MIN), i64::from(i32::MAX)),
                _ => (i64::MIN, i64::MAX),
            };
            let v = match n.as_i64() {
                Some(v) if (min..=max).contains(&v) => v,
                Some(_) => return Err(bad_because(&format!("out of range {min}..={max}"))),
                None if n.is_u64() => {
                    return Err(bad_because(&format!("out of range {min}..={max}")))
                }
                None => return Err(bad_because(&"not an integer")),
            };
            match ty {
                LogicalType::SmallInt => Value::I16(v as i16),
                LogicalType::Int => Value::I32(v as i32),
                _ => Value::I64(v),
            }
        }
        LogicalType::Float | LogicalType::Double => {
            let v = match json {
                Json::Number(n) => n.as_f64().ok_or_else(bad)?,
                Json::String(s) => match s.as_str() {
                    "NaN" => f64::NAN,
                    "Infinity" => f64::INFINITY,
                    "-Infinity" => f64::NEG_INFINITY,
                    _ => return Err(bad()),
                },
                _ => return Err(bad()),
            };
            if ty == LogicalType::Float {
                let narrow = v as f32;
                if v.is_finite() && !narrow.is_finite() {
                    return Err(bad_because(&"out of range for a 32-bit float"));
                }
                Value::F32(narrow)
            } else {
                Value::F64(v)
            }
        }
        LogicalType::Bool => Value::Bool(json.as_bool().ok_or_else(bad)?),
        LogicalType::Text => {
            let s = text()?;
            if let Some(max) = max_length {
                let len = s.chars().count();
                if len > max as usize {
                    return Err(format!(
                        "expected {}, found a string of {len} characters",
                        expected(ty, max_length)
                    ));
                }
            }
            Value::Text(s.to_owned())
        }
        LogicalType::Bytes => Value::Bytes(BASE64.decode(text()?).map_err(|e| bad_because(&e))?),
        LogicalType::Date => Value::Date(
            NaiveDate::parse_from_str(text()?, "%Y-%m-%d").map_err(|e| bad_because(&e))?,
        ),
        LogicalType::Timestamp => {
            let s = text()?;
            let parsed = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f"))
                .map_err(|e| bad_because(&e))?;
            Value::Timestamp(parsed)
        }
        LogicalType::TimestampTz => Value::TimestampTz(
            DateTime::parse_from_rfc3339(text()?)
                .map_err(|e| bad_because(&e))?
                .with_timezone(&Utc),
        ),
        LogicalType::Uuid => {
            Value::Uuid(uuid::Uuid::parse_str(text()?).map_err(|e| bad_because(&e))?)
        }
        LogicalType::Json => Value::Json(json.clone()),
        LogicalType::Decimal => decimal_from_json(json).map_err(|e| match e {
            Some(why) => bad_because(&why),
            None => bad(),
        })?,
    };
    value.check_portable().map_err(|why| bad_because(&why))?;
    Ok(value)
}

/// `Err(None)` for a JSON kind that is not a decimal, `Err(Some(why))` for a
/// string or number that does not parse.
#[cfg(feature = "decimal")]
fn decimal_from_json(json: &Json) -> Result<Value, Option<String>> {
    use rust_decimal::Decimal;
    use std::str::FromStr;
    let text = match json {
        Json::String(s) => s.clone(),
        Json::Number(n) => n.to_string(),
        _ => return Err(None),
    };
    let text = text.trim();
    let d = Decimal::from_str_exact(text)
        .or_else(|e| {
            if text.contains(['e', 'E']) {
                Decimal::from_scientific(text)
            } else {
                Err(e)
            }
        })
        .or_else(|e| {
            // Numbers, unlike strings, may be rounded to fit.
            if json.is_number() {
                Decimal::from_str(text)
            } else {
                Err(e)
            }
        })
        .map_err(|e| Some(e.to_string()))?;
    Ok(Value::Decimal(d))
}

#[cfg(not(feature = "decimal"))]
fn decimal_from_json(_json: &Json) -> Result<Value, Option<String>> {
    Err(Some(
        "decimal support is disabled (feature `decimal` of dataflow-core)".to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::descriptor::ColumnDescriptor;
    use serde_json::json;

    fn col(ty: LogicalType, nullable: bool) -> ColumnDescriptor {
        ColumnDescriptor {
            name: "c",
            field: Some("c"),
            ty,
            nullable,
            primary_key: false,
            auto_increment: false,
            unique: false,
            max_length: None,
            default: None,
            renamed_from: None,
            managed: None,
        }
    }

    fn ok(ty: LogicalType, j: Json) -> Value {
        value_from_json(&col(ty, false), &j).unwrap_or_else(|e| panic!("{ty} {j}: {e}"))
    }

    fn err(ty: LogicalType, j: Json) -> String {
        value_from_json(&col(ty, false), &j).expect_err("should be refused")
    }

    #[test]
    fn integers_are_range_checked_per_width() {
        assert_eq!(ok(LogicalType::SmallInt, json!(-32768)), Value::I16(-32768));
        assert_eq!(ok(LogicalType::Int, json!(7)), Value::I32(7));
        assert_eq!(
            ok(LogicalType::BigInt, json!(i64::MAX)),
            Value::I64(i64::MAX)
        );
        let e = err(LogicalType::SmallInt, json!(32768));
        assert!(e.contains("out of range -32768..=32767"), "{e}");
        assert!(e.contains("found the number 32768"), "{e}");
        let e = err(LogicalType::BigInt, json!(u64::MAX));
        assert!(e.contains("out of range"), "{e}");
        let e = err(LogicalType::Int, json!(1.5));
        assert!(
            e.contains("expected an integer (int), found the number 1.5"),
            "{e}"
        );
        let e = err(LogicalType::Int, json!("7"));
        assert!(e.contains("found the string \"7\""), "{e}");
    }

    #[test]
    fn floats_accept_integers_and_named_non_finite_values() {
        assert_eq!(ok(LogicalType::Double, json!(3)), Value::F64(3.0));
        assert_eq!(ok(LogicalType::Float, json!(0.1)), Value::F32(0.1));
        assert!(matches!(ok(LogicalType::Double, json!("NaN")), Value::F64(v) if v.is_nan()));
        assert_eq!(
            ok(LogicalType::Float, json!("-Infinity")),
            Value::F32(f32::NEG_INFINITY)
        );
        assert!(err(LogicalType::Float, json!(1e39)).contains("32-bit"));
        assert!(err(LogicalType::Double, json!("1.5")).contains("expected a number (double)"));
        assert_eq!(value_to_json(&Value::F32(0.1)), json!(0.1));
        assert_eq!(value_to_json(&Value::F64(f64::INFINITY)), json!("Infinity"));
    }

    #[test]
    fn text_respects_max_length_in_characters() {
        let mut c = col(LogicalType::Text, false);
        c.max_length = Some(3);
        assert_eq!(
            value_from_json(&c, &json!("üüü")),
            Ok(Value::Text("üüü".into()))
        );
        let e = value_from_json(&c, &json!("abcd")).unwrap_err();
        assert_eq!(
            e,
            "expected a string of at most 3 characters (text), found a string of 4 characters"
        );
        assert!(err(LogicalType::Text, json!(1)).contains("expected a string (text)"));
        assert!(err(LogicalType::Bool, json!(1)).contains("expected true or false (bool)"));
    }

    #[test]
    fn null_only_for_nullable_columns() {
        let e = err(LogicalType::Text, Json::Null);
        assert_eq!(
            e,
            "expected a string (text), found null (the field is not nullable)"
        );
        assert_eq!(
            value_from_json(&col(LogicalType::Text, true), &Json::Null),
            Ok(Value::Null)
        );
        // A non-nullable json column holds the document `null`.
        assert_eq!(ok(LogicalType::Json, Json::Null), Value::Json(Json::Null));
    }

    #[test]
    fn strings_of_other_types() {
        assert_eq!(
            ok(LogicalType::Bytes, json!("AAH/")),
            Value::Bytes(vec![0, 1, 255])
        );
        assert_eq!(ok(LogicalType::Bytes, json!("AA")), Value::Bytes(vec![0]));
        assert!(err(LogicalType::Bytes, json!("@@")).contains("base64"));
        assert_eq!(
            ok(LogicalType::Date, json!("2024-02-29")),
            Value::Date(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap())
        );
        assert!(err(LogicalType::Date, json!("2023-02-29")).contains("\"YYYY-MM-DD\""));
        for outside in ["+10000-01-01", "-0001-12-31"] {
            assert!(
                err(LogicalType::Date, json!(outside)).contains("0000-9999"),
                "{outside}"
            );
        }
        assert_eq!(
            ok(LogicalType::Date, json!("9999-12-31")),
            Value::Date(NaiveDate::from_ymd_opt(9999, 12, 31).unwrap())
        );
        let t = NaiveDate::from_ymd_opt(2024, 1, 2)
            .unwrap()
            .and_hms_micro_opt(3, 4, 5, 600_000)
            .unwrap();
        assert_eq!(
            ok(LogicalType::Timestamp, json!("2024-01-02T03:04:05.6")),
            Value::Timestamp(t)
        );
        assert_eq!(
            ok(LogicalType::Timestamp, json!("2024-01-02 03:04:05.600000")),
            Value::Timestamp(t)
        );
        assert_eq!(
            value_to_json(&Value::Timestamp(t)),
            json!("2024-01-02T03:04:05.600")
        );
        assert_eq!(
            ok(
                LogicalType::TimestampTz,
                json!("2024-01-02T05:04:05.6+02:00")
            ),
            Value::TimestampTz(t.and_utc())
        );
        assert_eq!(
            value_to_json(&Value::TimestampTz(t.and_utc())),
            json!("2024-01-02T03:04:05.600Z")
        );
        assert!(err(LogicalType::TimestampTz, json!("2024-01-02T03:04:05")).contains("RFC 3339"));
        let u = "67e55044-10b1-426f-9247-bb680e5fe0c8";
        assert_eq!(
            ok(LogicalType::Uuid, json!(u)),
            Value::Uuid(uuid::Uuid::parse_str(u).unwrap())
        );
        assert!(err(LogicalType::Uuid, json!("nope")).contains("expected a UUID string (uuid)"));
    }

    #[cfg(feature = "decimal")]
    #[test]
    fn decimals_from_strings_are_exact() {
        use rust_decimal::Decimal;
        let d: Decimal = "12345678901234567.123456789".parse().unwrap();
        assert_eq!(
            ok(LogicalType::Decimal, json!("12345678901234567.123456789")),
            Value::Decimal(d)
        );
        assert_eq!(
            ok(LogicalType::Decimal, json!(0.1)),
            Value::Decimal(Decimal::new(1, 1))
        );
        assert_eq!(
            ok(LogicalType::Decimal, json!(42)),
            Value::Decimal(Decimal::new(42, 0))
        );
        assert_eq!(
            ok(LogicalType::Decimal, json!("1e-3")),
            Value::Decimal(Decimal::new(1, 3))
        );
        assert!(err(LogicalType::Decimal, json!("1.2.3")).contains("decimal"));
        assert!(err(LogicalType::Decimal, json!(true)).contains("found true"));
        assert_eq!(value_to_json(&Value::Decimal(d)), json!(d.to_string()));
    }

    #[test]
    fn json_takes_anything() {
        let doc = json!({"a": [1, "x", null]});
        assert_eq!(ok(LogicalType::Json, doc.clone()), Value::Json(doc.clone()));
        assert_eq!(value_to_json(&Value::Json(doc.clone())), doc);
    }

    mod round_trip {
        use super::*;
        use proptest::prelude::*;

        const ALL: [LogicalType; 14] = [
            LogicalType::SmallInt,
            LogicalType::Int,
            LogicalType::BigInt,
            LogicalType::Float,
            LogicalType::Double,
            LogicalType::Bool,
            LogicalType::Text,
            LogicalType::Bytes,
            LogicalType::Date,
            LogicalType::Timestamp,
            LogicalType::TimestampTz,
            LogicalType::Uuid,
            LogicalType::Json,
            LogicalType::Decimal,
        ];

        fn naive() -> impl Strategy<Value = NaiveDateTime> {
            // Years 1..=9999: what every backend stores as fixed-width text.
            (-62_135_596_800i64..253_402_300_799, 0u32..1_000_000_000).prop_map(|(s, n)| {
                DateTime::from_timestamp(s, n)
                    .expect("in range")
                    .naive_utc()
            })
        }

        fn json_doc() -> impl Strategy<Value = Json> {
            let leaf = prop_oneof![
                Just(Json::Null),
                any::<bool>().prop_map(Json::Bool),
                any::<i64>().prop_map(Json::from),
                any::<f64>()
                    .prop_filter("finite", |f| f.is_finite())
                    .prop_map(Json::from),
                ".{0,8}".prop_map(Json::String),
            ];
            leaf.prop_recursive(3, 16, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
                    prop::collection::btree_map(".{0,4}", inner, 0..4)
                        .prop_map(|m| Json::Object(m.into_iter().collect())),
                ]
            })
        }

        /// A non-null value of `ty`.
        fn value_of(ty: LogicalType) -> BoxedStrategy<Value> {
            match ty {
                LogicalType::SmallInt => any::<i16>().prop_map(Value::I16).boxed(),
                LogicalType::Int => any::<i32>().prop_map(Value::I32).boxed(),
                LogicalType::BigInt => any::<i64>().prop_map(Value::I64).boxed(),
                LogicalType::Float => any::<f32>().prop_map(Value::F32).boxed(),
                LogicalType::Double => any::<f64>().prop_map(Value::F64).boxed(),
                LogicalType::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
                LogicalType::Text => ".{0,20}".prop_map(Value::Text).boxed(),
                LogicalType::Bytes => prop::collection::vec(any::<u8>(), 0..40)
                    .prop_map(Value::Bytes)
                    .boxed(),
                LogicalType::Date => naive().prop_map(|t| Value::Date(t.date())).boxed(),
                LogicalType::Timestamp => naive().prop_map(Value::Timestamp).boxed(),
                LogicalType::TimestampTz => naive()
                    .prop_map(|t| Value::TimestampTz(t.and_utc()))
                    .boxed(),
                LogicalType::Uuid => any::<u128>()
                    .prop_map(|u| Value::Uuid(uuid::Uuid::from_u128(u)))
                    .boxed(),
                LogicalType::Json => json_doc().prop_map(Value::Json).boxed(),
                #[cfg(feature = "decimal")]
                LogicalType::Decimal => (any::<i64>(), 0u32..=28)
                    .prop_map(|(m, s)| Value::Decimal(rust_decimal::Decimal::new(m, s)))
                    .boxed(),
                #[cfg(not(feature = "decimal"))]
                LogicalType::Decimal => Just(Value::Null).boxed(),
            }
        }

        /// Equality that treats NaN as equal to NaN (same bits).
        fn same(a: &Value, b: &Value) -> bool {
            match (a, b) {
                (Value::F32(x), Value::F32(y)) => x.to_bits() == y.to_bits(),
                (Value::F64(x), Value::F64(y)) => x.to_bits() == y.to_bits(),
                _ => a == b,
            }
        }

        fn typed_value() -> impl Strategy<Value = (LogicalType, bool, Value)> {
            (0..ALL.len(), any::<bool>(), any::<bool>()).prop_flat_map(|(i, nullable, null)| {
                let ty = ALL[i];
                if nullable && null {
                    Just((ty, true, Value::Null)).boxed()
                } else {
                    value_of(ty)
                        // A nullable json column cannot tell the document `null` from NULL.
                        .prop_filter("ambiguous null", move |v| {
                            !(nullable && *v == Value::Json(Json::Null))
                        })
                        .prop_map(move |v| (ty, nullable, v))
                        .boxed()
                }
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            #[test]
            fn value_to_json_then_back_is_identity((ty, nullable, v) in typed_value()) {
                if cfg!(not(feature = "decimal")) && ty == LogicalType::Decimal {
                    return Ok(());
                }
                let j = value_to_json(&v);
                // Through text as well, as fixtures files do.
                let text = serde_json::to_string(&j).unwrap();
                let reparsed: Json = serde_json::from_str(&text).unwrap();
                for j in [j, reparsed] {
                    let back = value_from_json(&col(ty, nullable), &j)
                        .map_err(|e| TestCaseError::fail(format!("{ty} {j}: {e}")))?;
                    prop_assert!(same(&back, &v), "{ty}: {v:?} -> {j} -> {back:?}");
                }
            }
        }
    }
}
