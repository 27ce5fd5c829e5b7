//! The rule table a built policy is made of: for each syscall number, an ordered list of rules
//! (mandatory ones first, then the user's), each a conjunction of argument conditions and a filter
//! return value. Both the BPF compiler and the model ([`Table::decide`]) read this one table, so
//! they cannot disagree about which rules exist, only (testably) about what they mean.

use std::collections::BTreeMap;

use super::rule::Arg;

/// An argument condition, possibly negated. Negation lets the mandatory rules say "any of these
/// flag bits set" (`!(x & mask == 0)`) without widening the public [`Cmp`](super::Cmp).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cond {
    pub arg: Arg,
    pub negate: bool,
}

impl Cond {
    pub fn new(arg: Arg) -> Cond {
        Cond { arg, negate: false }
    }

    pub fn not(arg: Arg) -> Cond {
        Cond { arg, negate: true }
    }

    pub fn matches(&self, args: &[u64; 6]) -> bool {
        self.arg.matches(args) != self.negate
    }
}

/// A rule: when every condition holds (always, if there are none), return `ret`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rule {
    pub conds: Vec<Cond>,
    pub ret: u32,
}

impl Rule {
    pub fn unconditional(ret: u32) -> Rule {
        Rule {
            conds: Vec::new(),
            ret,
        }
    }

    pub fn is_unconditional(&self) -> bool {
        self.conds.is_empty()
    }
}

/// Per-syscall rule lists plus the return value for everything else. Rules after the first
/// unconditional one are never kept, so a list ends either in an unconditional rule or falls
/// through to `default_ret`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Table {
    pub leaves: BTreeMap<u32, Vec<Rule>>,
    pub default_ret: u32,
}

impl Table {
    /// The verdict for native syscall `nr` with these arguments: the first matching rule wins.
    pub fn decide(&self, nr: u32, args: &[u64; 6]) -> u32 {
        self.leaves
            .get(&nr)
            .and_then(|rules| {
                rules
                    .iter()
                    .find(|r| r.conds.iter().all(|c| c.matches(args)))
                    .map(|r| r.ret)
            })
            .unwrap_or(self.default_ret)
    }

    /// The single return value of `nr` if it does not depend on the arguments.
    pub fn constant(&self, nr: u32) -> Option<u32> {
        match self.leaves.get(&nr).and_then(|rules| rules.first()) {
            None => Some(self.default_ret),
            Some(first) => first.is_unconditional().then_some(first.ret),
        }
    }
}
