//! The sandboxee's `/proc/<pid>/` files, for a root caller's nested id maps: its pid as our
//! /proc numbers it, and the paths built on the stack.
//!
//! # Safety
//! Code of the init between clone and exec (see the parent module): raw syscalls only, no
//! allocation, failures recorded in the shared report.

#![allow(unsafe_code)]

use crate::spawn::child::{check, fail_step};
use crate::spawn::plan::{Plan, Step};
use crate::sys::raw::syscall;
use std::sync::atomic::Ordering;

/// `pid` (our child's pid in the sandbox's pid namespace) as our /proc numbers it: the same,
/// unless /proc is the caller's (see `proc_fs`); then it is read from our `children` file (the
/// sandboxee is our only child).
pub(super) unsafe fn pid_in_our_proc(plan: &Plan, pid: i32) -> i32 {
    if plan.report.degraded.load(Ordering::Relaxed) & crate::spawn::plan::degraded::PROC == 0 {
        return pid;
    }
    // SAFETY: a C string literal and a buffer on our stack.
    unsafe {
        let fd = check(
            plan,
            Step::NestedUserNs,
            syscall(
                libc::SYS_openat,
                &[
                    libc::AT_FDCWD as u64,
                    c"/proc/thread-self/children".as_ptr() as u64,
                    (libc::O_RDONLY | libc::O_CLOEXEC) as u64,
                ],
            ),
            4,
        );
        let mut buf = [0u8; 24];
        let n = check(
            plan,
            Step::NestedUserNs,
            syscall(
                libc::SYS_read,
                &[fd as u64, buf.as_mut_ptr() as u64, buf.len() as u64],
            ),
            4,
        );
        syscall(libc::SYS_close, &[fd as u64]);
        let mut outer: i32 = 0;
        for b in buf.iter().take(n as usize) {
            if !b.is_ascii_digit() || outer > i32::MAX / 10 - 9 {
                break;
            }
            outer = outer * 10 + i32::from(b - b'0');
        }
        if outer <= 0 {
            fail_step(plan, Step::NestedUserNs, -i64::from(libc::ESRCH), 4);
        }
        outer
    }
}

/// `/proc/<pid>/<file>` built on the stack (no allocation in the child).
pub(super) struct ProcPath {
    buf: [u8; 64],
    base: usize,
}

impl ProcPath {
    pub(super) fn new(pid: i32) -> ProcPath {
        let mut buf = [0u8; 64];
        buf[..6].copy_from_slice(b"/proc/");
        let mut digits = [0u8; 12];
        let (mut n, mut len) = (pid.unsigned_abs(), 0);
        loop {
            digits[len] = b'0' + (n % 10) as u8;
            len += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let mut at = 6;
        for i in (0..len).rev() {
            buf[at] = digits[i];
            at += 1;
        }
        buf[at] = b'/';
        ProcPath { buf, base: at + 1 }
    }

    /// The NUL-terminated path of `name` (at most 32 bytes) under this pid's directory.
    pub(super) fn file(&mut self, name: &[u8]) -> &core::ffi::CStr {
        let end = self.base + name.len().min(32);
        self.buf[self.base..end].copy_from_slice(&name[..end - self.base]);
        self.buf[end] = 0;
        // The buffer holds no other NUL before `end`: "/proc/", digits, '/', and `name` (C
        // literals without NUL).
        core::ffi::CStr::from_bytes_until_nul(&self.buf[..=end]).unwrap_or(c"/proc/self/invalid")
    }
}
