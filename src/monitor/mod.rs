//! The ptrace monitor: one thread per running sandbox that spawns the sandboxee, attaches to it
//! and to everything it creates, allows the one exec, turns seccomp TRACE stops into violations,
//! and produces the [`RunResult`].
//!
//! Why the monitor thread also spawns: ptrace requests must come from the thread that attached,
//! and that thread must also be the one waiting (`__WNOTHREAD` keeps sibling monitors from
//! stealing each other's events). The loop blocks in `wait4` only: kills for timeouts and
//! `Sandbox::kill` are sent from other threads through a pidfd, and the resulting exit wakes it.

#![allow(unsafe_code)]

pub(crate) mod state;
mod sysinfo;

use crate::caps::with_raised_capabilities;
use crate::notify::{Notify, TraceAction};
use crate::policy::trace_data;
use crate::result::{Reason, RunResult, Status, Usage, Violation};
use crate::spawn::latency::{Mark, SetupStep};
use crate::spawn::ns_plan::OpKind;
use crate::spawn::{self, plan::Step, Plan, SETUP_FAILED_EXIT};
use state::{KillReason, Shared};
use std::collections::HashSet;
use std::os::fd::{FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

const PTRACE_OPTIONS: libc::c_int = libc::PTRACE_O_TRACESYSGOOD
    | libc::PTRACE_O_TRACEFORK
    | libc::PTRACE_O_TRACEVFORK
    | libc::PTRACE_O_TRACECLONE
    | libc::PTRACE_O_TRACEEXEC
    | libc::PTRACE_O_TRACESECCOMP
    | libc::PTRACE_O_EXITKILL;

/// Runs one sandbox to the end on the calling thread (a dedicated monitor thread).
pub(crate) fn run(
    plan: Box<Plan>,
    policy: crate::policy::Policy,
    shared: &Shared,
    started_at: Instant,
    notify: &mut dyn Notify,
) -> RunResult {
    block_all_signals();
    let mut plan = Some(plan);
    let mut spawned = match spawn::spawn(plan.as_deref().expect("plan present")) {
        Ok(s) => Some(s),
        Err(e) => {
            let errno = plan
                .as_deref()
                .map(|p| p.report.errno.load(std::sync::atomic::Ordering::Relaxed))
                .filter(|e| *e != 0);
            let reason = match e {
                crate::Error::Unsupported { .. } => Reason::FailedNamespaces,
                _ => Reason::FailedSubprocess,
            };
            let namespaced = plan.as_ref().is_some_and(|p| p.ns.is_some());
            let what = match (reason, errno) {
                // The hint carries the cause and the fix that the error's text holds.
                (Reason::FailedNamespaces, Some(n)) => format!(
                    "clone with namespace flags: {}",
                    std::io::Error::from_raw_os_error(n)
                ),
                _ => e.to_string(),
            };
            return step_error(reason, Step::Clone.name(), errno, what, namespaced);
        }
    };
    let main = spawned.as_ref().map(|s| s.pid).unwrap_or(0);
    if let Some(p) = plan.as_deref() {
        p.stamps.mark(Mark::Cloned);
    }
    // In a namespaced sandbox `main` is the init until the sandboxee is known: killing the init
    // through this pidfd ends the whole pid namespace.

    // A pidfd lets other threads kill the sandboxee without racing pid reuse.
    // SAFETY: pidfd_open takes a pid and flags; the result is a new fd or -1.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, main, 0) };
    if pidfd >= 0 {
        // SAFETY: fresh fd owned by nobody else.
        shared.set_pidfd(unsafe { OwnedFd::from_raw_fd(pidfd as i32) });
    }

    let r = seize(main);
    if r < 0 {
        let err = std::io::Error::last_os_error();
        kill_and_reap(main);
        drop(spawned.take());
        shared.clear_pidfd();
        return RunResult::setup_error(
            Reason::FailedPtrace,
            format!(
                "ptrace(PTRACE_SEIZE) of the sandboxee failed: {err}; the ptrace monitor needs ptrace \
                 (check kernel.yama.ptrace_scope <= 1 and that a container seccomp profile allows ptrace)"
            ),
        );
    }
    // A root caller's sandbox maps onto an unprivileged host id; only we (CAP_SETUID outside)
    // may write such maps, and the init waits on the start pipe until we have.
    if let Some(ns) = plan
        .as_ref()
        .and_then(|p| p.ns.as_ref())
        .filter(|ns| ns.monitor_writes_maps)
    {
        let write = |file: &str, data: &[u8]| {
            std::fs::write(format!("/proc/{main}/{file}"), data).map_err(|e| {
                (
                    format!("writing /proc/{main}/{file}: {e}"),
                    e.raw_os_error(),
                )
            })
        };
        let written = with_raised_capabilities(|| {
            write("uid_map", ns.uid_map.as_bytes())
                .and_then(|_| write("gid_map", ns.gid_map.as_bytes()))
        });
        if let Err((e, errno)) = written {
            kill_and_reap(main);
            drop(spawned.take());
            shared.clear_pidfd();
            return step_error(
                Reason::FailedNamespaces,
                Step::UserNs.name(),
                errno,
                e,
                true,
            );
        }
    }
    if let Err(e) = spawned.as_mut().map(|s| s.release()).unwrap_or(Ok(())) {
        kill_and_reap(main);
        drop(spawned.take());
        shared.clear_pidfd();
        return RunResult::setup_error(Reason::FailedSubprocess, e.to_string());
    }

    if let Some(p) = plan.as_deref() {
        p.stamps.mark(Mark::Attached);
    }
    let max_tasks = plan.as_ref().and_then(|p| p.max_tasks);
    let namespaced = plan.as_ref().map(|p| p.ns.is_some()).unwrap_or(false);
    let mut m = Monitor {
        policy,
        // With namespaces the clone child is the sandbox's init; the sandboxee is its first child.
        main: if namespaced { None } else { Some(main) },
        init: if namespaced { Some(main) } else { None },
        init_exec_seen: !namespaced,
        pending_exec: None,
        tasks: HashSet::from([main]),
        killed_on_birth: HashSet::new(),
        peak: 1,
        max_tasks,
        exec_allowed: false,
        exec_seen: false,
        ending: false,
        violation: None,
        main_status: None,
        setup_error: None,
        setup_latency: Vec::new(),
        fences: Vec::new(),
        degraded: Vec::new(),
    };
    // SAFETY: rusage is plain old data; all-zero is a valid value.
    let mut rusage: libc::rusage = unsafe { std::mem::zeroed() };

    loop {
        let mut status = 0;
        // SAFETY: wait4 writes status and rusage into our locals.
        let pid = unsafe {
            libc::wait4(
                -1,
                &mut status,
                libc::__WALL | libc::__WNOTHREAD,
                &mut rusage,
            )
        };
        if pid < 0 {
            let e = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
            if e == libc::EINTR {
                continue;
            }
            // ECHILD: nothing left to wait for (tasks we had listed vanished with an exec).
            break;
        }
        if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
            m.tasks.remove(&pid);
            m.killed_on_birth.remove(&pid);
            if m.main.is_none() && Some(pid) == m.init {
                // The init died before it started the sandboxee: its report says why.
                m.main = Some(pid);
            }
            if Some(pid) == m.main {
                m.main_status = Some((status, rusage));
                if !m.exec_seen && libc::WIFEXITED(status) {
                    if let Some(p) = plan.as_deref() {
                        m.setup_error = setup_failure(p, libc::WEXITSTATUS(status));
                    }
                }
                // The run ends with its main process; nothing it left behind may outlive it.
                m.end_all();
            }
            // The clone children ran on our memory until their exec; free it only when none of
            // them can still be running on it.
            let init_gone = m.init.map_or(true, |i| !m.tasks.contains(&i));
            if m.main_status.is_some() && init_gone {
                drop(spawned.take());
                drop(plan.take());
            }
            if m.main_status.is_some() && m.tasks.is_empty() {
                break;
            }
            continue;
        }
        if !libc::WIFSTOPPED(status) {
            continue;
        }
        if m.tasks.insert(pid) {
            // A new task whose first stop arrived before its parent's fork event.
            m.on_new_task(pid);
        }
        let sig = libc::WSTOPSIG(status);
        let event = (status >> 16) & 0xffff;
        match event {
            libc::PTRACE_EVENT_SECCOMP => m.on_seccomp(pid, notify),
            libc::PTRACE_EVENT_FORK | libc::PTRACE_EVENT_VFORK | libc::PTRACE_EVENT_CLONE => {
                if let Some(child) = event_msg(pid) {
                    let child = child as libc::pid_t;
                    if m.main.is_none() && Some(pid) == m.init {
                        m.main = Some(child);
                    }
                    if m.tasks.insert(child) {
                        m.on_new_task(child);
                    }
                }
                cont(pid, 0);
            }
            libc::PTRACE_EVENT_EXEC => {
                if let Some(former) = event_msg(pid) {
                    let former = former as libc::pid_t;
                    if former != pid {
                        m.tasks.remove(&former);
                    }
                }
                if Some(pid) == m.init && !m.init_exec_seen {
                    // The init left the host's memory; the sandboxee may start its target now.
                    m.init_exec_seen = true;
                    if let Some(p) = m.pending_exec.take() {
                        cont(p, 0);
                    }
                } else if Some(pid) == m.main && !m.exec_seen {
                    m.exec_seen = true;
                    if let Some(p) = plan.as_deref() {
                        p.stamps.mark(Mark::Exec);
                        m.setup_latency = p.stamps.breakdown();
                        (m.fences, m.degraded) = fences(p);
                    }
                    // The child has its own memory now: its stack and plan can go, and the host's
                    // copies of mapped fds are closed (a pipe's reader sees EOF when the
                    // sandboxee closes its end).
                    drop(spawned.take());
                    drop(plan.take());
                    shared.set_running(pid);
                }
                cont(pid, 0);
            }
            libc::PTRACE_EVENT_STOP => {
                if matches!(
                    sig,
                    libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU
                ) {
                    // Group-stop: keep it stopped but keep receiving events (ptrace(2) PTRACE_LISTEN).
                    // SAFETY: plain request on a tracee in group-stop.
                    unsafe { libc::ptrace(libc::PTRACE_LISTEN, pid, 0, 0) };
                } else {
                    cont(pid, 0);
                }
            }
            _ => {
                // Signal-delivery-stop: pass the signal on unchanged.
                let inject = if sig == (libc::SIGTRAP | 0x80) {
                    0
                } else {
                    sig
                };
                if inject != 0 {
                    notify.signal(pid, inject);
                }
                cont(pid, inject);
            }
        }
    }

    drop(spawned.take());
    drop(plan.take());
    shared.clear_pidfd();
    let mut result = match m.setup_error.take() {
        Some(r) if m.violation.is_none() => r,
        _ => m.result(shared.kill_reason()),
    };
    result.pid = m.main.unwrap_or(0);
    result.setup_latency = std::mem::take(&mut m.setup_latency);
    result.fences = std::mem::take(&mut m.fences);
    result.degraded = std::mem::take(&mut m.degraded);
    result.wall_time = started_at.elapsed();
    result
}

struct Monitor {
    /// The user's policy: trace data is checked against its verdicts.
    policy: crate::policy::Policy,
    /// The sandboxee (known from the start without namespaces, from the init's fork with them).
    main: Option<libc::pid_t>,
    /// The namespaced sandbox's init.
    init: Option<libc::pid_t>,
    init_exec_seen: bool,
    /// The sandboxee's start exec, held until the init has exec'd its own image.
    pending_exec: Option<libc::pid_t>,
    tasks: HashSet<libc::pid_t>,
    killed_on_birth: HashSet<libc::pid_t>,
    peak: u32,
    max_tasks: Option<u64>,
    exec_allowed: bool,
    exec_seen: bool,
    ending: bool,
    violation: Option<(Reason, Violation)>,
    main_status: Option<(i32, libc::rusage)>,
    setup_error: Option<RunResult>,
    setup_latency: Vec<SetupStep>,
    fences: Vec<&'static str>,
    degraded: Vec<&'static str>,
}

impl Monitor {
    fn on_new_task(&mut self, pid: libc::pid_t) {
        let init_alive = self.init.map_or(0, |i| self.tasks.contains(&i) as usize);
        let alive = self
            .tasks
            .len()
            .saturating_sub(self.killed_on_birth.len() + init_alive) as u64;
        if self.ending {
            kill(pid);
            return;
        }
        if let Some(max) = self.max_tasks {
            if alive > max {
                // Over the cap: the task dies before its first instruction.
                self.killed_on_birth.insert(pid);
                kill(pid);
                return;
            }
        }
        self.peak = self.peak.max(alive as u32);
    }

    fn on_seccomp(&mut self, pid: libc::pid_t, notify: &mut dyn Notify) {
        let stop = match sysinfo::read_seccomp_stop(pid) {
            Ok(s) => s,
            // ESRCH: killed meanwhile; anything else: refuse to guess and end the run.
            Err(libc::ESRCH) => return,
            Err(_) => {
                self.end_all();
                return;
            }
        };
        let mut data = (stop.ret_data & 0xffff) as u16;
        // The return data is only as trustworthy as the filter that produced it: with stacked
        // filters the kernel reports the data of the newest one, and a sandboxee allowed to call
        // seccomp() could install one that returns "trace" or "exec" for anything. Those two are
        // honoured only when our own policy gives exactly that verdict for this call.
        if data == trace_data::USER_TRACE || data == trace_data::EXEC {
            let input = crate::policy::SeccompData {
                nr: stop.nr as i32,
                arch: stop.audit_arch,
                instruction_pointer: stop.ip,
                args: stop.args,
            };
            let expected = crate::policy::bpf::SECCOMP_RET_TRACE | u32::from(data);
            if self.policy.decide(&input) != expected {
                log::warn!("sandbox: forged seccomp trace data {data} for syscall {}; treated as a violation", stop.nr);
                data = trace_data::VIOLATION;
            }
        }
        if data == trace_data::EXEC
            && !self.exec_allowed
            && !self.exec_seen
            && Some(pid) != self.init
        {
            // Before the start exec only library code runs, so the first request is ours.
            if self.main.is_none() {
                self.main = Some(pid);
            }
            if Some(pid) == self.main {
                self.exec_allowed = true;
                if !notify.started(pid) {
                    self.setup_error = Some(RunResult::setup_error(
                        Reason::FailedNotify,
                        "Notify::started vetoed the run".into(),
                    ));
                    self.end_all();
                    return;
                }
                if self.init_exec_seen {
                    cont(pid, 0);
                } else {
                    self.pending_exec = Some(pid);
                }
                return;
            }
        }
        if data == trace_data::USER_TRACE {
            let call = stop.violation(pid);
            match notify.trace(&call) {
                TraceAction::Allow => {
                    cont(pid, 0);
                    return;
                }
                TraceAction::Errno(e) if (1..=4095).contains(&e) && skip_with_errno(pid, e) => {
                    cont(pid, 0);
                    return;
                }
                // Deny, an out-of-range errno, or registers that could not be set.
                _ => {}
            }
        }
        let reason = match data {
            trace_data::ARCH_X86_32 | trace_data::ARCH_UNKNOWN | trace_data::X32 => {
                Reason::ViolationArch
            }
            _ => Reason::ViolationSyscall,
        };
        if self.violation.is_none() {
            let v = stop.violation(pid);
            log::info!("sandbox violation: {}", v.describe());
            notify.violation(&v);
            self.violation = Some((reason, v));
        }
        // The stopped thread never resumes: SIGKILL ends it in the stop.
        self.end_all();
    }

    /// Kills every task of the sandbox. Called once the outcome is decided.
    fn end_all(&mut self) {
        self.ending = true;
        for &t in &self.tasks {
            kill(t);
        }
    }

    fn result(&self, kill_reason: Option<KillReason>) -> RunResult {
        let (status, ru) = match self.main_status {
            Some(s) => s,
            None => {
                return RunResult::internal_error(
                    Reason::FailedWait,
                    "the sandboxee vanished without an exit status".into(),
                )
            }
        };
        let usage = Usage {
            user_time: tv(ru.ru_utime),
            system_time: tv(ru.ru_stime),
            max_rss_kib: ru.ru_maxrss.max(0) as u64,
            peak_tasks: self.peak,
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
                    r.reason_code = sig as u32;
                    r
                }
            };
            r.signal = Some(sig);
        } else {
            let code = libc::WEXITSTATUS(status);
            r = RunResult::new(Status::Ok);
            r.reason_code = code as u32;
            r.exit_code = Some(code);
        }
        r.pid = self.main.unwrap_or(0);
        r.usage = usage;
        r
    }
}

/// The fences in force and the cosmetic parts left out, read when the sandboxee has started.
fn fences(plan: &Plan) -> (Vec<&'static str>, Vec<&'static str>) {
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
    if plan.landlock.is_some() {
        on.push("landlock");
    }
    on.extend(["no_new_privs", "rlimits", "ptrace_monitor"]);
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
    (on, off)
}

/// Reads the child's failure report when it exited before exec; `None` if it did exec.
pub(crate) fn setup_failure(plan: &Plan, exit_code: i32) -> Option<RunResult> {
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
                .map(|o| o.label.as_str())
                .unwrap_or("the new root");
            (Reason::FailedNamespaces, format!("mounting {what}: {err}"))
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
            let res = plan.rlimits.get(item).map(|r| r.resource).unwrap_or(0);
            (
                Reason::FailedLimits,
                format!("setrlimit(resource {res}): {err}"),
            )
        }
        Step::Seccomp | Step::NoNewPrivs => {
            (Reason::FailedPolicy, format!("{}: {err}", step.describe()))
        }
        Step::Fds => {
            let dst = plan.moves.get(item).map(|m| m.dst).unwrap_or(-1);
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
        what,
        plan.ns.is_some(),
    ))
}

/// A SETUP_ERROR for step `name` failing with `errno`: the message names the step and the errno
/// and carries the hint (`diagnose::hint`) when the cause is a known one.
fn step_error(
    reason: Reason,
    name: &'static str,
    errno: Option<i32>,
    what: String,
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

/// PTRACE_SEIZE of our own clone child, retried briefly on EPERM.
///
/// The child shares the host's memory, and so does every other sandbox's child until its exec.
/// A root caller's child that switches to the sandbox's host id clears the dumpable flag of that
/// shared memory until it restores it a few instructions later; a seize in that window needs
/// CAP_SYS_PTRACE, which the root of a container does not hold. The window is microseconds
/// long, so a few retries end it; a real refusal (Yama, a seccomp profile) persists and is
/// reported.
fn seize(pid: libc::pid_t) -> libc::c_long {
    let mut r = -1;
    for _ in 0..100 {
        // SAFETY: PTRACE_SEIZE with an options word; no pointers.
        r = unsafe { libc::ptrace(libc::PTRACE_SEIZE, pid, 0, PTRACE_OPTIONS as libc::c_long) };
        if r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EPERM) {
            break;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    r
}

fn tv(t: libc::timeval) -> Duration {
    Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
}

fn cont(pid: libc::pid_t, sig: i32) {
    // SAFETY: plain request; failure (ESRCH: the task died) needs no handling here.
    unsafe { libc::ptrace(libc::PTRACE_CONT, pid, 0, sig as libc::c_long) };
}

fn kill(pid: libc::pid_t) {
    // SAFETY: signalling a tracee we have not reaped yet, so the pid cannot have been reused.
    with_raised_capabilities(|| unsafe { libc::kill(pid, libc::SIGKILL) });
}

fn event_msg(pid: libc::pid_t) -> Option<u64> {
    let mut msg: libc::c_ulong = 0;
    // SAFETY: the kernel writes one unsigned long.
    let r = unsafe {
        libc::ptrace(
            libc::PTRACE_GETEVENTMSG,
            pid,
            0,
            &mut msg as *mut libc::c_ulong,
        )
    };
    (r == 0).then_some(msg as u64)
}

fn kill_and_reap(pid: libc::pid_t) {
    kill(pid);
    let mut st = 0;
    // SAFETY: reaping our own child.
    unsafe { libc::waitpid(pid, &mut st, libc::__WALL) };
}

fn block_all_signals() {
    // SAFETY: sigfillset initialises the set; pthread_sigmask only affects this thread.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        libc::pthread_sigmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

/// Skips the syscall `pid` is stopped in (seccomp stop) and makes it return `-errno`: a syscall
/// number of -1 means "skip" to the kernel, and the return register is what the caller sees.
#[cfg(target_arch = "x86_64")]
fn skip_with_errno(pid: libc::pid_t, errno: u16) -> bool {
    // SAFETY: user_regs_struct is plain data; PTRACE_GETREGS/SETREGS read and write exactly it.
    unsafe {
        let mut regs: libc::user_regs_struct = std::mem::zeroed();
        if libc::ptrace(
            libc::PTRACE_GETREGS,
            pid,
            0,
            &mut regs as *mut libc::user_regs_struct,
        ) != 0
        {
            return false;
        }
        regs.orig_rax = u64::MAX;
        regs.rax = (-(errno as i64)) as u64;
        libc::ptrace(
            libc::PTRACE_SETREGS,
            pid,
            0,
            &regs as *const libc::user_regs_struct,
        ) == 0
    }
}

/// Not implemented on this architecture yet: the call is treated as denied.
#[cfg(not(target_arch = "x86_64"))]
fn skip_with_errno(_pid: libc::pid_t, _errno: u16) -> bool {
    false
}
