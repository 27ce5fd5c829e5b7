//! The network proxy of the user-notify monitor: a sandboxee's `connect` under an allow-list
//! (`policy/net/`) arrives here as a notification, and the supervisor answers it itself.
//!
//! For each call, in this order:
//! 1. the `sockaddr` is copied once from the sandboxee (`process_vm_readv`) and every decision is
//!    made on that copy; `SECCOMP_IOCTL_NOTIF_ID_VALID` then proves the copy came from the task
//!    still waiting in the notification;
//! 2. the socket is fetched (`pidfd_getfd` through a pidfd of that task: opened before the copy,
//!    or kept from the task's last connect, see [`Task`]) to learn its family, type and state;
//! 3. an allowed stream endpoint is connected by a socket of the supervisor's own, on the host
//!    (unix paths opened with `openat2(RESOLVE_NO_SYMLINKS)` and connected through the O_PATH
//!    fd, so a symlink swapped in cannot redirect it), and that socket replaces the sandboxee's
//!    at the same fd number (`SECCOMP_IOCTL_NOTIF_ADDFD` with `SETFD`); the call returns the
//!    connect's result. A connect still in progress waits in the supervisor's epoll set, never
//!    on its thread;
//! 4. a datagram (or raw) socket of the sandbox's own network namespace is connected by the
//!    supervisor on the copy, in that namespace: it reaches nothing outside, as without a list,
//!    or a `udp:` entry's relay socket (`udp_relay.rs`), whose address is local there. A UDP
//!    connect to any other address but a loopback one (the sandbox's own `lo`) is refused and
//!    recorded, never a violation: resolvers probe every address a name has with a UDP
//!    connect (glibc's RFC 3484 sort, Go's address selection), and such a probe sends nothing.
//!
//! The call itself never runs (`CONTINUE` is never answered): a thread of the sandboxee could
//! otherwise rewrite the address, or swap a host socket onto the fd, between check and use.
//! A socket the proxy installed is connected, so the kernel refuses to connect it again; every
//! later `connect` on it comes here too.
//!
//! What differs from a plain connect (documented for users): a non-blocking connect waits until
//! the host connect completes (the call then returns 0 or its error, not EINPROGRESS);
//! `getsockname` shows the host's local address; a `bind` made before connecting is not carried
//! over; socket options carried: TCP_NODELAY, SO_KEEPALIVE, SO_LINGER, SO_RCVTIMEO, SO_SNDTIMEO.

#![allow(unsafe_code)]

use super::epoll::Epoll;
use super::udp_relay::Relay;
use crate::policy::net::NetPolicy;
use crate::result::DeniedConnect;
use crate::sys::seccomp as uapi;
use socket::{
    open_fdinfo, open_fdinfo_dir, read_fdinfo_flags, set_blocking, so_error, writable_now,
};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

mod connect;
mod socket;

/// What the monitor does with a notification the proxy looked at.
pub(crate) enum Answer {
    /// Fail the call with this errno, or succeed (0).
    Reply(i32),
    /// Answered already (installed and replied), or the task is gone.
    Done,
    /// The host connect is in progress; answered when its socket is writable.
    Pending,
    /// The allow-list refuses it: the monitor applies the policy's `on_denied`.
    Denied(DeniedConnect),
    /// A UDP connect the allow-list does not name: recorded, and failed with the policy's
    /// errno, or with this one under `OnDenied::Violation` (never a violation: see step 4).
    Refused(DeniedConnect, i32),
}

/// A host connect in progress for a waiting sandboxee.
struct Pending {
    id: u64,
    /// The sandboxee's fd number the socket replaces.
    fd: u32,
    sock: OwnedFd,
    newfd_flags: u32,
    nonblock: bool,
}

/// One sandbox's proxy state.
pub(crate) struct Proxy {
    policy: NetPolicy,
    job: u64,
    pending: Vec<Pending>,
    /// The tasks that connected last (a few; newest last), with what is kept open of them.
    tasks: Vec<Task>,
    /// The `udp:` entries' relay, when the list has any.
    relay: Option<Relay>,
}

/// How many tasks a sandbox's proxy keeps open ([`Task`]).
const TASKS: usize = 2;
/// How many fdinfo entries it keeps open per task.
const ENTRIES: usize = 2;

/// A task that connected lately, and what the proxy keeps open of it, which saves opening and
/// closing it all at every connect. Each is bound to the task, not to its number: while that
/// task lives no other task has its tid, so a kept pidfd reaches the notifying task as one
/// opened now would; once it is gone they fail (`pidfd_getfd` with ESRCH: they never reach a
/// task that reuses the tid), and the entry is made anew and checked against the notification.
struct Task {
    tid: libc::pid_t,
    pidfd: OwnedFd,
    /// Opened at this notification (checked with it), not kept from an earlier one.
    fresh: bool,
    /// `/proc/TID/fdinfo`, opened at the task's first proxied connect.
    fdinfo: Option<OwnedFd>,
    /// Entries of that directory kept open (newest last): a read at offset 0 shows what the
    /// task's fd of that number is now.
    entries: Vec<(i32, OwnedFd)>,
}

impl Task {
    /// A pidfd of thread `tid` opened now ([`open_thread_pidfd`]), or its errno (ESRCH: gone).
    fn open(tid: libc::pid_t) -> Result<Task, i32> {
        Ok(Task {
            tid,
            pidfd: open_thread_pidfd(tid)?,
            fresh: true,
            fdinfo: None,
            entries: Vec::new(),
        })
    }

    /// The fd's close-on-exec (as ADDFD's `newfd_flags`) and non-blocking flags, from its
    /// fdinfo (file status flags from our copy when that cannot be read: close-on-exec then
    /// stays off).
    fn fd_flags(&mut self, fd: i32, ours: &OwnedFd) -> (u32, bool) {
        if let Some(f) = self.fdinfo_flags(fd) {
            let cloexec = f & i64::from(libc::O_CLOEXEC) != 0;
            let nonblock = f & i64::from(libc::O_NONBLOCK) != 0;
            (if cloexec { libc::O_CLOEXEC as u32 } else { 0 }, nonblock)
        } else {
            // SAFETY: F_GETFL on our own fd.
            let fl = unsafe { libc::fcntl(ours.as_raw_fd(), libc::F_GETFL) };
            (0, fl >= 0 && fl & libc::O_NONBLOCK != 0)
        }
    }

    /// The `flags:` of fd `fd`'s fdinfo, read from the kept entry, or one opened now and kept.
    fn fdinfo_flags(&mut self, fd: i32) -> Option<i64> {
        if let Some(i) = self.entries.iter().position(|(n, _)| *n == fd) {
            let kept = self.entries.remove(i);
            self.entries.push(kept);
        } else {
            if self.fdinfo.is_none() {
                self.fdinfo = Some(open_fdinfo_dir(self.tid)?);
            }
            let dir = self.fdinfo.as_ref()?.as_raw_fd();
            let entry = open_fdinfo(dir, fd)?;
            if self.entries.len() == ENTRIES {
                self.entries.remove(0);
            }
            self.entries.push((fd, entry));
        }
        read_fdinfo_flags(self.entries.last()?.1.as_raw_fd())
    }
}

impl Proxy {
    pub(crate) fn new(policy: NetPolicy, job: u64) -> Proxy {
        Proxy {
            policy,
            job,
            pending: Vec::new(),
            tasks: Vec::new(),
            relay: None,
        }
    }

    /// The relay of the `udp:` entries `addrs`, whose sockets the init sends over `channel`.
    pub(crate) fn set_relay(&mut self, channel: OwnedFd, addrs: Vec<std::net::SocketAddr>) {
        self.relay = Some(Relay::new(self.job, channel, addrs));
    }

    /// The sandboxee's listener came, so the init's relay sockets are there: watch them.
    pub(crate) fn receive_relay(&mut self, epoll: &Epoll) {
        if let Some(r) = self.relay.as_mut() {
            r.receive(epoll);
        }
    }

    /// The relay's set is ready.
    pub(crate) fn on_relay(&mut self) {
        if let Some(r) = self.relay.as_mut() {
            r.on_ready();
        }
    }

    /// Answers every pending connect whose host socket is now writable.
    pub(crate) fn on_writable(&mut self, listener: RawFd, epoll: &Epoll) {
        let mut i = 0;
        while i < self.pending.len() {
            if writable_now(self.pending[i].sock.as_raw_fd()) {
                let p = self.pending.swap_remove(i);
                epoll.remove(p.sock.as_raw_fd());
                finish(listener, p);
            } else {
                i += 1;
            }
        }
    }

    /// The kept entry of `tid`, taken out (put back with [`Proxy::keep`]), or a new one with a
    /// pidfd opened now ([`Task::open`]).
    fn take_task(&mut self, tid: libc::pid_t) -> Result<Task, i32> {
        match self.tasks.iter().position(|t| t.tid == tid) {
            Some(i) => {
                let mut t = self.tasks.remove(i);
                t.fresh = false;
                Ok(t)
            }
            None => Task::open(tid),
        }
    }

    /// Keeps `task` as the newest, dropping the oldest beyond [`TASKS`].
    fn keep(&mut self, task: Task) {
        if self.tasks.len() == TASKS {
            self.tasks.remove(0);
        }
        self.tasks.push(task);
    }

    /// Drops every pending connect and the relay (the sandbox is ending).
    pub(crate) fn close(&mut self, epoll: &Epoll) {
        for p in self.pending.drain(..) {
            epoll.remove(p.sock.as_raw_fd());
        }
        if let Some(r) = self.relay.as_mut() {
            r.close(epoll);
        }
    }
}

/// The host connect finished: install the socket and answer, or fail the call with the
/// connect's error.
fn finish(listener: RawFd, p: Pending) {
    let err = so_error(p.sock.as_raw_fd());
    if err != 0 {
        respond(listener, p.id, err);
        return;
    }
    install(listener, p);
}

/// The host socket is connected: install it over the sandboxee's fd and answer.
// By value: the host socket closes here, once it is handed over.
#[allow(clippy::needless_pass_by_value)]
fn install(listener: RawFd, p: Pending) {
    if !p.nonblock {
        set_blocking(p.sock.as_raw_fd());
    }
    // An open descriptor's number is never negative.
    let Ok(srcfd) = u32::try_from(p.sock.as_raw_fd()) else {
        respond(listener, p.id, libc::EBADF);
        return;
    };
    let add = uapi::NotifAddfd {
        id: p.id,
        flags: uapi::ADDFD_FLAG_SETFD,
        srcfd,
        newfd: p.fd,
        newfd_flags: p.newfd_flags,
    };
    // SAFETY: the kernel reads one struct seccomp_notif_addfd.
    let r = unsafe {
        libc::ioctl(
            listener,
            uapi::IOCTL_NOTIF_ADDFD as _,
            std::ptr::addr_of!(add),
        )
    };
    if r < 0 {
        // ENOENT: the task left the call (killed or interrupted); anything else fails the call.
        respond(listener, p.id, last_errno());
        return;
    }
    respond(listener, p.id, 0);
}

/// `PIDFD_THREAD` (6.9): a pidfd of any thread, not only of a thread group's leader.
const PIDFD_THREAD: libc::c_int = libc::O_EXCL;

/// A pidfd of thread `tid` (a connect may come from any thread of the sandboxee): with
/// `PIDFD_THREAD`, or where the kernel does not know that flag (EINVAL before 6.9) a plain one,
/// which only a thread group's leader has. The errno if none: ESRCH when the task is gone.
fn open_thread_pidfd(tid: libc::pid_t) -> Result<OwnedFd, i32> {
    let mut errno = 0;
    for flags in [PIDFD_THREAD, 0] {
        // SAFETY: pidfd_open takes a pid and flags; the result is a new fd or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, tid, flags) };
        match i32::try_from(fd) {
            // SAFETY: a fresh fd owned by nobody else.
            Ok(fd) if fd >= 0 => return Ok(unsafe { OwnedFd::from_raw_fd(fd) }),
            _ => errno = last_errno(),
        }
        if errno != libc::EINVAL {
            break;
        }
    }
    Err(errno)
}

/// Answers notification `id` with `errno` (0: success, the call returns 0).
pub(crate) fn respond(listener: RawFd, id: u64, errno: i32) {
    send_response(listener, id, -errno, 0);
}

/// `SECCOMP_IOCTL_NOTIF_SEND`: `error` 0 with `USER_NOTIF_FLAG_CONTINUE` lets the call run, a
/// negative errno fails it, 0 alone makes it return 0. A notification whose task died meanwhile
/// is refused with ENOENT: nothing to do.
pub(crate) fn send_response(listener: RawFd, id: u64, error: i32, flags: u32) {
    let resp = uapi::NotifResp {
        id,
        val: 0,
        error,
        flags,
    };
    // SAFETY: the kernel reads one struct seccomp_notif_resp.
    unsafe {
        libc::ioctl(
            listener,
            uapi::IOCTL_NOTIF_SEND as _,
            std::ptr::addr_of!(resp),
        )
    };
}

pub(crate) fn id_valid(listener: RawFd, id: u64) -> bool {
    // SAFETY: the kernel reads one u64.
    unsafe {
        libc::ioctl(
            listener,
            uapi::IOCTL_NOTIF_ID_VALID as _,
            std::ptr::addr_of!(id),
        ) == 0
    }
}

fn last_errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}
