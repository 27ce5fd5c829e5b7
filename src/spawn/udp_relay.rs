//! The sandbox's side of the UDP relay (`udp:` entries of a network allow-list; the supervisor's
//! side is `monitor/udp_relay.rs`).
//!
//! Laid out before clone, replayed by the init (`ns_child/`, step 8, after `lo` is up) with
//! raw syscalls:
//! 1. every entry address that the sandbox's `lo` lacks (anything but 127.0.0.0/8 and `::1`)
//!    is added to it as /32 or /128 (`RTM_NEWADDR` over rtnetlink; the messages are built
//!    here), so that a datagram to it is local instead of unroutable;
//! 2. one UDP socket per entry is bound to the entry's address and port in the sandbox's
//!    network namespace (the init is root of the sandbox's user namespace, which owns that
//!    network namespace: ports below 1024 bind too);
//! 3. all of them travel to the supervisor in one `SCM_RIGHTS` message over a socket pair of
//!    their own, and the init closes its copies before it starts the sandboxee, which never holds
//!    one.
//!
//! Why the init: the supervisor cannot enter the sandbox's network namespace on one of its
//! threads without `CAP_SYS_ADMIN` in its own user namespace too (`setns(2)`), which an
//! unprivileged caller lacks, and a thread of a multithreaded process cannot join the sandbox's
//! user namespace. The init already holds every capability there.

#![allow(unsafe_code)]
// The raw syscall ABI: arguments are u64 registers and results c_long; fds and lengths cross it
// by the ABI's own conversions. No value converted here comes from the sandboxee.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

use crate::error::{Error, Result};
use crate::policy::net::NetPolicy;
use crate::sys::raw::syscall;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Items of `Step::Network` failures at or above this are the relay's (the loopback's are 0..3):
/// `ITEM_BASE + i` adding entry i's address, `ITEM_BASE + BIND + i` its socket, and
/// `ITEM_BASE + SEND` the hand-off.
pub(crate) const ITEM_BASE: usize = 1000;
const BIND: usize = 1000;
const SEND: usize = 2000;

/// `ifindex` of `lo` in every network namespace (the kernel's `LOOPBACK_IFINDEX`).
const LOOPBACK_IFINDEX: u32 = 1;
/// `IFA_F_NODAD`: no duplicate address detection (an IPv6 address is usable at once).
const IFA_F_NODAD: u8 = 0x02;

/// One `udp:` entry as the init binds it.
struct Entry {
    addr: SocketAddr,
    family: i32,
    /// `struct sockaddr_in` or `sockaddr_in6`.
    sockaddr: Vec<u8>,
}

/// What the init needs for the relay, and the supervisor's end of its hand-off.
pub(crate) struct RelayPlan {
    entries: Vec<Entry>,
    /// `RTM_NEWADDR` requests and the entry each one is for.
    addr_msgs: Vec<(Vec<u8>, usize)>,
    /// The init's end, by number (the init reads only this after clone).
    child_fd: RawFd,
    child_end: Option<OwnedFd>,
    host_end: Option<OwnedFd>,
    msg: libc::msghdr,
    iov: libc::iovec,
    byte: u8,
    /// The control message: one `cmsghdr` and one int per entry, 8-byte aligned; the init writes
    /// the fds.
    cmsg: std::cell::UnsafeCell<Vec<u64>>,
}

impl RelayPlan {
    /// The relay of `net`'s `udp:` entries, `None` when it has none.
    pub(crate) fn new(net: &NetPolicy) -> Result<Option<Box<RelayPlan>>> {
        let addrs: Vec<SocketAddr> = net.udp().collect();
        if addrs.is_empty() {
            return Ok(None);
        }
        let mut entries = Vec::with_capacity(addrs.len());
        let mut addr_msgs: Vec<(Vec<u8>, usize)> = Vec::new();
        let mut added: Vec<IpAddr> = Vec::new();
        for (i, a) in addrs.iter().enumerate() {
            let (family, sockaddr) = sockaddr_bytes(*a);
            entries.push(Entry {
                addr: *a,
                family,
                sockaddr,
            });
            if !a.ip().is_loopback() && !added.contains(&a.ip()) {
                added.push(a.ip());
                let seq = u32::try_from(i + 1).unwrap_or(u32::MAX);
                addr_msgs.push((newaddr_msg(a.ip(), seq), i));
            }
        }
        let (host_end, child_end) =
            super::handoff::seqpacket_pair("socketpair(udp relay hand-off)")?;
        let fds_len = 4 * u32::try_from(entries.len())
            .map_err(|_| Error::invalid("too many udp: entries"))?;
        // SAFETY: CMSG_SPACE/CMSG_LEN are pure computations.
        let (space, len) = unsafe { (libc::CMSG_SPACE(fds_len), libc::CMSG_LEN(fds_len)) };
        let words = (space as usize).div_ceil(8);
        // SAFETY: msghdr is plain data; all-zero is valid before the fields are set.
        let msg: libc::msghdr = unsafe { std::mem::zeroed() };
        let mut p = Box::new(RelayPlan {
            entries,
            addr_msgs,
            child_fd: child_end.as_raw_fd(),
            child_end: Some(child_end),
            host_end: Some(host_end),
            msg,
            iov: libc::iovec {
                iov_base: std::ptr::null_mut(),
                iov_len: 1,
            },
            byte: b'R',
            cmsg: std::cell::UnsafeCell::new(vec![0u64; words]),
        });
        // Point the message into the box (its contents never move; the Vec is never resized).
        p.iov.iov_base = std::ptr::addr_of_mut!(p.byte).cast();
        p.msg.msg_iov = std::ptr::addr_of_mut!(p.iov);
        p.msg.msg_iovlen = 1;
        let buf = p.cmsg.get_mut();
        p.msg.msg_control = buf.as_mut_ptr().cast();
        p.msg.msg_controllen = crate::sys::msg_len_field(space as usize);
        // SAFETY: cmsghdr is plain data (musl's has padding fields: hence no literal).
        let mut hdr: libc::cmsghdr = unsafe { std::mem::zeroed() };
        hdr.cmsg_len = crate::sys::msg_len_field(len as usize);
        hdr.cmsg_level = libc::SOL_SOCKET;
        hdr.cmsg_type = libc::SCM_RIGHTS;
        // SAFETY: the buffer holds CMSG_SPACE(4 * n) bytes, 8-aligned: room for the header.
        unsafe { std::ptr::write(p.cmsg.get_mut().as_mut_ptr().cast::<libc::cmsghdr>(), hdr) };
        Ok(Some(p))
    }

    /// The entries' addresses, in the order their sockets arrive.
    pub(crate) fn addrs(&self) -> Vec<SocketAddr> {
        self.entries.iter().map(|e| e.addr).collect()
    }

    /// After clone: the host's copy of the init's end goes, and the supervisor takes its own.
    pub(crate) fn take_host_end(&mut self) -> Option<OwnedFd> {
        self.child_end = None;
        self.host_end.take()
    }

    /// What a `Step::Network` failure with this item means, when it is the relay's.
    pub(crate) fn describe_failure(&self, item: usize) -> Option<String> {
        let i = item.checked_sub(ITEM_BASE)?;
        if i == SEND {
            return Some("handing the udp relay sockets to the supervisor".into());
        }
        if let Some(e) = i.checked_sub(BIND).and_then(|k| self.entries.get(k)) {
            return Some(format!(
                "binding the udp relay socket at {} in the sandbox's network namespace",
                e.addr
            ));
        }
        let e = self.entries.get(i)?;
        Some(format!(
            "adding {} to the sandbox's lo for the udp: entry {}",
            e.addr.ip(),
            e.addr
        ))
    }
}

/// `addr` as a `struct sockaddr_in`/`sockaddr_in6`, and its family.
pub(crate) fn sockaddr_bytes(addr: SocketAddr) -> (i32, Vec<u8>) {
    match addr {
        SocketAddr::V4(a) => {
            let mut b = vec![0u8; std::mem::size_of::<libc::sockaddr_in>()];
            b[..2].copy_from_slice(&crate::sys::family(libc::AF_INET).to_ne_bytes());
            b[2..4].copy_from_slice(&a.port().to_be_bytes());
            b[4..8].copy_from_slice(&a.ip().octets());
            (libc::AF_INET, b)
        }
        SocketAddr::V6(a) => {
            let mut b = vec![0u8; std::mem::size_of::<libc::sockaddr_in6>()];
            b[..2].copy_from_slice(&crate::sys::family(libc::AF_INET6).to_ne_bytes());
            b[2..4].copy_from_slice(&a.port().to_be_bytes());
            b[8..24].copy_from_slice(&a.ip().octets());
            (libc::AF_INET6, b)
        }
    }
}

/// An `RTM_NEWADDR` request adding `ip` (/32 or /128) to `lo`, asking for an acknowledgement.
fn newaddr_msg(ip: IpAddr, seq: u32) -> Vec<u8> {
    let (family, prefix, octets) = match ip {
        IpAddr::V4(a) => (libc::AF_INET, 32u8, a.octets().to_vec()),
        IpAddr::V6(a) => (libc::AF_INET6, 128u8, a.octets().to_vec()),
    };
    // 4 + 4 or 4 + 16 bytes: a multiple of 4, no padding.
    let rta_len = 4 + octets.len();
    let len = 16 + 8 + 2 * rta_len;
    let flags = libc::NLM_F_REQUEST | libc::NLM_F_ACK | libc::NLM_F_CREATE;
    let mut m = Vec::with_capacity(len);
    m.extend_from_slice(&(len as u32).to_ne_bytes());
    m.extend_from_slice(&libc::RTM_NEWADDR.to_ne_bytes());
    m.extend_from_slice(&(flags as u16).to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    // struct ifaddrmsg: family, prefix length, flags, scope (universe), index.
    m.extend_from_slice(&[family as u8, prefix, IFA_F_NODAD, 0]);
    m.extend_from_slice(&LOOPBACK_IFINDEX.to_ne_bytes());
    for ty in [libc::IFA_LOCAL, libc::IFA_ADDRESS] {
        m.extend_from_slice(&(rta_len as u16).to_ne_bytes());
        m.extend_from_slice(&ty.to_ne_bytes());
        m.extend_from_slice(&octets);
    }
    m
}

/// The init's part, between clone and exec (raw syscalls, no allocation, no panic): the
/// addresses, the bound sockets, the hand-off, then its copies closed. `Err((-errno, item))`
/// names what failed (see [`RelayPlan::describe_failure`]).
///
/// # Safety
/// Only the init of the plan holding `relay` may call it, once, in the sandbox's network
/// namespace, before it starts the sandboxee.
pub(crate) unsafe fn start_in_init(relay: &RelayPlan) -> core::result::Result<(), (i64, usize)> {
    // SAFETY: per the contract; every pointer below points into the plan or our stack.
    unsafe {
        if !relay.addr_msgs.is_empty() {
            let nl = syscall(
                libc::SYS_socket,
                &[
                    libc::AF_NETLINK as u64,
                    (libc::SOCK_RAW | libc::SOCK_CLOEXEC) as u64,
                    libc::NETLINK_ROUTE as u64,
                ],
            );
            if nl < 0 {
                return Err((nl, ITEM_BASE));
            }
            for (m, entry) in &relay.addr_msgs {
                let r = add_address(nl, m);
                if r < 0 {
                    syscall(libc::SYS_close, &[nl as u64]);
                    return Err((r, ITEM_BASE + entry));
                }
            }
            syscall(libc::SYS_close, &[nl as u64]);
        }
        let data = libc::CMSG_DATA((*relay.cmsg.get()).as_ptr().cast::<libc::cmsghdr>());
        for (i, e) in relay.entries.iter().enumerate() {
            let s = syscall(
                libc::SYS_socket,
                &[
                    e.family as u64,
                    (libc::SOCK_DGRAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK) as u64,
                    0,
                ],
            );
            if s < 0 {
                return Err((s, ITEM_BASE + BIND + i));
            }
            // Inside the control buffer: it has room for one int per entry.
            std::ptr::write_unaligned(data.add(4 * i).cast::<i32>(), s as i32);
            let r = syscall(
                libc::SYS_bind,
                &[
                    s as u64,
                    e.sockaddr.as_ptr() as u64,
                    e.sockaddr.len() as u64,
                ],
            );
            if r < 0 {
                return Err((r, ITEM_BASE + BIND + i));
            }
        }
        let r = syscall(
            libc::SYS_sendmsg,
            &[
                relay.child_fd as u64,
                std::ptr::addr_of!(relay.msg) as u64,
                libc::MSG_NOSIGNAL as u64,
            ],
        );
        if r < 0 {
            return Err((r, ITEM_BASE + SEND));
        }
        // The supervisor holds them now; the sandboxee must never inherit one.
        for i in 0..relay.entries.len() {
            let fd = std::ptr::read_unaligned(data.add(4 * i).cast::<i32>());
            syscall(libc::SYS_close, &[fd as u64]);
        }
        syscall(libc::SYS_close, &[relay.child_fd as u64]);
        Ok(())
    }
}

/// Sends one `RTM_NEWADDR` request on netlink socket `nl` and reads its acknowledgement:
/// 0, or the negative errno (an address `lo` already has counts as done).
unsafe fn add_address(nl: i64, m: &[u8]) -> i64 {
    // struct sockaddr_nl of the kernel: family, pad, pid 0, groups 0.
    let mut kernel = [0u16; 6];
    kernel[0] = libc::AF_NETLINK as u16;
    // SAFETY: `m`, `kernel` and `buf` outlive the calls that read or fill them.
    unsafe {
        let r = syscall(
            libc::SYS_sendto,
            &[
                nl as u64,
                m.as_ptr() as u64,
                m.len() as u64,
                0,
                kernel.as_ptr() as u64,
                12,
            ],
        );
        if r < 0 {
            return r;
        }
        // nlmsghdr (16 bytes), then nlmsgerr's error (i32) and the request's header.
        let mut buf = [0u32; 32];
        let n = syscall(
            libc::SYS_recvfrom,
            &[nl as u64, buf.as_mut_ptr() as u64, 128, 0, 0, 0],
        );
        if n < 0 {
            return n;
        }
        if n < 20 || (buf[1] & 0xffff) as i32 != libc::NLMSG_ERROR {
            return -i64::from(libc::EPROTO);
        }
        let err = i64::from(buf[4] as i32);
        if err == -i64::from(libc::EEXIST) {
            0
        } else {
            err
        }
    }
}

/// The relay sockets the init sent over `sock` (the supervisor's end; non-blocking): exactly
/// `n` fds, else none (any that came are closed).
pub(crate) fn recv_relays(sock: RawFd, n: usize) -> Vec<OwnedFd> {
    let Ok(fds_len) = u32::try_from(4 * n) else {
        return Vec::new();
    };
    // SAFETY: a pure computation.
    let space = unsafe { libc::CMSG_SPACE(fds_len) } as usize;
    let mut cmsg = vec![0u64; space.div_ceil(8)];
    let mut byte = 0u8;
    let mut iov = libc::iovec {
        iov_base: std::ptr::addr_of_mut!(byte).cast(),
        iov_len: 1,
    };
    // SAFETY: msghdr is plain data; the pointers set below are live for the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cmsg.as_mut_ptr().cast();
    msg.msg_controllen = crate::sys::msg_len_field(cmsg.len() * 8);
    // SAFETY: recvmsg into our live buffers.
    let r = unsafe { libc::recvmsg(sock, &mut msg, libc::MSG_DONTWAIT | libc::MSG_CMSG_CLOEXEC) };
    if r != 1 {
        return Vec::new();
    }
    let mut fds = Vec::new();
    // SAFETY: the kernel filled `msg`; the CMSG macros stay inside `cmsg`, and every fd in an
    // SCM_RIGHTS message is a fresh one of ours.
    unsafe {
        let mut hdr = libc::CMSG_FIRSTHDR(&msg);
        while !hdr.is_null() {
            if (*hdr).cmsg_level == libc::SOL_SOCKET && (*hdr).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(hdr);
                let count = crate::sys::msg_len((*hdr).cmsg_len).saturating_sub(libc::CMSG_LEN(0) as usize) / 4;
                for i in 0..count {
                    let fd = std::ptr::read_unaligned(data.add(4 * i).cast::<i32>());
                    fds.push(OwnedFd::from_raw_fd(fd));
                }
            }
            hdr = libc::CMSG_NXTHDR(&msg, hdr);
        }
    }
    if byte != b'R' || fds.len() != n || msg.msg_flags & libc::MSG_CTRUNC != 0 {
        return Vec::new();
    }
    fds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newaddr_requests_are_well_formed() {
        let m = newaddr_msg("10.0.0.53".parse().unwrap(), 7);
        assert_eq!(m.len(), 40);
        assert_eq!(u32::from_ne_bytes(m[..4].try_into().unwrap()), 40);
        assert_eq!(u16::from_ne_bytes([m[4], m[5]]), libc::RTM_NEWADDR);
        assert_eq!(&m[16..20], &[libc::AF_INET as u8, 32, IFA_F_NODAD, 0]);
        assert_eq!(&m[28..32], &[10, 0, 0, 53]);
        let m = newaddr_msg("fd00::53".parse().unwrap(), 1);
        assert_eq!(m.len(), 64);
        assert_eq!(m[17], 128);
    }

    #[test]
    fn loopback_entries_add_no_address() {
        let mut net = NetPolicy::default();
        for s in [
            "udp:127.0.0.1:53",
            "udp:[::1]:53",
            "udp:127.0.0.2:53",
            "udp:10.0.0.53:53",
        ] {
            net.allowed
                .extend(crate::policy::net::Endpoint::parse(s).unwrap());
        }
        net.allowed
            .extend(crate::policy::net::Endpoint::parse("udp:10.0.0.53:54").unwrap());
        let p = RelayPlan::new(&net).unwrap().unwrap();
        assert_eq!(p.entries.len(), 5);
        assert_eq!(p.addr_msgs.len(), 1);
        assert_eq!(p.addr_msgs[0].1, 3);
        assert!(p
            .describe_failure(ITEM_BASE + 3)
            .unwrap()
            .contains("adding 10.0.0.53"));
        assert!(p
            .describe_failure(ITEM_BASE + BIND + 4)
            .unwrap()
            .contains("10.0.0.53:54"));
        assert!(p.describe_failure(2).is_none());
        assert!(RelayPlan::new(&NetPolicy::default()).unwrap().is_none());
    }
}
