//! Learn mode: a policy from what a program did (issue 13).
//!
//! Run the program one or more times under [`learning`]'s audit policy (only the mandatory
//! rules, everything else recorded and let through), merge the runs' results into a
//! [`Learned`], and write it as a policy file ([`Learned::to_toml`], loaded by
//! [`PolicyBuilder::load_rules`]), as builder code for Rust, C or Go, or as an OCI seccomp
//! profile. Each syscall the runs made is allowed; the calls whose arguments decide what they
//! can do (see [`crate::policy::learn_arg`]) are allowed only with the values seen, unless more
//! than [`SeenArg::MAX_VALUES`] came.
//!
//! What learning cannot know: paths not taken in the runs, and whether a call only ever
//! failed (the monitors see calls, not their results). Replay the workload under the learned
//! policy, and learn from several runs that cover what the program does.

use crate::policy::{self, Action, Arg, Cmp, PolicyBuilder, Width};
use crate::result::{AuditedCall, RunResult, SeenArg};
use std::fmt::Write as _;

/// `base` turned into a learning policy: its filesystem view, namespaces and monitor, no
/// syscall rules of its own (only the mandatory ones), in audit mode.
pub fn learning(base: &PolicyBuilder) -> PolicyBuilder {
    let mut pb = base.without_rules();
    pb.audit(true);
    pb
}

/// One learned syscall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnedCall {
    /// The kernel's name (native ABI).
    pub name: String,
    /// Its number.
    pub nr: u64,
    /// How many times the runs made it.
    pub count: u64,
    /// The argument the rule conditions on and the values seen; `None`: allowed unconditionally.
    pub only: Option<SeenArg>,
}

/// What one or more learning runs did, as a minimal allow-list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Learned {
    /// The syscalls, in the order first seen.
    pub calls: Vec<LearnedCall>,
}

impl Learned {
    /// Merges the audit lists of learning runs (results without one are skipped). Calls through
    /// a foreign ABI are left out: the mandatory rules refuse those anyway.
    pub fn from_results<'a>(results: impl IntoIterator<Item = &'a RunResult>) -> Learned {
        let mut learned = Learned::default();
        for r in results {
            for c in r.audit.iter().flatten() {
                learned.add(c);
            }
        }
        learned
    }

    fn add(&mut self, c: &AuditedCall) {
        if c.first.arch != crate::arch::Arch::native() || c.first.name == "UNKNOWN" {
            return;
        }
        let Some(have) = self.calls.iter_mut().find(|l| l.nr == c.first.nr) else {
            self.calls.push(LearnedCall {
                name: c.first.name.clone(),
                nr: c.first.nr,
                count: c.count,
                only: c.seen.clone().filter(|s| !s.more),
            });
            return;
        };
        have.count = have.count.saturating_add(c.count);
        let merged = match (have.only.take(), &c.seen) {
            (Some(mut mine), Some(theirs)) if !theirs.more => {
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
    }

    /// The rules of each call: one per value seen, or one unconditional allow.
    fn rules(&self) -> Vec<(&str, Vec<Arg>)> {
        let mut out = Vec::new();
        for c in &self.calls {
            match &c.only {
                Some(seen) if !seen.values.is_empty() => {
                    for &v in &seen.values {
                        out.push((c.name.as_str(), vec![Arg::new(seen.index, seen.width, Cmp::Eq, v)]));
                    }
                }
                _ => out.push((c.name.as_str(), Vec::new())),
            }
        }
        out
    }

    /// Adds the learned rules to `pb` (after its own).
    pub fn apply<'b>(&self, pb: &'b mut PolicyBuilder) -> &'b mut PolicyBuilder {
        for (name, args) in self.rules() {
            if args.is_empty() {
                pb.allow(name);
            } else {
                pb.rule(name, &args, Action::Allow);
            }
        }
        pb
    }

    /// The policy file (`policy::file` format).
    pub fn to_toml(&self) -> String {
        let mut out = format!(
            "# libsbx policy learned from {} syscalls (sbx-run --learn); load with sbx-run --policy\n\
             version = {}\n",
            self.calls.len(),
            policy::file::VERSION
        );
        let (plain, conditional): (Vec<_>, Vec<_>) =
            self.rules().into_iter().partition(|(_, args)| args.is_empty());
        out.push_str("allow = [");
        for (i, (name, _)) in plain.iter().enumerate() {
            if i % 8 == 0 {
                out.push_str("\n   ");
            }
            let _ = write!(out, " {},", policy::file::toml_str(name));
        }
        out.push_str("\n]\n");
        for (name, args) in conditional {
            out.push_str(&policy::file::rule_toml(name, &args, Action::Allow));
        }
        out
    }

    /// Rust code that adds the learned rules to a `PolicyBuilder` named `pb`.
    pub fn to_rust(&self) -> String {
        let mut out = String::from("// Learned by libsbx (sbx-run --learn).\n");
        for (name, args) in self.rules() {
            if args.is_empty() {
                let _ = writeln!(out, "pb.allow({name:?});");
            } else {
                let conds: Vec<String> = args.iter().map(rust_arg).collect();
                let _ = writeln!(out, "pb.rule({name:?}, &[{}], sbx::Action::Allow);", conds.join(", "));
            }
        }
        out
    }

    /// C code that adds the learned rules to an `sbx_policy_builder *b`.
    pub fn to_c(&self) -> String {
        let mut out = String::from("/* Learned by libsbx (sbx-run --learn). */\n");
        for (name, args) in self.rules() {
            if args.is_empty() {
                let _ = writeln!(out, "sbx_policy_builder_allow_syscall(b, \"{name}\", NULL);");
            } else {
                let a = &args[0];
                let width = if a.width == Width::W32 { "SBX_WIDTH_W32" } else { "SBX_WIDTH_W64" };
                let _ = writeln!(
                    out,
                    "{{ sbx_arg a = {{ .index = {}, .width = {width}, .cmp = SBX_CMP_EQ, .value = {:#x} }};\n  \
                     sbx_policy_builder_add_rule(b, \"{name}\", &a, 1, SBX_ACTION_ALLOW, 0, NULL); }}",
                    a.index, a.value
                );
            }
        }
        out
    }

    /// Go code that adds the learned rules to a `*sbx.PolicyBuilder` named `b`.
    pub fn to_go(&self) -> String {
        let mut out = String::from("// Learned by libsbx (sbx-run --learn).\n");
        for (name, args) in self.rules() {
            if args.is_empty() {
                let _ = writeln!(out, "b.AllowSyscall({name:?})");
            } else {
                let a = &args[0];
                let width = if a.width == Width::W32 { "sbx.Width32" } else { "sbx.Width64" };
                let _ = writeln!(
                    out,
                    "b.AddRule({name:?}, sbx.ActionAllow, sbx.Arg({}, {width}).Eq({:#x}))",
                    a.index, a.value
                );
            }
        }
        out
    }

    /// An OCI (Docker) seccomp profile: default `SCMP_ACT_ERRNO`, the learned calls allowed.
    /// libsbx's mandatory rules are not in it (they belong to libsbx's own filter).
    pub fn to_oci_json(&self) -> String {
        let mut out = String::from(
            "{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"defaultErrnoRet\": 1,\n  \"architectures\": [\"",
        );
        out.push_str(if cfg!(target_arch = "aarch64") { "SCMP_ARCH_AARCH64" } else { "SCMP_ARCH_X86_64" });
        out.push_str("\"],\n  \"syscalls\": [");
        let mut first = true;
        for (name, args) in self.rules() {
            out.push_str(if first { "\n" } else { ",\n" });
            first = false;
            let _ = write!(out, "    {{ \"names\": [\"{name}\"], \"action\": \"SCMP_ACT_ALLOW\"");
            if let Some(a) = args.first() {
                let op = if a.width == Width::W32 { "SCMP_CMP_MASKED_EQ" } else { "SCMP_CMP_EQ" };
                let (value, two) = if a.width == Width::W32 { (0xffff_ffff, a.value) } else { (a.value, 0) };
                let _ = write!(
                    out,
                    ", \"args\": [{{ \"index\": {}, \"value\": {value}, \"valueTwo\": {two}, \"op\": \"{op}\" }}]",
                    a.index
                );
            }
            out.push_str(" }");
        }
        out.push_str("\n  ]\n}\n");
        out
    }
}

fn rust_arg(a: &Arg) -> String {
    let w = if a.width == Width::W32 { "32" } else { "64" };
    format!("sbx::Arg::eq{w}({}, {:#x})", a.index, a.value)
}
