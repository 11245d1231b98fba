//! An applied migration whose directory was deleted afterwards.

use dataflow_core::prelude::*;
use dataflow_core::FileMigrationState;

use super::evo::{V1, V2};
use super::{apply, files, generate, high};
use crate::backends::TestBackend;

pub fn a_deleted_applied_migration_is_reported_missing_and_refused(db: &TestBackend) {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let h = db.reopen();
    h.register::<V1>().unwrap();
    generate(&h, dir, "start", 1);
    let h = db.reopen();
    h.register::<V2>().unwrap();
    let second = generate(&h, dir, "nick", 2).id();
    assert_eq!(apply(&h, dir).ids().len(), 2);
    let kept = tempfile::tempdir().unwrap();
    let moved = kept.path().join(&second);
    std::fs::rename(dir.join(&second), &moved).unwrap();
    let status = h.migration_status(&files(dir)).unwrap();
    let states: Vec<(&str, FileMigrationState)> =
        status.iter().map(|s| (s.id.as_str(), s.state)).collect();
    assert_eq!(
        states,
        [
            ("20260101000100_start", FileMigrationState::Applied),
            (second.as_str(), FileMigrationState::Missing),
        ]
    );
    assert!(status[1].applied_at.is_some());
    for e in [
        h.apply_migrations(&files(dir), high()).unwrap_err(),
        h.downgrade(&files(dir), "0", high()).unwrap_err(),
    ] {
        assert!(
            matches!(e, Error::InvalidInput(ref m) if m.contains(&second) && m.contains("restore")),
            "{e}"
        );
    }
    // Nothing was undone, and restoring the directory clears it.
    assert!(h.describe().unwrap().tables["evo"].column("nick").is_some());
    std::fs::rename(&moved, dir.join(&second)).unwrap();
    assert!(apply(&h, dir).is_empty());
}
