//! A database in a directory the process cannot write to: SQLite needs to
//! create its journal (or WAL) file next to the database, so writes fail; the
//! error must say that the directory is not writable, not that the database is
//! read-only.

use std::path::{Path, PathBuf};

use dataflow_core::prelude::*;

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "kv")]
struct Kv {
    #[dataflow(primary_key)]
    key: String,
    value: i64,
}

/// Makes `dir` unwritable for this process until dropped: permissions, and
/// for a privileged process (which permissions do not stop) the immutable
/// attribute. `None` when neither works here.
struct Unwritable(PathBuf);

impl Unwritable {
    fn new(dir: &Path) -> Option<Unwritable> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        let guard = Unwritable(dir.to_owned());
        if guard.writable() {
            let _ = std::process::Command::new("chattr")
                .arg("+i")
                .arg(dir)
                .status();
        }
        if guard.writable() {
            eprintln!("cannot make a directory unwritable here; skipped");
            return None;
        }
        Some(guard)
    }

    fn writable(&self) -> bool {
        let probe = self.0.join("probe");
        let ok = std::fs::write(&probe, b"x").is_ok();
        let _ = std::fs::remove_file(&probe);
        ok
    }
}

impl Drop for Unwritable {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::process::Command::new("chattr")
            .arg("-i")
            .arg(&self.0)
            .status();
        let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o755));
    }
}

fn assert_names_the_directory(err: &Error, dir: &Path) {
    let text = err.to_string();
    assert!(
        text.contains("not writable") && text.contains(&dir.display().to_string()),
        "{err:?}"
    );
}

#[test]
fn writes_in_an_unwritable_directory_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    {
        let db = dataflow_sqlite::open(&path).unwrap();
        db.register::<Kv>().unwrap();
        db.auto_migrate(MigrateOptions::default()).unwrap();
        Kv::create(
            &db,
            Kv {
                key: "a".into(),
                value: 1,
            },
        )
        .unwrap();
    }
    let Some(_guard) = Unwritable::new(dir.path()) else {
        return;
    };
    // A new database file cannot be created there.
    let err = dataflow_sqlite::open(dir.path().join("new.db")).unwrap_err();
    assert!(matches!(err, Error::Connection(_)), "{err:?}");
    assert_names_the_directory(&err, dir.path());
    // The existing one opens, and writes say why they fail.
    match dataflow_sqlite::open(&path) {
        Ok(db) => {
            db.register::<Kv>().unwrap();
            let err = Kv::create(
                &db,
                Kv {
                    key: "b".into(),
                    value: 2,
                },
            )
            .unwrap_err();
            assert_names_the_directory(&err, dir.path());
        }
        Err(err) => assert_names_the_directory(&err, dir.path()),
    }
}
