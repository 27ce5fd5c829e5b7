//! Notify (issue 6, item 4): started (veto), trace (allow / deny / errno), violation, signal,
//! finished, through real sandboxes. `personality` is the traced syscall, as in sandbox2's
//! notify_test: `setarch` calls it and reports failures, and no default rule touches it.

// Tests: their casts are of constants and of values the tests make themselves.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

mod common;

use sbx::{Executor, Notify, RunResult, Sandbox, Status, Stdio, Syscall, TraceAction};
use std::io::Read;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Seen {
    started: Vec<i32>,
    traced: Vec<String>,
    violations: Vec<String>,
    signals: Vec<i32>,
    finished: Vec<Status>,
}

struct Recorder {
    seen: Arc<Mutex<Seen>>,
    answer: TraceAction,
    veto: bool,
}

impl Notify for Recorder {
    fn started(&mut self, pid: i32) -> bool {
        self.seen.lock().unwrap().started.push(pid);
        !self.veto
    }
    fn trace(&mut self, call: &Syscall) -> TraceAction {
        self.seen.lock().unwrap().traced.push(call.name.clone());
        self.answer
    }
    fn violation(&mut self, call: &Syscall) {
        self.seen.lock().unwrap().violations.push(call.name.clone());
    }
    fn signal(&mut self, _pid: i32, signal: i32) {
        self.seen.lock().unwrap().signals.push(signal);
    }
    fn finished(&mut self, result: &RunResult) {
        self.seen.lock().unwrap().finished.push(result.status);
    }
}

fn pipe() -> (std::fs::File, OwnedFd) {
    let (r, w) = nix::unistd::pipe().unwrap();
    (std::fs::File::from(r), w)
}

fn run(argv: &[&str], answer: TraceAction, veto: bool) -> (RunResult, String, Arc<Mutex<Seen>>) {
    run_under(common::test_monitor(), argv, answer, veto)
}

fn run_under(
    monitor: sbx::Monitor,
    argv: &[&str],
    answer: TraceAction,
    veto: bool,
) -> (RunResult, String, Arc<Mutex<Seen>>) {
    let mut pb = sbx::policy::presets::tool_default();
    pb.trace("personality").monitor(monitor);
    let policy = pb.build().unwrap();
    let mut ex = Executor::new(argv[0]);
    ex.argv(argv.iter().copied()).env("PATH", "/usr/bin:/bin");
    let (mut out, w) = pipe();
    ex.stdout(Stdio::Fd(w)).stderr(Stdio::Null);
    let seen = Arc::new(Mutex::new(Seen::default()));
    let sb = Sandbox::with_notify(
        ex,
        policy,
        Box::new(Recorder {
            seen: seen.clone(),
            answer,
            veto,
        }),
    );
    let r = sb.run().unwrap();
    let mut s = String::new();
    out.read_to_string(&mut s).unwrap();
    (r, s, seen)
}

#[test]
fn trace_allow_lets_the_call_run() {
    let (r, out, seen) = run(
        &["setarch", "x86_64", "-R", "/bin/echo", "ran"],
        TraceAction::Allow,
        false,
    );
    assert_eq!(r.status, Status::Ok, "{}", r.describe());
    assert_eq!(out.trim(), "ran");
    let seen = seen.lock().unwrap();
    assert!(
        seen.traced.iter().all(|n| n == "personality") && !seen.traced.is_empty(),
        "{:?}",
        seen.traced
    );
    assert_eq!(seen.started, vec![r.pid]);
    assert_eq!(seen.finished, vec![Status::Ok]);
    assert!(seen.violations.is_empty());
}

#[test]
fn trace_errno_fails_the_call_only() {
    let (r, out, seen) = run(
        &["setarch", "x86_64", "-R", "/bin/echo", "ran"],
        TraceAction::Errno(libc::EPERM as u16),
        false,
    );
    // setarch reports the failed personality() and exits non-zero; nothing was killed.
    assert_eq!(r.status, Status::Ok, "{}", r.describe());
    assert_ne!(r.exit_code, Some(0));
    assert_eq!(out, "", "the target must not have run");
    assert!(!seen.lock().unwrap().traced.is_empty());
}

#[test]
fn trace_deny_is_a_violation_naming_the_call() {
    let (r, _, seen) = run(
        &["setarch", "x86_64", "-R", "/bin/true"],
        TraceAction::Deny,
        false,
    );
    assert_eq!(r.status, Status::Violation, "{}", r.describe());
    assert_eq!(r.violation.as_ref().unwrap().name, "personality");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.violations, vec!["personality".to_string()]);
    assert_eq!(seen.finished, vec![Status::Violation]);
}

#[test]
fn started_can_veto() {
    let (r, out, seen) = run(&["/bin/echo", "ran"], TraceAction::Allow, true);
    assert_eq!(r.status, Status::SetupError, "{}", r.describe());
    assert_eq!(r.reason(), Some(sbx::Reason::FailedNotify));
    assert_eq!(out, "");
    assert_eq!(seen.lock().unwrap().started.len(), 1);
}

/// Signals reach Notify only under ptrace (a signal-delivery stop); user-notify never sees them.
#[test]
fn signals_are_reported_and_delivered() {
    let (r, out, seen) = run_under(
        sbx::Monitor::Ptrace,
        &[
            "/bin/sh",
            "-c",
            "trap 'echo got' USR1; kill -USR1 $$; echo after",
        ],
        TraceAction::Deny,
        false,
    );
    assert_eq!(r.status, Status::Ok, "{}", r.describe());
    assert_eq!(out, "got\nafter\n");
    assert!(seen.lock().unwrap().signals.contains(&libc::SIGUSR1));
    assert!(common::ptraced(&r));

    let (r, out, seen) = run_under(
        sbx::Monitor::Unotify,
        &["/bin/sh", "-c", "trap 'echo got' USR1; kill -USR1 $$; echo after"],
        TraceAction::Deny,
        false,
    );
    assert_eq!(r.status, Status::Ok, "{}", r.describe());
    assert_eq!(out, "got\nafter\n", "delivered under user-notify too");
    assert!(seen.lock().unwrap().signals.is_empty());
    assert!(r.fences.contains(&"unotify_monitor"), "{:?}", r.fences);
}
