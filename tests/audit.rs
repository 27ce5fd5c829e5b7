//! Audit mode ("permit all and log", issue 13): calls the policy refuses are recorded once each
//! with a count and then run; errno rules still answer; the mandatory rules still end the run;
//! forged "audit" trace data from a sandboxee's own filter changes nothing; off, the filter is
//! the same as without audit. Runs under the monitor SBX_TEST_MONITOR names (the suites run
//! twice).

// Tests: their casts are of constants and of values the tests make themselves.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

mod common;

use common::*;
use sbx::Status;

fn audited(pb: &sbx::PolicyBuilder) -> sbx::PolicyBuilder {
    let mut pb = pb.clone();
    pb.audit(true);
    pb
}

/// The attacker's `sys getuid 3`: getuid is not in the base policy, so each call would be a
/// violation; audited, all three run and one entry counts them.
#[test]
fn refused_calls_run_and_are_recorded_once_with_a_count() {
    let run = run_attack("sys", &["getuid", "3"], &audited(&base_policy()));
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    assert!(run.out.contains("RETURNED getuid ok"), "getuid did not run\n{}", run.ctx());
    let audit = run.r.audit.as_ref().unwrap_or_else(|| panic!("no audit list\n{}", run.ctx()));
    let getuid: Vec<_> = audit.iter().filter(|c| c.first.name == "getuid").collect();
    assert_eq!(getuid.len(), 1, "one entry per syscall: {audit:?}");
    assert_eq!(getuid[0].count, 3, "{audit:?}");
    assert_eq!(getuid[0].first.nr, syscall_nr("getuid"), "{audit:?}");
    assert!(getuid[0].first.pid > 0, "{audit:?}");
    // Nothing the policy allows is listed (the attacker's start-up calls are allowed).
    assert!(
        audit.iter().all(|c| c.first.name != "exit_group" && c.first.name != "write"),
        "{audit:?}"
    );
}

#[test]
fn errno_rules_still_answer_and_are_not_listed() {
    let mut pb = audited(&base_policy());
    pb.errno("getuid", libc::EACCES as u16);
    let run = run_attack("sys", &["getuid"], &pb);
    assert!(run.out.contains("RETURNED getuid errno 13"), "{}", run.ctx());
    let audit = run.r.audit.as_ref().expect("an audit run has a list");
    assert!(audit.iter().all(|c| c.first.name != "getuid"), "{audit:?}");
}

#[test]
fn mandatory_rules_still_end_the_run() {
    let run = run_attack("sys", &["bpf"], &audited(&base_policy()));
    assert_violation(&run, "bpf");
    assert!(!run.out.contains("RETURNED bpf"), "bpf returned\n{}", run.ctx());
}

/// A sandboxee allowed to stack a filter answers "trace, audit" for unshare itself: the ptrace
/// monitor sees that data, checks it against the policy's own verdict, and ends the run.
#[test]
fn forged_audit_data_is_still_a_violation() {
    let pb = audited(&allow_all());
    let run = run_attack("forge_trace", &["7"], &pb);
    assert_violation(&run, "unshare");
    assert!(!run.out.contains("RETURNED unshare"), "unshare returned\n{}", run.ctx());
}

#[test]
fn off_it_changes_nothing() {
    let plain = build(&base_policy());
    let mut pb = base_policy();
    pb.audit(false);
    let off = build(&pb);
    assert_eq!(plain.program(), off.program(), "audit(false) changed the filter");
    assert!(!off.is_audit());
    assert!(build(&audited(&base_policy())).is_audit());
    let run = run_attack("sys", &["getuid"], &base_policy());
    assert_violation(&run, "getuid");
    assert!(run.r.audit.is_none(), "{}", run.ctx());
}
