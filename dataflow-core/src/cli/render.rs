//! What the command line prints: tables for people (coloured on a terminal,
//! through [`crate::terminal`]), JSON for scripts.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::migrate::history::{MigrationRecord, MigrationStatus};
use crate::migrate::{MigrationReport, OnlineSql, RiskLevel};

pub(crate) fn to_json(value: &impl Serialize) -> Result<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| Error::Database(format!("cannot write JSON: {e}")))
}

/// An error as `--json` prints it: its kind, its message, and for a refusal
/// the refused steps and the policy.
pub(crate) fn error_json(e: &Error) -> serde_json::Value {
    let kind = match e {
        Error::InvalidInput(_) => "invalid_input",
        Error::NotFound { .. } => "not_found",
        Error::UniqueViolation { .. } => "unique_violation",
        Error::ForeignKeyViolation { .. } => "foreign_key_violation",
        Error::NotNullViolation { .. } => "not_null_violation",
        Error::CheckViolation { .. } => "check_violation",
        Error::Busy { .. } => "busy",
        Error::MigrationRefused { .. } => "migration_refused",
        Error::LockTimeout { .. } => "lock_timeout",
        Error::NeedsSession { .. } => "needs_session",
        Error::Drift { .. } => "drift",
        Error::Decode { .. } => "decode",
        Error::WorkflowNode { .. } => "workflow_node",
        Error::Connection(_) => "connection",
        Error::Database(_) => "database",
    };
    let mut error = serde_json::json!({ "kind": kind, "message": e.to_string() });
    if let Error::MigrationRefused { steps, policy } = e {
        error["steps"] = serde_json::json!(steps);
        error["policy"] = serde_json::json!(policy);
    }
    serde_json::json!({ "error": error })
}

/// The plan's SQL in the order it runs: backups and statements, then what
/// runs after the commit.
pub(crate) fn sql(report: &MigrationReport) -> String {
    let mut out = String::new();
    for s in &report.steps {
        for q in s.backup.iter().chain(&s.sql_up) {
            out.push_str(q);
            out.push_str(";\n");
        }
    }
    for q in report
        .steps
        .iter()
        .flat_map(|s| s.sql_online.iter().map(OnlineSql::display))
    {
        out.push_str(&q);
        out.push_str(";\n");
    }
    out
}

fn duration(r: &MigrationRecord) -> String {
    r.duration_ms.map_or("-".into(), |ms| format!("{ms} ms"))
}

/// The history as a table, oldest first.
pub(crate) fn history(records: &[MigrationRecord]) -> String {
    if records.is_empty() {
        return "No migration recorded yet.\n".into();
    }
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            vec![
                r.version.clone(),
                r.status.to_string(),
                r.steps.len().to_string(),
                duration(r),
                r.name.clone(),
            ]
        })
        .collect();
    let mut out =
        crate::terminal::table(&["Version", "Status", "Steps", "Duration", "Name"], &rows);
    out.push('\n');
    out
}

/// What `status` reports.
#[derive(Debug, Serialize)]
pub(crate) struct Status {
    /// Steps `apply` would run.
    pending: usize,
    /// The highest risk among them.
    max_risk: RiskLevel,
    /// Blocked among them.
    blocked: usize,
    /// The newest migration in effect.
    current: Option<String>,
    /// Migrations in effect.
    applied: usize,
    /// A migration whose online phase has not finished.
    in_progress: Option<String>,
    /// Migrations that failed part-way and wait to be resolved.
    failed: Vec<String>,
    /// Tables no model declares.
    unmanaged_tables: Vec<String>,
}

impl Status {
    pub(crate) fn new(plan: &MigrationReport, history: &[MigrationRecord]) -> Self {
        let applied: Vec<&MigrationRecord> = history
            .iter()
            .filter(|r| r.status == MigrationStatus::Applied)
            .collect();
        Status {
            pending: plan.steps.len(),
            max_risk: plan.max_risk(),
            blocked: plan.steps.iter().filter(|s| s.blocked.is_some()).count(),
            current: applied.last().map(|r| r.version.clone()),
            applied: applied.len(),
            in_progress: plan.in_progress.clone(),
            failed: history
                .iter()
                .filter(|r| r.status == MigrationStatus::Failed)
                .map(|r| r.version.clone())
                .collect(),
            unmanaged_tables: plan.unmanaged_tables.clone(),
        }
    }

    /// Whether the database is not yet where the models are.
    pub(crate) fn is_pending(&self) -> bool {
        self.pending > 0 || self.in_progress.is_some() || !self.failed.is_empty()
    }

    pub(crate) fn text(&self) -> String {
        let none = || "-".to_owned();
        let mut rows = vec![
            vec!["current".into(), self.current.clone().unwrap_or_else(none)],
            vec!["applied".into(), self.applied.to_string()],
            vec![
                "pending".into(),
                if self.pending == 0 {
                    "0 (up to date)".into()
                } else {
                    format!(
                        "{} step(s), highest risk {}, {} blocked",
                        self.pending, self.max_risk, self.blocked
                    )
                },
            ],
        ];
        if let Some(v) = &self.in_progress {
            rows.push(vec!["in progress".into(), v.clone()]);
        }
        if !self.failed.is_empty() {
            rows.push(vec!["failed".into(), self.failed.join(", ")]);
        }
        if !self.unmanaged_tables.is_empty() {
            rows.push(vec!["unmanaged".into(), self.unmanaged_tables.join(", ")]);
        }
        let mut out = crate::terminal::table(&["Status", "Value"], &rows);
        out.push('\n');
        if self.pending > 0 {
            out.push_str("Run `plan` to see the steps, `apply` to run them.\n");
        }
        out
    }
}
