//! Endpoint specs parsed and printed back, decisions on `sockaddr` bytes, policy files carrying
//! the allow-list, and the `udp:` entries.

// Tests: their casts are of constants and of values the tests make themselves.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

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
