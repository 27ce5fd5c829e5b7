//! Stack traces under user-notify. A notification carries the instruction pointer and nothing
//! else of the thread's registers, so the supervisor attaches to the thread on demand, as
//! sandbox2 does: `PTRACE_SEIZE`, then `PTRACE_INTERRUPT`, a bounded wait for the stop, the
//! walk, then the thread is killed and reaped (a traced thread's end is ours to collect:
//! unreaped, it would hold up the pid namespace's teardown).
//!
//! Two callers: a violation ([`trace_and_kill`]: the notification is answered with ENOSYS, the
//! call never runs, and on its way back to user space the thread stops for the interrupt before
//! any instruction of its own) and a timeout or kill ([`trace_main_and_kill`]: the main thread
//! is interrupted wherever it is; a sleep in a system call is interrupted, an uninterruptible
//! one is not, and then there is no trace). The caller ends the sandbox afterwards.

#![allow(unsafe_code)]

use crate::monitor::netproxy;
use crate::stacktrace::StackTrace;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

/// How long a violating thread may take to stop after the answer, and any thread to end after
/// the kill.
const STOP_WAIT: Duration = Duration::from_millis(500);
const REAP_WAIT: Duration = Duration::from_secs(2);
/// How long a running main thread may take to stop for a timeout's or a kill's trace: short,
/// since the supervisor waits here for every sandbox, and the run is ending anyway.
const KILL_STOP_WAIT: Duration = Duration::from_millis(200);

/// The stack of thread `tid`, waiting in notification `id` of `listener`; the thread (its whole
/// process) is dead and reaped when this returns, unless the attach itself failed.
pub(super) fn trace_and_kill(listener: RawFd, id: u64, tid: libc::pid_t) -> StackTrace {
    if let Err(t) = seize(tid) {
        return t;
    }
    // Still pending after the seize: the thread seized is the one that waits (its tid could not
    // be reused while it waited).
    if !netproxy::id_valid(listener, id) {
        // SAFETY: plain request; it fails harmlessly if the task is gone.
        unsafe { libc::ptrace(libc::PTRACE_DETACH, tid, 0, 0) };
        return StackTrace::unavailable(tid, "the thread left the call before it was attached");
    }
    interrupt(tid);
    netproxy::send_response(listener, id, -libc::ENOSYS, 0);
    walk_then_kill(tid, STOP_WAIT)
}

/// The stack of the sandbox's main thread `tid`, running (or sleeping) as the run is ended by
/// its timeout or a kill; `init` is the sandbox's init (our unreaped child), whose child `tid`
/// must be. The thread (its whole process) is dead and reaped when this returns, unless it
/// could not be attached or was not ours.
pub(super) fn trace_main_and_kill(tid: libc::pid_t, init: libc::pid_t) -> StackTrace {
    // Checked before the seize: the main may have ended (and its pid gone to another process).
    if parent_of(tid) != Some(init) {
        return StackTrace::unavailable(tid, "the main thread had ended");
    }
    if let Err(t) = seize(tid) {
        return t;
    }
    // And after it: a task whose parent is our init is in our pid namespace, so the one seized
    // is ours (it cannot have left the namespace between the seize and this check).
    if parent_of(tid) != Some(init) {
        // A stranger took the pid in between: let it go without a signal.
        interrupt(tid);
        if wait_for(tid, KILL_STOP_WAIT, |s| libc::WIFSTOPPED(s)) {
            // SAFETY: plain request on a stopped tracee.
            unsafe { libc::ptrace(libc::PTRACE_DETACH, tid, 0, 0) };
        }
        return StackTrace::unavailable(tid, "the main thread had ended");
    }
    interrupt(tid);
    walk_then_kill(tid, KILL_STOP_WAIT)
}

/// PTRACE_SEIZE with no options, or the trace saying why not.
fn seize(tid: libc::pid_t) -> Result<(), StackTrace> {
    // SAFETY: PTRACE_SEIZE with no options; no pointers.
    if unsafe { libc::ptrace(libc::PTRACE_SEIZE, tid, 0, 0) } != 0 {
        let e = std::io::Error::last_os_error();
        return Err(StackTrace::unavailable(
            tid,
            &format!("cannot attach to thread {tid}: {e}"),
        ));
    }
    Ok(())
}

fn interrupt(tid: libc::pid_t) {
    // SAFETY: plain request on our tracee.
    unsafe { libc::ptrace(libc::PTRACE_INTERRUPT, tid, 0, 0) };
}

/// Waits up to `stop_wait` for our interrupted tracee `tid` to stop, walks its stack, kills it
/// and reaps it.
fn walk_then_kill(tid: libc::pid_t, stop_wait: Duration) -> StackTrace {
    let trace = if wait_for(tid, stop_wait, |s| libc::WIFSTOPPED(s)) {
        crate::stacktrace::capture(tid)
    } else {
        StackTrace::did_not_stop(tid, stop_wait)
    };
    // SIGKILL ends the whole thread group; the tracee's end is reported to us.
    // SAFETY: signalling our unreaped tracee: its tid cannot have been reused.
    unsafe { libc::syscall(libc::SYS_tkill, tid, libc::SIGKILL) };
    if !wait_for(tid, REAP_WAIT, |s| {
        libc::WIFEXITED(s) || libc::WIFSIGNALED(s)
    }) {
        log::warn!("sandbox: traced thread {tid} was not reaped after its kill");
    }
    trace
}

/// `PPid` of `/proc/TID/status` (in our pid namespace), if the task exists.
fn parent_of(tid: libc::pid_t) -> Option<libc::pid_t> {
    let status = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("PPid:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Polls `waitpid(tid, __WALL | WNOHANG)` until a status `done` accepts, the task is gone
/// (ECHILD), or `limit` has passed.
fn wait_for(tid: libc::pid_t, limit: Duration, done: fn(i32) -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes one int.
        let r = unsafe {
            libc::waitpid(
                tid,
                std::ptr::addr_of_mut!(status),
                libc::__WALL | libc::WNOHANG,
            )
        };
        if r == tid && done(status) {
            return true;
        }
        if r < 0 || Instant::now() >= deadline {
            return false;
        }
        if r == 0 {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
}

impl super::Running {
    /// With stack traces on, the trace of a timeout or a kill: the main thread's stack, taken
    /// before the caller kills the sandbox. Nothing when the run is not under way (not started,
    /// ended, or already ended by a violation).
    pub(crate) fn trace_main_for_kill(&mut self) {
        if !self.policy.stack_traces()
            || self.stack_trace.is_some()
            || self.violation.is_some()
            || !self.exec_done
            || self.init_end.is_some()
        {
            return;
        }
        if let Some(main) = self.main {
            self.stack_trace = Some(trace_main_and_kill(main, self.init));
        }
    }
}
