//! What a migration may do without asking, what it refuses, and when to ask
//! for consent (the asking itself is the [`Interaction`]'s). A refusal names
//! the effective policy, why it is in force, and for each refused step the
//! option (and CLI flag) that would allow it.

use std::sync::Arc;

use crate::error::Error;
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

/// Forward migration or rollback: a rollback consents to `Medium` by being
/// called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Migrate,
    Rollback,
}

/// The effective policy of one call: the highest risk that may run, whether
/// to ask first, and the words that explain it in a refusal.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    /// Steps above this are refused.
    pub ceiling: RiskLevel,
    /// Whether a person is asked before steps above what runs unasked.
    pub ask: bool,
    kind: Kind,
    auto_confirm: bool,
    max_risk: Option<RiskLevel>,
    /// Why nobody can be asked, when nobody can.
    no_person: Option<String>,
}

impl Policy {
    /// The policy `options` give with `interaction` as the one to ask.
    pub(crate) fn new(kind: Kind, options: &MigrateOptions, interaction: &dyn Interaction) -> Self {
        let interactive = interactive(options, interaction);
        let (ceiling, ask) = match kind {
            Kind::Migrate => policy(options, interactive),
            Kind::Rollback => rollback_policy(options, interactive),
        };
        Policy {
            ceiling,
            ask,
            kind,
            auto_confirm: options.auto_confirm,
            max_risk: options.max_risk,
            no_person: (!options.auto_confirm && !interactive)
                .then(|| interaction.why_cannot_confirm()),
        }
    }

    /// Steps up to this risk run without anyone being asked.
    fn unasked(&self) -> RiskLevel {
        match self.kind {
            Kind::Migrate => RiskLevel::Safe,
            Kind::Rollback => RiskLevel::Medium,
        }
    }

    /// The effective policy and why it is in force, in one sentence.
    pub(crate) fn describe(&self) -> String {
        let ceiling = self.ceiling;
        let what = match self.kind {
            Kind::Migrate => "migration",
            Kind::Rollback => "rollback",
        };
        if self.ask {
            let source = match self.max_risk {
                Some(m) => format!("max_risk({})", level(m)),
                None => "no max_risk set".into(),
            };
            return format!(
                "interactive {what}: steps up to {ceiling} run after a prompt ({source}); steps above {ceiling} are refused"
            );
        }
        if self.auto_confirm {
            let source = match self.max_risk {
                Some(m) => format!("max_risk({})", level(m)),
                None => format!("no max_risk set, so the default {}", self.unasked()),
            };
            return format!(
                "{what} with auto_confirm(true): steps up to {ceiling} run without asking ({source}); steps above {ceiling} are refused"
            );
        }
        let why = self.no_person.as_deref().unwrap_or("nobody can be asked");
        let ignored = match self.max_risk {
            Some(m) if m > ceiling => format!(
                "; max_risk({}) alone does not consent: it needs auto_confirm(true) or a terminal",
                level(m)
            ),
            _ => String::new(),
        };
        format!(
            "non-interactive {what} ({why}; no auto_confirm): only steps up to {ceiling} run{ignored}"
        )
    }

    /// What would allow a step of `risk`: the `MigrateOptions` calls and the
    /// CLI flags.
    pub(crate) fn allow(&self, risk: RiskLevel) -> String {
        let flag = format!("--max-risk {}", risk.to_string().to_lowercase());
        if self.ask {
            return format!(
                "allow it with MigrateOptions::max_risk({}) (CLI: {flag})",
                level(risk)
            );
        }
        let needs_max = self.max_risk.is_none_or(|m| m < risk) && risk > self.unasked();
        if self.auto_confirm {
            return format!(
                "allow it with MigrateOptions::max_risk({}) (CLI: --yes {flag})",
                level(risk)
            );
        }
        let (code, cli) = if needs_max {
            (
                format!(
                    "MigrateOptions::auto_confirm(true).max_risk({})",
                    level(risk)
                ),
                format!("--yes {flag}"),
            )
        } else {
            (
                "MigrateOptions::auto_confirm(true)".to_owned(),
                "--yes".into(),
            )
        };
        format!(
            "allow it with {code} (CLI: {cli}), or run it where a terminal can answer the prompt"
        )
    }

    /// The refusal of the steps this policy does not allow, `None` when it
    /// allows every step.
    pub(crate) fn refuse(&self, steps: &[MigrationStep]) -> Option<Error> {
        let refused: Vec<String> = steps
            .iter()
            .filter(|s| s.risk > self.ceiling || s.blocked.is_some())
            .map(|s| match &s.blocked {
                Some(why) => format!(
                    "{} {}: BLOCKED: {why}; no option allows it: change the model or the data",
                    s.operation, s.table
                ),
                None => format!(
                    "{} {}: {} is above the allowed {}: {}; {}",
                    s.operation,
                    s.table,
                    s.risk,
                    self.ceiling,
                    s.reason,
                    self.allow(s.risk)
                ),
            })
            .collect();
        (!refused.is_empty()).then(|| Error::MigrationRefused {
            steps: refused,
            policy: self.describe(),
        })
    }

    /// The refusal when the person asked said no.
    pub(crate) fn declined(&self) -> Error {
        Error::MigrationRefused {
            steps: vec!["declined at the confirmation prompt".into()],
            policy: self.describe(),
        }
    }
}

/// `RiskLevel::Medium`, as code spells it.
fn level(risk: RiskLevel) -> &'static str {
    match risk {
        RiskLevel::Safe => "RiskLevel::Safe",
        RiskLevel::Medium => "RiskLevel::Medium",
        RiskLevel::High => "RiskLevel::High",
    }
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
    use crate::terminal::Headless;

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

    #[test]
    fn max_risk_without_auto_confirm_names_what_is_missing() {
        let p = Policy::new(
            Kind::Migrate,
            &MigrateOptions::default().max_risk(RiskLevel::Medium),
            &Headless,
        );
        let d = p.describe();
        assert!(
            d.starts_with("non-interactive migration (the interaction is Headless"),
            "{d}"
        );
        assert!(d.contains("no auto_confirm"), "{d}");
        assert!(
            d.contains("max_risk(RiskLevel::Medium) alone does not consent"),
            "{d}"
        );
        assert_eq!(
            p.allow(RiskLevel::Medium),
            "allow it with MigrateOptions::auto_confirm(true) (CLI: --yes), or run it where a terminal can answer the prompt"
        );
        assert_eq!(
            p.allow(RiskLevel::High),
            "allow it with MigrateOptions::auto_confirm(true).max_risk(RiskLevel::High) (CLI: --yes --max-risk high), or run it where a terminal can answer the prompt"
        );
    }

    #[test]
    fn auto_confirm_names_the_ceiling_and_the_flag_that_raises_it() {
        let p = Policy::new(
            Kind::Migrate,
            &MigrateOptions::default().auto_confirm(true),
            &Headless,
        );
        assert_eq!(
            p.describe(),
            "migration with auto_confirm(true): steps up to SAFE run without asking (no max_risk set, so the default SAFE); steps above SAFE are refused"
        );
        assert_eq!(
            p.allow(RiskLevel::Medium),
            "allow it with MigrateOptions::max_risk(RiskLevel::Medium) (CLI: --yes --max-risk medium)"
        );
    }

    #[test]
    fn a_rollback_without_consent_allows_medium_and_names_what_allows_high() {
        let p = Policy::new(Kind::Rollback, &MigrateOptions::default(), &Headless);
        assert_eq!(p.ceiling, RiskLevel::Medium);
        assert!(
            p.describe().contains("only steps up to MEDIUM run"),
            "{}",
            p.describe()
        );
        assert!(p
            .allow(RiskLevel::High)
            .starts_with("allow it with MigrateOptions::auto_confirm(true).max_risk(RiskLevel::High) (CLI: --yes --max-risk high)"));
    }
}
