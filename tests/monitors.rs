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
