//! The models every scenario uses.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use dataflow_core::prelude::*;
use rust_decimal::Decimal;
use uuid::Uuid;

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "users")]
#[dataflow(index(fields("name", "age")))]
pub struct User {
    pub id: i64,
    pub name: String,
    #[dataflow(unique, max_length = 255)]
    pub email: String,
    pub age: Option<i32>,
    #[dataflow(default = true)]
    pub is_active: bool,
    pub profile: Option<serde_json::Value>,
}

impl User {
    pub fn new(name: &str, email: &str, age: Option<i32>) -> User {
        User {
            id: 0,
            name: name.into(),
            email: email.into(),
            age,
            is_active: true,
            profile: None,
        }
    }
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "posts")]
#[dataflow(foreign_key(field = "user_id", references = "users(id)", on_delete = "cascade"))]
pub struct Post {
    pub id: i64,
    pub user_id: i64,
    pub title: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "everything")]
pub struct Everything {
    pub id: i64,
    pub small: i16,
    pub int: i32,
    pub big: i64,
    pub single: f32,
    pub double: f64,
    pub flag: bool,
    pub text: String,
    pub bytes: Vec<u8>,
    pub date: NaiveDate,
    pub ts: NaiveDateTime,
    pub tstz: DateTime<Utc>,
    pub uuid: Uuid,
    pub json: serde_json::Value,
    pub dec: Decimal,
    pub o_small: Option<i16>,
    pub o_int: Option<i32>,
    pub o_big: Option<i64>,
    pub o_single: Option<f32>,
    pub o_double: Option<f64>,
    pub o_flag: Option<bool>,
    pub o_text: Option<String>,
    pub o_bytes: Option<Vec<u8>>,
    pub o_date: Option<NaiveDate>,
    pub o_ts: Option<NaiveDateTime>,
    pub o_tstz: Option<DateTime<Utc>>,
    pub o_uuid: Option<Uuid>,
    pub o_json: Option<serde_json::Value>,
    pub o_dec: Option<Decimal>,
}

impl Everything {
    /// A row with every field set to a non-trivial value, nullable ones NULL.
    pub fn sample() -> Everything {
        let ts = NaiveDate::from_ymd_opt(2024, 2, 29)
            .unwrap()
            .and_hms_micro_opt(23, 59, 58, 123_456)
            .unwrap();
        Everything {
            id: 0,
            small: -12_345,
            int: 2_000_000_000,
            big: -9_000_000_000_000,
            single: 1.5,
            double: std::f64::consts::PI,
            flag: true,
            text: "plain text".into(),
            bytes: vec![0, 1, 2, 255],
            date: NaiveDate::from_ymd_opt(1999, 12, 31).unwrap(),
            ts,
            tstz: ts.and_utc(),
            uuid: Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
            json: serde_json::json!({"a": [1, 2.5, "x", null, true], "b": {"c": "ü"}}),
            dec: "12345678901234567.123456789".parse().unwrap(),
            o_small: None,
            o_int: None,
            o_big: None,
            o_single: None,
            o_double: None,
            o_flag: None,
            o_text: None,
            o_bytes: None,
            o_date: None,
            o_ts: None,
            o_tstz: None,
            o_uuid: None,
            o_json: None,
            o_dec: None,
        }
    }

    /// Every nullable field set too.
    pub fn sample_full() -> Everything {
        let s = Everything::sample();
        Everything {
            o_small: Some(s.small),
            o_int: Some(s.int),
            o_big: Some(s.big),
            o_single: Some(s.single),
            o_double: Some(s.double),
            o_flag: Some(false),
            o_text: Some("also text".into()),
            o_bytes: Some(vec![]),
            o_date: Some(s.date),
            o_ts: Some(s.ts),
            o_tstz: Some(s.tstz),
            o_uuid: Some(s.uuid),
            o_json: Some(serde_json::json!(null)),
            o_dec: Some(Decimal::new(-5, 3)),
            ..s
        }
    }
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "notes", timestamps, soft_delete)]
pub struct Note {
    pub id: i64,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "tags")]
pub struct Tag {
    #[dataflow(primary_key)]
    pub code: String,
    pub label: String,
}

/// The issue tracker of the README: projects and their issues.
#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "projects")]
pub struct Project {
    pub id: i64,
    pub name: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "issues", timestamps, soft_delete)]
#[dataflow(foreign_key(
    field = "project_id",
    references = "projects(id)",
    on_delete = "cascade"
))]
pub struct Issue {
    pub id: i64,
    pub project_id: i64,
    pub title: String,
    pub assignee: Option<String>,
    pub estimate: Option<i32>,
    pub hours: f64,
    pub cost: Option<Decimal>,
    pub labels: serde_json::Value,
    pub profile: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// An enum field type: stored as text, one name per variant.
#[derive(ModelEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Open,
    #[dataflow(rename = "in-progress")]
    InProgress,
    Closed,
}

#[derive(ModelEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    Low,
    High,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "tickets")]
pub struct Ticket {
    pub id: i64,
    pub title: String,
    #[dataflow(default = "open", index)]
    pub status: Status,
    pub priority: Option<Priority>,
}

impl Ticket {
    pub fn new(title: &str, status: Status, priority: Option<Priority>) -> Ticket {
        Ticket {
            id: 0,
            title: title.into(),
            status,
            priority,
        }
    }
}
