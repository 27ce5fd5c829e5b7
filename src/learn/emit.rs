//! The forms of a learned policy: the policy file, Rust, C and Go builder code, and an OCI
//! seccomp profile. Each writes [`Learned::rules`] in order (the base's denials first) and marks
//! calls seen only failing with a comment.

use super::{Emitted, Learned};
use crate::policy::file::cmp_parts;
use crate::policy::{self, Action, Arg, Cmp, Width};
use std::fmt::Write as _;

/// Whether a rule goes in the file's plain `allow` list (else it is a `[[rule]]`, which the file
/// applies after the list: a rule for a syscall the base rules must follow them).
fn plain(r: &Emitted<'_>) -> bool {
    r.args.is_empty() && r.action == Action::Allow && !r.after_base
}

impl Learned {
    /// The policy file (`policy::file` format).
    pub fn to_toml(&self) -> String {
        let mut out = format!(
            "# libsbx policy learned from {} syscalls (sbx-run --learn); load with sbx-run --policy\n\
             version = {}\n",
            self.calls.len(),
            policy::file::VERSION
        );
        let rules = self.rules();
        out.push_str("allow = [");
        let mut in_line = 0;
        for r in rules.iter().filter(|r| plain(r)) {
            if let Some(note) = &r.note {
                let _ = write!(out, "\n    # {note}\n    {},", policy::file::toml_str(r.name));
                in_line = 8;
                continue;
            }
            if in_line % 8 == 0 {
                out.push_str("\n   ");
                in_line = 0;
            }
            in_line += 1;
            let _ = write!(out, " {},", policy::file::toml_str(r.name));
        }
        out.push_str("\n]\n");
        if !self.base.is_empty() {
            out.push_str("\n# The base policy's denials (learning kept them in force).");
        }
        for r in rules.iter().filter(|r| !plain(r)) {
            if let Some(note) = &r.note {
                let _ = write!(out, "\n# {note}");
            }
            out.push_str(&policy::file::rule_toml(r.name, &r.args, r.action));
        }
        out
    }

    /// Rust code that adds the learned rules to a `PolicyBuilder` named `pb`.
    pub fn to_rust(&self) -> String {
        let mut out = String::from("// Learned by libsbx (sbx-run --learn).\n");
        for r in self.rules() {
            if let Some(note) = &r.note {
                let _ = writeln!(out, "// {note}");
            }
            if r.args.is_empty() && r.action == Action::Allow {
                let _ = writeln!(out, "pb.allow({:?});", r.name);
                continue;
            }
            let conds: Vec<String> = r.args.iter().map(rust_arg).collect();
            let action = match r.action {
                Action::Errno(e) => format!("sbx::Action::Errno({e})"),
                a => format!("sbx::Action::{a:?}"),
            };
            let _ = writeln!(out, "pb.rule({:?}, &[{}], {action});", r.name, conds.join(", "));
        }
        out
    }

    /// C code that adds the learned rules to an `sbx_policy_builder *b`.
    pub fn to_c(&self) -> String {
        let mut out = String::from("/* Learned by libsbx (sbx-run --learn). */\n");
        for r in self.rules() {
            if let Some(note) = &r.note {
                let _ = writeln!(out, "/* {note} */");
            }
            let (action, errno) = match r.action {
                Action::Allow => ("SBX_ACTION_ALLOW", 0),
                Action::Errno(e) => ("SBX_ACTION_ERRNO", e),
                Action::Trace => ("SBX_ACTION_TRACE", 0),
                Action::Violation => ("SBX_ACTION_VIOLATION", 0),
            };
            if r.args.is_empty() {
                if r.action == Action::Allow {
                    let _ = writeln!(out, "sbx_policy_builder_allow_syscall(b, \"{}\", NULL);", r.name);
                } else {
                    let _ = writeln!(
                        out,
                        "sbx_policy_builder_add_rule(b, \"{}\", NULL, 0, {action}, {errno}, NULL);",
                        r.name
                    );
                }
                continue;
            }
            let conds: Vec<String> = r.args.iter().map(c_arg).collect();
            let _ = writeln!(
                out,
                "{{ sbx_arg a[] = {{ {} }};\n  \
                 sbx_policy_builder_add_rule(b, \"{}\", a, {}, {action}, {errno}, NULL); }}",
                conds.join(", "),
                r.name,
                r.args.len()
            );
        }
        out
    }

    /// Go code that adds the learned rules to a `*sbx.PolicyBuilder` named `b`.
    pub fn to_go(&self) -> String {
        let mut out = String::from("// Learned by libsbx (sbx-run --learn).\n");
        for r in self.rules() {
            if let Some(note) = &r.note {
                let _ = writeln!(out, "// {note}");
            }
            if r.args.is_empty() && r.action == Action::Allow {
                let _ = writeln!(out, "b.AllowSyscall({:?})", r.name);
                continue;
            }
            let action = match r.action {
                Action::Errno(e) => format!("sbx.ActionErrno(syscall.Errno({e}))"),
                a => format!("sbx.Action{a:?}"),
            };
            let mut line = format!("b.AddRule({:?}, {action}", r.name);
            for a in &r.args {
                line.push_str(", ");
                line.push_str(&go_arg(a));
            }
            let _ = writeln!(out, "{line})");
        }
        out
    }

    /// An OCI (Docker) seccomp profile: default `SCMP_ACT_ERRNO`, the base's denials and the
    /// learned calls in order (a marked call carries its note as the entry's `comment`).
    /// libsbx's mandatory rules are not in it (they belong to libsbx's own filter). libseccomp
    /// does not apply rules in order: a base allow that carves an exception out of a later
    /// denial of the same syscall holds there only where the two do not overlap.
    pub fn to_oci_json(&self) -> String {
        let mut out = String::from(
            "{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"defaultErrnoRet\": 1,\n  \"architectures\": [\"",
        );
        out.push_str(if cfg!(target_arch = "aarch64") { "SCMP_ARCH_AARCH64" } else { "SCMP_ARCH_X86_64" });
        out.push_str("\"],\n  \"syscalls\": [");
        let mut first = true;
        for r in self.rules() {
            out.push_str(if first { "\n" } else { ",\n" });
            first = false;
            let action = match r.action {
                Action::Allow => "\"SCMP_ACT_ALLOW\"".to_string(),
                Action::Errno(e) => format!("\"SCMP_ACT_ERRNO\", \"errnoRet\": {e}"),
                Action::Trace => "\"SCMP_ACT_TRACE\"".to_string(),
                Action::Violation => "\"SCMP_ACT_KILL_PROCESS\"".to_string(),
            };
            let _ = write!(out, "    {{ \"names\": [\"{}\"], \"action\": {action}", r.name);
            if !r.args.is_empty() {
                let args: Vec<String> = r.args.iter().map(oci_arg).collect();
                let _ = write!(out, ", \"args\": [{}]", args.join(", "));
            }
            if let Some(note) = &r.note {
                let _ = write!(out, ", \"comment\": \"{note}\"");
            }
            out.push_str(" }");
        }
        out.push_str("\n  ]\n}\n");
        out
    }
}

fn rust_arg(a: &Arg) -> String {
    let w = if a.width == Width::W32 { "32" } else { "64" };
    let (cmp, mask) = cmp_parts(a.cmp);
    match mask {
        Some(m) => format!("sbx::Arg::{cmp}{w}({}, {m:#x}, {:#x})", a.index, a.value),
        None => format!("sbx::Arg::{cmp}{w}({}, {:#x})", a.index, a.value),
    }
}

fn c_arg(a: &Arg) -> String {
    let width = if a.width == Width::W32 { "SBX_WIDTH_W32" } else { "SBX_WIDTH_W64" };
    let (cmp, mask) = cmp_parts(a.cmp);
    format!(
        "{{ .index = {}, .width = {width}, .cmp = SBX_CMP_{}, .mask = {:#x}, .value = {:#x} }}",
        a.index,
        cmp.to_ascii_uppercase(),
        mask.unwrap_or(0),
        a.value
    )
}

fn go_arg(a: &Arg) -> String {
    let width = if a.width == Width::W32 { "sbx.Width32" } else { "sbx.Width64" };
    match cmp_parts(a.cmp) {
        (_, Some(m)) => format!("sbx.Arg({}, {width}).MaskedEq({m:#x}, {:#x})", a.index, a.value),
        (name, None) => {
            // Go's method names: Eq, Ne, Lt, ...
            let method = name[..1].to_ascii_uppercase() + &name[1..];
            format!("sbx.Arg({}, {width}).{method}({:#x})", a.index, a.value)
        }
    }
}

/// An OCI `args` entry. A 32-bit comparison is a masked one on the low half where it can be
/// (equality); the others compare all 64 bits, as libseccomp does.
fn oci_arg(a: &Arg) -> String {
    let (op, value, two) = match a.cmp {
        Cmp::Eq if a.width == Width::W32 => ("SCMP_CMP_MASKED_EQ", 0xffff_ffff, a.value),
        Cmp::Eq => ("SCMP_CMP_EQ", a.value, 0),
        Cmp::Ne => ("SCMP_CMP_NE", a.value, 0),
        Cmp::Lt => ("SCMP_CMP_LT", a.value, 0),
        Cmp::Le => ("SCMP_CMP_LE", a.value, 0),
        Cmp::Gt => ("SCMP_CMP_GT", a.value, 0),
        Cmp::Ge => ("SCMP_CMP_GE", a.value, 0),
        Cmp::MaskedEq(m) => ("SCMP_CMP_MASKED_EQ", m & a.width.mask(), a.value),
    };
    format!(
        "{{ \"index\": {}, \"value\": {value}, \"valueTwo\": {two}, \"op\": \"{op}\" }}",
        a.index
    )
}
