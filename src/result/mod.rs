//! The outcome of one sandbox run (sandbox2's `Result`).
//!
//! Rust's `Result` is taken, so the type is [`RunResult`]; C calls it `sbx_result` and Go `Result`.
//! Status and reason numbering follow sandbox2 exactly so logs and bindings stay comparable.

use crate::arch::Arch;
use std::fmt;
use std::fmt::Write as _;
use std::time::Duration;

mod reason;
pub use reason::{reason_from_code, Reason};

/// How a run ended. Numbering is sandbox2's `StatusEnum`. Non-exhaustive: later releases may add
/// statuses, so a `match` outside the crate needs a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
#[non_exhaustive]
pub enum Status {
    /// Not finished (never returned by a finished run).
    Unset = 0,
    /// The sandboxee exited on its own; `reason_code` is its exit code.
    Ok = 1,
    /// The sandbox could not be set up; `reason_code` says which step.
    SetupError = 2,
    /// The sandboxee broke the policy; details in [`RunResult::violation`].
    Violation = 3,
    /// The sandboxee was killed by a signal; `reason_code` is the signal number.
    Signaled = 4,
    /// The wall-time limit expired.
    Timeout = 5,
    /// The host killed the sandbox on purpose.
    ExternalKill = 6,
    /// libsbx failed while supervising.
    InternalError = 7,
}

impl Status {
    /// Upper-case name as used in JSON and logs (`"OK"`, `"VIOLATION"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Status::Unset => "UNSET",
            Status::Ok => "OK",
            Status::SetupError => "SETUP_ERROR",
            Status::Violation => "VIOLATION",
            Status::Signaled => "SIGNALED",
            Status::Timeout => "TIMEOUT",
            Status::ExternalKill => "EXTERNAL_KILL",
            Status::InternalError => "INTERNAL_ERROR",
        }
    }
}

/// A syscall as the kernel presented it to seccomp: the one that broke the policy, or one a
/// trace rule hands to [`crate::Notify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Syscall {
    /// The ABI the call came through.
    pub arch: Arch,
    /// Syscall number in that ABI's numbering (x32: with bit 30 still set).
    pub nr: u64,
    /// Kernel name of the syscall, or `"UNKNOWN"` when the number is not in the table.
    pub name: String,
    /// The six raw argument registers.
    pub args: [u64; 6],
    /// Host pid of the thread that made the call.
    pub pid: i32,
    /// Instruction pointer at the call.
    pub ip: u64,
    /// Stack pointer at the call (0 under the user-notify monitor, which reads only what the
    /// kernel's notification carries).
    pub sp: u64,
}

/// The syscall that broke the policy (same data as [`Syscall`]).
pub type Violation = Syscall;

impl Syscall {
    /// `[X86-64] ptrace(0x10, 0x1234, 0x0, 0x0, 0x0, 0x0)`
    pub fn describe(&self) -> String {
        let a = &self.args;
        format!(
            "[{}] {}({:#x}, {:#x}, {:#x}, {:#x}, {:#x}, {:#x})",
            self.arch.label(),
            self.name,
            a[0],
            a[1],
            a[2],
            a[3],
            a[4],
            a[5]
        )
    }
}

/// A call an audit run let through although its policy refuses it (see
/// [`PolicyBuilder::audit`](crate::PolicyBuilder::audit)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditedCall {
    /// The first such call: its arguments, thread and instruction pointer.
    pub first: Syscall,
    /// How many times the run made this syscall (through this ABI), the first one included.
    pub count: u64,
    /// For the calls a learned policy conditions on an argument (socket's domain, ioctl's
    /// request, prctl's option, fcntl's command, clone's flags, mmap's and mprotect's
    /// protection): the values that argument took.
    pub seen: Option<SeenArg>,
    /// What the calls returned, where the monitor saw it: the ptrace monitor in a learning run
    /// ([`PolicyBuilder::for_learning`](crate::PolicyBuilder::for_learning)); `None` elsewhere
    /// (user-notify lets a call run without seeing its end; a plain audit run does not look).
    pub results: Option<CallResults>,
}

/// What the calls of one audited syscall returned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallResults {
    /// How many returned a value other than -1..=-4095 (success; for the exec calls, the exec
    /// happened).
    pub ok: u64,
    /// How many failed (returned -errno).
    pub failed: u64,
    /// The distinct errnos they failed with, in the order first seen (at most
    /// [`CallResults::MAX_ERRNOS`]).
    pub errnos: Vec<u16>,
}

impl CallResults {
    /// Most distinct errnos kept per syscall.
    pub const MAX_ERRNOS: usize = 8;

    /// Adds `other`'s counts and errnos.
    pub fn merge(&mut self, other: &CallResults) {
        self.ok = self.ok.saturating_add(other.ok);
        self.failed = self.failed.saturating_add(other.failed);
        for &e in &other.errnos {
            self.note_errno(e);
        }
    }

    /// Counts one failure with `errno`.
    pub fn note_failure(&mut self, errno: u16) {
        self.failed = self.failed.saturating_add(1);
        self.note_errno(errno);
    }

    fn note_errno(&mut self, errno: u16) {
        if !self.errnos.contains(&errno) && self.errnos.len() < Self::MAX_ERRNOS {
            self.errnos.push(errno);
        }
    }

    /// Every call seen failed: the call may be on a failure path only (a probe for a file that
    /// is not there, a feature test).
    pub fn only_failing(&self) -> bool {
        self.ok == 0 && self.failed > 0
    }
}

/// The values one argument of an audited syscall took during the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenArg {
    /// The argument's position, 0..=5.
    pub index: u8,
    /// Compared on 32 bits (an `int` argument) or 64.
    pub width: crate::policy::Width,
    /// The distinct values, in the order first seen (at most [`SeenArg::MAX_VALUES`]).
    pub values: Vec<u64>,
    /// More distinct values came than are kept: a learned policy allows any value.
    pub more: bool,
}

impl SeenArg {
    /// Most distinct values kept per argument.
    pub const MAX_VALUES: usize = 16;
}

/// Resource usage of the sandboxee (from `wait4`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// User CPU time.
    pub user_time: Duration,
    /// System CPU time.
    pub system_time: Duration,
    /// Peak resident set size in KiB.
    pub max_rss_kib: u64,
    /// Most processes and threads alive in the sandbox at once, as seen by the ptrace monitor
    /// (0 under the user-notify monitor, which does not see the sandboxee's tasks).
    pub peak_tasks: u32,
}

/// Everything known about how one run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunResult {
    /// How it ended.
    pub status: Status,
    /// sandbox2's reason code: exit code for OK, signal for SIGNALED, a [`Reason`] for
    /// SETUP_ERROR, INTERNAL_ERROR and VIOLATION, 0 for TIMEOUT and EXTERNAL_KILL.
    pub reason_code: u32,
    /// Exit code when the sandboxee exited on its own.
    pub exit_code: Option<i32>,
    /// Signal that ended the sandboxee, when one did (including SIGKILL from a timeout or kill).
    pub signal: Option<i32>,
    /// The offending syscall for a VIOLATION.
    pub violation: Option<Violation>,
    /// For SETUP_ERROR and INTERNAL_ERROR: what failed, in words.
    pub message: Option<String>,
    /// For a SETUP_ERROR caused by a failed system call in the sandboxee's setup (a missing
    /// program is ENOENT, a bad cwd ENOENT or ENOTDIR, ...): the errno.
    pub setup_errno: Option<i32>,
    /// For a SETUP_ERROR: the setup step that failed, by a stable name (`"clone"`,
    /// `"id_maps"`, `"mount_proc"`, `"mount_bind"`, `"mount_tmpfs"`, `"pivot_root"`,
    /// `"hostname"`, `"landlock"`, `"seccomp"`, `"exec"`, `"cwd"`, ...).
    pub failed_step: Option<&'static str>,
    /// For a SETUP_ERROR: the likely cause and the fix, when the failure is a known one (a
    /// container runtime's masked /proc or seccomp profile, no user namespaces, ...).
    pub setup_hint: Option<String>,
    /// The fences that were in force around the sandboxee once it started (empty when it never
    /// did), in this order: `"namespaces"` (user, pid, mount, ipc, uts, cgroup),
    /// `"network_namespace"`, `"filesystem_view"` (a new root holding only what was bound),
    /// `"private_proc"`, `"seccomp"`, `"landlock"`, `"landlock_filesystem"` (the view's write and
    /// execute intent as Landlock rules), `"landlock_network"` (a network allow-list's TCP ports
    /// as Landlock's connect rule), `"speculation_control"` (speculative store bypass and
    /// indirect branch speculation force-disabled), `"no_new_privs"`, `"rlimits"`,
    /// `"ptrace_monitor"` or `"unotify_monitor"` (the monitor that watched the run).
    pub fences: Vec<&'static str>,
    /// Cosmetic parts of the sandbox left out because the kernel refused them: `"hostname"`
    /// (the inherited hostname stayed) and `"proc"` (no private /proc; only when the caller
    /// allowed it with `allow_no_private_proc`).
    pub degraded: Vec<&'static str>,
    /// What the sandboxee's Landlock domain enforced (`None` when it never started or the
    /// kernel has no Landlock): the ABI, the filesystem rights it handles (denied unless the
    /// view grants them: with namespaces everything but reading and device ioctls) and the
    /// scopes (ABI 6: signals, abstract unix sockets).
    pub landlock: Option<crate::landlock::Enforced>,
    /// Host pid of the sandboxee (0 when it never started).
    pub pid: i32,
    /// From start of setup to the end of the last process.
    pub wall_time: Duration,
    /// Resource usage of the sandboxee.
    pub usage: Usage,
    /// How long each setup step took, from `Sandbox::start` to the exec of the target (empty
    /// when the target never started).
    pub setup_latency: Vec<crate::spawn::latency::SetupStep>,
    /// For an audit run ([`PolicyBuilder::audit`](crate::PolicyBuilder::audit)): every syscall
    /// the policy refuses that the run made, once each, in the order of first use (empty when
    /// it made none). `None` for any other run.
    pub audit: Option<Vec<AuditedCall>>,
    /// Connects a network allow-list refused (see
    /// [`PolicyBuilder::allow_connect`](crate::PolicyBuilder::allow_connect)): the one that ended
    /// a `VIOLATION_NETWORK` run, or each one failed with an errno (at most
    /// [`DeniedConnect::MAX_KEPT`], in order).
    pub denied_connects: Vec<DeniedConnect>,
    /// What the sandbox's cgroup recorded, when the run had cgroup limits
    /// ([`Limits::cgroup`](crate::Limits::cgroup)).
    pub cgroup: Option<crate::cgroups::CgroupUsage>,
    /// The host uid (and gid) the sandboxee ran as: the caller's effective uid, or for a host
    /// root caller an unprivileged id of the range
    /// [`root_caller_id_range`](crate::namespaces::root_caller_id_range) that no other live
    /// sandbox held (one per sandbox with namespaces; see
    /// [`root_caller_host_id`](crate::namespaces::root_caller_host_id) for one without).
    /// Files the sandboxee left in a plain writable bind belong to it. `None` when the run
    /// ended before a sandbox was planned.
    pub host_uid: Option<u32>,
    /// With [`stack_traces`](crate::PolicyBuilder::stack_traces): for a VIOLATION (or, under
    /// ptrace, a SIGNALED by an unhandled crash signal) the offending thread's frames, for a
    /// TIMEOUT or EXTERNAL_KILL the main thread's; or why not
    /// ([`StackTrace::error`](crate::StackTrace::error)).
    pub stack_trace: Option<crate::StackTrace>,
}

/// A `connect` the network allow-list refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeniedConnect {
    /// Host pid of the thread that called it.
    pub pid: i32,
    /// `inet`, `inet6`, `unix`, `abstract`, ...
    pub family: String,
    /// The address as an allow-list spec writes it: `10.0.0.5:443`, `[::1]:80`, `unix:/x.sock`.
    pub address: String,
    /// Why: `not in the allow-list`, `a symlink on the host path`, ...
    pub why: String,
}

impl DeniedConnect {
    /// Most denied connects a result keeps.
    pub const MAX_KEPT: usize = 64;

    /// `connect to 10.0.0.5:444 (inet): not in the allow-list`
    pub fn describe(&self) -> String {
        format!(
            "connect to {} ({}): {}",
            self.address, self.family, self.why
        )
    }
}

impl RunResult {
    pub(crate) fn new(status: Status) -> Self {
        RunResult {
            status,
            reason_code: 0,
            exit_code: None,
            signal: None,
            violation: None,
            message: None,
            setup_errno: None,
            failed_step: None,
            setup_hint: None,
            fences: Vec::new(),
            degraded: Vec::new(),
            landlock: None,
            pid: 0,
            wall_time: Duration::ZERO,
            usage: Usage::default(),
            setup_latency: Vec::new(),
            audit: None,
            denied_connects: Vec::new(),
            cgroup: None,
            host_uid: None,
            stack_trace: None,
        }
    }

    /// A SETUP_ERROR result with `reason` and a message, for front ends that report a refused
    /// request (an [`crate::Error`] before anything started) in the same shape as a run.
    pub fn setup_error(reason: Reason, message: String) -> Self {
        let mut r = RunResult::new(Status::SetupError);
        r.reason_code = reason as u32;
        r.message = Some(message);
        r
    }

    pub(crate) fn internal_error(reason: Reason, message: String) -> Self {
        let mut r = RunResult::new(Status::InternalError);
        r.reason_code = reason as u32;
        r.message = Some(message);
        r
    }

    /// The [`Reason`] for statuses that carry one: SETUP_ERROR, INTERNAL_ERROR and VIOLATION
    /// (their reason code), and a SIGNALED run that the cgroup memory limit ended
    /// ([`Reason::MemoryLimit`]; its reason code is the signal).
    pub fn reason(&self) -> Option<Reason> {
        match self.status {
            Status::SetupError | Status::InternalError | Status::Violation => {
                reason_from_code(self.reason_code)
            }
            Status::Signaled if self.limit_reached() == Some("memory") => Some(Reason::MemoryLimit),
            _ => None,
        }
    }

    /// The cgroup limit the run ran into: `"memory"` when the kernel's OOM killer ended one of
    /// its processes for the memory limit, `"pids"` when the process limit refused a fork;
    /// `None` otherwise (or without cgroup limits).
    pub fn limit_reached(&self) -> Option<&'static str> {
        let u = self.cgroup.as_ref()?;
        if u.oom_kills > 0 {
            Some("memory")
        } else if u.pids_refused > 0 {
            Some("pids")
        } else {
            None
        }
    }

    /// True when the sandboxee exited with code 0.
    pub fn success(&self) -> bool {
        self.status == Status::Ok && self.reason_code == 0
    }

    /// One line, e.g. `SYSCALL VIOLATION - [X86-64] ptrace(0x10, ...)` or `OK - exit code 0`.
    pub fn describe(&self) -> String {
        match self.status {
            Status::Ok => format!("OK - exit code {}", self.reason_code),
            Status::Violation => {
                let what = match self.reason() {
                    Some(Reason::ViolationArch) => "ARCH VIOLATION",
                    Some(Reason::ViolationNetwork) => "NETWORK VIOLATION",
                    _ => "SYSCALL VIOLATION",
                };
                let network = match (self.reason(), self.denied_connects.last()) {
                    (Some(Reason::ViolationNetwork), Some(d)) => format!(" - {}", d.describe()),
                    _ => String::new(),
                };
                match &self.violation {
                    Some(v) => format!("{what}{network} - {} pid {}", v.describe(), v.pid),
                    None => format!("{what}{network}"),
                }
            }
            Status::Signaled => {
                let mut d = format!(
                    "SIGNALED - signal {} ({})",
                    self.reason_code,
                    signal_name(i32::from_ne_bytes(self.reason_code.to_ne_bytes()))
                );
                if let Some(u) = self.cgroup.as_ref().filter(|u| u.oom_kills > 0) {
                    d.push_str(" - the memory limit was reached (cgroup OOM kill");
                    if let Some(p) = u.memory_peak {
                        #[allow(clippy::cast_precision_loss)] // shown to a tenth of a MiB
                        let mib = p as f64 / f64::from(1 << 20);
                        let _ = write!(d, ", peak {mib:.1} MiB");
                    }
                    d.push(')');
                }
                d
            }
            Status::Timeout => format!(
                "TIMEOUT - wall time limit reached after {:.3}s",
                self.wall_time.as_secs_f64()
            ),
            Status::ExternalKill => "EXTERNAL_KILL - killed by the host".to_string(),
            Status::SetupError | Status::InternalError | Status::Unset => {
                let code = self.reason().map_or("UNKNOWN", Reason::name);
                match &self.message {
                    Some(m) => format!("{} - {}: {}", self.status.name(), code, m),
                    None => format!("{} - {}", self.status.name(), code),
                }
            }
        }
    }
}

impl fmt::Display for RunResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// `SIGSEGV`-style name of a signal number.
pub fn signal_name(sig: i32) -> String {
    match nix::sys::signal::Signal::try_from(sig) {
        Ok(s) => s.as_str().to_string(),
        Err(_) if (libc::SIGRTMIN()..=libc::SIGRTMAX()).contains(&sig) => {
            format!("SIGRT{}", sig - libc::SIGRTMIN())
        }
        Err(_) => format!("SIG{sig}"),
    }
}
