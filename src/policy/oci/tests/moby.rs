//! moby's default profile (the copy in `tests/data/`): what it allows, refuses and leaves out, and
//! that its compiled program agrees with the model.

use super::*;

const MOBY: &str = include_str!("../../../../tests/data/moby-default-seccomp.json");

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
