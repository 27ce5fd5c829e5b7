//! The shared empty network namespace (`NetNs::Shared`, issue 11): sandboxes asking for it run
//! in one network namespace of the process (not the host's), with `lo` up, and can therefore
//! reach each other's loopback listeners; per-sandbox namespaces stay apart. Root callers only:
//! anyone else gets an error naming the default to use instead.
//!
//! The pool of fresh namespaces (`spawn/netns.rs`): a root caller's per-sandbox namespaces come
//! made ahead of the clone, owned by the host's user namespace (that is how the tests tell them
//! from the ones the clone makes, owned by the sandbox's); each is one sandbox's only, with `lo`
//! up, and one sandbox cannot reach another's listener on it.

mod common;

use common::*;
use sbx::namespaces::NetNs;
use sbx::{Executor, Sandbox, Status};

/// The tool policy with TCP sockets (its own rules refuse AF_INET) and `net`.
fn policy(net: NetNs) -> sbx::PolicyBuilder {
    let mut pb = sbx::PolicyBuilder::new();
    pb.allow_many(["socket", "bind", "listen", "accept", "accept4", "connect", "getsockname"]);
    sbx::policy::presets::tool_rules(&mut pb);
    sbx::policy::presets::tool_view(&mut pb);
    pb.network_namespace(net);
    pb
}

fn sh(script: &str) -> Executor {
    let mut ex = Executor::new("/bin/sh");
    ex.args(["-c", script]);
    ex
}

/// `Some(run)`, or `None` after checking the refusal for a caller that is not root.
fn run(net: NetNs, ex: Executor) -> Option<Run> {
    let p = build(&policy(net));
    if net == NetNs::Shared && !is_root() {
        let e = Sandbox::new(ex, p).run().unwrap_err().to_string();
        assert!(e.contains("root caller") && e.contains("per-sandbox"), "{e}");
        return None;
    }
    Some(run_capture(ex, p))
}

/// The port a listening sandbox printed as its first line, and the rest of its output.
fn listening_port(rd: std::os::fd::OwnedFd) -> (std::io::BufReader<std::fs::File>, u16) {
    let mut f = std::io::BufReader::new(std::fs::File::from(rd));
    let mut line = String::new();
    std::io::BufRead::read_line(&mut f, &mut line).unwrap();
    let port = line.trim().parse().unwrap_or_else(|_| panic!("A printed {line:?}"));
    (f, port)
}

/// One sandboxing test at a time: they take from the process's one network namespace pool, and
/// the pool test counts what it gets from it.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Waits up to 2 s until this process holds a network namespace other than its own and those in
/// `seen` (one of the pool's), so that the next sandbox finds one ready.
fn pool_ready(seen: &std::collections::HashSet<std::path::PathBuf>) {
    let own = std::fs::read_link("/proc/self/ns/net").unwrap();
    let t0 = std::time::Instant::now();
    while t0.elapsed() < std::time::Duration::from_secs(2) {
        let held = std::fs::read_dir("/proc/self/fd").unwrap().flatten().any(|e| {
            std::fs::read_link(e.path()).is_ok_and(|l| {
                l != own && !seen.contains(&l) && l.to_string_lossy().starts_with("net:[")
            })
        });
        if held {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

fn net_ns(run: &Run) -> String {
    let l = run.out.lines().find(|l| l.starts_with("net:[")).unwrap_or_else(|| panic!("{}", run.ctx()));
    l.to_string()
}

#[test]
#[allow(clippy::many_single_char_names)] // a, b: the two sandboxes
fn shared_sandboxes_share_one_namespace_that_is_not_the_hosts() {
    let _g = serial();
    let host = std::fs::read_link("/proc/self/ns/net").unwrap().to_string_lossy().into_owned();
    let Some(a) = run(NetNs::Shared, sh("readlink /proc/self/ns/net")) else { return };
    let b = run(NetNs::Shared, sh("readlink /proc/self/ns/net")).unwrap();
    assert_eq!(a.r.status, Status::Ok, "{}", a.ctx());
    assert_eq!(net_ns(&a), net_ns(&b));
    assert_ne!(net_ns(&a), host);
    let c = run(NetNs::PerSandbox, sh("readlink /proc/self/ns/net")).unwrap();
    let d = run(NetNs::PerSandbox, sh("readlink /proc/self/ns/net")).unwrap();
    assert_ne!(net_ns(&c), net_ns(&d));
    assert_ne!(net_ns(&c), net_ns(&a));
    // The supervisor went back to the host's namespace after each clone: a later sandbox
    // sharing the host's network sees the host's.
    let e = run(NetNs::Host, sh("readlink /proc/self/ns/net")).unwrap();
    assert_eq!(net_ns(&e), host);
}

#[test]
#[allow(clippy::many_single_char_names)] // a, b: the two sandboxes
fn lo_is_up_and_shared_sandboxes_reach_each_other_on_it() {
    let _g = serial();
    let listen = "import socket, sys\ns = socket.socket()\ns.bind(('127.0.0.1', 0))\ns.listen()\n\
                  print(s.getsockname()[1], flush=True)\nc, _ = s.accept()\nc.sendall(b'FROM-A')\n";
    let mut a = Executor::new("/usr/bin/python3");
    a.args(["-c", listen]);
    let (rd, wr) = pipe();
    a.stdout(sbx::Stdio::Fd(wr)).walltime(std::time::Duration::from_secs(20));
    let p = build(&policy(NetNs::Shared));
    if !is_root() {
        assert!(Sandbox::new(a, p).run().is_err());
        return;
    }
    let sa = Sandbox::new(a, p);
    sa.start().unwrap();
    let (_, port) = listening_port(rd);
    let connect = format!(
        "import socket\nprint(socket.create_connection(('127.0.0.1', {port}), timeout=10).recv(16).decode())"
    );
    let mut b = Executor::new("/usr/bin/python3");
    b.args(["-c", &connect]);
    let rb = run(NetNs::Shared, b).unwrap();
    let ra = sa.wait().unwrap();
    assert_eq!(ra.status, Status::Ok, "{}", ra.describe());
    assert!(rb.out.contains("FROM-A"), "{}", rb.ctx());
    // A per-sandbox namespace cannot reach it.
    let mut c = Executor::new("/usr/bin/python3");
    c.args(["-c", &connect]);
    let rc = run(NetNs::PerSandbox, c).unwrap();
    assert!(!rc.out.contains("FROM-A"), "{}", rc.ctx());
}

#[test]
fn host_and_shared_are_two_choices() {
    let mut pb = sbx::policy::presets::tool_default();
    pb.network_namespace(NetNs::Shared);
    assert_eq!(pb.namespace_settings().net(), NetNs::Shared);
    pb.network_namespace(NetNs::Host);
    assert_eq!(pb.namespace_settings().net(), NetNs::Host);
    pb.network_namespace(NetNs::PerSandbox);
    assert_eq!(pb.namespace_settings().net(), NetNs::PerSandbox);
}

/// The inode of the user namespace that owns the network namespace of running process `pid`.
#[allow(unsafe_code)]
fn netns_owner(pid: i32) -> u64 {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::fs::MetadataExt;
    const NS_GET_USERNS: libc::c_ulong = 0xb701;
    let ns = std::fs::File::open(format!("/proc/{pid}/ns/net")).unwrap();
    // SAFETY: an ioctl without an argument on our fd; it returns a new fd or -1.
    let fd = unsafe { libc::ioctl(ns.as_raw_fd(), NS_GET_USERNS) };
    assert!(fd >= 0, "NS_GET_USERNS: {}", std::io::Error::last_os_error());
    // SAFETY: a fresh fd owned by nobody else.
    let owner = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    owner.metadata().unwrap().ino()
}

#[test]
fn per_sandbox_namespaces_come_fresh_from_the_pool_for_root() {
    use std::os::unix::fs::MetadataExt;
    let _g = serial();
    let host_userns = std::fs::metadata("/proc/self/ns/user").unwrap().ino();
    let host_net = std::fs::read_link("/proc/self/ns/net").unwrap();
    let mut seen = std::collections::HashSet::new();
    // Held open so that no namespace of an earlier run is freed and its inode number reused.
    let mut held = Vec::new();
    let mut pooled = 0;
    for i in 0..12 {
        if is_root() {
            pool_ready(&seen);
        }
        let mut ex = sh("read x");
        let (rd, wr) = pipe();
        ex.stdin(sbx::Stdio::Fd(rd)).walltime(std::time::Duration::from_secs(20));
        let sb = Sandbox::new(ex, build(&policy(NetNs::PerSandbox)));
        sb.start().unwrap();
        let pid = running_pid(&sb);
        let net = std::fs::read_link(format!("/proc/{pid}/ns/net")).unwrap();
        held.push(std::fs::File::open(format!("/proc/{pid}/ns/net")).unwrap());
        let owner = netns_owner(pid);
        drop(wr);
        let r = sb.wait().unwrap();
        assert_eq!(r.status, Status::Ok, "{}", r.describe());
        assert_ne!(net, host_net, "run {i} is in the host's network namespace");
        assert!(seen.insert(net.clone()), "run {i} was given {net:?} a second time");
        pooled += usize::from(owner == host_userns);
    }
    if is_root() {
        // The process's first two sandboxes find no pool (it is first filled for the second;
        // this test may run first); every later one finds one ready.
        assert!(pooled >= 10, "{pooled} of 12 namespaces came from the pool");
    } else {
        assert_eq!(pooled, 0, "a caller that is not root cannot enter a namespace of the host's");
    }
}

#[test]
fn pooled_namespaces_have_lo_up_and_do_not_reach_each_other() {
    let _g = serial();
    // A listens on lo and prints its port; B, in a namespace of its own, must fail to connect
    // to it; A then connects to itself, which needs lo up.
    let listen = "import socket, sys\ns = socket.socket()\ns.bind(('127.0.0.1', 0))\ns.listen()\n\
                  print(s.getsockname()[1], flush=True)\nsys.stdin.readline()\n\
                  c = socket.create_connection(('127.0.0.1', s.getsockname()[1]), timeout=5)\n\
                  print('SELF-OK', flush=True)\n";
    let mut a = Executor::new("/usr/bin/python3");
    a.args(["-c", listen]);
    let (rd, wr) = pipe();
    let (in_rd, in_wr) = pipe();
    a.stdout(sbx::Stdio::Fd(wr))
        .stdin(sbx::Stdio::Fd(in_rd))
        .walltime(std::time::Duration::from_secs(20));
    let sa = Sandbox::new(a, build(&policy(NetNs::PerSandbox)));
    sa.start().unwrap();
    let (mut f, port) = listening_port(rd);
    let connect = format!(
        "import socket\ntry:\n socket.create_connection(('127.0.0.1', {port}), timeout=5)\n \
         print('REACHED')\nexcept OSError as e:\n print('REFUSED', e.errno)"
    );
    let mut b = Executor::new("/usr/bin/python3");
    b.args(["-c", &connect]);
    let rb = run(NetNs::PerSandbox, b).unwrap();
    assert!(rb.out.contains("REFUSED"), "{}", rb.ctx());
    drop(std::io::Write::write_all(&mut std::fs::File::from(in_wr), b"go\n"));
    let ra = sa.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut f, &mut rest).unwrap();
    assert_eq!(ra.status, Status::Ok, "{}", ra.describe());
    assert!(rest.contains("SELF-OK"), "A could not reach itself on lo: {rest:?}");
}
