//! The ptrace monitor of one sandbox: it spawns the sandboxee, attaches to it and to everything
//! it creates, allows the one exec, turns seccomp TRACE stops into violations, and produces the
//! [`RunResult`]. It runs on the supervisor thread (`supervisor/`), which waits for the events
//! of every sandbox and hands each to the [`Running`] sandbox it belongs to.
//!
//! Why the supervisor also spawns: ptrace requests must come from the thread that attached, and
//! that thread must also be the one waiting (`__WNOTHREAD` keeps the host's other threads' and
//! children out of it).
//!
//! [`start`] is a sequence of named steps: spawn, publish the pidfd, attach, write the id maps,
//! release the child. Then one method per kind of event ([`Running::on_exit`],
//! [`Running::on_stop`]), and [`Running::collect`] for the result.
//!
//! Here: `start`, [`Running`] and the monitor's state; `events.rs` the events but seccomp stops,
//! `seccomp.rs` the seccomp stops, `requests.rs` the plain ptrace requests and the signal mask.

mod events;
mod kill_trace;
mod requests;
mod seccomp;


use super::launch::{kill_and_reap, killed_result, publish_pidfd, write_id_maps, Child, Prepared};
use super::state::Shared;
use super::{clone_failure, AuditLog, Fences, Outcome};
use crate::notify::Notify;
use crate::result::{Reason, RunResult, Violation};
use crate::spawn::latency::{Mark, SetupStep};
use crate::spawn::{self, Plan};
use requests::seize;
use std::collections::HashSet;
use std::time::Instant;

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
        .and_then(|()| child.join_and_release(main));
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

    /// With stack traces on, interrupts the main thread for a timeout's or a kill's trace; true
    /// when its stop is now awaited (it kills then), false when the caller is to kill now.
    pub(crate) fn interrupt_for_trace(&mut self) -> bool {
        self.monitor.interrupt_for_trace()
    }

    /// The awaited stop did not come in time: the caller kills without a trace.
    pub(crate) fn abandon_kill_trace(&mut self, waited: std::time::Duration) {
        if let Some(main) = self.monitor.main {
            let t = crate::stacktrace::StackTrace::did_not_stop(main, waited);
            self.monitor.abandon_kill_trace(t);
        }
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
        stack_trace: m.stack_trace.or_else(|| {
            // A crash's trace, when that crash is what ended the run.
            let (sig, trace) = m.signal_trace?;
            let (status, _) = m.main_status?;
            (libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == sig).then_some(trace)
        }),
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
    /// Ends of tasks not (yet) tracked: a task can end before its parent's fork event names it
    /// (the supervisor routes the end here by the parent in `/proc`), and the fork event must
    /// then not track a task that is gone (`events.rs`).
    ended_untracked: std::collections::HashMap<libc::pid_t, (i32, libc::rusage)>,
    /// Tasks tracked from their first stop, which came before their parent's fork event: if one
    /// ends before that event, the event must not track it again.
    unnamed: HashSet<libc::pid_t>,
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
    /// A learning run: audited calls are resumed to their syscall-exit stop, where their
    /// result is read (`seccomp.rs`).
    learning: bool,
    /// Tasks resumed to the exit stop of an audited call: (audit arch, syscall number).
    awaiting_exit: std::collections::HashMap<libc::pid_t, (u32, u64)>,
    /// The stack of the thread that made the run's violation (stack traces on).
    stack_trace: Option<crate::stacktrace::StackTrace>,
    /// The stack of the first thread that got an unhandled crash signal, and the signal.
    signal_trace: Option<(i32, crate::stacktrace::StackTrace)>,
    /// A timeout's or a kill's trace of the main thread (`kill_trace.rs`).
    kill_trace: kill_trace::KillTrace,
}
