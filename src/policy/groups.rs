//! Convenience groups on [`PolicyBuilder`], after sandbox2's `Allow*` sets: each opens a named,
//! documented set of syscalls, some with argument conditions.
//!
//! Lists name the syscalls of every supported architecture; those missing on the target (e.g.
//! `open` on AArch64, `fstat64` on x86-64) are skipped. Integer arguments the kernel reads as
//! `int` are compared on 32 bits (design §3 item 3). Where this differs from sandbox2's set, the
//! method says so. Groups can be combined and repeated freely: rules already present are not
//! added twice.

use super::builder::PolicyBuilder;
use super::rule::{c, ioctl_cmd, Action, Arg};

// Kernel ABI values not (yet) in every `libc` release this crate accepts.
/// `PR_SET_VMA` from `<linux/prctl.h>` (Linux 5.17).
const PR_SET_VMA: u64 = 0x5356_4d41;
/// `PR_SET_VMA_ANON_NAME` from `<linux/prctl.h>`.
const PR_SET_VMA_ANON_NAME: u64 = 0;
/// `MADV_WIPEONFORK` from `<linux/mman.h>` (Linux 4.14).
const MADV_WIPEONFORK: u64 = 18;
/// `MADV_DONTNEED_LOCKED` (Linux 5.18).
const MADV_DONTNEED_LOCKED: u64 = 24;
/// `MADV_COLLAPSE` (Linux 6.1).
const MADV_COLLAPSE: u64 = 25;
/// `ARCH_SET_FS` from `<asm/prctl.h>` (x86-64).
const ARCH_SET_FS: u64 = 0x1002;
/// The kernel's first real-time signal. glibc reserves 32 (thread cancellation) and 33
/// (`setxid` broadcast) for itself, so its `SIGRTMIN` is 34.
const KERNEL_SIGRTMIN: u64 = 32;
/// `FUTEX_CMD_MASK`: the futex operation without the private and clock flags.
const FUTEX_CMD_MASK: u64 =
    crate::sys::bits_u32(!(libc::FUTEX_PRIVATE_FLAG | libc::FUTEX_CLOCK_REALTIME)) as u64;


const PROT_R: u64 = libc::PROT_READ as u64;
const PROT_RW: u64 = (libc::PROT_READ | libc::PROT_WRITE) as u64;
const PROT_RX: u64 = (libc::PROT_READ | libc::PROT_EXEC) as u64;
const PROT_NONE: u64 = libc::PROT_NONE as u64;
const MAP_ANON_PRIVATE: u64 = (libc::MAP_ANONYMOUS | libc::MAP_PRIVATE) as u64;

impl PolicyBuilder {
    /// Allows ending the process or thread: `exit`, `exit_group`.
    pub fn allow_exit(&mut self) -> &mut Self {
        self.allow_names(&["exit", "exit_group"])
    }

    /// Allows reading from file descriptors: `read`, `readv`, `pread64`, `preadv`, `preadv2`
    /// (`preadv2` is not in sandbox2's set; it is `preadv` with per-call flags).
    pub fn allow_read(&mut self) -> &mut Self {
        self.allow_names(&["read", "readv", "pread64", "preadv", "preadv2"])
    }

    /// Allows writing to file descriptors: `write`, `writev`, `pwrite64`, `pwritev`, `pwritev2`.
    pub fn allow_write(&mut self) -> &mut Self {
        self.allow_names(&["write", "writev", "pwrite64", "pwritev", "pwritev2"])
    }

    /// Allows opening files: `open`, `openat`, `creat`. What can be opened is the mount
    /// namespace's business.
    pub fn allow_open(&mut self) -> &mut Self {
        self.allow_names(&["open", "openat", "creat"])
    }

    /// Allows file status queries: `stat`, `lstat`, `fstat`, `newfstatat`, `statx`, `statfs`,
    /// `fstatfs`, `ustat` and the 32-bit variants (`stat64`, `lstat64`, `fstat64`, `fstatat64`,
    /// `statfs64`, `fstatfs64`, `oldstat`, `oldlstat`, `oldfstat`). `statx` is an addition to
    /// sandbox2's set: current coreutils and glibc use it.
    pub fn allow_stat(&mut self) -> &mut Self {
        self.allow_names(&[
            "stat",
            "lstat",
            "fstat",
            "newfstatat",
            "statx",
            "statfs",
            "fstatfs",
            "ustat",
            "stat64",
            "lstat64",
            "fstat64",
            "fstatat64",
            "statfs64",
            "fstatfs64",
            "oldstat",
            "oldlstat",
            "oldfstat",
        ])
    }

    /// Allows permission checks: `access`, `faccessat`, `faccessat2`.
    pub fn allow_access(&mut self) -> &mut Self {
        self.allow_names(&["access", "faccessat", "faccessat2"])
    }

    /// Allows duplicating file descriptors: `dup`, `dup2`, `dup3`.
    pub fn allow_dup(&mut self) -> &mut Self {
        self.allow_names(&["dup", "dup2", "dup3"])
    }

    /// Allows creating pipes: `pipe`, `pipe2`.
    pub fn allow_pipe(&mut self) -> &mut Self {
        self.allow_names(&["pipe", "pipe2"])
    }

    /// Allows changing permissions: `chmod`, `fchmod`, `fchmodat`, `fchmodat2` (the last is new
    /// since sandbox2's set; glibc 2.39 uses it for `fchmodat` with flags).
    pub fn allow_chmod(&mut self) -> &mut Self {
        self.allow_names(&["chmod", "fchmod", "fchmodat", "fchmodat2"])
    }

    /// Allows changing ownership: `chown`, `lchown`, `fchown`, `fchownat` (and the i386 `*32`
    /// variants).
    pub fn allow_chown(&mut self) -> &mut Self {
        self.allow_names(&[
            "chown", "lchown", "fchown", "fchownat", "chown32", "lchown32", "fchown32",
        ])
    }

    /// Allows listing directories: `getdents`, `getdents64`.
    pub fn allow_readdir(&mut self) -> &mut Self {
        self.allow_names(&["getdents", "getdents64"])
    }

    /// Allows reading symlinks: `readlink`, `readlinkat`.
    pub fn allow_readlink(&mut self) -> &mut Self {
        self.allow_names(&["readlink", "readlinkat"])
    }

    /// Allows hard links: `link`, `linkat`.
    pub fn allow_link(&mut self) -> &mut Self {
        self.allow_names(&["link", "linkat"])
    }

    /// Allows symlinks: `symlink`, `symlinkat`.
    pub fn allow_symlink(&mut self) -> &mut Self {
        self.allow_names(&["symlink", "symlinkat"])
    }

    /// Allows creating directories: `mkdir`, `mkdirat`.
    pub fn allow_mkdir(&mut self) -> &mut Self {
        self.allow_names(&["mkdir", "mkdirat"])
    }

    /// Allows changing file times: `utime`, `utimes`, `futimesat`, `utimensat` (`futimens` is a
    /// libc wrapper of `utimensat`).
    pub fn allow_utime(&mut self) -> &mut Self {
        self.allow_names(&["utime", "utimes", "futimesat", "utimensat"])
    }

    /// Allows removing files and directories: `unlink`, `unlinkat`, `rmdir`.
    pub fn allow_unlink(&mut self) -> &mut Self {
        self.allow_names(&["unlink", "unlinkat", "rmdir"])
    }

    /// Allows renaming: `rename`, `renameat`, `renameat2`.
    pub fn allow_rename(&mut self) -> &mut Self {
        self.allow_names(&["rename", "renameat", "renameat2"])
    }

    /// Allows event file descriptors: `eventfd`, `eventfd2`.
    pub fn allow_eventfd(&mut self) -> &mut Self {
        self.allow_names(&["eventfd", "eventfd2"])
    }

    /// Allows `poll`, `ppoll`.
    pub fn allow_poll(&mut self) -> &mut Self {
        self.allow_names(&["poll", "ppoll"])
    }

    /// Allows `select`, `pselect6` (and i386's `_newselect`).
    pub fn allow_select(&mut self) -> &mut Self {
        self.allow_names(&["select", "_newselect", "pselect6"])
    }

    /// Allows waiting on an epoll set: `epoll_wait`, `epoll_pwait`, `epoll_pwait2`.
    pub fn allow_epoll_wait(&mut self) -> &mut Self {
        self.allow_names(&["epoll_wait", "epoll_pwait", "epoll_pwait2"])
    }

    /// Allows epoll entirely: [`allow_epoll_wait`](Self::allow_epoll_wait) plus `epoll_create`,
    /// `epoll_create1`, `epoll_ctl`.
    pub fn allow_epoll(&mut self) -> &mut Self {
        self.allow_epoll_wait()
            .allow_names(&["epoll_create", "epoll_create1", "epoll_ctl"])
    }

    /// Allows inotify: `inotify_init`, `inotify_init1`, `inotify_add_watch`, `inotify_rm_watch`.
    pub fn allow_inotify(&mut self) -> &mut Self {
        self.allow_names(&[
            "inotify_init",
            "inotify_init1",
            "inotify_add_watch",
            "inotify_rm_watch",
        ])
    }

    /// Allows creating processes and threads: `fork`, `vfork`, `clone`. The mandatory rules still
    /// stop `clone` with namespace flags or `CLONE_UNTRACED`, and `clone3` returns ENOSYS.
    pub fn allow_fork(&mut self) -> &mut Self {
        self.allow_names(&["fork", "vfork", "clone"])
    }

    /// Allows waiting for children: `wait4`, `waitid`, `waitpid` (`waitid` is an addition to
    /// sandbox2's set).
    pub fn allow_wait(&mut self) -> &mut Self {
        self.allow_names(&["wait4", "waitid", "waitpid"])
    }

    /// Allows interval timers: `alarm`, `setitimer`, `getitimer`.
    pub fn allow_alarm(&mut self) -> &mut Self {
        self.allow_names(&["alarm", "setitimer", "getitimer"])
    }

    /// Allows POSIX timers: `timer_create`, `timer_delete`, `timer_settime`, `timer_gettime`,
    /// `timer_getoverrun`. glibc's `SIGEV_THREAD` timers also need
    /// [`allow_fork`](Self::allow_fork) for their helper thread.
    pub fn allow_posix_timers(&mut self) -> &mut Self {
        self.allow_names(&[
            "timer_create",
            "timer_delete",
            "timer_settime",
            "timer_gettime",
            "timer_getoverrun",
        ])
    }

    /// Allows installing and running signal handlers: `rt_sigaction`, `rt_sigprocmask`,
    /// `rt_sigreturn`, `sigaltstack`, `restart_syscall` (and i386's `signal`, `sigaction`,
    /// `sigprocmask`, `sigreturn`).
    pub fn allow_handle_signals(&mut self) -> &mut Self {
        self.allow_names(&[
            "rt_sigaction",
            "rt_sigprocmask",
            "rt_sigreturn",
            "sigaltstack",
            "restart_syscall",
            "signal",
            "sigaction",
            "sigprocmask",
            "sigreturn",
        ])
    }

    /// Allows sending signals: `kill`, `tgkill`, `tkill`. Which processes are reachable is the
    /// PID namespace's business.
    pub fn allow_kill(&mut self) -> &mut Self {
        self.allow_names(&["kill", "tgkill", "tkill"])
    }

    /// Allows `ioctl(fd, TCGETS, ...)`, which is what `isatty()` does. `cmd` is compared on 32
    /// bits, as the kernel reads it.
    pub fn allow_tcgets(&mut self) -> &mut Self {
        self.rule_names(
            &["ioctl"],
            &[Arg::eq32(1, ioctl_cmd(libc::TCGETS))],
            Action::Allow,
        )
    }

    /// Allows reading clocks: `time`, `gettimeofday`, `clock_gettime`, `clock_getres` (the last
    /// is an addition to sandbox2's set). Usually served by the vDSO without a syscall.
    pub fn allow_time(&mut self) -> &mut Self {
        self.allow_names(&["time", "gettimeofday", "clock_gettime", "clock_getres"])
    }

    /// Allows sleeping: `nanosleep`, `clock_nanosleep`.
    pub fn allow_sleep(&mut self) -> &mut Self {
        self.allow_names(&["nanosleep", "clock_nanosleep"])
    }

    /// Allows reading user and group ids: `getuid`, `geteuid`, `getresuid`, `getgid`, `getegid`,
    /// `getresgid`, `getgroups` (and the i386 `*32` variants).
    pub fn allow_get_ids(&mut self) -> &mut Self {
        self.allow_names(&[
            "getuid",
            "geteuid",
            "getresuid",
            "getgid",
            "getegid",
            "getresgid",
            "getgroups",
            "getuid32",
            "geteuid32",
            "getresuid32",
            "getgid32",
            "getegid32",
            "getresgid32",
            "getgroups32",
        ])
    }

    /// Allows reading process ids: `getpid`, `getppid`, `gettid`.
    pub fn allow_get_pids(&mut self) -> &mut Self {
        self.allow_names(&["getpid", "getppid", "gettid"])
    }

    /// Allows reading process group ids: `getpgid`, `getpgrp`.
    pub fn allow_get_pgids(&mut self) -> &mut Self {
        self.allow_names(&["getpgid", "getpgrp"])
    }

    /// Allows reading resource limits: `getrlimit`, `ugetrlimit`, and `prlimit64` when its
    /// `new_limit` (arg 2, a pointer) is NULL.
    pub fn allow_get_rlimit(&mut self) -> &mut Self {
        self.allow_names(&["getrlimit", "ugetrlimit"]).rule_names(
            &["prlimit64"],
            &[Arg::eq64(2, 0)],
            Action::Allow,
        )
    }

    /// Allows changing resource limits: `setrlimit`, `prlimit64`. Without `CAP_SYS_RESOURCE` in
    /// the host namespace a process can only lower a hard limit.
    pub fn allow_set_rlimit(&mut self) -> &mut Self {
        self.allow_names(&["setrlimit", "prlimit64"])
    }

    /// Allows `getrandom` with flags 0 or `GRND_NONBLOCK`.
    pub fn allow_get_random(&mut self) -> &mut Self {
        for flags in [0, u64::from(libc::GRND_NONBLOCK)] {
            self.rule_names(&["getrandom"], &[Arg::eq32(2, flags)], Action::Allow);
        }
        self
    }

    /// Allows `madvise(..., MADV_WIPEONFORK)`, and advice -1, which allocators use to probe for
    /// `madvise` support.
    pub fn allow_wipe_on_fork(&mut self) -> &mut Self {
        for advice in [MADV_WIPEONFORK, u64::from(u32::MAX)] {
            self.rule_names(&["madvise"], &[Arg::eq32(2, advice)], Action::Allow);
        }
        self
    }

    /// Allows `fcntl`/`fcntl64` with the commands that only touch the caller's own descriptors and
    /// locks: `F_GETFD`, `F_SETFD`, `F_GETFL`, `F_SETFL`, `F_GETLK`, `F_SETLK`, `F_SETLKW`,
    /// `F_DUPFD`, `F_DUPFD_CLOEXEC`. Not `F_SETOWN`/`F_SETSIG` (signals to other processes) or
    /// lease and notify commands.
    pub fn allow_safe_fcntl(&mut self) -> &mut Self {
        for cmd in [
            libc::F_GETFD,
            libc::F_SETFD,
            libc::F_GETFL,
            libc::F_SETFL,
            libc::F_GETLK,
            libc::F_SETLK,
            libc::F_SETLKW,
            libc::F_DUPFD,
            libc::F_DUPFD_CLOEXEC,
        ] {
            self.rule_names(
                &["fcntl", "fcntl64"],
                &[Arg::eq32(1, c(cmd))],
                Action::Allow,
            );
        }
        self
    }

    /// Allows `futex` with operation `op` (`FUTEX_WAIT`, `FUTEX_WAKE`, ...), with or without
    /// `FUTEX_PRIVATE_FLAG` and `FUTEX_CLOCK_REALTIME`. An `op` that includes those flags itself is
    /// an error reported by `build`.
    pub fn allow_futex_op(&mut self, op: u32) -> &mut Self {
        self.rule_names(
            &["futex"],
            &[Arg::masked_eq32(1, FUTEX_CMD_MASK, u64::from(op))],
            Action::Allow,
        )
    }

    /// Allows locking memory: `mlock`, `munlock`, `mlock2` (bounded by `RLIMIT_MEMLOCK`).
    pub fn allow_mlock(&mut self) -> &mut Self {
        self.allow_names(&["mlock", "munlock", "mlock2"])
    }

    /// Allows `mmap` (and `mmap2`) with any protection, executable included (what sandbox2
    /// calls `AllowMmap(MapExec)`).
    pub fn allow_mmap(&mut self) -> &mut Self {
        self.allow_names(&["mmap", "mmap2"])
    }

    /// Allows `mmap`/`mmap2` unless the protection (arg 2) includes `PROT_EXEC`.
    pub fn allow_mmap_without_exec(&mut self) -> &mut Self {
        let no_exec = Arg::masked_eq32(2, c(libc::PROT_EXEC), 0);
        self.rule_names(&["mmap", "mmap2"], &[no_exec], Action::Allow)
    }

    /// Allows `mprotect` with any protection, executable included.
    pub fn allow_mprotect(&mut self) -> &mut Self {
        self.allow_names(&["mprotect"])
    }

    /// Allows `mprotect` unless the protection (arg 2) includes `PROT_EXEC`.
    pub fn allow_mprotect_without_exec(&mut self) -> &mut Self {
        let no_exec = Arg::masked_eq32(2, c(libc::PROT_EXEC), 0);
        self.rule_names(&["mprotect"], &[no_exec], Action::Allow)
    }

    /// Allows `prctl(PR_SET_NAME, ...)` (thread names).
    pub fn allow_prctl_set_name(&mut self) -> &mut Self {
        self.rule_names(
            &["prctl"],
            &[Arg::eq32(0, c(libc::PR_SET_NAME))],
            Action::Allow,
        )
    }

    /// Allows `prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, ...)` (naming anonymous mappings).
    pub fn allow_prctl_set_vma(&mut self) -> &mut Self {
        let args = [Arg::eq32(0, PR_SET_VMA), Arg::eq64(1, PR_SET_VMA_ANON_NAME)];
        self.rule_names(&["prctl"], &args, Action::Allow)
    }

    /// Allows what a statically linked glibc program does before `main`:
    /// [`allow_get_rlimit`](Self::allow_get_rlimit), `uname`, `brk`, `set_tid_address`,
    /// `set_robust_list`, `rseq` (registered by glibc 2.35+; not in sandbox2's set),
    /// `futex(FUTEX_WAIT_BITSET)`, `rt_sigaction` for signals 32 and 33 (glibc's internal ones),
    /// `rt_sigprocmask`, `arch_prctl(ARCH_SET_FS)` (x86-64, thread pointer) and
    /// `mprotect(PROT_READ)` (RELRO), `getrandom(GRND_NONBLOCK)` (glibc 2.34+ seeds malloc's
    /// tcache with it; not in sandbox2's set), and sandbox2's overridable `readlink`/`readlinkat`
    /// → ENOENT (glibc asks for its own path): a fallback that applies only when no rule of the
    /// user's decides `readlink` and the default action is a violation, so a later
    /// [`allow_readlink`](Self::allow_readlink) still wins.
    pub fn allow_static_startup(&mut self) -> &mut Self {
        self.allow_get_rlimit()
            .allow_names(&["uname", "brk", "set_tid_address", "set_robust_list", "rseq"])
            .allow_futex_op(libc::FUTEX_WAIT_BITSET as u32)
            .allow_names(&["rt_sigprocmask"]);
        for sig in [KERNEL_SIGRTMIN, KERNEL_SIGRTMIN + 1] {
            self.rule_names(&["rt_sigaction"], &[Arg::eq32(0, sig)], Action::Allow);
        }
        // glibc's static startup resolves its own path (readlink of /proc/self/exe) and seeds
        // malloc's tcache with getrandom(GRND_NONBLOCK); ENOENT for readlink is what sandbox2
        // answers too, as a fallback the user can override with allow_readlink().
        self.fallback_names(
            &["readlink", "readlinkat"],
            Action::Errno(crate::sys::errno16(libc::ENOENT)),
        )
        .rule_names(
            &["getrandom"],
            &[Arg::eq32(2, u64::from(libc::GRND_NONBLOCK))],
            Action::Allow,
        );
        self.rule_names(&["arch_prctl"], &[Arg::eq32(0, ARCH_SET_FS)], Action::Allow)
            .rule_names(&["mprotect"], &[Arg::eq32(2, PROT_R)], Action::Allow)
    }

    /// Allows what the dynamic loader does before `main`: [`allow_static_startup`](Self::allow_static_startup),
    /// [`allow_access`](Self::allow_access), [`allow_open`](Self::allow_open),
    /// [`allow_read`](Self::allow_read), [`allow_stat`](Self::allow_stat), `lseek`, `_llseek`,
    /// `close`, `munmap`, and `mmap`/`mmap2`/`mprotect` with protection exactly `PROT_READ`,
    /// `PROT_READ|PROT_WRITE`, `PROT_READ|PROT_EXEC` or `PROT_NONE` (never writable and executable
    /// at once). Simpler than sandbox2's set, which also pins the `mmap` flags.
    pub fn allow_dynamic_startup(&mut self) -> &mut Self {
        self.allow_static_startup()
            .allow_access()
            .allow_open()
            .allow_read()
            .allow_stat()
            .allow_names(&["lseek", "_llseek", "close", "munmap"]);
        for prot in [PROT_R, PROT_RW, PROT_RX, PROT_NONE] {
            self.rule_names(
                &["mmap", "mmap2", "mprotect"],
                &[Arg::eq32(2, prot)],
                Action::Allow,
            );
        }
        self
    }

    /// Allows what glibc's `malloc` needs: `munmap`, `brk`, `futex(FUTEX_WAKE)`,
    /// `mremap(..., MREMAP_MAYMOVE)`, `mmap` of read-write anonymous private memory and of
    /// `PROT_NONE` anonymous private `MAP_NORESERVE` reservations (arena heaps), and, beyond
    /// sandbox2's set, `mprotect(PROT_READ|PROT_WRITE)` (glibc grows non-main arenas with it) and
    /// `getrandom(GRND_NONBLOCK)` (glibc 2.34+ seeds its tcache key with it).
    pub fn allow_system_malloc(&mut self) -> &mut Self {
        self.allow_names(&["munmap", "brk"])
            .allow_futex_op(libc::FUTEX_WAKE as u32)
            .rule_names(
                &["mremap"],
                &[Arg::eq32(3, c(libc::MREMAP_MAYMOVE))],
                Action::Allow,
            )
            .rule_names(
                &["mmap", "mmap2"],
                &[Arg::eq32(2, PROT_RW), Arg::eq32(3, MAP_ANON_PRIVATE)],
                Action::Allow,
            )
            .rule_names(
                &["mmap", "mmap2"],
                &[
                    Arg::eq32(2, PROT_NONE),
                    Arg::eq32(3, MAP_ANON_PRIVATE | c(libc::MAP_NORESERVE)),
                ],
                Action::Allow,
            )
            .rule_names(&["mprotect"], &[Arg::eq32(2, PROT_RW)], Action::Allow)
            .rule_names(
                &["getrandom"],
                &[Arg::eq32(2, u64::from(libc::GRND_NONBLOCK))],
                Action::Allow,
            )
    }

    /// Allows `madvise` with the advice values that only affect the caller's own memory
    /// accounting: `MADV_SEQUENTIAL`, `MADV_DONTNEED`, `MADV_DONTNEED_LOCKED`, `MADV_REMOVE`,
    /// `MADV_HUGEPAGE`, `MADV_NOHUGEPAGE`, `MADV_DONTDUMP`, `MADV_COLLAPSE`.
    pub fn allow_limited_madvise(&mut self) -> &mut Self {
        for advice in [
            c(libc::MADV_SEQUENTIAL),
            c(libc::MADV_DONTNEED),
            MADV_DONTNEED_LOCKED,
            c(libc::MADV_REMOVE),
            c(libc::MADV_HUGEPAGE),
            c(libc::MADV_NOHUGEPAGE),
            c(libc::MADV_DONTDUMP),
            MADV_COLLAPSE,
        ] {
            self.rule_names(&["madvise"], &[Arg::eq32(2, advice)], Action::Allow);
        }
        self
    }

    /// Allows mapping shared memory received from the host: `mmap` with `PROT_READ|PROT_WRITE`
    /// and exactly `MAP_SHARED`, `munmap`, `close`, and [`allow_stat`](Self::allow_stat) (to learn
    /// the size).
    pub fn allow_shared_memory(&mut self) -> &mut Self {
        self.rule_names(
            &["mmap", "mmap2"],
            &[Arg::eq32(2, PROT_RW), Arg::eq32(3, c(libc::MAP_SHARED))],
            Action::Allow,
        )
        .allow_names(&["munmap", "close"])
        .allow_stat()
    }

    /// Allows restartable sequences as allocators such as TCMalloc use them: `rseq`, `getcpu`,
    /// `membarrier`, `close`, `futex(FUTEX_WAIT)` and `futex(FUTEX_WAKE)`,
    /// `rt_sigprocmask(SIG_SETMASK, ...)`, read-write anonymous private `mmap`,
    /// [`allow_read`](Self::allow_read), [`allow_open`](Self::allow_open),
    /// [`allow_poll`](Self::allow_poll) and [`allow_prctl_set_vma`](Self::allow_prctl_set_vma)
    /// (the library reads `/proc` and `/sys/devices/system/cpu`, which the mount view must offer).
    pub fn allow_restartable_sequences(&mut self) -> &mut Self {
        self.allow_names(&["rseq", "getcpu", "membarrier", "close"])
            .allow_futex_op(libc::FUTEX_WAIT as u32)
            .allow_futex_op(libc::FUTEX_WAKE as u32)
            .rule_names(
                &["rt_sigprocmask"],
                &[Arg::eq32(0, c(libc::SIG_SETMASK))],
                Action::Allow,
            )
            .rule_names(
                &["mmap", "mmap2"],
                &[Arg::eq32(2, PROT_RW), Arg::eq32(3, MAP_ANON_PRIVATE)],
                Action::Allow,
            )
            .allow_read()
            .allow_open()
            .allow_poll()
            .allow_prctl_set_vma()
    }

    /// Allows `execve` and `execveat`: needed for any exec after the one that starts the target
    /// (shells, tools that run other tools). The library's own start-up exec does not need it.
    pub fn allow_exec(&mut self) -> &mut Self {
        self.allow_names(&["execve", "execveat"])
    }
}

/// A group's method, as policy files name it (the method's name without `allow_`).
pub(crate) type GroupFn = fn(&mut PolicyBuilder) -> &mut PolicyBuilder;

/// Every group by the name policy files use (`groups = ["static_startup", "exit"]`).
pub(crate) const BY_NAME: &[(&str, GroupFn)] = &[
    ("exit", PolicyBuilder::allow_exit),
    ("read", PolicyBuilder::allow_read),
    ("write", PolicyBuilder::allow_write),
    ("open", PolicyBuilder::allow_open),
    ("stat", PolicyBuilder::allow_stat),
    ("access", PolicyBuilder::allow_access),
    ("dup", PolicyBuilder::allow_dup),
    ("pipe", PolicyBuilder::allow_pipe),
    ("chmod", PolicyBuilder::allow_chmod),
    ("chown", PolicyBuilder::allow_chown),
    ("readdir", PolicyBuilder::allow_readdir),
    ("readlink", PolicyBuilder::allow_readlink),
    ("link", PolicyBuilder::allow_link),
    ("symlink", PolicyBuilder::allow_symlink),
    ("mkdir", PolicyBuilder::allow_mkdir),
    ("utime", PolicyBuilder::allow_utime),
    ("unlink", PolicyBuilder::allow_unlink),
    ("rename", PolicyBuilder::allow_rename),
    ("eventfd", PolicyBuilder::allow_eventfd),
    ("poll", PolicyBuilder::allow_poll),
    ("select", PolicyBuilder::allow_select),
    ("epoll_wait", PolicyBuilder::allow_epoll_wait),
    ("epoll", PolicyBuilder::allow_epoll),
    ("inotify", PolicyBuilder::allow_inotify),
    ("fork", PolicyBuilder::allow_fork),
    ("wait", PolicyBuilder::allow_wait),
    ("alarm", PolicyBuilder::allow_alarm),
    ("posix_timers", PolicyBuilder::allow_posix_timers),
    ("handle_signals", PolicyBuilder::allow_handle_signals),
    ("kill", PolicyBuilder::allow_kill),
    ("tcgets", PolicyBuilder::allow_tcgets),
    ("time", PolicyBuilder::allow_time),
    ("sleep", PolicyBuilder::allow_sleep),
    ("get_ids", PolicyBuilder::allow_get_ids),
    ("get_pids", PolicyBuilder::allow_get_pids),
    ("get_pgids", PolicyBuilder::allow_get_pgids),
    ("get_rlimit", PolicyBuilder::allow_get_rlimit),
    ("set_rlimit", PolicyBuilder::allow_set_rlimit),
    ("get_random", PolicyBuilder::allow_get_random),
    ("wipe_on_fork", PolicyBuilder::allow_wipe_on_fork),
    ("safe_fcntl", PolicyBuilder::allow_safe_fcntl),
    ("mlock", PolicyBuilder::allow_mlock),
    ("mmap", PolicyBuilder::allow_mmap),
    ("mmap_without_exec", PolicyBuilder::allow_mmap_without_exec),
    ("mprotect", PolicyBuilder::allow_mprotect),
    ("mprotect_without_exec", PolicyBuilder::allow_mprotect_without_exec),
    ("prctl_set_name", PolicyBuilder::allow_prctl_set_name),
    ("prctl_set_vma", PolicyBuilder::allow_prctl_set_vma),
    ("static_startup", PolicyBuilder::allow_static_startup),
    ("dynamic_startup", PolicyBuilder::allow_dynamic_startup),
    ("system_malloc", PolicyBuilder::allow_system_malloc),
    ("limited_madvise", PolicyBuilder::allow_limited_madvise),
    ("shared_memory", PolicyBuilder::allow_shared_memory),
    ("restartable_sequences", PolicyBuilder::allow_restartable_sequences),
    ("exec", PolicyBuilder::allow_exec),
];

#[cfg(test)]
mod by_name_tests {
    use super::{PolicyBuilder, BY_NAME};

    #[test]
    fn every_group_name_is_unique_and_builds() {
        let mut names: Vec<&str> = BY_NAME.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), BY_NAME.len(), "a group name is listed twice");
        for (name, add) in BY_NAME {
            let mut b = PolicyBuilder::new();
            add(&mut b);
            b.build().unwrap_or_else(|e| panic!("group {name}: {e}"));
        }
    }
}
