//! The regular-expression functions SQLite lacks, registered on every pooled
//! connection: `regexp(pattern, text)` (what `text REGEXP pattern` calls) and
//! `dataflow_iregexp(pattern, text)`, ignoring ASCII case. Both run
//! [`PortableRegex`]: the `regex` crate compiled to PostgreSQL's meaning of
//! the subset filters accept, so `$regex` and `Column::regex` select the same
//! rows on both backends.
//!
//! A NULL operand gives NULL, as PostgreSQL's `~` does, so `NOT` keeps NULL
//! rows out on both. A pattern outside the subset (only reachable from raw
//! SQL: filters check patterns before rendering) gives NULL too, since a
//! scalar function here cannot raise an error.

use std::cell::RefCell;

use dataflow_core::query::regex::PortableRegex;
use diesel::SqliteConnection;

mod sql {
    use diesel::sql_types::{Nullable, Text};

    diesel::define_sql_function! {
        fn regexp(pattern: Nullable<Text>, text: Nullable<Text>) -> Nullable<diesel::sql_types::Bool>;
    }
    diesel::define_sql_function! {
        fn dataflow_iregexp(pattern: Nullable<Text>, text: Nullable<Text>) -> Nullable<diesel::sql_types::Bool>;
    }
}

/// How many compiled patterns each function keeps per connection: a query
/// calls the function once per row with the same few patterns.
const CACHED: usize = 8;

/// Recently compiled patterns, most recent first; `None` for a refused one.
type Cache = RefCell<Vec<(String, Option<PortableRegex>)>>;

fn matcher(case_insensitive: bool) -> impl Fn(Option<String>, Option<String>) -> Option<bool> {
    let cache: Cache = RefCell::new(Vec::with_capacity(CACHED));
    move |pattern, text| {
        let (pattern, text) = (pattern?, text?);
        let mut cache = cache.borrow_mut();
        let at = match cache.iter().position(|(p, _)| *p == pattern) {
            Some(i) => i,
            None => {
                let compiled = PortableRegex::new(&pattern, case_insensitive).ok();
                cache.truncate(CACHED - 1);
                cache.push((pattern, compiled));
                cache.len() - 1
            }
        };
        if at > 0 {
            cache.swap(0, at);
        }
        cache[0].1.as_ref().map(|re| re.is_match(&text))
    }
}

/// Registers both functions on `conn`.
pub(crate) fn register(conn: &mut SqliteConnection) -> diesel::QueryResult<()> {
    debug_assert_eq!(
        (
            dataflow_core::query::regex::REGEXP_FUNCTION,
            dataflow_core::query::regex::IREGEXP_FUNCTION
        ),
        ("regexp", "dataflow_iregexp")
    );
    sql::regexp_utils::register_impl(conn, matcher(false))?;
    sql::dataflow_iregexp_utils::register_impl(conn, matcher(true))
}
