//! The table of [`tool_default`](super::tool_default)'s rule groups that `--dump-policy` shows:
//! each group's name, who needs it and why, and its syscalls (a unit test holds it equal to the
//! rules).

use std::fmt::Write as _;

/// One group of [`tool_default`](super::tool_default)'s rules as `--dump-policy` shows it: a
/// name, who needs it and why, and its syscalls (some with argument conditions, noted in the
/// name). A unit test holds this table and the rules equal: every syscall the policy lets through
/// is listed here, and nothing listed here is a violation.
pub struct RuleGroup {
    /// Short name.
    pub name: &'static str,
    /// Who needs it and why.
    pub why: &'static str,
    /// Its syscalls (native names; other ABIs' aliases are not listed).
    pub syscalls: &'static [&'static str],
}

/// The groups of [`tool_default`](super::tool_default), in rule order.
pub const TOOL_GROUPS: &[RuleGroup] = &[
    RuleGroup {
        name: "process life cycle",
        why: "shells, make and xargs run other programs; clone without namespace flags; clone3 is ENOSYS (mandatory) so libc falls back to clone",
        syscalls: &["fork", "vfork", "clone", "execve", "execveat", "exit", "exit_group", "wait4", "waitid"],
    },
    RuleGroup {
        name: "loader and libc runtime",
        why: "every dynamically linked program: mappings (JITs map code), threads, TLS, rseq",
        syscalls: &[
            "mmap", "mprotect", "munmap", "brk", "mremap", "madvise", "msync", "mincore", "membarrier",
            "set_tid_address", "set_robust_list", "rseq", "futex", "futex_waitv", "arch_prctl", "uname",
            "sysinfo", "getrandom", "getrlimit", "setrlimit",
        ],
    },
    RuleGroup {
        name: "own resource limits",
        why: "prlimit64 on pid 0 (itself) may set; reading anyone's is allowed; setting another's is EPERM",
        syscalls: &["prlimit64"],
    },
    RuleGroup {
        name: "files",
        why: "reading, writing and managing files; writes to read-only mounts fail with EROFS from the kernel",
        syscalls: &[
            "open", "openat", "openat2", "creat", "close", "close_range", "read", "write", "pread64", "pwrite64",
            "readv", "writev", "preadv", "pwritev", "preadv2", "pwritev2", "stat", "fstat", "lstat",
            "newfstatat", "statx", "statfs", "fstatfs", "ustat", "access", "faccessat", "faccessat2",
            "getdents", "getdents64", "readlink", "readlinkat", "link", "linkat", "symlink", "symlinkat",
            "mkdir", "mkdirat", "rmdir", "unlink", "unlinkat", "rename", "renameat", "renameat2", "chown",
            "fchown", "lchown", "fchownat", "utime", "utimes", "futimesat", "utimensat", "lseek", "getcwd",
            "chdir", "fchdir", "umask", "truncate", "ftruncate", "fallocate", "fsync", "fdatasync", "flock",
            "fadvise64", "sendfile", "copy_file_range", "getxattr", "lgetxattr", "fgetxattr", "listxattr",
            "llistxattr", "flistxattr",
        ],
    },
    RuleGroup {
        name: "file modes without set-id bits",
        why: "chmod with S_ISUID/S_ISGID is EPERM: a root caller's writable binds land as the host owner",
        syscalls: &["chmod", "fchmod", "fchmodat", "fchmodat2"],
    },
    RuleGroup {
        name: "descriptors",
        why: "dup, pipes; fcntl for descriptor, status, lock, pipe-size and seal commands (others EINVAL)",
        syscalls: &["dup", "dup2", "dup3", "pipe", "pipe2", "fcntl"],
    },
    RuleGroup {
        name: "terminal queries",
        why: "ioctl TCGETS, TIOCGWINSZ, TIOCGPGRP, FIONREAD, FIONBIO, FIOCLEX, FIONCLEX; every other ioctl is ENOTTY (no TIOCSTI)",
        syscalls: &["ioctl"],
    },
    RuleGroup {
        name: "signals and time",
        why: "handlers, masks, kill within the sandbox, timers (timeout), clocks, sleeps",
        syscalls: &[
            "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "rt_sigsuspend", "rt_sigtimedwait",
            "rt_sigpending", "pause", "kill", "tkill", "tgkill", "alarm", "getitimer", "setitimer",
            "timer_create", "timer_settime", "timer_gettime", "timer_getoverrun", "timer_delete", "time",
            "gettimeofday", "clock_gettime", "clock_getres", "nanosleep", "clock_nanosleep", "restart_syscall",
            "timerfd_create", "timerfd_settime", "timerfd_gettime", "signalfd", "signalfd4",
        ],
    },
    RuleGroup {
        name: "ids and scheduling",
        why: "reading ids, process groups and sessions (shells), nice, CPU count, NUMA probes",
        syscalls: &[
            "getuid", "getgid", "geteuid", "getegid", "getresuid", "getresgid", "getgroups", "getpid",
            "getppid", "gettid", "getpgrp", "getpgid", "getsid", "setpgid", "setsid", "getpriority",
            "setpriority", "sched_getaffinity", "get_mempolicy", "sched_yield", "getcpu", "getrusage", "times",
            "capget",
        ],
    },
    RuleGroup {
        name: "setting the ids a process already has",
        why: "GNU make calls setresuid to its own ids at start; without capabilities the kernel refuses real changes",
        syscalls: &[
            "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid", "setfsgid", "setgroups",
        ],
    },
    RuleGroup {
        name: "memory protection keys",
        why: "V8 (Node.js) guards its JIT code with a key; keys affect only the caller's pages",
        syscalls: &["pkey_alloc", "pkey_free", "pkey_mprotect"],
    },
    RuleGroup {
        name: "process fds",
        why: "Go's os/exec and Python's subprocess wait for children through pidfds; pidfd_getfd stays forbidden",
        syscalls: &["pidfd_open", "pidfd_send_signal"],
    },
    RuleGroup {
        name: "event loops",
        why: "poll, select, epoll, eventfd, inotify (tail -f, node, asyncio)",
        syscalls: &[
            "poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait",
            "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2", "inotify_init", "inotify_init1",
            "inotify_add_watch", "inotify_rm_watch",
        ],
    },
    RuleGroup {
        name: "prctl queries",
        why: "PR_SET_NAME/GET_NAME, PR_SET_VMA, PR_GET_DUMPABLE, PR_SET/GET_PDEATHSIG, PR_GET_NO_NEW_PRIVS, PR_CAPBSET_READ; others EINVAL",
        syscalls: &["prctl"],
    },
    RuleGroup {
        name: "local sockets",
        why: "socket/socketpair for AF_UNIX (NSS, multiprocessing); AF_INET/AF_INET6 are EACCES, other families EAFNOSUPPORT",
        syscalls: &[
            "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4", "sendto", "recvfrom",
            "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "shutdown", "getsockname", "getpeername",
            "setsockopt", "getsockopt",
        ],
    },
];

/// [`TOOL_GROUPS`] as text, one `# name: syscalls` block per group, for `--dump-policy`.
pub fn describe_tool_groups() -> String {
    let mut out = String::new();
    for g in TOOL_GROUPS {
        let _ = write!(
            out,
            "# {}: {}\n#   {}\n",
            g.name,
            g.why,
            g.syscalls.join(" ")
        );
    }
    out
}
