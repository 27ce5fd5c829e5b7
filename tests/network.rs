//! Network allow-lists (issue 14): the sandboxee's `connect` goes to the supervisor, which
//! connects allowed endpoints on the host and refuses the rest. Every target is a listener this
//! test process opened on the host (127.0.0.1, ::1, unix paths, abstract names); a listener
//! that must stay unreached counts its connections, and the count must stay 0.
//!
//! The proxy runs in the user-notify monitor: under `SBX_TEST_MONITOR=ptrace` each test checks
//! instead that the combination is refused at build time, naming the monitor.

// Tests: their casts are of constants and of values the tests make themselves.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

mod common;

use common::*;
use sbx::policy::net::OnDenied;
use sbx::{Executor, PolicyBuilder, Reason, Status};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A host listener answering every connection with one line, counting them; stops when dropped
/// (and after 60 s whatever happens).
struct Server {
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

trait Accept: Send + 'static {
    fn accept_one(&self) -> Option<Box<dyn Write>>;
}

impl Accept for TcpListener {
    fn accept_one(&self) -> Option<Box<dyn Write>> {
        self.accept().ok().map(|(s, _)| {
            let _ = s.set_nonblocking(false);
            Box::new(s) as Box<dyn Write>
        })
    }
}

impl Accept for UnixListener {
    fn accept_one(&self) -> Option<Box<dyn Write>> {
        self.accept().ok().map(|(s, _)| {
            let _ = s.set_nonblocking(false);
            Box::new(s) as Box<dyn Write>
        })
    }
}

impl Server {
    fn start<L: Accept>(listener: L, reply: &'static str) -> Server {
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (a, s) = (Arc::clone(&accepted), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            let until = Instant::now() + Duration::from_secs(60);
            while !s.load(Ordering::Relaxed) && Instant::now() < until {
                match listener.accept_one() {
                    Some(mut c) => {
                        a.fetch_add(1, Ordering::Relaxed);
                        let _ = c.write_all(reply.as_bytes());
                    }
                    None => std::thread::sleep(Duration::from_millis(1)),
                }
            }
        });
        Server {
            accepted,
            stop,
            thread: Some(thread),
        }
    }

    fn tcp(addr: &str, reply: &'static str) -> Option<(Server, u16)> {
        let l = TcpListener::bind(addr).ok()?;
        l.set_nonblocking(true).unwrap();
        let port = l.local_addr().unwrap().port();
        Some((Server::start(l, reply), port))
    }

    fn unix(path: &Path, reply: &'static str) -> Server {
        let l = UnixListener::bind(path).unwrap();
        l.set_nonblocking(true).unwrap();
        Server::start(l, reply)
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
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

fn allowing(specs: &[String]) -> PolicyBuilder {
    let mut pb = allow_all();
    for s in specs {
        pb.allow_connect(s);
    }
    pb
}

fn run_net(args: &[&str], pb: &PolicyBuilder) -> Option<Run> {
    let policy = build_net(pb)?;
    Some(run_capture(attack(args[0], &args[1..]), policy))
}

/// A directory outside the sandbox's view (the work dir is bound into it).
fn outside_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sbx-net-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn allowed_tcp_endpoints_on_the_host_answer() {
    let (s4, p4) = Server::tcp("127.0.0.1:0", "HELLO4\n").unwrap();
    let six = Server::tcp("[::1]:0", "HELLO6\n");
    let mut specs = vec![format!("127.0.0.1:{p4}")];
    if let Some((_, p6)) = &six {
        specs.push(format!("[::1]:{p6}"));
    }
    let pb = allowing(&specs);
    let p4s = p4.to_string();
    let Some(run) = run_net(&["connect", "4", "127.0.0.1", &p4s], &pb) else {
        return;
    };
    assert!(
        run.out.contains("RETURNED connect ok") && run.out.contains("GOT HELLO4"),
        "{}",
        run.ctx()
    );
    assert!(run.r.denied_connects.is_empty(), "{}", run.ctx());
    assert!(
        run.r.fences.contains(&"network_allow_list"),
        "{}",
        run.ctx()
    );
    // The socket put in place keeps the fd's flags: close-on-exec, blocking.
    assert!(run.out.contains("FDFLAGS cloexec=1\nnonblock=0\n"), "{}", run.ctx());
    // Non-blocking: the call returns once the host connect is done; the socket stays
    // non-blocking; an fd made without SOCK_CLOEXEC stays inheritable.
    let run = run_net(&["connect", "4", "127.0.0.1", &p4s, "nb", "inherit"], &pb).unwrap();
    assert!(run.out.contains("GOT HELLO4"), "{}", run.ctx());
    assert!(run.out.contains("FDFLAGS cloexec=0\nnonblock=1\n"), "{}", run.ctx());
    assert_eq!(s4.accepted(), 2);
    match &six {
        Some((s6, p6)) => {
            let run = run_net(&["connect", "6", "::1", &p6.to_string()], &pb).unwrap();
            assert!(run.out.contains("GOT HELLO6"), "{}", run.ctx());
            assert_eq!(s6.accepted(), 1);
        }
        None => eprintln!("no IPv6 loopback on this host: the ::1 case was not run"),
    }
}

#[test]
fn a_denied_port_is_a_network_violation_naming_the_address() {
    let (ok, p_ok) = Server::tcp("127.0.0.1:0", "OK\n").unwrap();
    let (other, p_other) = Server::tcp("127.0.0.1:0", "LEAKED\n").unwrap();
    let pb = allowing(&[format!("127.0.0.1:{p_ok}")]);
    let Some(run) = run_net(&["connect", "4", "127.0.0.1", &p_other.to_string()], &pb) else {
        return;
    };
    assert_eq!(run.r.status, Status::Violation, "{}", run.ctx());
    assert_eq!(
        run.r.reason(),
        Some(Reason::ViolationNetwork),
        "{}",
        run.ctx()
    );
    let v = run.r.violation.as_ref().unwrap();
    assert_eq!(v.name, "connect");
    let d = &run.r.denied_connects[0];
    assert_eq!(d.address, format!("127.0.0.1:{p_other}"));
    assert_eq!(d.family, "inet");
    assert_eq!(d.pid, v.pid);
    assert!(
        run.r.describe().contains(&format!("127.0.0.1:{p_other}")),
        "{}",
        run.r.describe()
    );
    assert!(!run.out.contains("LEAKED"), "{}", run.ctx());
    assert_eq!(other.accepted(), 0, "the denied listener was reached");
    assert_eq!(ok.accepted(), 0);
}

#[test]
fn a_denied_address_is_refused_and_with_an_errno_the_run_goes_on() {
    // 127.0.0.2 is another loopback address of the host: same port, another address.
    let Some((other, port)) = Server::tcp("127.0.0.2:0", "LEAKED\n") else {
        eprintln!("cannot bind 127.0.0.2 here: test not run");
        return;
    };
    let mut pb = allowing(&[format!("127.0.0.1:{port}")]);
    pb.on_denied_connect(OnDenied::Errno(libc::ECONNREFUSED as u16));
    let Some(run) = run_net(&["connect", "4", "127.0.0.2", &port.to_string()], &pb) else {
        return;
    };
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    assert!(
        run.out.contains("RETURNED connect errno 111"),
        "{}",
        run.ctx()
    );
    assert_eq!(run.r.denied_connects.len(), 1, "{}", run.ctx());
    assert_eq!(
        run.r.denied_connects[0].address,
        format!("127.0.0.2:{port}")
    );
    assert_eq!(other.accepted(), 0, "the denied listener was reached");
}

/// The sandboxee rewrites the port while its connect is being decided: the supervisor decides
/// and connects on one copy, so the denied listener is never reached.
#[test]
fn an_address_rewritten_during_the_connect_never_reaches_a_denied_port() {
    let (good, p_good) = Server::tcp("127.0.0.1:0", "OK\n").unwrap();
    let (bad, p_bad) = Server::tcp("127.0.0.1:0", "LEAKED\n").unwrap();
    let mut pb = allowing(&[format!("127.0.0.1:{p_good}")]);
    pb.on_denied_connect(OnDenied::Errno(libc::ECONNREFUSED as u16));
    let args = [
        "connect_race",
        &p_good.to_string(),
        &p_bad.to_string(),
        "300",
    ];
    let Some(run) = run_net(&args.map(|s| s as &str), &pb) else {
        return;
    };
    assert!(run.out.contains("RACE connected="), "{}", run.ctx());
    assert_eq!(
        bad.accepted(),
        0,
        "the rewritten address reached the denied port\n{}",
        run.ctx()
    );
    let line = run
        .out
        .lines()
        .find(|l| l.starts_with("RACE"))
        .unwrap_or_default();
    eprintln!(
        "race: {line} (the allowed listener counted {})",
        good.accepted()
    );
}

/// The allowed path is swapped between the real socket (a hard link) and a symlink to another
/// socket while the sandboxee connects in a loop: no connect reaches the symlink's target.
#[test]
fn a_symlink_swapped_onto_an_allowed_unix_path_is_refused_and_reported() {
    let dir = outside_dir("swap");
    let real = dir.join("real.sock");
    let secret = dir.join("secret.sock");
    let allowed = dir.join("allowed.sock");
    let _real = Server::unix(&real, "ALLOWED\n");
    let secret_server = Server::unix(&secret, "SECRET\n");
    std::fs::hard_link(&real, &allowed).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let (stop, dir, real, allowed) = (
            Arc::clone(&stop),
            dir.clone(),
            real.clone(),
            allowed.clone(),
        );
        std::thread::spawn(move || {
            let tmp = dir.join("tmp");
            let until = Instant::now() + Duration::from_secs(30);
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) && Instant::now() < until {
                let _ = std::fs::remove_file(&tmp);
                if i % 2 == 0 {
                    std::os::unix::fs::symlink("secret.sock", &tmp).unwrap();
                } else {
                    std::fs::hard_link(&real, &tmp).unwrap();
                }
                std::fs::rename(&tmp, &allowed).unwrap();
                i += 1;
                std::thread::sleep(Duration::from_micros(200));
            }
        })
    };
    let mut pb = allowing(&[format!("unix:{}", allowed.display())]);
    pb.on_denied_connect(OnDenied::Errno(libc::ECONNREFUSED as u16));
    let path = allowed.to_string_lossy().into_owned();
    let run = run_net(&["unixloop", &path, "400"], &pb);
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let Some(run) = run else { return };
    assert!(run.out.contains("COUNTS allowed="), "{}", run.ctx());
    assert!(
        run.out.contains("secret=0\n"),
        "a symlink was followed\n{}",
        run.ctx()
    );
    assert_eq!(
        secret_server.accepted(),
        0,
        "the symlink's target was reached"
    );
    assert!(
        !run.out.contains("allowed=0\n"),
        "the real socket was never reached\n{}",
        run.ctx()
    );
    let symlinks = run
        .r
        .denied_connects
        .iter()
        .filter(|d| d.why.contains("symlink"))
        .count();
    assert!(symlinks > 0, "no denial names the symlink\n{}", run.ctx());
}

#[test]
fn a_symlinked_parent_of_an_allowed_unix_path_is_not_followed() {
    // sandbox2's CanonicalizeSocketPathSymlinkParent resolves symlinks in a listed path's
    // directories before comparing. libsbx compares the path as written and opens it on the host
    // with no symlink anywhere in it: a parent directory that is a symlink fails closed.
    let dir = outside_dir("parent");
    std::fs::create_dir(dir.join("real")).unwrap();
    let server = Server::unix(&dir.join("real/s.sock"), "REACHED\n");
    std::os::unix::fs::symlink("real", dir.join("link")).unwrap();
    let through_link = dir.join("link/s.sock").to_string_lossy().into_owned();
    let real = dir.join("real/s.sock").to_string_lossy().into_owned();
    let pb = allowing(&[format!("unix:{through_link}"), format!("unix:{real}")]);
    let denied = run_net(&["connect", "unix", &through_link, "0"], &pb);
    let allowed = run_net(&["connect", "unix", &real, "0"], &pb);
    let _ = std::fs::remove_dir_all(&dir);
    let (Some(run), Some(control)) = (denied, allowed) else {
        return;
    };
    assert_eq!(run.r.status, Status::Violation, "{}", run.ctx());
    assert_eq!(run.r.reason(), Some(Reason::ViolationNetwork), "{}", run.ctx());
    let d = &run.r.denied_connects[0];
    assert_eq!(d.address, format!("unix:{through_link}"));
    assert!(d.why.contains("symlink"), "{d:?}");
    assert!(!run.out.contains("REACHED"), "{}", run.ctx());
    // The same socket by its real path: the listener is reachable, so the refusal above is the
    // symlink's.
    assert!(control.out.contains("GOT REACHED"), "{}", control.ctx());
    assert_eq!(server.accepted(), 1);
}

#[test]
fn a_unix_datagram_socket_reaches_no_listed_path() {
    // sandbox2's ProxyDatagramUnixSocketBlocked: a datagram needs no connect (sendto names the
    // peer), so the proxy cannot vouch for one. Here sendto resolves the path in the sandbox's
    // own view, where the host's socket is not, and a connect of a unix datagram socket under an
    // allow-list is refused as a network violation even for a listed path.
    let dir = outside_dir("dgram");
    let path = dir.join("host.sock");
    let host = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    host.set_nonblocking(true).unwrap();
    let p = path.to_string_lossy().into_owned();
    let pb = allowing(&[format!("unix:{p}")]);
    let run = run_net(&["dgram", &p], &pb);
    let mut buf = [0u8; 64];
    let got = host.recv(&mut buf);
    drop(host);
    let _ = std::fs::remove_dir_all(&dir);
    let Some(run) = run else { return };
    assert!(got.is_err(), "the host socket received {got:?}\n{}", run.ctx());
    assert!(
        run.out.contains(&format!("RETURNED sendto errno {}\n", libc::ENOENT)),
        "{}",
        run.ctx()
    );
    assert_eq!(run.r.status, Status::Violation, "{}", run.ctx());
    assert_eq!(run.r.reason(), Some(Reason::ViolationNetwork), "{}", run.ctx());
    let d = &run.r.denied_connects[0];
    assert_eq!(d.address, format!("unix:{p}"));
    assert!(d.why.contains("datagram"), "{d:?}");
}

#[test]
fn abstract_names_allowed_reach_the_host_and_others_stay_in_the_sandbox() {
    use std::os::linux::net::SocketAddrExt;
    let name = format!("sbx-net-test-{}", std::process::id());
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let l = UnixListener::bind_addr(&addr).unwrap();
    l.set_nonblocking(true).unwrap();
    let host = Server::start(l, "ABSTRACT\n");
    let other = format!("{name}-unlisted");
    let addr2 = std::os::unix::net::SocketAddr::from_abstract_name(other.as_bytes()).unwrap();
    let l2 = UnixListener::bind_addr(&addr2).unwrap();
    l2.set_nonblocking(true).unwrap();
    let unlisted = Server::start(l2, "LEAKED\n");
    let pb = allowing(&[format!("abstract:{name}")]);
    let Some(run) = run_net(&["connect", "unix", &format!("@{name}"), "0"], &pb) else {
        return;
    };
    assert!(run.out.contains("GOT ABSTRACT"), "{}", run.ctx());
    // Not listed: looked up in the sandbox's own network namespace, where nothing listens.
    let run = run_net(&["connect", "unix", &format!("@{other}"), "0"], &pb).unwrap();
    assert!(
        run.out.contains("RETURNED connect errno 111"),
        "{}",
        run.ctx()
    );
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    assert_eq!(host.accepted(), 1);
    assert_eq!(unlisted.accepted(), 0);
}

#[test]
fn an_unlisted_unix_path_is_looked_up_in_the_sandbox_view() {
    let dir = outside_dir("view");
    let sock = dir.join("host.sock");
    let host = Server::unix(&sock, "LEAKED\n");
    let pb = allowing(&["127.0.0.1:1".to_string()]);
    let path = sock.to_string_lossy().into_owned();
    let run = run_net(&["connect", "unix", &path, "0"], &pb);
    let _ = std::fs::remove_dir_all(&dir);
    let Some(run) = run else { return };
    // The sandbox's view has no such path.
    assert!(
        run.out.contains("RETURNED connect errno 2"),
        "{}",
        run.ctx()
    );
    assert_eq!(host.accepted(), 0);
}

/// A host HTTP server on 127.0.0.1 answering one request with `body` (HTTP/1.0); it ends after
/// that request or when dropped.
fn http_once(body: &'static str) -> (u16, Server) {
    struct Http(TcpListener, &'static str);
    impl Accept for Http {
        fn accept_one(&self) -> Option<Box<dyn Write>> {
            let (mut c, _) = self.0.accept().ok()?;
            c.set_nonblocking(false).ok()?;
            c.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
            let mut req = [0u8; 1024];
            let _ = c.read(&mut req);
            let head = format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", self.1.len());
            let _ = c.write_all(head.as_bytes());
            Some(Box::new(c))
        }
    }
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let port = l.local_addr().unwrap().port();
    (port, Server::start(Http(l, body), body))
}

/// `tool_default()` allowing 127.0.0.1:`port`, under the test monitor (`None` under ptrace).
fn tool_policy_for(port: u16) -> Option<sbx::Policy> {
    let mut pb = sbx::policy::presets::tool_default();
    pb.allow_connect(&format!("127.0.0.1:{port}"));
    build_net(&pb)
}

/// `python3 -c CODE` (its stderr into stdout) under [`tool_policy_for`] `port`.
fn python_allowed(port: u16, code: &str) -> Option<Run> {
    let policy = tool_policy_for(port)?;
    let mut ex = Executor::new("/usr/bin/python3");
    ex.args(["-c", &format!("import sys\nsys.stderr = sys.stdout\n{code}")]);
    Some(run_capture(ex, policy))
}

#[test]
fn python_urllib_gets_a_page_from_an_allowed_host_server() {
    let (port, server) = http_once("hello-from-host");
    let Some(run) = python_allowed(
        port,
        &format!(
            "import urllib.request\n\
             print(urllib.request.urlopen('http://127.0.0.1:{port}/', timeout=10).read().decode())"
        ),
    ) else {
        return;
    };
    drop(server);
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    assert!(run.out.contains("hello-from-host"), "{}", run.ctx());
}

#[test]
fn curl_gets_a_page_and_is_refused_elsewhere() {
    if !Path::new("/usr/bin/curl").exists() {
        eprintln!("no curl here: test not run");
        return;
    }
    let (port, server) = http_once("curl-page");
    let Some(policy) = tool_policy_for(port) else {
        return;
    };
    let mut ex = Executor::new("/usr/bin/curl");
    ex.args([
        "-sS",
        "--max-time",
        "10",
        &format!("http://127.0.0.1:{port}/"),
    ]);
    let run = run_capture(ex, policy.clone());
    drop(server);
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    assert!(run.out.contains("curl-page"), "{}", run.ctx());
    // Another port: a network violation.
    let mut ex = Executor::new("/usr/bin/curl");
    ex.args([
        "-sS",
        "--max-time",
        "10",
        &format!("http://127.0.0.1:{}/", port ^ 1),
    ]);
    let run = run_capture(ex, policy);
    assert_eq!(
        run.r.reason(),
        Some(Reason::ViolationNetwork),
        "{}",
        run.ctx()
    );
}

#[test]
fn the_build_names_what_an_allow_list_needs() {
    let mut pb = allow_all();
    pb.allow_connect("127.0.0.1:80")
        .monitor(sbx::Monitor::Ptrace);
    let e = pb.build().unwrap_err().to_string();
    assert!(e.contains("ptrace monitor does not proxy"), "{e}");
    let mut pb = allow_all();
    pb.allow_connect("127.0.0.1:80").share_network();
    let e = pb.build().unwrap_err().to_string();
    assert!(e.contains("share_network"), "{e}");
    // Without namespaces the sandbox has the host's network: nothing for a list to narrow
    // (sandbox2's EnableLandlockWithoutProxyOrUnrestrictedNetworkingRejects, the other way round).
    let mut pb = allow_all_no_ns();
    pb.allow_connect("127.0.0.1:80");
    assert!(pb.build().is_err(), "an allow-list without namespaces was accepted");
    let mut pb = allow_all();
    pb.allow_connect("10.0.0.0/33:80");
    let e = pb.build().unwrap_err().to_string();
    assert!(e.contains("10.0.0.0/33:80") && e.contains("prefix"), "{e}");
}

/// Not a test of the proxy: the listener addresses these tests use are the host's.
#[test]
fn listeners_are_on_the_host() {
    let (_s, p) = Server::tcp("127.0.0.1:0", "X\n").unwrap();
    let a: SocketAddr = format!("127.0.0.1:{p}").parse().unwrap();
    let mut c = std::net::TcpStream::connect_timeout(&a, Duration::from_secs(5)).unwrap();
    let mut buf = String::new();
    c.read_to_string(&mut buf).unwrap();
    assert_eq!(buf, "X\n");
}

/// A static Go binary (its own runtime, no libc, non-blocking sockets in epoll): an allowed dial
/// reads the host listener's line; a dial elsewhere is a network violation.
#[test]
fn a_go_binary_dials_an_allowed_host_and_is_refused_elsewhere() {
    let go = Path::new("/usr/local/go/bin/go");
    if !go.is_file() {
        eprintln!("SKIP: Go is not installed at /usr/local/go");
        return;
    }
    let src = fresh_dir("godial");
    std::fs::write(src.join("go.mod"), "module example.com/dial\n\ngo 1.21\n").unwrap();
    std::fs::write(
        src.join("main.go"),
        "package main\n\nimport (\n\t\"bufio\"\n\t\"fmt\"\n\t\"net\"\n\t\"os\"\n)\n\n\
         func main() {\n\tc, err := net.Dial(\"tcp\", os.Args[1])\n\tif err != nil {\n\t\t\
         fmt.Println(\"DIAL\", err)\n\t\tos.Exit(3)\n\t}\n\tline, err := bufio.NewReader(c).\
         ReadString('\\n')\n\tfmt.Printf(\"GOT %s\", line)\n\tif err != nil {\n\t\t\
         fmt.Println(\"READ\", err)\n\t}\n}\n",
    )
    .unwrap();
    let bin = src.join("dial");
    let cache = work_dir().join("go-cache");
    let out = std::process::Command::new(go)
        .args(["build", "-o"])
        .arg(&bin)
        .arg(".")
        .current_dir(&src)
        .env("CGO_ENABLED", "0")
        .env("GOCACHE", &cache)
        .env("GOPATH", work_dir().join("go"))
        .env("HOME", work_dir())
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-mod=mod")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "go build: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (server, port) = Server::tcp("127.0.0.1:0", "FROM-HOST\n").unwrap();
    let (other, other_port) = Server::tcp("127.0.0.1:0", "LEAKED\n").unwrap();
    let pb = allowing(&[format!("127.0.0.1:{port}")]);
    let Some(policy) = build_net(&pb) else { return };
    let mut ex = Executor::new(&bin);
    ex.arg(format!("127.0.0.1:{port}"));
    let run = run_capture(ex, policy.clone());
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    assert!(run.out.contains("GOT FROM-HOST"), "{}", run.ctx());
    assert_eq!(server.accepted(), 1);
    let mut ex = Executor::new(&bin);
    ex.arg(format!("127.0.0.1:{other_port}"));
    let run = run_capture(ex, policy);
    assert_eq!(
        run.r.reason(),
        Some(Reason::ViolationNetwork),
        "{}",
        run.ctx()
    );
    assert_eq!(
        run.r.denied_connects[0].address,
        format!("127.0.0.1:{other_port}")
    );
    assert_eq!(other.accepted(), 0);
}

/// Landlock's TCP rule as a second fence (ABI 4): under an allow-list whose TCP entries all
/// name a port, the sandboxee's domain handles `connect_tcp` with those ports (what an allowed
/// program does is unchanged: the proxy connects for it); an entry for any port leaves the fence
/// out, and the result says which.
#[test]
fn the_allow_lists_tcp_ports_are_a_landlock_fence_too() {
    let (server, port) = Server::tcp("127.0.0.1:0", "HELLO\n").unwrap();
    let p = port.to_string();
    let Some(run) = run_net(&["connect", "4", "127.0.0.1", &p], &allowing(&[format!("127.0.0.1:{p}")])) else {
        return;
    };
    assert!(run.out.contains("GOT HELLO"), "{}", run.ctx());
    assert_eq!(server.accepted(), 1);
    let abi = sbx::landlock::abi().unwrap_or(0);
    let fenced = run.r.fences.contains(&"landlock_network");
    let rights = run.r.landlock.map(|l| l.net_rights()).unwrap_or_default();
    if abi >= 4 {
        assert!(fenced && rights == ["connect_tcp"], "{}", run.ctx());
    } else {
        assert!(!fenced && rights.is_empty(), "{}", run.ctx());
    }
    // Any port on a network: no port rule can say that, so no network fence.
    let any = run_net(&["exit", "0"], &allowing(&["127.0.0.0/8:0".to_string()])).unwrap();
    assert!(!any.r.fences.contains(&"landlock_network"), "{}", any.ctx());
    assert_eq!(any.r.landlock.map(|l| l.net), Some(0).filter(|_| abi >= 1), "{}", any.ctx());
}

/// Connects from a second thread (whose tid is not the process's pid) and from the main one,
/// each several times on the same fd number with its close-on-exec flag changing: every one
/// reaches the host, and the socket put in place keeps the fd's flag of that connect.
#[test]
fn a_second_thread_connects_and_each_connect_keeps_its_fd_flags() {
    let (s, port) = Server::tcp("127.0.0.1:0", "FROM-HOST\n").unwrap();
    let Some(run) = python_allowed(
        port,
        &format!(
            "import fcntl, os, socket, threading\n\
             def f(who):\n    for inherit in (False, True, False):\n        \
             s = socket.socket()\n        s.set_inheritable(inherit)\n        \
             s.connect(('127.0.0.1', {port}))\n        \
             cloexec = fcntl.fcntl(s.fileno(), fcntl.F_GETFD) & fcntl.FD_CLOEXEC\n        \
             nonblock = fcntl.fcntl(s.fileno(), fcntl.F_GETFL) & os.O_NONBLOCK\n        \
             print(who, s.recv(100).decode().strip(), 'inherit', int(inherit), 'cloexec', \
             int(bool(cloexec)), 'nonblock', int(bool(nonblock)), flush=True)\n        s.close()\n\
             t = threading.Thread(target=f, args=('thread',))\nt.start()\nt.join()\nf('main')\n"
        ),
    ) else {
        return;
    };
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    for who in ["thread", "main"] {
        for inherit in [0, 1] {
            let cloexec = 1 - inherit;
            let line = format!("{who} FROM-HOST inherit {inherit} cloexec {cloexec} nonblock 0");
            assert!(run.out.contains(&line), "{line}: {}", run.ctx());
        }
    }
    assert_eq!(s.accepted(), 6);
}
