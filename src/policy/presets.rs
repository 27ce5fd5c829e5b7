//! Ready-made policies.

use super::builder::PolicyBuilder;
use super::groups::{c, ioctl_cmd};
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
/// - **Event loops**: `poll`, `select`, `epoll`, `eventfd`, `inotify` (`tail -f`).
/// - **prctl**: only `PR_SET_NAME`/`PR_GET_NAME`, `PR_SET_VMA`, `PR_GET_DUMPABLE`,
///   `PR_SET_PDEATHSIG`/`PR_GET_PDEATHSIG`, `PR_GET_NO_NEW_PRIVS`, `PR_CAPBSET_READ`; other options
///   fail with EINVAL.
/// - **Sockets**: `socket` and `socketpair` for `AF_UNIX` only (local IPC, NSS lookups,
///   `multiprocessing`); `AF_INET`/`AF_INET6` fail with EACCES and other families with
///   EAFNOSUPPORT, which tools probing for a network handle gracefully. Operations on existing
///   sockets (`connect`, `sendmsg`, ...) are allowed since only unix sockets can exist.
///
/// Not allowed (violations): mount and namespace calls, `chroot`, `setns`, `ptrace` and the
/// other mandatory denials, uid/gid changes, `mknod`, `memfd_create`, raw kernel interfaces.
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
        .allow_set_rlimit()
        // Files.
        .allow_open()
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
        .allow_rename()
        .allow_chmod()
        .allow_chown()
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
    b.errno("fcntl", libc::EINVAL as u16);

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
    b.errno("ioctl", libc::ENOTTY as u16);

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
    b.allow_prctl_set_vma().errno("prctl", libc::EINVAL as u16);

    // Sockets: local IPC only; network families get a polite refusal.
    let unix = c(libc::AF_UNIX);
    for name in ["socket", "socketpair"] {
        b.rule(name, &[Arg::eq32(0, unix)], Action::Allow);
        for family in [libc::AF_INET, libc::AF_INET6] {
            b.rule(
                name,
                &[Arg::eq32(0, c(family))],
                Action::Errno(libc::EACCES as u16),
            );
        }
        b.errno(name, libc::EAFNOSUPPORT as u16);
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

/// Host system directories every ordinary tool needs, mounted read-only when they exist.
pub const SYSTEM_DIRECTORIES: [&str; 8] = [
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/etc/alternatives",
];

/// Files of `/etc` that tools read (users and groups for `ls -l` and `id`, name service and
/// loader configuration, time zone, TLS roots). Not `/etc` whole: it holds secrets such as
/// `/etc/shadow`, which a root caller's sandboxee (uid 0 on the host) could otherwise read.
pub const ETC_FILES: [&str; 12] = [
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/localtime",
    "/etc/hosts",
    "/etc/host.conf",
    "/etc/mime.types",
    "/etc/locale.alias",
    "/etc/inputrc",
    "/etc/os-release",
];

/// Size of the private `/tmp` of [`tool_default`].
pub const TOOL_TMP_SIZE: u64 = 256 << 20;

/// The filesystem view of [`tool_default`]: namespaces on, a read-only root holding the system
/// directories and `/etc` files above, `/etc/ssl` when present, a private writable 256 MiB
/// `/tmp` (noexec), no network, no home directory.
pub fn tool_view(b: &mut PolicyBuilder) -> &mut PolicyBuilder {
    for d in SYSTEM_DIRECTORIES {
        b.add_directory_if_exists(d);
    }
    b.add_directory_if_exists("/etc/ssl");
    for f in ETC_FILES {
        if std::path::Path::new(f).is_file() {
            b.add_file(f);
        }
    }
    b.add_tmpfs("/tmp", Some(TOOL_TMP_SIZE))
}
