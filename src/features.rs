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

#![allow(unsafe_code)]

use crate::error::Error;
use std::fs;
use std::os::fd::{FromRawFd, OwnedFd};

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
        .map(|(name, ok, detail)| Feature {
            name: match name.as_str() {
                "memory" => "cgroup memory",
                "pids" => "cgroup pids",
                _ => "cgroup cpu",
            },
            required: false,
            available: ok,
            detail,
            fix: "for --memory/--pids/--cpus: run as root, or delegate a cgroup to this user \
                  (cgroup v2: Delegate=yes, e.g. systemd-run --user --scope -p Delegate=yes)",
        })
        .collect()
}

// ----------------------------------------------------------------------------------------------
// Canary sandboxes

/// Runs `/bin/true` in a real sandbox: with `namespaces`, the default one (`tool_default`: all
/// namespaces, the tool view with its tmpfs and /proc, pivot_root, hostname, loopback, Landlock,
/// seccomp); without, the fallback (seccomp, Landlock, rlimits). A failure names the first
/// failing step, its errno, the likely cause and the fix (`diagnose::hint`).
fn probe_canary(namespaces: bool) -> Feature {
    let (name, required) = if namespaces {
        ("canary sandbox", true)
    } else {
        ("canary without namespaces", false)
    };
    let fix = if namespaces {
        "apply the fix named above (docs/containers.md)"
    } else {
        "apply the fix named above"
    };
    let fail = |detail: String| Feature {
        name,
        required,
        available: false,
        detail,
        fix,
    };
    let Some(program) = ["/bin/true", "/usr/bin/true"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
    else {
        return fail("no /bin/true to run as the canary".into());
    };
    let pb = if namespaces {
        crate::policy::presets::tool_default()
    } else {
        let mut pb = crate::PolicyBuilder::new();
        crate::policy::presets::tool_rules(&mut pb);
        pb.disable_namespaces();
        pb
    };
    let policy = match pb.build() {
        Ok(p) => p,
        Err(e) => return fail(format!("building the canary's policy: {e}")),
    };
    let mut ex = crate::Executor::new(program);
    ex.walltime(std::time::Duration::from_secs(10));
    let r = match crate::Sandbox::new(ex, policy).run() {
        Ok(r) => r,
        Err(e) => return fail(format!("{e}")),
    };
    if r.success() {
        let mut detail = format!("{program} ran; fences: {}", r.fences.join(", "));
        if !r.degraded.is_empty() {
            let _ = std::fmt::Write::write_fmt(
                &mut detail,
                format_args!("; left out: {}", r.degraded.join(", ")),
            );
        }
        if !namespaces {
            detail.push_str(" (the fallback: sbx-run --no-namespaces)");
        }
        return Feature {
            name,
            required,
            available: true,
            detail,
            fix: "",
        };
    }
    let detail = match (r.failed_step, r.setup_errno) {
        (Some(step), Some(e)) => {
            let mut d = format!("step {step} failed with {}", errno_text(e));
            if let Some(h) = &r.setup_hint {
                d.push_str("; cause: ");
                d.push_str(h);
            } else {
                d.push_str(": ");
                d.push_str(r.message.as_deref().unwrap_or(""));
            }
            d
        }
        _ => r.describe(),
    };
    fail(detail)
}

/// True when every required feature in `features` is available.
pub fn all_required_available(features: &[Feature]) -> bool {
    !features.iter().any(Feature::blocks)
}

// ----------------------------------------------------------------------------------------------
// Kernel version

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

// ----------------------------------------------------------------------------------------------
// Small helpers

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn errno_text(e: i32) -> String {
    let name = errno_name(e);
    format!("{name} ({})", std::io::Error::from_raw_os_error(e))
}

/// `ENOSYS`-style name of an errno value.
fn errno_name(e: i32) -> String {
    format!("{:?}", nix::errno::Errno::from_raw(e))
}

/// Reads a small `/proc/sys` value; `None` when the file does not exist or is unreadable.
fn read_sysctl(path: &str) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_string())
}

/// `Key:` line of `/proc/self/status`.
fn proc_status_field(key: &str) -> Option<String> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| {
        l.strip_prefix(key)
            .and_then(|r| r.strip_prefix(':'))
            .map(|v| v.trim().to_string())
    })
}

/// A fork-style `clone(flags | SIGCHLD)` (no CLONE_VM, no new stack): returns 0 in the child,
/// the child's pid in the parent, or the errno.
///
/// The child runs in a copy of a possibly multithreaded process: it may only make raw system
/// calls (no allocation, no locks) and must end with `_exit`.
#[allow(clippy::cast_possible_truncation)] // the pid in clone's c_long return
fn raw_fork(flags: libc::c_long) -> Result<libc::pid_t, i32> {
    // SAFETY: see the contract above; every caller's child path only makes raw syscalls.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags | libc::c_long::from(libc::SIGCHLD),
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    if pid < 0 {
        Err(errno())
    } else {
        Ok(pid as libc::pid_t)
    }
}

/// Runs `child` in a short-lived child created by [`raw_fork`] and returns its exit code.
fn in_child(flags: libc::c_long, child: fn() -> i32) -> Result<i32, i32> {
    let pid = raw_fork(flags)?;
    if pid == 0 {
        let code = child();
        // SAFETY: leaving the child without running any of the parent's exit handlers.
        unsafe { libc::_exit(code) };
    }
    reap(pid).ok_or(libc::ECHILD)
}

/// Waits for `pid` and returns its exit code (128+N when killed by signal N).
fn reap(pid: libc::pid_t) -> Option<i32> {
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes the status into our local.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::__WALL) };
        if r == pid {
            if libc::WIFEXITED(status) {
                return Some(libc::WEXITSTATUS(status));
            }
            if libc::WIFSIGNALED(status) {
                return Some(128 + libc::WTERMSIG(status));
            }
            continue; // a stop; keep waiting for the end
        }
        if r < 0 && errno() == libc::EINTR {
            continue;
        }
        return None;
    }
}

// ----------------------------------------------------------------------------------------------
// seccomp

fn probe_seccomp_filter() -> Feature {
    // PR_GET_SECCOMP: 0 = not under seccomp, 2 = under a filter (EINVAL: no CONFIG_SECCOMP).
    // SAFETY: PR_GET_SECCOMP takes no pointers.
    let mode = unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) };
    let err = errno();
    // SECCOMP_GET_ACTION_AVAIL for RET_ALLOW proves seccomp(2) and filter mode exist.
    let avail = crate::sys::seccomp::action_available(libc::SECCOMP_RET_ALLOW);
    let fix = "use a kernel with CONFIG_SECCOMP=y and CONFIG_SECCOMP_FILTER=y; in a container, \
               allow the seccomp and prctl syscalls in its seccomp profile";
    if mode < 0 {
        return Feature {
            name: "seccomp filter mode",
            required: true,
            available: false,
            detail: format!("prctl(PR_GET_SECCOMP) failed: {}", errno_text(err)),
            fix,
        };
    }
    let nested = match (mode, proc_status_field("Seccomp_filters")) {
        (2, Some(n)) => format!("; this process already runs under {n} seccomp filter(s), which also apply to sandboxes"),
        (2, None) => "; this process already runs under a seccomp filter, which also applies to sandboxes".into(),
        _ => String::new(),
    };
    // EINVAL is a pre-4.14 kernel without the query; anything else means seccomp(2) is gone.
    if let Some(serr) = avail.err().filter(|&e| e != libc::EINVAL) {
        return Feature {
            name: "seccomp filter mode",
            required: true,
            available: false,
            detail: format!("seccomp(2) failed: {}{nested}", errno_text(serr)),
            fix,
        };
    }
    Feature {
        name: "seccomp filter mode",
        required: true,
        available: true,
        detail: format!("seccomp(2) present, current mode {mode}{nested}"),
        fix,
    }
}

fn probe_seccomp_action(
    name: &'static str,
    required: bool,
    action: u32,
    fix: &'static str,
) -> Feature {
    let (available, detail) = match crate::sys::seccomp::action_available(action) {
        Ok(()) => (
            true,
            format!("seccomp(SECCOMP_GET_ACTION_AVAIL, {action:#x}) ok"),
        ),
        Err(e) => (
            false,
            format!(
                "seccomp(SECCOMP_GET_ACTION_AVAIL, {action:#x}): {}",
                errno_text(e)
            ),
        ),
    };
    Feature {
        name,
        required,
        available,
        detail,
        fix,
    }
}

/// Exit-code bits of the user-notify probe child.
const UNOTIFY_LISTENER: i32 = 1;
const UNOTIFY_KILLABLE: i32 = 2;
const UNOTIFY_SYNC_WAKE: i32 = 4;

/// In a child: installs an allow-all filter with a new listener (with killable waits, else
/// without), then sets SYNC_WAKE_UP on the listener; reports what worked as bits.
#[allow(clippy::cast_possible_truncation)] // the fd in seccomp(2)'s c_long return
fn user_notify_child() -> i32 {
    use crate::sys::seccomp as uapi;
    static ALLOW: [crate::policy::SockFilter; 1] = [crate::policy::SockFilter {
        code: 0x06,
        jt: 0,
        jf: 0,
        k: libc::SECCOMP_RET_ALLOW,
    }];
    let prog = crate::sys::seccomp::SockFprog {
        len: 1,
        filter: ALLOW.as_ptr().cast(),
    };
    // SAFETY: raw syscalls in our own child with pointers to live locals and a static (`prog`
    // points to ALLOW's one instruction).
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return 0;
        }
        // As the clone child installs a sandboxee's filter (spawn/child.rs).
        let Ok((fd, killable)) = uapi::install_with_listener(&prog) else {
            return 0;
        };
        let mut bits = UNOTIFY_LISTENER;
        if killable {
            bits |= UNOTIFY_KILLABLE;
        }
        let wake: u64 = uapi::USER_NOTIF_FD_SYNC_WAKE_UP;
        if libc::ioctl(fd as i32, uapi::IOCTL_NOTIF_SET_FLAGS as _, wake) == 0 {
            bits |= UNOTIFY_SYNC_WAKE;
        }
        bits
    }
}

/// The user-notify monitor: a listener (Linux 5.0), killable waits (5.19), synchronous
/// wake-ups (6.6), and the monitor `Monitor::Auto` picks.
fn probe_user_notify() -> Feature {
    let fix = "upgrade to Linux 5.9 or newer (5.19+ for Go sandboxees); the ptrace monitor needs none of it";
    let bits = match in_child(0, user_notify_child) {
        Ok(b) => b,
        Err(e) => {
            return Feature {
                name: "user-notify monitor",
                required: false,
                available: false,
                detail: format!("probe child failed: {}", errno_text(e)),
                fix,
            }
        }
    };
    let yes = |b: i32| if bits & b != 0 { "yes" } else { "no" };
    let available = bits & UNOTIFY_LISTENER != 0 && crate::monitor::unotify_supported();
    Feature {
        name: "user-notify monitor",
        required: false,
        available,
        detail: if available {
            format!(
                "seccomp listener ok; WAIT_KILLABLE_RECV (5.19): {}; SYNC_WAKE_UP (6.6): {}; \
                 monitor auto picks unotify for namespaced sandboxes",
                yes(UNOTIFY_KILLABLE),
                yes(UNOTIFY_SYNC_WAKE)
            )
        } else {
            "no seccomp listener (SECCOMP_FILTER_FLAG_NEW_LISTENER); monitor auto picks ptrace".into()
        },
        fix,
    }
}

fn probe_no_new_privs() -> Feature {
    // SAFETY: PR_GET_NO_NEW_PRIVS takes no pointers and changes nothing.
    let r = unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) };
    let (available, detail) = if r >= 0 {
        (true, format!("PR_GET_NO_NEW_PRIVS ok (this process: {r})"))
    } else {
        (
            false,
            format!("prctl(PR_GET_NO_NEW_PRIVS): {}", errno_text(errno())),
        )
    };
    Feature {
        name: "no_new_privs",
        required: true,
        available,
        detail,
        fix: "upgrade to Linux 3.5 or newer",
    }
}

// ----------------------------------------------------------------------------------------------
// ptrace

/// Outcome of attaching to a child of ours: whether PTRACE_SEIZE worked and whether
/// PTRACE_GET_SYSCALL_INFO answered at the stop that followed.
struct PtraceProbe {
    seize: Result<(), i32>,
    syscall_info: Result<(), i32>,
}

fn ptrace_probe() -> Result<PtraceProbe, i32> {
    // The child only waits to be killed; it is reaped below.
    let pid = raw_fork(0)?;
    if pid == 0 {
        loop {
            // SAFETY: pause takes no arguments; SIGKILL ends the loop.
            unsafe { libc::pause() };
        }
    }
    // SAFETY: plain ptrace requests on our own child; no pointers except the info buffer below.
    let seize = unsafe { libc::ptrace(libc::PTRACE_SEIZE, pid, 0, 0) };
    let mut out = PtraceProbe {
        seize: Ok(()),
        syscall_info: Err(libc::ESRCH),
    };
    if seize != 0 {
        out.seize = Err(errno());
    } else {
        // SAFETY: as above.
        let stopped =
            unsafe { libc::ptrace(libc::PTRACE_INTERRUPT, pid, 0, 0) } == 0 && wait_stop(pid);
        if stopped {
            let mut buf = [0u64; 16];
            // SAFETY: the kernel writes at most buf's size (passed as the addr argument).
            let r = unsafe {
                libc::ptrace(
                    crate::monitor::sysinfo::PTRACE_GET_SYSCALL_INFO,
                    pid,
                    std::mem::size_of_val(&buf),
                    buf.as_mut_ptr(),
                )
            };
            out.syscall_info = if r > 0 { Ok(()) } else { Err(errno()) };
        }
    }
    // SAFETY: killing and reaping our own child.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    reap(pid);
    Ok(out)
}

fn wait_stop(pid: libc::pid_t) -> bool {
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes into our local.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::__WALL) };
        if r == pid {
            return libc::WIFSTOPPED(status);
        }
        if r < 0 && errno() == libc::EINTR {
            continue;
        }
        return false;
    }
}

/// The ptrace line and the PTRACE_GET_SYSCALL_INFO line, both from one attach.
fn probe_ptrace() -> (Feature, Feature) {
    let scope = read_sysctl("/proc/sys/kernel/yama/ptrace_scope");
    let scope_text = match &scope {
        Some(s) => format!("yama ptrace_scope={s}"),
        None => "no Yama".to_string(),
    };
    let scope_n = scope
        .as_deref()
        .and_then(|s| s.parse::<u32>().ok())
        .unwrap_or(0);
    let (attach, info) = match ptrace_probe() {
        Ok(p) => (p.seize, p.syscall_info),
        Err(e) => (Err(e), Err(e)),
    };
    let ptrace = match attach {
        Ok(()) => {
            Feature {
                name: "ptrace",
                required: true,
                available: true,
                detail: if scope_n >= 2 {
                    format!("PTRACE_SEIZE of a child ok; {scope_text}: works only with CAP_SYS_PTRACE, \
                         unprivileged users need ptrace_scope <= 1")
                } else {
                    format!("PTRACE_SEIZE of a child ok; {scope_text}")
                },
                fix: "",
            }
        }
        Err(e) => Feature {
            name: "ptrace",
            required: true,
            available: false,
            detail: format!(
                "PTRACE_SEIZE of a child failed: {}; {scope_text}",
                errno_text(e)
            ),
            fix:
                "sysctl -w kernel.yama.ptrace_scope=1; in a container, allow ptrace in its seccomp \
                  profile (Docker: --security-opt seccomp=unconfined or a profile with ptrace)",
        },
    };
    let info = Feature {
        name: "PTRACE_GET_SYSCALL_INFO",
        required: true,
        available: info.is_ok(),
        detail: match info {
            Ok(()) => "answered at a ptrace stop".to_string(),
            Err(e) if attach.is_err() => {
                format!("not tested: ptrace unavailable ({})", errno_name(e))
            }
            Err(e) => format!("PTRACE_GET_SYSCALL_INFO: {}", errno_text(e)),
        },
        fix: "upgrade to Linux 5.3 or newer",
    };
    (ptrace, info)
}

// ----------------------------------------------------------------------------------------------
// Plain syscalls

#[allow(clippy::cast_possible_truncation)] // the fd in syscall(2)'s c_long return
fn probe_pidfd_open() -> Feature {
    // SAFETY: pidfd_open of ourselves returns a new fd we own, or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) };
    let (available, detail) = if fd >= 0 {
        // SAFETY: fresh fd owned by nobody else; dropping it closes it.
        drop(unsafe { OwnedFd::from_raw_fd(fd as i32) });
        (true, "pidfd_open(self) ok".to_string())
    } else {
        (false, format!("pidfd_open: {}", errno_text(errno())))
    };
    Feature {
        name: "pidfd_open",
        required: true,
        available,
        detail,
        fix: "upgrade to Linux 5.3 or newer",
    }
}

fn probe_close_range() -> Feature {
    // Closing the empty range [~0, ~0] changes nothing.
    // SAFETY: no pointers; no fd has this number.
    let r = unsafe { libc::syscall(libc::SYS_close_range, u32::MAX, u32::MAX, 0u32) };
    let (available, detail) = if r == 0 {
        (true, "close_range ok".to_string())
    } else {
        (false, format!("close_range: {}", errno_text(errno())))
    };
    Feature {
        name: "close_range",
        required: true,
        available,
        detail,
        fix: "upgrade to Linux 5.9 or newer",
    }
}

fn probe_execveat() -> Feature {
    // execveat on an invalid fd with AT_EMPTY_PATH fails with EBADF before anything is loaded;
    // ENOSYS means the call does not exist.
    let empty = b"\0";
    let argv: [*const libc::c_char; 1] = [std::ptr::null()];
    // SAFETY: valid NUL-terminated path and NULL-terminated arrays; the fd is invalid, so the call
    // cannot replace this process.
    let r = unsafe {
        libc::syscall(
            libc::SYS_execveat,
            -1,
            empty.as_ptr(),
            argv.as_ptr(),
            argv.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    let e = errno();
    let (available, detail) = if r < 0 && e != libc::ENOSYS && e != libc::EPERM {
        (
            true,
            format!(
                "execveat present ({} on an invalid fd, as expected)",
                errno_name(e)
            ),
        )
    } else {
        (false, format!("execveat: {}", errno_text(e)))
    };
    Feature {
        name: "execveat",
        required: true,
        available,
        detail,
        fix:
            "upgrade to Linux 3.19 or newer; in a container, allow execveat in its seccomp profile",
    }
}

// ----------------------------------------------------------------------------------------------
// User namespaces

fn probe_user_namespaces() -> Feature {
    let max = read_sysctl("/proc/sys/user/max_user_namespaces");
    let debian = read_sysctl("/proc/sys/kernel/unprivileged_userns_clone");
    let apparmor = read_sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns");
    let mut seen = Vec::new();
    if let Some(v) = &max {
        seen.push(format!("user.max_user_namespaces={v}"));
    }
    if let Some(v) = &debian {
        seen.push(format!("kernel.unprivileged_userns_clone={v}"));
    }
    if let Some(v) = &apparmor {
        seen.push(format!("kernel.apparmor_restrict_unprivileged_userns={v}"));
    }
    // The real test: can this process create a child in a new user namespace?
    let created = in_child(libc::c_long::from(libc::CLONE_NEWUSER), || 0);
    let sysctls = if seen.is_empty() {
        String::new()
    } else {
        format!("; {}", seen.join(", "))
    };

    // The diagnosis of a failure is the library's own, as a sandbox start would report it.
    let (available, detail, fix) = match created {
        Ok(0) => (
            true,
            format!("created a child in a new user namespace{sysctls}"),
            "",
        ),
        Ok(code) => (
            false,
            format!("probe child exited with {code}{sysctls}"),
            "",
        ),
        Err(e) => match crate::namespaces::namespace_error(e) {
            Error::Unsupported { detail, fix, .. } => (
                false,
                format!("clone(CLONE_NEWUSER): {}: {detail}", errno_name(e)),
                fix,
            ),
            other => (false, format!("clone(CLONE_NEWUSER): {other}{sysctls}"), ""),
        },
    };
    // Required by every policy with namespaces, which is the default.
    Feature {
        name: "user namespaces",
        required: true,
        available,
        detail,
        fix,
    }
}

// ----------------------------------------------------------------------------------------------
// Optional extras and notes

fn probe_landlock() -> Feature {
    let (available, detail) = match crate::landlock::abi() {
        Ok(abi) => {
            // The rights a namespaced sandboxee's domain handles on this kernel.
            let handled = crate::landlock::Enforced {
                abi,
                fs: crate::landlock::handled_with_view(abi),
                net: 0,
                scoped: crate::landlock::scopes_for(abi),
            };
            let scopes = if abi >= 6 {
                "cannot ptrace, signal or reach abstract sockets of the host"
            } else {
                "cannot ptrace the host; signal scoping needs ABI 6 (Linux 6.12)"
            };
            (
                true,
                format!(
                    "Landlock ABI {abi}: sandboxees {scopes}; with namespaces the view's write \
                     and execute intent is enforced again ({}){}",
                    handled.fs_rights().join(", "),
                    if abi >= 4 {
                        "; a network allow-list's TCP ports fence connect_tcp"
                    } else {
                        ""
                    }
                ),
            )
        }
        Err(e) => {
            let why = match e {
                libc::EOPNOTSUPP => "built in but disabled at boot".to_string(),
                _ => errno_text(e),
            };
            (false, format!("landlock_create_ruleset: {why}"))
        }
    };
    Feature {
        name: "landlock",
        required: false,
        available,
        detail,
        fix: "Linux 5.13+ (6.12+ for signal scoping) with CONFIG_SECURITY_LANDLOCK=y and \"landlock\" \
              in the lsm= boot parameter; without it only namespaced sandboxes can run (a sandbox \
              without namespaces is refused: nothing else would keep it from same-uid host processes)",
    }
}

/// Whether a process may force-disable speculative store bypass and indirect branch speculation
/// for itself (what every sandboxee does unless the policy allows speculation).
pub fn speculation_controllable() -> bool {
    use crate::sys::prctl::{
        PR_GET_SPECULATION_CTRL, PR_SPEC_INDIRECT_BRANCH, PR_SPEC_PRCTL, PR_SPEC_STORE_BYPASS,
    };
    [PR_SPEC_STORE_BYPASS, PR_SPEC_INDIRECT_BRANCH].iter().all(|&which| {
        // SAFETY: PR_GET_SPECULATION_CTRL reads nothing from memory and changes nothing.
        let r = unsafe { libc::prctl(PR_GET_SPECULATION_CTRL, which, 0, 0, 0) };
        r >= 0 && r & PR_SPEC_PRCTL != 0
    })
}

fn probe_speculation() -> Feature {
    let available = speculation_controllable();
    Feature {
        name: "speculation control",
        required: false,
        available,
        detail: if available {
            "sandboxees run with speculative store bypass and indirect branch speculation \
             force-disabled (fence speculation_control)"
                .into()
        } else {
            "this kernel decides speculation for every process (its mitigation mode is not prctl \
             or seccomp): sandboxees run as the host does"
                .into()
        },
        fix: "boot with spec_store_bypass_disable=prctl spectre_v2_user=prctl for a per-process \
              choice (or =on to mitigate everything)",
    }
}

fn probe_i386() -> Feature {
    // /proc/sys/abi/vsyscall32 exists exactly when the kernel runs 32-bit x86 programs.
    let available =
        cfg!(target_arch = "x86_64") && std::path::Path::new("/proc/sys/abi/vsyscall32").exists();
    Feature {
        name: "i386 syscall ABI",
        required: false,
        available,
        detail: if available {
            "the kernel accepts int 0x80 / 32-bit programs; every such call is a [X86-32] violation"
                .into()
        } else {
            "the kernel does not run i386 code; nothing to block".into()
        },
        fix: "",
    }
}

fn probe_x32() -> Feature {
    if !cfg!(target_arch = "x86_64") {
        return Feature {
            name: "x32 syscall ABI",
            required: false,
            available: false,
            detail: "not x86-64".into(),
            fix: "",
        };
    }
    // x32 getpid (39 | bit 30) in a child: exit 0 when the kernel served it, 1 when not.
    let r = in_child(0, || {
        // SAFETY: getpid through the x32 numbering; harmless when served, ENOSYS when not.
        let r = unsafe { libc::syscall(0x4000_0000 | libc::SYS_getpid) };
        i32::from(r <= 0)
    });
    let available = r == Ok(0);
    Feature {
        name: "x32 syscall ABI",
        required: false,
        available,
        detail: match r {
            Ok(0) => {
                "the kernel serves x32 syscall numbers; every such call is a [X32] violation".into()
            }
            Ok(1) => "the kernel rejects x32 syscall numbers; nothing to block".into(),
            Ok(c) => format!("probe child ended with {c}"),
            Err(e) => format!("probe child not created: {}", errno_text(e)),
        },
        fix: "",
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
