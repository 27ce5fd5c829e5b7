//! Why a run ended: [`Reason`], sandbox2's reason codes and libsbx's own.

/// Why a run ended in SETUP_ERROR, INTERNAL_ERROR or VIOLATION (or, [`Reason::MemoryLimit`],
/// SIGNALED by the cgroup memory limit). Numbering is sandbox2's `ReasonCodeEnum`, libsbx's own
/// from `0x1000_0000`; never renumber. Non-exhaustive: a `match` outside the crate needs a
/// wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
#[allow(missing_docs)]
#[non_exhaustive]
pub enum Reason {
    UnsupportedArch = 0,
    FailedTimers = 1,
    FailedSignals = 2,
    FailedSubprocess = 3,
    FailedNotify = 4,
    FailedConnection = 5,
    FailedWait = 6,
    FailedNamespaces = 7,
    FailedPtrace = 8,
    FailedIpc = 9,
    FailedCommsUpgrade = 10,
    FailedLimits = 11,
    FailedCwd = 12,
    FailedPolicy = 13,
    FailedVersionCheck = 14,
    FailedConfig = 15,
    FailedStore = 16,
    FailedFetch = 17,
    FailedGetEvent = 18,
    FailedMonitor = 19,
    FailedKill = 20,
    FailedInterrupt = 21,
    FailedChild = 22,
    FailedInspect = 23,
    ViolationSyscall = 24,
    ViolationArch = 25,
    ViolationNetwork = 0x1000_0000,
    /// libsbx's own: the kernel's OOM killer ended a process of the sandbox for its cgroup
    /// memory limit. The reason of a `SIGNALED` run (whose reason code stays the signal).
    MemoryLimit = 0x1000_0001,
}

impl Reason {
    /// sandbox2's spelling, e.g. `FAILED_PTRACE`.
    pub fn name(self) -> &'static str {
        use Reason::{
            FailedChild, FailedCommsUpgrade, FailedConfig, FailedConnection, FailedCwd,
            FailedFetch, FailedGetEvent, FailedInspect, FailedInterrupt, FailedIpc, FailedKill,
            FailedLimits, FailedMonitor, FailedNamespaces, FailedNotify, FailedPolicy,
            FailedPtrace, FailedSignals, FailedStore, FailedSubprocess, FailedTimers,
            FailedVersionCheck, FailedWait, MemoryLimit, UnsupportedArch, ViolationArch,
            ViolationNetwork, ViolationSyscall,
        };
        match self {
            UnsupportedArch => "UNSUPPORTED_ARCH",
            FailedTimers => "FAILED_TIMERS",
            FailedSignals => "FAILED_SIGNALS",
            FailedSubprocess => "FAILED_SUBPROCESS",
            FailedNotify => "FAILED_NOTIFY",
            FailedConnection => "FAILED_CONNECTION",
            FailedWait => "FAILED_WAIT",
            FailedNamespaces => "FAILED_NAMESPACES",
            FailedPtrace => "FAILED_PTRACE",
            FailedIpc => "FAILED_IPC",
            FailedCommsUpgrade => "FAILED_COMMS_UPGRADE",
            FailedLimits => "FAILED_LIMITS",
            FailedCwd => "FAILED_CWD",
            FailedPolicy => "FAILED_POLICY",
            FailedVersionCheck => "FAILED_VERSION_CHECK",
            FailedConfig => "FAILED_CONFIG",
            FailedStore => "FAILED_STORE",
            FailedFetch => "FAILED_FETCH",
            FailedGetEvent => "FAILED_GETEVENT",
            FailedMonitor => "FAILED_MONITOR",
            FailedKill => "FAILED_KILL",
            FailedInterrupt => "FAILED_INTERRUPT",
            FailedChild => "FAILED_CHILD",
            FailedInspect => "FAILED_INSPECT",
            ViolationSyscall => "VIOLATION_SYSCALL",
            ViolationArch => "VIOLATION_ARCH",
            ViolationNetwork => "VIOLATION_NETWORK",
            MemoryLimit => "MEMORY_LIMIT",
        }
    }
}

/// Maps a numeric reason code back to [`Reason`].
pub fn reason_from_code(code: u32) -> Option<Reason> {
    use Reason::{
        FailedChild, FailedCommsUpgrade, FailedConfig, FailedConnection, FailedCwd, FailedFetch,
        FailedGetEvent, FailedInspect, FailedInterrupt, FailedIpc, FailedKill, FailedLimits,
        FailedMonitor, FailedNamespaces, FailedNotify, FailedPolicy, FailedPtrace, FailedSignals,
        FailedStore, FailedSubprocess, FailedTimers, FailedVersionCheck, FailedWait,
        UnsupportedArch, ViolationArch, ViolationNetwork, ViolationSyscall,
    };
    const ALL: [Reason; 27] = [
        UnsupportedArch,
        FailedTimers,
        FailedSignals,
        FailedSubprocess,
        FailedNotify,
        FailedConnection,
        FailedWait,
        FailedNamespaces,
        FailedPtrace,
        FailedIpc,
        FailedCommsUpgrade,
        FailedLimits,
        FailedCwd,
        FailedPolicy,
        FailedVersionCheck,
        FailedConfig,
        FailedStore,
        FailedFetch,
        FailedGetEvent,
        FailedMonitor,
        FailedKill,
        FailedInterrupt,
        FailedChild,
        FailedInspect,
        ViolationSyscall,
        ViolationArch,
        ViolationNetwork,
    ];
    ALL.into_iter().find(|r| *r as u32 == code)
}
