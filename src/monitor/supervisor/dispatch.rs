//! The sandboxes' side of the supervisor: starting one under its monitor, a user-notify
//! sandbox's ready fds and its init's end, handing each `wait4` event to the sandbox its task
//! belongs to (parking a first event that came before its parent's fork event), and finishing
//! a sandbox whose run is over.

#![allow(unsafe_code)]

use super::{wait, Entry, Event, Job, Run, Supervisor};
use crate::caps::{with_effective, with_raised_capabilities};
use crate::monitor::epoll::Source;
use crate::monitor::state::KillReason;
use crate::monitor::{ptrace, unotify};
use crate::notify::Notify;
use std::time::{Duration, Instant};
impl Supervisor {
    /// A user-notify sandbox's fd is ready.
    pub(super) fn on_ready(&mut self, id: u64, source: Source) {
        match source {
            Source::Exit => return self.reap_init(id),
            // The bell's fds carry job 0, a real job's id too: they are the caller's to serve.
            Source::Bell => return,
            _ => {}
        }
        let Some(entry) = self.jobs.get_mut(&id) else {
            return;
        };
        let Run::Unotify(run) = &mut entry.run else {
            return;
        };
        let epoll = &self.epoll;
        // As for ptrace stops: a panicking Notify ends its own sandbox only.
        let handled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            with_effective(entry.effective, || {
                run.on_ready(source, epoll, &entry.shared, entry.notify.as_mut());
            });
        }));
        if handled.is_err() {
            log::error!("libsbx: a Notify callback panicked; ending its sandbox");
            entry.shared.kill_reason_or(KillReason::External);
            run.end_all(&entry.shared, epoll);
        }
    }

    /// A user-notify sandbox's init ended (its pidfd is readable): reap it by pid, here, since
    /// no `wait4(-1)` may be running to do it.
    fn reap_init(&mut self, id: u64) {
        let Some(pid) = self.jobs.get(&id).map(|e| e.run.first_pid()) else {
            return;
        };
        if let Some(e) = wait(pid, libc::WNOHANG) {
            self.dispatch(e);
        }
    }

    pub(super) fn start(&mut self, job: Job) {
        let Job {
            plan,
            policy,
            shared,
            started_at,
            mut notify,
            deadline,
            effective,
        } = job;
        let id = self.next_id;
        self.next_id += 1;
        let epoll = &self.epoll;
        let started = with_effective(effective, || {
            if plan.handoff.is_some() {
                unotify::start(plan, policy, &shared, epoll, id).map(Run::Unotify)
            } else {
                ptrace::start(plan, policy, &shared).map(Run::Ptrace)
            }
        });
        match started {
            Ok(run) => {
                self.owner.insert(run.first_pid(), id);
                let needs_wait4 = run.needs_wait4();
                self.wait4_runs += usize::from(needs_wait4);
                self.jobs.insert(
                    id,
                    Entry {
                        run,
                        shared,
                        notify,
                        started_at,
                        deadline,
                        effective,
                        needs_wait4,
                        trace_until: None,
                    },
                );
            }
            Err(result) => {
                finished(notify.as_mut(), effective, &result);
                drop(notify);
                shared.finish(*result);
            }
        }
    }

    /// Parked events no fork event claimed within ten seconds: tasks whose parent died before
    /// its fork event could be reported and whose sandbox /proc could not name. A task still
    /// stopped there is killed: it belongs to a sandbox that no longer tracks it.
    pub(super) fn forget_stale_parked(&mut self) {
        let limit = Duration::from_secs(10);
        self.parked.retain(|&pid, (at, e)| {
            if at.elapsed() < limit {
                return true;
            }
            if libc::WIFSTOPPED(e.status) {
                // SAFETY: a stopped tracee of ours, not reaped: its pid cannot have been reused.
                with_raised_capabilities(|| unsafe { libc::kill(pid, libc::SIGKILL) });
            }
            false
        });
    }

    /// Hands one event to the sandbox the task belongs to.
    pub(super) fn dispatch(&mut self, e: Event) {
        let Some(id) = self
            .owner
            .get(&e.pid)
            .copied()
            .or_else(|| self.owner_from_proc(e.pid))
        else {
            // A new task whose first event (its first stop, or even its end) came before
            // its parent's fork event: kept until that event names it.
            self.parked.insert(e.pid, (Instant::now(), e));
            return;
        };
        self.owner.insert(e.pid, id);
        let Some(entry) = self.jobs.get_mut(&id) else {
            return;
        };
        let run = match &mut entry.run {
            Run::Ptrace(run) => run,
            Run::Unotify(run) => {
                // Only the init is ours to wait for; a stop of it (a SIGSTOP from outside) is
                // of no interest.
                if libc::WIFEXITED(e.status) || libc::WIFSIGNALED(e.status) {
                    run.on_exit(e.status, e.rusage, &self.epoll);
                    self.owner.remove(&e.pid);
                }
                self.finish_if_done(id);
                return;
            }
        };
        if libc::WIFEXITED(e.status) || libc::WIFSIGNALED(e.status) {
            run.on_exit(e.pid, e.status, e.rusage);
            self.owner.remove(&e.pid);
        } else if libc::WIFSTOPPED(e.status) {
            // The user's Notify runs here; its panic must not end the supervisor of every
            // sandbox. That sandbox is ended instead (its stopped task dies in its stop).
            let handled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                with_effective(entry.effective, || {
                    run.on_stop(e.pid, e.status, &entry.shared, entry.notify.as_mut());
                });
            }));
            if handled.is_err() {
                log::error!("libsbx: a Notify callback panicked; ending its sandbox");
                entry.shared.kill_reason_or(KillReason::External);
                run.end_all();
            }
        }
        // Tasks the event created: adopt them, and replay a first stop that came early.
        for pid in run.take_new_tasks() {
            self.owner.insert(pid, id);
            if let Some((_, early)) = self.parked.remove(&pid) {
                self.dispatch(early);
            }
        }
        self.finish_if_done(id);
    }

    /// The sandbox of a task not seen before, from its thread group or its parent.
    fn owner_from_proc(&self, pid: libc::pid_t) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let field = |name: &str| -> Option<libc::pid_t> {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse().ok())
        };
        [field("Tgid:"), field("PPid:")]
            .into_iter()
            .flatten()
            .find_map(|p| self.owner.get(&p).copied())
    }

    fn finish_if_done(&mut self, id: u64) {
        if !self.jobs.get(&id).is_some_and(|e| e.run.is_done()) {
            return;
        }
        let Some(e) = self.jobs.remove(&id) else {
            return;
        };
        self.wait4_runs -= usize::from(e.needs_wait4);
        self.owner.retain(|_, owner| *owner != id);
        let result = match e.run {
            Run::Ptrace(r) => r.collect(&e.shared, e.started_at),
            Run::Unotify(r) => r.collect(&e.shared, e.started_at, &self.epoll),
        };
        let Entry {
            mut notify,
            effective,
            shared,
            ..
        } = e;
        finished(notify.as_mut(), effective, &result);
        // The Notify goes before the result is published: a C caller's destroy callback has
        // run by the time wait returns, as it did when each sandbox had its own thread.
        drop(notify);
        shared.finish(result);
    }
}

/// `Notify::finished` with the starting thread's capabilities; a panic is logged, not spread.
fn finished(notify: &mut dyn Notify, effective: Option<[u32; 2]>, result: &crate::RunResult) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        with_effective(effective, || notify.finished(result));
    }))
    .is_err()
    {
        log::error!("libsbx: Notify::finished panicked");
    }
}
