//! The monitors: ptrace (`ptrace/`) and user-notify (`unotify/`), both served by the one
//! supervisor thread (`supervisor/`). This module holds what any monitor needs: the run state
//! shared with the caller's threads (`state.rs`), assembling the [`RunResult`] from what a
//! monitor saw ([`Outcome`]), an audit run's record ([`AuditLog`]), decoding the clone
//! children's failure reports into SETUP_ERRORs, and the list of fences in force.
//!
//! Layering: the monitor sits below `sandbox` and never imports it; `sandbox` and its deadline
//! thread reach the run through `state`.

mod audit;
mod epoll;
mod launch;
mod netproxy;
mod udp_relay;
pub(crate) mod ptrace;
pub(crate) mod state;
pub(crate) mod supervisor;
mod unotify;

pub(crate) use audit::AuditLog;
pub(crate) use unotify::supported as unotify_supported;
pub(crate) mod sysinfo;

use crate::result::{Reason, RunResult, Status, Usage, Violation};
use crate::spawn::latency::SetupStep;
use crate::spawn::ns_plan::OpKind;
use crate::spawn::{plan::Step, Plan, SETUP_FAILED_EXIT};
use state::KillReason;
use std::time::{Duration, Instant};

/// What a monitor learned about a run, turned into its [`RunResult`] by
/// [`Outcome::into_result`].
struct Outcome {
    /// The sandboxee (the init when the sandbox ended before it started one).
    main: Option<libc::pid_t>,
    /// How the main process ended (wait status) and its resource usage.
    main_status: Option<(i32, libc::rusage)>,
    /// The sandboxee reached its start exec.
    exec_seen: bool,
    peak_tasks: u32,
    violation: Option<(Reason, Violation)>,
    /// A failed setup step or a vetoed start; a violation takes precedence.
    setup_error: Option<RunResult>,
    setup_latency: Vec<SetupStep>,
    fences: Fences,
    /// An audit run's record (`None` for any other run).
    audit: Option<AuditLog>,
    /// Connects the network allow-list refused (user-notify only).
    denied_connects: Vec<crate::result::DeniedConnect>,
    /// What the sandbox's cgroup recorded, when it had one.
    cgroup: Option<crate::cgroups::CgroupUsage>,
    /// The host uid the sandboxee ran as.
    host_uid: u32,
    /// The violating thread's stack, when the policy asked for stack traces.
    stack_trace: Option<crate::stacktrace::StackTrace>,
}

impl Outcome {
    /// The run's result: the setup error when one was recorded and no violation happened,
    /// otherwise what the main process's end says; `kill_reason` is why the host ended it, if it
    /// did.
    fn into_result(mut self, kill_reason: Option<KillReason>, started_at: Instant) -> RunResult {
        let mut result = match self.setup_error.take() {
            Some(r) if self.violation.is_none() => r,
            _ => self.exit_result(kill_reason),
        };
        result.pid = self.main.unwrap_or(0);
        result.setup_latency = self.setup_latency;
        result.fences = self.fences.on;
        result.degraded = self.fences.off;
        result.landlock = self.fences.landlock;
        result.wall_time = started_at.elapsed();
        result.audit = self.audit.map(AuditLog::into_calls);
        result.denied_connects = self.denied_connects;
        result.cgroup = self.cgroup;
        result.host_uid = Some(self.host_uid);
        result.stack_trace = self.stack_trace;
        result
    }

    fn exit_result(&self, kill_reason: Option<KillReason>) -> RunResult {
        let Some((status, ru)) = self.main_status else {
            return RunResult::internal_error(
                Reason::FailedWait,
                "the sandboxee vanished without an exit status".into(),
            );
        };
        let usage = Usage {
            user_time: tv(ru.ru_utime),
            system_time: tv(ru.ru_stime),
            max_rss_kib: u64::try_from(ru.ru_maxrss).unwrap_or(0),
            peak_tasks: self.peak_tasks,
        };
        let mut r;
        if let Some((reason, v)) = &self.violation {
            r = RunResult::new(Status::Violation);
            r.reason_code = *reason as u32;
            r.violation = Some(v.clone());
        } else if libc::WIFSIGNALED(status) {
            let sig = libc::WTERMSIG(status);
            r = match kill_reason {
                Some(KillReason::External) => RunResult::new(Status::ExternalKill),
                Some(KillReason::Timeout) => RunResult::new(Status::Timeout),
                None if !self.exec_seen => RunResult::setup_error(
                    Reason::FailedSubprocess,
                    format!("the sandboxee died of signal {sig} before it started the target"),
                ),
                None => {
                    let mut r = RunResult::new(Status::Signaled);
                    r.reason_code = u32::try_from(sig).unwrap_or(0);
                    r
                }
            };
            r.signal = Some(sig);
        } else {
            let code = libc::WEXITSTATUS(status);
            r = RunResult::new(Status::Ok);
            r.reason_code = u32::try_from(code).unwrap_or(0);
            r.exit_code = Some(code);
        }
        r.pid = self.main.unwrap_or(0);
        r.usage = usage;
        r
    }
}

/// Records the run's first violation (later ones only end the run) and tells Notify; `data` is
/// the verdict's trace data (a foreign ABI is a `VIOLATION_ARCH`).
fn record_violation(
    slot: &mut Option<(Reason, Violation)>,
    data: u16,
    call: impl FnOnce() -> Violation,
    notify: &mut dyn crate::notify::Notify,
) {
    use crate::policy::trace_data;
    if slot.is_some() {
        return;
    }
    let reason = match data {
        trace_data::ARCH_X86_32 | trace_data::ARCH_UNKNOWN | trace_data::X32 => {
            Reason::ViolationArch
        }
        _ => Reason::ViolationSyscall,
    };
    let v = call();
    log::info!("sandbox violation: {}", v.describe());
    notify.violation(&v);
    *slot = Some((reason, v));
}

/// The SETUP_ERROR for a clone that failed with `e` (the host records the clone's errno in the
/// plan's report).
fn clone_failure(plan: &Plan, e: &crate::Error) -> RunResult {
    let errno =
        Some(plan.report.errno.load(std::sync::atomic::Ordering::Relaxed)).filter(|e| *e != 0);
    let reason = match e {
        crate::Error::Unsupported { .. } => Reason::FailedNamespaces,
        _ => Reason::FailedSubprocess,
    };
    let namespaced = plan.ns.is_some();
    let what = match (reason, errno) {
        // The hint carries the cause and the fix that the error's text holds.
        (Reason::FailedNamespaces, Some(n)) => format!(
            "clone with namespace flags: {}",
            std::io::Error::from_raw_os_error(n)
        ),
        _ => e.to_string(),
    };
    step_error(reason, Step::Clone.name(), errno, &what, namespaced)
}

/// The fences in force around a sandboxee that started, and the cosmetic parts left out.
#[derive(Debug, Default)]
pub(super) struct Fences {
    /// In force (`RunResult::fences`).
    pub on: Vec<&'static str>,
    /// Left out (`RunResult::degraded`).
    pub off: Vec<&'static str>,
    /// What the Landlock domain enforced.
    pub landlock: Option<crate::landlock::Enforced>,
}

/// The fences in force and the cosmetic parts left out, read when the sandboxee has started.
fn fences(plan: &Plan) -> Fences {
    use crate::spawn::plan::degraded;
    let bits = plan
        .report
        .degraded
        .load(std::sync::atomic::Ordering::Acquire);
    let mut on = Vec::with_capacity(9);
    if let Some(ns) = plan.ns.as_ref() {
        on.push("namespaces");
        if ns.clone_flags & libc::CLONE_NEWNET != 0 {
            on.push("network_namespace");
        }
        on.push("filesystem_view");
        if bits & degraded::PROC == 0 {
            on.push("private_proc");
        }
    }
    on.push("seccomp");
    if let Some(domain) = plan.landlock.as_ref() {
        on.push("landlock");
        if !domain.paths.is_empty() {
            on.push("landlock_filesystem");
        }
        if domain.attr.handled_access_net != 0 {
            on.push("landlock_network");
        }
    }
    if plan.report.in_force.load(std::sync::atomic::Ordering::Acquire)
        & crate::spawn::plan::in_force::SPECULATION
        != 0
    {
        on.push("speculation_control");
    }
    on.extend([
        "no_new_privs",
        "rlimits",
        if plan.handoff.is_some() {
            "unotify_monitor"
        } else {
            "ptrace_monitor"
        },
    ]);
    let mut off = Vec::new();
    if bits & degraded::HOSTNAME != 0 {
        off.push("hostname");
    }
    if bits & degraded::PROC != 0 {
        off.push("proc");
    }
    if bits & degraded::IDMAP != 0 {
        off.push("idmapped_binds");
    }
    Fences {
        on,
        off,
        landlock: plan.landlock.as_ref().map(crate::landlock::Domain::enforced),
    }
}

/// What the Landlock step was doing at `item` (see `spawn::plan::landlock_item`).
fn landlock_failure(plan: &Plan, item: usize) -> String {
    use crate::spawn::plan::landlock_item;
    let domain = plan.landlock.as_ref();
    let paths = domain.map_or(0, |d| d.paths.len());
    match item {
        landlock_item::CREATE => "landlock_create_ruleset".to_string(),
        landlock_item::RESTRICT => "landlock_restrict_self".to_string(),
        i if i < paths => domain.map_or(String::new(), |d| {
            format!("the rule for {}", d.paths[i].path.to_string_lossy())
        }),
        i => domain
            .and_then(|d| {
                let fds = d.fds.len();
                match d.fds.get(i - paths) {
                    Some(r) => Some(format!("the rule for fd {}", r.fd)),
                    None => d
                        .tcp_ports
                        .get(i - paths - fds)
                        .map(|p| format!("the rule for TCP port {p}")),
                }
            })
            .unwrap_or_default(),
    }
}

/// Reads the child's failure report when it exited before exec; `None` if it did exec.
fn setup_failure(plan: &Plan, exit_code: i32) -> Option<RunResult> {
    use std::sync::atomic::Ordering;
    let step = Step::from_u32(plan.report.step.load(Ordering::Acquire));
    if step == Step::None || exit_code != SETUP_FAILED_EXIT {
        return None;
    }
    let errno = plan.report.errno.load(Ordering::Relaxed);
    let item = plan.report.item.load(Ordering::Relaxed) as usize;
    let err = std::io::Error::from_raw_os_error(errno);
    let (reason, what) = match step {
        Step::Exec if errno == libc::ENOENT && plan.ns.is_some() => (
            Reason::FailedSubprocess,
            format!(
                "execve {}: {err}; the program or its loader is not in the sandbox's filesystem \
                 (add it with add_file/add_directory or add_libraries_for_binary)",
                plan.path.to_string_lossy()
            ),
        ),
        Step::Exec => (
            Reason::FailedSubprocess,
            format!("execve {}: {err}", plan.path.to_string_lossy()),
        ),
        Step::Mounts => {
            let what = plan
                .ns
                .as_ref()
                .and_then(|n| n.ops.get(item))
                .map_or("the new root", |o| o.label.as_str());
            (Reason::FailedNamespaces, format!("mounting {what}: {err}"))
        }
        Step::Network if item >= crate::spawn::udp_relay::ITEM_BASE => {
            let relay = plan.ns.as_ref().and_then(|n| n.udp_relay.as_deref());
            let what = relay.and_then(|r| r.describe_failure(item));
            let what = what.as_deref().unwrap_or("the udp relay");
            (Reason::FailedNamespaces, format!("{what}: {err}"))
        }
        Step::Namespaces
        | Step::UserNs
        | Step::Pivot
        | Step::Hostname
        | Step::Network
        | Step::NestedUserNs => (
            Reason::FailedNamespaces,
            format!("{}: {err}", step.describe()),
        ),
        Step::Cwd => (
            Reason::FailedCwd,
            format!("chdir {}: {err}", plan.cwd.to_string_lossy()),
        ),
        Step::Rlimit => {
            let res = plan.rlimits.get(item).map_or(0, |r| r.resource);
            (
                Reason::FailedLimits,
                format!("setrlimit(resource {res}): {err}"),
            )
        }
        Step::Seccomp | Step::NoNewPrivs => {
            (Reason::FailedPolicy, format!("{}: {err}", step.describe()))
        }
        Step::Landlock => (
            Reason::FailedSubprocess,
            format!("{} ({}): {err}", step.describe(), landlock_failure(plan, item)),
        ),
        Step::Fds => {
            let dst = plan.moves.get(item).map_or(-1, |m| m.dst);
            (
                Reason::FailedIpc,
                format!("{} (fd {dst}): {err}", step.describe()),
            )
        }
        other => (
            Reason::FailedSubprocess,
            format!("{}: {err}", other.describe()),
        ),
    };
    let name = match step {
        Step::Mounts => match plan
            .ns
            .as_ref()
            .and_then(|n| n.ops.get(item))
            .map(|o| &o.kind)
        {
            Some(OpKind::Proc) => "mount_proc",
            Some(OpKind::Bind { .. }) => "mount_bind",
            Some(OpKind::Tmpfs { .. }) => "mount_tmpfs",
            Some(OpKind::Devpts) => "mount_devpts",
            Some(OpKind::Symlink { .. }) => "mount_symlink",
            None => "mount_root",
        },
        other => other.name(),
    };
    Some(step_error(
        reason,
        name,
        Some(errno),
        &what,
        plan.ns.is_some(),
    ))
}

/// A SETUP_ERROR for step `name` failing with `errno`: the message names the step and the errno
/// and carries the hint (`diagnose::hint`) when the cause is a known one.
fn step_error(
    reason: Reason,
    name: &'static str,
    errno: Option<i32>,
    what: &str,
    namespaced: bool,
) -> RunResult {
    let hint = match (errno, name) {
        // Only a namespaced clone has a namespace cause.
        (_, "clone") if !namespaced => None,
        (Some(e), _) => crate::diagnose::hint(name, e),
        (None, _) => None,
    };
    let mut message = match errno {
        Some(e) => format!(
            "step {name} failed ({}): {what}",
            crate::diagnose::errno_name(e)
        ),
        None => format!("step {name} failed: {what}"),
    };
    if let Some(h) = &hint {
        message.push_str("; likely cause: ");
        message.push_str(h);
    }
    let mut r = RunResult::setup_error(reason, message);
    r.setup_errno = errno;
    r.failed_step = Some(name);
    r.setup_hint = hint;
    r
}

fn tv(t: libc::timeval) -> Duration {
    Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
        + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
}
