//! Per-step setup latency (design §5: "a per-step setup latency breakdown available on request").
//!
//! Each step of the spawn path stamps CLOCK_MONOTONIC into a slot of the plan; the children do it
//! with a raw clock_gettime(2) (async-signal-safe, ~50 ns), so recording always costs next to
//! nothing and the breakdown is simply part of every [`crate::RunResult`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The stamped points, in the order they happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Mark {
    /// The plan is built (validation, strings, BPF copy, mount ops).
    Planned,
    /// clone(2) returned in the monitor.
    Cloned,
    /// The monitor attached (PTRACE_SEIZE) and released the child.
    Attached,
    /// The init wrote its id maps.
    IdMaps,
    /// The init built the new root (binds, tmpfs, proc, dev).
    Mounts,
    /// The init switched roots.
    Pivot,
    /// Hostname set and loopback up.
    Network,
    /// The sandboxee moved its fds and set cwd and rlimits.
    Fds,
    /// The sandboxee entered its nested user namespace.
    NestedUserNs,
    /// The sandboxee is in its Landlock domain.
    Landlock,
    /// The sandboxee is about to install its seccomp filter (nothing is stamped after it: the
    /// policy may not allow clock_gettime).
    Seccomp,
    /// The monitor saw the target's exec complete (includes installing the filter).
    Exec,
}

/// Number of marks.
pub const MARKS: usize = Mark::Exec as usize + 1;

impl Mark {
    fn name(self) -> &'static str {
        match self {
            Mark::Planned => "plan",
            Mark::Cloned => "clone",
            Mark::Attached => "monitor attach (ptrace seize, or user-notify fds)",
            Mark::IdMaps => "user namespace id maps",
            Mark::Mounts => "mounts",
            Mark::Pivot => "pivot_root",
            Mark::Network => "hostname and loopback",
            Mark::Fds => "fds, cwd, rlimits",
            Mark::NestedUserNs => "nested user namespace",
            Mark::Landlock => "landlock",
            Mark::Seccomp => "no_new_privs",
            Mark::Exec => "seccomp filter and exec of the target",
        }
    }

    const ALL: [Mark; MARKS] = [
        Mark::Planned,
        Mark::Cloned,
        Mark::Attached,
        Mark::IdMaps,
        Mark::Mounts,
        Mark::Pivot,
        Mark::Network,
        Mark::Fds,
        Mark::NestedUserNs,
        Mark::Landlock,
        Mark::Seccomp,
        Mark::Exec,
    ];
}

/// One step of the breakdown: how long it took since the previous recorded step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupStep {
    /// What the step did.
    pub step: &'static str,
    /// Time since the previous recorded step (the first: since `Sandbox::start`).
    pub took: Duration,
}

/// CLOCK_MONOTONIC in nanoseconds, without libc (usable in the clone children).
#[allow(clippy::inline_always)] // called in the clone children, on their small stacks
#[inline(always)]
pub fn now_ns() -> u64 {
    let mut ts = [0i64; 2];
    // SAFETY: clock_gettime writes a struct timespec (two longs) into `ts`.
    #[allow(unsafe_code)]
    unsafe {
        crate::sys::raw::syscall(
            libc::SYS_clock_gettime,
            &[libc::CLOCK_MONOTONIC as u64, ts.as_mut_ptr() as u64],
        );
    }
    // CLOCK_MONOTONIC is never negative.
    u64::try_from(ts[0])
        .unwrap_or(0)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(u64::try_from(ts[1]).unwrap_or(0))
}

/// The stamps of one spawn.
#[derive(Debug)]
pub struct Stamps {
    start_ns: u64,
    slots: [AtomicU64; MARKS],
}

impl Stamps {
    /// Starts the clock now.
    pub fn new() -> Stamps {
        Stamps {
            start_ns: now_ns(),
            slots: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    /// Records `m` now (async-signal-safe).
    #[allow(clippy::inline_always)] // called in the clone children, on their small stacks
    #[inline(always)]
    pub fn mark(&self, m: Mark) {
        self.slots[m as usize].store(now_ns(), Ordering::Relaxed);
    }

    /// The recorded steps, each with its duration since the previous recorded one.
    pub fn breakdown(&self) -> Vec<SetupStep> {
        let mut prev = self.start_ns;
        let mut out = Vec::new();
        for m in Mark::ALL {
            let t = self.slots[m as usize].load(Ordering::Relaxed);
            if t == 0 {
                continue;
            }
            out.push(SetupStep {
                step: m.name(),
                took: Duration::from_nanos(t.saturating_sub(prev)),
            });
            prev = t;
        }
        out
    }
}
