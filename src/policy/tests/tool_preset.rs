//! The tool preset: its groups described, tty rules, what tools may run and what they may not.

use super::*;

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
    for cmd in [
        libc::TIOCGPTN,
        libc::TIOCSPTLCK,
        libc::TCSETS,
        libc::TIOCSWINSZ,
    ] {
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
    let rl = u64::from(crate::sys::rlimit::NOFILE);
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
