//! What `auto_migrate`, `plan` and the rollbacks report, and its preview: the
//! table of steps, the reasons, the SQL both ways and a safety summary.

use serde::{Deserialize, Serialize};

use crate::migrate::rebuild;
use crate::migrate::{MigrationStep, OnlineSql, RiskLevel};

/// What `auto_migrate` / `plan` did or would do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MigrationReport {
    /// Whether the steps were applied.
    pub applied: bool,
    /// Version recorded for an applied plan.
    pub version: Option<String>,
    /// The planned steps, in execution order.
    pub steps: Vec<MigrationStep>,
    /// Tables in the database that no registered model declares; dataflow leaves
    /// them alone (unless they are its own and `prune(true)` is set).
    pub unmanaged_tables: Vec<String>,
    /// The version of a migration whose online phase has not finished: stopped
    /// here (the next `auto_migrate` resumes it), or being finished by another
    /// process right now.
    #[serde(default)]
    pub in_progress: Option<String>,
    /// For a rollback: the versions it undoes (or, for a dry run, would undo),
    /// newest first. Empty for `auto_migrate`.
    #[serde(default)]
    pub rolled_back: Vec<String>,
}

impl MigrationReport {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The highest risk of any step (`Safe` for an empty plan).
    pub fn max_risk(&self) -> RiskLevel {
        self.steps
            .iter()
            .map(|s| s.risk)
            .max()
            .unwrap_or(RiskLevel::Safe)
    }

    /// The human table shown before applying: one row per step, then the SQL.
    /// The table's frame is UTF-8 with the `terminal` feature, ASCII without.
    pub fn preview(&self) -> String {
        if self.steps.is_empty() {
            return "No changes: the database matches the models.\n".to_owned();
        }
        let rows: Vec<Vec<String>> = self
            .steps
            .iter()
            .map(|s| {
                // A rebuild's parts, one a line: each is a change of its own.
                let detail = if s.parts.is_empty() {
                    s.detail.clone()
                } else {
                    s.parts
                        .iter()
                        .map(|p| format!("{} {}", p.operation, p.detail))
                        .collect::<Vec<_>>()
                        .join("\n")
                };
                vec![
                    s.table.clone(),
                    s.operation.to_string(),
                    detail,
                    s.risk.to_string(),
                ]
            })
            .collect();
        let table = crate::terminal::table(&["Table", "Operation", "Details", "Risk"], &rows);
        let mut out = format!("{table}\n");
        let explained: Vec<&MigrationStep> = self
            .steps
            .iter()
            .filter(|s| s.risk > RiskLevel::Safe || s.blocked.is_some())
            .collect();
        if !explained.is_empty() {
            out.push_str("\nWhy:\n");
            for s in explained {
                let mark = if s.blocked.is_some() {
                    " [BLOCKED]"
                } else {
                    ""
                };
                if s.parts.is_empty() {
                    out.push_str(&format!(
                        "  {} {} {}: {}{mark}\n",
                        s.risk, s.operation, s.table, s.reason
                    ));
                    continue;
                }
                out.push_str(&format!(
                    "  {} {} {}: {}{mark}\n",
                    s.risk,
                    s.operation,
                    s.table,
                    rebuild::headline(&s.parts)
                ));
                for p in &s.parts {
                    let mark = if p.blocked.is_some() {
                        " [BLOCKED]"
                    } else {
                        ""
                    };
                    out.push_str(&format!(
                        "    - {} {} {}: {}{mark}\n",
                        p.risk, p.operation, p.subject, p.reason
                    ));
                }
            }
        }
        let forward: Vec<&MigrationStep> = self.steps.iter().collect();
        let backward: Vec<&MigrationStep> = self.steps.iter().rev().collect();
        sql_section(&mut out, "Backup", &forward, |s| &s.backup);
        sql_section(&mut out, "SQL", &forward, |s| &s.sql_up);
        let online: Vec<String> = self
            .steps
            .iter()
            .flat_map(|s| s.sql_online.iter().map(OnlineSql::display))
            .collect();
        if !online.is_empty() {
            out.push_str("\nAfter commit, without blocking writers (online):\n");
            for q in online {
                out.push_str("  ");
                out.push_str(&q);
                out.push_str(";\n");
            }
        }
        sql_section(&mut out, "Rollback", &backward, |s| &s.sql_down);
        let count = |f: fn(&MigrationStep) -> bool| self.steps.iter().filter(|s| f(s)).count();
        out.push_str(&format!(
            "\nSafety: {} step(s), highest risk {}; {} blocked; {} backed up; {} irreversible; {}\n",
            self.steps.len(),
            self.max_risk(),
            count(|s| s.blocked.is_some()),
            count(|s| !s.backup.is_empty()),
            count(|s| s.irreversible.is_some()),
            if self.applied { "applied" } else { "not applied" }
        ));
        if !self.unmanaged_tables.is_empty() {
            out.push_str(&format!(
                "Unmanaged tables (left alone): {}\n",
                self.unmanaged_tables.join(", ")
            ));
        }
        out
    }
}

fn sql_section(
    out: &mut String,
    title: &str,
    steps: &[&MigrationStep],
    get: fn(&MigrationStep) -> &Vec<String>,
) {
    let lines: Vec<&String> = steps.iter().flat_map(|s| get(s)).collect();
    if lines.is_empty() {
        return;
    }
    out.push_str(&format!("\n{title}:\n"));
    for q in lines {
        out.push_str("  ");
        out.push_str(q);
        out.push_str(";\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::diff::Change;
    use crate::migrate::schema::Table;
    use crate::migrate::Operation;

    fn create_users() -> MigrationReport {
        let table = Table {
            name: "users".into(),
            columns: Vec::new(),
            primary_key: Vec::new(),
            indexes: Vec::new(),
            foreign_keys: Vec::new(),
            triggers: Vec::new(),
            checks: Vec::new(),
        };
        MigrationReport {
            applied: false,
            version: None,
            steps: vec![MigrationStep {
                operation: Operation::CreateTable,
                table: "users".into(),
                detail: "columns id".into(),
                risk: RiskLevel::Safe,
                reason: "new table".into(),
                sql_up: vec!["CREATE TABLE users (id BIGINT)".into()],
                sql_down: vec!["DROP TABLE users".into()],
                blocked: None,
                backup: Vec::new(),
                irreversible: None,
                change: Change::CreateTable { table },
                sql_online: Vec::new(),
                online_done: 0,
                undoes: None,
                parts: Vec::new(),
                duration_ms: None,
            }],
            unmanaged_tables: Vec::new(),
            in_progress: None,
            rolled_back: Vec::new(),
        }
    }

    /// With or without the `terminal` feature, the preview starts with a table
    /// of the steps (framed in UTF-8 or ASCII) followed by the SQL.
    #[test]
    fn the_preview_table_reads_the_same_with_or_without_the_terminal_feature() {
        let preview = create_users().preview();
        let rows: Vec<&str> = preview.lines().take(5).collect();
        let cells = |line: &str| -> Vec<String> {
            line.split(['│', '┆', '|'])
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect()
        };
        assert_eq!(cells(rows[1]), ["Table", "Operation", "Details", "Risk"]);
        assert_eq!(
            cells(rows[3]),
            ["users", "create table", "columns id", "SAFE"]
        );
        if cfg!(feature = "terminal") {
            assert!(rows[0].starts_with('┌'), "{preview}");
        } else {
            assert!(rows[0].starts_with("+-"), "{preview}");
        }
        assert!(preview.contains("\nSQL:\n  CREATE TABLE users (id BIGINT);\n"));
    }
}
