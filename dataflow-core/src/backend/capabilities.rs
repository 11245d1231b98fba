//! What a database can do, as data: the core branches on these values instead
//! of assuming what a backend supports. `Dialect` spells SQL; this says which
//! SQL exists.

/// What a backend's database supports. Each backend returns one from
/// [`Backend::capabilities`](crate::Backend::capabilities); core reads it
/// wherever a feature is not universal.
///
/// `#[non_exhaustive]`: start from [`Capabilities::new`] (standard SQL, the
/// least a database is assumed to offer) and set what differs with the
/// `with_*` methods, so adding a field later breaks no backend.
///
/// ```
/// use dataflow_core::Capabilities;
/// const MINE: Capabilities = Capabilities::new()
///     .with_returning(true)
///     .with_max_bind_params(10_000);
/// assert!(MINE.returning);
/// assert!(!MINE.transactional_ddl);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// `INSERT`/`UPDATE … RETURNING <columns>`: a write hands back the stored
    /// row in the same statement. Without it, single-row writes run in a
    /// transaction and read the row back by key.
    pub returning: bool,
    /// DDL runs inside a transaction and rolls back with it, so a failed
    /// migration leaves the schema as it was.
    pub transactional_ddl: bool,
    /// `ALTER TABLE … ALTER COLUMN … TYPE`: a column's type changes in place.
    /// Without it, a type change rebuilds the table.
    pub alter_column_type: bool,
    /// `LIKE` compares case-sensitively (the SQL standard; SQLite only with
    /// `PRAGMA case_sensitive_like`, which its backend sets). Filters promise
    /// case-sensitive `LIKE` on every backend.
    pub case_sensitive_like: bool,
    /// Online schema changes: indexes built without blocking writers
    /// (`CREATE INDEX CONCURRENTLY`), constraints validated after the fact,
    /// run after the migration's commit outside any transaction while the
    /// migration lock is still held (see `MigrateOptions::online`).
    pub online_index_builds: bool,
    /// The most bound parameters one statement may carry; multi-row
    /// statements are chunked to stay below it.
    pub max_bind_params: usize,
    /// The longest identifier, in bytes, the database keeps as written
    /// (PostgreSQL cuts longer names to 63); `None` when there is no limit.
    pub max_identifier_bytes: Option<usize>,
    /// The database refuses a value its column's type cannot hold
    /// (PostgreSQL) rather than storing it anyway (SQLite's flexible typing,
    /// which also generates `INTEGER` keys past `i32::MAX`). When it does not,
    /// single-row writes run in a transaction and generated keys are checked
    /// against the key field's range before the commit, so a row that would
    /// not read back is never left behind.
    pub enforces_column_types: bool,
    /// `CREATE TABLE` may name, in a foreign key, a table that does not exist
    /// yet (SQLite resolves a key's table only when the key is used). Where it
    /// may not, new tables that reference each other are created first and
    /// their keys added after.
    pub forward_references: bool,
    /// Index kinds beyond b-tree (GIN over JSON, text search, …). Without
    /// them such indexes are left out of the target schema: an index is an
    /// optimisation, the model still works without it.
    pub non_btree_indexes: bool,
    /// Regular-expression filters (`Expr::Regex`, `$regex`) with the one
    /// meaning `query::regex` documents: PostgreSQL's `~`, or functions the
    /// backend registers on every connection (see `QueryDialect::regex`).
    /// Without it such filters are refused with `Error::InvalidInput`.
    pub regex: bool,
}

impl Capabilities {
    /// Standard SQL and nothing more: no `RETURNING`, no transactional DDL,
    /// `ALTER COLUMN … TYPE`, case-sensitive `LIKE`, no online builds, 999
    /// bind parameters (SQLite's historic minimum), no identifier limit,
    /// column types enforced, no forward references, b-tree indexes only, no
    /// regular expressions.
    pub const fn new() -> Self {
        Capabilities {
            returning: false,
            transactional_ddl: false,
            alter_column_type: true,
            case_sensitive_like: true,
            online_index_builds: false,
            max_bind_params: 999,
            max_identifier_bytes: None,
            enforces_column_types: true,
            forward_references: false,
            non_btree_indexes: false,
            regex: false,
        }
    }

    /// Sets [`Capabilities::returning`].
    pub const fn with_returning(mut self, yes: bool) -> Self {
        self.returning = yes;
        self
    }

    /// Sets [`Capabilities::transactional_ddl`].
    pub const fn with_transactional_ddl(mut self, yes: bool) -> Self {
        self.transactional_ddl = yes;
        self
    }

    /// Sets [`Capabilities::alter_column_type`].
    pub const fn with_alter_column_type(mut self, yes: bool) -> Self {
        self.alter_column_type = yes;
        self
    }

    /// Sets [`Capabilities::case_sensitive_like`].
    pub const fn with_case_sensitive_like(mut self, yes: bool) -> Self {
        self.case_sensitive_like = yes;
        self
    }

    /// Sets [`Capabilities::online_index_builds`].
    pub const fn with_online_index_builds(mut self, yes: bool) -> Self {
        self.online_index_builds = yes;
        self
    }

    /// Sets [`Capabilities::max_bind_params`].
    pub const fn with_max_bind_params(mut self, n: usize) -> Self {
        self.max_bind_params = n;
        self
    }

    /// Sets [`Capabilities::max_identifier_bytes`].
    pub const fn with_max_identifier_bytes(mut self, n: Option<usize>) -> Self {
        self.max_identifier_bytes = n;
        self
    }

    /// Sets [`Capabilities::enforces_column_types`].
    pub const fn with_enforces_column_types(mut self, yes: bool) -> Self {
        self.enforces_column_types = yes;
        self
    }

    /// Sets [`Capabilities::forward_references`].
    pub const fn with_forward_references(mut self, yes: bool) -> Self {
        self.forward_references = yes;
        self
    }

    /// Sets [`Capabilities::regex`].
    pub const fn with_regex(mut self, yes: bool) -> Self {
        self.regex = yes;
        self
    }

    /// Sets [`Capabilities::non_btree_indexes`].
    pub const fn with_non_btree_indexes(mut self, yes: bool) -> Self {
        self.non_btree_indexes = yes;
        self
    }
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities::new()
    }
}
