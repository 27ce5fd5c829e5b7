//! With stack traces on, a run ended by its timeout or a kill carries the stack of its main
//! thread (the sandboxee's first thread, whose end is the run's end), taken just before the
//! kill. The supervisor must not wait for one sandbox, so the stop is an event like any other:
//! [`Monitor::interrupt_for_trace`] sends `PTRACE_INTERRUPT` and the supervisor arms a short
//! deadline; the main thread's next stop is walked and the sandbox killed there
//! ([`Monitor::take_kill_trace`]); if no stop comes in time (an uninterruptible sleep), the
//! deadline kills it without a trace ([`Monitor::abandon_kill_trace`]).

#![allow(unsafe_code)]

use super::Monitor;
use crate::caps::with_raised_capabilities;
use crate::monitor::state::Shared;
use crate::stacktrace::StackTrace;

/// Where the kill trace of a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum KillTrace {
    /// Not asked for.
    #[default]
    Idle,
    /// The main thread was interrupted; its next stop is walked.
    Pending,
    /// Taken, given up or refused: at most one per run.
    Done,
}

impl Monitor {
    /// Interrupts the main thread so that its stop can be walked before the kill. False when
    /// there is nothing to trace (stack traces off, the run not under way, already ending or
    /// already asked) or the interrupt failed (the reason is kept as the trace): the caller
    /// kills at once.
    pub(super) fn interrupt_for_trace(&mut self) -> bool {
        if !self.policy.stack_traces()
            || self.kill_trace != KillTrace::Idle
            || self.ending
            || !self.exec_seen
            || self.main_status.is_some()
        {
            return false;
        }
        let Some(main) = self.main else {
            return false;
        };
        self.kill_trace = KillTrace::Done;
        // SAFETY: plain request on our seized tracee.
        if unsafe { libc::ptrace(libc::PTRACE_INTERRUPT, main, 0, 0) } != 0 {
            let e = std::io::Error::last_os_error();
            self.keep_kill_trace(StackTrace::unavailable(
                main,
                &format!("cannot interrupt thread {main}: {e}"),
            ));
            return false;
        }
        self.kill_trace = KillTrace::Pending;
        true
    }

    /// A stop of `pid`: when it is the main thread's with a kill trace pending, its stack is
    /// walked there and the sandbox killed (the task is left stopped: SIGKILL ends it there).
    /// True when it was that stop.
    pub(super) fn take_kill_trace(&mut self, pid: libc::pid_t, shared: &Shared) -> bool {
        if self.kill_trace != KillTrace::Pending || Some(pid) != self.main {
            return false;
        }
        self.kill_trace = KillTrace::Done;
        // Any ptrace-stop will do: the interrupt's own, or one that was already on its way (a
        // seccomp stop, a signal's delivery); the registers are the thread's in each.
        self.keep_kill_trace(crate::stacktrace::capture(pid));
        with_raised_capabilities(|| shared.signal_main_here());
        self.end_all();
        true
    }

    /// The kill trace will not be taken (`why`, as the trace); the caller kills.
    pub(super) fn abandon_kill_trace(&mut self, why: StackTrace) {
        if self.kill_trace == KillTrace::Pending {
            self.kill_trace = KillTrace::Done;
            self.keep_kill_trace(why);
        }
    }

    fn keep_kill_trace(&mut self, t: StackTrace) {
        // A violation's trace, if one came first, is the one that explains the run.
        self.stack_trace.get_or_insert(t);
    }
}
