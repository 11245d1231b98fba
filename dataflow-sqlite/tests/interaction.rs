//! A custom `Interaction` is the one migrations ask: on the handle, or for one
//! call through the options, answering the consent prompt of a real migration.

use std::sync::{Arc, Mutex};

use dataflow_core::prelude::*;
use dataflow_core::terminal::{Headless, Interaction, Progress};

mod v1 {
    use dataflow_core::prelude::*;

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "acct")]
    pub struct Acct {
        pub id: i64,
        pub owner: String,
        pub bal: i64,
    }
}

mod v2 {
    use dataflow_core::prelude::*;

    /// `bal` is dropped: HIGH, since rows hold values.
    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "acct")]
    pub struct Acct {
        pub id: i64,
        pub owner: String,
    }
}

/// Answers every prompt with `answer` and keeps what it was shown.
struct Recording {
    can_confirm: bool,
    answer: bool,
    shown: Mutex<Vec<(RiskLevel, String)>>,
}

impl Recording {
    fn new(can_confirm: bool, answer: bool) -> Arc<Self> {
        Arc::new(Recording {
            can_confirm,
            answer,
            shown: Mutex::new(Vec::new()),
        })
    }

    fn shown(&self) -> Vec<(RiskLevel, String)> {
        self.shown.lock().unwrap().clone()
    }
}

impl Interaction for Recording {
    fn can_confirm(&self) -> bool {
        self.can_confirm
    }

    fn confirm(&self, report: &MigrationReport) -> Result<bool> {
        let preview = self.render_preview(report);
        self.shown
            .lock()
            .unwrap()
            .push((report.max_risk(), preview));
        Ok(self.answer)
    }

    fn start_progress(&self, label: &str, total: u64) -> Box<dyn Progress> {
        Headless.start_progress(label, total)
    }
}

/// A database at v1 with one row, and a handle with the v2 model.
fn at_v1_with_a_row(dir: &tempfile::TempDir) -> DataFlow {
    let path = dir.path().join("app.db");
    let db = dataflow_sqlite::open(&path).unwrap();
    db.register::<v1::Acct>().unwrap();
    db.auto_migrate(MigrateOptions::default()).unwrap();
    v1::Acct::create(
        &db,
        v1::Acct {
            id: 0,
            owner: "ann".into(),
            bal: 7,
        },
    )
    .unwrap();
    let db = dataflow_sqlite::open(&path).unwrap();
    db.register::<v2::Acct>().unwrap();
    db
}

fn has_bal(db: &DataFlow) -> bool {
    db.describe().unwrap().tables["acct"]
        .columns
        .iter()
        .any(|c| c.name == "bal")
}

#[test]
fn the_handles_interaction_answers_the_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let db = at_v1_with_a_row(&dir);
    let person = Recording::new(true, true);
    db.set_interaction(Arc::clone(&person));
    let report = db.auto_migrate(MigrateOptions::default()).unwrap();
    assert!(report.applied, "{}", report.preview());
    assert!(!has_bal(&db));
    let shown = person.shown();
    assert_eq!(shown.len(), 1, "asked once");
    assert_eq!(shown[0].0, RiskLevel::High);
    assert!(shown[0].1.contains("drop column"), "{}", shown[0].1);
}

#[test]
fn the_options_interaction_declines_for_one_call() {
    let dir = tempfile::tempdir().unwrap();
    let db = at_v1_with_a_row(&dir);
    // The handle's would accept; the call's declines.
    let handles = Recording::new(true, true);
    db.set_interaction(Arc::clone(&handles));
    let person = Recording::new(true, false);
    let err = db
        .auto_migrate(MigrateOptions::default().interaction(Arc::clone(&person)))
        .unwrap_err();
    match err {
        Error::MigrationRefused { steps, .. } => {
            assert_eq!(steps, ["declined at the confirmation prompt"])
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(has_bal(&db), "nothing applied");
    assert_eq!(person.shown().len(), 1);
    assert!(handles.shown().is_empty());
}

#[test]
fn an_interaction_that_cannot_ask_gets_the_non_interactive_policy() {
    let dir = tempfile::tempdir().unwrap();
    let db = at_v1_with_a_row(&dir);
    let nobody = Recording::new(false, true);
    db.set_interaction(Arc::clone(&nobody));
    let err = db.auto_migrate(MigrateOptions::default()).unwrap_err();
    assert!(
        matches!(err, Error::MigrationRefused { .. }),
        "HIGH is refused without a person: {err:?}"
    );
    assert!(nobody.shown().is_empty(), "never asked");
    db.set_interaction(Headless);
    assert!(db.auto_migrate(MigrateOptions::default()).is_err());
    let report = db
        .auto_migrate(
            MigrateOptions::default()
                .auto_confirm(true)
                .max_risk(RiskLevel::High),
        )
        .unwrap();
    assert!(report.applied && !has_bal(&db));
    assert!(nobody.shown().is_empty());
}

#[test]
fn a_rollback_asks_the_interaction_before_destroying_data() {
    let dir = tempfile::tempdir().unwrap();
    let db = at_v1_with_a_row(&dir);
    // Undoing the migration that created `acct` drops a table holding a row.
    let person = Recording::new(true, false);
    let err = db
        .rollback_last_with(MigrateOptions::default().interaction(Arc::clone(&person)))
        .unwrap_err();
    assert!(
        matches!(&err, Error::MigrationRefused { steps, .. } if steps == &["declined at the confirmation prompt"]),
        "{err:?}"
    );
    let shown = person.shown();
    assert_eq!(shown.len(), 1, "asked once");
    assert_eq!(shown[0].0, RiskLevel::High);
    assert!(shown[0].1.contains("drop table"), "{}", shown[0].1);
    assert!(db.describe().unwrap().tables.contains_key("acct"));
    let yes = Recording::new(true, true);
    let report = db
        .rollback_last_with(MigrateOptions::default().interaction(Arc::clone(&yes)))
        .unwrap();
    assert!(report.applied);
    assert!(!db.describe().unwrap().tables.contains_key("acct"));
    assert_eq!(yes.shown().len(), 1);
}
