//! The supervisor's doorbell: how other threads and timers wake a thread that blocks in
//! `wait4(-1, __WALL | __WNOTHREAD)`.
//!
//! The supervisor thread is the tracer of every sandbox's tasks, so it must sleep in `wait4`
//! (ptrace stops have no fd to poll). Nothing else interrupts that wait without a signal
//! handler, and a library may not install one (Go's runtime owns them). So the supervisor keeps
//! one child of its own: the doorbell. It blocks in `ppoll` on an eventfd (rung by any thread)
//! and a timerfd (the next wall-time deadline); when either becomes readable it stops itself with
//! SIGSTOP. The stop is an event for the supervisor's `wait4` (called with `WUNTRACED`), which
//! drains both fds, does its work and continues the doorbell with SIGCONT. Measured on this
//! machine: ~40 us from ring to wake, under load. While no ptrace sandbox runs, the supervisor
//! leaves the doorbell stopped and sleeps in `epoll_wait` on the same fds instead.
//!
//! The doorbell is not traced: a host that made itself non-dumpable could not seize it (it
//! shares the host's memory), and a plain group-stop wakes the parent's wait just as well. It is
//! a `clone(CLONE_VM)` child on a small stack of its own, running raw syscalls only (it shares the
//! host's memory and TLS), and has `PR_SET_PDEATHSIG`, so it dies with the supervisor thread.

#![allow(unsafe_code)]
// The raw syscall ABI: arguments are u64 registers and results c_long, so fds, flags and
// constants cross it by the ABI's own conversions (an fd `as u64`, a returned fd `as i32`). No
// value converted here comes from the sandboxee, and a cast cannot fail, allocate or panic,
// which code between clone and exec must not do.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

use super::HelperStack;
use crate::error::{Error, Result};
use crate::sys::raw::{exit_group, syscall};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Instant;

const STACK: usize = 64 * 1024;

/// The part any thread may use: ring. It outlives doorbells (a new one is made if one dies).
#[derive(Debug)]
pub(crate) struct Bell {
    eventfd: OwnedFd,
}

impl Bell {
    /// A new, silent bell (an eventfd).
    pub(crate) fn new() -> Result<Bell> {
        // SAFETY: a plain fd-creating call; the result is checked.
        let efd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if efd < 0 {
            return Err(Error::last_os("eventfd"));
        }
        // SAFETY: a fresh fd owned by nobody else.
        let eventfd = unsafe { OwnedFd::from_raw_fd(efd) };
        Ok(Bell { eventfd })
    }

    /// The eventfd a doorbell polls; valid as long as this bell.
    pub(crate) fn raw_fd(&self) -> i32 {
        self.eventfd.as_raw_fd()
    }

    /// Wakes the supervisor (idempotent until it has answered).
    pub(crate) fn ring(&self) {
        let one = 1u64;
        // SAFETY: an 8-byte write from a live u64 to our eventfd.
        unsafe { libc::write(self.eventfd.as_raw_fd(), std::ptr::addr_of!(one).cast(), 8) };
    }
}

/// The supervisor thread's side: the doorbell child, its fds and its stack.
pub(crate) struct Doorbell {
    pid: libc::pid_t,
    timerfd: OwnedFd,
    eventfd_raw: i32,
    /// Freed after the child is reaped (see `Drop`).
    _stack: HelperStack,
    /// The fds the child polls, read by it through shared memory; lives as long as the child.
    fds: Box<[libc::pollfd; 3]>,
}

/// The doorbell child: wait until a fd is readable, stop, repeat. Raw syscalls only.
extern "C" fn doorbell_main(arg: *mut libc::c_void) -> libc::c_int {
    let fds = arg.cast::<libc::pollfd>();
    // SAFETY: prctl without pointers: die with the supervisor thread.
    unsafe {
        syscall(
            libc::SYS_prctl,
            &[libc::PR_SET_PDEATHSIG as u64, libc::SIGKILL as u64],
        )
    };
    // Keep only the fds we poll: a copy of any other (a pipe's write end the host hands to a
    // sandboxee) would keep it open for as long as we live.
    // SAFETY: `fds` points to three live pollfds (see above); close_range takes no pointers.
    unsafe {
        let mut keep = [(*fds).fd, (*fds.add(1)).fd, (*fds.add(2)).fd];
        keep.sort_unstable();
        let mut next: u64 = 0;
        for k in keep {
            let k = k as u64;
            if k > next {
                syscall(libc::SYS_close_range, &[next, k - 1, 0]);
            }
            next = k + 1;
        }
        syscall(libc::SYS_close_range, &[next, u64::from(u32::MAX), 0]);
    }
    loop {
        // SAFETY: `fds` points to three pollfds the supervisor keeps alive while we live;
        // revents written by the kernel are ignored.
        let r = unsafe { syscall(libc::SYS_ppoll, &[fds as u64, 3, 0, 0, 8]) };
        if r < 0 && r != -i64::from(libc::EINTR) {
            exit_group(1);
        }
        // SAFETY: no pointers.
        unsafe {
            let me = syscall(libc::SYS_getpid, &[]);
            syscall(libc::SYS_kill, &[me as u64, libc::SIGSTOP as u64]);
        }
    }
}

impl Doorbell {
    /// Clones the doorbell, which polls `bell_fd` (a [`Bell`]'s eventfd) and `epoll_fd` (the
    /// supervisor's epoll set; both must stay open as long as the doorbell lives). Call on the
    /// supervisor thread with every signal blocked (the child inherits the mask); that thread
    /// must `wait4` for it.
    pub(crate) fn new(bell_fd: i32, epoll_fd: i32) -> Result<Doorbell> {
        let efd = bell_fd;
        // SAFETY: a plain fd-creating call; the result is checked.
        let tfd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if tfd < 0 {
            return Err(Error::last_os("timerfd_create"));
        }
        // SAFETY: a fresh fd owned by nobody else.
        let timerfd = unsafe { OwnedFd::from_raw_fd(tfd) };
        let fds = Box::new([
            libc::pollfd {
                fd: efd,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: tfd,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: epoll_fd,
                events: libc::POLLIN,
                revents: 0,
            },
        ]);
        let stack = HelperStack::map(STACK).map_err(|e| {
            Error::os(
                "mmap(doorbell stack)",
                e.raw_os_error().unwrap_or(libc::ENOMEM),
            )
        })?;
        // Exit signal 0: no SIGCHLD for the host. The child copies our fd table at clone, so
        // the three fds stay open in it (the epoll set itself is shared: what the supervisor
        // adds later is seen through the child's copy).
        // SAFETY: the child runs only `doorbell_main` on its own stack with the pollfd array.
        let pid = unsafe {
            libc::clone(
                doorbell_main,
                stack.top(),
                libc::CLONE_VM,
                fds.as_ptr().cast_mut().cast(),
            )
        };
        if pid < 0 {
            return Err(Error::last_os("clone(doorbell)"));
        }
        Ok(Doorbell {
            pid,
            timerfd,
            eventfd_raw: efd,
            _stack: stack,
            fds,
        })
    }

    /// The bell's eventfd this doorbell polls.
    pub(crate) fn bell_fd(&self) -> i32 {
        self.eventfd_raw
    }

    /// The deadline timerfd this doorbell polls (the supervisor's epoll set watches it too).
    pub(crate) fn timer_fd(&self) -> i32 {
        self.timerfd.as_raw_fd()
    }

    /// The doorbell's pid: its stops are wake-ups, not sandbox events.
    pub(crate) fn pid(&self) -> libc::pid_t {
        self.pid
    }

    /// Arms the timer for `at` (`None`: disarmed); it rings the doorbell then.
    pub(crate) fn set_alarm(&self, at: Option<Instant>) {
        let mut spec: libc::itimerspec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
        };
        if let Some(at) = at {
            // Relative, at least 1 ns (0 would disarm).
            let d = at.saturating_duration_since(Instant::now());
            spec.it_value.tv_sec = d.as_secs().try_into().unwrap_or(i64::MAX); // 64-bit time_t
            spec.it_value.tv_nsec = libc::c_long::from(d.subsec_nanos().max(1));
        }
        // SAFETY: `spec` is live for the call.
        unsafe { libc::timerfd_settime(self.timerfd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
    }

    /// After the doorbell's stop was reported, first thing: empties both fds. A ring or an alarm
    /// that comes after this leaves its fd readable, so the doorbell stops again at once when
    /// resumed: nothing queued after the drain can be missed.
    pub(crate) fn drain(&self) {
        let mut buf = 0u64;
        // SAFETY: 8-byte reads into a live u64 from our non-blocking fds; EAGAIN is fine.
        unsafe {
            libc::read(self.eventfd_raw, std::ptr::addr_of_mut!(buf).cast(), 8);
            libc::read(
                self.timerfd.as_raw_fd(),
                std::ptr::addr_of_mut!(buf).cast(),
                8,
            );
        }
    }

    /// Continues the stopped doorbell. Call only for a reported stop, after
    /// [`drain`](Self::drain) and the work.
    pub(crate) fn resume(&self) {
        // SAFETY: our own unreaped child: its pid cannot have been reused.
        unsafe { libc::kill(self.pid, libc::SIGCONT) };
    }
}

impl Drop for Doorbell {
    fn drop(&mut self) {
        // SAFETY: our own unreaped child: kill it and reap it by pid; its stack goes after.
        unsafe {
            libc::kill(self.pid, libc::SIGKILL);
            libc::waitpid(self.pid, std::ptr::null_mut(), libc::__WALL);
        }
        let _ = &self.fds;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Waits for the doorbell's next stop on this (its tracer) thread; false on timeout.
    fn wait_stop(door: &Doorbell, limit: Duration) -> bool {
        let until = Instant::now() + limit;
        while Instant::now() < until {
            let mut status = 0;
            // SAFETY: polling our own child.
            let r = unsafe {
                libc::waitpid(
                    door.pid(),
                    &mut status,
                    libc::__WALL | libc::WNOHANG | libc::WUNTRACED,
                )
            };
            if r == door.pid() && libc::WIFSTOPPED(status) {
                return true;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        false
    }

    #[test]
    fn rings_from_another_thread_and_from_the_timer() {
        if crate::sys::skipped_under_qemu("qemu-user does not run clone(CLONE_VM) children") {
            return;
        }
        let bell = Bell::new().unwrap();
        // SAFETY: a plain fd-creating call (the fd lives as long as the test).
        let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        assert!(ep >= 0);
        let door = Doorbell::new(bell.raw_fd(), ep).unwrap();
        assert!(
            !wait_stop(&door, Duration::from_millis(50)),
            "stopped without a ring"
        );
        let bell = std::sync::Arc::new(bell);
        let b = std::sync::Arc::clone(&bell);
        std::thread::spawn(move || b.ring()).join().unwrap();
        assert!(
            wait_stop(&door, Duration::from_secs(5)),
            "no stop after a ring"
        );
        door.drain();
        door.resume();
        assert!(
            !wait_stop(&door, Duration::from_millis(50)),
            "stopped again without a ring"
        );
        door.set_alarm(Some(Instant::now() + Duration::from_millis(30)));
        assert!(
            wait_stop(&door, Duration::from_secs(5)),
            "no stop after the alarm"
        );
        door.drain();
        door.resume();
        door.set_alarm(None);
        assert!(!wait_stop(&door, Duration::from_millis(50)));
    }
}
