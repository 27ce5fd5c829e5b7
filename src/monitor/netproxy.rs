//! The network proxy of the user-notify monitor: a sandboxee's `connect` under an allow-list
//! (`policy/net.rs`) arrives here as a notification, and the supervisor answers it itself.
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

use super::epoll::{Epoll, Source};
use super::udp_relay::Relay;
use crate::policy::net::{NetPolicy, Target};
use crate::result::DeniedConnect;
use crate::sys::seccomp as uapi;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::OnceLock;

/// `SO_NETNS_COOKIE` (5.14): which network namespace a socket belongs to.
const SO_NETNS_COOKIE: libc::c_int = 71;
/// Largest `sockaddr` a connect may pass (`struct sockaddr_storage`).
const SOCKADDR_MAX: usize = 128;

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

/// The notification's call: `connect(fd, addr, len)`.
struct Call {
    id: u64,
    pid: libc::pid_t,
    fd: i32,
    addr: u64,
    len: usize,
}

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

    /// Decides and, where it can, answers one `connect` notification on `listener`.
    pub(crate) fn on_connect(&mut self, listener: RawFd, n: &uapi::Notif, epoll: &Epoll) -> Answer {
        let call = Call {
            id: n.id,
            pid: libc::pid_t::try_from(n.pid).unwrap_or(0),
            // The fd and length are C ints: their low 32 bits.
            fd: crate::sys::low_i32(n.data.args[0]),
            addr: n.data.args[1],
            // Above SOCKADDR_MAX (EINVAL below) if it does not fit.
            len: usize::try_from(crate::sys::low_u32(n.data.args[2])).unwrap_or(usize::MAX),
        };
        if call.len > SOCKADDR_MAX {
            return Answer::Reply(libc::EINVAL);
        }
        // Step 1: the task and the address, once. The pidfd and the copy are the waiting
        // task's if the notification is still valid after both.
        let Some(pidfd) = super::launch::open_pidfd(call.pid) else {
            return Answer::Done;
        };
        let read = read_memory(call.pid, call.addr, call.len);
        if !id_valid(listener, call.id) {
            return Answer::Done;
        }
        let Ok(bytes) = read else {
            return Answer::Reply(libc::EFAULT);
        };
        let target = Target::from_sockaddr(&bytes);
        // Step 2: the socket.
        let sock = match fetch_socket(&pidfd, call.fd) {
            Ok(s) => s,
            Err(Fetch::Gone) => return Answer::Done,
            Err(Fetch::Errno(e)) => return Answer::Reply(e),
        };
        let Some(info) = SocketInfo::of(&sock) else {
            return Answer::Reply(libc::ENOTSOCK);
        };
        let denied = |why: &str| {
            Answer::Denied(DeniedConnect {
                pid: call.pid,
                family: target.family_name(),
                address: target.describe(),
                why: why.into(),
            })
        };
        if !info.is_stream() {
            // Step 4: datagram and raw sockets stay in the sandbox's own namespace.
            if info.domain == libc::AF_UNIX {
                return denied("unix datagram sockets are not proxied");
            }
            if !info.is_local() {
                return denied("a socket of the host's network namespace");
            }
            return self.datagram_connect(&info, &target, call.pid, &bytes);
        }
        if has_peer(info.fd) {
            return Answer::Reply(libc::EISCONN);
        }
        if !family_fits(info.domain, &target) {
            return Answer::Reply(if info.domain == libc::AF_UNIX {
                libc::EINVAL
            } else {
                libc::EAFNOSUPPORT
            });
        }
        if self.policy.allowed(&target).is_none() {
            return match target {
                // Unix sockets the list does not name are the sandbox's own business: looked up
                // in its filesystem view and its network namespace, as without a list.
                Target::UnixPath(ref path) => {
                    Answer::Reply(connect_in_view(listener, &call, &sock, path))
                }
                Target::Abstract(_) => Answer::Reply(connect_local(&sock, &bytes)),
                _ => denied("not in the allow-list"),
            };
        }
        // Step 3: the host's socket.
        let host = match host_socket(&info, &sock, &target, &bytes) {
            Ok(h) => h,
            Err(HostFail::Denied(why)) => return denied(why),
            Err(HostFail::Errno(e)) => return Answer::Reply(e),
        };
        // Not negative: the task's socket was fetched by this number above.
        let Ok(newfd) = u32::try_from(call.fd) else {
            return Answer::Reply(libc::EBADF);
        };
        let (newfd_flags, nonblock) = self.fd_flags(call.pid, call.fd, &sock);
        let p = Pending {
            id: call.id,
            fd: newfd,
            sock: host.sock,
            newfd_flags,
            nonblock,
        };
        match host.result {
            Err(e) if e == libc::EINPROGRESS && !writable_now(p.sock.as_raw_fd()) => {
                if epoll
                    .add_out(p.sock.as_raw_fd(), self.job, Source::Connect)
                    .is_err()
                {
                    return Answer::Reply(libc::ENOMEM);
                }
                self.pending.push(p);
                Answer::Pending
            }
            Err(e) if e != libc::EINPROGRESS => Answer::Reply(e),
            _ => {
                finish(listener, p);
                Answer::Done
            }
        }
    }

    /// Step 4: a datagram or raw socket of the sandbox's own namespace, connected there on our
    /// copy of the address, unless it is a UDP connect to an inet address that is neither a
    /// `udp:` entry nor loopback (the sandbox's own `lo`): refused and recorded.
    fn datagram_connect(
        &self,
        info: &SocketInfo,
        target: &Target,
        pid: libc::pid_t,
        bytes: &[u8],
    ) -> Answer {
        if info.ty == libc::SOCK_DGRAM
            && matches!(target, Target::Inet(_))
            && !target.is_loopback()
            && !self.policy.allows_udp(target)
        {
            // No relay there: it would reach nothing (no route), but the program meant to.
            let d = DeniedConnect {
                pid,
                family: target.family_name(),
                address: format!("udp:{}", target.describe()),
                why: "udp: not in the allow-list".into(),
            };
            return Answer::Refused(d, libc::ENETUNREACH);
        }
        Answer::Reply(connect_errno(info.fd, bytes))
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

/// `len` bytes at `addr` in task `pid`.
fn read_memory(pid: libc::pid_t, addr: u64, len: usize) -> Result<Vec<u8>, i32> {
    let mut buf = vec![0u8; len];
    if len == 0 {
        return Ok(buf);
    }
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: len,
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: len,
    };
    // SAFETY: one local iovec over our live buffer; the remote one is only read by the kernel.
    let n = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
    if usize::try_from(n).ok() == Some(len) {
        Ok(buf)
    } else {
        Err(last_errno())
    }
}

enum Fetch {
    /// The task left the notification.
    Gone,
    Errno(i32),
}

/// Our copy of fd `fd` of the task behind `pidfd` (checked against the notification already).
fn fetch_socket(pidfd: &OwnedFd, fd: i32) -> Result<OwnedFd, Fetch> {
    // SAFETY: pidfd_getfd(pidfd, fd, 0) returns a new close-on-exec fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0) };
    match i32::try_from(fd) {
        // SAFETY: a fresh fd owned by nobody else.
        Ok(fd) if fd >= 0 => Ok(unsafe { OwnedFd::from_raw_fd(fd) }),
        _ => Err(Fetch::Errno(match last_errno() {
            // The fd is not open in the sandboxee.
            libc::EBADF => libc::EBADF,
            libc::ESRCH => return Err(Fetch::Gone),
            // Refused by the kernel (ptrace access): the call cannot be checked, so it fails.
            _ => libc::EACCES,
        })),
    }
}

/// What the proxy needs to know about a sandboxee's socket.
struct SocketInfo {
    domain: i32,
    ty: i32,
    protocol: i32,
    fd: RawFd,
}

impl SocketInfo {
    fn of(sock: &OwnedFd) -> Option<SocketInfo> {
        let fd = sock.as_raw_fd();
        let domain = getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_DOMAIN)?;
        let ty = getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_TYPE)?;
        let protocol = getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_PROTOCOL)?;
        Some(SocketInfo { domain, ty, protocol, fd })
    }

    /// Stream sockets the proxy connects on the host: TCP, and unix stream and seqpacket.
    fn is_stream(&self) -> bool {
        match self.domain {
            libc::AF_INET | libc::AF_INET6 => {
                self.ty == libc::SOCK_STREAM
                    && (self.protocol == 0 || self.protocol == libc::IPPROTO_TCP)
            }
            libc::AF_UNIX => self.ty == libc::SOCK_STREAM || self.ty == libc::SOCK_SEQPACKET,
            _ => false,
        }
    }

    /// In the sandbox's own network namespace (not the host's, whose cookie the supervisor's own
    /// sockets carry). Unknown counts as not local.
    fn is_local(&self) -> bool {
        match (netns_cookie(self.fd), host_netns_cookie()) {
            (Some(s), Some(h)) => s != h,
            _ => false,
        }
    }
}

fn family_fits(domain: i32, target: &Target) -> bool {
    match (domain, target) {
        (libc::AF_INET, Target::Inet(a)) => a.is_ipv4(),
        (libc::AF_INET6, Target::Inet(a)) => a.is_ipv6(),
        (libc::AF_UNIX, Target::UnixPath(_) | Target::Abstract(_)) => true,
        _ => false,
    }
}

fn getsockopt_int(fd: RawFd, level: i32, opt: i32) -> Option<i32> {
    let mut v: libc::c_int = 0;
    let mut len = crate::sys::socklen_of::<libc::c_int>();
    // SAFETY: the kernel writes at most `len` bytes into `v`.
    let r = unsafe { libc::getsockopt(fd, level, opt, std::ptr::addr_of_mut!(v).cast(), &mut len) };
    (r == 0).then_some(v)
}

fn has_peer(fd: RawFd) -> bool {
    // SAFETY: sockaddr_storage is plain data; the kernel writes at most `len` bytes.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = crate::sys::socklen_of::<libc::sockaddr_storage>();
    // SAFETY: as above.
    unsafe { libc::getpeername(fd, std::ptr::addr_of_mut!(ss).cast(), &mut len) == 0 }
}

fn netns_cookie(fd: RawFd) -> Option<u64> {
    let mut v: u64 = 0;
    let mut len = crate::sys::socklen_of::<u64>();
    // SAFETY: the kernel writes at most `len` bytes into `v`.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            SO_NETNS_COOKIE,
            std::ptr::addr_of_mut!(v).cast(),
            &mut len,
        )
    };
    (r == 0).then_some(v)
}

/// The cookie of the supervisor's network namespace, asked once.
fn host_netns_cookie() -> Option<u64> {
    static COOKIE: OnceLock<Option<u64>> = OnceLock::new();
    *COOKIE.get_or_init(|| {
        // SAFETY: a plain fd-creating call; the result is checked.
        let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return None;
        }
        // SAFETY: a fresh fd owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        netns_cookie(fd.as_raw_fd())
    })
}

/// Connects the sandboxee's own socket on our copy of the address without waiting (a blocking
/// socket is made non-blocking for the call: the supervisor never blocks; a unix listener with
/// a full backlog then gives EAGAIN).
fn connect_local(sock: &OwnedFd, addr: &[u8]) -> i32 {
    let fd = sock.as_raw_fd();
    // SAFETY: F_GETFL on our own fd.
    let blocking = unsafe { libc::fcntl(fd, libc::F_GETFL) } & libc::O_NONBLOCK == 0;
    if blocking {
        set_nonblock(fd, true);
    }
    let e = connect_errno(fd, addr);
    if blocking {
        set_nonblock(fd, false);
    }
    e
}

/// A unix path the list does not name, looked up in the sandboxee's own view: under its root
/// (`/proc/PID/root`, or its working directory for a relative path) with `RESOLVE_IN_ROOT`, so
/// nothing it controls can lead the lookup out; then its own socket is connected to what was
/// found.
fn connect_in_view(listener: RawFd, call: &Call, sock: &OwnedFd, path: &[u8]) -> i32 {
    let (base, rel) = match path.strip_prefix(b"/") {
        Some(rel) => ("root", rel),
        None => ("cwd", path),
    };
    let Ok(dir) = std::fs::File::open(format!("/proc/{}/{base}", call.pid)) else {
        return libc::ENOENT;
    };
    if !id_valid(listener, call.id) {
        return libc::ENOENT;
    }
    let rel = if rel.is_empty() { &b"."[..] } else { rel };
    let found = match open_path(
        dir.as_raw_fd(),
        rel,
        libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS,
    ) {
        Ok(fd) => fd,
        Err(e) => return e,
    };
    if !is_socket(&found) {
        return libc::ECONNREFUSED;
    }
    let via = format!("/proc/self/fd/{}", found.as_raw_fd());
    connect_local(sock, &unix_sockaddr(via.as_bytes()))
}

/// `openat2(dir, path, O_PATH, resolve)`: the fd or the errno.
fn open_path(dir: RawFd, path: &[u8], resolve: u64) -> Result<OwnedFd, i32> {
    let c = std::ffi::CString::new(path).map_err(|_| libc::EINVAL)?;
    // SAFETY: open_how is plain data.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (libc::O_PATH | libc::O_CLOEXEC) as u64;
    how.resolve = resolve;
    // SAFETY: a NUL-terminated path and one open_how of the size passed.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir,
            c.as_ptr(),
            std::ptr::addr_of!(how),
            std::mem::size_of::<libc::open_how>(),
        )
    };
    match i32::try_from(fd) {
        // SAFETY: a fresh fd owned by nobody else.
        Ok(fd) if fd >= 0 => Ok(unsafe { OwnedFd::from_raw_fd(fd) }),
        _ => Err(last_errno()),
    }
}

fn is_socket(fd: &OwnedFd) -> bool {
    // SAFETY: stat is plain data; fstat writes one.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    unsafe {
        libc::fstat(fd.as_raw_fd(), &mut st) == 0 && st.st_mode & libc::S_IFMT == libc::S_IFSOCK
    }
}

/// `connect(fd, bytes)`: 0 or the errno.
fn connect_errno(fd: RawFd, bytes: &[u8]) -> i32 {
    let Ok(len) = libc::socklen_t::try_from(bytes.len()) else {
        return libc::EINVAL;
    };
    // SAFETY: the kernel reads `len` bytes of our copy.
    let r = unsafe { libc::connect(fd, bytes.as_ptr().cast(), len) };
    if r == 0 {
        0
    } else {
        last_errno()
    }
}

struct HostSocket {
    sock: OwnedFd,
    /// The connect's result: Ok, or the errno (EINPROGRESS: still going).
    result: Result<(), i32>,
}

enum HostFail {
    Denied(&'static str),
    Errno(i32),
}

/// A non-blocking socket of the host's, like the sandboxee's, connected (or connecting) to
/// `target`.
fn host_socket(
    info: &SocketInfo,
    theirs: &OwnedFd,
    target: &Target,
    bytes: &[u8],
) -> Result<HostSocket, HostFail> {
    // SAFETY: a plain fd-creating call; the result is checked.
    let fd = unsafe {
        libc::socket(
            info.domain,
            info.ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            info.protocol,
        )
    };
    if fd < 0 {
        return Err(HostFail::Errno(last_errno()));
    }
    // SAFETY: a fresh fd owned by nobody else.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    carry_options(info.domain, theirs.as_raw_fd(), fd);
    let err = match target {
        Target::UnixPath(path) => {
            let dir = open_socket_path(path)?;
            let via = format!("/proc/self/fd/{}", dir.as_raw_fd());
            connect_errno(fd, &unix_sockaddr(via.as_bytes()))
        }
        _ => connect_errno(fd, bytes),
    };
    let result = if err == 0 { Ok(()) } else { Err(err) };
    Ok(HostSocket { sock, result })
}

/// The allowed path on the host, opened O_PATH with no symlink anywhere in it, and a socket.
fn open_socket_path(path: &[u8]) -> Result<OwnedFd, HostFail> {
    let fd = open_path(libc::AT_FDCWD, path, libc::RESOLVE_NO_SYMLINKS).map_err(|e| match e {
        libc::ELOOP => HostFail::Denied("a symlink on the host path (not followed)"),
        e => HostFail::Errno(e),
    })?;
    if !is_socket(&fd) {
        return Err(HostFail::Denied("the host path is not a socket"));
    }
    Ok(fd)
}

fn unix_sockaddr(path: &[u8]) -> Vec<u8> {
    let mut b = crate::sys::family(libc::AF_UNIX).to_ne_bytes().to_vec();
    b.extend_from_slice(path);
    b.push(0);
    b
}

/// Copies the options a client sets before connecting that mean the same on the host socket.
fn carry_options(domain: i32, from: RawFd, to: RawFd) {
    let mut opts = vec![
        (libc::SOL_SOCKET, libc::SO_RCVTIMEO),
        (libc::SOL_SOCKET, libc::SO_SNDTIMEO),
        (libc::SOL_SOCKET, libc::SO_LINGER),
    ];
    if domain != libc::AF_UNIX {
        opts.push((libc::SOL_SOCKET, libc::SO_KEEPALIVE));
        opts.push((libc::IPPROTO_TCP, libc::TCP_NODELAY));
    }
    for (level, opt) in opts {
        let mut buf = [0u8; 32];
        let mut len = crate::sys::socklen_of::<[u8; 32]>(); // buf's size
        // SAFETY: the kernel writes at most `len` bytes into `buf`.
        let got = unsafe { libc::getsockopt(from, level, opt, buf.as_mut_ptr().cast(), &mut len) };
        // All-zero is each option's default on a fresh socket: nothing to carry.
        let n = usize::try_from(len).unwrap_or(0).min(buf.len());
        if got == 0 && buf[..n].iter().any(|&b| b != 0) {
            // SAFETY: the kernel reads `len` bytes of `buf`.
            unsafe { libc::setsockopt(to, level, opt, buf.as_ptr().cast(), len) };
        }
    }
}

/// The `flags:` field (octal) of `fd`'s entry in an open fdinfo directory.
fn read_fdinfo_flags(dir: RawFd, fd: i32) -> Option<i64> {
    let name = std::ffi::CString::new(fd.to_string()).ok()?;
    // SAFETY: a NUL-terminated name relative to our open directory; the result is checked.
    let f = unsafe { libc::openat(dir, name.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if f < 0 {
        return None;
    }
    // SAFETY: a fresh fd owned by nobody else.
    let f = unsafe { OwnedFd::from_raw_fd(f) };
    let mut buf = [0u8; 256];
    // SAFETY: reading into our live buffer.
    let n = unsafe { libc::read(f.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    let text = std::str::from_utf8(&buf[..usize::try_from(n).ok()?]).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|v| i64::from_str_radix(v.trim(), 8).ok())
}

fn set_nonblock(fd: RawFd, on: bool) {
    // SAFETY: F_GETFL/F_SETFL on our own fd.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        if fl >= 0 {
            let fl = if on {
                fl | libc::O_NONBLOCK
            } else {
                fl & !libc::O_NONBLOCK
            };
            libc::fcntl(fd, libc::F_SETFL, fl);
        }
    }
}

/// Whether a connecting socket is done (writable, or failed), without waiting.
fn writable_now(fd: RawFd) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one live pollfd, no timeout.
    unsafe { libc::poll(&mut p, 1, 0) > 0 }
}

/// `SO_ERROR` of a socket whose connect finished: 0 when it connected.
fn so_error(fd: RawFd) -> i32 {
    getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_ERROR).unwrap_or(libc::EIO)
}
