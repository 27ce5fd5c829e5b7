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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Map, Value};

use super::file::take_error;
use super::mandatory;
use super::rule::{check_errno, Action, Arg, Cmp, DefaultAction, Width, MAX_ERRNO};
use super::syscalls;
use super::PolicyBuilder;
use crate::error::{Error, Result};

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

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The object at `path`, whose keys must all be in `keys`.
fn object<'a>(
    v: &'a Value,
    path: &str,
    keys: &[&str],
) -> std::result::Result<&'a Map<String, Value>, String> {
    let Value::Object(m) = v else {
        let at = if path.is_empty() { "the profile" } else { path };
        return Err(bad(at, format!("expected an object, found {}", kind(v))));
    };
    if let Some(k) = m.keys().find(|k| !keys.contains(&k.as_str())) {
        return Err(bad(
            &join(path, k),
            format!("unknown key (expected one of {})", keys.join(", ")),
        ));
    }
    Ok(m)
}

/// A key's value; `None` when absent or `null`.
fn get<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    m.get(key).filter(|v| !v.is_null())
}

fn string<'a>(v: &'a Value, path: &str) -> std::result::Result<&'a str, String> {
    v.as_str()
        .ok_or_else(|| bad(path, format!("expected a string, found {}", kind(v))))
}

fn array<'a>(v: &'a Value, path: &str) -> std::result::Result<&'a [Value], String> {
    v.as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| bad(path, format!("expected an array, found {}", kind(v))))
}

fn strings(v: &Value, path: &str) -> std::result::Result<Vec<String>, String> {
    array(v, path)?
        .iter()
        .enumerate()
        .map(|(i, s)| string(s, &format!("{path}[{i}]")).map(str::to_string))
        .collect()
}

fn uint(v: &Value, path: &str) -> std::result::Result<u64, String> {
    v.as_u64().ok_or_else(|| {
        bad(
            path,
            format!("expected an unsigned 64-bit integer, found {v}"),
        )
    })
}

/// An errno of the profile (absent: EPERM).
fn errno(v: Option<&Value>, path: &str) -> std::result::Result<u16, String> {
    let Some(v) = v else {
        return Ok(crate::sys::errno16(libc::EPERM));
    };
    let n = uint(v, path)?;
    match u16::try_from(n) {
        Ok(e) if check_errno(e).is_ok() => Ok(e),
        _ => Err(bad(
            path,
            format!("errno {n} is outside 1..={MAX_ERRNO} (0 would fake success, which libsbx does not do)"),
        )),
    }
}

/// `action` (at `path`) with its errno (`errno_key` of `m`).
fn verdict(
    m: &Map<String, Value>,
    path: &str,
    action_key: &str,
    errno_key: &str,
) -> std::result::Result<Verdict, String> {
    let action_path = join(path, action_key);
    let errno_path = join(path, errno_key);
    let said = string(
        get(m, action_key).ok_or_else(|| bad(&action_path, "missing"))?,
        &action_path,
    )?;
    let errno_ret = get(m, errno_key);
    let no_errno = || match errno_ret {
        Some(_) => Err(bad(
            &errno_path,
            format!("{said} takes no errno (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)"),
        )),
        None => Ok(()),
    };
    let action = match said {
        "SCMP_ACT_ALLOW" | "SCMP_ACT_LOG" => no_errno().map(|()| Action::Allow)?,
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" | "SCMP_ACT_KILL_PROCESS" | "SCMP_ACT_TRAP" => {
            no_errno().map(|()| Action::Violation)?
        }
        "SCMP_ACT_NOTIFY" => no_errno().map(|()| Action::Trace)?,
        "SCMP_ACT_TRACE" => {
            // The tracer's message: checked as a number, not used.
            if let Some(v) = errno_ret {
                uint(v, &errno_path)?;
            }
            Action::Trace
        }
        "SCMP_ACT_ERRNO" => Action::Errno(errno(errno_ret, &errno_path)?),
        other => {
            return Err(bad(
                &action_path,
                format!("unknown action {other:?} (expected SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL, SCMP_ACT_KILL_THREAD, SCMP_ACT_KILL_PROCESS, SCMP_ACT_TRAP, SCMP_ACT_TRACE, SCMP_ACT_LOG or SCMP_ACT_NOTIFY)"),
            ))
        }
    };
    let said = match action {
        Action::Errno(e) => format!("{said} ({})", errno_name(e)),
        _ => said.to_string(),
    };
    Ok(Verdict { action, said })
}

fn errno_name(e: u16) -> String {
    format!("{:?}", nix::errno::Errno::from_raw(i32::from(e)))
}

fn arch_name(v: &Value, path: &str) -> std::result::Result<String, String> {
    let a = string(v, path)?;
    if a.starts_with("SCMP_ARCH_") {
        Ok(a.to_string())
    } else {
        Err(bad(
            path,
            format!("{a:?} is not an architecture (SCMP_ARCH_X86_64, SCMP_ARCH_AARCH64, ...)"),
        ))
    }
}

fn filter(value: &Value, path: &str) -> std::result::Result<Filter, String> {
    let map = object(value, path, &["caps", "arches", "minKernel"])?;
    let mut out = Filter::default();
    if let Some(caps) = get(map, "caps") {
        let caps_path = join(path, "caps");
        out.caps = strings(caps, &caps_path)?;
        if let Some((i, cap)) = out
            .caps
            .iter()
            .enumerate()
            .find(|(_, cap)| !cap.to_ascii_uppercase().starts_with("CAP_"))
        {
            return Err(bad(
                &format!("{caps_path}[{i}]"),
                format!("{cap:?} is not a capability (CAP_...)"),
            ));
        }
    }
    if let Some(arches) = get(map, "arches") {
        out.arches = strings(arches, &join(path, "arches"))?;
    }
    if let Some(min) = get(map, "minKernel") {
        let min_path = join(path, "minKernel");
        let text = string(min, &min_path)?;
        let version = kernel_version(text)
            .filter(|_| text.split('.').count() == 2)
            .ok_or_else(|| {
                bad(
                    &min_path,
                    format!("{text:?} is not a kernel version (MAJOR.MINOR)"),
                )
            })?;
        out.min_kernel = Some(version);
    }
    Ok(out)
}

/// One `args` element.
fn condition(v: &Value, path: &str) -> std::result::Result<Arg, String> {
    let m = object(v, path, &["index", "value", "valueTwo", "op"])?;
    let field = |key: &str| get(m, key).ok_or_else(|| bad(&join(path, key), "missing"));
    let index_path = join(path, "index");
    let index = uint(field("index")?, &index_path)?;
    let index = u8::try_from(index)
        .ok()
        .filter(|i| *i <= 5)
        .ok_or_else(|| {
            bad(
                &index_path,
                format!("argument index {index} is outside 0..=5"),
            )
        })?;
    let value = uint(field("value")?, &join(path, "value"))?;
    let two_path = join(path, "valueTwo");
    let two = get(m, "valueTwo").map_or(Ok(0), |v| uint(v, &two_path))?;
    let op_path = join(path, "op");
    let op = string(field("op")?, &op_path)?;
    let (cmp, compared) = match op {
        "SCMP_CMP_EQ" => (Cmp::Eq, value),
        "SCMP_CMP_NE" => (Cmp::Ne, value),
        "SCMP_CMP_LT" => (Cmp::Lt, value),
        "SCMP_CMP_LE" => (Cmp::Le, value),
        "SCMP_CMP_GT" => (Cmp::Gt, value),
        "SCMP_CMP_GE" => (Cmp::Ge, value),
        // libseccomp: (arg & datum_a) == datum_b.
        "SCMP_CMP_MASKED_EQ" => (Cmp::MaskedEq(value), two),
        other => {
            return Err(bad(
                &op_path,
                format!("unknown op {other:?} (expected SCMP_CMP_EQ, SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_GT, SCMP_CMP_GE or SCMP_CMP_MASKED_EQ)"),
            ))
        }
    };
    if two != 0 && !matches!(cmp, Cmp::MaskedEq(_)) {
        return Err(bad(
            &two_path,
            format!("valueTwo is only for SCMP_CMP_MASKED_EQ, not {op}"),
        ));
    }
    if two & !value != 0 && matches!(cmp, Cmp::MaskedEq(_)) {
        return Err(bad(
            &two_path,
            format!(
                "{two:#x} has bits outside the mask (value) {value:#x}: the rule can never match"
            ),
        ));
    }
    // Index and masked value are checked above; a 64-bit comparison takes any value.
    Ok(Arg::new(index, Width::W64, cmp, compared))
}

fn entry(v: &Value, path: String) -> std::result::Result<Entry, String> {
    let m = object(
        v,
        &path,
        &[
            "names", "name", "action", "errnoRet", "args", "comment", "includes", "excludes",
        ],
    )?;
    let names = match (get(m, "names"), get(m, "name")) {
        (Some(_), Some(_)) => {
            return Err(bad(&path, "has both name and names (use names)"));
        }
        (Some(n), None) => strings(n, &join(&path, "names"))?,
        (None, Some(n)) => vec![string(n, &join(&path, "name"))?.to_string()],
        (None, None) => return Err(bad(&join(&path, "names"), "missing")),
    };
    if let Some(c) = get(m, "comment") {
        string(c, &join(&path, "comment"))?;
    }
    let verdict = verdict(m, &path, "action", "errnoRet")?;
    let mut args = Vec::new();
    if let Some(a) = get(m, "args") {
        let p = join(&path, "args");
        for (i, c) in array(a, &p)?.iter().enumerate() {
            args.push(condition(c, &format!("{p}[{i}]"))?);
        }
    }
    let includes = get(m, "includes").map_or(Ok(Filter::default()), |f| {
        filter(f, &join(&path, "includes"))
    })?;
    let excludes = get(m, "excludes").map_or(Ok(Filter::default()), |f| {
        filter(f, &join(&path, "excludes"))
    })?;
    Ok(Entry {
        path,
        names,
        verdict,
        args,
        includes,
        excludes,
    })
}

/// Flags of the runtime spec; the ones libsbx does not follow get an override line.
fn flag(v: &Value, path: &str) -> std::result::Result<Option<String>, String> {
    let f = string(v, path)?;
    match f {
        "SECCOMP_FILTER_FLAG_TSYNC" | "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" => Ok(None),
        "SECCOMP_FILTER_FLAG_LOG" | "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => Ok(Some(f.to_string())),
        other => Err(bad(
            path,
            format!("unknown flag {other:?} (expected SECCOMP_FILTER_FLAG_TSYNC, SECCOMP_FILTER_FLAG_LOG, SECCOMP_FILTER_FLAG_SPEC_ALLOW or SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)"),
        )),
    }
}

/// The native sub-architectures an `architectures` list or the native `archMap` entry
/// admits, with their paths; every name is checked.
fn sub_architectures(
    profile: &Map<String, Value>,
) -> std::result::Result<Vec<(String, String)>, String> {
    let native_sub = |name: &String| NATIVE.2.contains(&name.as_str());
    let mut out = Vec::new();
    match (get(profile, "architectures"), get(profile, "archMap")) {
        (Some(_), Some(_)) => {
            return Err(bad(
                "archMap",
                "architectures and archMap are both given (use one)",
            ))
        }
        (Some(list), None) => {
            for (i, value) in array(list, "architectures")?.iter().enumerate() {
                let path = format!("architectures[{i}]");
                let name = arch_name(value, &path)?;
                if native_sub(&name) {
                    out.push((path, name));
                }
            }
        }
        (None, Some(map)) => {
            for (i, value) in array(map, "archMap")?.iter().enumerate() {
                let path = format!("archMap[{i}]");
                let item = object(value, &path, &["architecture", "subArchitectures"])?;
                let arch_path = join(&path, "architecture");
                let arch = arch_name(
                    get(item, "architecture").ok_or_else(|| bad(&arch_path, "missing"))?,
                    &arch_path,
                )?;
                let mut subs = Vec::new();
                if let Some(list) = get(item, "subArchitectures") {
                    let list_path = join(&path, "subArchitectures");
                    for (j, sub) in array(list, &list_path)?.iter().enumerate() {
                        let sub_path = format!("{list_path}[{j}]");
                        let name = arch_name(sub, &sub_path)?;
                        subs.push((sub_path, name));
                    }
                }
                if arch == NATIVE.1 {
                    out.extend(subs.into_iter().filter(|(_, name)| native_sub(name)));
                }
            }
        }
        (None, None) => {}
    }
    Ok(out)
}

impl Profile {
    fn parse(value: &Value) -> std::result::Result<Profile, String> {
        let m = object(
            value,
            "",
            &[
                "defaultAction",
                "defaultErrnoRet",
                "architectures",
                "archMap",
                "syscalls",
                "flags",
                "listenerPath",
                "listenerMetadata",
            ],
        )?;
        let default = verdict(m, "", "defaultAction", "defaultErrnoRet")?;
        if default.said == "SCMP_ACT_NOTIFY" {
            return Err(bad(
                "defaultAction",
                "SCMP_ACT_NOTIFY cannot be the default action (the runtimes refuse it too)",
            ));
        }
        let sub_arches = sub_architectures(m)?;
        let mut flags = Vec::new();
        if let Some(f) = get(m, "flags") {
            for (i, v) in array(f, "flags")?.iter().enumerate() {
                let p = format!("flags[{i}]");
                if let Some(name) = flag(v, &p)? {
                    flags.push((p, name));
                }
            }
        }
        let listener = match get(m, "listenerPath") {
            Some(p) => !string(p, "listenerPath")?.is_empty(),
            None => false,
        };
        if let Some(md) = get(m, "listenerMetadata") {
            string(md, "listenerMetadata")?;
        }
        let mut entries = Vec::new();
        if let Some(s) = get(m, "syscalls") {
            for (i, v) in array(s, "syscalls")?.iter().enumerate() {
                entries.push(entry(v, format!("syscalls[{i}]"))?);
            }
        }
        Ok(Profile {
            default,
            sub_arches,
            flags,
            listener,
            entries,
        })
    }

    fn needs_kernel(&self) -> bool {
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

    fn apply(
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

#[cfg(test)]
mod tests;
