//! The SQL files of a migration: `up.sql` and `down.sql` spelled from its
//! steps (a comment header per step, naming the risk and reason of each step
//! above `SAFE`), and split back into statements where they must run one at
//! a time.

use crate::migrate::files::{MigrationPlan, NO_TRANSACTION};
use crate::migrate::{MigrationStep, RiskLevel};

fn push_statement(out: &mut String, sql: &str) {
    let sql = sql.trim_end();
    out.push_str(sql);
    if !sql.ends_with(';') {
        out.push(';');
    }
    out.push('\n');
}

fn comment(out: &mut String, text: &str) {
    for line in text.lines() {
        out.push_str("-- ");
        out.push_str(line);
        out.push('\n');
    }
}

fn header(plan: &MigrationPlan, direction: &str) -> String {
    let mut s = String::new();
    comment(
        &mut s,
        &format!(
            "dataflow migration {} ({direction})\nbackend: {} (this SQL is for that backend only)\nparents: {}",
            plan.id(),
            plan.dialect,
            if plan.parents.is_empty() {
                "none".to_owned()
            } else {
                plan.parents.join(", ")
            }
        ),
    );
    if !plan.replaces.is_empty() {
        comment(&mut s, &format!("replaces: {}", plan.replaces.join(", ")));
    }
    s
}

fn step_header(out: &mut String, n: usize, step: &MigrationStep) {
    out.push('\n');
    comment(
        out,
        &format!(
            "step {n}: {} {}: {}",
            step.operation, step.table, step.detail
        ),
    );
    if step.risk > RiskLevel::Safe {
        comment(out, &format!("RISK {}: {}", step.risk, step.reason));
    }
    if let Some(why) = &step.blocked {
        comment(
            out,
            &format!("BLOCKED on a database where this holds: {why}"),
        );
    }
}

/// `up.sql`: each step's backup and statements, in order.
pub fn render_up(plan: &MigrationPlan) -> String {
    let mut s = header(plan, "up");
    if plan.steps.is_empty() {
        s.push_str("\n-- no schema change\n");
    }
    for (i, step) in plan.steps.iter().enumerate() {
        step_header(&mut s, i + 1, step);
        if !step.backup.is_empty() {
            comment(
                &mut s,
                "backup: keeps what this step destroys; down.sql restores it",
            );
        }
        for sql in step.backup.iter().chain(&step.sql_up) {
            push_statement(&mut s, sql);
        }
    }
    s
}

/// `down.sql`: each step's undo, last step first.
pub fn render_down(plan: &MigrationPlan) -> String {
    let mut s = header(plan, "down");
    if plan.steps.is_empty() {
        s.push_str("\n-- no schema change\n");
    }
    for (i, step) in plan.steps.iter().enumerate().rev() {
        step_header(&mut s, i + 1, step);
        if let Some(why) = &step.irreversible {
            comment(&mut s, &format!("IRREVERSIBLE: {why}"));
        }
        if step.sql_down.is_empty() {
            comment(&mut s, "nothing to undo");
        }
        for sql in &step.sql_down {
            push_statement(&mut s, sql);
        }
    }
    s
}

/// Whether an `up.sql` asks to run outside a transaction: its first line is
/// [`NO_TRANSACTION`].
pub fn no_transaction(up: &str) -> bool {
    up.lines().next().map(str::trim_end) == Some(NO_TRANSACTION)
}

/// Whether `sql` holds anything besides comments and whitespace.
pub fn has_statements(sql: &str) -> bool {
    !split_statements(sql).is_empty()
}

/// Splits a script into statements at the `;` that end them, keeping quoted
/// text (`'…'`, `"…"`, `E'…'` with backslash escapes, `$tag$…$tag$`) and
/// comments (`--`, `/* */`) whole. Statements come back trimmed, without their
/// `;`; comment-only pieces are dropped.
pub fn split_statements(sql: &str) -> Vec<String> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let mut meaningful = false;
    while i < b.len() {
        let c = b[i];
        match c {
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 2;
                continue;
            }
            b'\'' | b'"' => {
                let escapes = c == b'\'' && i > 0 && matches!(b[i - 1], b'E' | b'e');
                meaningful = true;
                i += 1;
                while i < b.len() {
                    if escapes && b[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if b[i] == c {
                        if b.get(i + 1) == Some(&c) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
                continue;
            }
            b'$' => {
                let tag_end = b[i + 1..]
                    .iter()
                    .position(|x| !(x.is_ascii_alphanumeric() || *x == b'_'))
                    .map(|p| i + 1 + p);
                if let Some(e) = tag_end.filter(|e| b[*e] == b'$') {
                    let tag = &sql[i..=e];
                    meaningful = true;
                    i = match sql[e + 1..].find(tag) {
                        Some(p) => e + 1 + p + tag.len(),
                        None => b.len(),
                    };
                    continue;
                }
            }
            b';' => {
                if meaningful {
                    out.push(clean(&sql[start..i]));
                }
                start = i + 1;
                meaningful = false;
                i += 1;
                continue;
            }
            _ => {}
        }
        if !c.is_ascii_whitespace() {
            meaningful = true;
        }
        i += 1;
    }
    if meaningful && start < b.len() {
        out.push(clean(&sql[start..]));
    }
    out
}

/// A statement without its leading comment lines and surrounding space.
fn clean(s: &str) -> String {
    let mut rest = s.trim();
    while rest.starts_with("--") {
        rest = rest.split_once('\n').map_or("", |(_, r)| r).trim_start();
    }
    rest.trim().to_owned()
}

/// sha256 of a file's text, hex.
pub fn sha256(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn splits_at_statement_ends_only() {
        let sql = "-- dataflow:no-transaction\n-- a comment; with a semicolon\nCREATE INDEX CONCURRENTLY \"a;b\" ON t (x);\nINSERT INTO t VALUES ('x;''y', E'\\';', $f$ ; $f$); /* ; */\n  \n";
        assert_eq!(
            split_statements(sql),
            vec![
                "CREATE INDEX CONCURRENTLY \"a;b\" ON t (x)".to_owned(),
                "INSERT INTO t VALUES ('x;''y', E'\\';', $f$ ; $f$)".to_owned(),
            ]
        );
        assert!(no_transaction(sql));
        assert!(!no_transaction("CREATE TABLE t (x int);"));
        assert!(!has_statements("-- only\n/* comments */\n"));
    }

    proptest! {
        /// Statements joined with `;` split back into themselves, whatever
        /// quoted text they hold.
        #[test]
        fn split_inverts_join(parts in proptest::collection::vec("[a-z ]{1,8}('[a-z;]{0,4}')?[a-z]{0,3}", 1..6)) {
            let parts: Vec<String> = parts.into_iter().map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect();
            let joined: String = parts.iter().map(|p| format!("{p};\n")).collect();
            prop_assert_eq!(split_statements(&joined), parts);
        }
    }
}
