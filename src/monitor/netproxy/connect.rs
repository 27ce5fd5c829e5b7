//! One `connect` notification, steps 1 to 4 of the module's list: the call's arguments, the
//! copy of the address (`process_vm_readv`), the sandboxee's socket (`pidfd_getfd`), the
//! decision, and the connects made on the sandboxee's own socket (datagram and raw sockets of
//! its namespace, unix paths the list does not name, looked up in its own view).

#![allow(unsafe_code)]

use super::socket::{
    connect_errno, connect_local, family_fits, has_peer, host_socket, is_socket, open_path,
    unix_sockaddr, HostFail, SocketInfo,
};
use super::{id_valid, install, last_errno, Answer, Pending, Proxy, Task};
use crate::monitor::epoll::{Epoll, Source};
use crate::policy::net::Target;
use crate::result::DeniedConnect;
use crate::sys::remote::read_memory;
use crate::sys::seccomp as uapi;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Largest `sockaddr` a connect may pass (`struct sockaddr_storage`).
const SOCKADDR_MAX: usize = 128;

/// The notification's call: `connect(fd, addr, len)`.
struct Call {
    id: u64,
    pid: libc::pid_t,
    fd: i32,
    addr: u64,
    len: usize,
}

impl Proxy {
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
        // Step 1: the task and the address, once. The pidfd (kept from an earlier connect of
        // the task's, or opened now) and the copy are the waiting task's if the notification is
        // still valid after both.
        let mut task = match self.take_task(call.pid) {
            Ok(t) => t,
            Err(libc::ESRCH) => return Answer::Done,
            // A thread on a kernel without PIDFD_THREAD: its socket cannot be fetched, so the
            // call fails (it must not wait for an answer that never comes).
            Err(_) => return Answer::Reply(libc::EACCES),
        };
        let answer = self.connect_task(listener, &call, &mut task, epoll);
        // Kept even if it is gone: its pidfd then fails, and the entry is made anew.
        self.keep(task);
        answer
    }

    /// [`Proxy::on_connect`] for the task `task` (taken out of the kept ones).
    fn connect_task(
        &mut self,
        listener: RawFd,
        call: &Call,
        task: &mut Task,
        epoll: &Epoll,
    ) -> Answer {
        let read = read_memory(call.pid, call.addr, call.len);
        if !id_valid(listener, call.id) {
            return Answer::Done;
        }
        let Ok(bytes) = read else {
            return Answer::Reply(libc::EFAULT);
        };
        let target = Target::from_sockaddr(&bytes);
        // Step 2: the socket.
        let sock = match fetch_socket(&task.pidfd, call.fd) {
            Ok(s) => s,
            Err(Fetch::Gone) if !task.fresh => {
                // The kept pidfd's task is gone: the tid is another task's now. Open it anew,
                // checked against the notification again.
                *task = match Task::open(call.pid) {
                    Ok(t) => t,
                    Err(libc::ESRCH) => return Answer::Done,
                    Err(_) => return Answer::Reply(libc::EACCES),
                };
                if !id_valid(listener, call.id) {
                    return Answer::Done;
                }
                match fetch_socket(&task.pidfd, call.fd) {
                    Ok(s) => s,
                    Err(Fetch::Gone) => return Answer::Done,
                    Err(Fetch::Errno(e)) => return Answer::Reply(e),
                }
            }
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
                    Answer::Reply(connect_in_view(listener, call, &sock, path))
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
        let (newfd_flags, nonblock) = task.fd_flags(call.fd, &sock);
        let p = Pending {
            id: call.id,
            fd: newfd,
            sock: host.sock,
            newfd_flags,
            nonblock,
        };
        match host.result {
            Some(0) => {
                install(listener, p);
                Answer::Done
            }
            Some(e) => Answer::Reply(e),
            None => {
                if epoll
                    .add_out(p.sock.as_raw_fd(), self.job, Source::Connect)
                    .is_err()
                {
                    return Answer::Reply(libc::ENOMEM);
                }
                self.pending.push(p);
                Answer::Pending
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
