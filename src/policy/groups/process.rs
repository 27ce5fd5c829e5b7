//! Groups for the process itself: exiting, forking and waiting, exec, signals and timers,
//! clocks and sleeping, ids, resource limits, randomness and thread names.

use crate::policy::builder::PolicyBuilder;
use crate::policy::rule::{c, Action, Arg};

impl PolicyBuilder {
    /// Allows ending the process or thread: `exit`, `exit_group`.
    pub fn allow_exit(&mut self) -> &mut Self {
        self.allow_names(&["exit", "exit_group"])
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

    /// Allows `prctl(PR_SET_NAME, ...)` (thread names).
    pub fn allow_prctl_set_name(&mut self) -> &mut Self {
        self.rule_names(
            &["prctl"],
            &[Arg::eq32(0, c(libc::PR_SET_NAME))],
            Action::Allow,
        )
    }

    /// Allows `execve` and `execveat`: needed for any exec after the one that starts the target
    /// (shells, tools that run other tools). The library's own start-up exec does not need it.
    pub fn allow_exec(&mut self) -> &mut Self {
        self.allow_names(&["execve", "execveat"])
    }
}
