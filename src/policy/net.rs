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
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

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
    /// Parses one spec (see the module documentation); a host name may give several endpoints.
    pub fn parse(spec: &str) -> Result<Vec<Endpoint>> {
        let bad = |why: &str| Error::invalid(format!("network endpoint {spec:?}: {why}"));
        if let Some(name) = spec
            .strip_prefix("abstract:")
            .or_else(|| spec.strip_prefix("unix:@"))
        {
            if name.is_empty() || name.len() >= SUN_PATH_MAX {
                return Err(bad("an abstract name has 1 to 107 bytes"));
            }
            return Ok(vec![Endpoint::Abstract(name.as_bytes().to_vec())]);
        }
        if let Some(path) = spec.strip_prefix("unix:") {
            if !path.starts_with('/') || path.len() >= SUN_PATH_MAX || path.contains('\0') {
                return Err(bad(
                    "a unix socket path is absolute, at most 107 bytes, without NUL",
                ));
            }
            return Ok(vec![Endpoint::UnixPath(path.to_owned())]);
        }
        if let Some(rest) = spec.strip_prefix("udp:") {
            return parse_udp(spec, rest);
        }
        let rest = spec.strip_prefix("tcp:").unwrap_or(spec);
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| bad("expected ADDRESS:PORT, [IPV6]:PORT, unix:PATH or abstract:NAME"))?;
        let port = match port {
            "*" => 0,
            p => p
                .parse::<u16>()
                .map_err(|_| bad("the port is a number 0..=65535 (0 or *: any)"))?,
        };
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let (addr, prefix) = match host.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (host, None),
        };
        if let Ok(ip) = addr.parse::<IpAddr>() {
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                None => max,
                Some(p) => p
                    .parse::<u8>()
                    .ok()
                    .filter(|&p| p <= max)
                    .ok_or_else(|| bad(&format!("the prefix length is 0..={max}")))?,
            };
            return Ok(vec![Endpoint::Tcp {
                addr: ip,
                prefix,
                port,
            }]);
        }
        if prefix.is_some() || addr.is_empty() {
            return Err(bad("not an IPv4 or IPv6 address"));
        }
        // A host name: resolved now, once.
        let mut out: Vec<Endpoint> = Vec::new();
        let addrs = (addr, port)
            .to_socket_addrs()
            .map_err(|e| bad(&format!("cannot resolve {addr}: {e}")))?;
        for a in addrs {
            let ip = a.ip();
            let e = Endpoint::Tcp {
                addr: ip,
                prefix: if ip.is_ipv4() { 32 } else { 128 },
                port,
            };
            if !out.contains(&e) {
                out.push(e);
            }
        }
        if out.is_empty() {
            return Err(bad(&format!("{addr} resolves to no address")));
        }
        Ok(out)
    }

    /// The endpoint as a spec (what [`parse`](Self::parse) reads back).
    pub fn to_spec(&self) -> String {
        match self {
            Endpoint::Tcp {
                addr: IpAddr::V4(a),
                prefix,
                port,
            } => format!("{a}/{prefix}:{port}"),
            Endpoint::Tcp {
                addr: IpAddr::V6(a),
                prefix,
                port,
            } => format!("[{a}/{prefix}]:{port}"),
            Endpoint::UnixPath(p) => format!("unix:{p}"),
            Endpoint::Abstract(n) => format!("abstract:{}", String::from_utf8_lossy(n)),
            Endpoint::Udp(a) => format!("udp:{a}"),
        }
    }

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

/// A `udp:` spec after its prefix: `ADDRESS:PORT`, `[IPV6]:PORT` or `NAME:PORT`, one exact
/// address (a name: every address it resolves to now) and one port, unicast.
fn parse_udp(spec: &str, rest: &str) -> Result<Vec<Endpoint>> {
    let bad = |why: &str| Error::invalid(format!("network endpoint {spec:?}: {why}"));
    let (host, port) = rest
        .rsplit_once(':')
        .ok_or_else(|| bad("expected udp:ADDRESS:PORT or udp:[IPV6]:PORT"))?;
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|&p| p != 0)
        .ok_or_else(|| {
            bad("a udp: entry names one port, 1..=65535 (each entry is a relay socket bound there)")
        })?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.contains('/') {
        return Err(bad(
            "a udp: entry names one address, not a network (each entry is a relay socket bound \
             to that address in the sandbox)",
        ));
    }
    if host.is_empty() {
        return Err(bad("not an IPv4 or IPv6 address"));
    }
    let ips: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => (host, port)
            .to_socket_addrs()
            .map_err(|e| bad(&format!("cannot resolve {host}: {e}")))?
            .map(|a| a.ip())
            .collect(),
    };
    let mut out: Vec<Endpoint> = Vec::new();
    for ip in ips {
        let ip = unmapped(ip);
        if matches!(ip, IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80) {
            return Err(bad(&format!(
                "{ip} is link-local: it names no interface (use a global or loopback address)"
            )));
        }
        let unicast = match ip {
            IpAddr::V4(a) => !(a.is_unspecified() || a.is_multicast() || a.is_broadcast()),
            IpAddr::V6(a) => !(a.is_unspecified() || a.is_multicast()),
        };
        if !unicast {
            return Err(bad(&format!(
                "{ip} is not a unicast address (a udp: entry relays to one host)"
            )));
        }
        let e = Endpoint::Udp(SocketAddr::new(ip, port));
        if !out.contains(&e) {
            out.push(e);
        }
    }
    if out.is_empty() {
        return Err(bad(&format!("{host} resolves to no address")));
    }
    Ok(out)
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
// Tests: their casts are of constants and of values the tests make themselves.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]
mod tests {
    use super::*;

    fn one(spec: &str) -> Endpoint {
        let mut v = Endpoint::parse(spec).unwrap();
        assert_eq!(v.len(), 1, "{spec}");
        v.remove(0)
    }

    fn v4(a: [u8; 4], port: u16) -> Vec<u8> {
        let mut b = vec![0u8; 16];
        b[..2].copy_from_slice(&crate::sys::family(libc::AF_INET).to_ne_bytes());
        b[2..4].copy_from_slice(&port.to_be_bytes());
        b[4..8].copy_from_slice(&a);
        b
    }

    fn v6(a: Ipv6Addr, port: u16) -> Vec<u8> {
        let mut b = vec![0u8; 28];
        b[..2].copy_from_slice(&crate::sys::family(libc::AF_INET6).to_ne_bytes());
        b[2..4].copy_from_slice(&port.to_be_bytes());
        b[8..24].copy_from_slice(&a.octets());
        b
    }

    fn unix(path: &[u8]) -> Vec<u8> {
        let mut b = crate::sys::family(libc::AF_UNIX).to_ne_bytes().to_vec();
        b.extend_from_slice(path);
        b
    }

    #[test]
    fn specs_parse_and_print_back() {
        for (spec, back) in [
            ("10.0.0.0/8:443", "10.0.0.0/8:443"),
            ("127.0.0.1:8080", "127.0.0.1/32:8080"),
            ("tcp:127.0.0.1:*", "127.0.0.1/32:0"),
            ("[::1]:80", "[::1/128]:80"),
            ("[fd00::/8]:0", "[fd00::/8]:0"),
            ("unix:/run/x.sock", "unix:/run/x.sock"),
            ("unix:@name", "abstract:name"),
            ("abstract:name", "abstract:name"),
        ] {
            let e = one(spec);
            assert_eq!(e.to_spec(), back);
            assert_eq!(one(&e.to_spec()), e);
        }
        assert!(!Endpoint::parse("localhost:80").unwrap().is_empty());
    }

    #[test]
    fn bad_specs_name_the_problem() {
        for (spec, says) in [
            ("10.0.0.1", "expected ADDRESS:PORT"),
            ("10.0.0.1:70000", "port"),
            ("10.0.0.0/33:1", "prefix length is 0..=32"),
            ("[::1/129]:1", "0..=128"),
            ("unix:relative", "absolute"),
            ("abstract:", "1 to 107"),
            ("no-such-host.invalid:80", "cannot resolve"),
            ("1.2.3/8:80", "not an IPv4 or IPv6"),
        ] {
            let e = Endpoint::parse(spec).unwrap_err().to_string();
            assert!(e.contains(says) && e.contains(spec), "{spec}: {e}");
        }
    }

    #[test]
    fn decisions_on_sockaddr_bytes() {
        let p = NetPolicy {
            allowed: [
                "10.0.0.0/8:443",
                "127.0.0.1:8080",
                "[::1]:0",
                "unix:/run/x.sock",
                "abstract:a",
            ]
            .iter()
            .flat_map(|s| Endpoint::parse(s).unwrap())
            .collect(),
            on_denied: OnDenied::Violation,
        };
        let yes = |b: &[u8]| p.allowed(&Target::from_sockaddr(b)).is_some();
        assert!(yes(&v4([10, 1, 2, 3], 443)));
        assert!(!yes(&v4([10, 1, 2, 3], 444)));
        assert!(!yes(&v4([11, 0, 0, 1], 443)));
        assert!(yes(&v4([127, 0, 0, 1], 8080)));
        assert!(!yes(&v4([127, 0, 0, 2], 8080)));
        assert!(yes(&v6(Ipv6Addr::LOCALHOST, 9)));
        assert!(!yes(&v6("::2".parse().unwrap(), 9)));
        // An IPv4-mapped IPv6 address is its IPv4 address.
        assert!(yes(&v6("::ffff:10.9.9.9".parse().unwrap(), 443)));
        assert!(!yes(&v6("::ffff:11.9.9.9".parse().unwrap(), 443)));
        assert!(yes(&unix(b"/run/x.sock\0")));
        assert!(yes(&unix(b"/run/x.sock")));
        assert!(!yes(&unix(b"/run/x.sock2\0")));
        assert!(!yes(&unix(b"run/x.sock\0")));
        assert!(yes(&unix(b"\0a")));
        assert!(!yes(&unix(b"\0ab")));
        // Short or foreign addresses decode without panicking and are never allowed.
        for b in [
            &[][..],
            &[2][..],
            &v4([10, 0, 0, 1], 443)[..8],
            &[16, 0, 1, 2][..],
        ] {
            assert!(!yes(b));
        }
        assert_eq!(Target::from_sockaddr(&[0, 0]), Target::Unspecified);
        assert_eq!(Target::from_sockaddr(&unix(b"")), Target::Unspecified);
    }

    #[test]
    fn unix_addresses_without_a_nul_stay_within_sun_path() {
        // sandbox2's AddrToStringUnixBounded and UnixSocketNonNullTerminatedBounded: a
        // sockaddr_un that fills sun_path without a terminating NUL, followed by more bytes (up
        // to the 128 a connect may pass), is read as the 108 bytes of sun_path and no further.
        let mut b = unix(&[b'a'; 108]);
        b.extend_from_slice(&[b'z'; 18]);
        assert_eq!(b.len(), 128);
        let t = Target::from_sockaddr(&b);
        assert_eq!(t, Target::UnixPath(vec![b'a'; 108]));
        assert_eq!(t.describe(), format!("unix:{}", "a".repeat(108)));
        // The same for an abstract name: 107 bytes after the leading NUL.
        let mut name = vec![0u8];
        name.extend_from_slice(&[b'a'; 107]);
        let mut b = unix(&name);
        b.extend_from_slice(&[b'z'; 18]);
        let t = Target::from_sockaddr(&b);
        assert_eq!(t, Target::Abstract(vec![b'a'; 107]));
        assert!(!t.describe().contains('z'), "{}", t.describe());
        // An allowed path is not matched by a longer unterminated one that starts with it.
        let p = NetPolicy {
            allowed: Endpoint::parse("unix:/run/x.sock").unwrap(),
            on_denied: OnDenied::Violation,
        };
        let mut long = b"/run/x.sock".to_vec();
        long.resize(108, b'x');
        assert!(p.allowed(&Target::from_sockaddr(&unix(&long))).is_none());
    }

    #[test]
    fn policy_files_carry_the_allow_list() {
        let mut pb = crate::PolicyBuilder::new();
        pb.load_rules(
            "version = 1\nconnect = [\"127.0.0.1:80\", \"unix:/run/x.sock\"]\nrefuse_connect = \"ECONNREFUSED\"\n",
            "n.toml",
        )
        .unwrap();
        let net = pb.network().unwrap();
        assert_eq!(net.allowed.len(), 2);
        assert_eq!(
            net.on_denied,
            OnDenied::Errno(crate::sys::errno16(libc::ECONNREFUSED))
        );
        let p = pb.build().unwrap();
        assert_eq!(p.network(), Some(net));
        // connect goes to the proxy; MPTCP sockets fail; inet sockets may be made.
        let connect = crate::policy::syscalls::number("connect").unwrap();
        let socket = crate::policy::syscalls::number("socket").unwrap();
        let data = |nr: u32, args: [u64; 6]| crate::policy::SeccompData {
            nr: nr as i32,
            arch: crate::arch::NATIVE_AUDIT_ARCH,
            instruction_pointer: 0,
            args,
        };
        let to_proxy =
            crate::policy::bpf::SECCOMP_RET_TRACE | u32::from(crate::policy::trace_data::CONNECT);
        assert_eq!(p.decide(&data(connect, [3, 0, 16, 0, 0, 0])), to_proxy);
        let mptcp = p.decide(&data(socket, [2, 1, 262, 0, 0, 0]));
        assert_eq!(
            mptcp,
            crate::policy::bpf::SECCOMP_RET_ERRNO | libc::EPROTONOSUPPORT as u32
        );
        assert_eq!(
            p.decide(&data(socket, [10, 1, 0, 0, 0, 0])),
            crate::policy::bpf::SECCOMP_RET_ALLOW
        );
        // Errors name the file and place, and change nothing.
        let mut pb = crate::PolicyBuilder::new();
        let e = pb
            .load_rules("version = 1\nconnect = [\"10.0.0.1\"]\n", "n.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("n.toml:2:") && e.contains("ADDRESS:PORT"), "{e}");
        let e = pb
            .load_rules("version = 1\nrefuse_connect = \"ENOPE\"\n", "n.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("n.toml:2:"), "{e}");
        assert!(pb.network().is_none());
    }

    #[test]
    fn udp_specs_name_one_address_and_one_port() {
        for (spec, back) in [
            ("udp:10.0.0.53:53", "udp:10.0.0.53:53"),
            ("udp:[::1]:5353", "udp:[::1]:5353"),
            ("udp:[::ffff:10.0.0.53]:53", "udp:10.0.0.53:53"),
            ("udp:127.0.0.1:1", "udp:127.0.0.1:1"),
        ] {
            let e = one(spec);
            assert_eq!(e.to_spec(), back);
            assert_eq!(one(&e.to_spec()), e);
        }
        assert!(Endpoint::parse("udp:localhost:53")
            .unwrap()
            .iter()
            .all(|e| matches!(e, Endpoint::Udp(a) if a.port() == 53 && a.ip().is_loopback())));
        for (spec, says) in [
            ("udp:10.0.0.0/8:53", "one address, not a network"),
            ("udp:[fd00::/8]:53", "one address, not a network"),
            ("udp:1.2.3.4:0", "one port"),
            ("udp:1.2.3.4:*", "one port"),
            ("udp:1.2.3.4", "expected udp:ADDRESS:PORT"),
            ("udp:0.0.0.0:53", "not a unicast address"),
            ("udp:224.0.0.1:53", "not a unicast address"),
            ("udp:255.255.255.255:53", "not a unicast address"),
            ("udp:[::]:53", "not a unicast address"),
            ("udp:[fe80::1]:53", "link-local"),
            ("udp::53", "not an IPv4 or IPv6"),
            ("udp:no-such-host.invalid:53", "cannot resolve"),
        ] {
            let e = Endpoint::parse(spec).unwrap_err().to_string();
            assert!(e.contains(says) && e.contains(spec), "{spec}: {e}");
        }
    }

    #[test]
    fn udp_entries_match_datagrams_only() {
        let p = NetPolicy {
            allowed: ["udp:10.0.0.53:53", "udp:[::1]:5353", "127.0.0.1:80"]
                .iter()
                .flat_map(|s| Endpoint::parse(s).unwrap())
                .collect(),
            on_denied: OnDenied::Violation,
        };
        let t = |b: &[u8]| Target::from_sockaddr(b);
        assert!(p.allows_udp(&t(&v4([10, 0, 0, 53], 53))));
        assert!(p.allows_udp(&t(&v6("::ffff:10.0.0.53".parse().unwrap(), 53))));
        assert!(!p.allows_udp(&t(&v4([10, 0, 0, 53], 54))));
        assert!(!p.allows_udp(&t(&v4([10, 0, 0, 54], 53))));
        assert!(p.allows_udp(&t(&v6(Ipv6Addr::LOCALHOST, 5353))));
        assert!(!p.allows_udp(&t(&v4([127, 0, 0, 1], 80))));
        // A udp: entry never lets a stream connect through, nor a TCP entry a datagram.
        assert!(p.allowed(&t(&v4([10, 0, 0, 53], 53))).is_none());
        assert!(p.allowed(&t(&v4([127, 0, 0, 1], 80))).is_some());
        assert_eq!(p.udp().count(), 2);
        assert!(p.check().is_ok());
        let many = NetPolicy {
            allowed: (1..=u16::try_from(MAX_UDP_ENTRIES + 1).unwrap())
                .map(|port| Endpoint::Udp(SocketAddr::from(([127, 0, 0, 1], port))))
                .collect(),
            on_denied: OnDenied::Violation,
        };
        assert!(many.check().unwrap_err().to_string().contains("at most 64"));
    }

    #[test]
    fn zero_prefix_matches_every_address_of_its_family() {
        let e = one("0.0.0.0/0:53");
        assert!(e.matches(&Target::from_sockaddr(&v4([8, 8, 8, 8], 53))));
        assert!(!e.matches(&Target::from_sockaddr(&v6(
            "2001:db8::1".parse().unwrap(),
            53
        ))));
    }
}
