//! Builder semantics: sticky errors, syscalls by number, duplicate rules, sharing, group names,
//! futex operations.

use super::*;

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
