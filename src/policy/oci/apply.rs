//! Applying a parsed [`Profile`] to a [`PolicyBuilder`]: the entries that apply, per syscall,
//! the rules given to the builder, and the report's exclusions and overrides where libsbx's
//! mandatory rules decide differently.

use std::collections::{BTreeMap, BTreeSet};

use super::{bad, errno_name, Entry, OciReport, Override, Profile, NATIVE};
use crate::policy::file::take_error;
use crate::policy::rule::{Action, DefaultAction};
use crate::policy::{mandatory, syscalls, PolicyBuilder};

impl Profile {
    pub(super) fn needs_kernel(&self) -> bool {
        self.entries
            .iter()
            .any(|e| e.includes.min_kernel.is_some() || e.excludes.min_kernel.is_some())
    }

    fn default_action(&self) -> DefaultAction {
        match self.default.action {
            Action::Allow => DefaultAction::AllowAll,
            Action::Errno(e) => DefaultAction::Errno(e),
            Action::Trace => DefaultAction::TraceAll,
            Action::Violation => DefaultAction::Violation,
        }
    }

    pub(super) fn apply(
        &self,
        b: &mut PolicyBuilder,
        caps: &BTreeSet<String>,
        kernel: (u32, u32),
    ) -> std::result::Result<OciReport, String> {
        let mut report = OciReport::default();
        b.default_action(self.default_action());
        take_error(b).map_err(|e| bad("defaultAction", e))?;
        let rules = self.rules_by_syscall(caps, kernel, &mut report);
        for (&nr, (name, entries)) in &rules {
            add_rules(b, nr, name, entries, &mut report)?;
        }
        self.default_for_mandatory(b, &rules, &mut report)?;
        self.other_overrides(&mut report);
        Ok(report)
    }

    /// The entries that apply, per native syscall in profile order; the others are listed as
    /// excluded, unknown names as unknown.
    fn rules_by_syscall<'a>(
        &'a self,
        caps: &BTreeSet<String>,
        kernel: (u32, u32),
        report: &mut OciReport,
    ) -> BTreeMap<u32, (&'a str, Vec<&'a Entry>)> {
        let mut rules: BTreeMap<u32, (&str, Vec<&Entry>)> = BTreeMap::new();
        let mut unknown = BTreeSet::new();
        for e in &self.entries {
            if let Some(why) = excluded(e, caps, kernel) {
                report.excluded.push(format!("{}: {why}", e.path));
                continue;
            }
            for name in &e.names {
                match syscalls::number(name) {
                    Some(nr) => rules
                        .entry(nr)
                        .or_insert((name.as_str(), Vec::new()))
                        .1
                        .push(e),
                    None => {
                        unknown.insert(name.clone());
                    }
                }
            }
        }
        report.unknown = unknown.into_iter().collect();
        rules
    }

    /// What the default action means for the calls the mandatory rules decide, when the
    /// profile has no rule for them.
    fn default_for_mandatory(
        &self,
        b: &mut PolicyBuilder,
        rules: &BTreeMap<u32, (&str, Vec<&Entry>)>,
        report: &mut OciReport,
    ) -> std::result::Result<(), String> {
        let m = mandatory::get();
        for (nr, d) in m.denied.iter().filter(|(nr, _)| !rules.contains_key(nr)) {
            match self.default.action {
                Action::Errno(e) if d.ret == mandatory::VIOLATION => {
                    b.errno(*nr, e);
                    take_error(b).map_err(|err| bad("defaultAction", err))?;
                }
                Action::Violation if d.ret == mandatory::VIOLATION => {}
                _ => report.overrides.push(Override {
                    rule: "defaultAction".into(),
                    syscall: Some(d.name.to_string()),
                    profile: self.default.said.clone(),
                    libsbx: denied_verdict(d),
                }),
            }
        }
        if matches!(self.default.action, Action::Allow | Action::Trace) {
            for nr in m.conditional.keys().filter(|nr| !rules.contains_key(nr)) {
                let name = syscalls::name(crate::Arch::native(), u64::from(*nr)).unwrap_or("?");
                report.overrides.push(Override {
                    rule: "defaultAction".into(),
                    syscall: Some(name.to_string()),
                    profile: self.default.said.clone(),
                    libsbx: conditional_check(name).to_string(),
                });
            }
        }
        Ok(())
    }

    /// Sub-architectures, flags and a listener: what libsbx does not follow.
    fn other_overrides(&self, report: &mut OciReport) {
        for (path, arch) in &self.sub_arches {
            report.overrides.push(Override {
                rule: path.clone(),
                syscall: None,
                profile: arch.clone(),
                libsbx: "every call through this ABI is a violation (libsbx's filter admits only the native one)".into(),
            });
        }
        for (path, flag) in &self.flags {
            let libsbx = if flag == "SECCOMP_FILTER_FLAG_LOG" {
                "not set: the kernel logs nothing; libsbx's result reports the calls it refuses"
            } else {
                "not followed: libsbx keeps speculation control on (PolicyBuilder::allow_speculation turns it off)"
            };
            report.overrides.push(Override {
                rule: path.clone(),
                syscall: None,
                profile: flag.clone(),
                libsbx: libsbx.into(),
            });
        }
        if self.listener {
            report.overrides.push(Override {
                rule: "listenerPath".into(),
                syscall: None,
                profile: "a seccomp agent".into(),
                libsbx: "SCMP_ACT_NOTIFY calls go to the caller's Notify handler (trace), not to an agent".into(),
            });
        }
    }
}

/// Adds the rules of `entries` for syscall `nr` (its conditional rules in profile order, then
/// its unconditional one), leaving out what the mandatory rules refuse.
fn add_rules(
    b: &mut PolicyBuilder,
    nr: u32,
    name: &str,
    entries: &[&Entry],
    report: &mut OciReport,
) -> std::result::Result<(), String> {
    let (unconditional, mut ordered): (Vec<&Entry>, Vec<&Entry>) =
        entries.iter().partition(|e| e.args.is_empty());
    if let Some(first) = unconditional.first() {
        if let Some(other) = unconditional
            .iter()
            .find(|e| e.verdict.action != first.verdict.action)
        {
            return Err(bad(
                &other.path,
                format!(
                    "{name}: {} here but {} in {}, both without conditions (the profile does not say which holds)",
                    other.verdict.said, first.verdict.said, first.path
                ),
            ));
        }
        ordered.push(first);
    }
    let m = mandatory::get();
    for e in ordered {
        let overridden = if let Some(d) = m.denied.get(&nr) {
            let kept = e.args.is_empty()
                && matches!(e.verdict.action, Action::Errno(_) | Action::Violation);
            (!kept).then(|| denied_verdict(d))
        } else if m.conditional.contains_key(&nr)
            && matches!(e.verdict.action, Action::Allow | Action::Trace)
        {
            Some(conditional_check(name).to_string())
        } else {
            None
        };
        if let Some(libsbx) = overridden {
            let cond = if e.args.is_empty() {
                ""
            } else {
                " with conditions"
            };
            report.overrides.push(Override {
                rule: e.path.clone(),
                syscall: Some(name.to_string()),
                profile: format!("{}{cond}", e.verdict.said),
                libsbx,
            });
            if m.denied.contains_key(&nr) {
                continue;
            }
        }
        b.rule(nr, &e.args, e.verdict.action);
        take_error(b).map_err(|err| bad(&e.path, format!("{name}: {err}")))?;
        report.rules += 1;
    }
    Ok(())
}

/// Why entry `e` does not apply to a native process holding `caps` on `kernel`, if it does not.
fn excluded(e: &Entry, caps: &BTreeSet<String>, kernel: (u32, u32)) -> Option<String> {
    let native = NATIVE.0;
    let held = |c: &String| caps.contains(&c.to_ascii_uppercase());
    let (inc, exc) = (&e.includes, &e.excludes);
    if !inc.arches.is_empty() && !inc.arches.iter().any(|a| a == native) {
        return Some(format!(
            "includes.arches {:?} does not name {native}",
            inc.arches
        ));
    }
    if let Some(c) = inc.caps.iter().find(|c| !held(c)) {
        return Some(format!("includes.caps needs {c}, not held"));
    }
    if let Some(min) = inc.min_kernel.filter(|&min| kernel < min) {
        return Some(format!(
            "includes.minKernel {}.{} is above the kernel's {}.{}",
            min.0, min.1, kernel.0, kernel.1
        ));
    }
    if exc.arches.iter().any(|a| a == native) {
        return Some(format!("excludes.arches names {native}"));
    }
    if let Some(c) = exc.caps.iter().find(|c| held(c)) {
        return Some(format!("excludes.caps names {c}, held"));
    }
    if let Some(min) = exc.min_kernel.filter(|&min| kernel >= min) {
        return Some(format!(
            "excludes.minKernel {}.{}: the kernel is {}.{}",
            min.0, min.1, kernel.0, kernel.1
        ));
    }
    None
}

/// A deny-only syscall's mandatory verdict and its reason, in words.
fn denied_verdict(d: &mandatory::Denied) -> String {
    let verdict = if d.ret == mandatory::VIOLATION {
        "a violation".to_string()
    } else {
        let e = u16::try_from(d.ret & 0xffff).unwrap_or(0);
        format!("fails with {}", errno_name(e))
    };
    format!("mandatory-denied ({}): {verdict}", d.why)
}

/// What libsbx's conditional mandatory check on `name` decides first.
fn conditional_check(name: &str) -> &'static str {
    match name {
        "clone" => "checked first: clone with namespace flags or CLONE_UNTRACED is a violation",
        "unshare" => "checked first: unshare with namespace flags is a violation",
        "seccomp" => "checked first: seccomp with a user-notification listener (SECCOMP_FILTER_FLAG_NEW_LISTENER) is a violation",
        "execveat" => "checked first: execveat with libsbx's start-exec marker in its 6th argument goes to the monitor (a violation after the start)",
        _ => "checked first by a mandatory rule",
    }
}
