//! The spec syntax of the module documentation: [`Endpoint::parse`] (host names resolved once,
//! `udp:` entries checked to one unicast address and one port) and [`Endpoint::to_spec`].

use super::{unmapped, Endpoint, SUN_PATH_MAX};
use crate::error::{Error, Result};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

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
