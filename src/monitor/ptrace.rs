//! The ptrace monitor of one sandbox: it spawns the sandboxee, attaches to it and to everything
//! it creates, allows the one exec, turns seccomp TRACE stops into violations, and produces the
//! [`RunResult`]. It runs on the supervisor thread (`supervisor.rs`), which waits for the events
//! of every sandbox and hands each to the [`Running`] sandbox it belongs to.
//!
//! Why the supervisor also spawns: ptrace requests must come from the thread that attached, and
//! that thread must also be the one waiting (`__WNOTHREAD` keeps the host's other threads' and
//! children out of it).
//!
//! [`start`] is a sequence of named steps: spawn, publish the pidfd, attach, write the id maps,
//! release the child. Then one method per kind of event ([`Running::on_exit`],
//! [`Running::on_stop`]), and [`Running::collect`] for the result.

#![allow(unsafe_code)]

use super::launch::{kill_and_reap, killed_result, publish_pidfd, write_id_maps, Child, Prepared};
use super::state::Shared;
use super::sysinfo;
use super::{clone_failure, fences, record_violation, Fences, setup_failure, AuditLog, Outcome};
use crate::caps::with_raised_capabilities;
use crate::notify::{Notify, TraceAction};
use crate::policy::trace_data;
use crate::result::{Reason, RunResult, Violation};
use crate::spawn::latency::{Mark, SetupStep};
use crate::spawn::{self, Plan};
use std::collections::HashSet;
use std::time::{Duration, Instant};

const PTRACE_OPTIONS: libc::c_int = libc::PTRACE_O_TRACESYSGOOD
    | libc::PTRACE_O_TRACEFORK
    | libc::PTRACE_O_TRACEVFORK
    | libc::PTRACE_O_TRACECLONE
    | libc::PTRACE_O_TRACEEXEC
    | libc::PTRACE_O_TRACESECCOMP
    | libc::PTRACE_O_EXITKILL;

/// Starts one sandbox on the calling thread (the supervisor, signals blocked), up to the point
/// where its child runs; the returned [`Running`] takes its events from then on. A failure is
/// the run's result.
pub(crate) fn start(
    plan: Box<Plan>,
    policy: crate::policy::Policy,
    shared: &Shared,
) -> Result<Running, Box<RunResult>> {
    let spawned = match spawn::spawn(&plan) {
        Ok(s) => s,
        Err(e) => return Err(Box::new(clone_failure(&plan, &e))),
    };
    // In a namespaced sandbox `main` is the init until the sandboxee is known: killing the init
    // through this pidfd ends the whole pid namespace.
    let main = spawned.pid;
    plan.stamps.mark(Mark::Cloned);
    let mut child = Child::new(plan, spawned);
    publish_pidfd(main, shared);
    let ready = attach(main, shared)
        .and_then(|()| write_id_maps(&child, main))
        .and_then(|()| child.join_cgroup(main))
        .and_then(|()| child.release());
    if let Err(r) = ready {
        kill_and_reap(main);
        drop(child.spawned.take());
        shared.clear_pidfd();
        // The pidfd is published before the attach, so a kill can end the child first: then
        // the kill, not ptrace, ended the run.
        return Err(killed_result(shared).unwrap_or(r));
    }
    if let Some(p) = child.plan() {
        p.stamps.mark(Mark::Attached);
    }
    let monitor = Monitor::new(policy, main, child.plan());
    Ok(Running {
        monitor,
        child,
        first: main,
    })
}

/// A started sandbox: its monitor state and its clone children's memory.
pub(crate) struct Running {
    monitor: Monitor,
    child: Child,
    first: libc::pid_t,
}

impl Running {
    /// The clone child (the init with namespaces): the first task to expect events from.
    pub(crate) fn first_pid(&self) -> libc::pid_t {
        self.first
    }

    /// A task of this sandbox ended.
    pub(crate) fn on_exit(&mut self, pid: libc::pid_t, status: i32, rusage: libc::rusage) {
        self.monitor.on_exit(pid, status, rusage, &mut self.child);
    }

    /// A task of this sandbox stopped.
    pub(crate) fn on_stop(
        &mut self,
        pid: libc::pid_t,
        status: i32,
        shared: &Shared,
        notify: &mut dyn Notify,
    ) {
        self.monitor
            .on_stop(pid, status, &mut self.child, shared, notify);
    }

    /// Kills every task (the run's outcome is decided elsewhere, e.g. a panicked callback).
    pub(crate) fn end_all(&mut self) {
        self.monitor.end_all();
    }

    /// Tasks that appeared since the last call (to route their events here).
    pub(crate) fn take_new_tasks(&mut self) -> Vec<libc::pid_t> {
        std::mem::take(&mut self.monitor.new_tasks)
    }

    /// The main process has ended and every task is accounted for.
    pub(crate) fn is_done(&self) -> bool {
        self.monitor.main_status.is_some() && self.monitor.tasks.is_empty()
    }

    /// The run's result; frees what is left.
    pub(crate) fn collect(self, shared: &Shared, started_at: Instant) -> RunResult {
        collect(self.monitor, self.child, shared, started_at)
    }
}

/// PTRACE_SEIZE of the clone child, or the SETUP_ERROR saying why not.
fn attach(main: libc::pid_t, shared: &Shared) -> Prepared {
    if seize(main, shared) >= 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    Err(Box::new(RunResult::setup_error(
        Reason::FailedPtrace,
        format!(
            "ptrace(PTRACE_SEIZE) of the sandboxee failed: {err}; the ptrace monitor needs ptrace \
             (check kernel.yama.ptrace_scope <= 1 and that a container seccomp profile allows ptrace)"
        ),
    )))
}

/// Frees the child's memory and the pidfd, and turns what the monitor saw into the result.
fn collect(m: Monitor, mut child: Child, shared: &Shared, started_at: Instant) -> RunResult {
    child.free();
    let cgroup = child.cgroup_usage();
    shared.clear_pidfd();
    Outcome {
        main: m.main,
        main_status: m.main_status,
        exec_seen: m.exec_seen,
        peak_tasks: m.peak,
        violation: m.violation,
        setup_error: m.setup_error,
        setup_latency: m.setup_latency,
        fences: m.fences,
        audit: m.audit,
        denied_connects: Vec::new(),
        cgroup,
        host_uid: child.host_uid,
    }
    .into_result(shared.kill_reason(), started_at)
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
    fences: Fences,
    /// Tasks added since the supervisor last asked.
    new_tasks: Vec<libc::pid_t>,
    /// An audit run's record.
    audit: Option<AuditLog>,
}

impl Monitor {
    fn new(policy: crate::policy::Policy, main: libc::pid_t, plan: Option<&Plan>) -> Monitor {
        let max_tasks = plan.and_then(|p| p.max_tasks);
        let namespaced = plan.is_some_and(|p| p.ns.is_some());
        Monitor {
            audit: policy.is_audit().then(AuditLog::default),
            policy,
            // With namespaces the clone child is the sandbox's init; the sandboxee is its first
            // child.
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
            fences: Fences::default(),
            new_tasks: Vec::new(),
        }
    }

    /// A task ended; true when the run is over (the main process has ended and no task is left).
    fn on_exit(
        &mut self,
        pid: libc::pid_t,
        status: i32,
        rusage: libc::rusage,
        child: &mut Child,
    ) -> bool {
        self.tasks.remove(&pid);
        self.killed_on_birth.remove(&pid);
        if self.main.is_none() && Some(pid) == self.init {
            // The init died before it started the sandboxee: its report says why.
            self.main = Some(pid);
        }
        if Some(pid) == self.main {
            self.main_status = Some((status, rusage));
            if !self.exec_seen && libc::WIFEXITED(status) {
                if let Some(p) = child.plan() {
                    self.setup_error = setup_failure(p, libc::WEXITSTATUS(status));
                }
            }
            // The run ends with its main process; nothing it left behind may outlive it.
            self.end_all();
        }
        // The clone children ran on our memory until their exec; free it only when none of
        // them can still be running on it.
        let init_gone = self.init.map_or(true, |i| !self.tasks.contains(&i));
        if self.main_status.is_some() && init_gone {
            child.free();
        }
        self.main_status.is_some() && self.tasks.is_empty()
    }

    /// A task stopped: dispatches on the kind of stop.
    fn on_stop(
        &mut self,
        pid: libc::pid_t,
        status: i32,
        child: &mut Child,
        shared: &Shared,
        notify: &mut dyn Notify,
    ) {
        if self.tasks.insert(pid) {
            // A new task whose first stop arrived before its parent's fork event.
            self.on_new_task(pid);
        }
        let sig = libc::WSTOPSIG(status);
        let event = (status >> 16) & 0xffff;
        match event {
            libc::PTRACE_EVENT_SECCOMP => self.on_seccomp(pid, notify),
            libc::PTRACE_EVENT_FORK | libc::PTRACE_EVENT_VFORK | libc::PTRACE_EVENT_CLONE => {
                self.on_fork(pid);
            }
            libc::PTRACE_EVENT_EXEC => self.on_exec(pid, child, shared),
            libc::PTRACE_EVENT_STOP => on_event_stop(pid, sig),
            // The init is the library's own process: its signals (a SIGCHLD when the sandboxee
            // ends) are not the sandboxee's and are not reported.
            _ if Some(pid) == self.init => on_signal(pid, sig, &mut crate::notify::DenyTraces),
            _ => on_signal(pid, sig, notify),
        }
    }

    /// A fork, vfork or clone event: the new task is tracked (and capped).
    fn on_fork(&mut self, pid: libc::pid_t) {
        if let Some(child) = event_msg(pid).and_then(|c| libc::pid_t::try_from(c).ok()) {
            if self.main.is_none() && Some(pid) == self.init {
                self.main = Some(child);
            }
            if self.tasks.insert(child) {
                self.on_new_task(child);
            }
        }
        cont(pid, 0);
    }

    /// An exec event: the init's exec releases a held start exec; the sandboxee's start exec
    /// means it is running, and the clone children's memory can go.
    fn on_exec(&mut self, pid: libc::pid_t, child: &mut Child, shared: &Shared) {
        if let Some(former) = event_msg(pid).and_then(|f| libc::pid_t::try_from(f).ok()) {
            if former != pid {
                self.tasks.remove(&former);
            }
        }
        if Some(pid) == self.init && !self.init_exec_seen {
            // The init left the host's memory; the sandboxee may start its target now.
            self.init_exec_seen = true;
            if let Some(p) = self.pending_exec.take() {
                cont(p, 0);
            }
        } else if Some(pid) == self.main && !self.exec_seen {
            self.exec_seen = true;
            if let Some(p) = child.plan() {
                p.stamps.mark(Mark::Exec);
                self.setup_latency = p.stamps.breakdown();
                self.fences = fences(p);
            }
            // The child has its own memory now: its stack and plan can go, and the host's
            // copies of mapped fds are closed (a pipe's reader sees EOF when the sandboxee
            // closes its end).
            child.free();
            shared.set_running(pid);
        }
        cont(pid, 0);
    }

    fn on_new_task(&mut self, pid: libc::pid_t) {
        self.new_tasks.push(pid);
        let init_alive = self
            .init
            .map_or(0, |i| usize::from(self.tasks.contains(&i)));
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
        self.peak = self.peak.max(u32::try_from(alive).unwrap_or(u32::MAX));
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
        if data == trace_data::USER_TRACE || data == trace_data::EXEC || data == trace_data::AUDIT {
            let input = crate::policy::SeccompData {
                nr: crate::sys::low_i32(stop.nr),
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
        if data == trace_data::AUDIT {
            if let Some(log) = self.audit.as_mut() {
                log.record(stop.audit_arch, stop.nr, &stop.args, || stop.violation(pid));
                cont(pid, 0);
                return;
            }
            data = trace_data::VIOLATION;
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
        record_violation(&mut self.violation, data, || stop.violation(pid), notify);
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
}

/// A PTRACE_EVENT_STOP: a group-stop stays stopped (but keeps reporting events); anything else
/// continues.
fn on_event_stop(pid: libc::pid_t, sig: i32) {
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

/// A signal-delivery-stop: the signal is passed on unchanged.
fn on_signal(pid: libc::pid_t, sig: i32, notify: &mut dyn Notify) {
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

/// PTRACE_SEIZE of our own clone child, retried briefly on EPERM.
///
/// The child shares the host's memory, and so does every other sandbox's child until its exec.
/// A root caller's child that switches to the sandbox's host id clears the dumpable flag of that
/// shared memory until it restores it a few instructions later; a seize in that window needs
/// CAP_SYS_PTRACE, which the root of a container does not hold. The window is microseconds
/// long, so a few retries end it; a real refusal (Yama, a seccomp profile) persists and is
/// reported.
fn seize(pid: libc::pid_t, shared: &Shared) -> libc::c_long {
    let mut r = -1;
    for _ in 0..100 {
        // SAFETY: PTRACE_SEIZE with an options word; no pointers.
        r = unsafe {
            libc::ptrace(
                libc::PTRACE_SEIZE,
                pid,
                0,
                libc::c_long::from(PTRACE_OPTIONS),
            )
        };
        if r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EPERM) {
            break;
        }
        if shared.kill_reason().is_some() {
            // Killed meanwhile (an exiting task refuses the seize with EPERM too).
            break;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    r
}

fn cont(pid: libc::pid_t, sig: i32) {
    // SAFETY: plain request; failure (ESRCH: the task died) needs no handling here.
    unsafe { libc::ptrace(libc::PTRACE_CONT, pid, 0, libc::c_long::from(sig)) };
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
            std::ptr::addr_of_mut!(msg),
        )
    };
    (r == 0).then_some(msg as u64)
}

/// Blocks every signal on the calling thread (the supervisor; its clone children inherit it).
pub(crate) fn block_all_signals() {
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
        if libc::ptrace(libc::PTRACE_GETREGS, pid, 0, std::ptr::addr_of_mut!(regs)) != 0 {
            return false;
        }
        regs.orig_rax = u64::MAX;
        regs.rax = 0u64.wrapping_sub(u64::from(errno)); // -errno, as the kernel returns it
        libc::ptrace(libc::PTRACE_SETREGS, pid, 0, std::ptr::addr_of!(regs)) == 0
    }
}

/// AArch64: x0 is both the first argument and the return value, and the syscall number lives
/// apart from the general registers (`NT_ARM_SYSTEM_CALL`, not x8, is what the kernel reads after
/// the stop). So: x0 = -errno through `NT_PRSTATUS` (`user_pt_regs`), then the number -1 (skip)
/// through `NT_ARM_SYSTEM_CALL`; the kernel then leaves x0 as set (arch/arm64/kernel/syscall.c).
/// Checked only by building for aarch64 so far: no test ran it on an aarch64 kernel.
#[cfg(target_arch = "aarch64")]
fn skip_with_errno(pid: libc::pid_t, errno: u16) -> bool {
    const NT_PRSTATUS: libc::c_ulong = 1;
    const NT_ARM_SYSTEM_CALL: libc::c_ulong = 0x404;
    /// PTRACE_GETREGSET or PTRACE_SETREGSET of regset `nt` from or to `*data`; the size the
    /// kernel transferred, or None when the request failed.
    fn regset<T>(
        request: libc::c_uint,
        pid: libc::pid_t,
        nt: libc::c_ulong,
        data: &mut T,
    ) -> Option<usize> {
        let mut iov = libc::iovec {
            iov_base: std::ptr::from_mut(data).cast(),
            iov_len: std::mem::size_of::<T>(),
        };
        // SAFETY: the iovec describes `data`, a live exclusive borrow of exactly iov_len bytes;
        // the callers pass the plain-data types the regsets hold (the kernel checks iov_len).
        let r = unsafe { libc::ptrace(request, pid, nt, std::ptr::addr_of_mut!(iov)) };
        (r == 0).then_some(iov.iov_len)
    }
    // SAFETY: user_regs_struct (aarch64's user_pt_regs) is plain data: all zeroes is valid.
    let mut regs: libc::user_regs_struct = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::user_regs_struct>();
    if regset(libc::PTRACE_GETREGSET, pid, NT_PRSTATUS, &mut regs) != Some(size) {
        return false;
    }
    regs.regs[0] = 0u64.wrapping_sub(u64::from(errno)); // -errno, as the kernel returns it
    let mut nr: libc::c_int = -1;
    regset(libc::PTRACE_SETREGSET, pid, NT_PRSTATUS, &mut regs).is_some()
        && regset(libc::PTRACE_SETREGSET, pid, NT_ARM_SYSTEM_CALL, &mut nr).is_some()
}

/// Not implemented on this architecture: the call is treated as denied (a violation).
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn skip_with_errno(_pid: libc::pid_t, _errno: u16) -> bool {
    false
}
