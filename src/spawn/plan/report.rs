//! What a child reports back through the plan's shared memory: the [`Step`] that failed,
//! the [`ChildReport`] itself and the bit sets of its `degraded`, `in_force` and `item` fields.

use std::sync::atomic::{AtomicI32, AtomicU32};

/// The step of the child that failed, reported through [`ChildReport`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Step {
    None = 0,
    Sync = 1,
    Signals = 2,
    Session = 3,
    DeathSignal = 4,
    Fds = 5,
    Cwd = 6,
    Rlimit = 7,
    Capabilities = 8,
    NoNewPrivs = 9,
    Seccomp = 10,
    Exec = 11,
    Namespaces = 12,
    UserNs = 13,
    Mounts = 14,
    Pivot = 15,
    Hostname = 16,
    Network = 17,
    NestedUserNs = 18,
    Landlock = 19,
    /// clone(2) of the first child (with the namespace flags when namespaces are on); recorded
    /// by the host, not by a child.
    Clone = 20,
}

impl Step {
    pub fn from_u32(v: u32) -> Step {
        use Step::{
            Capabilities, Clone, Cwd, DeathSignal, Exec, Fds, Hostname, Landlock, Mounts,
            Namespaces, NestedUserNs, Network, NoNewPrivs, None, Pivot, Rlimit, Seccomp, Session,
            Signals, Sync, UserNs,
        };
        [
            None,
            Sync,
            Signals,
            Session,
            DeathSignal,
            Fds,
            Cwd,
            Rlimit,
            Capabilities,
            NoNewPrivs,
            Seccomp,
            Exec,
            Namespaces,
            UserNs,
            Mounts,
            Pivot,
            Hostname,
            Network,
            NestedUserNs,
            Landlock,
            Clone,
        ]
        .into_iter()
        .find(|s| *s as u32 == v)
        .unwrap_or(None)
    }

    pub fn describe(self) -> &'static str {
        match self {
            Step::None => "unknown step",
            Step::Sync => "waiting for the monitor",
            Step::Signals => "resetting signal dispositions",
            Step::Session => "setsid",
            Step::DeathSignal => "prctl(PR_SET_PDEATHSIG)",
            Step::Fds => "mapping file descriptors",
            Step::Cwd => "chdir to the working directory",
            Step::Rlimit => "setting resource limits",
            Step::Capabilities => "dropping capabilities",
            Step::NoNewPrivs => "prctl(PR_SET_NO_NEW_PRIVS)",
            Step::Seccomp => "installing the seccomp filter",
            Step::Exec => "execve",
            Step::Namespaces => "starting the sandbox's init",
            Step::UserNs => "writing the user namespace's id maps",
            Step::Mounts => "building the sandbox's filesystem",
            Step::Pivot => "switching to the new root",
            Step::Hostname => "sethostname",
            Step::Network => "bringing up the loopback interface",
            Step::NestedUserNs => "entering the nested user namespace",
            Step::Landlock => "entering the Landlock domain",
            Step::Clone => "clone",
        }
    }

    /// Stable machine-readable name of the step, as reported in [`crate::RunResult::failed_step`].
    /// Mount failures are refined by the monitor (`mount_proc`, `mount_bind`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Step::None => "unknown",
            Step::Sync => "sync",
            Step::Signals => "signals",
            Step::Session => "setsid",
            Step::DeathSignal => "death_signal",
            Step::Fds => "fds",
            Step::Cwd => "cwd",
            Step::Rlimit => "rlimits",
            Step::Capabilities => "capabilities",
            Step::NoNewPrivs => "no_new_privs",
            Step::Seccomp => "seccomp",
            Step::Exec => "exec",
            Step::Namespaces => "init",
            Step::UserNs => "id_maps",
            Step::Mounts => "mount_root",
            Step::Pivot => "pivot_root",
            Step::Hostname => "hostname",
            Step::Network => "loopback",
            Step::NestedUserNs => "nested_userns",
            Step::Landlock => "landlock",
            Step::Clone => "clone",
        }
    }
}

/// Bits of [`ChildReport::degraded`]: cosmetic parts of the sandbox the init had to leave out.
pub mod degraded {
    /// sethostname was refused (EPERM, a container's seccomp profile): the inherited name stays.
    pub const HOSTNAME: u32 = 1;
    /// The caller allowed it and the procfs mount was refused: no private /proc.
    pub const PROC: u32 = 2;
    /// A root caller without CAP_SYS_ADMIN over the filesystems (a container's root): writable
    /// binds are plain binds, writable where the host's permissions let the sandboxee's own
    /// host id write, instead of idmapped onto the directory's owner (set by the host).
    pub const IDMAP: u32 = 4;
}

/// Written by the child (shared memory, CLONE_VM) when a step fails; read after it exits.
#[derive(Debug, Default)]
pub struct ChildReport {
    pub step: AtomicU32,
    pub errno: AtomicI32,
    /// Index into the plan's lists for per-item steps (which rlimit, which fd).
    pub item: AtomicU32,
    /// [`degraded`] bits set by the init for parts it left out.
    pub degraded: AtomicU32,
    /// [`in_force`] bits set by the sandboxee for optional fences the kernel accepted.
    pub in_force: AtomicU32,
}

impl ChildReport {
    /// A fresh report whose [`degraded`] bits start as `bits` (what the host already knows).
    pub(super) fn with_degraded(bits: u32) -> ChildReport {
        ChildReport {
            degraded: AtomicU32::new(bits),
            ..ChildReport::default()
        }
    }
}

/// Optional fences the sandboxee reports as in force (`ChildReport::in_force`).
pub mod in_force {
    /// Speculative store bypass and indirect branch speculation are force-disabled
    /// (`PR_SET_SPECULATION_CTRL`; only where the kernel lets a process choose).
    pub const SPECULATION: u32 = 1;
}

/// `ChildReport::item` values of the Landlock step that are not a rule's index.
pub mod landlock_item {
    /// landlock_create_ruleset failed.
    pub const CREATE: usize = 1 << 30;
    /// landlock_restrict_self failed.
    pub const RESTRICT: usize = (1 << 30) + 1;
}
