//! Docker/OCI seccomp profiles (moby's `default.json`, the OCI runtime spec's `linux.seccomp`)
//! read into a [`PolicyBuilder`]: [`PolicyBuilder::load_oci_profile`] (`sbx-run
//! --seccomp-profile FILE`). The profile is applied whole or not at all, after the builder's own
//! rules, and the returned [`OciReport`] says what was left out and what libsbx decides
//! differently.
//!
//! # What is read
//!
//! ```json
//! { "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
//!   "archMap": [{ "architecture": "SCMP_ARCH_X86_64",
//!                 "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"] }],
//!   "syscalls": [
//!     { "names": ["read", "write"], "action": "SCMP_ACT_ALLOW" },
//!     { "names": ["personality"], "action": "SCMP_ACT_ALLOW",
//!       "args": [{ "index": 0, "value": 8, "op": "SCMP_CMP_EQ" }] },
//!     { "names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38,
//!       "excludes": { "caps": ["CAP_SYS_ADMIN"] } } ] }
//! ```
//!
//! Top-level keys: `defaultAction` (required), `defaultErrnoRet`, `architectures` or `archMap`
//! (not both), `syscalls`, `flags`, `listenerPath`, `listenerMetadata`. An entry of `syscalls`:
//! `names` (or the older single `name`), `action`, `errnoRet`, `args`, `comment`, `includes`,
//! `excludes`. An argument: `index`, `value`, `valueTwo`, `op`. A filter: `caps`, `arches`,
//! `minKernel`. `null` counts as absent (Go writes it for empty lists). Any other key, an
//! unknown action, op or flag, a wrong type or an out-of-range number is an
//! [`Error::InvalidPolicy`] naming the origin and the JSON path (`syscalls[12].args[0].op`).
//!
//! # Actions
//!
//! | profile | libsbx |
//! |---|---|
//! | `SCMP_ACT_ALLOW` | allow |
//! | `SCMP_ACT_LOG` | allow (nothing is logged: libsbx has no log-and-allow verdict outside audit runs) |
//! | `SCMP_ACT_ERRNO` | the errno: `errnoRet` for an entry, `defaultErrnoRet` for the default, EPERM when absent (as the runtime spec says); 1..=4095 (0, "fake success", is refused) |
//! | `SCMP_ACT_KILL`, `SCMP_ACT_KILL_THREAD`, `SCMP_ACT_KILL_PROCESS` | a violation: the whole sandbox ends with a report naming the call (also for the thread variant) |
//! | `SCMP_ACT_TRAP` | a violation: libsbx never delivers SIGSYS, so a program emulating calls in a SIGSYS handler does not work |
//! | `SCMP_ACT_TRACE` | trace: the caller's [`Notify`](crate::Notify) decides (without one, a violation); `errnoRet`, the tracer's message, is ignored |
//! | `SCMP_ACT_NOTIFY` | trace, as above: the caller's Notify plays the seccomp agent (not allowed as the default, as in runc) |
//!
//! # Conditions
//!
//! An entry's `args` all have to hold (AND), compared on all 64 bits as libseccomp does:
//! `SCMP_CMP_EQ`, `NE`, `LT`, `LE`, `GT`, `GE` compare the argument with `value`;
//! `SCMP_CMP_MASKED_EQ` is `arg & value == valueTwo` (libseccomp's order: `value` is the mask).
//! `valueTwo` other than 0 is refused for the other ops. Caveat of the 64-bit reading (the same
//! under runc): for an `int` argument, a caller may set the upper half of the register, which
//! the kernel ignores, so an allow-rule `GT`/`GE`/`NE` on an `int` admits values the profile
//! meant to refuse (moby's `socket` rule `domain > 40` admits `0x1_0000_0026`, AF_ALG). libsbx's
//! own rules compare `int` arguments on 32 bits.
//!
//! For one syscall the rules keep the profile's order, except that its conditional rules go
//! before its unconditional one; the first that matches decides. Two unconditional rules of one
//! syscall with different verdicts are an error (the profile does not say which holds).
//!
//! # Includes and excludes
//!
//! Evaluated as moby does, for the sandboxee: `includes.arches` must name the native
//! architecture (`amd64` on x86-64, `arm64` on AArch64), `includes.caps` must all be held,
//! `includes.minKernel` (`MAJOR.MINOR`) must be at most the running kernel; an entry is left out
//! when `excludes.arches` names the native architecture, `excludes.caps` names any held
//! capability, or `excludes.minKernel` is at most the running kernel. The capabilities are
//! [`OciOptions::capabilities`]: none by default, an unprivileged container, which is what a
//! libsbx sandboxee is (it holds no capability). The kernel is the running one unless
//! [`OciOptions::kernel`] says otherwise. Entries left out are listed in
//! [`OciReport::excluded`].
//!
//! Names the native table does not know (other architectures' calls, calls of newer kernels)
//! are skipped and listed in [`OciReport::unknown`]. `architectures`/`archMap` names must start
//! with `SCMP_ARCH_`; only the native entry matters.
//!
//! # The mandatory rules stay on top
//!
//! libsbx's mandatory rules (see `policy`) come before the profile, and the report's
//! [`overrides`](OciReport::overrides) list each place where they decide differently:
//! - a profile rule that allows or traces a deny-only syscall (moby allows `ptrace` from 4.8,
//!   and `bpf`, `perf_event_open`, module loading with capabilities) is left out: the call stays
//!   a violation (`clone3`: ENOSYS). An unconditional errno or kill rule on one is kept.
//! - a deny-only syscall the profile does not name gets the profile's default: with an ERRNO
//!   default it fails with that errno, as in the container (keyctl → EPERM under moby's
//!   profile), except `clone3`, which keeps ENOSYS so that libc falls back to `clone`; with an
//!   allowing or tracing default it stays a violation.
//! - rules allowing `clone`, `unshare`, `seccomp` or `execveat`: libsbx's conditional checks
//!   come first (namespace flags, `CLONE_UNTRACED`, a user-notification listener, its own start
//!   exec).
//! - a sub-architecture of the native one (`SCMP_ARCH_X86`, `SCMP_ARCH_X32`; `SCMP_ARCH_ARM` on
//!   AArch64): every call through that ABI is a violation.
//! - flag `SECCOMP_FILTER_FLAG_SPEC_ALLOW` (libsbx keeps speculation control:
//!   [`PolicyBuilder::allow_speculation`]), `SECCOMP_FILTER_FLAG_LOG` (not set) and a
//!   `listenerPath` (NOTIFY calls go to the caller's Notify, not to an agent). `TSYNC` and
//!   `WAIT_KILLABLE_RECV` need nothing (libsbx installs the filter before the program runs, and
//!   uses the latter itself where the kernel has it).

use std::collections::BTreeSet;
use std::fmt;

use serde_json::Value;

use super::rule::{Action, Arg};
use super::PolicyBuilder;
use crate::error::{Error, Result};

mod apply;
mod parse;

/// What the profile's `includes`/`excludes` are evaluated against.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OciOptions {
    /// The capabilities the process is taken to hold (`CAP_SYS_ADMIN`, case-insensitive, `CAP_`
    /// optional). Empty by default: an unprivileged container, and a libsbx sandboxee holds none.
    pub capabilities: Vec<String>,
    /// The kernel version `(major, minor)` compared with `minKernel`; `None`: the running one.
    pub kernel: Option<(u32, u32)>,
}

/// A place where the imported policy decides differently from the profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// The JSON path of what the profile says (`syscalls[1]`, `defaultAction`, `flags[0]`).
    pub rule: String,
    /// The syscall concerned, if one.
    pub syscall: Option<String>,
    /// What the profile says (`SCMP_ACT_ALLOW`, `SCMP_ACT_ERRNO (EPERM)`, `SCMP_ARCH_X86`).
    pub profile: String,
    /// What libsbx does instead, and why.
    pub libsbx: String,
}

impl fmt::Display for Override {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = &self.syscall {
            write!(f, "{s}: ")?;
        }
        write!(
            f,
            "{} says {}; libsbx: {}",
            self.rule, self.profile, self.libsbx
        )
    }
}

/// What [`PolicyBuilder::load_oci_profile`] did with a profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OciReport {
    /// Rules given to the builder: one per native syscall of each entry that applies and is not
    /// overridden (the default's errno for the deny-only syscalls the profile does not name is
    /// not counted).
    pub rules: usize,
    /// Entries of `syscalls` left out by their `includes`/`excludes`, with the reason.
    pub excluded: Vec<String>,
    /// Syscall names not in the native table, skipped (sorted, once each).
    pub unknown: Vec<String>,
    /// Where libsbx's mandatory rules (or what libsbx lacks) override the profile.
    pub overrides: Vec<Override>,
}

impl fmt::Display for OciReport {
    /// One line of counts, then one line per excluded entry, the unknown names on one line, and
    /// one line per override.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} rules applied, {} entries not for this process, {} unknown syscall names skipped, {} overrides",
            self.rules,
            self.excluded.len(),
            self.unknown.len(),
            self.overrides.len()
        )?;
        for e in &self.excluded {
            writeln!(f, "excluded: {e}")?;
        }
        if !self.unknown.is_empty() {
            writeln!(f, "unknown: {}", self.unknown.join(" "))?;
        }
        for o in &self.overrides {
            writeln!(f, "override: {o}")?;
        }
        Ok(())
    }
}

impl PolicyBuilder {
    /// Adds an OCI seccomp profile's rules (JSON; see the `policy::oci` module) after the
    /// builder's own and sets its default action, for a process without capabilities on the
    /// running kernel. `origin` names the profile in errors. A bad profile is an
    /// [`Error::InvalidPolicy`] naming `origin`, the JSON path and the problem, and leaves the
    /// builder as it was.
    pub fn load_oci_profile(&mut self, json: &str, origin: &str) -> Result<OciReport> {
        self.load_oci_profile_with(json, origin, &OciOptions::default())
    }

    /// [`load_oci_profile`](Self::load_oci_profile) with the capabilities and kernel its
    /// `includes`/`excludes` are evaluated against. An unknown capability name is an
    /// [`Error::InvalidArgument`].
    pub fn load_oci_profile_with(
        &mut self,
        json: &str,
        origin: &str,
        options: &OciOptions,
    ) -> Result<OciReport> {
        let caps = options
            .capabilities
            .iter()
            .map(|c| capability(c))
            .collect::<std::result::Result<BTreeSet<_>, _>>()
            .map_err(Error::InvalidArgument)?;
        let invalid = |m: String| Error::InvalidPolicy(format!("{origin}: {m}"));
        let value: Value = serde_json::from_str(json).map_err(|e| invalid(e.to_string()))?;
        let profile = Profile::parse(&value).map_err(invalid)?;
        let kernel = match options.kernel {
            Some(k) => k,
            None if profile.needs_kernel() => running_kernel()?,
            None => (0, 0),
        };
        let mut trial = self.clone();
        let report = profile.apply(&mut trial, &caps, kernel).map_err(invalid)?;
        *self = trial;
        Ok(report)
    }
}

/// The native architecture's names: Go's (moby's `arches`), libseccomp's, and the
/// sub-architectures a process here can call through.
#[cfg(target_arch = "x86_64")]
const NATIVE: (&str, &str, &[&str]) = (
    "amd64",
    "SCMP_ARCH_X86_64",
    &["SCMP_ARCH_X86", "SCMP_ARCH_X32"],
);
#[cfg(not(target_arch = "x86_64"))]
const NATIVE: (&str, &str, &[&str]) = ("arm64", "SCMP_ARCH_AARCH64", &["SCMP_ARCH_ARM"]);

/// The capabilities of `linux/capability.h`, without `CAP_`.
const CAPABILITIES: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// A caller's capability name as profiles spell it (`CAP_SYS_ADMIN`).
fn capability(name: &str) -> std::result::Result<String, String> {
    let upper = name.trim().to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    if CAPABILITIES.contains(&bare) {
        Ok(format!("CAP_{bare}"))
    } else {
        Err(format!(
            "unknown capability {name:?} (a name such as CAP_SYS_ADMIN)"
        ))
    }
}

/// The running kernel's `(major, minor)`.
fn running_kernel() -> Result<(u32, u32)> {
    let path = "/proc/sys/kernel/osrelease";
    let release = std::fs::read_to_string(path).map_err(|e| {
        Error::InvalidArgument(format!(
            "the profile compares kernel versions and {path} cannot be read ({e}); pass the kernel in OciOptions"
        ))
    })?;
    kernel_version(release.trim()).ok_or_else(|| {
        Error::InvalidArgument(format!(
            "cannot read a kernel version in {release:?} ({path})"
        ))
    })
}

/// `MAJOR.MINOR` at the start of `s` (`6.18.0-rc1` → `(6, 18)`).
fn kernel_version(s: &str) -> Option<(u32, u32)> {
    let mut parts = s.splitn(3, '.');
    let major = parts.next()?.parse().ok()?;
    let minor: String = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some((major, minor.parse().ok()?))
}

/// An action of the profile: libsbx's verdict and the profile's spelling.
#[derive(Debug, Clone)]
struct Verdict {
    action: Action,
    said: String,
}

#[derive(Debug, Default)]
struct Filter {
    caps: Vec<String>,
    arches: Vec<String>,
    min_kernel: Option<(u32, u32)>,
}

#[derive(Debug)]
struct Entry {
    path: String,
    names: Vec<String>,
    verdict: Verdict,
    args: Vec<Arg>,
    includes: Filter,
    excludes: Filter,
}

#[derive(Debug)]
struct Profile {
    default: Verdict,
    /// `(path, name)` of the native sub-architectures the profile admits.
    sub_arches: Vec<(String, String)>,
    /// `(path, flag)` of the flags libsbx does not follow.
    flags: Vec<(String, String)>,
    listener: bool,
    entries: Vec<Entry>,
}

/// A problem: `path: what`.
fn bad(path: &str, what: impl fmt::Display) -> String {
    format!("{path}: {what}")
}

fn errno_name(e: u16) -> String {
    format!("{:?}", nix::errno::Errno::from_raw(i32::from(e)))
}

#[cfg(test)]
mod tests;
