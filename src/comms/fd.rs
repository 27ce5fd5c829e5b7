//! The channel's system calls: `sendmsg`/`recvmsg` with `SCM_RIGHTS` and `SCM_CREDENTIALS`, a
//! bounds-checked parser of the control messages the kernel returns, and socket options.
//!
//! Every read of the channel goes through [`recv_chunk`], so descriptors that arrive anywhere in
//! the stream end up as [`OwnedFd`]s that the caller either hands out or drops (closes). None can
//! stay behind in the descriptor table unseen.

// Audited unsafe: sendmsg/recvmsg control messages and the fds they carry.
#![allow(unsafe_code)]

use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use super::Creds;

/// Descriptors accepted per read. A well-behaved peer sends one per fd message; the kernel
/// discards (closes) what does not fit and reports `MSG_CTRUNC`.
pub(crate) const MAX_FDS_PER_READ: usize = 8;

/// `SCM_PIDFD` (Linux 6.5): a pidfd the kernel installs when `SO_PASSPIDFD` is set. The channel
/// never sets that option, but a descriptor is a descriptor: if one arrives it is closed.
const SCM_PIDFD: libc::c_int = 4;

const HDR: usize = size_of::<libc::cmsghdr>();

/// `CMSG_ALIGN`: the kernel aligns control messages to `size_t`.
const fn cmsg_align(n: usize) -> usize {
    (n + size_of::<usize>() - 1) & !(size_of::<usize>() - 1)
}

/// `CMSG_SPACE`: bytes one control message with `n` data bytes occupies, padding included.
const fn cmsg_space(n: usize) -> usize {
    cmsg_align(HDR) + cmsg_align(n)
}

/// `CMSG_LEN`: the `cmsg_len` of a control message with `n` data bytes.
const fn cmsg_len(n: usize) -> usize {
    cmsg_align(HDR) + n
}

const CONTROL_LEN: usize =
    cmsg_space(size_of::<libc::ucred>()) + cmsg_space(MAX_FDS_PER_READ * size_of::<RawFd>());

/// Control buffer aligned for `cmsghdr` (whose `cmsg_len` is a `size_t`).
#[repr(C, align(8))]
struct ControlBuf([u8; CONTROL_LEN]);

/// What one control buffer held, descriptors aside (those go to a callback).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ControlSummary {
    pub creds: Option<Creds>,
    /// More than one credentials message, and they disagree.
    pub creds_conflict: bool,
}

/// Walks the control messages in `buf` (exactly the bytes the kernel reported in
/// `msg_controllen`), calling `on_fd` for every descriptor number found in `SCM_RIGHTS` or
/// `SCM_PIDFD` data.
///
/// Never reads outside `buf`, whatever the lengths inside claim: a `cmsg_len` below the header
/// size stops the walk (it cannot be stepped over safely), a `cmsg_len` beyond the buffer is
/// clipped to it (the kernel writes the full length on `MSG_CTRUNC` but copies less), and data is
/// consumed in whole descriptors only. Pure apart from the callback, so it can be fuzzed.
pub(crate) fn parse_control(buf: &[u8], mut on_fd: impl FnMut(RawFd)) -> ControlSummary {
    let mut summary = ControlSummary::default();
    let mut off = 0usize;
    while buf.len().saturating_sub(off) >= HDR {
        let hdr = read_cmsghdr(&buf[off..off + HDR]);
        // `cmsg_len` is a size_t with glibc but a socklen_t with musl: the cast is needed there.
        #[allow(clippy::unnecessary_cast)]
        let claimed = hdr.cmsg_len as usize;
        if claimed < HDR {
            break;
        }
        let end = off.saturating_add(claimed).min(buf.len());
        let data = &buf[(off + cmsg_align(HDR)).min(end)..end];
        if hdr.cmsg_level == libc::SOL_SOCKET {
            match hdr.cmsg_type {
                libc::SCM_RIGHTS | SCM_PIDFD => {
                    for raw in data.chunks_exact(size_of::<RawFd>()) {
                        on_fd(RawFd::from_ne_bytes([raw[0], raw[1], raw[2], raw[3]]));
                    }
                }
                libc::SCM_CREDENTIALS if data.len() >= size_of::<libc::ucred>() => {
                    let c = read_ucred(data);
                    let c = Creds {
                        pid: c.pid,
                        uid: c.uid,
                        gid: c.gid,
                    };
                    match summary.creds {
                        None => summary.creds = Some(c),
                        Some(prev) if prev != c => summary.creds_conflict = true,
                        Some(_) => {}
                    }
                }
                _ => {}
            }
        }
        // Step to the next message; a length so large that aligning it overflows ends the walk.
        let step = claimed
            .checked_add(size_of::<usize>() - 1)
            .map(|v| v & !(size_of::<usize>() - 1));
        match step.and_then(|s| off.checked_add(s)) {
            Some(next) => off = next,
            None => break,
        }
    }
    summary
}

fn read_cmsghdr(bytes: &[u8]) -> libc::cmsghdr {
    debug_assert!(bytes.len() >= HDR);
    // SAFETY: `bytes` holds at least size_of::<cmsghdr>() bytes (checked by the caller), the read
    // is unaligned-tolerant, and cmsghdr is plain integers, valid for any bit pattern.
    unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<libc::cmsghdr>()) }
}

fn read_ucred(bytes: &[u8]) -> libc::ucred {
    debug_assert!(bytes.len() >= size_of::<libc::ucred>());
    // SAFETY: `bytes` holds at least size_of::<ucred>() bytes (checked by the caller), the read is
    // unaligned-tolerant, and ucred is plain integers, valid for any bit pattern.
    unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<libc::ucred>()) }
}

fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// The outcome of one `recvmsg`.
#[derive(Debug)]
pub(crate) struct Chunk {
    /// Payload bytes read; 0 means end of stream.
    pub n: usize,
    /// Every descriptor that arrived, already owned (dropping closes it).
    pub fds: Vec<OwnedFd>,
    pub control: ControlSummary,
    /// `MSG_CTRUNC`: the kernel dropped ancillary data that did not fit.
    pub ctrunc: bool,
}

/// One `recvmsg` into `buf` with room for credentials and [`MAX_FDS_PER_READ`] descriptors,
/// `MSG_CMSG_CLOEXEC` so no received descriptor can leak into a concurrently spawned child.
/// Retries `EINTR`; any other failure returns the errno.
pub(crate) fn recv_chunk(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<Chunk, i32> {
    let mut control = ControlBuf([0u8; CONTROL_LEN]);
    loop {
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: msghdr is plain data; all-zero is a valid empty header that we fill below.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.0.as_mut_ptr().cast();
        msg.msg_controllen = CONTROL_LEN as _;
        // SAFETY: msg points at one iovec covering `buf` and at `control`, both live and
        // writable for the duration of the call with the lengths given.
        let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n < 0 {
            let e = errno();
            if e == libc::EINTR {
                continue;
            }
            return Err(e);
        }
        let clen = (msg.msg_controllen as usize).min(CONTROL_LEN);
        let mut fds = Vec::new();
        let control = parse_control(&control.0[..clen], |raw| {
            if raw >= 0 {
                // SAFETY: the kernel has just installed this descriptor in our table for this
                // message; nothing else in the process knows its number, so we are its only
                // owner.
                fds.push(unsafe { OwnedFd::from_raw_fd(raw) });
            }
        });
        return Ok(Chunk {
            // Not negative: checked above.
            n: n.unsigned_abs(),
            fds,
            control,
            ctrunc: msg.msg_flags & libc::MSG_CTRUNC != 0,
        });
    }
}

/// Ancillary data sent with the first byte of a message.
#[derive(Clone, Copy)]
pub(crate) enum Ancillary<'a> {
    None,
    Fd(BorrowedFd<'a>),
    Creds(Creds),
}

/// Writes all of `parts` with `sendmsg(MSG_NOSIGNAL)`, the ancillary data attached to the first
/// call that moves bytes. Retries `EINTR` and partial writes. On failure returns the errno and
/// how many bytes had been sent, which decides whether the stream is still in sync.
pub(crate) fn send_all(
    fd: BorrowedFd<'_>,
    parts: &[&[u8]],
    anc: Ancillary<'_>,
) -> Result<(), (i32, usize)> {
    let total: usize = parts.iter().map(|p| p.len()).sum();
    let mut sent = 0usize;
    let mut control = ControlBuf([0u8; CONTROL_LEN]);
    let control_len = fill_control(&mut control, anc);
    while sent < total {
        // Rebuild the iovecs past what has gone out already.
        let mut iovs: [libc::iovec; 2] = [libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        }; 2];
        let mut niov = 0;
        let mut skip = sent;
        for p in parts {
            if skip >= p.len() {
                skip -= p.len();
                continue;
            }
            if niov == iovs.len() {
                break;
            }
            let rest = &p[skip..];
            skip = 0;
            iovs[niov] = libc::iovec {
                iov_base: rest.as_ptr() as *mut _,
                iov_len: rest.len(),
            };
            niov += 1;
        }
        // SAFETY: msghdr is plain data; all-zero is a valid empty header that we fill below.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = iovs.as_mut_ptr();
        msg.msg_iovlen = niov as _;
        if sent == 0 && control_len > 0 {
            msg.msg_control = control.0.as_mut_ptr().cast();
            msg.msg_controllen = control_len as _;
        }
        // SAFETY: the iovecs point into `parts`, which outlive the call, and the kernel only reads
        // through them; the control buffer is live and `control_len` bytes of it are initialised.
        let n = unsafe { libc::sendmsg(fd.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
        if n < 0 {
            let e = errno();
            if e == libc::EINTR {
                continue;
            }
            return Err((e, sent));
        }
        sent += n.unsigned_abs(); // not negative: checked above
    }
    Ok(())
}

/// Writes one control message for `anc` into `buf`; returns its length (0 for none).
fn fill_control(buf: &mut ControlBuf, anc: Ancillary<'_>) -> usize {
    // Room for the larger payload, a ucred (pid, uid, gid: three 4-byte integers).
    let mut data = [0u8; size_of::<libc::ucred>()];
    let (ty, len) = match anc {
        Ancillary::None => return 0,
        Ancillary::Fd(fd) => {
            data[..4].copy_from_slice(&fd.as_raw_fd().to_ne_bytes());
            (libc::SCM_RIGHTS, 4)
        }
        Ancillary::Creds(c) => {
            data[0..4].copy_from_slice(&c.pid.to_ne_bytes());
            data[4..8].copy_from_slice(&c.uid.to_ne_bytes());
            data[8..12].copy_from_slice(&c.gid.to_ne_bytes());
            (libc::SCM_CREDENTIALS, 12)
        }
    };
    write_cmsg(&mut buf.0, libc::SOL_SOCKET, ty, &data[..len])
}

/// Encodes one control message at the start of `out`; returns `CMSG_SPACE(data.len())`.
pub(crate) fn write_cmsg(
    out: &mut [u8],
    level: libc::c_int,
    ty: libc::c_int,
    data: &[u8],
) -> usize {
    let space = cmsg_space(data.len());
    assert!(out.len() >= space, "control buffer too small");
    out[..space].fill(0);
    // SAFETY: cmsghdr is plain integers; all-zero is valid and the fields are set below.
    let mut hdr: libc::cmsghdr = unsafe { std::mem::zeroed() };
    hdr.cmsg_len = cmsg_len(data.len()) as _;
    hdr.cmsg_level = level;
    hdr.cmsg_type = ty;
    // SAFETY: `out` holds at least `space` >= size_of::<cmsghdr>() bytes (asserted above); the
    // write is unaligned-tolerant.
    unsafe { std::ptr::write_unaligned(out.as_mut_ptr().cast::<libc::cmsghdr>(), hdr) };
    out[cmsg_align(HDR)..cmsg_align(HDR) + data.len()].copy_from_slice(data);
    space
}

/// `socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC)`.
pub(crate) fn socketpair() -> Result<(OwnedFd, OwnedFd), i32> {
    let mut sv = [-1 as RawFd; 2];
    // SAFETY: `sv` is a writable array of two ints, as socketpair requires.
    let r = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
            sv.as_mut_ptr(),
        )
    };
    if r != 0 {
        return Err(errno());
    }
    // SAFETY: socketpair succeeded, so both numbers are fresh descriptors owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(sv[0]), OwnedFd::from_raw_fd(sv[1])) })
}

fn setsockopt<T>(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    val: &T,
) -> Result<(), i32> {
    // SAFETY: `val` is a live value of the size passed, which is what this option expects (the
    // callers pair each option with its C type).
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            std::ptr::from_ref::<T>(val).cast(),
            crate::sys::socklen_of::<T>(),
        )
    };
    if r != 0 {
        Err(errno())
    } else {
        Ok(())
    }
}

fn getsockopt<T: Copy>(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    init: T,
) -> Result<T, i32> {
    let mut val = init;
    let mut len = crate::sys::socklen_of::<T>();
    // SAFETY: `val` is a writable value of `len` bytes, of the C type this option returns (the
    // callers pair each option with its type); the kernel writes at most `len` bytes.
    let r = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            std::ptr::addr_of_mut!(val).cast(),
            &mut len,
        )
    };
    if r != 0 {
        Err(errno())
    } else {
        Ok(val)
    }
}

/// Turns `SO_PASSCRED` on or off (needed on the receiving side of [`Ancillary::Creds`]).
pub(crate) fn set_pass_cred(fd: BorrowedFd<'_>, on: bool) -> Result<(), i32> {
    setsockopt(
        fd,
        libc::SOL_SOCKET,
        libc::SO_PASSCRED,
        &libc::c_int::from(on),
    )
}

/// `SO_PEERCRED`: the credentials of whoever created the peer socket (for a socketpair, the
/// process that called `socketpair`).
pub(crate) fn peer_cred(fd: BorrowedFd<'_>) -> Result<Creds, i32> {
    let c = getsockopt(
        fd,
        libc::SOL_SOCKET,
        libc::SO_PEERCRED,
        libc::ucred {
            pid: 0,
            uid: 0,
            gid: 0,
        },
    )?;
    Ok(Creds {
        pid: c.pid,
        uid: c.uid,
        gid: c.gid,
    })
}

/// Checks that `fd` is an `AF_UNIX` `SOCK_STREAM` socket.
pub(crate) fn check_unix_stream(fd: BorrowedFd<'_>) -> Result<(), &'static str> {
    let domain = getsockopt(fd, libc::SOL_SOCKET, libc::SO_DOMAIN, 0 as libc::c_int)
        .map_err(|_| "not a socket")?;
    let ty = getsockopt(fd, libc::SOL_SOCKET, libc::SO_TYPE, 0 as libc::c_int)
        .map_err(|_| "not a socket")?;
    if domain != libc::AF_UNIX {
        return Err("not an AF_UNIX socket");
    }
    if ty != libc::SOCK_STREAM {
        return Err("not a SOCK_STREAM socket");
    }
    Ok(())
}

/// Sets both `SO_RCVTIMEO` and `SO_SNDTIMEO`; `None` (or zero) blocks forever.
pub(crate) fn set_timeouts(fd: BorrowedFd<'_>, t: Option<Duration>) -> Result<(), i32> {
    let t = t.unwrap_or(Duration::ZERO);
    let mut tv = libc::timeval {
        tv_sec: t.as_secs().try_into().unwrap_or(i64::MAX), // time_t: 64-bit on every target
        tv_usec: t.subsec_micros().into(),
    };
    if tv.tv_sec == 0 && tv.tv_usec == 0 && !t.is_zero() {
        // A sub-microsecond timeout would read as "forever"; round it up instead.
        tv.tv_usec = 1;
    }
    setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVTIMEO, &tv)?;
    setsockopt(fd, libc::SOL_SOCKET, libc::SO_SNDTIMEO, &tv)
}

/// Whether `fd` is an open descriptor of this process.
pub(crate) fn is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only reads the descriptor flags; an unknown number yields EBADF.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}
