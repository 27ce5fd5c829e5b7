//! Small helpers the probes share: errno text, `/proc` reads, and the short-lived probe child
//! ([`raw_fork`], [`in_child`], [`reap`]) for the probes that need a process of their own.

#![allow(unsafe_code)]

use std::fs;

pub(super) fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

pub(super) fn errno_text(e: i32) -> String {
    let name = errno_name(e);
    format!("{name} ({})", std::io::Error::from_raw_os_error(e))
}

/// `ENOSYS`-style name of an errno value.
pub(super) fn errno_name(e: i32) -> String {
    format!("{:?}", nix::errno::Errno::from_raw(e))
}

/// Reads a small `/proc/sys` value; `None` when the file does not exist or is unreadable.
pub(super) fn read_sysctl(path: &str) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_string())
}

/// `Key:` line of `/proc/self/status`.
pub(super) fn proc_status_field(key: &str) -> Option<String> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| {
        l.strip_prefix(key)
            .and_then(|r| r.strip_prefix(':'))
            .map(|v| v.trim().to_string())
    })
}

/// A fork-style `clone(flags | SIGCHLD)` (no CLONE_VM, no new stack): returns 0 in the child,
/// the child's pid in the parent, or the errno.
///
/// The child runs in a copy of a possibly multithreaded process: it may only make raw system
/// calls (no allocation, no locks) and must end with `_exit`.
#[allow(clippy::cast_possible_truncation)] // the pid in clone's c_long return
pub(super) fn raw_fork(flags: libc::c_long) -> Result<libc::pid_t, i32> {
    // SAFETY: see the contract above; every caller's child path only makes raw syscalls.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags | libc::c_long::from(libc::SIGCHLD),
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    if pid < 0 {
        Err(errno())
    } else {
        Ok(pid as libc::pid_t)
    }
}

/// Runs `child` in a short-lived child created by [`raw_fork`] and returns its exit code.
pub(super) fn in_child(flags: libc::c_long, child: fn() -> i32) -> Result<i32, i32> {
    let pid = raw_fork(flags)?;
    if pid == 0 {
        let code = child();
        // SAFETY: leaving the child without running any of the parent's exit handlers.
        unsafe { libc::_exit(code) };
    }
    reap(pid).ok_or(libc::ECHILD)
}

/// Waits for `pid` and returns its exit code (128+N when killed by signal N).
pub(super) fn reap(pid: libc::pid_t) -> Option<i32> {
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes the status into our local.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::__WALL) };
        if r == pid {
            if libc::WIFEXITED(status) {
                return Some(libc::WEXITSTATUS(status));
            }
            if libc::WIFSIGNALED(status) {
                return Some(128 + libc::WTERMSIG(status));
            }
            continue; // a stop; keep waiting for the end
        }
        if r < 0 && errno() == libc::EINTR {
            continue;
        }
        return None;
    }
}
