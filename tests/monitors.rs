//! What is particular to each monitor (issue 10): the user-notify monitor's reserved hand-off fd
//! is out of the sandboxee's reach, the combinations a monitor cannot watch are refused naming
//! both parts, and `Monitor::Auto` falls back to ptrace where user-notify does not fit.

mod common;

use common::*;
use sbx::{Error, Monitor, Sandbox, Status};

fn unotify(pb: &sbx::PolicyBuilder) -> sbx::Policy {
    let mut pb = pb.clone();
    pb.monitor(Monitor::Unotify);
    pb.build().unwrap_or_else(|e| panic!("policy: {e}"))
}

/// The filter lets `sendmsg` through on one fd number (the listener's hand-off, at the
/// sandboxee's RLIMIT_NOFILE hard limit). The sandboxee can never hold that number: dup2, dup3
/// and F_DUPFD to it fail, the limit cannot be raised, and sendmsg there finds no socket.
#[test]
fn the_reserved_fd_is_out_of_the_sandboxees_reach() {
    let run = run_capture(attack("reservedfd", &[]), unotify(&allow_all()));
    assert!(run.r.success(), "{}", run.ctx());
    assert!(run.r.fences.contains(&"unotify_monitor"), "{}", run.ctx());
    for (line, want) in [
        ("DUP2 hard errno ", libc::EBADF),
        ("DUP3 hard errno ", libc::EBADF),
        ("F_DUPFD hard errno ", libc::EINVAL),
        ("RAISE hard errno ", libc::EPERM),
        ("SENDMSG hard errno ", libc::EBADF),
    ] {
        let got = run
            .out
            .lines()
            .find_map(|l| l.strip_prefix(line))
            .unwrap_or_else(|| panic!("no {line:?} line (the call succeeded?)\n{}", run.ctx()));
        assert_eq!(got.trim(), want.to_string(), "{line}\n{}", run.ctx());
    }
}

/// User-notify cannot watch a sandbox without namespaces (its children would outlive it
/// unseen): refused by `build`, naming both parts.
#[test]
fn unotify_without_namespaces_is_refused_at_build() {
    let mut pb = base_policy_no_ns();
    pb.monitor(Monitor::Unotify);
    match pb.build() {
        Err(Error::InvalidPolicy(m)) => {
            assert!(m.contains("unotify") && m.contains("disable_namespaces"), "{m}");
        }
        other => panic!("expected InvalidPolicy, got {other:?}"),
    }
}

/// A sandboxee that sandboxes itself needs ptrace (its own filter's trace verdicts): user-notify
/// refuses it at start naming both, and Auto runs it under ptrace.
#[test]
fn a_self_sandboxing_sandboxee_needs_ptrace() {
    let mut ex = attack("exit", &["0"]);
    ex.sandbox_before_exec(false);
    match Sandbox::new(ex, unotify(&base_policy())).start() {
        Err(Error::InvalidArgument(m)) => {
            assert!(m.contains("unotify") && m.contains("sandbox_before_exec"), "{m}");
        }
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
}

/// Auto takes user-notify for a namespaced sandbox on this kernel, and ptrace without
/// namespaces.
#[test]
fn auto_picks_the_monitor_that_fits() {
    let mut pb = base_policy();
    pb.monitor(Monitor::Auto);
    let run = run_capture(attack("exit", &["0"]), pb.build().unwrap());
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    assert!(run.r.fences.contains(&"unotify_monitor"), "{}", run.ctx());
    let mut pb = base_policy_no_ns();
    pb.monitor(Monitor::Auto);
    let run = run_capture(attack_no_ns("exit", &["0"]), pb.build().unwrap());
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    assert!(run.r.fences.contains(&"ptrace_monitor"), "{}", run.ctx());
}

fn sleeper(monitor: Monitor, secs: &str, walltime: Option<std::time::Duration>) -> Sandbox {
    let mut ex = sbx::Executor::new("/bin/sleep");
    ex.args([secs]);
    if let Some(w) = walltime {
        ex.walltime(w);
    }
    let mut pb = sbx::policy::presets::tool_default();
    pb.monitor(monitor);
    Sandbox::new(ex, pb.build().unwrap_or_else(|e| panic!("policy: {e}")))
}

/// The supervisor sleeps in `epoll_wait` while only user-notify sandboxes run and in `wait4`
/// while a ptrace one does. Sandboxes of both kinds, overlapping in every order, must each end
/// as they should and on time: a user-notify end seen while in `wait4`, a deadline and a kill
/// served while in `epoll_wait`, the switch in both directions mid-run.
#[test]
fn both_monitors_share_one_supervisor() {
    use std::time::{Duration, Instant};
    let t0 = Instant::now();
    let secs = |d: Duration| format!("{:.1}", d.as_secs_f64());
    // A user-notify sandbox that outlives everything below, ended by its wall-time limit.
    let long = sleeper(Monitor::Unotify, "30", Some(Duration::from_millis(2500)));
    long.start().unwrap();
    // A ptrace sandbox starts (wait4 from here) while a user-notify one ends in it.
    let p = sleeper(Monitor::Ptrace, "0.6", None);
    let u = sleeper(Monitor::Unotify, "0.2", None);
    p.start().unwrap();
    u.start().unwrap();
    let r = u.wait().unwrap();
    assert_eq!(r.status, Status::Ok, "{}", r.describe());
    let r = p.wait().unwrap();
    assert_eq!(r.status, Status::Ok, "{}", r.describe());
    // Alternating short runs: every one switches the supervisor's sleep.
    for i in 0..10 {
        let m = if i % 2 == 0 { Monitor::Ptrace } else { Monitor::Unotify };
        let r = sleeper(m, "0", None).run().unwrap();
        assert_eq!(r.status, Status::Ok, "{} run {i}: {}", m.name(), r.describe());
        let fence = if m == Monitor::Ptrace { "ptrace_monitor" } else { "unotify_monitor" };
        assert!(r.fences.contains(&fence), "run {i}: {:?}", r.fences);
    }
    // Only user-notify now: a deadline and a kill are served from epoll_wait.
    let timed = sleeper(Monitor::Unotify, "30", Some(Duration::from_millis(300)));
    let started = Instant::now();
    let r = timed.run().unwrap();
    assert_eq!(r.status, Status::Timeout, "{}", r.describe());
    assert!(started.elapsed() < Duration::from_secs(2), "0.3 s limit took {}", secs(started.elapsed()));
    let killed = sleeper(Monitor::Unotify, "30", None);
    killed.start().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let k0 = Instant::now();
    killed.kill();
    let r = killed.wait().unwrap();
    assert_eq!(r.status, Status::ExternalKill, "{}", r.describe());
    assert!(k0.elapsed() < Duration::from_millis(500), "kill took {:?}", k0.elapsed());
    // The long one ends by its own limit, whatever the supervisor slept in meanwhile.
    let r = long.wait().unwrap();
    assert_eq!(r.status, Status::Timeout, "{}", r.describe());
    assert!(t0.elapsed() < Duration::from_secs(6), "the whole test took {}", secs(t0.elapsed()));
}
