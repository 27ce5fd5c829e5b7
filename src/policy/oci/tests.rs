//! Profiles written here in the runtime spec's format, read and checked through the model
//! ([`Policy::decide`]), and moby's default profile (the copy in `tests/data/`).

use super::*;
use crate::policy::{mandatory, syscalls};
use crate::policy::{Policy, SeccompData};

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

#[test]
fn includes_and_excludes() {
    let json = profile(
        r#"{"names": ["getpid"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
           {"names": ["getuid"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN", "CAP_BPF"]}},
           {"names": ["getgid"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "5.10"}},
           {"names": ["getppid"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "5.10"}},
           {"names": ["gettid"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["ppc64le", "s390x"]}},
           {"names": ["getegid"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["amd64", "arm64"]}},
           {"names": ["getsid"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "arm64"], "caps": null}}"#,
    );
    let allowed = |p: &Policy, name| decide(p, name, [0; 6]) == Action::Allow.ret();
    let old = OciOptions {
        capabilities: vec![],
        kernel: Some((5, 4)),
    };
    let (p, report) = load_with(&json, &old);
    let got: Vec<bool> = [
        "getpid", "getuid", "getgid", "getppid", "gettid", "getegid", "getsid",
    ]
    .into_iter()
    .map(|n| allowed(&p, n))
    .collect();
    assert_eq!(
        got,
        [false, true, false, true, false, false, true],
        "{report}"
    );
    assert_eq!(report.excluded.len(), 4, "{report}");
    assert!(
        report.excluded[0].starts_with("syscalls[0]: includes.caps needs CAP_SYS_ADMIN"),
        "{report}"
    );

    let admin_new = OciOptions {
        capabilities: vec!["sys_admin".into()],
        kernel: Some((6, 1)),
    };
    let (p, report) = load_with(&json, &admin_new);
    let got: Vec<bool> = ["getpid", "getuid", "getgid", "getppid"]
        .into_iter()
        .map(|n| allowed(&p, n))
        .collect();
    assert_eq!(got, [true, false, true, false], "{report}");
    // minKernel compares (major, minor) as numbers: 5.10 is above 5.9.
    let (p, _) = load_with(
        &json,
        &OciOptions {
            capabilities: vec![],
            kernel: Some((5, 9)),
        },
    );
    assert!(!allowed(&p, "getgid"));

    let mut b = PolicyBuilder::new();
    let err = b
        .load_oci_profile_with(
            &json,
            "p",
            &OciOptions {
                capabilities: vec!["CAP_NOPE".into()],
                kernel: None,
            },
        )
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidArgument(m) if m.contains("CAP_NOPE")),
        "{err}"
    );
}

#[test]
fn unknown_names_are_skipped_and_listed() {
    let (p, report) = load(&profile(
        r#"{"names": ["read", "no_such_call", "s390_runtime_instr"], "action": "SCMP_ACT_ALLOW"},
           {"name": "no_such_call", "action": "SCMP_ACT_ALLOW"}"#,
    ));
    assert_eq!(decide(&p, "read", [0; 6]), Action::Allow.ret());
    assert_eq!(report.unknown, ["no_such_call", "s390_runtime_instr"]);
    assert!(
        report
            .to_string()
            .contains("unknown: no_such_call s390_runtime_instr"),
        "{report}"
    );
}

#[test]
fn mandatory_rules_override_the_profile_and_say_so() {
    let (p, report) = load(&profile(
        r#"{"names": ["ptrace"], "action": "SCMP_ACT_ALLOW"},
           {"names": ["bpf"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22},
           {"names": ["perf_event_open"], "action": "SCMP_ACT_ERRNO",
            "args": [{"index": 1, "value": 0, "op": "SCMP_CMP_EQ"}]},
           {"names": ["clone", "seccomp"], "action": "SCMP_ACT_ALLOW"},
           {"names": ["getpid"], "action": "SCMP_ACT_ALLOW"}"#,
    ));
    let violation = Action::Violation.ret();
    assert_eq!(decide(&p, "ptrace", [0; 6]), violation);
    // An unconditional errno on a deny-only call is the profile's to give.
    assert_eq!(decide(&p, "bpf", [0; 6]), Action::Errno(22).ret());
    assert_eq!(decide(&p, "perf_event_open", [0; 6]), violation);
    // Not named: the default errno, except clone3's ENOSYS.
    assert_eq!(decide(&p, "keyctl", [0; 6]), Action::Errno(EPERM).ret());
    assert_eq!(decide(&p, "clone3", [0; 6]), Action::Errno(ENOSYS).ret());
    // clone is allowed, but not with namespace flags.
    assert_eq!(decide(&p, "clone", arg0(0x11)), Action::Allow.ret());
    assert_eq!(decide(&p, "clone", arg0(0x1000_0000)), violation);

    let said: Vec<(String, Option<&str>)> = report
        .overrides
        .iter()
        .map(|o| (o.rule.clone(), o.syscall.as_deref()))
        .collect();
    let expected = [
        ("syscalls[0]", "ptrace"),
        ("syscalls[2]", "perf_event_open"),
        ("syscalls[3]", "clone"),
        ("syscalls[3]", "seccomp"),
        ("defaultAction", "clone3"),
    ];
    for (rule, sys) in expected {
        assert!(
            said.contains(&(rule.to_string(), Some(sys))),
            "{rule} {sys} not reported:\n{report}"
        );
    }
    assert_eq!(said.len(), expected.len(), "{report}");
    let ptrace = report
        .overrides
        .iter()
        .find(|o| o.syscall.as_deref() == Some("ptrace"))
        .unwrap();
    assert_eq!(
        ptrace.to_string(),
        "ptrace: syscalls[0] says SCMP_ACT_ALLOW; libsbx: mandatory-denied (it would let the sandboxee control other processes): a violation"
    );
}

#[test]
fn an_allowing_default_leaves_the_mandatory_rules_in_place() {
    let (p, report) = load(r#"{"defaultAction": "SCMP_ACT_ALLOW"}"#);
    assert_eq!(decide(&p, "getpid", [0; 6]), Action::Allow.ret());
    assert_eq!(decide(&p, "keyctl", [0; 6]), Action::Violation.ret());
    let m = mandatory::get();
    // Every deny-only call and every conditional check is listed.
    assert_eq!(
        report.overrides.len(),
        m.denied.len() + m.conditional.len(),
        "{report}"
    );
    assert!(report.overrides.iter().all(|o| o.rule == "defaultAction"));
}

/// The paths of the overrides that concern no syscall.
fn non_syscall_overrides(report: &OciReport) -> Vec<&str> {
    report
        .overrides
        .iter()
        .filter(|o| o.syscall.is_none())
        .map(|o| o.rule.as_str())
        .collect()
}

#[test]
fn architectures_flags_and_listener() {
    let (_, report) = load(
        r#"{"defaultAction": "SCMP_ACT_ERRNO",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
            "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_LOG"],
            "listenerPath": "/run/agent.sock", "listenerMetadata": "x"}"#,
    );
    let rules = non_syscall_overrides(&report);
    #[cfg(target_arch = "x86_64")]
    let arches = ["architectures[1]", "architectures[2]"];
    #[cfg(not(target_arch = "x86_64"))]
    let arches = ["architectures[4]"];
    let mut expected = arches.to_vec();
    expected.extend(["flags[1]", "flags[2]", "listenerPath"]);
    assert_eq!(rules, expected, "{report}");

    let (_, report) = load(
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "archMap": [
            {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
            {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}]}"#,
    );
    let rules = non_syscall_overrides(&report);
    #[cfg(target_arch = "x86_64")]
    assert_eq!(
        rules,
        [
            "archMap[0].subArchitectures[0]",
            "archMap[0].subArchitectures[1]"
        ]
    );
    #[cfg(not(target_arch = "x86_64"))]
    assert_eq!(rules, ["archMap[1].subArchitectures[0]"]);
}

#[test]
fn errors_name_the_json_path() {
    let cases: [(&str, &str); 22] = [
        ("[]", "bad.json: the profile: expected an object, found an array"),
        ("{", "bad.json: EOF while parsing an object"),
        (r#"{"syscalls": []}"#, "bad.json: defaultAction: missing"),
        (r#"{"defaultAction": "SCMP_ACT_ALLOW", "defaultAktion": 1}"#, "bad.json: defaultAktion: unknown key"),
        (r#"{"defaultAction": "SCMP_ACT_DENY"}"#, "bad.json: defaultAction: unknown action \"SCMP_ACT_DENY\""),
        (r#"{"defaultAction": "SCMP_ACT_NOTIFY"}"#, "bad.json: defaultAction: SCMP_ACT_NOTIFY cannot be the default"),
        (r#"{"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1}"#, "bad.json: defaultErrnoRet: SCMP_ACT_ALLOW takes no errno"),
        (&profile(r#"{"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 0}"#), "bad.json: syscalls[0].errnoRet: errno 0 is outside"),
        (&profile(r#"{"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5000}"#), "bad.json: syscalls[0].errnoRet: errno 5000 is outside"),
        (&profile(r#"{"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": -1}"#), "bad.json: syscalls[0].errnoRet: expected an unsigned 64-bit integer, found -1"),
        (&profile(r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW"}, {"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 1, "op": "SCMP_CMP_EQUAL"}]}"#), "bad.json: syscalls[1].args[1].op: unknown op \"SCMP_CMP_EQUAL\""),
        (&profile(r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}"#), "bad.json: syscalls[0].args[0].index: argument index 6 is outside 0..=5"),
        (&profile(r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "valueTwo": 2, "op": "SCMP_CMP_EQ"}]}"#), "bad.json: syscalls[0].args[0].valueTwo: valueTwo is only for SCMP_CMP_MASKED_EQ"),
        (&profile(r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 15, "valueTwo": 16, "op": "SCMP_CMP_MASKED_EQ"}]}"#), "bad.json: syscalls[0].args[0].valueTwo: 0x10 has bits outside the mask (value) 0xf"),
        (&profile(r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "op": "SCMP_CMP_EQ"}]}"#), "bad.json: syscalls[0].args[0].value: missing"),
        (&profile(r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": "1", "op": "SCMP_CMP_EQ"}]}"#), "bad.json: syscalls[0].args[0].value: expected an unsigned 64-bit integer, found \"1\""),
        (&profile(r#"{"names": ["read"], "name": "write", "action": "SCMP_ACT_ALLOW"}"#), "bad.json: syscalls[0]: has both name and names"),
        (&profile(r#"{"names": ["read", 3], "action": "SCMP_ACT_ALLOW"}"#), "bad.json: syscalls[0].names[1]: expected a string, found a number"),
        (&profile(r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4"}}"#), "bad.json: syscalls[0].includes.minKernel: \"4\" is not a kernel version"),
        (&profile(r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW", "excludes": {"cap": []}}"#), "bad.json: syscalls[0].excludes.cap: unknown key"),
        (&profile(r#"{"names": ["getpid"], "action": "SCMP_ACT_ALLOW"}, {"names": ["getpid"], "action": "SCMP_ACT_ERRNO"}"#), "bad.json: syscalls[1]: getpid: SCMP_ACT_ERRNO (EPERM) here but SCMP_ACT_ALLOW in syscalls[0]"),
        (r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": [], "archMap": []}"#, "bad.json: archMap: architectures and archMap are both given"),
    ];
    for (json, expected) in cases {
        let m = error(json);
        assert!(
            m.starts_with(expected),
            "{json}\n  gave {m}\n  not  {expected}..."
        );
    }
    for (json, expected) in [
        (
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_NEW"]}"#,
            "bad.json: flags[0]: unknown flag",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["x86_64"]}"#,
            "bad.json: architectures[0]: \"x86_64\" is not an architecture",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": [1]}]}"#,
            "bad.json: archMap[0].subArchitectures[0]: expected a string",
        ),
        (
            &profile(
                r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["SYS_ADMIN"]}}"#,
            ),
            "bad.json: syscalls[0].includes.caps[0]: \"SYS_ADMIN\" is not a capability",
        ),
    ] {
        let m = error(json);
        assert!(
            m.starts_with(expected),
            "{json}\n  gave {m}\n  not  {expected}..."
        );
    }
}

#[test]
fn null_is_absent() {
    let (p, _) = load(
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": null, "architectures": null,
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": null,
                          "errnoRet": null, "comment": "", "includes": {}, "excludes": {"caps": null}}]}"#,
    );
    assert_eq!(decide(&p, "read", [0; 6]), Action::Allow.ret());
}

const MOBY: &str = include_str!("../../../tests/data/moby-default-seccomp.json");

#[test]
fn moby_default_profile() {
    let options = OciOptions {
        capabilities: vec![],
        kernel: Some((6, 1)),
    };
    let (p, report) = load_with(MOBY, &options);
    let allow = Action::Allow.ret();
    let eperm = Action::Errno(EPERM).ret();
    for name in [
        "read",
        "write",
        "openat",
        "mmap",
        "execve",
        "futex",
        "rt_sigaction",
        "exit_group",
    ] {
        assert_eq!(decide(&p, name, [0; 6]), allow, "{name}");
    }
    // socket: every family but AF_ALG (38) and AF_VSOCK (40).
    assert_eq!(decide(&p, "socket", arg0(2)), allow);
    assert_eq!(decide(&p, "socket", arg0(38)), eperm);
    assert_eq!(decide(&p, "socket", arg0(39)), allow);
    assert_eq!(decide(&p, "socket", arg0(40)), eperm);
    // personality: the listed personas only (ADDR_NO_RANDOMIZE is not one).
    assert_eq!(decide(&p, "personality", arg0(0xffff_ffff)), allow);
    assert_eq!(decide(&p, "personality", arg0(0x0004_0000)), eperm);
    // Capability-only calls fail as in the container; keyctl, not named, too.
    for name in [
        "mount",
        "keyctl",
        "bpf",
        "unshare",
        "reboot",
        "open_by_handle_at",
    ] {
        assert_eq!(decide(&p, name, [0; 6]), eperm, "{name}");
    }
    assert_eq!(decide(&p, "clone3", [0; 6]), Action::Errno(ENOSYS).ret());
    // ptrace is the profile's from 4.8 on, but not libsbx's.
    assert_eq!(decide(&p, "ptrace", [0; 6]), Action::Violation.ret());
    assert!(
        report
            .overrides
            .iter()
            .any(|o| o.rule == "syscalls[1]" && o.syscall.as_deref() == Some("ptrace")),
        "{report}"
    );
    assert!(report.unknown.iter().any(|n| n == "mmap2"), "{report}");
    assert!(!report.excluded.is_empty());

    // The same profile for a container holding CAP_SYS_ADMIN: mount is allowed, clone3 too in
    // the profile, which libsbx keeps at ENOSYS.
    let admin = OciOptions {
        capabilities: vec!["CAP_SYS_ADMIN".into()],
        kernel: Some((6, 1)),
    };
    let (p, report) = load_with(MOBY, &admin);
    assert_eq!(decide(&p, "mount", [0; 6]), allow);
    assert_eq!(decide(&p, "clone3", [0; 6]), Action::Errno(ENOSYS).ret());
    assert!(
        report
            .overrides
            .iter()
            .any(|o| o.syscall.as_deref() == Some("clone3")),
        "{report}"
    );
    // Before 4.8 the profile does not allow ptrace: nothing to override there.
    let (_, report) = load_with(
        MOBY,
        &OciOptions {
            capabilities: vec![],
            kernel: Some((4, 4)),
        },
    );
    assert!(
        !report
            .overrides
            .iter()
            .any(|o| o.syscall.as_deref() == Some("ptrace")),
        "{report}"
    );
}

#[test]
fn kernel_versions() {
    assert_eq!(kernel_version("6.18.0-rc1-amd64"), Some((6, 18)));
    assert_eq!(kernel_version("5.4"), Some((5, 4)));
    assert_eq!(kernel_version("4.19-generic"), Some((4, 19)));
    assert_eq!(kernel_version("6"), None);
    assert_eq!(kernel_version("x.1"), None);
    let running = running_kernel().unwrap();
    assert!(running >= (3, 0));
}

#[test]
fn moby_default_profile_compiles_to_what_the_model_says() {
    let options = OciOptions {
        capabilities: vec![],
        kernel: Some((6, 1)),
    };
    let (p, _) = load_with(MOBY, &options);
    let values = [
        0,
        1,
        8,
        38,
        39,
        40,
        41,
        0x4_0000,
        0x7e02_0000,
        0xffff_ffff,
        u64::MAX,
    ];
    for nr in 0..470 {
        for &v in &values {
            let data = SeccompData {
                nr,
                arch: crate::arch::NATIVE_AUDIT_ARCH,
                instruction_pointer: 0,
                args: [v, v, 0, 0, 0, 0],
            };
            let ran = crate::policy::bpf::evaluate(p.program(), &data).unwrap();
            assert_eq!(ran, p.decide(&data), "nr {nr} arg {v:#x}");
        }
    }
}
