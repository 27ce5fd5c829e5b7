//! Kernel feature probes: every kernel facility libsbx relies on, checked for real.
//!
//! [`probe`] returns one [`Feature`] per facility, each saying whether it is there, what the probe
//! saw and, when it is missing, what an administrator can do about it. `sbx-run --check` prints
//! exactly this list.
//!
//! How the probes work: wherever possible they read `/proc` or make a system call that changes
//! nothing (a `seccomp(SECCOMP_GET_ACTION_AVAIL)` query, `pidfd_open` of ourselves, a
//! `close_range` over an empty range, an `execveat` on an invalid fd). Three probes need a process
//! of their own and run in a short-lived child that only makes raw system calls and exits: the
//! ptrace probe (it attaches to that child), the user-namespace probe (the child is created in a
//! new user namespace) and the x32 probe (a foreign-ABI call is kept out of the caller, which may
//! itself run under a filter that kills for it). Nothing a probe does outlives the call.
//!
//! The probes live by mechanism: `seccomp.rs`, `ptrace.rs`, `syscalls.rs` (plain syscalls and user
//! namespaces), `extras.rs` (optional facilities and notes) and `canary.rs` (the canary
//! sandboxes), on `helpers.rs` (errno text, `/proc` reads, the probe child). Here: [`Feature`],
//! [`probe`] and the kernel version.

#![allow(unsafe_code)]

mod canary;
mod extras;
mod helpers;
mod ptrace;
mod seccomp;
mod syscalls;

use canary::probe_canary;
use extras::{probe_i386, probe_landlock, probe_speculation, probe_x32};
use ptrace::probe_ptrace;
use seccomp::{probe_no_new_privs, probe_seccomp_action, probe_seccomp_filter, probe_user_notify};
use syscalls::{probe_close_range, probe_execveat, probe_pidfd_open, probe_user_namespaces};

pub use extras::speculation_controllable;

/// One kernel facility and whether this machine provides it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feature {
    /// Short name, as printed by `sbx-run --check` (e.g. `"pidfd_open"`).
    pub name: &'static str,
    /// True when libsbx cannot run sandboxes without it.
    pub required: bool,
    /// True when the probe found it usable.
    pub available: bool,
    /// What the probe observed (kernel version, sysctl values, the errno it got).
    pub detail: String,
    /// What to do when it is missing (empty when there is nothing to do).
    pub fix: &'static str,
}

impl Feature {
    /// True when the feature is required but missing.
    pub fn blocks(&self) -> bool {
        self.required && !self.available
    }
}

/// Probes every feature, then runs two canary sandboxes (`/bin/true` in the default sandbox, and
/// in the fallback without namespaces) whose failure names the first failing setup step, its
/// errno, the likely cause and the fix. Takes some milliseconds (three short-lived children and
/// two sandboxes), safe to call from any thread, and it leaves the caller unchanged.
pub fn probe() -> Vec<Feature> {
    let mut out = Vec::with_capacity(16);
    out.push(kernel_line(&uname_release()));
    out.push(probe_seccomp_filter());
    out.push(probe_seccomp_action(
        "seccomp RET_TRACE",
        true,
        libc::SECCOMP_RET_TRACE,
        "use a kernel with CONFIG_SECCOMP_FILTER=y (Linux 4.14 or newer)",
    ));
    out.push(probe_no_new_privs());
    let (ptrace, syscall_info) = probe_ptrace();
    out.push(ptrace);
    out.push(syscall_info);
    out.push(probe_pidfd_open());
    out.push(probe_close_range());
    out.push(probe_execveat());
    out.push(probe_user_namespaces());
    out.push(probe_user_notify());
    out.push(probe_landlock());
    out.push(probe_speculation());
    out.push(probe_i386());
    out.push(probe_x32());
    out.extend(probe_cgroups());
    // Last: the real thing, through every setup step the default sandbox uses.
    out.push(probe_canary(true));
    out.push(probe_canary(false));
    out
}

/// The cgroup controllers libsbx's cgroup limits use, each with where a sandbox's group would be
/// made and whether one can be (made and removed again).
fn probe_cgroups() -> Vec<Feature> {
    crate::cgroups::describe_controllers()
        .into_iter()
        .map(|(name, ok, mut detail)| {
            if let (true, "memory", Some(c)) = (ok, name.as_str(), crate::cgroups::default_memory_ceiling()) {
                detail = format!("{detail}; sbx-run's default memory ceiling {} MiB", c >> 20);
            }
            (name, ok, detail)
        })
        .map(|(name, ok, mut detail)| {
            if name == "v2 group" {
                detail = format!(
                    "{detail} (with cgroup limits: born there by clone3(CLONE_INTO_CGROUP), CPU \
                     time from its cpu.stat, cgroup.kill at the end)"
                );
            }
            (name, ok, detail)
        })
        .map(|(name, ok, detail)| Feature {
            name: match name.as_str() {
                "memory" => "cgroup memory",
                "pids" => "cgroup pids",
                "cpu" => "cgroup cpu",
                _ => "cgroup v2 group",
            },
            required: false,
            available: ok,
            detail,
            fix: "for --memory/--pids/--cpus: run as root, or delegate a cgroup to this user \
                  (cgroup v2: Delegate=yes, e.g. systemd-run --user --scope -p Delegate=yes)",
        })
        .collect()
}

/// True when every required feature in `features` is available.
pub fn all_required_available(features: &[Feature]) -> bool {
    !features.iter().any(Feature::blocks)
}

/// `major.minor.patch` from `uname -r`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct KernelVersion(u32, u32, u32);

impl KernelVersion {
    fn parse(release: &str) -> Option<KernelVersion> {
        let mut nums = release
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty());
        let major = nums.next()?.parse().ok()?;
        let minor = nums.next()?.parse().ok()?;
        let patch = nums.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        Some(KernelVersion(major, minor, patch))
    }
}

fn uname_release() -> String {
    // SAFETY: utsname is plain old data; uname fills it.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: u is a valid out-pointer.
    if unsafe { libc::uname(&mut u) } != 0 {
        return String::new();
    }
    let bytes: Vec<u8> = u
        .release
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| u8::from_ne_bytes(c.to_ne_bytes()))
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn kernel_line(release: &str) -> Feature {
    // 5.12: the namespaced path sets mount attributes with mount_setattr (and a root caller's
    // writable binds are idmapped); the canary sandbox at the end of the probe tries it for real.
    let available = KernelVersion::parse(release).is_some_and(|v| v >= KernelVersion(5, 12, 0));
    Feature {
        name: "kernel version",
        required: true,
        available,
        detail: format!("Linux {release} (libsbx needs 5.12 or newer)"),
        fix: "upgrade to Linux 5.12 or newer",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_version_parses() {
        assert_eq!(
            KernelVersion::parse("6.18.44-fc-v769"),
            Some(KernelVersion(6, 18, 44))
        );
        assert_eq!(KernelVersion::parse("5.9"), Some(KernelVersion(5, 9, 0)));
        assert_eq!(KernelVersion::parse("garbage"), None);
    }

    #[test]
    fn probe_lists_every_feature_once() {
        let f = probe();
        let mut names: Vec<_> = f.iter().map(|f| f.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), f.len());
        for x in &f {
            assert!(
                x.available || !x.fix.is_empty() || !x.required,
                "{x:?} missing without a fix"
            );
        }
    }
}
