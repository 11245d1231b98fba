//! The one error type of dataflow.

use std::time::Duration;

/// Result alias used throughout dataflow.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong, classified so callers can match on it.
///
/// Constraint violations reported by the database are classified by each backend
/// into the variants below; anything else arrives as [`Error::Database`] with the
/// backend's own message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The caller passed something dataflow cannot use (a bad URL, a value that does
    /// not fit its field, an unknown field name). Nothing was written.
    #[error("invalid input: {0}")]
    InvalidInput(String),

    /// `update`/`delete` of a row that does not exist (or is soft-deleted).
    #[error("{model} with {key} not found")]
    NotFound {
        /// The model name.
        model: &'static str,
        /// The key that was looked up, rendered for humans.
        key: String,
    },

    /// A unique constraint or primary key rejected the write.
    #[error("unique constraint violated on {table}({})", fields.join(", "))]
    UniqueViolation {
        /// The table.
        table: String,
        /// The columns of the violated constraint.
        fields: Vec<String>,
    },

    /// A foreign key rejected the write or the delete.
    #[error("foreign key constraint violated: {message}")]
    ForeignKeyViolation {
        /// The database's message.
        message: String,
    },

    /// A NOT NULL column received NULL.
    #[error("NOT NULL constraint violated on {table}.{column}")]
    NotNullViolation {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },

    /// A CHECK constraint rejected the write.
    #[error("check constraint violated: {message}")]
    CheckViolation {
        /// The database's message.
        message: String,
    },

    /// The database stayed locked by another writer longer than the busy
    /// timeout; on PostgreSQL also a lock timeout, a serialization failure or
    /// a deadlock. Contention: the same work may succeed when retried.
    #[error("database is busy: {message}")]
    Busy {
        /// The database's message.
        message: String,
    },

    /// A migration plan holds steps the options do not allow; nothing was applied.
    #[error("migration refused; nothing was applied.{}\n{}", if policy.is_empty() { String::new() } else { format!(" Policy: {policy}.") }, steps.join("\n"))]
    MigrationRefused {
        /// One line per refused step: what it is, why it is refused, and the
        /// option (and CLI flag) that would allow it.
        steps: Vec<String>,
        /// The effective policy and why it is in force (no terminal to ask
        /// on, no `auto_confirm`, the `max_risk`); empty when the refusal is
        /// not the policy's (a failed migration waiting to be resolved).
        policy: String,
    },

    /// The migration lock was not obtained in time.
    #[error("timed out after {waited:?} waiting for the migration lock")]
    LockTimeout {
        /// How long dataflow waited.
        waited: Duration,
    },

    /// The work needs a database session that outlives one transaction (a
    /// session-level migration lock held across the online phase's short
    /// transactions), and the handle reaches the server through a transaction
    /// pooler, which runs each transaction on whichever server session is free.
    /// Refused before anything was applied; no lock is left behind.
    #[error("{operation} needs a database session that outlives a transaction, but this handle reaches the server through a transaction pooler; nothing was applied and no lock is held. {remedy}")]
    NeedsSession {
        /// What was refused (`online migration steps`).
        operation: String,
        /// What makes it possible (the backend's option for a direct URL, or
        /// running without what needs the session).
        remedy: String,
    },

    /// The live database differs from the registered models.
    #[error("database schema differs from the models:\n{}", differences.join("\n"))]
    Drift {
        /// One line per difference.
        differences: Vec<String>,
    },

    /// A value read from the database does not fit the model's field.
    #[error("cannot decode {model}.{field}: {message}")]
    Decode {
        /// The model name.
        model: &'static str,
        /// The field name.
        field: &'static str,
        /// What went wrong.
        message: String,
    },

    /// A node of a workflow failed (`node` is its id, `node_type` its node
    /// name, `source` its error); nothing of the workflow was committed.
    #[error("workflow node {node:?} ({node_type}) failed: {source}")]
    WorkflowNode {
        /// The failing node's id in the workflow.
        node: String,
        /// The node it runs (`UserCreateNode`).
        node_type: String,
        /// Why it failed.
        #[source]
        source: Box<Error>,
    },

    /// Connecting to or opening the database failed.
    #[error("cannot connect: {0}")]
    Connection(String),

    /// Any other error reported by the database, with its message.
    #[error("database error: {0}")]
    Database(String),
}

impl Error {
    /// Shorthand for [`Error::InvalidInput`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidInput(message.into())
    }

    /// A value of result column `column` that cannot be decoded, as a backend
    /// reports it: an [`Error::Decode`] that names no model yet (`model` and
    /// `field` empty). Reading rows of a model attributes it to the model's
    /// field ([`Error::for_model`]).
    pub fn undecodable(column: &str, message: impl std::fmt::Display) -> Self {
        Error::Decode {
            model: "",
            field: "",
            message: format!("column {column:?}: {message}"),
        }
    }

    /// Names the model and field in a decode error a backend raised while
    /// reading rows of `model` ([`Error::undecodable`]); other errors are
    /// returned unchanged.
    pub fn for_model(self, model: &crate::model::descriptor::ModelDescriptor) -> Self {
        let Error::Decode {
            model: "",
            field: "",
            message,
        } = self
        else {
            return self;
        };
        for c in model.columns {
            if let Some(rest) = message.strip_prefix(&format!("column {:?}: ", c.name)) {
                return Error::Decode {
                    model: model.name,
                    field: c.field.unwrap_or(c.name),
                    message: rest.to_owned(),
                };
            }
        }
        Error::Decode {
            model: model.name,
            field: "",
            message,
        }
    }
}
