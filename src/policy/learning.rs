//! What a learning run keeps of its base policy (issue 13): the base's explicit denials stay
//! authoritative, during the run and in the policy learned from it.

use super::builder::PolicyBuilder;
use super::rule::{Action, Arg, DefaultAction};
use super::syscalls;

/// One explicit rule of a builder, in the order it was added for its syscall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplicitRule {
    /// The native syscall number.
    pub nr: u32,
    /// Its kernel name (the number as text where the table has none).
    pub name: String,
    /// The conditions (empty: unconditional).
    pub args: Vec<Arg>,
    /// What the rule does.
    pub action: Action,
}

/// A rule that refuses the call (a trace rule is the Notify handler's to decide: not kept).
fn denies(action: Action) -> bool {
    matches!(action, Action::Errno(_) | Action::Violation)
}

impl PolicyBuilder {
    /// A copy with the same filesystem view, namespaces, monitor and audit setting but no
    /// syscall rules of its own (only the mandatory ones) and the default action (violation):
    /// the base of a learning run ([`crate::learn::learning`]) or of a policy file's rules.
    #[must_use]
    pub fn without_rules(&self) -> PolicyBuilder {
        let mut b = self.clone();
        b.rules.clear();
        b.fallbacks.clear();
        b.default = DefaultAction::Violation;
        b
    }

    /// The base of a learning run ([`crate::learn::learning`]): this builder's view, namespaces
    /// and monitor, audit mode on, and of its syscall rules only its explicit denials. For each
    /// syscall with an errno or violation rule, its rules up to the last such one are
    /// kept in order (an allow before a denial is part of the denial's shape: "every ioctl but
    /// TCGETS fails"); the allows after it, the syscalls it only allows, the fallbacks (answers
    /// a group gives where nothing else decides) and the default action are dropped, so that
    /// what the program does there is recorded instead. In the learning run the kept violation
    /// rules end the run as violations (audit mode records and lets through only what no rule
    /// decides). Applied twice, the same as once.
    #[must_use]
    pub fn for_learning(&self) -> PolicyBuilder {
        let mut b = self.without_rules();
        for (&nr, rules) in &self.rules {
            if let Some(last) = rules.iter().rposition(|r| denies(r.action)) {
                b.rules.insert(nr, rules[..=last].to_vec());
            }
        }
        b.audit = true;
        b.learning = true;
        b
    }

    /// The explicit rules, by syscall number and in the order added per syscall (no mandatory
    /// rules, fallbacks or default action).
    pub fn explicit_rules(&self) -> Vec<ExplicitRule> {
        let mut out = Vec::new();
        for (&nr, rules) in &self.rules {
            let name = syscalls::name(crate::arch::Arch::native(), u64::from(nr))
                .map_or_else(|| nr.to_string(), str::to_string);
            out.extend(rules.iter().map(|r| ExplicitRule {
                nr,
                name: name.clone(),
                args: r.args.clone(),
                action: r.action,
            }));
        }
        out
    }
}
