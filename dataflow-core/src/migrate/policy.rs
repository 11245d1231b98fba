//! What a migration may do without asking, what it refuses, and the consent
//! asked on a terminal.

use std::io::IsTerminal;

use crate::error::{Error, Result};
use crate::migrate::{MigrateOptions, MigrationReport, MigrationStep, RiskLevel};

/// Whether a person can be asked: the options do not already consent, and
/// both stdin and stderr are terminals.
pub(crate) fn interactive(options: &MigrateOptions) -> bool {
    !options.auto_confirm && std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// What the options allow, and whether to ask first.
pub(crate) fn policy(options: &MigrateOptions, interactive: bool) -> (RiskLevel, bool) {
    if interactive {
        (options.max_risk.unwrap_or(RiskLevel::High), true)
    } else if options.auto_confirm {
        (options.max_risk.unwrap_or(RiskLevel::Safe), false)
    } else {
        (RiskLevel::Safe, false)
    }
}

pub(crate) fn refusals(steps: &[MigrationStep], ceiling: RiskLevel) -> Vec<String> {
    steps
        .iter()
        .filter(|s| s.risk > ceiling || s.blocked.is_some())
        .map(|s| match &s.blocked {
            Some(why) => format!("{} {}: BLOCKED: {why}", s.operation, s.table),
            None => format!(
                "{} {}: {} is above the allowed {ceiling}: {}",
                s.operation, s.table, s.risk, s.reason
            ),
        })
        .collect()
}

pub(crate) fn confirm(report: &MigrationReport) -> Result<bool> {
    eprintln!("{}", report.preview());
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

/// A rollback's policy: the options' policy, except that calling a rollback
/// consents to steps up to `Medium` (they lose nothing: renames, index and
/// constraint changes, backed-up restores), so only data-destroying steps need
/// `auto_confirm` with `max_risk(High)`, or the terminal prompt.
pub(crate) fn rollback_policy(options: &MigrateOptions, interactive: bool) -> (RiskLevel, bool) {
    let consented = RiskLevel::Medium;
    if interactive {
        (options.max_risk.unwrap_or(RiskLevel::High), true)
    } else if options.auto_confirm {
        (options.max_risk.unwrap_or(consented), false)
    } else {
        (
            options.max_risk.map_or(consented, |m| m.min(consented)),
            false,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_follows_the_contract() {
        let o = MigrateOptions::default();
        assert_eq!(policy(&o, false), (RiskLevel::Safe, false));
        assert_eq!(
            policy(&o.clone().max_risk(RiskLevel::High), false).0,
            RiskLevel::Safe
        );
        assert_eq!(
            policy(
                &o.clone().auto_confirm(true).max_risk(RiskLevel::High),
                false
            ),
            (RiskLevel::High, false)
        );
        assert_eq!(
            policy(&o.clone().auto_confirm(true), false).0,
            RiskLevel::Safe
        );
        assert_eq!(policy(&o.clone(), true), (RiskLevel::High, true));
        assert_eq!(
            policy(&o.max_risk(RiskLevel::Medium), true).0,
            RiskLevel::Medium
        );
    }
}
