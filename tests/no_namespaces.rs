//! The explicit, small set of sandboxes WITHOUT namespaces (`disable_namespaces()`): the
//! sandboxee sees the host's files, processes and network and runs with the caller's uid, so
//! what keeps it off the host is seccomp, the dropped capabilities of a root caller, and the
//! Landlock domain every sandboxee joins (no ptrace or /proc/<pid>/mem of outside processes, no
//! signals to them, no connection to abstract unix sockets created outside).
//!
//! The attackers run with `--expect-ns=0` (seccomp is still required). Every host-side target is
//! something the test itself started (a `sleep` child), never pid 1 or another host process.

mod common;

use common::*;
use sbx::{Sandbox, Status, Stdio};

#[test]
fn exit_code_and_violation_without_namespaces() {
    let run = run_capture(attack_no_ns("exit", &["42"]), build(&base_policy_no_ns()));
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    assert_eq!(run.r.exit_code, Some(42), "{}", run.ctx());
    assert_eq!(run.r.usage.peak_tasks, 1, "{:?}", run.r.usage);

    let run = run_capture(attack_no_ns("sys", &["getuid"]), build(&base_policy_no_ns()));
    let v = assert_violation(&run, "getuid");
    assert_eq!(v.pid, run.r.pid, "without a pid namespace the main process reports the host pid");
}

#[test]
fn namespaces_are_the_hosts_and_mounts_are_refused() {
    // The policy says so, and the sandboxee sees the host's pid namespace: its own pid is the
    // host's, and the cwd defaults to the host's.
    let mut pb = base_policy_no_ns();
    pb.allow("prctl").allow("getpid").allow("getsid").allow("getpgid").allow("getcwd");
    let p = build(&pb);
    assert!(!p.namespaces().enabled);
    let run = run_capture(attack_no_ns("status", &[]), p.clone());
    assert!(run.r.success(), "{}", run.ctx());
    assert_eq!(field(&run.out, "Pid"), run.r.pid.to_string(), "{}", run.ctx());
    let run = run_capture(attack_no_ns("cwd", &[]), p);
    assert!(run.r.success(), "{}", run.ctx());
    assert_eq!(run.out, format!("CWD {}\n", std::env::current_dir().unwrap().display()), "{}", run.ctx());

    // A mount request makes no sense without a mount namespace: build() refuses it.
    let mut pb = base_policy_no_ns();
    pb.add_directory(work_dir());
    assert!(pb.build().is_err(), "a mount without namespaces was accepted");
    let mut pb = base_policy_no_ns();
    pb.set_root_writable();
    assert!(pb.build().is_err(), "set_root_writable without namespaces was accepted");
}

fn host_status_field(key: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")).map(|v| v.trim().to_string()))
        .unwrap()
}

#[test]
fn capabilities_are_dropped_without_namespaces() {
    use std::os::unix::fs::MetadataExt;
    let mut pb = base_policy_no_ns();
    pb.allow("prctl").allow("getpid").allow("getsid").allow("getpgid");
    let run = run_capture(attack_no_ns("status", &[]), build(&pb));
    assert!(run.r.success(), "{}", run.ctx());
    let o = &run.out;
    let zero = "0000000000000000";
    assert_eq!(field(o, "CapEff"), zero, "{}", run.ctx());
    assert_eq!(field(o, "CapPrm"), zero, "{}", run.ctx());
    assert_eq!(field(o, "CapAmb"), zero, "{}", run.ctx());
    assert_eq!(field(o, "NoNewPrivs"), "1", "{}", run.ctx());
    assert_eq!(field(o, "SigIgn"), zero, "{}", run.ctx());
    let pid = field(o, "Pid");
    assert_eq!(field(o, "Sid"), pid, "{}", run.ctx());
    let securebits: u64 = field(o, "Securebits").parse().unwrap();
    if is_root() {
        // Root without a user namespace: every set emptied, root locked out of capabilities.
        assert_ne!(host_status_field("CapEff"), zero, "the root test host should hold capabilities");
        assert_eq!(field(o, "CapBnd"), zero, "{}", run.ctx());
        assert_eq!(field(o, "CapInh"), zero, "{}", run.ctx());
        assert_eq!(securebits & 0b11, 0b11, "SECBIT_NOROOT|NOROOT_LOCKED missing: {securebits:#x}");
        // ... and it is not root on the host: it runs as an unprivileged id of its own.
        let id = sbx::namespaces::root_caller_host_id();
        assert_eq!(field(o, "Uid"), format!("{id}\t{id}\t{id}\t{id}"), "{}", run.ctx());
    } else {
        assert_eq!(host_status_field("CapEff"), zero, "an unprivileged host with capabilities?");
        assert!(!field(o, "Uid").starts_with("0\t"), "{}", run.ctx());
    }

    // Using a capability fails: fchown to another uid (CAP_CHOWN), capset.
    let file = fresh_dir("chown-nons").join("f");
    let run = run_capture(attack_no_ns("chown", &[file.to_str().unwrap()]), build(&allow_all_no_ns()));
    assert_eq!(run.r.exit_code, Some(RETURNED_EPERM), "{}", run.ctx());
    assert_ne!(std::fs::metadata(&file).unwrap().uid(), 12345);
    let run = run_capture(attack_no_ns("capset", &[]), build(&allow_all_no_ns()));
    assert_eq!(run.r.exit_code, Some(RETURNED_EPERM), "{}", run.ctx());
}

#[test]
fn host_process_memory_is_out_of_reach_through_landlock() {
    // The sandboxee sees the test's `sleep` (same uid, no pid namespace), and as root with its
    // capabilities dropped it would still pass the uid check of PTRACE_MODE_ATTACH: only the
    // Landlock domain refuses. The attacker only opens /proc/<pid>/mem, never reads it.
    let mut sleeper = HostSleeper::start();
    let pid = sleeper.pid().to_string();
    let stat = format!("/proc/{pid}/stat");
    let run = run_capture(attack_no_ns("cat", &[&stat]), build(&allow_all_no_ns()));
    assert!(run.r.success() && run.out.contains("(sleep)"), "the host process must be visible:\n{}", run.ctx());

    let run = run_capture(attack_no_ns("peekmem", &[&pid]), build(&allow_all_no_ns()));
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    assert_ne!(run.r.exit_code, Some(RETURNED_OK), "the sandboxee opened a host process's memory\n{}", run.ctx());
    assert!(run.out.contains("RETURNED open mem errno 13"), "expected EACCES:\n{}", run.ctx());
    assert!(sleeper.alive());
}

#[test]
fn host_processes_cannot_be_signalled_through_landlock() {
    let mut sleeper = HostSleeper::start();
    let pid = sleeper.pid().to_string();
    for sig in ["0", "15"] {
        let run = run_capture(attack_no_ns("kill", &[&pid, sig]), build(&allow_all_no_ns()));
        assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
        assert_eq!(run.r.exit_code, Some(RETURNED_EPERM), "kill(sleep, {sig}) must fail with EPERM\n{}", run.ctx());
    }
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert!(sleeper.alive(), "the host's sleep was killed from the sandbox");
}

#[test]
fn only_mapped_fds_are_open_without_namespaces() {
    let (rd, _wr) = pipe();
    let mut ex = attack_no_ns("fds", &[]);
    ex.map_fd(rd, 5).stderr(Stdio::Null);
    let mut pb = base_policy_no_ns();
    pb.allow("getdents64");
    let run = run_capture(ex, build(&pb));
    assert!(run.r.success(), "{}", run.ctx());
    assert_eq!(run.out, "FDS 0 1 2 5\n", "{}", run.ctx());
    // And the run leaves no process behind.
    let r = Sandbox::new(attack_no_ns("exit", &["0"]), build(&base_policy_no_ns())).run().unwrap();
    assert!(r.success(), "{r:?}");
    assert_all_dead(&[r.pid], std::time::Duration::from_secs(1), "no-namespace run");
}
