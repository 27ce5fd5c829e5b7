//! Reading profiles: errors name the JSON path, `null` counts as absent, kernel versions.

use super::*;

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
