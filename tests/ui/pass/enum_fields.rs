//! Enum fields used correctly compile: a fieldless enum with renamed stored
//! names, as a field, an `Option` field, a default, and in filters.

use dataflow_core::prelude::*;

#[derive(ModelEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Open,
    #[dataflow(rename = "in-progress")]
    InProgress,
    #[dataflow(renamed_from = "done")]
    Closed,
}

#[derive(ModelEnum, Debug, Clone, PartialEq)]
pub enum Priority {
    Low,
    High,
}

#[derive(Model, Debug, Clone, PartialEq)]
pub struct Issue {
    pub id: i64,
    #[dataflow(default = "open", index)]
    pub status: Status,
    pub priority: Option<Priority>,
}

#[allow(dead_code)]
fn filters() -> Filter<Issue> {
    Issue::STATUS
        .eq(Status::Open)
        .or(Issue::STATUS.is_in([Status::InProgress, Status::Closed]))
        .and(Issue::PRIORITY.ne(Priority::High))
        .and(Issue::PRIORITY.is_not_null())
        .and(Issue::STATUS.not_in([&Status::Closed]))
}

fn main() {
    assert_eq!(Status::InProgress.as_stored(), "in-progress");
    assert_eq!(Status::from_stored("closed"), Some(Status::Closed));
    let d = <Issue as Model>::DESCRIPTOR;
    assert_eq!(
        d.column("status").unwrap().enum_type.unwrap().values,
        ["open", "in-progress", "closed"]
    );
    assert!(d.column("priority").unwrap().nullable);
    // serde uses the stored names, as nodes and fixtures do.
    assert_eq!(
        serde_json::to_string(&Status::InProgress).unwrap(),
        "\"in-progress\""
    );
    assert_eq!(
        serde_json::from_str::<Status>("\"closed\"").unwrap(),
        Status::Closed
    );
    assert!(serde_json::from_str::<Status>("\"Closed\"").is_err());
}
