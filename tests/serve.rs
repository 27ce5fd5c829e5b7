//! `sbx-run --serve`: a resident sbx-run that runs other sbx-run processes' sandboxes.
//!
//! - A run through the server is the run the client would have made: its stdout, stderr, exit
//!   status, working directory (relative `--ro` paths) and environment; a signal to the client
//!   kills the sandbox with the client's exit status; and the server counts it as served (the
//!   client did not quietly run it itself).
//! - A sandboxee that reaches the server's socket is refused (attacker `sbxserve`, speaking the
//!   wire itself, asking for an unconfined `touch` on the host): with namespaces because they
//!   are not the server's (or, for a root server, because the sandboxee runs as another uid),
//!   without namespaces because it runs under more seccomp filters.

mod common;

use common::*;
use sbx::Status;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SBX_RUN: &str = env!("CARGO_BIN_EXE_sbx-run");

struct Server {
    child: Child,
    /// `TOKEN:PATH`, as `SBX_RUN_SERVER` holds it.
    address: String,
    socket: PathBuf,
    token: String,
}

impl Server {
    /// `sbx-run --serve`, once it has printed its socket (after its warm-up runs); `None` (the
    /// test is skipped, saying why) on a kernel before 6.5, where the server refuses to start
    /// (no `SO_PEERPIDFD`: it could not check its clients).
    fn start() -> Option<Server> {
        let mut child = Command::new(SBX_RUN)
            .arg("--serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sbx-run --serve");
        let line = first_line(&mut child);
        let Some((token, socket)) = line
            .trim()
            .strip_prefix("SBX_RUN_SERVER=")
            .and_then(|a| a.split_once(':'))
        else {
            let _ = child.kill();
            let mut err = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            let _ = child.wait();
            if err.contains("Linux 6.5 or later needed") && kernel_before(6, 5) {
                eprintln!("skipped: {}", err.trim());
                return None;
            }
            panic!("the server printed {line:?}; stderr: {err}");
        };
        Some(Server {
            address: format!("{token}:{socket}"),
            socket: PathBuf::from(socket),
            token: token.to_string(),
            child,
        })
    }

    /// `sbx-run ARGS` through this server, in `cwd`.
    fn client(&self, cwd: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(SBX_RUN);
        c.args(args)
            .current_dir(cwd)
            .env("SBX_RUN_SERVER", &self.address)
            .stdin(Stdio::null());
        c
    }

    /// Ends the server (end of file on its stdin); its exit status and stderr.
    fn stop(mut self) -> (i32, String) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the server did not end 20 s after its stdin closed");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut err = String::new();
        let _ = self.child.stderr.take().unwrap().read_to_string(&mut err);
        (status.code().unwrap_or(-1), err)
    }
}

/// Whether the running kernel is older than `major.minor`.
fn kernel_before(major: u32, minor: u32) -> bool {
    let release = nix::sys::utsname::uname().map(|u| u.release().to_string_lossy().into_owned());
    let mut parts = release.as_deref().unwrap_or("0.0").split(['.', '-']);
    let mut next = || parts.next().and_then(|p| p.parse::<u32>().ok()).unwrap_or(0);
    (next(), next()) < (major, minor)
}

/// A sandboxee that says it runs (so the run was taken and the client waits for it), then
/// sleeps.
const READY_THEN_SLEEP: &str = "echo ready; exec sleep 30";

/// Waits (at most 60 s) for the client's sandboxee to print "ready" on the piped stdout.
fn wait_ready(client: &mut Child) {
    assert_eq!(first_line(client), "ready\n", "the sandboxee did not start");
}

/// The first line of `child`'s piped stdout, waiting at most 60 s (empty if none came).
fn first_line(child: &mut Child) -> String {
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(out).read_line(&mut line);
        let _ = tx.send(line);
    });
    rx.recv_timeout(Duration::from_secs(60)).unwrap_or_default()
}

/// "served N runs, refused M clients" from the server's last line.
fn counts(stderr: &str) -> (usize, usize) {
    let line = stderr.lines().last().unwrap_or_default();
    let n: Vec<usize> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(n.len(), 2, "the server's last line: {line:?}");
    (n[0], n[1])
}

#[test]
fn a_run_through_the_server_is_the_run_the_client_asks_for() {
    let Some(server) = Server::start() else {
        return;
    };
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = server
        .client(
            repo,
            &["--env", "GREETING=hi", "--", "sh", "-c", "echo $GREETING; echo err >&2; pwd; exit 7"],
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n/\n", "stderr: {stderr}");
    assert!(stderr.starts_with("err\n"), "{stderr}");
    assert!(!stderr.contains("not using the server"), "{stderr}");
    assert_eq!(out.status.code(), Some(7), "{stderr}");

    // A relative bind source is the client's working directory's.
    let out = server
        .client(repo, &["-q", "--ro", "./scripts:/s", "--", "test", "-f", "/s/test-all.sh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));

    // SIGTERM to the client kills the sandbox; the client ends with 128+15.
    let mut sleeper = server
        .client(repo, &["-q", "--", "sh", "-c", READY_THEN_SLEEP])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_ready(&mut sleeper);
    let t = Instant::now();
    let pid = nix::unistd::Pid::from_raw(i32::try_from(sleeper.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = loop {
        if let Some(s) = sleeper.try_wait().unwrap() {
            break s;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "the client still runs 10 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!((status.code(), status.signal()), (Some(143), None));

    // A compiled policy is reused only while the host paths it was made from are the same
    // files: `./tool` missing, then made, then replaced.
    let dir = fresh_dir("serve-tool");
    let tool = |body: &str| {
        let tmp = dir.join("tool.tmp");
        std::fs::write(&tmp, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        std::fs::rename(&tmp, dir.join("tool")).unwrap();
    };
    let run_tool = || server.client(&dir, &["-q", "--", "./tool"]).output().unwrap().status.code();
    assert_eq!(run_tool(), Some(125), "a missing ./tool");
    tool("exit 3");
    assert_eq!(run_tool(), Some(3), "./tool once made");
    tool("exit 4");
    assert_eq!(run_tool(), Some(4), "./tool once replaced");

    let (code, stderr) = server.stop();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(counts(&stderr), (6, 0), "{stderr}");
}

/// The attacker's request (with the server's own token: what refuses it is the peer check),
/// from a sandbox that sees the server's socket directory; the marker file the run it asks for
/// would make.
fn attack_server(server: &Server, mut pb: sbx::PolicyBuilder, namespaces: bool) -> (Run, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = server.socket.parent().unwrap();
    // A root caller's sandboxee runs as a host uid of its own, which the directory's 0700 keeps
    // out already; opened up, what refuses it is the server's own check.
    let set = |p: &Path, mode| std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode));
    set(dir, 0o711).unwrap();
    set(&server.socket, 0o777).unwrap();
    let marks = fresh_dir("serve-marks");
    let hello = format!("sbx-run-serve/1 {} {}", env!("CARGO_PKG_VERSION"), server.token);
    let args = [server.socket.to_str().unwrap(), &hello, marks.to_str().unwrap()];
    let ex = if namespaces {
        pb.add_directory_at(dir, dir, true);
        attack("sbxserve", &args)
    } else {
        attack_no_ns("sbxserve", &args)
    };
    let run = run_capture(ex, build(&pb));
    (run, marks.join("escaped"))
}

#[test]
fn a_sandboxee_that_reaches_the_socket_is_refused() {
    let Some(server) = Server::start() else {
        return;
    };
    let (run, marker) = attack_server(&server, allow_all(), true);
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    assert_eq!(run.r.exit_code, Some(RETURNED_EPERM), "{}", run.ctx());
    // A root caller's sandboxee runs as a host uid of its own; another caller's as the caller,
    // in namespaces of its own.
    let why = if is_root() { "REFUSED the peer runs as uid" } else { "REFUSED the peer is in other namespaces" };
    assert!(run.out.contains(why), "{}", run.ctx());

    let (run2, marker2) = attack_server(&server, allow_all_no_ns(), false);
    assert_eq!(run2.r.exit_code, Some(RETURNED_EPERM), "{}", run2.ctx());
    // Without namespaces an unprivileged caller's sandboxee is the caller's uid in the caller's
    // namespaces: its one more seccomp filter is what gives it away.
    let why = if is_root() { "REFUSED the peer runs as uid" } else { "REFUSED the peer runs under" };
    assert!(run2.out.contains(why), "{}", run2.ctx());

    let (code, stderr) = server.stop();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(counts(&stderr), (0, 2), "{stderr}");
    assert!(!marker.exists() && !marker2.exists(), "a refused run ran");
}

/// A supervisor that connects for its sandboxee (`allow_connect("unix:PATH")`) is the server's
/// equal: the token, which the sandboxee does not have, is what refuses it.
#[test]
fn a_connection_made_for_a_sandboxee_needs_the_token() {
    let Some(server) = Server::start() else {
        return;
    };
    let marks = fresh_dir("serve-brokered");
    let hello = format!("sbx-run-serve/1 {} {}", env!("CARGO_PKG_VERSION"), "0".repeat(32));
    let args = [server.socket.to_str().unwrap(), &hello, marks.to_str().unwrap()];
    let mut pb = allow_all();
    pb.allow_connect(&format!("unix:{}", server.socket.display()));
    let Some(policy) = build_net(&pb) else {
        let (code, stderr) = server.stop();
        assert_eq!(code, 0, "{stderr}");
        return; // the ptrace monitor brokers no connects (build_net checked its refusal)
    };
    let run = run_capture(attack("sbxserve", &args), policy);
    assert_eq!(run.r.exit_code, Some(RETURNED_EPERM), "{}", run.ctx());
    assert!(run.out.contains("REFUSED wrong token"), "{}", run.ctx());
    let (code, stderr) = server.stop();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(counts(&stderr), (0, 1), "{stderr}");
    assert!(!marks.join("escaped").exists(), "a refused run ran");
}

/// SIGTERM to the server kills its runs; their clients end with 128+15 as if they had got it,
/// and so does the server.
#[test]
fn a_signal_to_the_server_ends_its_runs_with_that_signal() {
    let Some(server) = Server::start() else {
        return;
    };
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut client = server
        .client(repo, &["--", "sh", "-c", READY_THEN_SLEEP])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_ready(&mut client);
    let pid = nix::unistd::Pid::from_raw(i32::try_from(server.child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let t = Instant::now();
    let status = loop {
        if let Some(s) = client.try_wait().unwrap() {
            break s;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "the client still runs 10 s after");
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut err = String::new();
    let _ = client.stderr.take().unwrap().read_to_string(&mut err);
    assert_eq!(status.code(), Some(143), "{err}");
    assert!(err.contains("got SIGTERM, killed the sandbox"), "{err}");
    let (code, stderr) = server.stop();
    assert_eq!(code, 143, "{stderr}");
    assert_eq!(counts(&stderr), (1, 0), "{stderr}");
}
