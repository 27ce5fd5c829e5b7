//! Real programs under an imported Docker/OCI seccomp profile (`PolicyBuilder::load_oci_profile`):
//! moby's default profile (the copy in `tests/data/`) with libsbx's tool view. What the profile
//! allows runs; what it refuses fails with its errno while the run goes on; what it allows but
//! libsbx's mandatory rules deny ends the run as a violation, and the report says so beforehand.

mod common;

use common::*;
use sbx::{Executor, PolicyBuilder, Status, Stdio};

const MOBY: &str = include_str!("data/moby-default-seccomp.json");

/// Moby's default profile for an unprivileged container on the running kernel, with the tool
/// view and the attackers' directory.
fn moby() -> (PolicyBuilder, sbx::policy::OciReport) {
    let mut pb = PolicyBuilder::new();
    let report = pb
        .load_oci_profile(MOBY, "moby-default-seccomp.json")
        .unwrap_or_else(|e| panic!("moby's profile: {e}"));
    sbx::policy::presets::tool_view(&mut pb);
    with_attackers(&mut pb);
    (pb, report)
}

#[test]
fn a_shell_runs_under_mobys_default_profile() {
    let (pb, _) = moby();
    let mut ex = Executor::new("/bin/sh");
    ex.args(["-c", "echo hi; uname -s | tr a-z A-Z"])
        .env("PATH", "/usr/bin:/bin")
        .stderr(Stdio::Null);
    let run = run_capture(ex, build(&pb));
    assert!(run.r.success(), "{}", run.ctx());
    assert_eq!(run.out, "hi\nLINUX\n", "{}", run.ctx());
}

#[test]
fn refused_calls_fail_with_the_profiles_errno_and_the_run_goes_on() {
    let (pb, _) = moby();
    // personality(ADDR_NO_RANDOMIZE): the profile lists other personas only. keyctl: not in
    // the profile (its default, EPERM), and mandatory-denied in libsbx, whose rules let a
    // policy turn that denial into an errno.
    for call in ["personality", "keyctl"] {
        let run = run_capture(attack("sys", &[call]), build(&pb));
        assert_eq!(run.r.status, Status::Ok, "{call}: {}", run.ctx());
        assert!(
            run.out.contains(&format!("RETURNED {call} errno 1\n")),
            "{call}: {}",
            run.ctx()
        );
        assert_eq!(run.r.exit_code, Some(51), "{call}: {}", run.ctx());
    }
    // An allowed call for comparison.
    let run = run_capture(attack("sys", &["uname"]), build(&pb));
    assert_eq!(run.r.exit_code, Some(50), "{}", run.ctx());
}

#[test]
fn ptrace_is_the_profiles_but_not_libsbxs() {
    let (pb, report) = moby();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    // moby allows ptrace from 4.8 on; every kernel this suite runs on is newer.
    assert!(!kernel.starts_with("3.") && !kernel.starts_with("4."), "{kernel}");
    let ptrace = report
        .overrides
        .iter()
        .find(|o| o.syscall.as_deref() == Some("ptrace"))
        .unwrap_or_else(|| panic!("no ptrace override:\n{report}"));
    assert_eq!(ptrace.rule, "syscalls[1]");
    let run = run_attack("ptrace", &[], &pb);
    assert_violation(&run, "ptrace");
}
