//! The network proxy of the user-notify monitor: a sandboxee's `connect` under an allow-list
//! (`policy/net/`) arrives here as a notification, and the supervisor answers it itself.
//!
//! For each call, in this order:
//! 1. the `sockaddr` is copied once from the sandboxee (`process_vm_readv`) and every decision is
//!    made on that copy; `SECCOMP_IOCTL_NOTIF_ID_VALID` then proves the copy came from the task
//!    still waiting in the notification;
//! 2. the socket is fetched (`pidfd_open` of that task, checked valid again, `pidfd_getfd`) to
//!    learn its family, type and state;
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
use socket::{read_fdinfo_flags, set_nonblock, so_error, writable_now};
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
    /// `/proc/TID/fdinfo` of the tasks that connected last (a few; newest last): an open
    /// directory stays the task's own (it fails once the task is gone, never follows a reused
    /// pid), and saves the path walk on every connect.
    fdinfo_dirs: Vec<(libc::pid_t, OwnedFd)>,
    /// The `udp:` entries' relay, when the list has any.
    relay: Option<Relay>,
}

/// How many `/proc/TID/fdinfo` directories a sandbox's proxy keeps open.
const FDINFO_DIRS: usize = 4;

impl Proxy {
    pub(crate) fn new(policy: NetPolicy, job: u64) -> Proxy {
        Proxy {
            policy,
            job,
            pending: Vec::new(),
            fdinfo_dirs: Vec::new(),
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

    /// The sandboxee fd's close-on-exec (as ADDFD's `newfd_flags`) and non-blocking flags, from
    /// its fdinfo (file status flags from our copy when that cannot be read: close-on-exec then
    /// stays off).
    fn fd_flags(&mut self, tid: libc::pid_t, fd: i32, ours: &OwnedFd) -> (u32, bool) {
        let flags = self.fdinfo_dir(tid).and_then(|dir| read_fdinfo_flags(dir, fd));
        if let Some(f) = flags {
            let cloexec = f & i64::from(libc::O_CLOEXEC) != 0;
            let nonblock = f & i64::from(libc::O_NONBLOCK) != 0;
            (if cloexec { libc::O_CLOEXEC as u32 } else { 0 }, nonblock)
        } else {
            // SAFETY: F_GETFL on our own fd.
            let fl = unsafe { libc::fcntl(ours.as_raw_fd(), libc::F_GETFL) };
            (0, fl >= 0 && fl & libc::O_NONBLOCK != 0)
        }
    }

    /// The open `/proc/TID/fdinfo` of `tid`, opened now if it is not among the kept ones.
    fn fdinfo_dir(&mut self, tid: libc::pid_t) -> Option<RawFd> {
        if let Some(i) = self.fdinfo_dirs.iter().position(|(t, _)| *t == tid) {
            let kept = self.fdinfo_dirs.remove(i);
            self.fdinfo_dirs.push(kept);
        } else {
            let path = std::ffi::CString::new(format!("/proc/{tid}/fdinfo")).ok()?;
            // SAFETY: a NUL-terminated path; the result is checked.
            let fd = unsafe {
                libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC)
            };
            if fd < 0 {
                return None;
            }
            if self.fdinfo_dirs.len() == FDINFO_DIRS {
                self.fdinfo_dirs.remove(0);
            }
            // SAFETY: a fresh fd owned by nobody else.
            self.fdinfo_dirs.push((tid, unsafe { OwnedFd::from_raw_fd(fd) }));
        }
        self.fdinfo_dirs.last().map(|(_, d)| d.as_raw_fd())
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

/// The host connect finished (or was done at once): install the socket and answer, or fail
/// the call with the connect's error.
// By value: the host socket closes here, once it is handed over.
#[allow(clippy::needless_pass_by_value)]
fn finish(listener: RawFd, p: Pending) {
    let err = so_error(p.sock.as_raw_fd());
    if err != 0 {
        respond(listener, p.id, err);
        return;
    }
    if !p.nonblock {
        set_nonblock(p.sock.as_raw_fd(), false);
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

fn id_valid(listener: RawFd, id: u64) -> bool {
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
