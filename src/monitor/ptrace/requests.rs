//! The ptrace requests the monitor makes: the seize (with its options), continue, event
//! messages; and the supervisor's signal mask and the kill of a tracee.

#![allow(unsafe_code)]

use crate::caps::with_raised_capabilities;
use crate::monitor::state::Shared;
use std::time::Duration;

const PTRACE_OPTIONS: libc::c_int = libc::PTRACE_O_TRACESYSGOOD
    | libc::PTRACE_O_TRACEFORK
    | libc::PTRACE_O_TRACEVFORK
    | libc::PTRACE_O_TRACECLONE
    | libc::PTRACE_O_TRACEEXEC
    | libc::PTRACE_O_TRACESECCOMP
    | libc::PTRACE_O_EXITKILL;

/// PTRACE_SEIZE of our own clone child, retried briefly on EPERM.
///
/// The child shares the host's memory, and so does every other sandbox's child until its exec.
/// A root caller's child that switches to the sandbox's host id clears the dumpable flag of that
/// shared memory until it restores it a few instructions later; a seize in that window needs
/// CAP_SYS_PTRACE, which the root of a container does not hold. The window is microseconds
/// long, so a few retries end it; a real refusal (Yama, a seccomp profile) persists and is
/// reported.
pub(super) fn seize(pid: libc::pid_t, shared: &Shared) -> libc::c_long {
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

pub(super) fn cont(pid: libc::pid_t, sig: i32) {
    // SAFETY: plain request; failure (ESRCH: the task died) needs no handling here.
    unsafe { libc::ptrace(libc::PTRACE_CONT, pid, 0, libc::c_long::from(sig)) };
}

/// Continues `pid` to its next syscall stop (PTRACE_SYSCALL): from a seccomp stop, that is the
/// call's syscall-exit stop, where its result can be read.
pub(super) fn to_exit_stop(pid: libc::pid_t) {
    // SAFETY: plain request; failure (ESRCH: the task died) needs no handling here.
    unsafe { libc::ptrace(libc::PTRACE_SYSCALL, pid, 0, 0) };
}

pub(super) fn kill(pid: libc::pid_t) {
    // SAFETY: signalling a tracee we have not reaped yet, so the pid cannot have been reused.
    with_raised_capabilities(|| unsafe { libc::kill(pid, libc::SIGKILL) });
}

pub(super) fn event_msg(pid: libc::pid_t) -> Option<u64> {
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
