//! Includes and excludes, unknown names, and where libsbx's mandatory rules, sub-architectures,
//! flags and a listener decide differently from the profile.

use super::*;

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
