use dataflow_core::prelude::*;

#[derive(Model)]
pub struct Issue {
    pub id: i64,
    pub project_id: i64,
    pub title: String,
    pub due: Option<chrono::NaiveDate>,
}

fn f(db: &DataFlow) {
    let _ = Issue::list(db).sum(Issue::TITLE);
    let _ = Issue::list(db).avg(Issue::DUE);
    let _ = Issue::list(db).group_by(Issue::PROJECT_ID).sum(Issue::TITLE);
}

fn main() {}
