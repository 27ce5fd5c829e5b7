//! Ready-made policies.

mod tool_groups;

pub use tool_groups::{describe_tool_groups, RuleGroup, TOOL_GROUPS};

use super::builder::PolicyBuilder;
use super::rule::{c, ioctl_cmd};
use super::rule::{Action, Arg};

/// The embedded default policy of `sbx-run`: enough for ordinary dynamically linked tools
/// (coreutils, grep, sed, `sh -c`, `python3 -c`) to run, as an allow-list (anything else is a
/// violation), on top of the mandatory rules (no ptrace, bpf, namespaces, io_uring, ...).
///
/// It is meant to be combined with a read-only view of the system, a private `/tmp` and no
/// network namespace: the filter decides *which kernel services* a tool may use; the mount and
/// network namespaces decide *what they reach* (for instance which unix sockets exist to connect
/// to). The clusters, and why each is there:
///
/// - **Process life cycle**: exit, `fork`/`vfork`/`clone` (namespace flags stay forbidden;
///   `clone3` returns ENOSYS so libc falls back to `clone`), `wait4`/`waitid`, and
///   `execve`/`execveat`: shells and `xargs`-style tools run other programs.
/// - **Loader and libc runtime**: `mmap`/`mprotect` with any protection (the dynamic loader maps
///   code executable; some runtimes JIT), `brk`, `munmap`, `mremap`, `madvise`, `msync`,
///   `mincore`, `membarrier`, `set_tid_address`, `set_robust_list`, `rseq`, every `futex`
///   operation (threads), `arch_prctl` (x86-64 thread pointer, CET), `uname`, `sysinfo`,
///   `getrandom`, resource limits (raising a hard limit still needs a capability).
/// - **Files**: open/read/write/stat/access, directories, links, rename, unlink, chmod, chown,
///   times, truncate, sync, `flock`, `fadvise64`, `sendfile`, `copy_file_range`, `getcwd`,
///   `chdir`, `umask`, `close_range`, extended attribute reads (`ls -l` probes ACLs and
///   labels). Writes to a read-only mount fail with EROFS from the kernel, not from the filter.
/// - **Descriptors**: `dup*`, `pipe*`, `fcntl` with descriptor, status, lock, pipe-size and
///   seal commands (other commands fail with EINVAL rather than killing a tool that probes).
/// - **Terminals**: `ioctl` only for `TCGETS` (`isatty`), `TIOCGWINSZ` (`ls` column width),
///   `TIOCGPGRP`, `FIONREAD`, `FIONBIO`, `FIOCLEX`, `FIONCLEX`; every other `ioctl` fails with
///   ENOTTY, so tools see "not a terminal" and injection ioctls such as `TIOCSTI` never run.
/// - **Signals and time**: handlers, masks, `sigsuspend`/`sigtimedwait`, `kill`/`tgkill` (the
///   PID namespace bounds who can be reached), alarms, POSIX timers (`timeout`), clocks, sleeps,
///   `timerfd`, `signalfd`.
/// - **Ids and scheduling**: reading uids, gids, pids, process groups and sessions; `setpgid`/
///   `setsid` (shells); `getpriority`/`setpriority` (`nice`; raising priority needs a capability);
///   `sched_getaffinity` (CPU count), `get_mempolicy` (NUMA probes of `ps`), `sched_yield`,
///   `getcpu`, `getrusage`, `times`, `capget`.
/// - **Setting the ids a process already has** (`setuid` … `setresgid`, `setfs*id`,
///   `setgroups`): GNU make calls `setresuid(-1, its uid, -1)` at start. The sandboxee holds no
///   capability, so the kernel refuses any real change.
/// - **Runtimes** (found by tracing node, java, python, go and make): memory protection keys
///   (`pkey_*`, V8), pidfds (`pidfd_open`, `pidfd_send_signal`: Go and Python wait for their
///   children through them), and `prlimit64` on the caller itself (other processes' limits can
///   be read, not set: EPERM).
/// - **Event loops**: `poll`, `select`, `epoll`, `eventfd`, `inotify` (`tail -f`).
/// - **prctl**: only `PR_SET_NAME`/`PR_GET_NAME`, `PR_SET_VMA`, `PR_GET_DUMPABLE`,
///   `PR_SET_PDEATHSIG`/`PR_GET_PDEATHSIG`, `PR_GET_NO_NEW_PRIVS`, `PR_CAPBSET_READ`; other options
///   fail with EINVAL.
/// - **Sockets**: `socket` and `socketpair` for `AF_UNIX` only (local IPC, NSS lookups,
///   `multiprocessing`); `AF_INET`/`AF_INET6` fail with EACCES and other families with
///   EAFNOSUPPORT, which tools probing for a network handle gracefully. Operations on existing
///   sockets (`connect`, `sendmsg`, ...) are allowed since only unix sockets can exist.
///
/// - **File modes** without set-user-ID or set-group-ID bits (`chmod` with them fails with
///   EPERM): a root caller's writable binds are idmapped onto the host owner of the directory,
///   and a set-id file written there would be a set-id program of that owner on the host.
///
/// Not allowed (violations): mount and namespace calls, `chroot`, `setns`, `ptrace` and the
/// other mandatory denials, `mknod`, `memfd_create`, `pidfd_getfd`, raw kernel interfaces.
/// `clone3` fails with ENOSYS (a mandatory rule: its flags sit in memory, out of the filter's
/// reach), and glibc falls back to `clone`, whose flags the filter checks.
pub fn tool_default() -> PolicyBuilder {
    let mut b = PolicyBuilder::new();
    tool_rules(&mut b);
    tool_view(&mut b);
    b
}

/// The syscall rules of [`tool_default`] alone, added to `b`.
///
/// Rules are first-match, so a caller that wants its own rules to win for some syscalls (an
/// errno for `socket`, an unconditional `ioctl`) adds them to `b` *before* calling this.
#[allow(clippy::too_many_lines)] // the preset's table of rules, a few lines per group
pub fn tool_rules(b: &mut PolicyBuilder) -> &mut PolicyBuilder {
    // Unconditional allows first: a later conditional group rule on the same syscall is then a
    // no-op instead of a slower argument chain.
    b.allow_exit()
        .allow_fork()
        .allow_wait()
        .allow_exec()
        // Loader and libc runtime.
        .allow_mmap()
        .allow_mprotect()
        .allow_names(&[
            "brk",
            "munmap",
            "mremap",
            "madvise",
            "msync",
            "mincore",
            "membarrier",
            "set_tid_address",
            "set_robust_list",
            "rseq",
            "futex",
            "futex_waitv",
            "arch_prctl",
            "uname",
            "sysinfo",
            "getrandom",
        ])
        .allow_get_rlimit()
        .allow_names(&["setrlimit"]);
    // Resource limits of the calling process only (pid 0): a process may lower the soft limits of
    // any other process of its uid, which without namespaces includes the caller's own processes.
    b.rule("prlimit64", &[Arg::eq32(0, 0)], Action::Allow)
        .errno("prlimit64", crate::sys::errno16(libc::EPERM));

    // Files.
    b.allow_open()
        .allow_names(&["openat2"])
        .allow_read()
        .allow_write()
        .allow_stat()
        .allow_access()
        .allow_readdir()
        .allow_readlink()
        .allow_link()
        .allow_symlink()
        .allow_mkdir()
        .allow_unlink()
        .allow_rename();
    // Modes without set-user-ID and set-group-ID bits. A writable bind of a root caller is an
    // idmapped mount whose files land as their host owner, so a set-id bit set here would make a
    // set-id program of that owner on the host (inside, every mount is nosuid anyway).
    // AArch64 has no chmod (only the *at forms): the native ones of these names.
    for (name, mode_arg) in [
        ("chmod", 1),
        ("fchmod", 1),
        ("fchmodat", 2),
        ("fchmodat2", 2),
    ] {
        b.rule_names(
            &[name],
            &[Arg::masked_eq32(mode_arg, SET_ID_BITS, 0)],
            Action::Allow,
        )
        .rule_names(
            &[name],
            &[],
            Action::Errno(crate::sys::errno16(libc::EPERM)),
        );
    }
    b.allow_chown()
        .allow_utime()
        .allow_names(&[
            "lseek",
            "_llseek",
            "close",
            "close_range",
            "getcwd",
            "chdir",
            "fchdir",
            "umask",
            "truncate",
            "ftruncate",
            "fallocate",
            "fsync",
            "fdatasync",
            "flock",
            "fadvise64",
            "sendfile",
            "copy_file_range",
            "getxattr",
            "lgetxattr",
            "fgetxattr",
            "listxattr",
            "llistxattr",
            "flistxattr",
        ])
        // Descriptors.
        .allow_dup()
        .allow_pipe()
        .allow_safe_fcntl();
    for cmd in [
        libc::F_OFD_GETLK,
        libc::F_OFD_SETLK,
        libc::F_OFD_SETLKW,
        libc::F_GETPIPE_SZ,
        libc::F_SETPIPE_SZ,
        libc::F_ADD_SEALS,
        libc::F_GET_SEALS,
    ] {
        b.rule_names(
            &["fcntl", "fcntl64"],
            &[Arg::eq32(1, c(cmd))],
            Action::Allow,
        );
    }
    b.errno("fcntl", crate::sys::errno16(libc::EINVAL));

    // Terminals: the read-only queries tools make, and nothing that changes or injects.
    for cmd in [
        libc::TCGETS,
        libc::TIOCGWINSZ,
        libc::TIOCGPGRP,
        libc::FIONREAD,
        libc::FIONBIO,
        libc::FIOCLEX,
        libc::FIONCLEX,
    ] {
        b.rule_names(&["ioctl"], &[Arg::eq32(1, ioctl_cmd(cmd))], Action::Allow);
    }
    b.errno("ioctl", crate::sys::errno16(libc::ENOTTY));

    // Signals and time.
    b.allow_handle_signals()
        .allow_names(&["rt_sigsuspend", "rt_sigtimedwait", "rt_sigpending", "pause"])
        .allow_kill()
        .allow_alarm()
        .allow_posix_timers()
        .allow_time()
        .allow_sleep()
        .allow_names(&[
            "timerfd_create",
            "timerfd_settime",
            "timerfd_gettime",
            "signalfd",
            "signalfd4",
        ])
        // Ids and scheduling.
        .allow_get_ids()
        .allow_get_pids()
        .allow_get_pgids()
        .allow_names(&[
            "getsid",
            "setpgid",
            "setsid",
            "getpriority",
            "setpriority",
            "sched_getaffinity",
            "get_mempolicy",
            "sched_yield",
            "getcpu",
            "getrusage",
            "times",
            "capget",
        ])
        // Setting the ids a process already has. GNU make, sudo-aware tools and some runtimes
        // call setresuid/setresgid to their own ids at start. The sandboxee holds no
        // capabilities (in any user namespace), so the kernel refuses every change to an id it
        // does not already have: these calls can only be no-ops or fail with EPERM.
        .allow_names(&[
            "setuid",
            "setgid",
            "setreuid",
            "setregid",
            "setresuid",
            "setresgid",
            "setfsuid",
            "setfsgid",
            "setgroups",
        ])
        // Memory protection keys: V8 (Node.js) allocates a key at start to guard its JIT code.
        // Keys only change the access rights of the caller's own pages.
        .allow_names(&["pkey_alloc", "pkey_free", "pkey_mprotect"])
        // Process fds: Go's os/exec and Python's subprocess wait for and signal their children
        // through pidfds. A pidfd reaches the same processes `kill` does (the pid namespace, or
        // Landlock's signal scope without namespaces); `pidfd_getfd` (taking another process's
        // fds) stays forbidden.
        .allow_names(&["pidfd_open", "pidfd_send_signal"])
        // Event loops.
        .allow_poll()
        .allow_select()
        .allow_epoll()
        .allow_eventfd()
        .allow_inotify();

    // prctl: naming and read-only queries.
    for option in [
        libc::PR_SET_NAME,
        libc::PR_GET_NAME,
        libc::PR_GET_DUMPABLE,
        libc::PR_SET_PDEATHSIG,
        libc::PR_GET_PDEATHSIG,
        libc::PR_GET_NO_NEW_PRIVS,
        libc::PR_CAPBSET_READ,
    ] {
        b.rule_names(&["prctl"], &[Arg::eq32(0, c(option))], Action::Allow);
    }
    b.allow_prctl_set_vma()
        .errno("prctl", crate::sys::errno16(libc::EINVAL));

    // Sockets: local IPC only; network families get a polite refusal.
    let unix = c(libc::AF_UNIX);
    for name in ["socket", "socketpair"] {
        b.rule(name, &[Arg::eq32(0, unix)], Action::Allow);
        for family in [libc::AF_INET, libc::AF_INET6] {
            b.rule(
                name,
                &[Arg::eq32(0, c(family))],
                Action::Errno(crate::sys::errno16(libc::EACCES)),
            );
        }
        b.errno(name, crate::sys::errno16(libc::EAFNOSUPPORT));
    }
    b.allow_names(&[
        "connect",
        "bind",
        "listen",
        "accept",
        "accept4",
        "sendto",
        "recvfrom",
        "sendmsg",
        "recvmsg",
        "sendmmsg",
        "recvmmsg",
        "shutdown",
        "getsockname",
        "getpeername",
        "setsockopt",
        "getsockopt",
    ]);
    b
}

/// Terminal ioctls for programs that drive pseudo-terminals (`script`, Python's `pty`,
/// `expect`), added in front of [`tool_rules`] by `sbx-run --tty`: creating and unlocking a
/// pty (`TIOCGPTN`, `TIOCSPTLCK`, `TIOCGPTPEER`), setting modes and window size (`TCSETS*`,
/// `TIOCSWINSZ`, `TCFLSH`, `TCXONC`), and job control on the sandbox's own terminal
/// (`TIOCSCTTY`, `TIOCNOTTY`, `TIOCSPGRP`, `TIOCGSID`). `TIOCSTI` (typing into a terminal) and
/// `TIOCLINUX` stay refused: they are the injection ioctls.
pub fn tty_rules(b: &mut PolicyBuilder) -> &mut PolicyBuilder {
    for cmd in [
        libc::TIOCGPTN,
        libc::TIOCSPTLCK,
        libc::TIOCGPTPEER,
        libc::TCSETS,
        libc::TCSETSW,
        libc::TCSETSF,
        libc::TIOCSWINSZ,
        libc::TCFLSH,
        libc::TCXONC,
        libc::TIOCSCTTY,
        libc::TIOCNOTTY,
        libc::TIOCSPGRP,
        libc::TIOCGSID,
    ] {
        b.rule_names(&["ioctl"], &[Arg::eq32(1, ioctl_cmd(cmd))], Action::Allow);
    }
    b
}

/// `S_ISUID | S_ISGID`.
const SET_ID_BITS: u64 = 0o6000;

/// Host system directories every ordinary tool needs, mounted read-only when they exist.
pub const SYSTEM_DIRECTORIES: [&str; 7] = [
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
];

/// What [`tool_view`] withholds from its read-only `/etc`, and why. Most are readable only by
/// root on the host anyway (a root caller's sandboxee is not host root); hiding them also keeps
/// them from an unprivileged caller whose groups could read them, and from tools that would
/// otherwise try and fail noisily.
pub const ETC_WITHHELD: [(&str, &str); 14] = [
    ("/etc/shadow", "password hashes"),
    ("/etc/shadow-", "backup of the password hashes"),
    ("/etc/gshadow", "group password hashes"),
    ("/etc/gshadow-", "backup of the group password hashes"),
    ("/etc/security/opasswd", "old password hashes"),
    ("/etc/sudoers", "who may become root, and how"),
    ("/etc/sudoers.d", "who may become root, and how"),
    ("/etc/ssh/ssh_host_*_key", "the host's private SSH keys"),
    ("/etc/ssl/private", "TLS private keys"),
    (
        "/etc/machine-id",
        "a stable identifier of the host (fingerprinting)",
    ),
    ("/etc/krb5.keytab", "Kerberos service keys"),
    ("/etc/subuid", "the host's user namespace id ranges"),
    ("/etc/subgid", "the host's user namespace id ranges"),
    ("/etc/credstore", "systemd credentials"),
];

/// Size of the private `/tmp` of [`tool_default`].
pub const TOOL_TMP_SIZE: u64 = 256 << 20;

/// Size of the private `/dev/shm` of [`tool_default`] (Docker's default).
pub const TOOL_SHM_SIZE: u64 = 64 << 20;

/// The filesystem view of [`tool_default`]: namespaces on, a read-only root holding the system
/// directories and all of `/etc` except what [`ETC_WITHHELD`] lists (configuration that
/// ordinary programs read: `/etc/java-*`, `/etc/ssl/certs`, `/etc/alternatives`, locale and
/// name service files), a private writable 256 MiB `/tmp` and 64 MiB `/dev/shm` (both noexec),
/// no network, no home directory.
pub fn tool_view(b: &mut PolicyBuilder) -> &mut PolicyBuilder {
    for d in SYSTEM_DIRECTORIES {
        b.add_directory_if_exists(d);
    }
    let etc = std::path::Path::new("/etc");
    if etc.is_dir() {
        b.add_directory(etc);
        for (path, _why) in ETC_WITHHELD {
            hide_in_etc(b, std::path::Path::new(path));
        }
    }
    b.dev_shm(Some(TOOL_SHM_SIZE));
    b.add_tmpfs("/tmp", Some(TOOL_TMP_SIZE))
}

/// Hides `path` when it exists; a `*` in its last component matches any run of characters. A
/// symlink is followed to its target, which is hidden instead when it lies inside `/etc` too
/// (elsewhere the view does not show it).
fn hide_in_etc(b: &mut PolicyBuilder, path: &std::path::Path) {
    if let Some((dir, prefix, suffix)) = split_pattern(path) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut names: Vec<_> = entries.flatten().map(|e| e.file_name()).collect();
        names.sort();
        for name in names {
            let n = name.to_string_lossy();
            if n.len() >= prefix.len() + suffix.len()
                && n.starts_with(prefix)
                && n.ends_with(suffix)
            {
                hide_in_etc(b, &dir.join(&name));
            }
        }
        return;
    }
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    if meta.file_type().is_symlink() {
        if let Ok(target) = std::fs::canonicalize(path) {
            if target.starts_with("/etc") && target != path {
                hide_in_etc(b, &target);
            }
        }
        return;
    }
    b.hide(path, meta.is_dir());
}

/// `dir/prefix*suffix` split into its parts, when the last component holds one `*`.
fn split_pattern(path: &std::path::Path) -> Option<(&std::path::Path, &str, &str)> {
    let name = path.file_name()?.to_str()?;
    let (prefix, suffix) = name.split_once('*')?;
    Some((path.parent()?, prefix, suffix))
}
