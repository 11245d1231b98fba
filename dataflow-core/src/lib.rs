//! # dataflow-core
//!
//! The runtime of dataflow: model descriptors, values, the query model, the schema
//! model, the `DataFlow` handle and the traits backends implement. It links no
//! database driver and knows no SQL dialect; backends (`dataflow-sqlite`,
//! `dataflow-postgres`) plug in through [`Backend`] (connections, transactions,
//! locks, [`Capabilities`]), [`Dialect`] (spelling: [`QueryDialect`] and
//! [`SchemaDialect`]) and [`Describe`] (introspection).
//!
//! The parts are layers, each importing only those below it: [`model`] →
//! [`backend`] → [`query`] → [`migrate`] → [`fixtures`] → [`nodes`] → the
//! [`DataFlow`] handle → [`introspect`] → `cli` → [`testing`]. Query and migration code see the database through
//! [`query::QueryHandle`] and [`migrate::handle::MigrateHandle`], which the
//! handle implements.
//!
//! Cargo features, all on by default: `decimal` (`rust_decimal::Decimal`
//! fields), `terminal` (the prompt, progress bars and preview table of
//! `terminal::Console`; without it the core links no terminal crate and
//! migrations never ask, see [`terminal`]) and `cli` (the migration command
//! line `cli::run`, with clap; implies `terminal`).
//!
//! ```ignore
//! use dataflow_core::prelude::*;
//!
//! #[derive(Model, Debug, Clone, PartialEq)]
//! #[dataflow(table = "users")]
//! pub struct User {
//!     pub id: i64,
//!     pub name: String,
//!     pub age: Option<i32>,
//! }
//!
//! let db = dataflow_sqlite::open("app.db")?;
//! db.register::<User>()?;
//! db.auto_migrate(MigrateOptions::default())?;
//! let ann = User::create(&db, User { id: 0, name: "Ann".into(), age: Some(31) })?;
//! let adults = User::list(&db).filter(User::AGE.ge(18)).all()?;
//! ```

pub mod backend;
#[cfg(feature = "cli")]
pub mod cli;
pub mod dataflow;
pub mod error;
pub mod fixtures;
pub mod introspect;
pub mod limits;
pub mod migrate;
pub mod model;
pub mod nodes;
pub mod query;
pub mod terminal;
pub mod testing;

pub use backend::capabilities::Capabilities;
pub use backend::{Backend, Connection, HeldConnection};
pub use dataflow::DataFlow;
/// `embed_migrations!("migrations")`: the migration directories of `dir`
/// (relative to the crate's `Cargo.toml`) compiled into the binary as a
/// [`Migrations`] value; see `dataflow_macros::embed_migrations`.
pub use dataflow_macros::embed_migrations;
/// `#[dataflow_core::test(models(..), fixtures(..), backends(..))]`: see `dataflow_macros::test`.
pub use dataflow_macros::test;
pub use dataflow_macros::Model;
pub use dataflow_macros::ModelEnum;
pub use error::{Error, Result};
pub use migrate::api::CheckReport;
pub use migrate::describe::Describe;
pub use migrate::dialect::{Dialect, OnlineRendering, SchemaDialect};
pub use migrate::diff::Change;
pub use migrate::files::{
    FileMigrationState, FileStatus, FilesReport, GenerateOptions, Generated, MigrationPlan,
    Migrations,
};
pub use migrate::history::{MigrationRecord, MigrationStatus};
pub use migrate::metrics::{MigrationMetrics, StepTiming};
pub use migrate::{
    MigrateOptions, MigrationReport, MigrationStep, OnlineSql, Operation, RiskLevel,
};
pub use model::descriptor::{
    CheckDescriptor, ColumnDescriptor, DefaultValue, EnumDescriptor, FkAction,
    ForeignKeyDescriptor, IndexDescriptor, IndexMethod, Managed, ModelDescriptor,
};
pub use model::enums::ModelEnum;
pub use model::field::{FieldType, Operand, Scalar};
pub use model::key::{KeyValues, ModelKey};
pub use model::row::RowReader;
pub use model::value::{LogicalType, Value};
pub use model::{Model, Patch};
pub use nodes::workflow::{Workflow, WorkflowConnection, WorkflowNode, WorkflowOutput};
pub use nodes::{Node, NodeOp};
pub use query::dialect::{QueryDialect, Sql};
pub use query::expr::{CmpOp, Expr, OrderTerm};
pub use query::filter::{Column, Filter, Order};
pub use query::list::List;
pub use query::record::{Records, Select};

/// Everything application code needs: `use dataflow_core::prelude::*;`.
pub mod prelude {
    pub use crate::dataflow::DataFlow;
    pub use crate::error::{Error, Result};
    pub use crate::migrate::files::{Generated, Migrations};
    pub use crate::migrate::history::{MigrationRecord, MigrationStatus};
    pub use crate::migrate::{MigrateOptions, MigrationReport, Operation, RiskLevel};
    pub use crate::model::value::Value;
    pub use crate::model::Patch;
    pub use crate::models;
    pub use crate::nodes::workflow::{Workflow, WorkflowOutput};
    pub use crate::query::filter::{Column, Filter, Order};
    // Both the traits and the derive macros.
    pub use crate::Model;
    pub use crate::ModelEnum;
}

/// Descriptors of several models, for [`DataFlow::register_all`]:
/// `db.register_all(models![User, Post])`.
#[macro_export]
macro_rules! models {
    ($($model:ty),* $(,)?) => {
        &[$(<$model as $crate::Model>::DESCRIPTOR),*]
    };
}

/// What generated code reaches. Not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::error::{Error, Result};
    pub use crate::migrate::files::{MigrationSource, Migrations};
    pub use crate::model::descriptor::*;
    pub use crate::model::enums::{deserialize_stored, enum_default_fits, ModelEnum};
    pub use crate::model::field::FieldType;
    pub use crate::model::row::RowReader;
    pub use crate::model::value::{LogicalType, Value};
    pub use crate::model::{Model, Patch};
    pub use crate::query::crud;
    pub use crate::query::filter::{Column, Filter};
    pub use crate::query::list::List;
    pub use crate::query::statement::StatementCache;
    pub use crate::DataFlow;
    pub use serde;
    pub use std::option::Option;
    pub use std::vec::Vec;

    /// Serde of a patch's nullable field (`Option<Option<T>>`): absent is
    /// `None` (leave as is), `null` is `Some(None)` (set NULL), a value is
    /// `Some(Some(v))`; `None` is skipped when serializing.
    pub mod double_option {
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        /// `Some(v)` as `v` (`null` for `Some(None)`).
        pub fn serialize<T: Serialize, S: Serializer>(
            value: &Option<Option<T>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match value {
                Some(inner) => inner.serialize(s),
                None => s.serialize_none(),
            }
        }

        /// A present value, `null` included, as `Some`.
        pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<Option<T>>, D::Error> {
            Option::<T>::deserialize(d).map(Some)
        }
    }

    /// Serde of a patch's non-nullable field (`Option<T>`): absent is `None`,
    /// a value is `Some(v)`, and `null` is refused (the column cannot be NULL)
    /// instead of read as "leave as is".
    pub mod present {
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        /// `Some(v)` as `v`.
        pub fn serialize<T: Serialize, S: Serializer>(
            value: &Option<T>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match value {
                Some(v) => v.serialize(s),
                None => s.serialize_none(),
            }
        }

        /// A present value as `Some`.
        pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<T>, D::Error> {
            T::deserialize(d).map(Some)
        }
    }

    /// What a `#[dataflow_core::test]` body may return.
    pub trait TestOutcome {
        /// Panics (failing the test) on an error, at the caller's location.
        #[track_caller]
        fn check(self);
    }

    impl TestOutcome for () {
        fn check(self) {}
    }

    impl<E: std::fmt::Debug> TestOutcome for std::result::Result<(), E> {
        // The panic points at the test function (the generated call carries
        // its span), not at this line.
        #[track_caller]
        fn check(self) {
            if let Err(e) = self {
                panic!("test returned an error: {e:?}");
            }
        }
    }
}
