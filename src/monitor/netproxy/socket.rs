//! The sockets the proxy handles: what a sandboxee's socket is (family, type, peer, network
//! namespace), the host's socket made for an allowed endpoint (options carried, a unix path
//! opened without symlinks), connects without waiting, and the fd flags and poll helpers.

#![allow(unsafe_code)]

use super::last_errno;
use crate::policy::net::Target;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::OnceLock;

/// `SO_NETNS_COOKIE` (5.14): which network namespace a socket belongs to.
const SO_NETNS_COOKIE: libc::c_int = 71;

/// What the proxy needs to know about a sandboxee's socket.
pub(super) struct SocketInfo {
    pub(super) domain: i32,
    pub(super) ty: i32,
    protocol: i32,
    pub(super) fd: RawFd,
}

impl SocketInfo {
    pub(super) fn of(sock: &OwnedFd) -> Option<SocketInfo> {
        let fd = sock.as_raw_fd();
        let domain = getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_DOMAIN)?;
        let ty = getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_TYPE)?;
        let protocol = getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_PROTOCOL)?;
        Some(SocketInfo {
            domain,
            ty,
            protocol,
            fd,
        })
    }

    /// Stream sockets the proxy connects on the host: TCP, and unix stream and seqpacket.
    pub(super) fn is_stream(&self) -> bool {
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
    pub(super) fn is_local(&self) -> bool {
        match (netns_cookie(self.fd), host_netns_cookie()) {
            (Some(s), Some(h)) => s != h,
            _ => false,
        }
    }
}

pub(super) fn family_fits(domain: i32, target: &Target) -> bool {
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

pub(super) fn has_peer(fd: RawFd) -> bool {
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
pub(super) fn connect_local(sock: &OwnedFd, addr: &[u8]) -> i32 {
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

/// `openat2(dir, path, O_PATH, resolve)`: the fd or the errno.
pub(super) fn open_path(dir: RawFd, path: &[u8], resolve: u64) -> Result<OwnedFd, i32> {
    crate::sys::remote::openat2(dir, path, libc::O_PATH, resolve)
}

pub(super) fn is_socket(fd: &OwnedFd) -> bool {
    // SAFETY: stat is plain data; fstat writes one.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    unsafe {
        libc::fstat(fd.as_raw_fd(), &mut st) == 0 && st.st_mode & libc::S_IFMT == libc::S_IFSOCK
    }
}

/// `connect(fd, bytes)`: 0 or the errno.
pub(super) fn connect_errno(fd: RawFd, bytes: &[u8]) -> i32 {
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

pub(super) struct HostSocket {
    pub(super) sock: OwnedFd,
    /// The connect's result: 0 (connected) or its errno; `None` while it is still going.
    pub(super) result: Option<i32>,
}

pub(super) enum HostFail {
    Denied(&'static str),
    Errno(i32),
}

/// A non-blocking socket of the host's, like the sandboxee's, connected (or connecting) to
/// `target`.
pub(super) fn host_socket(
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
    let result = match target {
        Target::UnixPath(path) => {
            let dir = open_socket_path(path)?;
            let via = format!("/proc/self/fd/{}", dir.as_raw_fd());
            connect_now(fd, &unix_sockaddr(via.as_bytes()))
        }
        _ => connect_now(fd, bytes),
    };
    Ok(HostSocket { sock, result })
}

/// Connects our non-blocking socket `fd` to `addr`: 0 or the errno, or `None` while it is still
/// going. A connect to a local listener is done by the time the call returns EINPROGRESS, so
/// that is asked at once (not at a wake-up), by connecting again to the same address: one call
/// instead of poll and SO_ERROR. Linux answers 0 (EISCONN after that) once the socket is
/// connected, EALREADY while it is connecting, and the connect's error once it failed.
fn connect_now(fd: RawFd, addr: &[u8]) -> Option<i32> {
    match connect_errno(fd, addr) {
        libc::EINPROGRESS => match connect_errno(fd, addr) {
            0 | libc::EISCONN => Some(0),
            libc::EALREADY | libc::EINPROGRESS => None,
            e => Some(e),
        },
        e => Some(e),
    }
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

pub(super) fn unix_sockaddr(path: &[u8]) -> Vec<u8> {
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

/// `/proc/TID/fdinfo`, open.
pub(super) fn open_fdinfo_dir(tid: libc::pid_t) -> Option<OwnedFd> {
    let path = std::ffi::CString::new(format!("/proc/{tid}/fdinfo")).ok()?;
    // SAFETY: a NUL-terminated path; the result is checked.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    // SAFETY: a fresh fd owned by nobody else.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

/// fd `fd`'s entry in an open fdinfo directory, open.
pub(super) fn open_fdinfo(dir: RawFd, fd: i32) -> Option<OwnedFd> {
    let name = std::ffi::CString::new(fd.to_string()).ok()?;
    // SAFETY: a NUL-terminated name relative to our open directory; the result is checked.
    let f = unsafe { libc::openat(dir, name.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    // SAFETY: a fresh fd owned by nobody else.
    (f >= 0).then(|| unsafe { OwnedFd::from_raw_fd(f) })
}

/// The `flags:` field (octal) of an open fdinfo entry, as it is now (read at offset 0, which
/// shows it anew).
pub(super) fn read_fdinfo_flags(entry: RawFd) -> Option<i64> {
    let mut buf = [0u8; 256];
    // SAFETY: reading into our live buffer.
    let n = unsafe { libc::pread(entry, buf.as_mut_ptr().cast(), buf.len(), 0) };
    let text = std::str::from_utf8(&buf[..usize::try_from(n).ok()?]).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|v| i64::from_str_radix(v.trim(), 8).ok())
}

/// Clears O_NONBLOCK on a socket of ours whose status flags are O_NONBLOCK alone (what
/// [`host_socket`] makes): one call, without reading them first.
pub(super) fn set_blocking(fd: RawFd) {
    // SAFETY: F_SETFL on our own fd.
    unsafe { libc::fcntl(fd, libc::F_SETFL, 0) };
}

pub(super) fn set_nonblock(fd: RawFd, on: bool) {
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
pub(super) fn writable_now(fd: RawFd) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one live pollfd, no timeout.
    unsafe { libc::poll(&mut p, 1, 0) > 0 }
}

/// `SO_ERROR` of a socket whose connect finished: 0 when it connected.
pub(super) fn so_error(fd: RawFd) -> i32 {
    getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_ERROR).unwrap_or(libc::EIO)
}
