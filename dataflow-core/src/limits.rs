//! Limits on nested input, checked before anything recursive touches it.
//!
//! Rendering a filter, serialising a JSON document, cloning one and dropping
//! one all recurse once per level of nesting, so input nested deeply enough
//! overflows the stack and aborts the process. dataflow refuses such input
//! with [`Error::InvalidInput`] before it is
//! rendered or written, walking it without recursion, and takes apart what it
//! refuses without recursion too.

use serde_json::Value as Json;

use crate::error::{Error, Result};
use crate::model::value::Value;

/// The deepest nesting of arrays and objects a JSON value may have to be
/// written (`[[1]]` is 2 deep). Rows are read back with `serde_json`, whose
/// parser refuses 128 levels: a deeper document would be stored and then make
/// its table unreadable, so it is refused before writing on every backend.
pub const MAX_JSON_DEPTH: usize = 127;

/// The deepest nesting of a filter (`a.not()` is 2 deep; `a.and(b)` is 2 deep,
/// however many terms a chain of `and`s holds). Deeper filters are refused
/// before any SQL is rendered. Well within what SQLite's parser and
/// PostgreSQL's accept.
pub const MAX_FILTER_DEPTH: usize = 64;

/// Whether `json` nests arrays and objects deeper than `max`, found without
/// recursion and stopping at the first level past `max`.
pub fn json_deeper_than(json: &Json, max: usize) -> bool {
    let mut stack: Vec<(&Json, usize)> = vec![(json, 0)];
    while let Some((v, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Json>> = match v {
            Json::Array(items) => Box::new(items.iter()),
            Json::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        let depth = depth + 1;
        if depth > max {
            return true;
        }
        stack.extend(children.map(|c| (c, depth)));
    }
    false
}

/// `Err(InvalidInput)` naming `what` when `json` is nested deeper than
/// [`MAX_JSON_DEPTH`].
pub fn check_json(json: &Json, what: &str) -> Result<()> {
    if json_deeper_than(json, MAX_JSON_DEPTH) {
        return Err(Error::InvalidInput(format!(
            "{what}: JSON nested deeper than {MAX_JSON_DEPTH} levels"
        )));
    }
    Ok(())
}

/// `Err(InvalidInput)` naming `what` when a value cannot be written as it is.
pub fn check_value(value: &Value, what: &str) -> Result<()> {
    match value {
        Value::Json(j) => check_json(j, what),
        _ => Ok(()),
    }
}

/// Drops a JSON value of any depth without recursion (the derived drop
/// recurses once per level).
pub fn dispose_json(json: Json) {
    let mut stack = vec![json];
    while let Some(mut v) = stack.pop() {
        match &mut v {
            Json::Array(items) => stack.append(items),
            Json::Object(map) => {
                let map = std::mem::take(map);
                stack.extend(map.into_iter().map(|(_, v)| v));
            }
            _ => {}
        }
    }
}

/// Drops a value without recursion, whatever JSON it holds.
pub fn dispose_value(value: Value) {
    if let Value::Json(j) = value {
        dispose_json(j);
    }
}

/// Drops values without recursion, whatever JSON they hold.
pub fn dispose_values(values: impl IntoIterator<Item = Value>) {
    values.into_iter().for_each(dispose_value);
}

/// Clones a JSON value without recursion when it is nested deeper than
/// [`MAX_JSON_DEPTH`] (the derived clone recurses once per level), so that a
/// model holding one can still be turned into values and refused.
pub fn clone_json(json: &Json) -> Json {
    if !json_deeper_than(json, MAX_JSON_DEPTH) {
        return json.clone();
    }
    // Post-order: a container is rebuilt once all its children are.
    enum Step<'a> {
        Visit(&'a Json),
        Array(usize),
        Object(Vec<&'a String>),
    }
    let mut todo = vec![Step::Visit(json)];
    let mut done: Vec<Json> = Vec::new();
    while let Some(step) = todo.pop() {
        match step {
            Step::Visit(Json::Array(items)) => {
                todo.push(Step::Array(items.len()));
                todo.extend(items.iter().rev().map(Step::Visit));
            }
            Step::Visit(Json::Object(map)) => {
                todo.push(Step::Object(map.keys().collect()));
                todo.extend(map.values().rev().map(Step::Visit));
            }
            Step::Visit(leaf) => done.push(leaf.clone()),
            Step::Array(n) => {
                let items = done.split_off(done.len() - n);
                done.push(Json::Array(items));
            }
            Step::Object(keys) => {
                let values = done.split_off(done.len() - keys.len());
                done.push(Json::Object(
                    keys.into_iter().cloned().zip(values).collect(),
                ));
            }
        }
    }
    done.pop().unwrap_or(Json::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> Json {
        let mut v = Json::from(1);
        for i in 0..depth {
            // Moved in, not through `json!`, which copies by recursion.
            v = if i % 2 == 0 {
                Json::Array(vec![v, Json::Null])
            } else {
                let mut map = serde_json::Map::new();
                map.insert("k".into(), v);
                map.insert("x".into(), Json::from("y"));
                Json::Object(map)
            };
        }
        v
    }

    /// Runs `f` on a thread with the default (small) stack of spawned threads.
    fn on_small_stack(f: impl FnOnce() + Send + 'static) {
        std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn depth_is_counted_in_containers() {
        assert!(!json_deeper_than(&Json::from(1), 0));
        assert!(json_deeper_than(&nested(1), 0));
        assert!(!json_deeper_than(&nested(MAX_JSON_DEPTH), MAX_JSON_DEPTH));
        assert!(json_deeper_than(
            &nested(MAX_JSON_DEPTH + 1),
            MAX_JSON_DEPTH
        ));
    }

    #[test]
    fn the_deepest_accepted_json_reads_back_with_serde_json() {
        let ok = nested(MAX_JSON_DEPTH);
        assert_eq!(serde_json::from_str::<Json>(&ok.to_string()).unwrap(), ok);
        let too_deep = nested(MAX_JSON_DEPTH + 1);
        assert!(serde_json::from_str::<Json>(&too_deep.to_string()).is_err());
    }

    #[test]
    fn deep_json_is_cloned_checked_and_dropped_without_recursion() {
        on_small_stack(|| {
            let deep = nested(200_000);
            let copy = clone_json(&deep);
            assert!(check_json(&copy, "T.f").is_err());
            dispose_json(copy);
            dispose_json(deep);
        });
    }

    #[test]
    fn shallow_json_clones_equal() {
        let v = nested(MAX_JSON_DEPTH + 3);
        let c = clone_json(&v);
        assert!(c == v);
    }
}
