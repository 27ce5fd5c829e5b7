//! Network allow-lists: the endpoints a sandboxee's `connect` may reach on the host.
//!
//! A sandbox keeps its own empty network namespace; with an allow-list, its `connect` calls go to
//! the supervisor (user notification, `monitor/netproxy/`), which reads the address once,
//! decides here on that copy, and for an allowed endpoint connects a socket of its own on the
//! host and puts it in place of the sandboxee's. This module is the pure half: the endpoint
//! specs, their parsing, and the decision on a `sockaddr`'s bytes.
//!
//! Spec syntax (CLI `--allow-connect`, C, Go, policy files):
//! - `10.0.0.0/8:443`, `127.0.0.1:8080`, `[::1]:80`, `[fd00::/8]:0`: TCP to an address or CIDR
//!   block and a port (`0` or `*`: any port). `tcp:` in front is accepted.
//! - `example.com:443`: a host name, resolved **once, when the spec is parsed** (the addresses it
//!   had then are allowed, each as /32 or /128; a later DNS change is not followed).
//! - `unix:/run/x.sock`: a unix socket path (stream or seqpacket), as the sandboxee names it;
//!   the supervisor resolves the same path on the host without following symlinks.
//! - `abstract:name` (or `unix:@name`): an abstract unix socket name in the host's namespace.
//! - `udp:10.0.0.53:53`, `udp:[::1]:5353`, `udp:resolver.example:53`: UDP to exactly one
//!   address and one port (no CIDR block, no port 0: each entry has a relay socket of its own).
//!   The address is made local in the sandbox's network namespace (added to its `lo` unless it
//!   is a loopback address already), a relay socket of the supervisor's is bound there, and the
//!   supervisor forwards each datagram from a host socket of its own (`monitor/udp_relay.rs`).
//!   Everything else the sandboxee sends has no route out of its empty namespace.

use crate::error::{Error, Result};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

mod spec;

/// Longest `sun_path` (`struct sockaddr_un`), terminating NUL included for a path.
const SUN_PATH_MAX: usize = 108;

/// One allowed endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// TCP to `addr/prefix` (host bits ignored), port `port` (0: any).
    Tcp {
        /// The network's address.
        addr: IpAddr,
        /// Prefix length: 0..=32 for IPv4, 0..=128 for IPv6.
        prefix: u8,
        /// The port, 0 for any.
        port: u16,
    },
    /// A unix socket at this absolute path.
    UnixPath(String),
    /// An abstract unix socket name (without the leading NUL).
    Abstract(Vec<u8>),
    /// UDP to exactly this address and port (relayed by the supervisor).
    Udp(SocketAddr),
}

/// At most this many `udp:` entries in one allow-list (each is a relay socket, and all of them
/// travel to the supervisor in one `SCM_RIGHTS` message).
pub const MAX_UDP_ENTRIES: usize = 64;

/// What a connect the allow-list does not name gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum OnDenied {
    /// The run ends as a `VIOLATION_NETWORK` naming the address (default).
    #[default]
    Violation,
    /// The call fails with this errno (1..=4095) and is recorded in the result.
    Errno(u16),
}

/// A policy's network allow-list.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct NetPolicy {
    /// The endpoints, in the order given.
    pub allowed: Vec<Endpoint>,
    /// What a connect to anything else gets.
    pub on_denied: OnDenied,
}

/// The address a `connect` named, decoded from its `sockaddr` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An IPv4 or IPv6 address and port (IPv4-mapped IPv6 addresses stay IPv6 here).
    Inet(SocketAddr),
    /// A unix socket path (bytes up to the first NUL).
    UnixPath(Vec<u8>),
    /// An abstract unix socket name.
    Abstract(Vec<u8>),
    /// `AF_UNSPEC` (dissolves a datagram association) or an unnamed unix address.
    Unspecified,
    /// Any other family, or a length too short for its family.
    Other(u16),
}

impl Target {
    /// Decodes `bytes` (at most `sizeof(struct sockaddr_storage)` copied from the sandboxee).
    pub fn from_sockaddr(bytes: &[u8]) -> Target {
        let Some(family) = bytes.get(..2).map(|b| u16::from_ne_bytes([b[0], b[1]])) else {
            return Target::Other(0);
        };
        let port = |b: &[u8]| u16::from_be_bytes([b[2], b[3]]);
        match i32::from(family) {
            libc::AF_UNSPEC => Target::Unspecified,
            libc::AF_INET if bytes.len() >= 16 => {
                let ip = Ipv4Addr::new(bytes[4], bytes[5], bytes[6], bytes[7]);
                Target::Inet(SocketAddr::new(IpAddr::V4(ip), port(bytes)))
            }
            libc::AF_INET6 if bytes.len() >= 24 => {
                let mut octets = [0u8; 16];
                octets.copy_from_slice(&bytes[8..24]);
                Target::Inet(SocketAddr::new(
                    IpAddr::V6(Ipv6Addr::from(octets)),
                    port(bytes),
                ))
            }
            libc::AF_UNIX => {
                let path = &bytes[2..bytes.len().min(2 + SUN_PATH_MAX)];
                match path.first() {
                    None => Target::Unspecified,
                    Some(0) => Target::Abstract(path[1..].to_vec()),
                    Some(_) => {
                        let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
                        Target::UnixPath(path[..end].to_vec())
                    }
                }
            }
            _ => Target::Other(family),
        }
    }

    /// An address of the loopback network (127.0.0.0/8, `::1`, IPv4-mapped or not).
    pub fn is_loopback(&self) -> bool {
        matches!(self, Target::Inet(a) if unmapped(a.ip()).is_loopback())
    }

    /// `inet`, `inet6`, `unix`, `abstract`, `unspec` or `family N`.
    pub fn family_name(&self) -> String {
        match self {
            Target::Inet(SocketAddr::V4(_)) => "inet".into(),
            Target::Inet(SocketAddr::V6(_)) => "inet6".into(),
            Target::UnixPath(_) => "unix".into(),
            Target::Abstract(_) => "abstract".into(),
            Target::Unspecified => "unspec".into(),
            Target::Other(f) => format!("family {f}"),
        }
    }

    /// The address as a spec would write it: `10.0.0.5:443`, `[::1]:80`, `unix:/run/x.sock`.
    pub fn describe(&self) -> String {
        match self {
            Target::Inet(a) => a.to_string(),
            Target::UnixPath(p) => format!("unix:{}", String::from_utf8_lossy(p)),
            Target::Abstract(n) => format!("abstract:{}", String::from_utf8_lossy(n)),
            Target::Unspecified => "unspec".into(),
            Target::Other(f) => format!("family {f}"),
        }
    }
}

impl Endpoint {
    /// Whether a stream connect to `target` is allowed by this endpoint.
    pub fn matches(&self, target: &Target) -> bool {
        match (self, target) {
            (Endpoint::Tcp { addr, prefix, port }, Target::Inet(t)) => {
                (*port == 0 || *port == t.port()) && in_network(*addr, *prefix, t.ip())
            }
            (Endpoint::UnixPath(p), Target::UnixPath(t)) => p.as_bytes() == t.as_slice(),
            (Endpoint::Abstract(n), Target::Abstract(t)) => n == t,
            _ => false,
        }
    }
}

impl NetPolicy {
    /// The first endpoint that allows a stream connect to `target`.
    pub fn allowed(&self, target: &Target) -> Option<&Endpoint> {
        self.allowed.iter().find(|e| e.matches(target))
    }

    /// The `udp:` entries, in the order given.
    pub fn udp(&self) -> impl Iterator<Item = SocketAddr> + '_ {
        self.allowed.iter().filter_map(|e| match e {
            Endpoint::Udp(a) => Some(*a),
            _ => None,
        })
    }

    /// Whether a datagram sent to `target` reaches a `udp:` entry (an IPv4-mapped IPv6 address
    /// counts as its IPv4 address, as the kernel delivers it).
    pub fn allows_udp(&self, target: &Target) -> bool {
        let Target::Inet(t) = target else {
            return false;
        };
        let ip = unmapped(t.ip());
        self.udp().any(|a| a.ip() == ip && a.port() == t.port())
    }

    /// What [`crate::PolicyBuilder::build`] checks of the list itself: at most
    /// [`MAX_UDP_ENTRIES`] `udp:` entries.
    pub fn check(&self) -> Result<()> {
        let n = self.udp().count();
        if n > MAX_UDP_ENTRIES {
            return Err(Error::InvalidPolicy(format!(
                "the network allow-list has {n} udp: entries; at most {MAX_UDP_ENTRIES} (each \
                 is a relay socket of the supervisor)"
            )));
        }
        Ok(())
    }
}

/// An IPv4-mapped IPv6 address as its IPv4 address; anything else as it is.
fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    }
}

/// Whether `ip` lies in `net/prefix`; an IPv4-mapped IPv6 address counts as its IPv4 address.
fn in_network(net: IpAddr, prefix: u8, ip: IpAddr) -> bool {
    let ip = unmapped(ip);
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests;
