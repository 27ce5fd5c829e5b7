//! Learn mode: a policy from what a program did (issue 13).
//!
//! Run the program one or more times under [`learning`]'s audit policy (the mandatory rules and
//! the base's explicit denials; everything else recorded and let through), merge the runs'
//! results into a [`Learned`], and write it as a policy file ([`Learned::to_toml`], loaded by
//! [`PolicyBuilder::load_rules`]), as builder code for Rust, C or Go, or as an OCI seccomp
//! profile (`emit.rs`). Each syscall the runs made is allowed; the calls whose arguments decide
//! what they can do (see [`crate::policy::learn_arg`]) are allowed only with the values seen,
//! unless more than [`SeenArg::MAX_VALUES`] came. The base's denials come first in every form,
//! so a call the base refuses stays refused whatever was learned.
//!
//! Calls seen only failing (every call returned -errno, such as a probe for a file that is not
//! there) are marked in every form (`# only seen failing: ENOENT`) and stay allowed: the program
//! may take the other branch where the call succeeds, and an errno rule in its place would
//! change what it sees; tighten them by hand. Only the ptrace monitor sees results (at the
//! syscall-exit stop); under user-notify nothing is marked.
//!
//! What learning cannot know: paths not taken in the runs (merge several runs: [`merge`],
//! `sbx-run --learn FILE --learn-merge`). Replay the workload under the learned policy.
//!
//! [`merge`]: Learned::merge

mod emit;

use crate::error::Result;
use crate::policy::{Action, Cmp, ExplicitRule, PolicyBuilder};
use crate::result::{AuditedCall, CallResults, RunResult, SeenArg};

/// `base` turned into a learning policy: see [`PolicyBuilder::for_learning`].
pub fn learning(base: &PolicyBuilder) -> PolicyBuilder {
    base.for_learning()
}

/// One learned syscall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnedCall {
    /// The kernel's name (native ABI).
    pub name: String,
    /// Its number.
    pub nr: u64,
    /// How many times the runs made it (0 for calls read back from a file).
    pub count: u64,
    /// The argument the rule conditions on and the values seen; `None`: allowed unconditionally.
    pub only: Option<SeenArg>,
    /// What the calls returned, where every run that made the call saw it (see
    /// [`AuditedCall::results`]); `None`: not known.
    pub results: Option<CallResults>,
}

impl LearnedCall {
    /// The errnos of a call seen only failing, or `None`.
    pub fn only_failing(&self) -> Option<&[u16]> {
        self.results
            .as_ref()
            .filter(|r| r.only_failing())
            .map(|r| r.errnos.as_slice())
    }
}

/// What one or more learning runs did, as a minimal allow-list after the base's denials.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Learned {
    /// The base policy's explicit denials (see [`PolicyBuilder::for_learning`]), in order.
    pub base: Vec<ExplicitRule>,
    /// The syscalls, in the order first seen.
    pub calls: Vec<LearnedCall>,
}

/// One rule of a learned policy, as every form writes it.
pub(crate) struct Emitted<'a> {
    pub nr: u32,
    pub name: &'a str,
    pub args: Vec<crate::policy::Arg>,
    pub action: Action,
    /// `only seen failing: ENOENT, EACCES`, for a call seen only failing.
    pub note: Option<String>,
    /// The base has rules for this syscall: the rule must come after them.
    pub after_base: bool,
}

impl Learned {
    /// Merges the audit lists of learning runs (results without one are skipped), with no base.
    /// Calls through a foreign ABI are left out: the mandatory rules refuse those anyway.
    pub fn from_results<'a>(results: impl IntoIterator<Item = &'a RunResult>) -> Learned {
        let mut learned = Learned::default();
        for r in results {
            for c in r.audit.iter().flatten() {
                learned.add(c);
            }
        }
        learned
    }

    /// [`from_results`](Self::from_results) with the explicit denials of `base` (the builder
    /// the runs were learned from, or its [`PolicyBuilder::for_learning`]) kept in front.
    pub fn from_runs<'a>(
        base: &PolicyBuilder,
        results: impl IntoIterator<Item = &'a RunResult>,
    ) -> Learned {
        let mut learned = Learned::from_results(results);
        learned.base = base.for_learning().explicit_rules();
        learned
    }

    /// A learned policy file read back (as [`to_toml`](Self::to_toml) writes it): its plain
    /// allows and single-value allow rules of the calls [`crate::policy::learn_arg`] names are
    /// the learned calls, every other rule is base. Counts and results are not in the file.
    pub fn from_toml(text: &str, origin: &str) -> Result<Learned> {
        let mut pb = PolicyBuilder::new();
        pb.load_rules(text, origin)?;
        let mut learned = Learned::default();
        let rules = pb.explicit_rules();
        // A syscall with any rule other than a learned shape keeps all its rules as base.
        let learned_shape = |r: &ExplicitRule| {
            r.action == Action::Allow
                && match r.args.as_slice() {
                    [] => true,
                    [a] => crate::policy::learn_arg(r.nr)
                        .is_some_and(|(i, w)| a.cmp == Cmp::Eq && a.index == i && a.width == w),
                    _ => false,
                }
        };
        for r in &rules {
            if rules.iter().any(|o| o.nr == r.nr && !learned_shape(o)) {
                learned.base.push(r.clone());
                continue;
            }
            let only = r.args.first().map(|a| SeenArg {
                index: a.index,
                width: a.width,
                values: vec![a.value],
                more: false,
            });
            learned.add_call(LearnedCall {
                name: r.name.clone(),
                nr: u64::from(r.nr),
                count: 0,
                only,
                results: None,
            });
        }
        Ok(learned)
    }

    /// Adds what `other` learned: its base rules not already here (after this one's), and its
    /// calls (counts added, values and results merged).
    pub fn merge(&mut self, other: &Learned) {
        for r in &other.base {
            if !self.base.contains(r) {
                self.base.push(r.clone());
            }
        }
        for c in &other.calls {
            self.add_call(c.clone());
        }
    }

    fn add(&mut self, c: &AuditedCall) {
        if c.first.arch != crate::arch::Arch::native() || c.first.name == "UNKNOWN" {
            return;
        }
        self.add_call(LearnedCall {
            name: c.first.name.clone(),
            nr: c.first.nr,
            count: c.count,
            only: c.seen.clone().filter(|s| !s.more),
            results: c.results.clone(),
        });
    }

    fn add_call(&mut self, c: LearnedCall) {
        let Some(have) = self.calls.iter_mut().find(|l| l.nr == c.nr) else {
            self.calls.push(c);
            return;
        };
        have.count = have.count.saturating_add(c.count);
        let merged = match (have.only.take(), &c.only) {
            (Some(mut mine), Some(theirs)) => {
                for v in &theirs.values {
                    if !mine.values.contains(v) {
                        mine.values.push(*v);
                    }
                }
                (mine.values.len() <= SeenArg::MAX_VALUES).then_some(mine)
            }
            _ => None,
        };
        have.only = merged;
        // Unknown in one run: known only if some run saw it succeed (then it is not marked).
        have.results = match (have.results.take(), c.results) {
            (Some(mut mine), Some(theirs)) => {
                mine.merge(&theirs);
                Some(mine)
            }
            (Some(r), None) | (None, Some(r)) if r.ok > 0 => Some(r),
            _ => None,
        };
    }

    /// Every rule in order: the base's, then one per learned value (or one unconditional
    /// allow) per call.
    pub(crate) fn rules(&self) -> Vec<Emitted<'_>> {
        let mut out: Vec<Emitted<'_>> = self
            .base
            .iter()
            .map(|r| Emitted {
                nr: r.nr,
                name: &r.name,
                args: r.args.clone(),
                action: r.action,
                note: None,
                after_base: true,
            })
            .collect();
        for c in &self.calls {
            let note = c.only_failing().map(|errnos| {
                let names: Vec<String> = errnos
                    .iter()
                    .map(|&e| crate::diagnose::errno_name(i32::from(e)))
                    .collect();
                format!("only seen failing: {}", names.join(", "))
            });
            let after_base = self.base.iter().any(|r| u64::from(r.nr) == c.nr);
            let rule = |args| Emitted {
                nr: u32::try_from(c.nr).unwrap_or(u32::MAX),
                name: c.name.as_str(),
                args,
                action: Action::Allow,
                note: note.clone(),
                after_base,
            };
            match &c.only {
                Some(seen) if !seen.values.is_empty() => {
                    for &v in &seen.values {
                        out.push(rule(vec![crate::policy::Arg::new(
                            seen.index,
                            seen.width,
                            Cmp::Eq,
                            v,
                        )]));
                    }
                }
                _ => out.push(rule(Vec::new())),
            }
        }
        out
    }

    /// Adds the base's rules and the learned ones to `pb` (after its own).
    pub fn apply<'b>(&self, pb: &'b mut PolicyBuilder) -> &'b mut PolicyBuilder {
        for r in self.rules() {
            pb.rule(crate::policy::Sys::Nr(r.nr), &r.args, r.action);
        }
        pb
    }
}
