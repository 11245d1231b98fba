//! dataflow's own tables: the migration history and the tables it created.
//!
//! Kept whole (about 530 lines): every query of dataflow's two own tables, so
//! their columns and status strings are spelled in one place.
//!
//! Both are described as ordinary [`Table`]s and created through the dialect, so
//! every backend gets them without SQL of their own.

use serde::{Deserialize, Serialize};

use crate::backend::Connection;
use crate::error::{Error, Result};
use crate::migrate::dialect::Dialect;
use crate::migrate::handle::MigrateHandle;
use crate::migrate::schema::{Column, Table};
use crate::migrate::MigrationStep;
use crate::model::value::{LogicalType as T, Value};
use crate::query::statement::SqlWriter;

/// Name of the history table.
pub const HISTORY: &str = "_dataflow_migrations";
/// Name of the table listing the tables dataflow created.
pub const OWNED: &str = "_dataflow_tables";

fn col(name: &str, ty: T, nullable: bool) -> Column {
    Column {
        name: name.into(),
        ty,
        nullable,
        max_length: None,
        default: None,
        auto_increment: false,
        enum_values: None,
        collation: None,
    }
}

fn history_table() -> Table {
    Table {
        name: HISTORY.into(),
        columns: vec![
            col("version", T::Text, false),
            col("name", T::Text, false),
            col("checksum", T::Text, false),
            col("started_at", T::TimestampTz, false),
            col("finished_at", T::TimestampTz, true),
            col("duration_ms", T::BigInt, true),
            col("steps", T::Json, false),
            col("status", T::Text, false),
            col("error", T::Text, true),
        ],
        primary_key: vec!["version".into()],
        indexes: Vec::new(),
        foreign_keys: Vec::new(),
        triggers: Vec::new(),
        checks: Vec::new(),
    }
}

fn owned_table() -> Table {
    Table {
        name: OWNED.into(),
        columns: vec![
            col("name", T::Text, false),
            col("created_version", T::Text, false),
        ],
        primary_key: vec!["name".into()],
        indexes: Vec::new(),
        foreign_keys: Vec::new(),
        triggers: Vec::new(),
        checks: Vec::new(),
    }
}

/// The state of a recorded migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrationStatus {
    /// Applied and in effect.
    Applied,
    /// Undone by `rollback`.
    RolledBack,
    /// Failed part-way through steps that cannot be transactional; blocks
    /// further automatic migration until resolved.
    Failed,
    /// Its transaction committed; its online statements (run after the commit)
    /// have not all completed. The next `auto_migrate` resumes them.
    InProgress,
}

impl std::fmt::Display for MigrationStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl MigrationStatus {
    fn as_str(self) -> &'static str {
        match self {
            MigrationStatus::Applied => "applied",
            MigrationStatus::RolledBack => "rolled_back",
            MigrationStatus::Failed => "failed",
            MigrationStatus::InProgress => "in_progress",
        }
    }
    fn parse(s: &str) -> MigrationStatus {
        match s {
            "applied" => MigrationStatus::Applied,
            "rolled_back" => MigrationStatus::RolledBack,
            "in_progress" => MigrationStatus::InProgress,
            _ => MigrationStatus::Failed,
        }
    }
}

/// One row of the migration history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MigrationRecord {
    /// Sortable version (UTC timestamp with microseconds).
    pub version: String,
    /// The name given with [`MigrateOptions::name`](crate::MigrateOptions::name), else a summary of the steps.
    pub name: String,
    /// sha256 of the target schema the migration reached.
    pub checksum: String,
    /// When it started.
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// When it finished.
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
    /// How long it took.
    pub duration_ms: Option<i64>,
    /// The steps, with their `sql_down`.
    pub steps: Vec<MigrationStep>,
    /// Its state.
    pub status: MigrationStatus,
    /// The error of a failed migration.
    pub error: Option<String>,
}

impl MigrationRecord {
    /// For a rollback (a migration of its own): the versions it undid, newest
    /// first. Empty for a forward migration.
    pub fn rolls_back(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for v in self.steps.iter().filter_map(|s| s.undoes.as_deref()) {
            if !out.contains(&v) {
                out.push(v);
            }
        }
        out
    }

    /// Whether this migration is a rollback of others.
    pub fn is_rollback(&self) -> bool {
        self.steps.iter().any(|s| s.undoes.is_some())
    }
}

/// Creates dataflow's tables if they are missing.
pub fn ensure(db: &dyn MigrateHandle, conn: &mut dyn Connection) -> Result<()> {
    let d = db.dialect();
    for t in [history_table(), owned_table()] {
        if !db.describer().has_table(conn, &t.name)? {
            for sql in d.create_table(&t) {
                conn.batch_execute(&sql)?;
            }
        }
    }
    Ok(())
}

/// Records an applied (or failed) migration.
pub fn record(conn: &mut dyn Connection, d: &dyn Dialect, r: &MigrationRecord) -> Result<()> {
    let steps = serde_json::to_value(&r.steps)
        .map_err(|e| Error::Database(format!("cannot serialise steps: {e}")))?;
    let mut w = SqlWriter::new(d);
    w.push("INSERT INTO ").ident(HISTORY).push(" (");
    let cols = [
        "version",
        "name",
        "checksum",
        "started_at",
        "finished_at",
        "duration_ms",
        "steps",
        "status",
        "error",
    ];
    for (i, c) in cols.iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        w.ident(c);
    }
    w.push(") VALUES (");
    let values = [
        Value::Text(r.version.clone()),
        Value::Text(r.name.clone()),
        Value::Text(r.checksum.clone()),
        Value::TimestampTz(r.started_at),
        r.finished_at.map_or(Value::Null, Value::TimestampTz),
        r.duration_ms.map_or(Value::Null, Value::I64),
        Value::Json(steps),
        Value::Text(r.status.as_str().into()),
        r.error.clone().map_or(Value::Null, Value::Text),
    ];
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        w.bind(v);
    }
    w.push(")");
    let s = w.finish();
    conn.execute(&s.text, &s.binds)?;
    Ok(())
}

/// Sets the status of a recorded migration.
pub fn set_status(
    conn: &mut dyn Connection,
    d: &dyn Dialect,
    version: &str,
    status: MigrationStatus,
) -> Result<()> {
    let mut w = SqlWriter::new(d);
    w.push("UPDATE ")
        .ident(HISTORY)
        .push(" SET ")
        .ident("status")
        .push(" = ");
    w.bind(Value::Text(status.as_str().into()));
    w.push(" WHERE ").ident("version").push(" = ");
    w.bind(Value::Text(version.into()));
    let s = w.finish();
    conn.execute(&s.text, &s.binds)?;
    Ok(())
}

/// Deletes the record of `version` (a file migration applied again after
/// it was downgraded is recorded afresh under its own version).
pub fn forget(conn: &mut dyn Connection, d: &dyn Dialect, version: &str) -> Result<()> {
    delete_where(conn, d, HISTORY, "version", version)
}

/// Deletes the rows of dataflow's table `table` whose text `column` is `value`.
pub fn delete_where(
    conn: &mut dyn Connection,
    d: &dyn Dialect,
    table: &str,
    column: &str,
    value: &str,
) -> Result<()> {
    let mut w = SqlWriter::new(d);
    w.push("DELETE FROM ")
        .ident(table)
        .push(" WHERE ")
        .ident(column)
        .push(" = ");
    w.bind(Value::Text(value.into()));
    let s = w.finish();
    conn.execute(&s.text, &s.binds).map(|_| ())
}

/// Marks a failed migration as rolled back, and only a failed one: the
/// status is checked by the `UPDATE` itself, so a migration that changed state
/// meanwhile is left alone. Returns whether it was marked.
pub fn resolve(conn: &mut dyn Connection, d: &dyn Dialect, version: &str) -> Result<bool> {
    let mut w = SqlWriter::new(d);
    w.push("UPDATE ")
        .ident(HISTORY)
        .push(" SET ")
        .ident("status")
        .push(" = ");
    w.bind(Value::Text(MigrationStatus::RolledBack.as_str().into()));
    w.push(" WHERE ").ident("version").push(" = ");
    w.bind(Value::Text(version.into()));
    w.push(" AND ").ident("status").push(" = ");
    w.bind(Value::Text(MigrationStatus::Failed.as_str().into()));
    let s = w.finish();
    Ok(conn.execute(&s.text, &s.binds)? == 1)
}

/// The status of one recorded migration, `None` when no migration has that
/// version (or there is no history yet).
pub fn status_of(
    db: &dyn MigrateHandle,
    conn: &mut dyn Connection,
    version: &str,
) -> Result<Option<MigrationStatus>> {
    if !db.describer().has_table(conn, HISTORY)? {
        return Ok(None);
    }
    let d = db.dialect();
    let mut w = SqlWriter::new(d);
    w.push("SELECT ")
        .ident("status")
        .push(" FROM ")
        .ident(HISTORY)
        .push(" WHERE ")
        .ident("version")
        .push(" = ");
    w.bind(Value::Text(version.into()));
    let s = w.finish();
    let mut out = None;
    conn.query(&s.text, &s.binds, &[T::Text], &mut |row| {
        if let Value::Text(s) = std::mem::take(&mut row[0]) {
            out = Some(MigrationStatus::parse(&s));
        }
        Ok(())
    })?;
    Ok(out)
}

/// Every recorded migration, oldest first. Empty when the history table does not
/// exist yet.
pub fn load(db: &dyn MigrateHandle, conn: &mut dyn Connection) -> Result<Vec<MigrationRecord>> {
    if !db.describer().has_table(conn, HISTORY)? {
        return Ok(Vec::new());
    }
    let d = db.dialect();
    let mut w = SqlWriter::new(d);
    w.push("SELECT ");
    let t = history_table();
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    let mut list = String::new();
    d.ident_list(&names, &mut list);
    w.push(&list)
        .push(" FROM ")
        .ident(HISTORY)
        .push(" ORDER BY ")
        .ident("version");
    let s = w.finish();
    let types: Vec<T> = t.columns.iter().map(|c| c.ty).collect();
    let mut out = Vec::new();
    conn.query(&s.text, &s.binds, &types, &mut |row| {
        let text = |v: &mut Value| match std::mem::take(v) {
            Value::Text(s) => s,
            _ => String::new(),
        };
        let steps: Vec<MigrationStep> = match std::mem::take(&mut row[6]) {
            Value::Json(j) => serde_json::from_value(j)
                .map_err(|e| Error::Database(format!("unreadable migration history: {e}")))?,
            _ => Vec::new(),
        };
        out.push(MigrationRecord {
            version: text(&mut row[0]),
            name: text(&mut row[1]),
            checksum: text(&mut row[2]),
            started_at: match row[3] {
                Value::TimestampTz(t) => t,
                _ => chrono::DateTime::UNIX_EPOCH,
            },
            finished_at: match row[4] {
                Value::TimestampTz(t) => Some(t),
                _ => None,
            },
            duration_ms: match row[5] {
                Value::I64(i) => Some(i),
                _ => None,
            },
            steps,
            status: MigrationStatus::parse(&text(&mut row[7])),
            error: match std::mem::take(&mut row[8]) {
                Value::Text(s) => Some(s),
                _ => None,
            },
        });
        Ok(())
    })?;
    Ok(out)
}

/// Records the online phase's progress (the steps with their `online_done`),
/// and, once it ends, its status, end time and error.
pub fn update_online(
    conn: &mut dyn Connection,
    d: &dyn Dialect,
    r: &MigrationRecord,
) -> Result<()> {
    let steps = serde_json::to_value(&r.steps)
        .map_err(|e| Error::Database(format!("cannot serialise steps: {e}")))?;
    let mut w = SqlWriter::new(d);
    w.push("UPDATE ").ident(HISTORY).push(" SET ");
    let values = [
        ("steps", Value::Json(steps)),
        ("status", Value::Text(r.status.as_str().into())),
        (
            "finished_at",
            r.finished_at.map_or(Value::Null, Value::TimestampTz),
        ),
        ("duration_ms", r.duration_ms.map_or(Value::Null, Value::I64)),
        ("error", r.error.clone().map_or(Value::Null, Value::Text)),
    ];
    for (i, (c, v)) in values.into_iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        w.ident(c).push(" = ");
        w.bind(v);
    }
    w.push(" WHERE ").ident("version").push(" = ");
    w.bind(Value::Text(r.version.clone()));
    let s = w.finish();
    conn.execute(&s.text, &s.binds)?;
    Ok(())
}

/// Text columns of the migrations with `status`, oldest first; empty when the
/// history table does not exist yet.
fn with_status(
    db: &dyn MigrateHandle,
    conn: &mut dyn Connection,
    status: MigrationStatus,
    columns: &[&str],
) -> Result<Vec<Vec<Option<String>>>> {
    if !db.describer().has_table(conn, HISTORY)? {
        return Ok(Vec::new());
    }
    let d = db.dialect();
    let mut list = String::new();
    d.ident_list(columns, &mut list);
    let mut w = SqlWriter::new(d);
    w.push("SELECT ").push(&list).push(" FROM ").ident(HISTORY);
    w.push(" WHERE ").ident("status").push(" = ");
    w.bind(Value::Text(status.as_str().into()));
    w.push(" ORDER BY ").ident("version");
    let s = w.finish();
    let types = vec![T::Text; columns.len()];
    let mut out = Vec::new();
    conn.query(&s.text, &s.binds, &types, &mut |row| {
        out.push(
            row.iter_mut()
                .map(|v| match std::mem::take(v) {
                    Value::Text(s) => Some(s),
                    _ => None,
                })
                .collect(),
        );
        Ok(())
    })?;
    Ok(out)
}

/// Versions and checksums of migrations whose online phase has not finished.
pub fn in_progress(
    db: &dyn MigrateHandle,
    conn: &mut dyn Connection,
) -> Result<Vec<(String, String)>> {
    let rows = with_status(
        db,
        conn,
        MigrationStatus::InProgress,
        &["version", "checksum"],
    )?;
    Ok(rows
        .into_iter()
        .map(|mut r| {
            (
                r[0].take().unwrap_or_default(),
                r[1].take().unwrap_or_default(),
            )
        })
        .collect())
}

/// Failed migrations (version, name, error), without loading their steps.
pub fn failed(
    db: &dyn MigrateHandle,
    conn: &mut dyn Connection,
) -> Result<Vec<(String, String, Option<String>)>> {
    let rows = with_status(
        db,
        conn,
        MigrationStatus::Failed,
        &["version", "name", "error"],
    )?;
    Ok(rows
        .into_iter()
        .map(|mut r| {
            (
                r[0].take().unwrap_or_default(),
                r[1].take().unwrap_or_default(),
                r[2].take(),
            )
        })
        .collect())
}

/// Tables dataflow created (and has not dropped).
pub fn owned(db: &dyn MigrateHandle, conn: &mut dyn Connection) -> Result<Vec<String>> {
    if !db.describer().has_table(conn, OWNED)? {
        return Ok(Vec::new());
    }
    let d = db.dialect();
    let mut w = SqlWriter::new(d);
    w.push("SELECT ").ident("name").push(" FROM ").ident(OWNED);
    let s = w.finish();
    let mut out = Vec::new();
    conn.query(&s.text, &s.binds, &[T::Text], &mut |row| {
        if let Value::Text(s) = std::mem::take(&mut row[0]) {
            out.push(s);
        }
        Ok(())
    })?;
    out.sort();
    Ok(out)
}

/// Keeps the owned-tables list in step with an applied (or undone) change.
pub fn track(
    conn: &mut dyn Connection,
    d: &dyn Dialect,
    change: &crate::migrate::diff::Change,
    version: &str,
    forward: bool,
) -> Result<()> {
    use crate::migrate::diff::Change;
    let change = if forward {
        change.clone()
    } else {
        match change.inverse() {
            Some(c) => c,
            None => return Ok(()),
        }
    };
    let delete = |conn: &mut dyn Connection, name: &str| delete_where(conn, d, OWNED, "name", name);
    let insert = |conn: &mut dyn Connection, name: &str| -> Result<()> {
        delete(conn, name)?;
        let mut w = SqlWriter::new(d);
        w.push("INSERT INTO ")
            .ident(OWNED)
            .push(" (")
            .ident("name")
            .push(", ");
        w.ident("created_version").push(") VALUES (");
        w.bind(Value::Text(name.into()));
        w.push(", ");
        w.bind(Value::Text(version.into()));
        w.push(")");
        let s = w.finish();
        conn.execute(&s.text, &s.binds).map(|_| ())
    };
    match &change {
        Change::RebuildTable { changes, .. } => {
            for c in changes {
                track(conn, d, c, version, true)?;
            }
            Ok(())
        }
        Change::CreateTable { table } => insert(conn, &table.name),
        Change::DropTable { table } => delete(conn, &table.name),
        Change::RenameTable { from, to } => {
            delete(conn, from)?;
            insert(conn, to)
        }
        _ => Ok(()),
    }
}
