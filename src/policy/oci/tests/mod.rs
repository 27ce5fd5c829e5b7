//! Profiles written here in the runtime spec's format, read and checked through the model
//! ([`Policy::decide`]), and moby's default profile (the copy in `tests/data/`).
//!
//! Here: the helpers, actions, ops and the order of rules; `overrides.rs` includes and
//! excludes, unknown names and what libsbx decides differently; `reading.rs` errors, `null`
//! and kernel versions; `moby.rs` moby's default profile.

use super::*;
use crate::policy::{mandatory, syscalls};
use crate::policy::{Policy, SeccompData};

mod moby;
mod overrides;
mod reading;

const EPERM: u16 = 1;
const ENOSYS: u16 = 38;

fn nr(name: &str) -> u32 {
    syscalls::number(name).unwrap_or_else(|| panic!("{name} missing from the native table"))
}

fn decide(p: &Policy, name: &str, args: [u64; 6]) -> u32 {
    p.decide(&SeccompData {
        nr: i32::try_from(nr(name)).unwrap(),
        arch: crate::arch::NATIVE_AUDIT_ARCH,
        instruction_pointer: 0,
        args,
    })
}

fn arg0(v: u64) -> [u64; 6] {
    [v, 0, 0, 0, 0, 0]
}

/// A profile with `defaultAction` ERRNO (EPERM) and these `syscalls` entries.
fn profile(entries: &str) -> String {
    format!(
        r#"{{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1, "syscalls": [{entries}]}}"#
    )
}

fn load(json: &str) -> (Policy, OciReport) {
    load_with(json, &OciOptions::default())
}

fn load_with(json: &str, options: &OciOptions) -> (Policy, OciReport) {
    let mut b = PolicyBuilder::new();
    let report = b
        .load_oci_profile_with(json, "test.json", options)
        .unwrap_or_else(|e| panic!("{e}\n{json}"));
    (b.build().unwrap(), report)
}

/// The error loading `json` gives; the builder must be as it was.
fn error(json: &str) -> String {
    let mut b = PolicyBuilder::new();
    b.allow("read");
    let before = format!("{:?}", b.build().unwrap().disassemble());
    let err = b.load_oci_profile(json, "bad.json").unwrap_err();
    assert_eq!(format!("{:?}", b.build().unwrap().disassemble()), before);
    match err {
        Error::InvalidPolicy(m) => m,
        other => panic!("not InvalidPolicy: {other:?}"),
    }
}

#[test]
fn allow_list_with_default_errno() {
    let (p, report) = load(&profile(
        r#"{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
           {"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}"#,
    ));
    assert_eq!(decide(&p, "read", [0; 6]), Action::Allow.ret());
    assert_eq!(decide(&p, "write", [0; 6]), Action::Allow.ret());
    assert_eq!(decide(&p, "getpid", [0; 6]), Action::Errno(ENOSYS).ret());
    assert_eq!(decide(&p, "getuid", [0; 6]), Action::Errno(EPERM).ret());
    assert_eq!(report.rules, 3, "{report}");
    assert!(report.excluded.is_empty() && report.unknown.is_empty());
}

#[test]
fn each_action() {
    let cases = [
        ("SCMP_ACT_ALLOW", Action::Allow),
        ("SCMP_ACT_LOG", Action::Allow),
        ("SCMP_ACT_ERRNO", Action::Errno(EPERM)),
        ("SCMP_ACT_KILL", Action::Violation),
        ("SCMP_ACT_KILL_THREAD", Action::Violation),
        ("SCMP_ACT_KILL_PROCESS", Action::Violation),
        ("SCMP_ACT_TRAP", Action::Violation),
        ("SCMP_ACT_TRACE", Action::Trace),
        ("SCMP_ACT_NOTIFY", Action::Trace),
    ];
    for (said, action) in cases {
        let (p, _) = load(&profile(&format!(
            r#"{{"names": ["getpid"], "action": "{said}"}}"#
        )));
        assert_eq!(decide(&p, "getpid", [0; 6]), action.ret(), "{said}");
    }
    // The default action, the same way (NOTIFY excepted).
    for (said, action) in &cases[..8] {
        let json = format!(r#"{{"defaultAction": "{said}"}}"#);
        let (p, _) = load(&json);
        assert_eq!(decide(&p, "getpid", [0; 6]), action.ret(), "default {said}");
    }
    let (p, _) = load(r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 13}"#);
    assert_eq!(decide(&p, "getpid", [0; 6]), Action::Errno(13).ret());
    let (p, _) = load(r#"{"defaultAction": "SCMP_ACT_ERRNO"}"#);
    assert_eq!(decide(&p, "getpid", [0; 6]), Action::Errno(EPERM).ret());
    // TRACE's errnoRet is the tracer's message: accepted, not used.
    let (p, _) = load(&profile(
        r#"{"names": ["getpid"], "action": "SCMP_ACT_TRACE", "errnoRet": 7}"#,
    ));
    assert_eq!(decide(&p, "getpid", [0; 6]), Action::Trace.ret());
}

#[test]
fn each_op() {
    // (op, value, valueTwo, an argument that matches, one that does not)
    let cases: [(&str, u64, u64, u64, u64); 7] = [
        ("SCMP_CMP_EQ", 8, 0, 8, 9),
        ("SCMP_CMP_NE", 8, 0, 9, 8),
        ("SCMP_CMP_LT", 38, 0, 37, 38),
        ("SCMP_CMP_LE", 38, 0, 38, 39),
        ("SCMP_CMP_GT", 40, 0, 41, 40),
        ("SCMP_CMP_GE", 40, 0, 40, 39),
        // value is the mask, valueTwo the masked value (libseccomp's order).
        ("SCMP_CMP_MASKED_EQ", 0x7e02_0000, 0, 0x11, 0x1000_0000),
    ];
    for (op, value, two, yes, no) in cases {
        let (p, _) = load(&profile(&format!(
            r#"{{"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                 "args": [{{"index": 0, "value": {value}, "valueTwo": {two}, "op": "{op}"}}]}}"#
        )));
        assert_eq!(
            decide(&p, "personality", arg0(yes)),
            Action::Allow.ret(),
            "{op} {yes}"
        );
        assert_eq!(
            decide(&p, "personality", arg0(no)),
            Action::Errno(EPERM).ret(),
            "{op} {no}"
        );
    }
    let (p, _) = load(&profile(
        r#"{"names": ["personality"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 255, "valueTwo": 8, "op": "SCMP_CMP_MASKED_EQ"}]}"#,
    ));
    assert_eq!(decide(&p, "personality", arg0(0x108)), Action::Allow.ret());
    assert_eq!(
        decide(&p, "personality", arg0(0x109)),
        Action::Errno(EPERM).ret()
    );
    // Compared on 64 bits, as libseccomp does.
    assert_eq!(
        decide(&p, "personality", arg0(0x1_0000_0108)),
        Action::Allow.ret()
    );
    let (p, _) = load(&profile(
        r#"{"names": ["personality"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 4294967295, "op": "SCMP_CMP_EQ"}]}"#,
    ));
    assert_eq!(
        decide(&p, "personality", arg0(0xffff_ffff)),
        Action::Allow.ret()
    );
    assert_eq!(
        decide(&p, "personality", arg0(u64::MAX)),
        Action::Errno(EPERM).ret()
    );
}

#[test]
fn conditions_of_one_entry_all_hold_and_entries_are_alternatives() {
    let (p, _) = load(&profile(
        r#"{"names": ["mmap"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 2, "value": 3, "op": "SCMP_CMP_LE"},
                     {"index": 3, "value": 34, "op": "SCMP_CMP_EQ"}]},
           {"names": ["mmap"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 4096, "op": "SCMP_CMP_EQ"}]}"#,
    ));
    assert_eq!(decide(&p, "mmap", [0, 0, 3, 34, 0, 0]), Action::Allow.ret());
    assert_eq!(
        decide(&p, "mmap", [0, 0, 4, 34, 0, 0]),
        Action::Errno(EPERM).ret()
    );
    assert_eq!(
        decide(&p, "mmap", [0, 0, 3, 2, 0, 0]),
        Action::Errno(EPERM).ret()
    );
    assert_eq!(
        decide(&p, "mmap", [4096, 0, 7, 2, 0, 0]),
        Action::Allow.ret()
    );
}

#[test]
fn conditional_rules_come_before_the_unconditional_one() {
    let (p, _) = load(&profile(
        r#"{"names": ["socket"], "action": "SCMP_ACT_ALLOW"},
           {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97,
            "args": [{"index": 0, "value": 16, "op": "SCMP_CMP_EQ"}]}"#,
    ));
    assert_eq!(decide(&p, "socket", arg0(16)), Action::Errno(97).ret());
    assert_eq!(decide(&p, "socket", arg0(2)), Action::Allow.ret());
}

#[test]
fn builder_rules_come_first() {
    let mut b = PolicyBuilder::new();
    b.errno("getpid", 13);
    b.load_oci_profile(
        &profile(r#"{"names": ["getpid"], "action": "SCMP_ACT_ALLOW"}"#),
        "p",
    )
    .unwrap();
    let p = b.build().unwrap();
    assert_eq!(decide(&p, "getpid", [0; 6]), Action::Errno(13).ret());
}
