//! The ptrace monitor's events: a task's exit, its stops by kind (fork, exec, group-stop,
//! signal; seccomp stops are in `seccomp.rs`), new tasks and the task cap, and ending the run.

#![allow(unsafe_code)]

use super::requests::{cont, event_msg, kill, to_exit_stop};
use super::Monitor;
use crate::monitor::launch::Child;
use crate::monitor::state::Shared;
use crate::monitor::{fences, setup_failure, AuditLog, Fences};
use crate::notify::Notify;
use crate::spawn::latency::Mark;
use crate::spawn::Plan;
use std::collections::HashSet;

impl Monitor {
    pub(super) fn new(
        policy: crate::policy::Policy,
        main: libc::pid_t,
        plan: Option<&Plan>,
    ) -> Monitor {
        let max_tasks = plan.and_then(|p| p.max_tasks);
        let namespaced = plan.is_some_and(|p| p.ns.is_some());
        Monitor {
            audit: policy.is_audit().then(AuditLog::default),
            learning: policy.is_learning(),
            awaiting_exit: std::collections::HashMap::new(),
            policy,
            // With namespaces the clone child is the sandbox's init; the sandboxee is its first
            // child.
            main: if namespaced { None } else { Some(main) },
            init: if namespaced { Some(main) } else { None },
            init_exec_seen: !namespaced,
            pending_exec: None,
            tasks: HashSet::from([main]),
            ended_untracked: std::collections::HashMap::new(),
            unnamed: HashSet::new(),
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
            stack_trace: None,
            signal_trace: None,
            kill_trace: super::kill_trace::KillTrace::Idle,
        }
    }

    /// A task ended; true when the run is over (the main process has ended and no task is left).
    pub(super) fn on_exit(
        &mut self,
        pid: libc::pid_t,
        status: i32,
        rusage: libc::rusage,
        child: &mut Child,
    ) -> bool {
        let tracked = self.tasks.remove(&pid);
        if self.unnamed.remove(&pid) || (!tracked && Some(pid) != self.main) {
            // Its parent's fork event has not named it yet (`on_fork`).
            self.ended_untracked.insert(pid, (status, rusage));
            if !tracked {
                return self.main_status.is_some() && self.tasks.is_empty();
            }
        }
        self.killed_on_birth.remove(&pid);
        // A call that never returned (exit_group from another thread, a kill): no result.
        self.awaiting_exit.remove(&pid);
        if self.main.is_none() && Some(pid) == self.init {
            // The init died before it started the sandboxee: its report says why.
            self.main = Some(pid);
        }
        if Some(pid) == self.main {
            self.abandon_kill_trace(crate::stacktrace::StackTrace::unavailable(
                pid,
                "the thread ended before it stopped for the trace",
            ));
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
    pub(super) fn on_stop(
        &mut self,
        pid: libc::pid_t,
        status: i32,
        child: &mut Child,
        shared: &Shared,
        notify: &mut dyn Notify,
    ) {
        if self.tasks.insert(pid) {
            // A new task whose first stop arrived before its parent's fork event.
            self.unnamed.insert(pid);
            self.on_new_task(pid);
        }
        if self.take_kill_trace(pid, shared) {
            return;
        }
        let sig = libc::WSTOPSIG(status);
        let event = (status >> 16) & 0xffff;
        if event == 0 && sig == (libc::SIGTRAP | 0x80) {
            if let Some((arch, nr)) = self.awaiting_exit.remove(&pid) {
                self.on_syscall_exit(pid, arch, nr);
                return;
            }
        }
        match event {
            libc::PTRACE_EVENT_SECCOMP => self.on_seccomp(pid, notify),
            libc::PTRACE_EVENT_FORK | libc::PTRACE_EVENT_VFORK | libc::PTRACE_EVENT_CLONE => {
                if let Some((main, status, rusage)) = self.on_fork(pid) {
                    self.on_exit(main, status, rusage, child);
                }
            }
            libc::PTRACE_EVENT_EXEC => self.on_exec(pid, child, shared),
            libc::PTRACE_EVENT_STOP => on_event_stop(pid, sig),
            // The init is the library's own process: its signals (a SIGCHLD when the sandboxee
            // ends) are not the sandboxee's and are not reported.
            _ if Some(pid) == self.init => on_signal(pid, sig, &mut crate::notify::DenyTraces),
            _ => {
                self.note_fatal_signal(pid, sig);
                on_signal(pid, sig, notify);
            }
        }
    }

    /// A fork, vfork or clone event: the new task is tracked (and capped). Returns the
    /// sandboxee's end when the init's fork event names it after it has ended, to be handled now.
    fn on_fork(&mut self, pid: libc::pid_t) -> Option<(libc::pid_t, i32, libc::rusage)> {
        let mut main_end = None;
        if let Some(child) = event_msg(pid).and_then(|c| libc::pid_t::try_from(c).ok()) {
            if self.main.is_none() && Some(pid) == self.init {
                self.main = Some(child);
            }
            // It may have ended before this event (unless its pid is a new, live task's by now,
            // whose own events will come): then there is nothing to track (and nothing to kill:
            // its pid may be anyone's now), only the sandboxee's end to record.
            self.unnamed.remove(&child);
            let ended = self.ended_untracked.remove(&child).filter(|_| !is_live(child));
            if let Some((status, rusage)) = ended {
                if Some(child) == self.main && self.main_status.is_none() {
                    main_end = Some((child, status, rusage));
                }
            } else if self.tasks.insert(child) {
                self.on_new_task(child);
            }
        }
        self.resume(pid);
        main_end
    }

    /// Continues `pid` from an event stop: to the exit stop of the audited call it is in, if
    /// any (a plain continue would skip that stop), else plainly.
    fn resume(&self, pid: libc::pid_t) {
        if self.awaiting_exit.contains_key(&pid) {
            to_exit_stop(pid);
        } else {
            cont(pid, 0);
        }
    }

    /// An exec event: the init's exec releases a held start exec; the sandboxee's start exec
    /// means it is running, and the clone children's memory can go.
    fn on_exec(&mut self, pid: libc::pid_t, child: &mut Child, shared: &Shared) {
        if let Some(former) = event_msg(pid).and_then(|f| libc::pid_t::try_from(f).ok()) {
            if former != pid {
                self.tasks.remove(&former);
                // A thread's exec took the leader's pid; its exec call ends there.
                if let Some(call) = self.awaiting_exit.remove(&former) {
                    self.awaiting_exit.insert(pid, call);
                }
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
        self.resume(pid);
    }

    /// With stack traces on: the stack of a thread about to get a crash signal it does not
    /// handle (its default action ends the process), taken at the signal-delivery-stop, before
    /// the signal is passed on. Kept until the end says whether that signal ended the run; only
    /// the first one (several threads may crash at once).
    fn note_fatal_signal(&mut self, pid: libc::pid_t, sig: i32) {
        const CRASHES: [i32; 7] = [
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGILL,
            libc::SIGFPE,
            libc::SIGABRT,
            libc::SIGSYS,
            libc::SIGTRAP,
        ];
        if !self.policy.stack_traces()
            || self.signal_trace.is_some()
            || self.violation.is_some()
            || !CRASHES.contains(&sig)
            || handles(pid, sig)
        {
            return;
        }
        self.signal_trace = Some((sig, crate::stacktrace::capture(pid)));
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

    /// Kills every task of the sandbox. Called once the outcome is decided.
    pub(super) fn end_all(&mut self) {
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

/// Whether task `pid`'s process catches or ignores `sig` (`SigCgt`, `SigIgn` of
/// `/proc/PID/status`); true when that cannot be read (then no trace is taken).
fn handles(pid: libc::pid_t, sig: i32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return true;
    };
    let Some(bit) = u32::try_from(sig - 1).ok().and_then(|b| 1u64.checked_shl(b)) else {
        return true;
    };
    status
        .lines()
        .filter_map(|l| {
            l.strip_prefix("SigCgt:")
                .or_else(|| l.strip_prefix("SigIgn:"))
        })
        .any(|mask| u64::from_str_radix(mask.trim(), 16).map_or(true, |m| m & bit != 0))
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

/// Whether `pid` is a task that has not ended (not a zombie, not gone).
fn is_live(pid: libc::pid_t) -> bool {
    crate::sys::procfs::stat_after_comm(pid)
        .and_then(|f| f.into_iter().next())
        .is_some_and(|state| state != "Z" && state != "X")
}
