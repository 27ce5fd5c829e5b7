//! Ending a run from the host (its wall-time limit, `Sandbox::kill`): SIGKILL through the
//! pidfd; with stack traces on, the main thread's stack first. Under ptrace the stop that the
//! walk needs is awaited as an event, with a short deadline ([`KILL_TRACE_WAIT`]) after which
//! the run is killed without a trace, so no other sandbox waits for it; under user-notify the
//! attach waits here, at most 200 ms for the stop (`unotify/attach.rs`).

use super::{Entry, Run, Supervisor};
use crate::caps::{with_effective, with_raised_capabilities};
use crate::monitor::state::{KillReason, Shared};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the ptrace monitor waits for the main thread's stop before killing without a trace.
const KILL_TRACE_WAIT: Duration = Duration::from_millis(200);

impl Supervisor {
    /// A kill asked for by a caller whose policy has stack traces on.
    pub(super) fn kill_traced(&mut self, shared: &Arc<Shared>) {
        let now = Instant::now();
        match self
            .jobs
            .values_mut()
            .find(|e| Arc::ptr_eq(&e.shared, shared))
        {
            Some(e) => e.end(now),
            // Not started yet (its pidfd kills it as it appears) or already over.
            None => {
                with_raised_capabilities(|| shared.signal_main_here());
            }
        }
    }

    /// Kills what has run out of wall time or waited too long for its trace's stop; arms the
    /// alarm for the next deadline.
    pub(super) fn expire_deadlines(&mut self) {
        let now = Instant::now();
        let mut next: Option<Instant> = None;
        for e in self.jobs.values_mut() {
            if e.deadline.is_some_and(|d| d <= now) {
                e.deadline = None;
                e.shared.kill_reason_or(KillReason::Timeout);
                e.end(now);
            }
            if e.trace_until.is_some_and(|d| d <= now) {
                e.trace_until = None;
                if let Run::Ptrace(r) = &mut e.run {
                    r.abandon_kill_trace(KILL_TRACE_WAIT);
                }
                with_raised_capabilities(|| e.shared.signal_main_here());
            }
            for d in [e.deadline, e.trace_until].into_iter().flatten() {
                next = Some(next.map_or(d, |n| n.min(d)));
            }
        }
        self.door.set_alarm(next);
    }
}

impl Entry {
    /// Ends the run (its reason is recorded): at once, or, with stack traces on, once the main
    /// thread's stack is taken.
    fn end(&mut self, now: Instant) {
        if self.trace_until.is_some() {
            // A trace's stop is awaited: the run ends with it, or at its deadline.
            return;
        }
        let effective = self.effective;
        match &mut self.run {
            Run::Ptrace(r) => {
                if r.interrupt_for_trace() {
                    self.trace_until = Some(now + KILL_TRACE_WAIT);
                    return;
                }
            }
            // The attach needs the caller's access to the sandboxee, as for a violation's.
            Run::Unotify(r) => with_effective(effective, || r.trace_main_for_kill()),
        }
        with_raised_capabilities(|| self.shared.signal_main_here());
    }
}
