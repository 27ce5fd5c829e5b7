//! How a sandbox watched by the user-notify monitor reaches the supervisor without ptrace.
//!
//! Two channels, both made before clone:
//! - **the listener**: the sandboxee installs its filter with `SECCOMP_FILTER_FLAG_NEW_LISTENER`
//!   and sends the listener fd over a socket pair (`SCM_RIGHTS`). Its end sits at a reserved fd
//!   number at or above the sandboxee's RLIMIT_NOFILE hard limit, close-on-exec; the filter lets
//!   `sendmsg` through on exactly that number (`policy::unotify_program`). After the exec the
//!   sandboxee can never hold that number again, so the rule opens nothing. The host end reports
//!   hang-up when every child copy is closed: the init closes its copy before its own exec, the
//!   sandboxee's closes at its exec (or its death), which tells the monitor that no child runs on
//!   the host's memory any more.
//! - **the init's pipe** (`init_image::unotify_memfd`): the init image writes one byte when it
//!   runs (it has left the host's memory, so the sandboxee's start exec may go on), then the
//!   sandboxee's wait status when the sandboxee (pid 2) ends, and exits, which ends the pid
//!   namespace. Its write end is fd [`INIT_STATUS_FD`] of the init image.

#![allow(unsafe_code)]

use crate::error::{Error, Result};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// The fd the init image writes its reports to.
pub(crate) const INIT_STATUS_FD: RawFd = 3;

/// The sandboxee's side of the listener hand-off, laid out before clone (the child writes the
/// listener's number into `cmsg` and calls sendmsg with `msg`; no allocation after clone).
#[repr(C)]
pub(crate) struct Handoff {
    /// The reserved fd number of the sandboxee's socket end.
    pub reserved_fd: RawFd,
    pub msg: libc::msghdr,
    iov: libc::iovec,
    byte: u8,
    /// One `cmsghdr` + one int, 8-byte aligned; written by the child after clone.
    cmsg: std::cell::UnsafeCell<[u64; 4]>,
    /// The sandboxee's socket end, at clone time (moved to `reserved_fd` by the child).
    pub child_end: Option<OwnedFd>,
    /// The supervisor's socket end.
    pub host_end: Option<OwnedFd>,
    /// The init pipe: the supervisor reads, the init writes.
    pub init_read: Option<OwnedFd>,
    pub init_write: Option<OwnedFd>,
}

// SAFETY: the raw pointers in `msg` and `iov` point into the same boxed Handoff.
unsafe impl Send for Handoff {}

impl Handoff {
    /// The socket pair and the pipe for one sandbox; `reserved_fd` as chosen by the plan.
    pub(crate) fn new(reserved_fd: RawFd) -> Result<Box<Handoff>> {
        let (host_end, child_end) = seqpacket_pair("socketpair(listener hand-off)")?;
        let mut p = [-1; 2];
        // SAFETY: pipe2 writes two fds into `p`.
        if unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
            return Err(Error::last_os("pipe2(init status)"));
        }
        // SAFETY: fresh fds owned by nobody else.
        let (init_read, init_write) =
            unsafe { (OwnedFd::from_raw_fd(p[0]), OwnedFd::from_raw_fd(p[1])) };
        // The write end blocks: the init's two small writes always fit in the pipe.
        // SAFETY: fcntl on our own fd.
        unsafe { libc::fcntl(init_write.as_raw_fd(), libc::F_SETFL, 0) };
        // SAFETY: msghdr is plain data; all-zero is valid before the fields are set.
        let msg: libc::msghdr = unsafe { std::mem::zeroed() };
        let mut h = Box::new(Handoff {
            reserved_fd,
            msg,
            iov: libc::iovec {
                iov_base: std::ptr::null_mut(),
                iov_len: 1,
            },
            byte: b'L',
            cmsg: std::cell::UnsafeCell::new([0; 4]),
            child_end: Some(child_end),
            host_end: Some(host_end),
            init_read: Some(init_read),
            init_write: Some(init_write),
        });
        // Point the message into the box (its contents never move).
        h.iov.iov_base = std::ptr::addr_of_mut!(h.byte).cast();
        h.msg.msg_iov = std::ptr::addr_of_mut!(h.iov);
        h.msg.msg_iovlen = 1;
        h.msg.msg_control = h.cmsg.get().cast();
        // SAFETY: CMSG_SPACE/CMSG_LEN are pure computations.
        h.msg.msg_controllen = crate::sys::msg_len_field(unsafe { libc::CMSG_SPACE(4) } as usize);
        // SAFETY: cmsghdr is plain data (musl's has padding fields: hence no literal).
        let mut hdr: libc::cmsghdr = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        hdr.cmsg_len = crate::sys::msg_len_field(unsafe { libc::CMSG_LEN(4) } as usize);
        hdr.cmsg_level = libc::SOL_SOCKET;
        hdr.cmsg_type = libc::SCM_RIGHTS;
        // SAFETY: `cmsg` is 32 bytes, 8-aligned: room for the header and one int.
        unsafe { std::ptr::write(h.cmsg.get().cast::<libc::cmsghdr>(), hdr) };
        Ok(h)
    }

    /// The child's end before clone (the source of its move to `reserved_fd`).
    pub(crate) fn child_end_fd(&self) -> RawFd {
        self.child_end.as_ref().map_or(-1, AsRawFd::as_raw_fd)
    }

    /// The init pipe's write end before clone.
    pub(crate) fn init_write_fd(&self) -> RawFd {
        self.init_write.as_ref().map_or(-1, AsRawFd::as_raw_fd)
    }

    /// Called by the child (raw, after clone): puts `fd` into the message's SCM_RIGHTS slot.
    ///
    /// # Safety
    /// Only the one child of this plan may call it, and nothing else may touch the message
    /// until that child has exec'd or ended.
    pub(crate) unsafe fn set_fd(&self, fd: i32) {
        // SAFETY: per the contract; CMSG_DATA of our own header lies inside `cmsg`.
        unsafe {
            let hdr = self.cmsg.get().cast::<libc::cmsghdr>();
            std::ptr::write_unaligned(libc::CMSG_DATA(hdr).cast::<i32>(), fd);
        }
    }

    /// After clone: the host's copies of the children's ends go, so that the supervisor's ends
    /// report hang-up when the children's copies close.
    pub(crate) fn close_child_ends(&mut self) {
        self.child_end = None;
        self.init_write = None;
    }
}

/// A close-on-exec `SOCK_SEQPACKET` unix socket pair (host end, child end); `what` names it in
/// the error.
pub(crate) fn seqpacket_pair(what: &'static str) -> Result<(OwnedFd, OwnedFd)> {
    let mut sv = [-1; 2];
    // SAFETY: socketpair writes two fds into `sv`.
    if unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            sv.as_mut_ptr(),
        )
    } != 0
    {
        return Err(Error::last_os(what));
    }
    // SAFETY: fresh fds owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(sv[0]), OwnedFd::from_raw_fd(sv[1])) })
}

/// Receives the listener the sandboxee sent over `sock` (non-blocking). `Ok(None)`: nothing yet.
pub(crate) fn recv_listener(sock: RawFd) -> std::io::Result<Option<OwnedFd>> {
    let mut byte = 0u8;
    let mut iov = libc::iovec {
        iov_base: std::ptr::addr_of_mut!(byte).cast(),
        iov_len: 1,
    };
    let mut cmsg = [0u64; 4];
    // SAFETY: msghdr is plain data; the pointers set below are live for the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cmsg.as_mut_ptr().cast();
    msg.msg_controllen = crate::sys::msg_len_field(std::mem::size_of_val(&cmsg));
    // SAFETY: recvmsg into our live buffers.
    let n = unsafe { libc::recvmsg(sock, &mut msg, libc::MSG_DONTWAIT | libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        let e = std::io::Error::last_os_error();
        return if e.raw_os_error() == Some(libc::EAGAIN) {
            Ok(None)
        } else {
            Err(e)
        };
    }
    if n == 0 {
        return Err(std::io::Error::from_raw_os_error(libc::EPIPE));
    }
    // SAFETY: the kernel filled `msg`; the CMSG macros stay inside `cmsg`.
    unsafe {
        let hdr = libc::CMSG_FIRSTHDR(&msg);
        if hdr.is_null()
            || (*hdr).cmsg_level != libc::SOL_SOCKET
            || (*hdr).cmsg_type != libc::SCM_RIGHTS
            || crate::sys::msg_len((*hdr).cmsg_len) < libc::CMSG_LEN(4) as usize
        {
            return Err(std::io::Error::from_raw_os_error(libc::EPROTO));
        }
        let fd = std::ptr::read_unaligned(libc::CMSG_DATA(hdr).cast::<i32>());
        Ok(Some(OwnedFd::from_raw_fd(fd)))
    }
}
