//! The supervisor's epoll set: every fd a user-notify sandbox needs watched (its listener, its
//! hand-off socket, its init's pipe and pidfd), and the bell's eventfd and timerfd.
//! While a ptrace sandbox runs, the supervisor sleeps in `wait4` and the doorbell
//! (`spawn/doorbell.rs`) polls the epoll fd, stopping when any of them is ready; while none
//! does, the supervisor sleeps here itself, in `epoll_wait` (one wake-up per event, not two).
//! Level-triggered: what is not handled at one wake-up wakes the supervisor again.

#![allow(unsafe_code)]

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Which of a sandbox's fds became ready (the low byte of an event's token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The hand-off socket: the listener arrives, then hang-up once no child holds it.
    Handoff = 1,
    /// The seccomp listener: notifications, then hang-up once no task uses the filter.
    Listener = 2,
    /// The init's pipe: "running", then the sandboxee's wait status.
    InitPipe = 3,
    /// The init's pidfd: it ended (reaped with `wait4` on its pid when no `wait4(-1)` runs).
    Exit = 4,
    /// The bell's eventfd or the deadline timerfd (job 0): requests or an expired deadline.
    Bell = 5,
    /// A host socket the network proxy is connecting for a waiting sandboxee (writable: done).
    Connect = 6,
    /// A sandbox's UDP relay (`udp_relay.rs`): its own epoll set in the supervisor's; inside
    /// that set, a relay socket (keyed by its entry).
    Relay = 7,
    /// Inside a UDP relay's set: a flow's host socket (keyed by the flow's id).
    Flow = 8,
}

/// An epoll instance (close-on-exec).
#[derive(Debug)]
pub(crate) struct Epoll {
    fd: OwnedFd,
}

impl Epoll {
    pub(crate) fn new() -> std::io::Result<Epoll> {
        // SAFETY: a plain fd-creating call; the result is checked.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: a fresh fd owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Epoll { fd })
    }

    pub(crate) fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Watches `fd` for input and hang-up; events carry `(job << 8) | source`.
    pub(crate) fn add(&self, fd: RawFd, job: u64, source: Source) -> std::io::Result<()> {
        self.ctl_add(
            fd,
            (libc::EPOLLIN | libc::EPOLLHUP | libc::EPOLLERR) as u32,
            job,
            source,
        )
    }

    /// Watches `fd` for output (a connect finishing), hang-up and errors.
    pub(crate) fn add_out(&self, fd: RawFd, job: u64, source: Source) -> std::io::Result<()> {
        self.ctl_add(
            fd,
            (libc::EPOLLOUT | libc::EPOLLHUP | libc::EPOLLERR) as u32,
            job,
            source,
        )
    }

    fn ctl_add(&self, fd: RawFd, events: u32, job: u64, source: Source) -> std::io::Result<()> {
        let mut ev = libc::epoll_event {
            events,
            u64: (job << 8) | source as u64,
        };
        // SAFETY: `ev` is live for the call.
        if unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// Stops watching `fd` (before it is closed: another reference may keep it registered).
    pub(crate) fn remove(&self, fd: RawFd) {
        let mut ev = libc::epoll_event { events: 0, u64: 0 };
        // SAFETY: `ev` is live (EPOLL_CTL_DEL ignores it; old kernels want it non-null).
        unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), libc::EPOLL_CTL_DEL, fd, &mut ev) };
    }

    /// The ready fds' tokens as `(job, source)`, without waiting.
    pub(crate) fn ready(&self) -> Vec<(u64, Source)> {
        self.wait(0)
    }

    /// The ready fds' tokens as `(job, source)`, waiting up to `timeout_ms` (-1: until one is
    /// ready); empty on timeout or EINTR.
    pub(crate) fn wait(&self, timeout_ms: i32) -> Vec<(u64, Source)> {
        // SAFETY: epoll_event is plain data.
        let mut evs: [libc::epoll_event; 64] = unsafe { std::mem::zeroed() };
        // SAFETY: the kernel writes at most 64 events into `evs`.
        let n = unsafe { libc::epoll_wait(self.fd.as_raw_fd(), evs.as_mut_ptr(), 64, timeout_ms) };
        let n = usize::try_from(n).unwrap_or(0);
        evs[..n]
            .iter()
            .filter_map(|e| {
                let token = e.u64;
                let source = match token & 0xff {
                    1 => Source::Handoff,
                    2 => Source::Listener,
                    3 => Source::InitPipe,
                    4 => Source::Exit,
                    5 => Source::Bell,
                    6 => Source::Connect,
                    7 => Source::Relay,
                    8 => Source::Flow,
                    _ => return None,
                };
                Some((token >> 8, source))
            })
            .collect()
    }
}
