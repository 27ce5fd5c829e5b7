//! Tests of built policies as a whole: the compiled program run through the interpreter must agree
//! with the model ([`Policy::decide`]), stay cacheable by the kernel, dispatch in logarithmic time,
//! survive long jumps, and always carry the mandatory rules.

// Tests: their casts are of constants and of values the tests make themselves.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::cast_precision_loss
)]

use super::bpf::*;
use super::*;
use crate::arch::{Arch, NATIVE_AUDIT_ARCH};
use crate::error::Error;
use super::rule::ioctl_cmd;

fn nr(name: &str) -> u32 {
    syscalls::number(name).unwrap_or_else(|| panic!("{name} missing from the native table"))
}

/// The native ones of `names`, which lists the names of every architecture a test means
/// (`dup2` on x86-64, `dup3` everywhere); each must exist on one at least.
fn native_ones(
    names: impl IntoIterator<Item = &'static str>,
) -> impl Iterator<Item = &'static str> {
    names.into_iter().filter(|name| {
        let archs = [Arch::X86_64, Arch::X86_32, Arch::Aarch64];
        assert!(
            archs
                .iter()
                .any(|&a| syscalls::number_for(a, name).is_some()),
            "{name} is no syscall anywhere"
        );
        syscalls::number(name).is_some()
    })
}

fn call(nr: u32, args: [u64; 6]) -> SeccompData {
    SeccompData {
        nr: nr as i32,
        arch: NATIVE_AUDIT_ARCH,
        instruction_pointer: 0x7fff_0000_1234,
        args,
    }
}

/// Runs the compiled program and checks it agrees with the model before returning the verdict.
fn run(policy: &Policy, data: &SeccompData) -> u32 {
    let got = evaluate(policy.program(), data).expect("compiled program must evaluate");
    assert_eq!(
        got,
        policy.decide(data),
        "program and model disagree on {data:?}"
    );
    got
}

fn run_nr(policy: &Policy, name: &str, args: [u64; 6]) -> u32 {
    run(policy, &call(nr(name), args))
}

const ALLOW: u32 = SECCOMP_RET_ALLOW;
const VIOLATION: u32 = SECCOMP_RET_TRACE | trace_data::VIOLATION as u32;
const USER_TRACE: u32 = SECCOMP_RET_TRACE | trace_data::USER_TRACE as u32;
const fn errno(e: u16) -> u32 {
    SECCOMP_RET_ERRNO | e as u32
}

// ---------------------------------------------------------------------------------------------
// Behaviour of small policies.

#[test]
fn empty_policy_denies_everything() {
    let p = PolicyBuilder::new().build().unwrap();
    assert_eq!(run_nr(&p, "read", [0; 6]), VIOLATION);
    assert_eq!(run(&p, &call(100_000, [0; 6])), VIOLATION);
    assert_eq!(p.default_action(), DefaultAction::Violation);
    assert!(!p.allows_exec());
}

#[test]
fn actions_and_defaults() {
    let mut b = PolicyBuilder::new();
    b.allow("read")
        .errno("write", 5)
        .trace("getpid")
        .violation("getppid");
    for (default, ret) in [
        (DefaultAction::Violation, VIOLATION),
        (DefaultAction::AllowAll, ALLOW),
        (DefaultAction::TraceAll, USER_TRACE),
        (DefaultAction::Errno(38), errno(38)),
    ] {
        let p = b.clone().default_action(default).build().unwrap();
        assert_eq!(run_nr(&p, "read", [0; 6]), ALLOW);
        assert_eq!(run_nr(&p, "write", [0; 6]), errno(5));
        assert_eq!(run_nr(&p, "getpid", [0; 6]), USER_TRACE);
        assert_eq!(run_nr(&p, "getppid", [0; 6]), VIOLATION);
        assert_eq!(run_nr(&p, "close", [0; 6]), ret, "{default:?}");
        assert_eq!(p.default_action(), default);
    }
}

#[test]
fn first_matching_rule_wins() {
    let tcgets = ioctl_cmd(libc::TCGETS);
    let mut b = PolicyBuilder::new();
    b.rule("ioctl", &[Arg::eq32(1, tcgets)], Action::Allow)
        .errno("ioctl", crate::sys::errno16(libc::ENOTTY));
    let p = b.build().unwrap();
    assert_eq!(run_nr(&p, "ioctl", [1, tcgets, 0, 0, 0, 0]), ALLOW);
    assert_eq!(
        run_nr(&p, "ioctl", [1, ioctl_cmd(libc::TIOCSTI), 0, 0, 0, 0]),
        errno(crate::sys::errno16(libc::ENOTTY))
    );

    // The other way round, the unconditional errno decides alone; the later rule is dropped.
    let mut b = PolicyBuilder::new();
    b.errno("ioctl", 25)
        .rule("ioctl", &[Arg::eq32(1, tcgets)], Action::Allow);
    let p = b.build().unwrap();
    assert_eq!(run_nr(&p, "ioctl", [1, tcgets, 0, 0, 0, 0]), errno(25));
}

#[test]
fn conditions_are_anded_rules_are_ored() {
    let mut b = PolicyBuilder::new();
    b.rule(
        "mmap",
        &[Arg::eq32(2, 3), Arg::eq32(3, 0x22)],
        Action::Allow,
    )
    .rule("mmap", &[Arg::eq32(2, 0)], Action::Errno(1));
    let p = b.build().unwrap();
    assert_eq!(run_nr(&p, "mmap", [0, 4096, 3, 0x22, 0, 0]), ALLOW);
    assert_eq!(run_nr(&p, "mmap", [0, 4096, 3, 0x02, 0, 0]), VIOLATION);
    assert_eq!(run_nr(&p, "mmap", [0, 4096, 0, 0x22, 0, 0]), errno(1));
}

#[test]
fn sixty_four_bit_comparisons() {
    let v = 0x0000_0001_8000_0000u64;
    let cases = [
        (Cmp::Eq, [false, true, false]),
        (Cmp::Ne, [true, false, true]),
        (Cmp::Lt, [true, false, false]),
        (Cmp::Le, [true, true, false]),
        (Cmp::Gt, [false, false, true]),
        (Cmp::Ge, [false, true, true]),
    ];
    for (cmp, want) in cases {
        let p = PolicyBuilder::new()
            .rule("read", &[Arg::new(0, Width::W64, cmp, v)], Action::Allow)
            .build()
            .unwrap();
        // Below, equal, above; each also with the halves arranged to fool a one-half compare.
        for (x, want) in [(v - 1, want[0]), (v, want[1]), (v + 1, want[2])] {
            let got = run_nr(&p, "read", [x, 0, 0, 0, 0, 0]) == ALLOW;
            assert_eq!(got, want, "{cmp:?} x={x:#x}");
        }
        let low_big_high_small = 0x0000_0000_ffff_ffffu64;
        let expect = matches!(cmp, Cmp::Lt | Cmp::Le | Cmp::Ne);
        assert_eq!(
            run_nr(&p, "read", [low_big_high_small, 0, 0, 0, 0, 0]) == ALLOW,
            expect
        );
        let high_big_low_small = 0x0000_0002_0000_0000u64;
        let expect = matches!(cmp, Cmp::Gt | Cmp::Ge | Cmp::Ne);
        assert_eq!(
            run_nr(&p, "read", [high_big_low_small, 0, 0, 0, 0, 0]) == ALLOW,
            expect
        );
    }
    let p = PolicyBuilder::new()
        .rule(
            "read",
            &[Arg::masked_eq64(
                0,
                0xff00_0000_0000_00ff,
                0x1200_0000_0000_0034,
            )],
            Action::Allow,
        )
        .build()
        .unwrap();
    assert_eq!(
        run_nr(&p, "read", [0x12ab_cdef_0123_4534, 0, 0, 0, 0, 0]),
        ALLOW
    );
    assert_eq!(
        run_nr(&p, "read", [0x13ab_cdef_0123_4534, 0, 0, 0, 0, 0]),
        VIOLATION
    );
    assert_eq!(
        run_nr(&p, "read", [0x12ab_cdef_0123_4535, 0, 0, 0, 0, 0]),
        VIOLATION
    );
}

/// The kernel reads `ioctl`'s `cmd` as an `unsigned int`: a caller may put anything in the upper
/// half of the register and the kernel still runs TCGETS. A 32-bit rule sees the call as the
/// kernel does; a 64-bit rule would not match (so an allow-list would wrongly refuse it, and a
/// deny rule written on 64 bits could be bypassed by setting high bits).
#[test]
fn ioctl_cmd_is_compared_on_32_bits() {
    let tcgets = ioctl_cmd(libc::TCGETS);
    let dirty = 0xffff_ffff_0000_0000 | tcgets;
    let p32 = PolicyBuilder::new().allow_tcgets().build().unwrap();
    assert_eq!(run_nr(&p32, "ioctl", [0, dirty, 0, 0, 0, 0]), ALLOW);
    assert_eq!(run_nr(&p32, "ioctl", [0, tcgets, 0, 0, 0, 0]), ALLOW);
    let p64 = PolicyBuilder::new()
        .rule("ioctl", &[Arg::eq64(1, tcgets)], Action::Allow)
        .build()
        .unwrap();
    assert_eq!(run_nr(&p64, "ioctl", [0, dirty, 0, 0, 0, 0]), VIOLATION);
    assert_eq!(run_nr(&p64, "ioctl", [0, tcgets, 0, 0, 0, 0]), ALLOW);
}

#[test]
fn allows_exec_reflects_the_user_policy() {
    let p = PolicyBuilder::new().allow_exec().build().unwrap();
    assert!(p.allows_exec());
    let p = PolicyBuilder::new().allow("execve").build().unwrap();
    assert!(p.allows_exec());
    let p = PolicyBuilder::new()
        .default_action(DefaultAction::AllowAll)
        .build()
        .unwrap();
    assert!(p.allows_exec());
    let p = PolicyBuilder::new()
        .rule("execve", &[Arg::eq64(0, 0)], Action::Allow)
        .default_action(DefaultAction::AllowAll)
        .errno("execveat", 1)
        .build()
        .unwrap();
    assert!(!p.allows_exec());
}

// ---------------------------------------------------------------------------------------------
// Builder semantics.

#[test]
fn errors_are_sticky_and_first_one_wins() {
    type Step<'a> = &'a dyn Fn(&mut PolicyBuilder);
    let mut b = PolicyBuilder::new();
    b.allow("no_such_syscall").errno("read", 0).allow("read");
    assert_eq!(
        b.build().unwrap_err(),
        Error::UnknownSyscall("no_such_syscall".into())
    );
    assert_eq!(
        b.build().unwrap_err(),
        Error::UnknownSyscall("no_such_syscall".into())
    );

    let bad: [(Step, &str); 7] = [
        (
            &|b| {
                b.errno("read", 0);
            },
            "errno 0",
        ),
        (
            &|b| {
                b.errno("read", 4096);
            },
            "errno 4096",
        ),
        (
            &|b| {
                b.default_action(DefaultAction::Errno(0));
            },
            "errno 0",
        ),
        (
            &|b| {
                b.rule("read", &[Arg::eq64(6, 0)], Action::Allow);
            },
            "index 6",
        ),
        (
            &|b| {
                b.rule("read", &[Arg::eq32(0, 1 << 32)], Action::Allow);
            },
            "32 bits",
        ),
        (
            &|b| {
                b.rule("read", &[Arg::masked_eq32(0, 1 << 40, 0)], Action::Allow);
            },
            "32 bits",
        ),
        (
            &|b| {
                b.allow(0x4000_0000u32);
            },
            "out of range",
        ),
    ];
    for (f, needle) in bad {
        let mut b = PolicyBuilder::new();
        f(&mut b);
        match b.build() {
            Err(Error::InvalidArgument(m)) => assert!(m.contains(needle), "{m}"),
            other => panic!("expected InvalidArgument({needle}), got {other:?}"),
        }
    }
    let mut b = PolicyBuilder::new();
    b.allow(-1i64);
    assert!(matches!(b.build(), Err(Error::InvalidArgument(_))));
}

#[test]
fn syscalls_by_number() {
    let p = PolicyBuilder::new()
        .allow(libc::SYS_getpid)
        .allow(nr("gettid"))
        .build()
        .unwrap();
    assert_eq!(run_nr(&p, "getpid", [0; 6]), ALLOW);
    assert_eq!(run_nr(&p, "gettid", [0; 6]), ALLOW);
}

#[test]
fn duplicate_rules_do_not_grow_the_program() {
    let mut b = PolicyBuilder::new();
    b.allow_read().allow_tcgets().allow_get_random();
    let len = b.build().unwrap().program().len();
    b.allow_read()
        .allow_tcgets()
        .allow_get_random()
        .allow("read")
        .errno("read", 5);
    b.rule(
        "ioctl",
        &[Arg::eq32(1, ioctl_cmd(libc::TCGETS))],
        Action::Allow,
    );
    assert_eq!(b.build().unwrap().program().len(), len);
    // A new conditional rule does append.
    b.rule(
        "ioctl",
        &[Arg::eq32(1, ioctl_cmd(libc::TIOCGWINSZ))],
        Action::Allow,
    );
    assert!(b.build().unwrap().program().len() > len);
}

#[test]
fn policy_is_cheap_to_share() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Policy>();
    assert_send_sync::<PolicyBuilder>();
    let p = PolicyBuilder::new().allow("read").build().unwrap();
    let q = p.clone();
    assert!(std::ptr::eq(p.program(), q.program()));
}

/// Every name any group or preset mentions exists on some architecture: names missing natively
/// are skipped on purpose, so a misspelt one would otherwise go unnoticed.
#[test]
fn group_names_exist_somewhere() {
    let mut b = PolicyBuilder::new();
    b.allow_exit()
        .allow_read()
        .allow_write()
        .allow_open()
        .allow_stat()
        .allow_access()
        .allow_dup()
        .allow_pipe()
        .allow_chmod()
        .allow_chown()
        .allow_readdir()
        .allow_readlink()
        .allow_link()
        .allow_symlink()
        .allow_mkdir()
        .allow_utime()
        .allow_unlink()
        .allow_rename()
        .allow_eventfd()
        .allow_poll()
        .allow_select()
        .allow_epoll_wait()
        .allow_epoll()
        .allow_inotify()
        .allow_fork()
        .allow_wait()
        .allow_alarm()
        .allow_posix_timers()
        .allow_handle_signals()
        .allow_kill()
        .allow_tcgets()
        .allow_time()
        .allow_sleep()
        .allow_get_ids()
        .allow_get_pids()
        .allow_get_pgids()
        .allow_get_rlimit()
        .allow_set_rlimit()
        .allow_get_random()
        .allow_wipe_on_fork()
        .allow_safe_fcntl()
        .allow_futex_op(libc::FUTEX_WAIT as u32)
        .allow_mlock()
        .allow_mmap_without_exec()
        .allow_mprotect_without_exec()
        .allow_mmap()
        .allow_mprotect()
        .allow_prctl_set_name()
        .allow_prctl_set_vma()
        .allow_static_startup()
        .allow_dynamic_startup()
        .allow_system_malloc()
        .allow_limited_madvise()
        .allow_shared_memory()
        .allow_restartable_sequences()
        .allow_exec();
    b.build().unwrap();
    let _ = presets::tool_default().build().unwrap();
    let seen = builder::take_seen_names();
    assert!(seen.len() > 150, "only {} names recorded", seen.len());
    let archs = [Arch::X86_64, Arch::X86_32, Arch::Aarch64];
    for name in seen {
        assert!(
            archs
                .iter()
                .any(|&a| syscalls::number_for(a, name).is_some()),
            "{name} is in no syscall table"
        );
    }
}

#[test]
fn futex_op_with_flags_is_rejected() {
    let mut b = PolicyBuilder::new();
    b.allow_futex_op((libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG) as u32);
    assert!(matches!(b.build(), Err(Error::InvalidArgument(_))));
    let p = PolicyBuilder::new()
        .allow_futex_op(libc::FUTEX_WAKE as u32)
        .build()
        .unwrap();
    let private_wake = (libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG) as u64;
    assert_eq!(run_nr(&p, "futex", [0, private_wake, 0, 0, 0, 0]), ALLOW);
    assert_eq!(
        run_nr(&p, "futex", [0, libc::FUTEX_WAIT as u64, 0, 0, 0, 0]),
        VIOLATION
    );
}

// ---------------------------------------------------------------------------------------------
// Mandatory rules.

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

// ---------------------------------------------------------------------------------------------
// Compiler structure.

/// What the kernel's `seccomp_is_const_allow` (kernel/seccomp.c, Linux 5.11+) concludes for one
/// syscall number, generalised to report the constant verdict: it follows the path for `nr` with
/// only `arch` and `nr` known, and gives up (`None`) on anything that needs more (argument or IP
/// loads, X, scratch memory, ALU other than AND, RET A). The kernel caches the syscall as
/// allowed exactly when this returns `Some(SECCOMP_RET_ALLOW)`.
fn constant_path(prog: &[SockFilter], arch: u32, nr: u32) -> Option<(u32, usize)> {
    let mut a = 0u32;
    let mut pc = 0usize;
    let mut steps = 0usize;
    while let Some(insn) = prog.get(pc) {
        steps += 1;
        match insn.code {
            c if c == BPF_LD | BPF_W | BPF_ABS => match insn.k {
                SECCOMP_DATA_NR => a = nr,
                SECCOMP_DATA_ARCH => a = arch,
                _ => return None,
            },
            c if c == BPF_RET | BPF_K => return Some((insn.k, steps)),
            c if c == BPF_JMP | BPF_JA => pc += insn.k as usize,
            c if c == BPF_JMP | BPF_JEQ | BPF_K
                || c == BPF_JMP | BPF_JGE | BPF_K
                || c == BPF_JMP | BPF_JGT | BPF_K
                || c == BPF_JMP | BPF_JSET | BPF_K =>
            {
                let taken = match c & 0xf0 {
                    BPF_JEQ => a == insn.k,
                    BPF_JGE => a >= insn.k,
                    BPF_JGT => a > insn.k,
                    _ => a & insn.k != 0,
                };
                pc += usize::from(if taken { insn.jt } else { insn.jf });
            }
            c if c == BPF_ALU | BPF_AND | BPF_K => a &= insn.k,
            _ => return None,
        }
        pc += 1;
    }
    None
}

fn kernel_caches_allow(prog: &[SockFilter], nr: u32) -> bool {
    constant_path(prog, NATIVE_AUDIT_ARCH, nr).map(|(ret, _)| ret) == Some(SECCOMP_RET_ALLOW)
}

/// Every syscall whose verdict does not depend on its arguments reaches its verdict on a
/// constant path (only arch and nr loaded); allowed ones are therefore cached by the kernel.
/// Syscalls with argument rules are not.
#[test]
fn unconditional_allows_are_kernel_cacheable() {
    let mut policies = vec![
        presets::tool_default().build().unwrap(),
        PolicyBuilder::new()
            .default_action(DefaultAction::AllowAll)
            .build()
            .unwrap(),
    ];
    let mut big = PolicyBuilder::new();
    big.allow_dynamic_startup()
        .allow_system_malloc()
        .allow_exit()
        .allow_tcgets();
    policies.push(big.build().unwrap());
    for p in &policies {
        let mut allowed = 0;
        for n in 0..600u32 {
            let path = constant_path(p.program(), NATIVE_AUDIT_ARCH, n).map(|(r, _)| r);
            match p.constant_verdict(n) {
                Some(v) => {
                    assert_eq!(path, Some(v), "nr {n} should be constant {v:#x}");
                    allowed += usize::from(v == SECCOMP_RET_ALLOW);
                }
                None => assert_eq!(path, None, "nr {n} has argument rules"),
            }
            assert_eq!(
                kernel_caches_allow(p.program(), n),
                p.constant_verdict(n) == Some(ALLOW)
            );
        }
        assert!(allowed > 10);
        // Foreign ABIs are never cached as allowed.
        #[cfg(target_arch = "x86_64")]
        for n in [0u32, 1, 60, 0x4000_0000] {
            let i386 = constant_path(p.program(), crate::arch::AUDIT_ARCH_I386, n);
            assert_ne!(i386.map(|r| r.0), Some(ALLOW));
            assert!(!kernel_caches_allow(p.program(), n | 0x4000_0000));
        }
    }
    let tool = &policies[0];
    for name in [
        "read",
        "write",
        "close",
        "openat",
        "newfstatat",
        "mmap",
        "futex",
        "getpid",
    ] {
        if let Some(n) = syscalls::number(name) {
            assert!(
                kernel_caches_allow(tool.program(), n),
                "{name} should be cacheable"
            );
        }
    }
    for name in ["ioctl", "socket", "clone", "execveat", "prctl"] {
        assert!(
            !kernel_caches_allow(tool.program(), nr(name)),
            "{name} has argument rules"
        );
    }
}

/// Reaching any leaf takes O(log n) instructions: a balanced search, not a linear chain.
#[test]
fn dispatch_is_logarithmic() {
    let denied = &mandatory::get().denied;
    let conditional = &mandatory::get().conditional;
    let candidates: Vec<u32> = syscalls::table(Arch::native())
        .unwrap()
        .iter()
        .map(|&(n, _)| n)
        .filter(|n| !denied.contains_key(n) && !conditional.contains_key(n))
        .take(300)
        .collect();
    assert_eq!(candidates.len(), 300);
    let p = PolicyBuilder::new()
        .allow_many(candidates.iter().copied())
        .build()
        .unwrap();
    let leaves = 300 + denied.len() + conditional.len();
    let prologue = if cfg!(target_arch = "x86_64") { 4 } else { 3 };
    let bound = 2 * (leaves as f64).log2().ceil() as usize + prologue + 4;
    let mut worst = 0;
    for n in 0..1000u32 {
        if let Some((_, steps)) = constant_path(p.program(), NATIVE_AUDIT_ARCH, n) {
            worst = worst.max(steps);
        }
    }
    assert!(worst <= bound, "worst path {worst} > bound {bound}");
    // And far from linear.
    assert!(worst < 30, "worst path {worst}");
    for &n in &candidates {
        assert!(kernel_caches_allow(p.program(), n));
    }
}

/// One syscall with enough conditional rules that its chain is longer than a short jump can
/// cross, and many syscalls with chains so the dispatch tree jumps far too.
#[test]
fn long_jumps_use_trampolines() {
    let mut b = PolicyBuilder::new();
    for i in 0..200u64 {
        b.rule(
            "ioctl",
            &[Arg::eq64(1, 0x1000 + i)],
            Action::Errno(1 + i as u16),
        );
    }
    let candidates: Vec<u32> = syscalls::table(Arch::native())
        .unwrap()
        .iter()
        .map(|&(n, _)| n)
        .filter(|&n| mandatory::check_user_rule(n, true, Action::Allow).is_ok())
        .filter(|&n| n != nr("ioctl"))
        .take(150)
        .collect();
    for (i, &n) in candidates.iter().enumerate() {
        b.rule(n, &[Arg::eq32(0, i as u64)], Action::Allow).rule(
            n,
            &[Arg::gt64(1, 7)],
            Action::Trace,
        );
    }
    let p = b.build().unwrap();
    let prog = p.program();
    assert!(prog.len() > 1000, "{}", prog.len());
    assert!(
        prog.iter().any(|i| i.code == BPF_JMP | BPF_JA),
        "expected JA trampolines"
    );
    for i in 0..200u64 {
        assert_eq!(
            run_nr(&p, "ioctl", [0, 0x1000 + i, 0, 0, 0, 0]),
            errno(1 + i as u16)
        );
        assert_eq!(
            run_nr(&p, "ioctl", [0, (0x1000 + i) | 1 << 33, 0, 0, 0, 0]),
            VIOLATION
        );
    }
    for (i, &n) in candidates.iter().enumerate() {
        assert_eq!(run(&p, &call(n, [i as u64, 0, 0, 0, 0, 0])), ALLOW);
        assert_eq!(run(&p, &call(n, [i as u64 + 1, 8, 0, 0, 0, 0])), USER_TRACE);
        assert_eq!(run(&p, &call(n, [i as u64 + 1, 7, 0, 0, 0, 0])), VIOLATION);
    }
}

/// Sweeps chain lengths so that jumps to a shared return land exactly on the edge of the 8-bit
/// reach (offsets 254..=257): rules of 2 and 3 instructions shift the distance by every amount.
#[test]
fn jumps_at_the_edge_of_short_reach() {
    for n in 100..140u64 {
        for m in 0..3u64 {
            let mut b = PolicyBuilder::new();
            for i in 0..n {
                b.rule("ioctl", &[Arg::eq32(1, i)], Action::Errno(1));
            }
            for j in 0..m {
                b.rule(
                    "ioctl",
                    &[Arg::masked_eq32(1, 0xffff_0000, 0x1_0000 * (j + 1))],
                    Action::Errno(1),
                );
            }
            let p = b.build().unwrap();
            for i in 0..n {
                assert_eq!(
                    run_nr(&p, "ioctl", [0, i, 0, 0, 0, 0]),
                    errno(1),
                    "n {n} m {m} i {i}"
                );
            }
            for j in 0..m {
                assert_eq!(
                    run_nr(&p, "ioctl", [0, 0x1_0000 * (j + 1) + 5, 0, 0, 0, 0]),
                    errno(1)
                );
            }
            assert_eq!(run_nr(&p, "ioctl", [0, n, 0, 0, 0, 0]), VIOLATION);
        }
    }
}

#[test]
fn too_long_programs_are_rejected() {
    let mut b = PolicyBuilder::new();
    for i in 0..1500u64 {
        b.rule("ioctl", &[Arg::eq64(1, i)], Action::Allow);
    }
    match b.build() {
        Err(Error::InvalidPolicy(m)) => assert!(m.contains("4096"), "{m}"),
        other => panic!("expected InvalidPolicy, got {other:?}"),
    }
}

#[test]
fn programs_are_valid_for_the_kernel() {
    // What the kernel's checker wants: at most 4096 instructions, every jump inside, last
    // instruction a return, only seccomp-accepted opcodes.
    let p = presets::tool_default().build().unwrap();
    let prog = p.program();
    assert!(prog.len() <= BPF_MAXINSNS);
    assert_eq!(prog.last().map(|i| i.code), Some(BPF_RET | BPF_K));
    for (pc, insn) in prog.iter().enumerate() {
        match insn.code {
            c if c == BPF_JMP | BPF_JA => assert!(pc + 1 + (insn.k as usize) < prog.len()),
            c if c & 0x07 == BPF_JMP => {
                assert!(pc + 1 + usize::from(insn.jt.max(insn.jf)) < prog.len());
            }
            c if c == BPF_LD | BPF_W | BPF_ABS => assert!(insn.k % 4 == 0 && insn.k < 64),
            c if c == BPF_RET | BPF_K || c == BPF_ALU | BPF_AND | BPF_K => {}
            c => panic!("unexpected opcode {c:#x} at {pc}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Property test: compiled program == model, on random policies and random inputs.

/// xorshift64*: small, deterministic, good enough to spread test inputs.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    pub(super) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Values near the edges where comparisons go wrong.
pub(super) fn interesting(rng: &mut Rng, w32: bool) -> u64 {
    let v = match rng.below(8) {
        0 => 0,
        1 => 1,
        2 => u64::from(u32::MAX),
        3 => 0x8000_0000,
        4 => 1 << 32,
        5 => u64::MAX,
        6 => rng.below(16),
        _ => rng.next(),
    };
    if w32 {
        v & u64::from(u32::MAX)
    } else {
        v
    }
}

pub(super) fn random_arg(rng: &mut Rng) -> Arg {
    let index = rng.below(6) as u8;
    let w32 = rng.chance(50);
    let width = if w32 { Width::W32 } else { Width::W64 };
    let cmp = match rng.below(7) {
        0 => Cmp::Eq,
        1 => Cmp::Ne,
        2 => Cmp::Lt,
        3 => Cmp::Le,
        4 => Cmp::Gt,
        5 => Cmp::Ge,
        _ => Cmp::MaskedEq(interesting(rng, w32)),
    };
    let mut value = interesting(rng, w32);
    if let Cmp::MaskedEq(mask) = cmp {
        value &= mask;
    }
    Arg::new(index, width, cmp, value)
}

fn random_action(rng: &mut Rng) -> Action {
    match rng.below(4) {
        0 => Action::Allow,
        1 => Action::Errno(1 + rng.below(u64::from(MAX_ERRNO)) as u16),
        2 => Action::Trace,
        _ => Action::Violation,
    }
}

/// A random valid policy over a pool of syscalls, and the pool.
fn random_policy(rng: &mut Rng) -> (Policy, Vec<u32>, Vec<Arg>) {
    let table = syscalls::table(Arch::native()).unwrap();
    let denied = &mandatory::get().denied;
    let size = match rng.below(10) {
        0 => 120,
        1..=3 => 30,
        _ => 6,
    };
    let mut pool: Vec<u32> = (0..size).map(|_| rng.pick(table).0).collect();
    // The mandatory conditional syscalls are the interesting neighbours of user rules.
    for name in ["clone", "execveat", "unshare", "seccomp", "ptrace"] {
        if rng.chance(30) {
            pool.push(nr(name));
        }
    }
    let mut b = PolicyBuilder::new();
    let mut args_used = Vec::new();
    let rules = pool.len() * (1 + rng.below(3) as usize);
    for _ in 0..rules {
        let n = *rng.pick(&pool);
        if denied.contains_key(&n) {
            if rng.chance(50) {
                b.errno(n, 1 + rng.below(100) as u16);
            }
            continue;
        }
        if rng.chance(25) {
            b.rule(n, &[], random_action(rng));
        } else {
            let conds: Vec<Arg> = (0..=rng.below(3)).map(|_| random_arg(rng)).collect();
            args_used.extend(conds.iter().copied());
            b.rule(n, &conds, random_action(rng));
        }
    }
    let default = match rng.below(4) {
        0 => DefaultAction::AllowAll,
        1 => DefaultAction::TraceAll,
        2 => DefaultAction::Errno(1 + rng.below(4095) as u16),
        _ => DefaultAction::Violation,
    };
    b.default_action(default);
    match b.build() {
        Ok(p) => (p, pool, args_used),
        Err(e) => panic!("random policy failed to build: {e}"),
    }
}

/// An argument value aimed at a condition's boundary, with the upper half sometimes disturbed.
fn random_value(rng: &mut Rng, args_used: &[Arg], index: usize) -> u64 {
    let near: Vec<&Arg> = args_used
        .iter()
        .filter(|a| usize::from(a.index) == index)
        .collect();
    if near.is_empty() || rng.chance(20) {
        return interesting(rng, false);
    }
    let a = *rng.pick(&near);
    let base = match a.cmp {
        Cmp::MaskedEq(mask) if rng.chance(50) => a.value | (rng.next() & !mask),
        _ => a.value,
    };
    let v = match rng.below(3) {
        0 => base.wrapping_sub(1),
        1 => base,
        _ => base.wrapping_add(1),
    };
    match rng.below(4) {
        0 => v ^ (rng.next() << 32),
        1 => v ^ (1 << 32),
        _ => v,
    }
}

#[test]
fn compiled_program_agrees_with_the_model() {
    let mut cases = 0usize;
    let mut verdicts = std::collections::HashSet::new();
    for seed in 1..=300u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let (p, pool, args_used) = random_policy(&mut rng);
        for _ in 0..200 {
            let arch = match rng.below(10) {
                0 => crate::arch::AUDIT_ARCH_I386,
                1 => rng.next() as u32,
                _ => NATIVE_AUDIT_ARCH,
            };
            let n = match rng.below(10) {
                0..=5 => *rng.pick(&pool),
                6 => rng.pick(&pool).wrapping_add(1),
                7 => rng.pick(&pool).wrapping_sub(1),
                8 => rng.below(600) as u32,
                _ => match rng.below(3) {
                    0 => 0x4000_0000 | rng.below(600) as u32,
                    1 => rng.next() as u32,
                    _ => *rng.pick(&pool) | 0x4000_0000,
                },
            };
            let mut args = [0u64; 6];
            for (i, a) in args.iter_mut().enumerate() {
                *a = random_value(&mut rng, &args_used, i);
            }
            let data = SeccompData {
                nr: n as i32,
                arch,
                instruction_pointer: rng.next(),
                args,
            };
            let got = evaluate(p.program(), &data)
                .unwrap_or_else(|e| panic!("seed {seed}: evaluation failed: {e}"));
            let want = p.decide(&data);
            assert_eq!(got, want, "seed {seed}: {data:?}\n{}", p.disassemble());
            verdicts.insert(got);
            cases += 1;
        }
    }
    assert!(cases >= 50_000);
    // The inputs reached rules, not only the defaults.
    assert!(
        verdicts.len() > 200,
        "only {} distinct verdicts",
        verdicts.len()
    );
}

// ---------------------------------------------------------------------------------------------
// The tool preset.

#[test]
fn tool_default_groups_describe_the_rules() {
    // Two ways: nothing the table lists is a violation, and every syscall the policy lets
    // through (or answers with an errno) is in the table, so --dump-policy cannot drift.
    let p = presets::tool_default().build().unwrap();
    let listed: std::collections::BTreeSet<&str> = presets::TOOL_GROUPS
        .iter()
        .flat_map(|g| g.syscalls.iter().copied())
        .collect();
    // The groups list every architecture's names (access on x86-64, faccessat everywhere).
    for name in native_ones(listed.iter().copied()) {
        assert_ne!(
            run_nr(&p, name, [0; 6]),
            VIOLATION,
            "{name} is listed but a violation"
        );
    }
    let table = syscalls::table(Arch::native()).unwrap();
    for (_, name) in table {
        let verdict = run_nr(&p, name, [0; 6]);
        if verdict != VIOLATION && *name != "clone3" {
            assert!(
                listed.contains(name),
                "{name} is let through ({verdict:#x}) but not in TOOL_GROUPS"
            );
        }
    }
    assert!(presets::describe_tool_groups().contains("# memory protection keys:"));
}

#[test]
fn tty_rules_drive_ptys_but_never_inject() {
    let mut b = PolicyBuilder::new();
    presets::tty_rules(&mut b);
    presets::tool_rules(&mut b);
    let p = b.build().unwrap();
    let ioctl = |cmd: u64| run_nr(&p, "ioctl", [3, cmd, 0, 0, 0, 0]);
    for cmd in [libc::TIOCGPTN, libc::TIOCSPTLCK, libc::TCSETS, libc::TIOCSWINSZ] {
        assert_eq!(ioctl(ioctl_cmd(cmd)), ALLOW, "{cmd:#x}");
    }
    assert_eq!(
        ioctl(ioctl_cmd(libc::TIOCSTI)),
        errno(crate::sys::errno16(libc::ENOTTY))
    );
    assert_eq!(
        ioctl(ioctl_cmd(libc::TIOCLINUX)),
        errno(crate::sys::errno16(libc::ENOTTY))
    );
}

#[test]
fn tool_default_runs_tools_but_not_escapes() {
    let p = presets::tool_default().build().unwrap();
    assert_eq!(p.default_action(), DefaultAction::Violation);
    assert!(p.allows_exec());
    for name in native_ones([
        "read",
        "write",
        "openat",
        "close",
        "execve",
        "wait4",
        "pipe2",
        "dup2",
        "dup3",
        "getdents64",
    ]) {
        assert_eq!(run_nr(&p, name, [0; 6]), ALLOW, "{name}");
    }
    let unix = libc::AF_UNIX as u64;
    assert_eq!(
        run_nr(&p, "socket", [unix, libc::SOCK_STREAM as u64, 0, 0, 0, 0]),
        ALLOW
    );
    assert_eq!(
        run_nr(&p, "socket", [libc::AF_INET as u64, 1, 0, 0, 0, 0]),
        errno(crate::sys::errno16(libc::EACCES))
    );
    assert_eq!(
        run_nr(&p, "socket", [libc::AF_INET6 as u64, 1, 0, 0, 0, 0]),
        errno(crate::sys::errno16(libc::EACCES))
    );
    let netlink = libc::AF_NETLINK as u64;
    assert_eq!(
        run_nr(&p, "socket", [netlink, 1, 0, 0, 0, 0]),
        errno(crate::sys::errno16(libc::EAFNOSUPPORT))
    );
    let ioctl = |cmd: u64| run_nr(&p, "ioctl", [1, cmd, 0, 0, 0, 0]);
    assert_eq!(ioctl(ioctl_cmd(libc::TCGETS)), ALLOW);
    assert_eq!(ioctl(ioctl_cmd(libc::TIOCGWINSZ)), ALLOW);
    assert_eq!(
        ioctl(ioctl_cmd(libc::TIOCSTI)),
        errno(crate::sys::errno16(libc::ENOTTY))
    );
    assert_eq!(
        run_nr(&p, "prctl", [libc::PR_SET_NAME as u64, 0, 0, 0, 0, 0]),
        ALLOW
    );
    assert_eq!(
        run_nr(&p, "prctl", [libc::PR_SET_DUMPABLE as u64, 1, 0, 0, 0, 0]),
        errno(crate::sys::errno16(libc::EINVAL))
    );
    for name in native_ones([
        "mount",
        "ptrace",
        "setns",
        "chroot",
        "mknod",
        "pidfd_getfd",
        "bpf",
        "io_uring_setup",
    ]) {
        assert_eq!(run_nr(&p, name, [0; 6]), VIOLATION, "{name}");
    }
    // Grown from traces of real programs (make, node, go, python): the kernel bounds these.
    for name in [
        "setresuid",
        "setresgid",
        "setuid",
        "pkey_alloc",
        "pidfd_open",
    ] {
        assert_eq!(run_nr(&p, name, [0; 6]), ALLOW, "{name}");
    }
    // prlimit64: its own limits only; reading another's is fine.
    let rl = u64::from(libc::RLIMIT_NOFILE);
    assert_eq!(run_nr(&p, "prlimit64", [0, rl, 0x1000, 0, 0, 0]), ALLOW);
    assert_eq!(run_nr(&p, "prlimit64", [77, rl, 0, 0x1000, 0, 0]), ALLOW);
    assert_eq!(
        run_nr(&p, "prlimit64", [77, rl, 0x1000, 0, 0, 0]),
        errno(crate::sys::errno16(libc::EPERM))
    );
    assert_eq!(
        run_nr(&p, "clone", [libc::CLONE_NEWUSER as u64, 0, 0, 0, 0, 0]),
        VIOLATION
    );
    assert_eq!(
        run_nr(&p, "clone3", [0; 6]),
        errno(crate::sys::errno16(libc::ENOSYS))
    );
}

#[test]
fn tool_default_allows_no_set_id_modes() {
    let p = presets::tool_default().build().unwrap();
    // No set-id bits (a root caller's writable binds are idmapped onto the host owner).
    if syscalls::number("chmod").is_some() {
        assert_eq!(run_nr(&p, "chmod", [0, 0o755, 0, 0, 0, 0]), ALLOW);
        assert_eq!(
            run_nr(&p, "chmod", [0, 0o4755, 0, 0, 0, 0]),
            errno(crate::sys::errno16(libc::EPERM))
        );
    }
    assert_eq!(run_nr(&p, "fchmodat", [3, 0, 0o755, 0, 0, 0]), ALLOW);
    assert_eq!(
        run_nr(&p, "fchmod", [3, 0o2755, 0, 0, 0, 0]),
        errno(crate::sys::errno16(libc::EPERM))
    );
    assert_eq!(
        run_nr(&p, "fchmodat", [3, 0, 0o6755, 0, 0, 0]),
        errno(crate::sys::errno16(libc::EPERM))
    );
}

// ---------------------------------------------------------------------------------------------
// Disassembly.

#[cfg(target_arch = "x86_64")]
#[test]
fn disassembly_snapshot() {
    let mut b = PolicyBuilder::new();
    b.allow("read")
        .allow_tcgets()
        .rule("write", &[Arg::lt64(0, 3)], Action::Errno(5))
        .default_action(DefaultAction::Errno(1));
    let text = b.build().unwrap().disassemble();
    let expected = "\
000: A := architecture
001: if A == 0xc000003e goto 5 else 2
002: if A == 0x40000003 goto 4 else 3
003: return TRACE 0x3
004: return TRACE 0x2
005: A := syscall number
006: if A >= 0x40000000 goto 7 else 8
007: return TRACE 0x4
008: if A >= 0x110 goto 23 else 9  # unshare
009: if A >= 0xaf goto 16 else 10  # init_module
010: if A >= 0x10 goto 13 else 11  # ioctl
011: if A == 0x0 goto 47 else 12  # read
012: if A == 0x1 goto 39 else 62  # write
013: if A == 0x10 goto 45 else 14  # ioctl
014: if A == 0x38 goto 48 else 15  # clone
015: if A == 0x65 goto 57 else 62  # ptrace
016: if A >= 0xf8 goto 20 else 17  # add_key
017: if A == 0xaf goto 57 else 18  # init_module
018: if A == 0xb0 goto 57 else 19  # delete_module
019: if A == 0xf6 goto 57 else 62  # kexec_load
020: if A == 0xf8 goto 57 else 21  # add_key
021: if A == 0xf9 goto 57 else 22  # request_key
022: if A == 0xfa goto 57 else 62  # keyctl
023: if A >= 0x142 goto 31 else 24  # execveat
024: if A >= 0x13d goto 28 else 25  # seccomp
025: if A == 0x110 goto 51 else 26  # unshare
026: if A == 0x12a goto 57 else 27  # perf_event_open
027: if A == 0x139 goto 57 else 62  # finit_module
028: if A == 0x13d goto 54 else 29  # seccomp
029: if A == 0x140 goto 57 else 30  # kexec_file_load
030: if A == 0x141 goto 57 else 62  # bpf
031: if A >= 0x1aa goto 35 else 32  # io_uring_enter
032: if A == 0x142 goto 58 else 33  # execveat
033: if A == 0x143 goto 57 else 34  # userfaultfd
034: if A == 0x1a9 goto 57 else 62  # io_uring_setup
035: if A == 0x1aa goto 57 else 36  # io_uring_enter
036: if A == 0x1ab goto 57 else 37  # io_uring_register
037: if A == 0x1b3 goto 38 else 62  # clone3
038: return ERRNO 38
039: A := arg 0 high
040: if A > 0x0 goto 62 else 41
041: if A == 0x0 goto 42 else 44
042: A := arg 0 low
043: if A >= 0x3 goto 62 else 44
044: return ERRNO 5
045: A := arg 1 low
046: if A == 0x5401 goto 47 else 62
047: return ALLOW
048: A := arg 0 low
049: A := A & 0x7e820000
050: if A == 0x0 goto 62 else 57
051: A := arg 0 low
052: A := A & 0x7e020080
053: if A == 0x0 goto 62 else 57
054: A := arg 1 low
055: A := A & 0x8
056: if A == 0x0 goto 62 else 57
057: return TRACE 0x1
058: A := arg 5 high
059: if A == 0x0 goto 60 else 62
060: A := arg 5 low
061: if A == 0x53425845 goto 63 else 62
062: return ERRNO 1
063: return TRACE 0x5
";
    assert_eq!(text, expected, "got:\n{text}");
}
