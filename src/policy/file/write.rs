//! The dump: a builder as a policy file ([`PolicyBuilder::to_toml`]), and the pieces learn mode
//! writes with.

use crate::arch::Arch;
use crate::limits::Limits;
use crate::mounts::MountKind;
use crate::namespaces::NetNs;
use crate::policy::net::OnDenied;
use crate::policy::rule::{Action, Arg, Cmp, DefaultAction, Width};
use crate::policy::{syscalls, PolicyBuilder};
use std::fmt::Write as _;

/// The file of `b` (and of `limits`, when given).
pub(super) fn dump(b: &PolicyBuilder, limits: Option<&Limits>) -> String {
    let mut out = format!(
        "# libsbx policy (PolicyBuilder::to_toml); load with sbx-run --policy FILE\n\
         version = {}\ndefault = \"{}\"\nmonitor = \"{}\"\naudit = {}\nallow_speculation = {}\n\
         stack_traces = {}\n",
        super::VERSION,
        default_text(b.default),
        b.monitor.name(),
        b.audit,
        b.allow_speculation,
        b.stack_traces
    );
    // Syscalls whose only rule is an unconditional allow, by name, in one list.
    let mut plain = Vec::new();
    for (&nr, rules) in &b.rules {
        if let ([r], Some(name)) = (rules.as_slice(), name_of(nr)) {
            if r.args.is_empty() && r.action == Action::Allow {
                plain.push(name);
            }
        }
    }
    out.push_str("allow = [");
    for (i, name) in plain.iter().enumerate() {
        if i % 8 == 0 {
            out.push_str("\n   ");
        }
        let _ = write!(out, " {},", toml_str(name));
    }
    out.push_str("\n]\n");
    if let Some(net) = &b.network {
        out.push_str("connect = [");
        for (i, e) in net.allowed.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            let _ = write!(out, "{sep}{}", toml_str(&e.to_spec()));
        }
        let refuse = match net.on_denied {
            OnDenied::Violation => "violation".to_string(),
            OnDenied::Errno(e) => e.to_string(),
        };
        let _ = writeln!(out, "]\nrefuse_connect = \"{refuse}\"");
    }
    let ns = &b.namespaces;
    let network = match ns.net() {
        NetNs::PerSandbox => "private",
        NetNs::Shared => "shared",
        NetNs::Host => "host",
    };
    let _ = write!(
        out,
        "\n[namespaces]\nenabled = {}\nnetwork = \"{network}\"\nhostname = {}\n\
         allow_no_private_proc = {}\n",
        ns.enabled,
        toml_str(&ns.hostname),
        ns.allow_no_proc
    );
    view_toml(&mut out, &b.mounts);
    for (&nr, rules) in &b.rules {
        if name_of(nr).is_some_and(|n| plain.contains(&n)) {
            continue;
        }
        for r in rules {
            out.push_str(&rule_toml_nr(nr, &r.args, r.action, "rule"));
        }
    }
    for (&nr, &action) in &b.fallbacks {
        out.push_str(&rule_toml_nr(nr, &[], action, "fallback"));
    }
    if let Some(l) = limits {
        out.push_str(&limits_toml(l));
    }
    out
}

/// The `[view]` table and the `[[mount]]`s.
fn view_toml(out: &mut String, m: &crate::mounts::MountTree) {
    let _ = write!(
        *out,
        "\n[view]\nroot_writable = {}\nwrite_exec = {}\ndev_pts = {}\n",
        m.root_writable(),
        m.writable_exec(),
        m.dev_pts()
    );
    if let Some(size) = m.dev_shm() {
        let _ = writeln!(*out, "dev_shm = {}", number_toml(size));
    }
    for mount in m.mounts() {
        let path = toml_str(&mount.inside.to_string_lossy());
        let _ = write!(*out, "\n[[mount]]\npath = {path}\n");
        match mount.kind {
            MountKind::Bind {
                source, writable, ..
            } => {
                let _ = write!(
                    *out,
                    "type = \"bind\"\nsource = {}\nwritable = {writable}\n",
                    toml_str(&source.to_string_lossy())
                );
            }
            MountKind::Tmpfs { size } => {
                out.push_str("type = \"tmpfs\"\n");
                if let Some(s) = size {
                    let _ = writeln!(*out, "size = {}", number_toml(s));
                }
            }
            MountKind::Hidden { is_dir } => {
                let _ = write!(*out, "type = \"hidden\"\ndir = {is_dir}\n");
            }
        }
    }
}

/// The name of native syscall `nr`, when it has one that names it back.
fn name_of(nr: u32) -> Option<&'static str> {
    syscalls::name(Arch::native(), u64::from(nr)).filter(|n| syscalls::number(n) == Some(nr))
}

fn default_text(d: DefaultAction) -> String {
    match d {
        DefaultAction::Violation => "violation".into(),
        DefaultAction::AllowAll => "allow".into(),
        DefaultAction::TraceAll => "trace".into(),
        DefaultAction::Errno(e) => format!("errno:{e}"),
    }
}

/// A `[limits]` table holding every limit of `l`.
fn limits_toml(l: &Limits) -> String {
    let value = |v: Option<u64>| v.map_or_else(|| "\"unlimited\"".to_string(), number_toml);
    let mut out = String::from("\n[limits]\n");
    let _ = writeln!(
        out,
        "walltime = {}",
        l.wall_time.map_or_else(
            || "\"unlimited\"".to_string(),
            |d| format!("{:?}", d.as_secs_f64())
        )
    );
    for (key, v) in [
        ("address_space", l.address_space),
        ("cpu_seconds", l.cpu_seconds),
        ("file_size", l.file_size),
        ("open_files", l.open_files),
        ("processes", l.processes),
        ("core", l.core),
        ("memory", l.cgroup.memory),
        ("pids", l.cgroup.pids),
    ] {
        let _ = writeln!(out, "{key} = {}", value(v));
    }
    #[allow(clippy::cast_precision_loss)]
    let cpus = l.cgroup.cpu_millicores.map_or_else(
        || "\"unlimited\"".to_string(),
        |m| format!("{:?}", m as f64 / 1000.0),
    );
    let _ = writeln!(out, "cpus = {cpus}");
    out
}

/// One rule in the file's syntax (the inverse of the reader's), for learn mode.
pub(crate) fn rule_toml(syscall: &str, args: &[Arg], action: Action) -> String {
    rule_toml_as(&toml_str(syscall), args, action, "rule")
}

/// A `[[rule]]` or `[[fallback]]` for native syscall `nr`, by name when it has one.
fn rule_toml_nr(nr: u32, args: &[Arg], action: Action, table: &str) -> String {
    let sys = name_of(nr).map_or_else(|| nr.to_string(), toml_str);
    rule_toml_as(&sys, args, action, table)
}

fn rule_toml_as(sys: &str, args: &[Arg], action: Action, table: &str) -> String {
    let action = match action {
        Action::Allow => "allow".to_string(),
        Action::Trace => "trace".to_string(),
        Action::Violation => "violation".to_string(),
        Action::Errno(e) => format!("errno:{e}"),
    };
    let mut out = format!("\n[[{table}]]\nsyscall = {sys}\naction = \"{action}\"\n");
    if !args.is_empty() {
        out.push_str("args = [");
        for (i, a) in args.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let width = if a.width == Width::W32 { 32 } else { 64 };
            let (cmp, mask) = cmp_parts(a.cmp);
            let _ = write!(
                out,
                "{{ index = {}, width = {width}, cmp = \"{cmp}\", value = {}",
                a.index,
                number_toml(a.value)
            );
            if let Some(m) = mask {
                let _ = write!(out, ", mask = {}", number_toml(m));
            }
            out.push_str(" }");
        }
        out.push_str("]\n");
    }
    out
}

/// The file's (and the builder's) name of a comparison (`eq`, `masked_eq`, ...) and its mask.
pub(crate) fn cmp_parts(cmp: Cmp) -> (&'static str, Option<u64>) {
    match cmp {
        Cmp::Eq => ("eq", None),
        Cmp::Ne => ("ne", None),
        Cmp::Lt => ("lt", None),
        Cmp::Le => ("le", None),
        Cmp::Gt => ("gt", None),
        Cmp::Ge => ("ge", None),
        Cmp::MaskedEq(m) => ("masked_eq", Some(m)),
    }
}

/// A value as a TOML integer, or a hex string when TOML integers cannot hold it.
fn number_toml(v: u64) -> String {
    if i64::try_from(v).is_ok() {
        v.to_string()
    } else {
        format!("\"{v:#x}\"")
    }
}

/// A TOML basic string.
pub(crate) fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}
