//! Run state shared by the caller's threads and the supervisor thread: the
//! phase of the run (with a condition variable for waiters), why the host ended it, and the
//! pidfd every kill goes through.
//!
//! It lives below both the monitor and `sandbox` so that neither reaches up into the other:
//! the monitor reports progress here, `Sandbox` and the deadline thread read it and kill
//! through it.

#![allow(unsafe_code)]

use crate::result::RunResult;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

/// Why the host ended a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KillReason {
    External = 1,
    Timeout = 2,
}

/// Where a run is.
#[derive(Debug)]
pub(crate) enum Phase {
    NotStarted,
    Starting,
    Running { pid: i32 },
    Finished(Box<RunResult>),
}

/// State shared between the caller's threads and the supervisor thread.
pub(crate) struct Shared {
    pub(crate) phase: Mutex<Phase>,
    /// Notified on every change of `phase`.
    pub(crate) changed: Condvar,
    kill_reason: AtomicU8,
    pidfd: Mutex<Option<OwnedFd>>,
    /// The completion eventfd, made on first request; written (to 1) when the run finishes.
    /// Locked after `phase`, never before.
    done: Mutex<Option<OwnedFd>>,
}

/// Makes a completion eventfd readable.
fn signal_done(fd: &OwnedFd) {
    let one = 1u64;
    // SAFETY: an 8-byte write from a live u64 to our eventfd.
    unsafe { libc::write(fd.as_raw_fd(), std::ptr::addr_of!(one).cast(), 8) };
}

/// Locks `m`, poisoned or not.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks cannot leave the data half-written (every update
    // is a single assignment), so a poisoned lock is still usable.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn new() -> Shared {
        Shared {
            phase: Mutex::new(Phase::NotStarted),
            changed: Condvar::new(),
            kill_reason: AtomicU8::new(0),
            pidfd: Mutex::new(None),
            done: Mutex::new(None),
        }
    }

    pub(crate) fn set_pidfd(&self, fd: OwnedFd) {
        *lock(&self.pidfd) = Some(fd);
        // A kill may have been requested while the child was being created (the supervisor
        // has raised its capabilities, so it may signal whatever the sandboxee became).
        if self.kill_reason().is_some() {
            crate::caps::with_raised_capabilities(|| self.signal_main_here());
        }
    }

    pub(crate) fn clear_pidfd(&self) {
        *lock(&self.pidfd) = None;
    }

    pub(crate) fn set_running(&self, pid: i32) {
        let mut p = lock(&self.phase);
        if matches!(*p, Phase::Starting) {
            *p = Phase::Running { pid };
        }
        self.changed.notify_all();
    }

    pub(crate) fn finish(&self, r: RunResult) {
        let mut p = lock(&self.phase);
        *p = Phase::Finished(Box::new(r));
        if let Some(fd) = lock(&self.done).as_ref() {
            signal_done(fd);
        }
        drop(p);
        self.changed.notify_all();
    }

    /// A file descriptor that becomes readable (POLLIN, level-triggered) once the result is
    /// ready, for event loops that wait without a thread. Made on the first call; the same fd
    /// afterwards. Nobody reads it: it stays readable.
    pub(crate) fn completion_fd(&self) -> std::io::Result<i32> {
        let p = lock(&self.phase);
        let mut done = lock(&self.done);
        if let Some(fd) = done.as_ref() {
            return Ok(fd.as_raw_fd());
        }
        // SAFETY: a plain fd-creating call; the result is checked.
        let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if raw < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: a fresh fd owned by nobody else.
        let fd = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw) };
        if matches!(*p, Phase::Finished(_)) {
            signal_done(&fd);
        }
        *done = Some(fd);
        Ok(raw)
    }

    pub(crate) fn kill_reason(&self) -> Option<KillReason> {
        match self.kill_reason.load(Ordering::Acquire) {
            1 => Some(KillReason::External),
            2 => Some(KillReason::Timeout),
            _ => None,
        }
    }

    /// Records `why` unless a reason is already recorded.
    pub(crate) fn kill_reason_or(&self, why: KillReason) {
        let _ =
            self.kill_reason
                .compare_exchange(0, why as u8, Ordering::AcqRel, Ordering::Acquire);
    }

    /// SIGKILL to the main process (or the init) through the pidfd, from the calling thread;
    /// false when the kernel refused it for lack of permission.
    pub(crate) fn signal_main_here(&self) -> bool {
        let fd = lock(&self.pidfd);
        if let Some(fd) = fd.as_ref() {
            // SAFETY: pidfd_send_signal on a pidfd we hold; pid reuse cannot misdirect it.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    fd.as_raw_fd(),
                    libc::SIGKILL,
                    0usize,
                    0u32,
                )
            };
            if r != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM) {
                return false;
            }
        }
        true
    }
}
