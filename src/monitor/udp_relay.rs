//! The supervisor's UDP relay for the `udp:` entries of a network allow-list (the sandbox's side
//! is `spawn/udp_relay.rs`).
//!
//! Each entry `ADDR:PORT` has a relay socket bound to `ADDR:PORT` inside the sandbox's network
//! namespace, where `ADDR` is local (on `lo`), made by the init and owned here. A datagram that
//! arrives on it from the sandboxee's address `S` is sent on from a host socket of ours (the
//! supervisor's network namespace, the one the TCP proxy connects from) connected to the real
//! `ADDR:PORT`: one host socket per (entry, `S`) flow. What that socket receives (only from
//! `ADDR:PORT`: it is connected) goes back to `S` from the relay socket, so the sandboxee sees the
//! reply come from `ADDR:PORT`, as a resolver checks.
//!
//! No host socket ever enters the sandbox, and nothing is decided on memory the sandboxee can
//! change: a datagram to any other address has no route out of the sandbox's namespace (the
//! kernel's ENETUNREACH), so `sendto`/`sendmsg` need no interception at all.
//!
//! Bounds: at most [`MAX_FLOWS`] flows per sandbox (a new flow beyond that replaces the least
//! recently used one), a flow idle for [`IDLE`] is closed (checked whenever the sandbox's relay
//! wakes the supervisor), datagrams up to 64 KiB (larger ones cannot exist in UDP over IPv4/IPv6
//! without jumbograms), at most [`BATCH`] datagrams per ready socket per wake-up, every socket
//! non-blocking and a datagram that does not fit a socket buffer dropped (UDP's own answer to
//! congestion). Everything closes with the sandbox.

#![allow(unsafe_code)]

use super::epoll::{Epoll, Source};
use crate::policy::net::Target;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// Most flows (host sockets) one sandbox's relay keeps.
pub(crate) const MAX_FLOWS: usize = 64;
/// A flow with no datagram either way for this long is closed.
pub(crate) const IDLE: Duration = Duration::from_secs(30);
/// Most datagrams read from one ready socket per wake-up.
const BATCH: usize = 64;
/// The largest UDP payload (65535 minus the IPv6 header's payload length field's own overhead is
/// less; 64 KiB holds any).
const DATAGRAM_MAX: usize = 65536;

/// One (entry, sandboxee address) pair and its host socket.
struct Flow {
    id: u64,
    entry: usize,
    /// The sandboxee's address, as matched.
    peer: SocketAddr,
    /// The same as a `sockaddr`, as replies are sent to it.
    peer_raw: ([u8; 28], libc::socklen_t),
    host: OwnedFd,
    last: Instant,
    /// The relay's use counter at its last datagram: the least recently used flow has the
    /// smallest (many share one `last` within a wake-up).
    used: u64,
}

/// One sandbox's relay.
pub(crate) struct Relay {
    job: u64,
    /// The supervisor's end of the init's hand-off, until the sockets came.
    channel: Option<OwnedFd>,
    /// The entries, in the order their sockets come.
    addrs: Vec<SocketAddr>,
    socks: Vec<OwnedFd>,
    /// The relay's own epoll set (relay sockets and flows), itself watched in the supervisor's
    /// as [`Source::Relay`]: one registration per sandbox, and each event names its socket.
    set: Option<Epoll>,
    flows: Vec<Flow>,
    next_id: u64,
    /// Counts datagrams, for [`Flow::used`].
    uses: u64,
    buf: Vec<u8>,
}

impl Relay {
    pub(crate) fn new(job: u64, channel: OwnedFd, addrs: Vec<SocketAddr>) -> Relay {
        Relay {
            job,
            channel: Some(channel),
            addrs,
            socks: Vec::new(),
            set: None,
            flows: Vec::new(),
            next_id: 0,
            uses: 0,
            buf: Vec::new(),
        }
    }

    /// Takes the relay sockets the init sent (it sends them before it starts the sandboxee, so
    /// they are there once the sandboxee's listener is) and starts watching them.
    pub(crate) fn receive(&mut self, epoll: &Epoll) {
        let Some(channel) = self.channel.take() else {
            return;
        };
        let socks = crate::spawn::udp_relay::recv_relays(channel.as_raw_fd(), self.addrs.len());
        if socks.is_empty() {
            log::warn!("libsbx: the sandbox's udp relay sockets did not arrive; udp: entries reach nothing");
            return;
        }
        self.watch(socks, epoll);
    }

    /// Watches the relay sockets `socks` (one per entry) in a set of the relay's own, itself
    /// watched in `epoll`.
    fn watch(&mut self, socks: Vec<OwnedFd>, epoll: &Epoll) {
        let Ok(set) = Epoll::new() else {
            log::warn!("libsbx: no epoll set for the udp relay; udp: entries reach nothing");
            return;
        };
        let watched = socks
            .iter()
            .enumerate()
            .all(|(i, s)| set.add(s.as_raw_fd(), i as u64, Source::Relay).is_ok())
            && epoll.add(set.raw_fd(), self.job, Source::Relay).is_ok();
        if !watched {
            log::warn!("libsbx: cannot watch the udp relay sockets; udp: entries reach nothing");
            return;
        }
        self.socks = socks;
        self.set = Some(set);
        self.buf = vec![0u8; DATAGRAM_MAX];
    }

    /// The relay's set is ready: datagrams each way, then idle flows closed.
    pub(crate) fn on_ready(&mut self) {
        let Some(set) = self.set.as_ref() else {
            return;
        };
        let ready = set.ready();
        let now = Instant::now();
        for (key, source) in ready {
            match source {
                Source::Relay => {
                    if let Ok(i) = usize::try_from(key) {
                        self.sandbox_datagrams(i, now);
                    }
                }
                Source::Flow => self.host_datagrams(key, now),
                _ => {}
            }
        }
        self.expire(now);
    }

    /// Datagrams the sandboxee sent to entry `i`: each on to the real address, through its flow.
    fn sandbox_datagrams(&mut self, i: usize, now: Instant) {
        let Some(fd) = self.socks.get(i).map(AsRawFd::as_raw_fd) else {
            return;
        };
        for _ in 0..BATCH {
            // SAFETY: sockaddr_storage is plain data.
            let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
            let mut len = crate::sys::socklen_of::<libc::sockaddr_storage>();
            // SAFETY: the kernel writes at most `buf.len()` bytes into `buf` and at most `len`
            // into `ss`.
            let n = unsafe {
                libc::recvfrom(
                    fd,
                    self.buf.as_mut_ptr().cast(),
                    self.buf.len(),
                    libc::MSG_DONTWAIT | libc::MSG_TRUNC,
                    std::ptr::addr_of_mut!(ss).cast(),
                    &mut len,
                )
            };
            let Ok(n) = usize::try_from(n) else {
                return; // EAGAIN: drained
            };
            if n > self.buf.len() {
                continue; // cannot be UDP over IP; dropped
            }
            let raw_len = usize::try_from(len).unwrap_or(0).min(28);
            // SAFETY: `ss` is at least 28 bytes of plain data.
            let raw: &[u8] =
                unsafe { std::slice::from_raw_parts(std::ptr::addr_of!(ss).cast::<u8>(), 28) };
            let Target::Inet(peer) = Target::from_sockaddr(&raw[..raw_len]) else {
                continue;
            };
            let Some(k) = self.flow_for(i, peer, raw, len, now) else {
                continue; // no host socket could be made: dropped
            };
            self.uses += 1;
            let flow = &mut self.flows[k];
            flow.last = now;
            flow.used = self.uses;
            // SAFETY: the kernel reads `n` bytes of our buffer.
            unsafe {
                libc::send(
                    flow.host.as_raw_fd(),
                    self.buf.as_ptr().cast(),
                    n,
                    libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
                )
            };
        }
    }

    /// Datagrams the real address sent to flow `id`: each back to the sandboxee from its entry's
    /// relay socket.
    fn host_datagrams(&mut self, id: u64, now: Instant) {
        let Some(k) = self.flows.iter().position(|f| f.id == id) else {
            return;
        };
        let (host, entry, (raw, raw_len)) = {
            self.uses += 1;
            let f = &mut self.flows[k];
            f.last = now;
            f.used = self.uses;
            (f.host.as_raw_fd(), f.entry, f.peer_raw)
        };
        let Some(relay) = self.socks.get(entry).map(AsRawFd::as_raw_fd) else {
            return;
        };
        for _ in 0..BATCH {
            // SAFETY: the kernel writes at most `buf.len()` bytes into our buffer.
            let n = unsafe {
                libc::recv(
                    host,
                    self.buf.as_mut_ptr().cast(),
                    self.buf.len(),
                    libc::MSG_DONTWAIT | libc::MSG_TRUNC,
                )
            };
            let n = match usize::try_from(n) {
                Ok(n) => n,
                // An ICMP error (port unreachable: ECONNREFUSED) is reported once: go on.
                Err(_) if last_errno() == libc::ECONNREFUSED => continue,
                Err(_) => return,
            };
            if n > self.buf.len() {
                continue;
            }
            // SAFETY: the kernel reads `n` bytes of our buffer and `raw_len` of `raw`.
            unsafe {
                libc::sendto(
                    relay,
                    self.buf.as_ptr().cast(),
                    n,
                    libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
                    raw.as_ptr().cast(),
                    raw_len,
                )
            };
        }
    }

    /// The index of the flow of (`entry`, `peer`), made now if there is none (replacing the
    /// least recently used one at [`MAX_FLOWS`]).
    fn flow_for(
        &mut self,
        entry: usize,
        peer: SocketAddr,
        raw: &[u8],
        raw_len: libc::socklen_t,
        now: Instant,
    ) -> Option<usize> {
        if let Some(k) = self
            .flows
            .iter()
            .position(|f| f.entry == entry && f.peer == peer)
        {
            return Some(k);
        }
        let target = *self.addrs.get(entry)?;
        if self.flows.len() >= MAX_FLOWS {
            self.expire(now);
        }
        let set = self.set.as_ref()?;
        if self.flows.len() >= MAX_FLOWS {
            let lru = self
                .flows
                .iter()
                .enumerate()
                .min_by_key(|(_, f)| f.used)
                .map(|(k, _)| k)?;
            let old = self.flows.swap_remove(lru);
            set.remove(old.host.as_raw_fd());
        }
        let host = host_socket(target)?;
        self.next_id += 1;
        let id = self.next_id;
        set.add(host.as_raw_fd(), id, Source::Flow).ok()?;
        let mut peer_raw = [0u8; 28];
        let n = usize::try_from(raw_len).unwrap_or(0).min(28);
        peer_raw[..n].copy_from_slice(&raw[..n]);
        self.flows.push(Flow {
            id,
            entry,
            peer,
            peer_raw: (peer_raw, raw_len.min(28)),
            host,
            last: now,
            used: self.uses,
        });
        Some(self.flows.len() - 1)
    }

    /// Closes the flows idle for [`IDLE`].
    fn expire(&mut self, now: Instant) {
        let Some(set) = self.set.as_ref() else {
            return;
        };
        self.flows.retain(|f| {
            let live = now.saturating_duration_since(f.last) < IDLE;
            if !live {
                set.remove(f.host.as_raw_fd());
            }
            live
        });
    }

    /// Stops watching and closes every socket (the sandbox is ending).
    pub(crate) fn close(&mut self, epoll: &Epoll) {
        if let Some(set) = self.set.take() {
            epoll.remove(set.raw_fd());
        }
        self.flows.clear();
        self.socks.clear();
        self.channel = None;
        self.buf = Vec::new();
    }
}

/// A non-blocking host socket connected to `target` (connecting UDP only sets the peer).
fn host_socket(target: SocketAddr) -> Option<OwnedFd> {
    let (family, raw) = crate::spawn::udp_relay::sockaddr_bytes(target);
    // SAFETY: a plain fd-creating call; the result is checked.
    let fd = unsafe {
        libc::socket(
            family,
            libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return None;
    }
    // SAFETY: a fresh fd owned by nobody else.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    let len = libc::socklen_t::try_from(raw.len()).ok()?;
    // SAFETY: the kernel reads `len` bytes of `raw`.
    let r = unsafe { libc::connect(fd, raw.as_ptr().cast(), len) };
    (r == 0).then_some(sock)
}

fn last_errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;

    /// The relay in the host's own namespace: a relay socket on 127.0.0.1, an echo server as the
    /// entry's real address, and more clients than the flow bound.
    #[test]
    fn flows_are_bounded_expire_and_close() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let relay_sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        relay_sock.set_nonblocking(true).unwrap();
        let relay_addr = relay_sock.local_addr().unwrap();
        let epoll = Epoll::new().unwrap();
        let (channel, _other) = std::os::unix::net::UnixDatagram::pair().unwrap();
        let mut relay = Relay::new(7, channel.into(), vec![server.local_addr().unwrap()]);
        relay.watch(vec![relay_sock.into()], &epoll);
        assert_eq!(epoll.ready(), []);
        let n = MAX_FLOWS + 6;
        let clients: Vec<UdpSocket> = (0..n)
            .map(|i| {
                let c = UdpSocket::bind("127.0.0.1:0").unwrap();
                c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                c.send_to(format!("c{i}").as_bytes(), relay_addr).unwrap();
                c
            })
            .collect();
        let mut buf = [0u8; 64];
        let mut got = 0;
        while got < n {
            // The relay's set is ready in the supervisor's as the sandbox's Relay source.
            if epoll.wait(5000) != [(7, Source::Relay)] {
                break;
            }
            relay.on_ready();
            // Echo what arrived so far (one datagram per flow).
            server.set_nonblocking(true).unwrap();
            while let Ok((k, from)) = server.recv_from(&mut buf) {
                server.send_to(&buf[..k], from).unwrap();
                got += 1;
            }
        }
        assert_eq!(got, n);
        assert_eq!(relay.flows.len(), MAX_FLOWS);
        // The last MAX_FLOWS clients still have their flows: their answers come back from the
        // relay's address.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut answered = 0;
        while answered < MAX_FLOWS && Instant::now() < deadline {
            if epoll.wait(100).is_empty() {
                continue;
            }
            relay.on_ready();
            for (i, c) in clients.iter().enumerate().skip(n - MAX_FLOWS) {
                c.set_nonblocking(true).unwrap();
                if let Ok((k, from)) = c.recv_from(&mut buf) {
                    assert_eq!(&buf[..k], format!("c{i}").as_bytes());
                    assert_eq!(from, relay_addr);
                    answered += 1;
                }
            }
        }
        assert_eq!(answered, MAX_FLOWS);
        // Idle flows close; closing the relay leaves nothing watched.
        relay.expire(Instant::now() + IDLE);
        assert!(relay.flows.is_empty());
        relay.close(&epoll);
        assert!(relay.socks.is_empty() && relay.set.is_none());
        let c = UdpSocket::bind("127.0.0.1:0").unwrap();
        c.send_to(b"late", relay_addr).ok();
        assert_eq!(epoll.wait(50), []);
    }
}
