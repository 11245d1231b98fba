//! Where migrations meet a person: the consent prompt before a risky plan,
//! progress of long backfills, and the table at the top of the preview.
//!
//! The migration code reaches all three through [`Interaction`] only.
//! `Console` (feature `terminal`, on by default) asks with dialoguer, draws
//! indicatif bars and renders the preview table with comfy-table; [`Headless`]
//! never asks and shows nothing. With `default-features = false` the terminal
//! crates are left out, [`Headless`] is the default and the preview table is
//! plain ASCII. Plug in your own with [`DataFlow::set_interaction`] or, for one
//! call, [`MigrateOptions::interaction`].
//!
//! [`DataFlow::set_interaction`]: crate::DataFlow::set_interaction
//! [`MigrateOptions::interaction`]: crate::MigrateOptions::interaction

use std::fmt;
use std::sync::Arc;

use crate::error::Result;
use crate::migrate::MigrationReport;

/// How a migration talks to whoever runs it. Implementations must be cheap to
/// call when nobody is watching: progress is reported for every backfill batch.
pub trait Interaction: Send + Sync {
    /// Whether a person can answer [`Interaction::confirm`] now. When not,
    /// migrations follow the non-interactive policy: steps above `SAFE` need
    /// `auto_confirm(true)` and `max_risk(..)`.
    fn can_confirm(&self) -> bool;

    /// Why [`Interaction::can_confirm`] is false, for the message of a
    /// refused migration ("stdin is not a terminal").
    fn why_cannot_confirm(&self) -> String {
        "the interaction cannot ask".into()
    }

    /// Shows the plan and asks whether to apply it; `Ok(false)` declines and
    /// the migration is refused. Asked only when [`Interaction::can_confirm`]
    /// is true and a step is above what runs without asking.
    fn confirm(&self, report: &MigrationReport) -> Result<bool>;

    /// A long task starts: `label` says what (`"backfilling users"`), `total`
    /// how many units (batches) it has. The returned value hears of each unit
    /// done and of the end.
    fn start_progress(&self, label: &str, total: u64) -> Box<dyn Progress>;

    /// The plan as shown to a person before [`Interaction::confirm`] asks.
    fn render_preview(&self, report: &MigrationReport) -> String {
        report.preview()
    }
}

/// A shared interaction, so its owner can inspect it after handing it over.
impl<T: Interaction + ?Sized> Interaction for Arc<T> {
    fn can_confirm(&self) -> bool {
        (**self).can_confirm()
    }

    fn why_cannot_confirm(&self) -> String {
        (**self).why_cannot_confirm()
    }

    fn confirm(&self, report: &MigrationReport) -> Result<bool> {
        (**self).confirm(report)
    }

    fn start_progress(&self, label: &str, total: u64) -> Box<dyn Progress> {
        (**self).start_progress(label, total)
    }

    fn render_preview(&self, report: &MigrationReport) -> String {
        (**self).render_preview(report)
    }
}

impl fmt::Debug for dyn Interaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("dyn Interaction")
    }
}

/// Progress of one task started by [`Interaction::start_progress`].
pub trait Progress {
    /// `n` more units are done.
    fn advance(&mut self, n: u64);
    /// The task ended (successfully or not: dropping without `finish` also
    /// means it ended early).
    fn finish(self: Box<Self>);
}

/// Progress nobody watches.
struct NoProgress;

impl Progress for NoProgress {
    fn advance(&mut self, _: u64) {}
    fn finish(self: Box<Self>) {}
}

/// Never asks and shows nothing: for servers, jobs and builds without the
/// `terminal` feature. Migrations follow the non-interactive policy.
#[derive(Debug, Clone, Copy, Default)]
pub struct Headless;

impl Interaction for Headless {
    fn can_confirm(&self) -> bool {
        false
    }

    fn why_cannot_confirm(&self) -> String {
        if cfg!(feature = "terminal") {
            "the interaction is Headless, which never asks".into()
        } else {
            "the interaction is Headless, which never asks (built without the `terminal` feature)"
                .into()
        }
    }

    fn confirm(&self, _: &MigrationReport) -> Result<bool> {
        Ok(false)
    }

    fn start_progress(&self, _: &str, _: u64) -> Box<dyn Progress> {
        Box::new(NoProgress)
    }
}

/// The default: `Console` with the `terminal` feature, [`Headless`] without.
pub fn default_interaction() -> Arc<dyn Interaction> {
    #[cfg(feature = "terminal")]
    {
        Arc::new(Console)
    }
    #[cfg(not(feature = "terminal"))]
    {
        Arc::new(Headless)
    }
}

#[cfg(feature = "terminal")]
pub use console::Console;

#[cfg(feature = "terminal")]
mod console {
    use std::io::IsTerminal;

    use super::{Interaction, Progress};
    use crate::error::{Error, Result};
    use crate::migrate::MigrationReport;

    /// The terminal: asks on stdin when both stdin and stderr are terminals,
    /// prints the preview and progress bars on stderr.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct Console;

    impl Interaction for Console {
        fn can_confirm(&self) -> bool {
            std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
        }

        fn why_cannot_confirm(&self) -> String {
            super::no_tty(
                std::io::stdin().is_terminal(),
                std::io::stderr().is_terminal(),
            )
        }

        fn confirm(&self, report: &MigrationReport) -> Result<bool> {
            eprintln!("{}", self.render_preview(report));
            dialoguer::Confirm::new()
                .with_prompt(format!(
                    "Apply {} step(s), highest risk {}?",
                    report.steps.len(),
                    report.max_risk()
                ))
                .default(false)
                .interact()
                .map_err(|e| Error::InvalidInput(format!("confirmation prompt failed: {e}")))
        }

        fn start_progress(&self, label: &str, total: u64) -> Box<dyn Progress> {
            let bar = if std::io::stderr().is_terminal() {
                indicatif::ProgressBar::new(total)
            } else {
                indicatif::ProgressBar::hidden()
            };
            bar.set_message(label.to_owned());
            Box::new(Bar(bar))
        }
    }

    struct Bar(indicatif::ProgressBar);

    impl Progress for Bar {
        fn advance(&mut self, n: u64) {
            self.0.inc(n);
        }

        fn finish(self: Box<Self>) {
            self.0.finish_and_clear();
        }
    }
}

/// Why a terminal cannot ask, from whether stdin and stderr are terminals.
#[cfg(any(test, feature = "terminal"))]
fn no_tty(stdin: bool, stderr: bool) -> String {
    let not: Vec<&str> = [("stdin", stdin), ("stderr", stderr)]
        .into_iter()
        .filter(|(_, tty)| !tty)
        .map(|(name, _)| name)
        .collect();
    match not.as_slice() {
        [] => "the terminal cannot ask".into(),
        [one] => format!("no TTY: {one} is not a terminal (as under a service manager, in CI or a pipe)"),
        _ => "no TTY: stdin and stderr are not terminals (as under a service manager, in CI or a pipe)".into(),
    }
}

/// A table with a header row, as the preview shows it: comfy-table's
/// condensed UTF-8 frame with the `terminal` feature, plain ASCII without.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    #[cfg(feature = "terminal")]
    {
        let mut table = comfy_table::Table::new();
        table
            .load_preset(comfy_table::presets::UTF8_FULL_CONDENSED)
            .set_header(header.iter().copied());
        // comfy-table styles only when stdout is a terminal; NO_COLOR opts out.
        if std::env::var_os("NO_COLOR").is_some() {
            table.force_no_tty();
        }
        let coloured: Vec<bool> = header
            .iter()
            .map(|h| matches!(*h, "Risk" | "Status"))
            .collect();
        for row in rows {
            table.add_row(row.iter().zip(&coloured).map(|(cell, &c)| {
                let styled = comfy_table::Cell::new(cell);
                match colour(cell) {
                    Some(fg) if c => styled.fg(fg),
                    _ => styled,
                }
            }));
        }
        table.to_string()
    }
    #[cfg(not(feature = "terminal"))]
    {
        plain_table(header, rows)
    }
}

/// The colour of a risk or status cell: green for what is fine, yellow for
/// what needs a look, red for what destroys or failed.
#[cfg(feature = "terminal")]
fn colour(cell: &str) -> Option<comfy_table::Color> {
    use comfy_table::Color;
    match cell {
        "SAFE" | "applied" => Some(Color::Green),
        "MEDIUM" | "rolled_back" | "in_progress" => Some(Color::Yellow),
        "HIGH" | "failed" => Some(Color::Red),
        _ => None,
    }
}

/// An ASCII table: `|`-separated cells padded to each column's width, `-`
/// rules above and below the header and at the end; a cell of several lines
/// spans as many table lines. No trailing newline.
#[cfg(any(test, not(feature = "terminal")))]
fn plain_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let cells: Vec<Vec<&str>> = cell_lines(header.to_vec())
        .into_iter()
        .chain(
            rows.iter()
                .flat_map(|r| cell_lines(r.iter().map(String::as_str).collect())),
        )
        .collect();
    let mut widths = vec![0; header.len()];
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let rule: String = widths.iter().fold(String::from("+"), |mut s, w| {
        s.push_str(&"-".repeat(w + 2));
        s.push('+');
        s
    });
    let line = |row: &[&str]| -> String {
        let mut s = String::from("|");
        for (w, cell) in widths.iter().zip(row) {
            let pad = w - cell.chars().count();
            s.push(' ');
            s.push_str(cell);
            s.push_str(&" ".repeat(pad + 1));
            s.push('|');
        }
        s
    };
    let mut out = vec![rule.clone(), line(&cells[0]), rule.clone()];
    out.extend(cells[1..].iter().map(|r| line(r)));
    out.push(rule);
    out.join("\n")
}

/// The table lines of one row whose cells may hold several lines.
#[cfg(any(test, not(feature = "terminal")))]
fn cell_lines(row: Vec<&str>) -> Vec<Vec<&str>> {
    let split: Vec<Vec<&str>> = row.iter().map(|c| c.split('\n').collect()).collect();
    let height = split.iter().map(Vec::len).max().unwrap_or(1);
    (0..height)
        .map(|i| {
            split
                .iter()
                .map(|c| c.get(i).copied().unwrap_or(""))
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_table_pads_every_column_to_its_widest_cell() {
        let rows = vec![
            vec!["users".into(), "add column".into(), "column email".into()],
            vec!["t".into(), "drop table".into(), "émoi".into()],
        ];
        assert_eq!(
            plain_table(&["Table", "Operation", "Details"], &rows),
            "\
+-------+------------+--------------+
| Table | Operation  | Details      |
+-------+------------+--------------+
| users | add column | column email |
| t     | drop table | émoi         |
+-------+------------+--------------+"
        );
    }

    #[test]
    fn a_cell_of_several_lines_spans_as_many_table_lines() {
        let rows = vec![vec![
            "t".into(),
            "rebuild table".into(),
            "alter column a\nalter column bc".into(),
        ]];
        assert_eq!(
            plain_table(&["Table", "Operation", "Details"], &rows),
            "\
+-------+---------------+-----------------+
| Table | Operation     | Details         |
+-------+---------------+-----------------+
| t     | rebuild table | alter column a  |
|       |               | alter column bc |
+-------+---------------+-----------------+"
        );
    }

    #[test]
    fn without_a_tty_the_reason_names_the_stream() {
        assert_eq!(
            no_tty(false, true),
            "no TTY: stdin is not a terminal (as under a service manager, in CI or a pipe)"
        );
        assert!(no_tty(false, false).starts_with("no TTY: stdin and stderr are not terminals"));
        assert!(no_tty(true, false).starts_with("no TTY: stderr is not"));
    }

    #[test]
    fn headless_never_asks_and_ignores_progress() {
        let h = Headless;
        assert!(!h.can_confirm());
        let mut p = h.start_progress("backfilling t", 3);
        p.advance(1);
        p.finish();
    }
}
