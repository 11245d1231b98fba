use dataflow_core::prelude::*;

#[derive(Model)]
pub struct User {
    pub id: i64,
    pub age: Option<i32>,
}

fn f(db: &DataFlow) {
    // A nullable field's patch is `Option<Option<T>>`: `Some(Some(31))`.
    let _ = User::update(
        db,
        1,
        UserPatch {
            age: Some(31),
            ..Default::default()
        },
    );
}

fn main() {}
