//! `sbx_policy_builder`: collects syscall rules and builds an `sbx_policy`.

use super::failure::{sbx_error, Failure};
use super::handle::{
    box_into_ptr, castable, check_out, free_box, take_box, try_mut, try_path, try_path_array,
    try_slice, try_str, try_str_array, write_out,
};
use super::panic::{boundary, boundary_status};
use super::policy::{sbx_policy, PolicyHandle};
use super::status::sbx_status;
use crate::policy::presets;
use crate::{Action, Arg, Cmp, DefaultAction, PolicyBuilder, Sys, Width};
use std::ffi::c_char;

/// A convenience group of syscalls for `sbx_policy_builder_allow_group`: each opens a named set,
/// some with argument conditions (integer arguments the kernel reads as `int` are compared on 32
/// bits). Names that do not exist on the running architecture are skipped. Values are fixed and
/// never renumbered.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sbx_group {
    /// `exit`, `exit_group`.
    Exit = 1,
    /// `read`, `readv`, `pread64`, `preadv`, `preadv2`.
    Read = 2,
    /// `write`, `writev`, `pwrite64`, `pwritev`, `pwritev2`.
    Write = 3,
    /// `open`, `openat`, `creat`.
    Open = 4,
    /// `stat`, `lstat`, `fstat`, `newfstatat`, `statx`, `statfs`, `fstatfs`, `ustat` and 32-bit variants.
    Stat = 5,
    /// `access`, `faccessat`, `faccessat2`.
    Access = 6,
    /// `dup`, `dup2`, `dup3`.
    Dup = 7,
    /// `pipe`, `pipe2`.
    Pipe = 8,
    /// `chmod`, `fchmod`, `fchmodat`, `fchmodat2`.
    Chmod = 9,
    /// `chown`, `lchown`, `fchown`, `fchownat` (and i386 `*32`).
    Chown = 10,
    /// `getdents`, `getdents64`.
    Readdir = 11,
    /// `readlink`, `readlinkat`.
    Readlink = 12,
    /// `link`, `linkat`.
    Link = 13,
    /// `symlink`, `symlinkat`.
    Symlink = 14,
    /// `mkdir`, `mkdirat`.
    Mkdir = 15,
    /// `utime`, `utimes`, `futimesat`, `utimensat`.
    Utime = 16,
    /// `unlink`, `unlinkat`, `rmdir`.
    Unlink = 17,
    /// `rename`, `renameat`, `renameat2`.
    Rename = 18,
    /// `eventfd`, `eventfd2`.
    Eventfd = 19,
    /// `poll`, `ppoll`.
    Poll = 20,
    /// `select`, `_newselect`, `pselect6`.
    Select = 21,
    /// `epoll_wait`, `epoll_pwait`, `epoll_pwait2`.
    EpollWait = 22,
    /// `SBX_GROUP_EPOLL_WAIT` plus `epoll_create`, `epoll_create1`, `epoll_ctl`.
    Epoll = 23,
    /// `inotify_init`, `inotify_init1`, `inotify_add_watch`, `inotify_rm_watch`.
    Inotify = 24,
    /// `fork`, `vfork`, `clone` (never with namespace flags; `clone3` gets ENOSYS).
    Fork = 25,
    /// `wait4`, `waitid`, `waitpid`.
    Wait = 26,
    /// `alarm`, `setitimer`, `getitimer`.
    Alarm = 27,
    /// `timer_create`, `timer_delete`, `timer_settime`, `timer_gettime`, `timer_getoverrun`.
    PosixTimers = 28,
    /// `rt_sigaction`, `rt_sigprocmask`, `rt_sigreturn`, `sigaltstack`, `restart_syscall`.
    HandleSignals = 29,
    /// `kill`, `tgkill`, `tkill`.
    Kill = 30,
    /// `ioctl(fd, TCGETS, ...)` (what `isatty()` does).
    Tcgets = 31,
    /// `time`, `gettimeofday`, `clock_gettime`, `clock_getres`.
    Time = 32,
    /// `nanosleep`, `clock_nanosleep`.
    Sleep = 33,
    /// `getuid`, `geteuid`, `getresuid`, `getgid`, `getegid`, `getresgid`, `getgroups`.
    GetIds = 34,
    /// `getpid`, `getppid`, `gettid`.
    GetPids = 35,
    /// `getpgid`, `getpgrp`.
    GetPgids = 36,
    /// `getrlimit`, `ugetrlimit`, `prlimit64` with a NULL new limit.
    GetRlimit = 37,
    /// `setrlimit`, `prlimit64`.
    SetRlimit = 38,
    /// `getrandom` with flags 0 or `GRND_NONBLOCK`.
    GetRandom = 39,
    /// `madvise(..., MADV_WIPEONFORK)` (and advice -1, a support probe).
    WipeOnFork = 40,
    /// `fcntl`/`fcntl64` with `F_GETFD`, `F_SETFD`, `F_GETFL`, `F_SETFL`, `F_GETLK`, `F_SETLK`, `F_SETLKW`, `F_DUPFD`, `F_DUPFD_CLOEXEC`.
    SafeFcntl = 41,
    /// `mlock`, `munlock`, `mlock2`.
    Mlock = 42,
    /// `mmap`, `mmap2` with any protection, executable included.
    Mmap = 43,
    /// `mmap`, `mmap2` unless the protection includes `PROT_EXEC`.
    MmapWithoutExec = 44,
    /// `mprotect` with any protection, executable included.
    Mprotect = 45,
    /// `mprotect` unless the protection includes `PROT_EXEC`.
    MprotectWithoutExec = 46,
    /// `prctl(PR_SET_NAME, ...)`.
    PrctlSetName = 47,
    /// `prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, ...)`.
    PrctlSetVma = 48,
    /// What a statically linked glibc program does before `main` (`brk`, `uname`, `set_tid_address`, `set_robust_list`, `rseq`, `arch_prctl(ARCH_SET_FS)`, `mprotect(PROT_READ)`, ...).
    StaticStartup = 49,
    /// What the dynamic loader does before `main`: `SBX_GROUP_STATIC_STARTUP`, open, read, stat, access, `close`, `lseek`, `munmap`, and `mmap`/`mprotect` never writable and executable at once.
    DynamicStartup = 50,
    /// What glibc's `malloc` needs (`brk`, `munmap`, `mremap`, anonymous `mmap`, `futex(FUTEX_WAKE)`, ...).
    SystemMalloc = 51,
    /// `madvise` with advice that only affects the caller's memory (`MADV_DONTNEED`, `MADV_HUGEPAGE`, ...).
    LimitedMadvise = 52,
    /// `mmap` of `MAP_SHARED` read-write memory received from the host, `munmap`, `close`, stat.
    SharedMemory = 53,
    /// `rseq`, `getcpu`, `membarrier` and what TCMalloc-style allocators use with them.
    RestartableSequences = 54,
    /// `execve`, `execveat` (for execs after the one that starts the target).
    Exec = 55,
}

/// What a rule does with a matching syscall (`sbx_policy_builder_add_rule`), or, for
/// `sbx_policy_builder_set_default_action`, with a syscall no rule decides.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sbx_action {
    /// Let the syscall run (as a default action: allow everything the rules and the mandatory
    /// rules do not decide, a deny-list policy).
    Allow = 1,
    /// Fail the syscall with the errno given beside the action (1..4095) without running it.
    Errno = 2,
    /// Stop at the monitor and ask the sandbox's notify callbacks (`sbx_notify_callbacks.trace`): allow, deny or fail with an errno. Without a `trace` callback the call is a violation.
    Trace = 3,
    /// End the sandbox with a VIOLATION result naming the syscall (the default action).
    Violation = 4,
}

/// Which mechanism watches the sandboxee (`sbx_policy_builder_set_monitor`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sbx_monitor {
    /// User-notify when the kernel has it and the run fits it (namespaces, a sandboxee that
    /// does not sandbox itself), ptrace otherwise. The default.
    Auto = 0,
    /// ptrace(2): also reports signals to the notify callbacks and counts tasks.
    Ptrace = 1,
    /// seccomp user notification: no ptrace; signals are not reported, `peak_tasks` is 0 and
    /// the task cap is the sandbox's own RLIMIT_NPROC. Needs namespaces.
    Unotify = 2,
}

/// Which network namespace a sandbox runs in (`sbx_policy_builder_set_network_namespace`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sbx_netns {
    /// A fresh one per sandbox holding only `lo` (the default).
    PerSandbox = 0,
    /// One empty namespace (only `lo`) shared by the process's sandboxes that ask for it: no
    /// namespace made or torn down per sandbox (~0.5 ms saved), but they can reach each other's
    /// listeners on `lo`. Root callers only (a start by anyone else fails with
    /// `SBX_STATUS_UNSUPPORTED`).
    Shared = 1,
    /// The host's network namespace (as `sbx_policy_builder_share_network`).
    Host = 2,
}

/// How many bits of an argument register a condition compares (`sbx_arg.width`). Use the width
/// of the C type the kernel reads: `int` arguments (`ioctl`'s cmd, `socket`'s domain, `fcntl`'s
/// cmd, file descriptors) are 32-bit; pointers, sizes and `unsigned long` are 64-bit.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sbx_width {
    /// Compare only the low 32 bits (the upper half of the register is ignored, as the kernel
    /// ignores it).
    W32 = 32,
    /// Compare all 64 bits.
    W64 = 64,
}

/// An unsigned comparison of an argument `x` with a condition's `value` (`sbx_arg.cmp`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sbx_cmp {
    /// `x == value`
    Eq = 1,
    /// `x != value`
    Ne = 2,
    /// `x < value`
    Lt = 3,
    /// `x <= value`
    Le = 4,
    /// `x > value`
    Gt = 5,
    /// `x >= value`
    Ge = 6,
    /// `(x & mask) == value`; every bit of `value` must lie inside `mask`.
    MaskedEq = 7,
}

/// One condition on one syscall argument; a rule applies when all of its conditions hold.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sbx_arg {
    /// Argument position, 0..5.
    pub index: u32,
    /// `SBX_WIDTH_W32` or `SBX_WIDTH_W64`.
    pub width: u32,
    /// One of the `SBX_CMP_*` values.
    pub cmp: u32,
    /// The mask for `SBX_CMP_MASKED_EQ`; ignored by the other comparisons.
    pub mask: u64,
    /// The value compared with (for `SBX_CMP_MASKED_EQ`, the expected masked value).
    pub value: u64,
}

/// Collects what a policy is made of, and `sbx_policy_builder_build` turns it into an
/// `sbx_policy`: syscall rules, and the sandbox's view of the system (namespaces and the
/// filesystem, which by default is an empty read-only tmpfs with `/proc` and a minimal `/dev`:
/// add the program and what it needs with `sbx_policy_builder_add_file` and friends).
///
/// Rules are kept per syscall in call order and the first matching one decides; once a
/// syscall has an unconditional rule, later rules for it are ignored. The mandatory rules
/// (foreign architectures, x32, `ptrace`, `bpf`, namespace flags, `io_uring`, ...) always come
/// first and cannot be allowed.
///
/// Setters check what C can get wrong on its own (NULL pointers, UTF-8, enum values, numbers
/// that do not fit) and fail at once, leaving the builder unchanged. Other problems (unknown
/// syscall name, errno outside 1..4095, argument index above 5, a 32-bit comparison with a
/// 64-bit value, a syscall the mandatory rules deny, a relative or missing mount path) are
/// remembered by the builder and the first one is returned by `sbx_policy_builder_build`, as
/// the Rust builder does, so setters can be chained without checking each.
///
/// Not thread-safe: one thread at a time.
pub struct sbx_policy_builder {
    _private: [u8; 0],
}

castable!(sbx_policy_builder => PolicyBuilder, OwnershipBox, super::handle::kind::POLICY_BUILDER);

fn action_from_c(action: u32, errno_value: i32) -> Result<Action, Failure> {
    Ok(match action {
        x if x == sbx_action::Allow as u32 => Action::Allow,
        x if x == sbx_action::Errno as u32 => Action::Errno(errno_from_c(errno_value)?),
        x if x == sbx_action::Trace as u32 => Action::Trace,
        x if x == sbx_action::Violation as u32 => Action::Violation,
        other => {
            return Err(Failure::invalid(format!(
                "action {other} is not one of the SBX_ACTION_* values"
            )))
        }
    })
}

fn errno_from_c(errno_value: i32) -> Result<u16, Failure> {
    u16::try_from(errno_value)
        .map_err(|_| Failure::invalid(format!("errno {errno_value} is outside 1..4095")))
}

fn arg_from_c(a: &sbx_arg) -> Result<Arg, Failure> {
    let index = u8::try_from(a.index)
        .map_err(|_| Failure::invalid(format!("argument index {} is outside 0..5", a.index)))?;
    let width = match a.width {
        x if x == sbx_width::W32 as u32 => Width::W32,
        x if x == sbx_width::W64 as u32 => Width::W64,
        other => {
            return Err(Failure::invalid(format!(
                "width {other} is not SBX_WIDTH_W32 or SBX_WIDTH_W64"
            )))
        }
    };
    let cmp = match a.cmp {
        x if x == sbx_cmp::Eq as u32 => Cmp::Eq,
        x if x == sbx_cmp::Ne as u32 => Cmp::Ne,
        x if x == sbx_cmp::Lt as u32 => Cmp::Lt,
        x if x == sbx_cmp::Le as u32 => Cmp::Le,
        x if x == sbx_cmp::Gt as u32 => Cmp::Gt,
        x if x == sbx_cmp::Ge as u32 => Cmp::Ge,
        x if x == sbx_cmp::MaskedEq as u32 => Cmp::MaskedEq(a.mask),
        other => {
            return Err(Failure::invalid(format!(
                "comparison {other} is not one of the SBX_CMP_* values"
            )))
        }
    };
    Ok(Arg::new(index, width, cmp, a.value))
}

fn args_from_c(args: *const sbx_arg, nargs: usize) -> Result<Vec<Arg>, Failure> {
    try_slice(args, nargs, "args")?
        .iter()
        .map(arg_from_c)
        .collect()
}

impl sbx_group {
    /// Every group, in numbering order.
    const ALL: [sbx_group; 55] = [
        sbx_group::Exit,
        sbx_group::Read,
        sbx_group::Write,
        sbx_group::Open,
        sbx_group::Stat,
        sbx_group::Access,
        sbx_group::Dup,
        sbx_group::Pipe,
        sbx_group::Chmod,
        sbx_group::Chown,
        sbx_group::Readdir,
        sbx_group::Readlink,
        sbx_group::Link,
        sbx_group::Symlink,
        sbx_group::Mkdir,
        sbx_group::Utime,
        sbx_group::Unlink,
        sbx_group::Rename,
        sbx_group::Eventfd,
        sbx_group::Poll,
        sbx_group::Select,
        sbx_group::EpollWait,
        sbx_group::Epoll,
        sbx_group::Inotify,
        sbx_group::Fork,
        sbx_group::Wait,
        sbx_group::Alarm,
        sbx_group::PosixTimers,
        sbx_group::HandleSignals,
        sbx_group::Kill,
        sbx_group::Tcgets,
        sbx_group::Time,
        sbx_group::Sleep,
        sbx_group::GetIds,
        sbx_group::GetPids,
        sbx_group::GetPgids,
        sbx_group::GetRlimit,
        sbx_group::SetRlimit,
        sbx_group::GetRandom,
        sbx_group::WipeOnFork,
        sbx_group::SafeFcntl,
        sbx_group::Mlock,
        sbx_group::Mmap,
        sbx_group::MmapWithoutExec,
        sbx_group::Mprotect,
        sbx_group::MprotectWithoutExec,
        sbx_group::PrctlSetName,
        sbx_group::PrctlSetVma,
        sbx_group::StaticStartup,
        sbx_group::DynamicStartup,
        sbx_group::SystemMalloc,
        sbx_group::LimitedMadvise,
        sbx_group::SharedMemory,
        sbx_group::RestartableSequences,
        sbx_group::Exec,
    ];

    fn from_c(group: u32) -> Result<sbx_group, Failure> {
        sbx_group::ALL
            .into_iter()
            .find(|g| *g as u32 == group)
            .ok_or_else(|| {
                Failure::invalid(format!(
                    "group {group} is not one of the SBX_GROUP_* values"
                ))
            })
    }

    /// Applies the group (exhaustive: a new group must name its builder method here).
    fn apply(self, b: &mut PolicyBuilder) {
        match self {
            sbx_group::Exit => b.allow_exit(),
            sbx_group::Read => b.allow_read(),
            sbx_group::Write => b.allow_write(),
            sbx_group::Open => b.allow_open(),
            sbx_group::Stat => b.allow_stat(),
            sbx_group::Access => b.allow_access(),
            sbx_group::Dup => b.allow_dup(),
            sbx_group::Pipe => b.allow_pipe(),
            sbx_group::Chmod => b.allow_chmod(),
            sbx_group::Chown => b.allow_chown(),
            sbx_group::Readdir => b.allow_readdir(),
            sbx_group::Readlink => b.allow_readlink(),
            sbx_group::Link => b.allow_link(),
            sbx_group::Symlink => b.allow_symlink(),
            sbx_group::Mkdir => b.allow_mkdir(),
            sbx_group::Utime => b.allow_utime(),
            sbx_group::Unlink => b.allow_unlink(),
            sbx_group::Rename => b.allow_rename(),
            sbx_group::Eventfd => b.allow_eventfd(),
            sbx_group::Poll => b.allow_poll(),
            sbx_group::Select => b.allow_select(),
            sbx_group::EpollWait => b.allow_epoll_wait(),
            sbx_group::Epoll => b.allow_epoll(),
            sbx_group::Inotify => b.allow_inotify(),
            sbx_group::Fork => b.allow_fork(),
            sbx_group::Wait => b.allow_wait(),
            sbx_group::Alarm => b.allow_alarm(),
            sbx_group::PosixTimers => b.allow_posix_timers(),
            sbx_group::HandleSignals => b.allow_handle_signals(),
            sbx_group::Kill => b.allow_kill(),
            sbx_group::Tcgets => b.allow_tcgets(),
            sbx_group::Time => b.allow_time(),
            sbx_group::Sleep => b.allow_sleep(),
            sbx_group::GetIds => b.allow_get_ids(),
            sbx_group::GetPids => b.allow_get_pids(),
            sbx_group::GetPgids => b.allow_get_pgids(),
            sbx_group::GetRlimit => b.allow_get_rlimit(),
            sbx_group::SetRlimit => b.allow_set_rlimit(),
            sbx_group::GetRandom => b.allow_get_random(),
            sbx_group::WipeOnFork => b.allow_wipe_on_fork(),
            sbx_group::SafeFcntl => b.allow_safe_fcntl(),
            sbx_group::Mlock => b.allow_mlock(),
            sbx_group::Mmap => b.allow_mmap(),
            sbx_group::MmapWithoutExec => b.allow_mmap_without_exec(),
            sbx_group::Mprotect => b.allow_mprotect(),
            sbx_group::MprotectWithoutExec => b.allow_mprotect_without_exec(),
            sbx_group::PrctlSetName => b.allow_prctl_set_name(),
            sbx_group::PrctlSetVma => b.allow_prctl_set_vma(),
            sbx_group::StaticStartup => b.allow_static_startup(),
            sbx_group::DynamicStartup => b.allow_dynamic_startup(),
            sbx_group::SystemMalloc => b.allow_system_malloc(),
            sbx_group::LimitedMadvise => b.allow_limited_madvise(),
            sbx_group::SharedMemory => b.allow_shared_memory(),
            sbx_group::RestartableSequences => b.allow_restartable_sequences(),
            sbx_group::Exec => b.allow_exec(),
        };
    }
}

impl sbx_policy_builder {
    /// Creates an empty builder: only the mandatory rules, every other syscall a violation.
    ///
    /// The caller owns the result and passes it to `sbx_policy_builder_build` (which consumes
    /// it) or `sbx_policy_builder_free`. Returns NULL only if libsbx panicked.
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_new() -> *mut sbx_policy_builder {
        boundary(|| box_into_ptr::<sbx_policy_builder>(PolicyBuilder::new()))
    }

    /// Creates a builder holding `sbx-run`'s embedded default policy: enough for ordinary
    /// dynamically linked tools (coreutils, `sh -c`, `python3 -c`) as an allow-list; add rules to
    /// it as to any builder.
    ///
    /// The caller owns the result, as with `sbx_policy_builder_new`. Returns NULL only if libsbx
    /// panicked.
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_new_tool_default() -> *mut sbx_policy_builder {
        boundary(|| box_into_ptr::<sbx_policy_builder>(presets::tool_default()))
    }

    /// Allows a convenience group, `group` being one of the `SBX_GROUP_*` values.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`), `SBX_STATUS_INVALID_ARGUMENT` (unknown
    /// group). Details go to `*err_out` when `err_out` is not NULL.
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_allow_group(
        builder: *mut sbx_policy_builder,
        group: u32,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            sbx_group::from_c(group)?.apply(&mut b);
            Ok(())
        })
    }

    /// Allows `futex` with operation `op` (`FUTEX_WAIT`, `FUTEX_WAKE`, ...), with or without
    /// `FUTEX_PRIVATE_FLAG` and `FUTEX_CLOCK_REALTIME`. An `op` that itself includes those flags
    /// makes `sbx_policy_builder_build` fail with `SBX_STATUS_INVALID_ARGUMENT`.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_allow_futex_op(
        builder: *mut sbx_policy_builder,
        op: u32,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            try_mut(builder, "builder")?.allow_futex_op(op);
            Ok(())
        })
    }

    /// Allows the syscall called `name` (the kernel's spelling, e.g. `"newfstatat"`) whatever its
    /// arguments. The string is copied. An unknown name makes `sbx_policy_builder_build` fail
    /// with `SBX_STATUS_UNKNOWN_SYSCALL`.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `name`), `SBX_STATUS_INVALID_ARGUMENT`
    /// (`name` not UTF-8).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_allow_syscall(
        builder: *mut sbx_policy_builder,
        name: *const c_char,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            b.allow(try_str(name, "name")?);
            Ok(())
        })
    }

    /// Adds the syscall rules of a policy file, after the builder's own: TOML as `sbx-run
    /// --learn` writes it (`version = 1`, `default`, `allow = [...]`, `[[rule]]` with
    /// `syscall`, `action` and `args`; see the README). `origin` names the file in errors (NULL:
    /// `"policy"`). A bad file changes nothing and is `SBX_STATUS_INVALID_POLICY` with a message
    /// naming `origin:line:column` and the problem (unknown key or syscall, bad action, errno or
    /// condition, a syscall the mandatory rules deny).
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `text`), `SBX_STATUS_INVALID_ARGUMENT`
    /// (`text` or `origin` not UTF-8), `SBX_STATUS_INVALID_POLICY` (the file).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_load_rules(
        builder: *mut sbx_policy_builder,
        text: *const c_char,
        origin: *const c_char,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            let text = try_str(text, "text")?;
            let origin = if origin.is_null() {
                "policy"
            } else {
                try_str(origin, "origin")?
            };
            b.load_rules(text, origin)?;
            Ok(())
        })
    }

    /// Allows each of the `count` syscalls named in `names` (NULL is fine when `count` is 0).
    /// All names are checked for NULL and UTF-8 before any is added.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `names`, an element),
    /// `SBX_STATUS_INVALID_ARGUMENT` (an element not UTF-8).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_allow_syscalls(
        builder: *mut sbx_policy_builder,
        names: *const *const c_char,
        count: usize,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            b.allow_many(try_str_array(names, count, "names")?);
            Ok(())
        })
    }

    /// Allows native syscall number `nr` whatever its arguments. A number outside the syscall
    /// range makes `sbx_policy_builder_build` fail with `SBX_STATUS_INVALID_ARGUMENT`.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_allow_syscall_nr(
        builder: *mut sbx_policy_builder,
        nr: u32,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            try_mut(builder, "builder")?.allow(Sys::Nr(nr));
            Ok(())
        })
    }

    /// Makes the syscall called `name` fail with `errno_value` (1..4095, e.g. `EPERM`) without
    /// running it. A value in 0..65535 but outside 1..4095 makes `sbx_policy_builder_build` fail.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `name`), `SBX_STATUS_INVALID_ARGUMENT`
    /// (`name` not UTF-8, `errno_value` negative or above 65535).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_errno_syscall(
        builder: *mut sbx_policy_builder,
        name: *const c_char,
        errno_value: i32,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            let name = try_str(name, "name")?;
            b.errno(name, errno_from_c(errno_value)?);
            Ok(())
        })
    }

    /// Sends the syscall called `name` to the monitor (`SBX_ACTION_TRACE`).
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `name`), `SBX_STATUS_INVALID_ARGUMENT`
    /// (`name` not UTF-8).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_trace_syscall(
        builder: *mut sbx_policy_builder,
        name: *const c_char,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            b.trace(try_str(name, "name")?);
            Ok(())
        })
    }

    /// Makes the syscall called `name` a violation explicitly (what the default action does
    /// anyway; useful before a deny-list default or to document intent).
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `name`), `SBX_STATUS_INVALID_ARGUMENT`
    /// (`name` not UTF-8).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_violation_syscall(
        builder: *mut sbx_policy_builder,
        name: *const c_char,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            b.violation(try_str(name, "name")?);
            Ok(())
        })
    }

    /// Adds a rule for the syscall called `name`: when all `nargs` conditions of `args` hold,
    /// `action` (one of the `SBX_ACTION_*` values; `errno_value` is used only with
    /// `SBX_ACTION_ERRNO`). No conditions (`args` may then be NULL) make the rule unconditional.
    /// The conditions are copied.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `name`, `args` with `nargs` > 0),
    /// `SBX_STATUS_INVALID_ARGUMENT` (`name` not UTF-8, unknown action, width or comparison,
    /// index above 255, errno not in 0..65535). Other rule problems are reported by
    /// `sbx_policy_builder_build`.
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_add_rule(
        builder: *mut sbx_policy_builder,
        name: *const c_char,
        args: *const sbx_arg,
        nargs: usize,
        action: u32,
        errno_value: i32,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            let name = try_str(name, "name")?;
            let args = args_from_c(args, nargs)?;
            let action = action_from_c(action, errno_value)?;
            b.rule(name, &args, action);
            Ok(())
        })
    }

    /// Like `sbx_policy_builder_add_rule`, for native syscall number `nr`.
    ///
    /// Errors: as `sbx_policy_builder_add_rule`.
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_add_rule_nr(
        builder: *mut sbx_policy_builder,
        nr: u32,
        args: *const sbx_arg,
        nargs: usize,
        action: u32,
        errno_value: i32,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            let args = args_from_c(args, nargs)?;
            let action = action_from_c(action, errno_value)?;
            b.rule(Sys::Nr(nr), &args, action);
            Ok(())
        })
    }

    /// Sets what happens to syscalls no rule decides: `SBX_ACTION_VIOLATION` (the default),
    /// `SBX_ACTION_ALLOW` (a deny-list policy; the mandatory rules still apply),
    /// `SBX_ACTION_TRACE`, or `SBX_ACTION_ERRNO` with `errno_value`.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`), `SBX_STATUS_INVALID_ARGUMENT` (unknown
    /// action, errno not in 0..65535).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_set_default_action(
        builder: *mut sbx_policy_builder,
        action: u32,
        errno_value: i32,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            let action = match action_from_c(action, errno_value)? {
                Action::Allow => DefaultAction::AllowAll,
                Action::Errno(e) => DefaultAction::Errno(e),
                Action::Trace => DefaultAction::TraceAll,
                Action::Violation => DefaultAction::Violation,
            };
            b.default_action(action);
            Ok(())
        })
    }

    /// Chooses the monitor: one of the `SBX_MONITOR_*` values (default `SBX_MONITOR_AUTO`).
    /// `SBX_MONITOR_UNOTIFY` with `sbx_policy_builder_disable_namespaces` makes
    /// `sbx_policy_builder_build` fail with `SBX_STATUS_INVALID_POLICY`.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`), `SBX_STATUS_INVALID_ARGUMENT` (`monitor`
    /// not one of the values).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_set_monitor(
        builder: *mut sbx_policy_builder,
        monitor: u32,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let m = match monitor {
                x if x == sbx_monitor::Auto as u32 => crate::policy::Monitor::Auto,
                x if x == sbx_monitor::Ptrace as u32 => crate::policy::Monitor::Ptrace,
                x if x == sbx_monitor::Unotify as u32 => crate::policy::Monitor::Unotify,
                other => {
                    return Err(Failure::invalid(format!(
                        "monitor {other} is not one of the SBX_MONITOR_* values"
                    )))
                }
            };
            try_mut(builder, "builder")?.monitor(m);
            Ok(())
        })
    }

    /// Audit mode ("permit all and log") when `on`: every call the policy refuses as a
    /// violation is recorded (`sbx_result_audited_count`, `sbx_result_audited_call`: once per
    /// syscall, with a count and the first call's arguments) and then runs. Errno and trace
    /// rules act as usual; the mandatory rules still end the run as violations. For developing
    /// a policy, not for running hostile code. Off by default.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_set_audit(
        builder: *mut sbx_policy_builder,
        on: bool,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            try_mut(builder, "builder")?.audit(on);
            Ok(())
        })
    }

    /// Leaves speculative execution as the kernel set it. By default the sandboxee's
    /// speculative store bypass and indirect branch speculation are force-disabled
    /// (`PR_SET_SPECULATION_CTRL`, as sandbox2 does) where the kernel lets a process choose,
    /// and the result lists the `speculation_control` fence. Disabling costs CPU-bound programs
    /// time: allow it for trusted performance-critical work.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_allow_speculation(
        builder: *mut sbx_policy_builder,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            try_mut(builder, "builder")?.allow_speculation();
            Ok(())
        })
    }

    /// Lets the sandboxee's `connect` reach `spec` on the host: `"10.0.0.0/8:443"`,
    /// `"127.0.0.1:8080"`, `"[::1]:80"` (port 0 or `*`: any; TCP), `"unix:/run/x.sock"` (a host
    /// path, symlinks never followed), `"abstract:NAME"`, or `"HOST:PORT"` (resolved now, once).
    /// The sandbox keeps its own empty network; the supervisor connects allowed endpoints for it.
    /// Other TCP connects are a `VIOLATION_NETWORK` (see `sbx_policy_builder_refuse_connect`);
    /// other unix paths are looked up in the sandbox's own view. Needs the user-notify monitor
    /// and the sandbox's own network namespace: `sbx_policy_builder_build` fails with
    /// `SBX_STATUS_INVALID_POLICY` naming the conflict otherwise. A bad spec makes the build fail
    /// with `SBX_STATUS_INVALID_ARGUMENT` naming it.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `spec`), `SBX_STATUS_INVALID_ARGUMENT`
    /// (`spec` not UTF-8).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_allow_connect(
        builder: *mut sbx_policy_builder,
        spec: *const c_char,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            b.allow_connect(try_str(spec, "spec")?);
            Ok(())
        })
    }

    /// Under an allow-list: a connect the list does not allow fails with `errnum` (1..=4095, e.g.
    /// `ECONNREFUSED`) and is listed in the result (`sbx_result_denied_connect`) instead of
    /// ending the run; 0 restores the default (a `VIOLATION_NETWORK`). Turns the proxy on like
    /// `sbx_policy_builder_allow_connect`.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`); an errno above 4095 makes the build fail
    /// with `SBX_STATUS_INVALID_ARGUMENT`.
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_refuse_connect(
        builder: *mut sbx_policy_builder,
        errnum: u16,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let action = if errnum == 0 {
                crate::policy::net::OnDenied::Violation
            } else {
                crate::policy::net::OnDenied::Errno(errnum)
            };
            try_mut(builder, "builder")?.on_denied_connect(action);
            Ok(())
        })
    }

    /// Turns namespaces off: the sandboxee sees the host's files, processes and network, runs as
    /// the caller's uid (a root caller's capabilities are still dropped) and is confined only by
    /// seccomp, rlimits and the monitor. Mounts added to such a policy make
    /// `sbx_policy_builder_build` fail with `SBX_STATUS_INVALID_POLICY`.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_disable_namespaces(
        builder: *mut sbx_policy_builder,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            try_mut(builder, "builder")?.disable_namespaces();
            Ok(())
        })
    }

    /// Lets the sandbox run without a private `/proc` when the kernel refuses to mount one (a
    /// container runtime that masks parts of its `/proc`): the sandbox then sees a clone of the
    /// caller's `/proc` (the container's processes become visible; Landlock scoping still keeps
    /// them from being signalled or traced), and the result lists `"proc"` among
    /// `sbx_result_degraded`. Default: such a sandbox fails at step `"mount_proc"`.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_allow_no_private_proc(
        builder: *mut sbx_policy_builder,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            try_mut(builder, "builder")?.allow_no_private_proc();
            Ok(())
        })
    }

    /// Shares the host's network namespace: full network access (sandbox2's
    /// `UnrestrictedNetworking`). Default: a fresh network namespace holding only `lo`.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_share_network(
        builder: *mut sbx_policy_builder,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            try_mut(builder, "builder")?.share_network();
            Ok(())
        })
    }

    /// Chooses the sandbox's network namespace: one of the `SBX_NETNS_*` values.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`), `SBX_STATUS_INVALID_ARGUMENT` (not an
    /// `SBX_NETNS_*` value).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_set_network_namespace(
        builder: *mut sbx_policy_builder,
        netns: u32,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            use crate::namespaces::NetNs;
            let n = match netns {
                x if x == sbx_netns::PerSandbox as u32 => NetNs::PerSandbox,
                x if x == sbx_netns::Shared as u32 => NetNs::Shared,
                x if x == sbx_netns::Host as u32 => NetNs::Host,
                other => {
                    return Err(Failure::invalid(format!(
                        "network namespace {other} is not one of the SBX_NETNS_* values"
                    )))
                }
            };
            try_mut(builder, "builder")?.network_namespace(n);
            Ok(())
        })
    }

    /// Sets the hostname inside the sandbox (copied; default `"sandbox"`). A name that is not 1
    /// to 64 printable ASCII characters without `/` makes `sbx_policy_builder_build` fail.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `name`), `SBX_STATUS_INVALID_ARGUMENT`
    /// (not UTF-8).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_set_hostname(
        builder: *mut sbx_policy_builder,
        name: *const c_char,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            b.hostname(try_str(name, "name")?);
            Ok(())
        })
    }

    /// Bind-mounts host file `path` read-only at the same path inside the sandbox (whose root
    /// is otherwise an empty tmpfs with `/proc` and a minimal `/dev`). The path is copied. A
    /// relative, non-canonical or missing path makes `sbx_policy_builder_build` fail with
    /// `SBX_STATUS_INVALID_ARGUMENT`.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `path`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_add_file(
        builder: *mut sbx_policy_builder,
        path: *const c_char,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            b.add_file(try_path(path, "path")?);
            Ok(())
        })
    }

    /// Bind-mounts host file `outside` at `inside`, writable when `writable` is true. Paths are
    /// copied and checked as for `sbx_policy_builder_add_file`.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `outside`, `inside`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_add_file_at(
        builder: *mut sbx_policy_builder,
        outside: *const c_char,
        inside: *const c_char,
        writable: bool,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            let (outside, inside) = (try_path(outside, "outside")?, try_path(inside, "inside")?);
            b.add_file_at(outside, inside, writable);
            Ok(())
        })
    }

    /// Bind-mounts host directory `path` (recursively) read-only at the same path. The path is
    /// copied and checked as for `sbx_policy_builder_add_file`.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `path`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_add_directory(
        builder: *mut sbx_policy_builder,
        path: *const c_char,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            b.add_directory(try_path(path, "path")?);
            Ok(())
        })
    }

    /// Bind-mounts host directory `outside` (recursively) at `inside`, writable when `writable`
    /// is true (writable mounts are `noexec` unless `sbx_policy_builder_allow_write_exec`).
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `outside`, `inside`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_add_directory_at(
        builder: *mut sbx_policy_builder,
        outside: *const c_char,
        inside: *const c_char,
        writable: bool,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            let (outside, inside) = (try_path(outside, "outside")?, try_path(inside, "inside")?);
            b.add_directory_at(outside, inside, writable);
            Ok(())
        })
    }

    /// Like `sbx_policy_builder_add_directory`, but does nothing when `path` is not a directory
    /// on the host (e.g. `/lib64`, which not every system has).
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `path`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_add_directory_if_exists(
        builder: *mut sbx_policy_builder,
        path: *const c_char,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            b.add_directory_if_exists(try_path(path, "path")?);
            Ok(())
        })
    }

    /// Mounts a fresh writable tmpfs at `inside` of at most `size_bytes` bytes (0: the kernel's
    /// default, half of RAM).
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `inside`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_add_tmpfs(
        builder: *mut sbx_policy_builder,
        inside: *const c_char,
        size_bytes: u64,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            b.add_tmpfs(
                try_path(inside, "inside")?,
                (size_bytes != 0).then_some(size_bytes),
            );
            Ok(())
        })
    }

    /// A private `/dev/shm` tmpfs of at most `size_bytes` bytes for this sandbox alone (POSIX
    /// shared memory and semaphores); 0 removes it. The tool-default builder has 64 MiB.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_set_dev_shm(
        builder: *mut sbx_policy_builder,
        size_bytes: u64,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            try_mut(builder, "builder")?.dev_shm((size_bytes != 0).then_some(size_bytes));
            Ok(())
        })
    }

    /// Withholds `inside`, a file (`is_dir` false) or directory that a bind mount of the view
    /// shows (e.g. `/etc/shadow` under a bind of `/etc`): opening it in the sandbox fails with
    /// EACCES. A path that is not there as that type makes `sbx_policy_builder_build` fail.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `inside`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_hide(
        builder: *mut sbx_policy_builder,
        inside: *const c_char,
        is_dir: bool,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            b.hide(try_path(inside, "inside")?, is_dir);
            Ok(())
        })
    }

    /// A private `/dev/pts` and `/dev/ptmx` (the sandbox's own pseudo-terminals) when `on`.
    /// Programs that open ptys also need the terminal ioctls: `sbx_policy_builder_add_tty_rules`.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_set_dev_pts(
        builder: *mut sbx_policy_builder,
        on: bool,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            try_mut(builder, "builder")?.dev_pts(on);
            Ok(())
        })
    }

    /// Adds the rules that let programs open and drive pseudo-terminals (pty creation and
    /// unlocking, terminal modes, window size, job control on their own terminal; `TIOCSTI`
    /// stays refused). Rules are first-match: add them before a catch-all `ioctl` rule.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_add_tty_rules(
        builder: *mut sbx_policy_builder,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            presets::tty_rules(&mut *try_mut(builder, "builder")?);
            Ok(())
        })
    }

    /// Keeps the sandbox's root tmpfs writable (default read-only).
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_set_root_writable(
        builder: *mut sbx_policy_builder,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            try_mut(builder, "builder")?.set_root_writable();
            Ok(())
        })
    }

    /// Lets writable mounts hold executables (default: writable mounts are `noexec`).
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_allow_write_exec(
        builder: *mut sbx_policy_builder,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            try_mut(builder, "builder")?.allow_write_exec();
            Ok(())
        })
    }

    /// Adds `binary` and exactly the files the dynamic loader needs to run it (its interpreter,
    /// every `DT_NEEDED` library, `/etc/ld.so.cache`), read-only, searching the `count`
    /// directories of `extra_dirs` first like `LD_LIBRARY_PATH` (NULL is fine when `count` is
    /// 0). Safe for untrusted binaries: the ELF parser is bounded. A binary that cannot be read
    /// or parsed makes `sbx_policy_builder_build` fail.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `binary`, `extra_dirs` with `count` > 0,
    /// an element).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_add_libraries_for_binary(
        builder: *mut sbx_policy_builder,
        binary: *const c_char,
        extra_dirs: *const *const c_char,
        count: usize,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            let binary = try_path(binary, "binary")?;
            let extra = try_path_array(extra_dirs, count, "extra_dirs")?;
            b.add_libraries_for_binary_with(binary, &extra);
            Ok(())
        })
    }

    /// Compiles the rules into a policy and stores it in `*policy_out`; the caller owns it and
    /// frees it with `sbx_policy_free`.
    ///
    /// Consumes `builder` whether or not the build succeeds: do not use or free it afterwards.
    /// `*policy_out` is written only on success.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `policy_out`; the builder is still
    /// consumed), and the first problem any setter recorded: `SBX_STATUS_UNKNOWN_SYSCALL`,
    /// `SBX_STATUS_INVALID_ARGUMENT`, `SBX_STATUS_INVALID_POLICY` (also when the filter would
    /// exceed the kernel's 4096 instructions).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_build(
        builder: *mut sbx_policy_builder,
        policy_out: *mut *const sbx_policy,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let b = take_box(builder, "builder")?;
            check_out(policy_out, "policy_out")?;
            let policy = b.build()?;
            write_out(policy_out, PolicyHandle::into_ptr(policy));
            Ok(())
        })
    }

    /// Frees a builder that was not built. NULL is a no-op.
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_free(builder: *mut sbx_policy_builder) {
        boundary(|| free_box(builder));
    }
}

#[cfg(test)]
// Tests: their casts are of constants and of values the tests make themselves.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]
mod tests {
    use super::*;
    use crate::ffi::screaming_snake;
    use std::fmt::Write as _;

    #[test]
    fn groups_are_numbered_without_gaps() {
        for (i, g) in sbx_group::ALL.iter().enumerate() {
            assert_eq!(*g as u32, i as u32 + 1, "{g:?}");
        }
        assert!(sbx_group::from_c(0).is_err());
        assert!(sbx_group::from_c(sbx_group::ALL.len() as u32 + 1).is_err());
    }

    #[test]
    fn null_builder_is_reported() {
        let st = sbx_policy_builder::sbx_policy_builder_allow_group(
            std::ptr::null_mut(),
            1,
            std::ptr::null_mut(),
        );
        assert_eq!(st, sbx_status::NullParameter);
    }

    /// The `///` comment of every `sbx_group` variant, read from this file: the one place the
    /// groups are documented. cbindgen copies the comments into sbx.h, and
    /// `go_group_file_is_generated_from_sbx_group` renders them into go/group.go.
    fn group_docs() -> Vec<(String, String)> {
        let src = include_str!("policy_builder.rs");
        let body = src
            .split_once("pub enum sbx_group {")
            .and_then(|(_, rest)| rest.split_once("\n}"))
            .expect("the sbx_group enum in policy_builder.rs")
            .0;
        let mut out = Vec::new();
        let mut doc = String::new();
        for line in body.lines().map(str::trim) {
            if let Some(d) = line.strip_prefix("///") {
                if !doc.is_empty() {
                    doc.push(' ');
                }
                doc.push_str(d.trim());
            } else if let Some((name, _)) = line.split_once(" = ") {
                out.push((name.to_owned(), std::mem::take(&mut doc)));
            }
        }
        out
    }

    /// `text` as `//` comment lines indented by one tab, wrapped at 100 columns (tab = 4).
    fn go_comment(text: &str) -> String {
        let mut out = String::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            if !line.is_empty() && 4 + 3 + line.len() + 1 + word.len() > 100 {
                let _ = writeln!(out, "\t// {line}");
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        let _ = writeln!(out, "\t// {line}");
        out
    }

    /// go/group.go as generated from `sbx_group::ALL` and the variants' comments.
    fn go_group_file() -> String {
        let docs = group_docs();
        let names: Vec<String> = sbx_group::ALL.iter().map(|g| format!("{g:?}")).collect();
        let doc_names: Vec<&String> = docs.iter().map(|(n, _)| n).collect();
        assert_eq!(
            doc_names,
            names.iter().collect::<Vec<_>>(),
            "sbx_group::ALL must list the enum's variants in order"
        );
        // C constant -> Go constant, longest first (SBX_GROUP_EPOLL is a prefix of _EPOLL_WAIT).
        let mut renames: Vec<(String, String)> = names
            .iter()
            .map(|n| {
                (
                    format!("SBX_GROUP_{}", screaming_snake(n)),
                    format!("Group{n}"),
                )
            })
            .collect();
        renames.sort_by_key(|(c, _)| std::cmp::Reverse(c.len()));
        let mut consts = String::new();
        for (name, doc) in &docs {
            let mut text = doc.clone();
            // "What the loader does" reads "GroupX allows what the loader does".
            let mut chars = text.chars();
            if let (Some(a), Some(b)) = (chars.next(), chars.next()) {
                if a.is_ascii_uppercase() && b.is_ascii_lowercase() {
                    text.replace_range(..1, &a.to_ascii_lowercase().to_string());
                }
            }
            text = text.replace('`', "");
            for (c, go) in &renames {
                text = text.replace(c.as_str(), go);
            }
            consts.push_str(&go_comment(&format!("Group{name} allows {text}")));
            let _ = writeln!(
                consts,
                "\tGroup{name} Group = C.SBX_GROUP_{}",
                screaming_snake(name)
            );
        }
        let width = names.iter().map(String::len).max().unwrap_or(0) + "Group:".len();
        let mut map = String::new();
        for n in &names {
            let _ = writeln!(
                map,
                "\t{:<width$} \"{}\",",
                format!("Group{n}:"),
                screaming_snake(n)
            );
        }
        format!(
            "// Code generated by `SBX_REGEN=1 cargo test --lib go_group_file`. DO NOT EDIT.
// Source: the sbx_group enum in src/ffi/policy_builder.rs (its variants and their comments).

package sbx

// #include <sbx.h>
import \"C\"

import \"strconv\"

// Group is a named set of syscalls that PolicyBuilder.AllowGroup opens at once (the C ABI's
// sbx_group). Some groups carry argument conditions; integer arguments the kernel reads as an
// int are compared on 32 bits. Syscalls a group names that the running architecture lacks are
// skipped. Values never change.
type Group uint32

// The groups of the C ABI, in the header's order.
const (
{consts})

var groupNames = map[Group]string{{
{map}}}

// String returns the group's name as in the C ABI without its prefix (\"DYNAMIC_STARTUP\"), or
// \"Group(N)\" for a value libsbx does not define.
func (g Group) String() string {{
\tif n, ok := groupNames[g]; ok {{
\t\treturn n
\t}}
\treturn \"Group(\" + strconv.FormatUint(uint64(g), 10) + \")\"
}}
"
        )
    }

    /// go/group.go is generated (like include/sbx.h): its constants, their comments and the
    /// names come from `sbx_group`. `SBX_REGEN=1` writes the file instead of comparing.
    #[test]
    fn go_group_file_is_generated_from_sbx_group() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("go/group.go");
        let want = go_group_file();
        if std::env::var_os("SBX_REGEN").is_some_and(|v| v == "1") {
            std::fs::write(&path, &want).expect("write go/group.go");
            return;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "go/group.go is stale: it is generated from the sbx_group enum in \
             src/ffi/policy_builder.rs (variants, values, /// comments). Regenerate it with \
             `SBX_REGEN=1 cargo test --lib go_group_file` (and include/sbx.h with cbindgen, see \
             cbindgen.toml), then commit both."
        );
    }
}
