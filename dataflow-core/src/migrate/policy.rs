//! What a migration may do without asking, what it refuses, and when to ask
//! for consent (the asking itself is the [`Interaction`]'s).

use std::sync::Arc;

use crate::migrate::handle::MigrateHandle;
use crate::migrate::{MigrateOptions, MigrationStep, RiskLevel};
use crate::terminal::Interaction;

/// Who this call asks and shows progress to: the options' interaction, else
/// the handle's.
pub(crate) fn interaction(
    db: &dyn MigrateHandle,
    options: &MigrateOptions,
) -> Arc<dyn Interaction> {
    options
        .interaction
        .clone()
        .unwrap_or_else(|| db.interaction())
}

/// Whether a person is to be asked: the options do not already consent, and
/// the interaction can ask.
pub(crate) fn interactive(options: &MigrateOptions, interaction: &dyn Interaction) -> bool {
    !options.auto_confirm && interaction.can_confirm()
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
