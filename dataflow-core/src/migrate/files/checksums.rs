//! The sha256 of every file of every applied migration, in dataflow's table
//! `_dataflow_migration_files`, so a file edited after it was applied is found
//! before anything else runs. Rows are keyed by the migration's id
//! (`<version>_<name>`), as its history row is.

use std::collections::{BTreeMap, BTreeSet};

use crate::backend::Connection;
use crate::error::{Error, Result};
use crate::migrate::files::source::{MigrationSource, FILES};
use crate::migrate::files::sql::sha256;
use crate::migrate::handle::MigrateHandle;
use crate::migrate::history;
use crate::migrate::schema::{Column, Table};
use crate::model::value::{LogicalType as T, Value};
use crate::query::statement::SqlWriter;

/// Name of the checksum table.
pub const FILES_TABLE: &str = "_dataflow_migration_files";

fn table() -> Table {
    let col = |name: &str| Column {
        name: name.into(),
        ty: T::Text,
        nullable: false,
        max_length: None,
        default: None,
        auto_increment: false,
        enum_values: None,
        collation: None,
    };
    Table {
        name: FILES_TABLE.into(),
        columns: vec![col("version"), col("file"), col("sha256")],
        primary_key: vec!["version".into(), "file".into()],
        indexes: Vec::new(),
        foreign_keys: Vec::new(),
        triggers: Vec::new(),
        checks: Vec::new(),
    }
}

/// Creates the table if it is missing.
pub fn ensure(db: &dyn MigrateHandle, conn: &mut dyn Connection) -> Result<()> {
    if !db.describer().has_table(conn, FILES_TABLE)? {
        for sql in db.dialect().create_table(&table()) {
            conn.batch_execute(&sql)?;
        }
    }
    Ok(())
}

/// Forgets the checksums of migration `version` (its id).
pub fn remove(db: &dyn MigrateHandle, conn: &mut dyn Connection, version: &str) -> Result<()> {
    history::delete_where(conn, db.dialect(), FILES_TABLE, "version", version)
}

/// Records the checksums of `source`'s files (replacing any kept before).
pub fn record(
    db: &dyn MigrateHandle,
    conn: &mut dyn Connection,
    source: &MigrationSource,
) -> Result<()> {
    let version = source.id.to_string();
    remove(db, conn, &version)?;
    for file in FILES {
        let mut w = SqlWriter::new(db.dialect());
        w.push("INSERT INTO ").ident(FILES_TABLE).push(" (");
        w.ident("version").push(", ").ident("file").push(", ");
        w.ident("sha256").push(") VALUES (");
        w.bind(Value::Text(version.clone()));
        w.push(", ");
        w.bind(Value::Text(file.into()));
        w.push(", ");
        w.bind(Value::Text(sha256(source.file(file))));
        w.push(")");
        let s = w.finish();
        conn.execute(&s.text, &s.binds)?;
    }
    Ok(())
}

/// Every recorded checksum: id → file → sha256. Empty when the table
/// does not exist yet.
pub fn load(
    db: &dyn MigrateHandle,
    conn: &mut dyn Connection,
) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    if !db.describer().has_table(conn, FILES_TABLE)? {
        return Ok(out);
    }
    let mut w = SqlWriter::new(db.dialect());
    w.push("SELECT ").ident("version").push(", ").ident("file");
    w.push(", ")
        .ident("sha256")
        .push(" FROM ")
        .ident(FILES_TABLE);
    let s = w.finish();
    conn.query(
        &s.text,
        &s.binds,
        &[T::Text, T::Text, T::Text],
        &mut |row| {
            let mut text = |i: usize| match std::mem::take(&mut row[i]) {
                Value::Text(s) => s,
                _ => String::new(),
            };
            let (v, f, h) = (text(0), text(1), text(2));
            out.entry(v).or_default().insert(f, h);
            Ok(())
        },
    )?;
    Ok(out)
}

/// The applied migrations (with recorded checksums) that are not among
/// `known` (the migrations' ids and the ids their squashes replace): their
/// directories were deleted after they ran.
pub fn missing(
    recorded: &BTreeMap<String, BTreeMap<String, String>>,
    known: &BTreeSet<&str>,
) -> Vec<String> {
    recorded
        .keys()
        .filter(|id| !known.contains(id.as_str()))
        .cloned()
        .collect()
}

/// The files of applied migrations whose text differs from what was applied:
/// `InvalidInput` naming each, and how to accept the edit.
pub fn verify(
    recorded: &BTreeMap<String, BTreeMap<String, String>>,
    sources: &[&MigrationSource],
) -> Result<()> {
    let mut edited = Vec::new();
    for source in sources {
        let Some(files) = recorded.get(&*source.id) else {
            continue;
        };
        for file in FILES {
            if let Some(was) = files.get(file) {
                let now = sha256(source.file(file));
                if *was != now {
                    edited.push(format!(
                        "{}/{file} (applied with sha256 {}, now {})",
                        source.id,
                        &was[..12.min(was.len())],
                        &now[..12]
                    ));
                }
            }
        }
    }
    if edited.is_empty() {
        return Ok(());
    }
    Err(Error::InvalidInput(format!(
        "applied migration files were edited: {}. A migration that ran must not change: restore the files \
         (and put the change in a new migration), or, if the database already matches the edited files, \
         accept them with repair_migration(version)",
        edited.join("; ")
    )))
}
