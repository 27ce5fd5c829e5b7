//! Stack traces under user-notify. A notification carries the instruction pointer and nothing
//! else of the thread's registers, so the supervisor attaches to the thread on demand, as
//! sandbox2 does: `PTRACE_SEIZE`, then `PTRACE_INTERRUPT`; the notification is answered
//! (ENOSYS: the call never runs), and on its way back to user space the thread stops for the
//! interrupt before any instruction of its own. Its stack is walked there, then it is killed and
//! reaped (a traced thread's end is ours to collect: unreaped, it would hold up the pid
//! namespace's teardown), and the caller ends the sandbox as for any violation.

#![allow(unsafe_code)]

use crate::monitor::netproxy;
use crate::stacktrace::StackTrace;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

/// How long the thread may take to stop after the answer, and to end after the kill.
const STOP_WAIT: Duration = Duration::from_millis(500);
const REAP_WAIT: Duration = Duration::from_secs(2);

/// The stack of thread `tid`, waiting in notification `id` of `listener`; the thread (its whole
/// process) is dead and reaped when this returns, unless the attach itself failed.
pub(super) fn trace_and_kill(listener: RawFd, id: u64, tid: libc::pid_t) -> StackTrace {
    // SAFETY: PTRACE_SEIZE with no options; no pointers.
    if unsafe { libc::ptrace(libc::PTRACE_SEIZE, tid, 0, 0) } != 0 {
        let e = std::io::Error::last_os_error();
        return StackTrace::unavailable(tid, &format!("cannot attach to thread {tid}: {e}"));
    }
    // Still pending after the seize: the thread seized is the one that waits (its tid could not
    // be reused while it waited).
    if !netproxy::id_valid(listener, id) {
        // SAFETY: plain request; it fails harmlessly if the task is gone.
        unsafe { libc::ptrace(libc::PTRACE_DETACH, tid, 0, 0) };
        return StackTrace::unavailable(tid, "the thread left the call before it was attached");
    }
    // SAFETY: plain request on our tracee.
    unsafe { libc::ptrace(libc::PTRACE_INTERRUPT, tid, 0, 0) };
    netproxy::send_response(listener, id, -libc::ENOSYS, 0);
    let trace = if wait_for(tid, STOP_WAIT, |s| libc::WIFSTOPPED(s)) {
        crate::stacktrace::capture(tid)
    } else {
        StackTrace::unavailable(tid, "the thread did not stop for the trace")
    };
    // SIGKILL ends the whole thread group; the tracee's end is reported to us.
    // SAFETY: signalling our unreaped tracee: its tid cannot have been reused.
    unsafe { libc::syscall(libc::SYS_tkill, tid, libc::SIGKILL) };
    if !wait_for(tid, REAP_WAIT, |s| libc::WIFEXITED(s) || libc::WIFSIGNALED(s)) {
        log::warn!("sandbox: traced thread {tid} was not reaped after its kill");
    }
    trace
}

/// Polls `waitpid(tid, __WALL | WNOHANG)` until a status `done` accepts, the task is gone
/// (ECHILD), or `limit` has passed.
fn wait_for(tid: libc::pid_t, limit: Duration, done: fn(i32) -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes one int.
        let r = unsafe { libc::waitpid(tid, std::ptr::addr_of_mut!(status), libc::__WALL | libc::WNOHANG) };
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
