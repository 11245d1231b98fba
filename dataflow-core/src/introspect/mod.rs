//! Models from a database dataflow did not create: [`generate_models`] reads
//! the live schema through the backend's [`Describe`](crate::Describe) and
//! writes `#[derive(Model)]` structs that declare it, so that registering them
//! and calling `plan()` finds nothing to do, CHECK constraints and column
//! collations included. What a model cannot declare (foreign keys over several
//! columns, expression indexes, views) is said in a comment where it applies,
//! with what `plan()` will then show; a primary key over several columns becomes
//! `primary_key("a", "b")` on the struct; tables without a primary key are not
//! generated and stay unmanaged.
//!
//! The next steps of adopting a database live on the handle:
//! `MigrateOptions::existing_schema(true)` checks models against the tables
//! without altering anything, and [`DataFlow::adopt`] hands the tables over.

mod generate;
mod names;

use crate::dataflow::DataFlow;
use crate::error::Result;
use crate::migrate::handle::MigrateHandle;

/// Which tables [`generate_models`] writes models for.
#[derive(Debug, Clone, Default)]
pub struct IntrospectOptions {
    tables: Option<Vec<String>>,
}

impl IntrospectOptions {
    /// Only these tables (default: every table of the database).
    pub fn tables<S: Into<String>>(mut self, tables: impl IntoIterator<Item = S>) -> Self {
        self.tables = Some(tables.into_iter().map(Into::into).collect());
        self
    }
}

/// Reads the live database of `db` and returns Rust source declaring one
/// `#[derive(Model)]` struct per table (formatted by `prettyplease`), and
/// `MODELS`, their descriptors for `db.register_all(MODELS)`. The source
/// uses `chrono`, `uuid`, `serde_json` and `rust_decimal` paths for the
/// columns of those types. A table named in the options that does not exist
/// is `Error::InvalidInput`.
pub fn generate_models(db: &DataFlow, options: IntrospectOptions) -> Result<String> {
    let handle: &dyn MigrateHandle = db;
    let (mut schema, details) = handle.with_conn(|conn| {
        let schema = handle.describe_with(conn)?;
        let details = handle.describer().describe_details(conn)?;
        Ok((schema, details))
    })?;
    if let Some(only) = &options.tables {
        if let Some(missing) = only.iter().find(|t| !schema.tables.contains_key(*t)) {
            return Err(crate::error::Error::InvalidInput(format!(
                "tables: the database has no table `{missing}`"
            )));
        }
        schema.tables.retain(|name, _| only.contains(name));
    }
    generate::models_source(&schema, &details, db.dialect().name())
}
