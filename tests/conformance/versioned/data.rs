//! Data steps: Rust run with a migration, given a handle bound to the
//! migration's own transaction — typed CRUD both ways, a failing step that
//! leaves nothing behind, and writes no other connection sees before the
//! commit.

use std::sync::{Arc, Mutex};

use dataflow_core::prelude::*;
use dataflow_core::FileMigrationState;

use super::evo::{V2Patch, V1, V2};
use super::{apply, files, generate, high};
use crate::backends::TestBackend;

/// A table no migration of these tests alters, written by the data steps.
mod side {
    use dataflow_core::prelude::*;

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "evo_side")]
    pub struct Side {
        pub id: i64,
        pub label: String,
    }
}
use side::Side;

/// `dir` with a first migration (`evo` as `V1` and `evo_side`) applied and
/// one `evo` row, and a second one (`V2`, adding `nick`) generated; the
/// handle registered with the second's models, and the second's version.
fn two_migrations(db: &TestBackend, dir: &std::path::Path) -> (DataFlow, String) {
    let h = db.reopen();
    h.register_all(models![V1, Side]).unwrap();
    generate(&h, dir, "start", 1);
    apply(&h, dir);
    V1::create(
        &h,
        V1 {
            id: 0,
            name: "Ann Lee".into(),
        },
    )
    .unwrap();
    let h = db.reopen();
    h.register_all(models![V2, Side]).unwrap();
    let plan = generate(&h, dir, "nick", 2);
    (h, plan.version)
}

fn v1_names(db: &TestBackend) -> Vec<String> {
    let h = db.reopen();
    h.register::<V1>().unwrap();
    V1::list(&h)
        .all()
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect()
}

pub fn a_data_migration_runs_forward_and_back_in_the_migration(db: &TestBackend) {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let (h, version) = two_migrations(db, dir);
    let plain = files(dir);
    let with_data = files(dir).data_step(
        version,
        move |tx| {
            for row in V2::list(tx).all()? {
                let nick = Some(row.name.to_lowercase());
                V2::update(
                    tx,
                    row.id,
                    V2Patch {
                        nick: Some(nick),
                        ..Default::default()
                    },
                )?;
            }
            // Nested: a savepoint inside the migration's transaction.
            tx.transaction(|tx| {
                Side::create(
                    tx,
                    Side {
                        id: 0,
                        label: "forward".into(),
                    },
                )
            })?;
            // Migrations are refused on the bound handle.
            let nested = tx.apply_migrations(&plain, high());
            assert!(
                matches!(nested, Err(Error::InvalidInput(ref m)) if m.contains("migrations cannot run inside")),
                "{nested:?}"
            );
            Ok(())
        },
        |tx| {
            for row in V2::list(tx).all()? {
                let name = row.nick.clone().unwrap_or_default().to_uppercase();
                V2::update(
                    tx,
                    row.id,
                    V2Patch {
                        name: Some(name),
                        ..Default::default()
                    },
                )?;
            }
            Side::delete(tx, Side::list(tx).all()?[0].id)?;
            Ok(())
        },
    );
    h.apply_migrations(&with_data, high()).unwrap();
    assert_eq!(
        V2::list(&h).all().unwrap()[0].nick.as_deref(),
        Some("ann lee")
    );
    assert_eq!(Side::list(&h).all().unwrap().len(), 1);
    h.downgrade(&with_data, "20260101000100_start", high())
        .unwrap();
    assert_eq!(v1_names(db), ["ANN LEE"]);
    assert!(Side::list(&h).all().unwrap().is_empty());
}

pub fn a_failing_data_step_leaves_no_row_changed_and_the_migration_unapplied(db: &TestBackend) {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let (h, version) = two_migrations(db, dir);
    let failing = files(dir).data_step(
        version.clone(),
        |tx| {
            let ann = V2::list(tx).all()?.remove(0);
            V2::update(
                tx,
                ann.id,
                V2Patch {
                    name: Some("changed".into()),
                    nick: Some(Some("changed".into())),
                },
            )?;
            Side::create(
                tx,
                Side {
                    id: 0,
                    label: "written".into(),
                },
            )?;
            Err(Error::InvalidInput("the step gives up".into()))
        },
        |_| Ok(()),
    );
    let e = h.apply_migrations(&failing, high()).unwrap_err();
    assert!(e.to_string().contains("the step gives up"), "{e}");
    assert!(h.describe().unwrap().tables["evo"].column("nick").is_none());
    assert_eq!(v1_names(db), ["Ann Lee"]);
    assert!(Side::list(&h).all().unwrap().is_empty());
    let status = h.migration_status(&failing).unwrap();
    let second = status.iter().find(|s| s.version == version).unwrap();
    assert_eq!(second.state, FileMigrationState::Pending);
    // A panicking step fails the migration the same way, naming the panic.
    let panicking = files(dir).data_step(
        version,
        |tx| {
            Side::create(
                tx,
                Side {
                    id: 0,
                    label: "written".into(),
                },
            )?;
            panic!("the step panics");
        },
        |_| Ok(()),
    );
    let e = h.apply_migrations(&panicking, high()).unwrap_err();
    assert!(e.to_string().contains("the step panics"), "{e}");
    assert!(Side::list(&h).all().unwrap().is_empty());
    assert!(h.describe().unwrap().tables["evo"].column("nick").is_none());
}

pub fn a_data_step_writes_nothing_another_connection_sees_before_the_commit(db: &TestBackend) {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let (h, version) = two_migrations(db, dir);
    let other = db.reopen();
    other.register::<Side>().unwrap();
    let seen: Arc<Mutex<Vec<usize>>> = Arc::default();
    let kept: Arc<Mutex<Option<DataFlow>>> = Arc::default();
    let (seen_in, kept_in) = (Arc::clone(&seen), Arc::clone(&kept));
    let with_data = files(dir).data_step(
        version,
        move |tx| {
            Side::create(
                tx,
                Side {
                    id: 0,
                    label: "inside".into(),
                },
            )?;
            seen_in.lock().unwrap().push(Side::list(tx).all()?.len());
            seen_in
                .lock()
                .unwrap()
                .push(Side::list(&other).all()?.len());
            *kept_in.lock().unwrap() = Some(tx.clone());
            Ok(())
        },
        |_| Ok(()),
    );
    h.apply_migrations(&with_data, high()).unwrap();
    // The step saw its row; another connection did not, until the commit.
    assert_eq!(*seen.lock().unwrap(), [1, 0]);
    assert_eq!(Side::list(&h).all().unwrap().len(), 1);
    // A handle kept past the step is refused rather than writing outside it.
    let kept = kept.lock().unwrap().take().unwrap();
    assert!(matches!(
        Side::list(&kept).all(),
        Err(Error::InvalidInput(_))
    ));
}
