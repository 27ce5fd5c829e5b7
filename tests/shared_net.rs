//! The shared empty network namespace (`NetNs::Shared`, issue 11): sandboxes asking for it run
//! in one network namespace of the process (not the host's), with `lo` up, and can therefore
//! reach each other's loopback listeners; per-sandbox namespaces stay apart. Root callers only:
//! anyone else gets an error naming the default to use instead.

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

fn net_ns(run: &Run) -> String {
    let l = run.out.lines().find(|l| l.starts_with("net:[")).unwrap_or_else(|| panic!("{}", run.ctx()));
    l.to_string()
}

#[test]
#[allow(clippy::many_single_char_names)] // a, b: the two sandboxes
fn shared_sandboxes_share_one_namespace_that_is_not_the_hosts() {
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
    // The port A listens on, from its first line.
    let mut f = std::io::BufReader::new(std::fs::File::from(rd));
    let mut line = String::new();
    std::io::BufRead::read_line(&mut f, &mut line).unwrap();
    let port: u16 = line.trim().parse().unwrap_or_else(|_| panic!("A printed {line:?}"));
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
