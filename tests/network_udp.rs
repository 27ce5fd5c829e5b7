//! UDP under a network allow-list (`udp:ADDR:PORT`): the supervisor relays datagrams between a
//! relay socket bound to ADDR:PORT in the sandbox's network namespace and the real ADDR:PORT on
//! the host; nothing else the sandboxee sends has a route. Every target is a UDP server this test
//! process opened on the host (127.0.0.1, ::1, the host's own non-loopback address); a server
//! that must stay unreached counts its datagrams, and the count must stay 0.
//!
//! The relay runs in the user-notify monitor: under `SBX_TEST_MONITOR=ptrace` each test checks
//! instead that the combination is refused at build time, naming the monitor.

// Test harness: getsockname/getpeername/getsockopt of the test process's own sockets.
#![allow(unsafe_code)]
// Tests: their casts are of constants and of values the tests make themselves.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

mod common;

use common::*;
use sbx::policy::net::OnDenied;
use sbx::{Executor, PolicyBuilder, Status};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A host UDP server: answers each datagram with `answer(datagram)` (if any), counts them, and
/// records the peers; stops when dropped (and after 60 s whatever happens).
struct Server {
    addr: SocketAddr,
    got: Arc<AtomicUsize>,
    peers: Arc<Mutex<Vec<SocketAddr>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

type Answer = fn(&[u8]) -> Option<Vec<u8>>;

impl Server {
    fn start(bind: &str, answer: Answer) -> Option<Server> {
        let sock = UdpSocket::bind(bind).ok()?;
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let addr = sock.local_addr().unwrap();
        let got = Arc::new(AtomicUsize::new(0));
        let peers = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (g, p, s) = (Arc::clone(&got), Arc::clone(&peers), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            let until = Instant::now() + Duration::from_secs(60);
            let mut buf = vec![0u8; 65536];
            while !s.load(Ordering::Relaxed) && Instant::now() < until {
                let Ok((n, from)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                g.fetch_add(1, Ordering::Relaxed);
                p.lock().unwrap().push(from);
                if let Some(reply) = answer(&buf[..n]) {
                    let _ = sock.send_to(&reply, from);
                }
            }
        });
        Some(Server {
            addr,
            got,
            peers,
            stop,
            thread: Some(thread),
        })
    }

    fn echo(bind: &str) -> Option<Server> {
        Server::start(bind, |d| {
            let mut r = b"ECHO:".to_vec();
            r.extend_from_slice(d);
            Some(r)
        })
    }

    fn silent(bind: &str) -> Option<Server> {
        Server::start(bind, |_| None)
    }

    fn got(&self) -> usize {
        self.got.load(Ordering::Relaxed)
    }

    fn port(&self) -> u16 {
        self.addr.port()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `tool_default()` with `specs` allowed.
fn tool_allowing(specs: &[String]) -> PolicyBuilder {
    let mut pb = sbx::policy::presets::tool_default();
    for s in specs {
        pb.allow_connect(s);
    }
    pb
}

/// Runs `python3 -c PRELUDE+script` under `pb` (stderr into stdout).
fn run_py(script: &str, pb: &PolicyBuilder) -> Option<Run> {
    let policy = build_net(pb)?;
    let mut ex = Executor::new("/usr/bin/python3");
    ex.args(["-c", &format!("{PRELUDE}{script}")]);
    Some(run_capture(ex, policy))
}

/// Helpers the sandboxed scripts share: `fam(host)`, `addr(host, port)` and `show(e)`.
const PRELUDE: &str = "import socket, sys, errno\nsys.stderr = sys.stdout\n\
def fam(h):\n    return socket.AF_INET6 if ':' in h else socket.AF_INET\n\
def show(e):\n    return type(e).__name__ + ' ' + str(getattr(e, 'errno', None))\n";

/// Connected and unconnected exchanges with `host:port`; the reply's source printed.
fn echo_script(host: &str, port: u16) -> String {
    format!(
        "h, p = '{host}', {port}\n\
         s = socket.socket(fam(h), socket.SOCK_DGRAM)\ns.settimeout(10)\n\
         s.connect((h, p))\ns.send(b'one')\nprint('CONNECTED', s.recv(100).decode(), flush=True)\n\
         u = socket.socket(fam(h), socket.SOCK_DGRAM)\nu.settimeout(10)\n\
         u.sendto(b'two', (h, p))\nd, a = u.recvfrom(100)\n\
         print('UNCONNECTED', d.decode(), 'FROM', a[0], a[1], flush=True)\n"
    )
}

fn check_echo(run: &Run, host: &str, port: u16) {
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    assert!(run.out.contains("CONNECTED ECHO:one\n"), "{}", run.ctx());
    assert!(
        run.out
            .contains(&format!("UNCONNECTED ECHO:two FROM {host} {port}\n")),
        "{}",
        run.ctx()
    );
    assert!(run.r.denied_connects.is_empty(), "{}", run.ctx());
}

#[test]
fn allowed_udp_endpoints_on_the_host_echo_from_their_own_address() {
    let s4 = Server::echo("127.0.0.1:0").unwrap();
    let s6 = Server::echo("[::1]:0");
    let mut specs = vec![format!("udp:127.0.0.1:{}", s4.port())];
    if let Some(s6) = &s6 {
        specs.push(format!("udp:[::1]:{}", s6.port()));
    }
    let pb = tool_allowing(&specs);
    let Some(run) = run_py(&echo_script("127.0.0.1", s4.port()), &pb) else {
        return;
    };
    check_echo(&run, "127.0.0.1", s4.port());
    assert_eq!(s4.got(), 2);
    assert!(
        run.r.fences.contains(&"network_allow_list"),
        "{}",
        run.ctx()
    );
    // The host saw the supervisor's sockets (one per flow), not the sandbox's addresses.
    assert_eq!(s4.peers.lock().unwrap().len(), 2);
    match &s6 {
        Some(s6) => {
            let run = run_py(&echo_script("::1", s6.port()), &pb).unwrap();
            check_echo(&run, "::1", s6.port());
            assert_eq!(s6.got(), 2);
        }
        None => eprintln!("no IPv6 loopback on this host: the ::1 case was not run"),
    }
}

#[test]
fn datagrams_elsewhere_reach_nothing() {
    let ok = Server::echo("127.0.0.1:0").unwrap();
    let other = Server::silent("127.0.0.1:0").unwrap();
    let pb = tool_allowing(&[format!("udp:127.0.0.1:{}", ok.port())]);
    // Another port of the same address: the sandbox's own lo, where nothing listens; another
    // address: no route at all. The allowed one still answers afterwards.
    let script = format!(
        "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nu.settimeout(2)\n\
         u.sendto(b'leak', ('127.0.0.1', {other}))\n\
         try:\n    u.recvfrom(100)\n    print('GOT-OTHER')\nexcept Exception as e:\n    print('OTHER-PORT', show(e))\n\
         try:\n    u.sendto(b'leak', ('198.51.100.1', {ok}))\n    print('SENT-ELSEWHERE')\nexcept Exception as e:\n    print('ELSEWHERE', show(e))\n\
         u.sendto(b'after', ('127.0.0.1', {ok}))\nprint('STILL', u.recvfrom(100)[0].decode())\n",
        other = other.port(),
        ok = ok.port(),
    );
    let Some(run) = run_py(&script, &pb) else {
        return;
    };
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    assert!(!run.out.contains("GOT-OTHER"), "{}", run.ctx());
    assert!(
        run.out.contains("OTHER-PORT ConnectionRefusedError")
            || run.out.contains("OTHER-PORT TimeoutError"),
        "{}",
        run.ctx()
    );
    assert!(
        run.out
            .contains(&format!("ELSEWHERE OSError {}", libc::ENETUNREACH)),
        "{}",
        run.ctx()
    );
    assert!(run.out.contains("STILL ECHO:after"), "{}", run.ctx());
    // sendto is not intercepted: nothing to report.
    assert!(run.r.denied_connects.is_empty(), "{}", run.ctx());
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(other.got(), 0, "the unlisted host server was reached");
    assert_eq!(ok.got(), 1);
}

/// A UDP connect to an address the list does not name is refused and recorded, but never a
/// violation: resolvers probe every address a name has with one (see the DNS test), and it
/// sends nothing. With an errno policy it fails with that errno.
#[test]
fn a_udp_connect_elsewhere_is_refused_and_recorded() {
    let ok = Server::echo("127.0.0.1:0").unwrap();
    let script = "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
         try:\n    s.connect(('198.51.100.1', 53))\n    print('CONNECTED')\nexcept Exception as e:\n    print('REFUSED', show(e))\n\
         s.connect(('127.0.0.1', 9))\nprint('LOOPBACK OK')\n";
    let mut pb = tool_allowing(&[format!("udp:127.0.0.1:{}", ok.port())]);
    let Some(run) = run_py(script, &pb) else {
        return;
    };
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    assert!(
        run.out
            .contains(&format!("REFUSED OSError {}", libc::ENETUNREACH)),
        "{}",
        run.ctx()
    );
    // The sandbox's own loopback stays its own.
    assert!(run.out.contains("LOOPBACK OK"), "{}", run.ctx());
    assert_eq!(run.r.denied_connects.len(), 1, "{}", run.ctx());
    let d = &run.r.denied_connects[0];
    assert_eq!(d.address, "udp:198.51.100.1:53");
    assert_eq!(d.family, "inet");
    assert!(d.why.contains("udp"), "{d:?}");
    pb.on_denied_connect(OnDenied::Errno(libc::EACCES as u16));
    let run = run_py(script, &pb).unwrap();
    assert!(
        run.out
            .contains(&format!("REFUSED PermissionError {}", libc::EACCES)),
        "{}",
        run.ctx()
    );
    assert_eq!(run.r.denied_connects.len(), 1, "{}", run.ctx());
}

/// An answer to a DNS query for any name: two A records (192.0.2.10 and .11) for type A, none
/// for anything else.
fn dns_answer(q: &[u8]) -> Option<Vec<u8>> {
    if q.len() < 12 {
        return None;
    }
    // The question: names end with a zero byte, then type and class.
    let mut i = 12;
    while i < q.len() && q[i] != 0 {
        i += 1 + q[i] as usize;
    }
    let end = i + 5;
    if end > q.len() {
        return None;
    }
    let qtype = u16::from_be_bytes([q[i + 1], q[i + 2]]);
    let ancount: u16 = if qtype == 1 { 2 } else { 0 };
    let mut r = q[..2].to_vec(); // id
    r.extend_from_slice(&[0x81, 0x80, 0, 1]); // response, RD, RA; one question
    r.extend_from_slice(&ancount.to_be_bytes());
    r.extend_from_slice(&[0, 0, 0, 0]);
    r.extend_from_slice(&q[12..end]);
    for last in [10u8, 11] {
        if qtype == 1 {
            // A pointer to the question's name, A, IN, TTL 60, 4 bytes.
            r.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, last]);
        }
    }
    Some(r)
}

/// A hand-built DNS query over the relay: the answer comes from the allowed address.
#[test]
fn a_dns_query_through_the_relay_gets_its_answer() {
    let dns = Server::start("127.0.0.1:0", dns_answer).unwrap();
    let pb = tool_allowing(&[format!("udp:127.0.0.1:{}", dns.port())]);
    let script = format!(
        "q = b'\\x12\\x34\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00' + \
         b'\\x07sbx-dns\\x07example\\x00\\x00\\x01\\x00\\x01'\n\
         u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nu.settimeout(10)\n\
         u.sendto(q, ('127.0.0.1', {port}))\nr, a = u.recvfrom(512)\n\
         print('ID', r[:2].hex(), 'ANSWERS', int.from_bytes(r[6:8], 'big'), 'FROM', a[0], a[1])\n\
         print('A', '.'.join(str(b) for b in r[-4:]))\n",
        port = dns.port()
    );
    let Some(run) = run_py(&script, &pb) else {
        return;
    };
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    assert!(
        run.out
            .contains(&format!("ID 1234 ANSWERS 2 FROM 127.0.0.1 {}", dns.port())),
        "{}",
        run.ctx()
    );
    assert!(run.out.contains("A 192.0.2.11"), "{}", run.ctx());
}

/// glibc's own resolver (`getaddrinfo`) through the relay, with the sandbox's /etc/resolv.conf
/// naming 127.0.0.1: the test's DNS server must listen on the host's port 53 for that, which
/// needs root (and a free port). Its RFC 3484 sort then UDP-connects to both addresses the name
/// has: refused and recorded, and the run goes on.
#[test]
fn getaddrinfo_resolves_through_the_relay_as_root() {
    if !is_root() {
        eprintln!("SKIP: binding the host's port 53 needs root");
        return;
    }
    let Some(dns) = Server::start("127.0.0.1:53", dns_answer) else {
        eprintln!("SKIP: the host's 127.0.0.1:53 is taken");
        return;
    };
    let dir = fresh_dir("resolv");
    let conf = dir.join("resolv.conf");
    std::fs::write(
        &conf,
        "nameserver 127.0.0.1\noptions timeout:5 attempts:1\n",
    )
    .unwrap();
    let mut pb = tool_allowing(&["udp:127.0.0.1:53".to_string()]);
    pb.add_file_at(&conf, "/etc/resolv.conf", false);
    let script =
        "r = socket.getaddrinfo('sbx-dns.example', 80, socket.AF_INET, socket.SOCK_STREAM)\n\
         print('RESOLVED', sorted(set(a[4][0] for a in r)))\n";
    let Some(run) = run_py(script, &pb) else {
        return;
    };
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    assert!(
        run.out.contains("RESOLVED ['192.0.2.10', '192.0.2.11']"),
        "{}",
        run.ctx()
    );
    assert!(dns.got() >= 1);
    // The address-selection probes: refused, recorded, not a violation.
    let mut probed: Vec<&str> = run
        .r
        .denied_connects
        .iter()
        .map(|d| d.address.as_str())
        .collect();
    probed.sort_unstable();
    assert_eq!(
        probed,
        ["udp:192.0.2.10:80", "udp:192.0.2.11:80"],
        "{}",
        run.ctx()
    );
}

/// The host's own non-loopback IPv4 address, if it has one (the source address of its default
/// route; nothing is sent).
fn host_ipv4() -> Option<IpAddr> {
    let s = UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("198.51.100.1:9").ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// An entry on an address the sandbox's lo lacks: the init adds it there, and the relay's host
/// socket reaches the host's own address.
#[test]
fn an_entry_on_the_hosts_own_address_is_made_local_in_the_sandbox() {
    let Some(ip) = host_ipv4() else {
        eprintln!("SKIP: the host has no non-loopback IPv4 address");
        return;
    };
    let Some(server) = Server::echo(&format!("{ip}:0")) else {
        eprintln!("SKIP: cannot bind {ip}");
        return;
    };
    let pb = tool_allowing(&[format!("udp:{ip}:{}", server.port())]);
    let Some(run) = run_py(&echo_script(&ip.to_string(), server.port()), &pb) else {
        return;
    };
    check_echo(&run, &ip.to_string(), server.port());
    assert_eq!(server.got(), 2);
}

/// The relay socket of an entry below 1024 binds in the sandbox's namespace whoever the caller
/// is (the init is root of the sandbox's user namespace): the sandbox's `/proc/net/udp` lists
/// it, on `lo`'s 127.0.0.1 and on an address added to `lo`. Nothing is sent.
#[test]
fn a_relay_below_1024_binds_in_the_sandbox() {
    let pb = tool_allowing(&[
        "udp:127.0.0.1:53".to_string(),
        "udp:10.53.0.1:53".to_string(),
    ]);
    let script = "print(open('/proc/net/udp').read())
";
    let Some(run) = run_py(script, &pb) else {
        return;
    };
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    // Local address and port in /proc/net/udp: the address in host byte order (x86: little
    // endian), the port big-endian hex.
    for local in [[127u8, 0, 0, 1], [10, 53, 0, 1]] {
        let hex = format!("{:08X}:0035", u32::from_ne_bytes(local));
        assert!(run.out.contains(&hex), "{hex}\n{}", run.ctx());
    }
}

/// This process's sockets tied to `addr`: `(relay, flows)`, the ones bound to it in another
/// network namespace (a sandbox's relay socket) and the ones connected to it (the relay's host
/// sockets). Both must be 0 once the sandboxes using `addr` have ended.
fn sockets_of(addr: SocketAddr) -> (usize, usize) {
    let own = netns_cookie(UdpSocket::bind("127.0.0.1:0").unwrap().as_raw_fd());
    let (mut relay, mut flows) = (0, 0);
    for e in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        let Some(fd) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let is_socket =
            std::fs::read_link(e.path()).is_ok_and(|l| l.to_string_lossy().starts_with("socket:"));
        if !is_socket {
            continue;
        }
        if sockaddr_of(fd, libc::getsockname) == Some(addr) && netns_cookie(fd) != own {
            relay += 1;
        }
        if sockaddr_of(fd, libc::getpeername) == Some(addr) {
            flows += 1;
        }
    }
    (relay, flows)
}

fn netns_cookie(fd: i32) -> Option<u64> {
    const SO_NETNS_COOKIE: libc::c_int = 71;
    let mut v = 0u64;
    let mut len = 8 as libc::socklen_t;
    // SAFETY: the kernel writes at most `len` bytes into `v`.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            SO_NETNS_COOKIE,
            (&raw mut v).cast(),
            &mut len,
        )
    };
    (r == 0).then_some(v)
}

type NameFn = unsafe extern "C" fn(i32, *mut libc::sockaddr, *mut libc::socklen_t) -> i32;

/// An inet socket's local or peer address (`getsockname` or `getpeername`).
fn sockaddr_of(fd: i32, f: NameFn) -> Option<SocketAddr> {
    // SAFETY: sockaddr_storage is plain data; the kernel writes at most `len` bytes.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: as above.
    if unsafe { f(fd, (&raw mut ss).cast(), &mut len) } != 0 {
        return None;
    }
    match i32::from(ss.ss_family) {
        libc::AF_INET => {
            // SAFETY: the kernel wrote a sockaddr_in.
            let a: libc::sockaddr_in = unsafe { std::ptr::read((&raw const ss).cast()) };
            let ip = std::net::Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Some(SocketAddr::from((ip, u16::from_be(a.sin_port))))
        }
        _ => None,
    }
}

/// More flows than the relay keeps: each new one replaces the least recently used, so every
/// socket that waits for its answer gets it.
#[test]
fn more_flows_than_the_bound_all_get_their_answers() {
    let s = Server::echo("127.0.0.1:0").unwrap();
    let pb = tool_allowing(&[format!("udp:127.0.0.1:{}", s.port())]);
    let script = format!(
        "n = 0\nfor i in range(80):\n    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n    \
         u.settimeout(10)\n    u.sendto(b'x%d' % i, ('127.0.0.1', {port}))\n    \
         if u.recvfrom(100)[0] == b'ECHO:x%d' % i:\n        n += 1\n    u.close()\n\
         print('ANSWERED', n)\n",
        port = s.port()
    );
    let Some(run) = run_py(&script, &pb) else {
        return;
    };
    assert!(run.out.contains("ANSWERED 80"), "{}", run.ctx());
    assert_eq!(s.got(), 80);
    // Every relay and host socket closed with the sandbox.
    assert_eq!(sockets_of(s.addr), (0, 0));
}

#[test]
fn the_build_names_what_a_udp_entry_needs() {
    let mut pb = allow_all();
    pb.allow_connect("udp:127.0.0.1:53")
        .network_namespace(sbx::namespaces::NetNs::Shared);
    let e = pb.build().unwrap_err().to_string();
    assert!(e.contains("udp:") && e.contains("NetNs::Shared"), "{e}");
    let mut pb = allow_all();
    pb.allow_connect("udp:127.0.0.1:53").share_network();
    let e = pb.build().unwrap_err().to_string();
    assert!(e.contains("share_network"), "{e}");
    let mut pb = allow_all();
    pb.allow_connect("udp:127.0.0.1:53")
        .monitor(sbx::Monitor::Ptrace);
    let e = pb.build().unwrap_err().to_string();
    assert!(e.contains("ptrace monitor does not proxy"), "{e}");
    for (spec, says) in [
        ("udp:10.0.0.0/8:53", "not a network"),
        ("udp:1.2.3.4:0", "one port"),
    ] {
        let mut pb = allow_all();
        pb.allow_connect(spec);
        let e = pb.build().unwrap_err().to_string();
        assert!(e.contains(spec) && e.contains(says), "{e}");
    }
}
