//! The mandatory rules: what every policy denies whatever it allows, what falls through to the
//! user's policy, foreign ABIs and libsbx's own start exec.

use super::*;

const DENY_ONLY: [&str; 15] = [
    "ptrace",
    "bpf",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "userfaultfd",
    "perf_event_open",
    "keyctl",
    "add_key",
    "request_key",
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
];

#[test]
fn allow_all_still_denies_the_mandatory_set() {
    let p = PolicyBuilder::new()
        .default_action(DefaultAction::AllowAll)
        .build()
        .unwrap();
    for name in DENY_ONLY {
        assert_eq!(run_nr(&p, name, [0; 6]), VIOLATION, "{name}");
    }
    assert_eq!(
        run_nr(&p, "clone3", [0; 6]),
        errno(crate::sys::errno16(libc::ENOSYS))
    );
    assert_eq!(run_nr(&p, "read", [0; 6]), ALLOW);
    for flag in [
        libc::CLONE_NEWNS,
        libc::CLONE_NEWUSER,
        libc::CLONE_NEWNET,
        libc::CLONE_NEWUTS,
        libc::CLONE_NEWCGROUP,
        libc::CLONE_NEWIPC,
        libc::CLONE_NEWPID,
        libc::CLONE_UNTRACED,
    ] {
        let flags = (flag | libc::SIGCHLD) as u64;
        assert_eq!(
            run_nr(&p, "clone", [flags, 0, 0, 0, 0, 0]),
            VIOLATION,
            "clone {flag:#x}"
        );
        // Garbage in the upper half does not hide the flag.
        assert_eq!(
            run_nr(&p, "clone", [flags | 0xdead_0000_0000_0000, 0, 0, 0, 0, 0]),
            VIOLATION
        );
        if flag != libc::CLONE_UNTRACED {
            assert_eq!(
                run_nr(&p, "unshare", [flag as u64, 0, 0, 0, 0, 0]),
                VIOLATION
            );
        }
    }
    assert_eq!(
        run_nr(&p, "unshare", [0x80 /* CLONE_NEWTIME */, 0, 0, 0, 0, 0]),
        VIOLATION
    );
    // Thread creation as glibc does it, and unshare of non-namespace state, fall through.
    let thread = (libc::CLONE_VM
        | libc::CLONE_FS
        | libc::CLONE_FILES
        | libc::CLONE_SIGHAND
        | libc::CLONE_THREAD
        | libc::CLONE_SYSVSEM
        | libc::CLONE_SETTLS
        | libc::CLONE_PARENT_SETTID
        | libc::CLONE_CHILD_CLEARTID) as u64;
    assert_eq!(run_nr(&p, "clone", [thread, 0, 0, 0, 0, 0]), ALLOW);
    assert_eq!(
        run_nr(&p, "unshare", [libc::CLONE_FILES as u64, 0, 0, 0, 0, 0]),
        ALLOW
    );
    let listener = 1 << 3;
    assert_eq!(
        run_nr(&p, "seccomp", [1, listener | 1, 0, 0, 0, 0]),
        VIOLATION
    );
    assert_eq!(run_nr(&p, "seccomp", [1, 1, 0, 0, 0, 0]), ALLOW);
}

#[test]
fn flagged_calls_fall_through_to_the_user_policy() {
    let mut b = PolicyBuilder::new();
    b.rule(
        "clone",
        &[Arg::masked_eq32(0, libc::CLONE_THREAD as u64, 0)],
        Action::Errno(11),
    )
    .errno("unshare", 1);
    let p = b.build().unwrap();
    assert_eq!(
        run_nr(&p, "clone", [libc::SIGCHLD as u64, 0, 0, 0, 0, 0]),
        errno(11)
    );
    assert_eq!(
        run_nr(&p, "clone", [libc::CLONE_THREAD as u64, 0, 0, 0, 0, 0]),
        VIOLATION
    );
    assert_eq!(
        run_nr(&p, "clone", [libc::CLONE_NEWPID as u64, 0, 0, 0, 0, 0]),
        VIOLATION
    );
    assert_eq!(
        run_nr(&p, "unshare", [libc::CLONE_FS as u64, 0, 0, 0, 0, 0]),
        errno(1)
    );
    assert_eq!(
        run_nr(&p, "unshare", [libc::CLONE_NEWNET as u64, 0, 0, 0, 0, 0]),
        VIOLATION
    );
}

#[test]
fn errno_replaces_a_mandatory_violation() {
    let mut b = PolicyBuilder::new();
    b.errno("ptrace", crate::sys::errno16(libc::EPERM))
        .errno("bpf", crate::sys::errno16(libc::EPERM))
        .errno("clone3", 95);
    b.default_action(DefaultAction::AllowAll);
    let p = b.build().unwrap();
    assert_eq!(
        run_nr(&p, "ptrace", [0; 6]),
        errno(crate::sys::errno16(libc::EPERM))
    );
    assert_eq!(
        run_nr(&p, "bpf", [0; 6]),
        errno(crate::sys::errno16(libc::EPERM))
    );
    assert_eq!(run_nr(&p, "clone3", [0; 6]), errno(95));
    assert_eq!(run_nr(&p, "userfaultfd", [0; 6]), VIOLATION);
    // An explicit violation keeps the verdict.
    let p = PolicyBuilder::new().violation("ptrace").build().unwrap();
    assert_eq!(run_nr(&p, "ptrace", [0; 6]), VIOLATION);
}

#[test]
fn mandatory_denials_cannot_be_allowed() {
    for name in DENY_ONLY.iter().chain(&["clone3"]) {
        for (what, f) in [
            (
                "allow",
                &(|b: &mut PolicyBuilder, n: &str| {
                    b.allow(n);
                }) as &dyn Fn(&mut PolicyBuilder, &str),
            ),
            ("trace", &|b: &mut PolicyBuilder, n: &str| {
                b.trace(n);
            }),
            ("rule", &|b: &mut PolicyBuilder, n: &str| {
                b.rule(n, &[Arg::eq64(0, 0)], Action::Errno(1));
            }),
            ("by number", &|b: &mut PolicyBuilder, n: &str| {
                b.allow(nr(n));
            }),
        ] {
            let mut b = PolicyBuilder::new();
            f(&mut b, name);
            match b.build() {
                Err(Error::InvalidPolicy(m)) => {
                    assert!(
                        m.contains(name) && m.contains("mandatory-denied"),
                        "{what}: {m}"
                    );
                }
                other => panic!("{what} {name}: expected InvalidPolicy, got {other:?}"),
            }
        }
    }
}

#[test]
fn foreign_abis_are_reported() {
    for default in [DefaultAction::AllowAll, DefaultAction::Violation] {
        let p = PolicyBuilder::new()
            .allow("read")
            .default_action(default)
            .build()
            .unwrap();
        let mut d = call(nr("read"), [0; 6]);
        #[cfg(target_arch = "x86_64")]
        {
            d.arch = crate::arch::AUDIT_ARCH_I386;
            assert_eq!(
                run(&p, &d),
                SECCOMP_RET_TRACE | u32::from(trace_data::ARCH_X86_32)
            );
            d.arch = NATIVE_AUDIT_ARCH;
            for x32 in [
                0x4000_0000u32,
                0x4000_0000 | nr("read"),
                0x4000_0000 | 512,
                u32::MAX,
            ] {
                d.nr = x32 as i32;
                assert_eq!(
                    run(&p, &d),
                    SECCOMP_RET_TRACE | u32::from(trace_data::X32),
                    "{x32:#x}"
                );
            }
        }
        d.arch = 0xdead_beef;
        d.nr = nr("read") as i32;
        assert_eq!(
            run(&p, &d),
            SECCOMP_RET_TRACE | u32::from(trace_data::ARCH_UNKNOWN)
        );
    }
}

#[test]
fn own_exec_is_recognised_by_its_magic() {
    let p = PolicyBuilder::new().build().unwrap();
    let exec = SECCOMP_RET_TRACE | u32::from(trace_data::EXEC);
    assert_eq!(
        run_nr(&p, "execveat", [3, 0, 0, 0, 0x1000, EXEC_MAGIC]),
        exec
    );
    // A 64-bit comparison: the magic with junk above it is not the library's exec.
    assert_eq!(
        run_nr(&p, "execveat", [3, 0, 0, 0, 0x1000, EXEC_MAGIC | 1 << 40]),
        VIOLATION
    );
    assert_eq!(run_nr(&p, "execveat", [3, 0, 0, 0, 0x1000, 0]), VIOLATION);
    assert_eq!(run_nr(&p, "execve", [0; 6]), VIOLATION);
    let p = PolicyBuilder::new().allow_exec().build().unwrap();
    assert_eq!(
        run_nr(&p, "execveat", [3, 0, 0, 0, 0x1000, EXEC_MAGIC]),
        exec
    );
    assert_eq!(run_nr(&p, "execveat", [3, 0, 0, 0, 0x1000, 0]), ALLOW);
}
