//! Resource limits of a sandboxee: rlimits set in the child before exec, and the wall-time limit
//! enforced by the monitor. Defaults are sandbox2's.

use crate::error::{Error, Result};
use crate::sys::rlimit;
use std::time::Duration;

/// Tasks (processes and threads) a sandbox may hold at once when [`Limits::processes`] is not
/// set: 256, 1/128 of the classic pid space of 32768 (`kernel.pid_max`), so a fork bomb in one
/// sandbox holds under 1% of the host's pids and 64 sandboxes bombing at once leave half of
/// them. A fixed number rather than one read from `pid_max`: since Linux 6.14 `pid_max` is per
/// pid namespace, and a caller in a namespace of its own reads its own (often 4194304), not the
/// host's. The ptrace monitor counts and kills beyond it; under user-notify it is the sandbox's
/// RLIMIT_NPROC (counted in its own user namespace). Set [`Limits::processes`] for more.
pub const DEFAULT_MAX_TASKS: u64 = 256;

/// [`DEFAULT_MAX_TASKS`].
pub fn default_max_tasks() -> u64 {
    DEFAULT_MAX_TASKS
}

/// `RLIM_INFINITY` spelled as an `Option::None` in the setters.
pub const UNLIMITED: Option<u64> = None;

/// rlimits and wall time for one sandboxee. `None` means "unlimited" for rlimits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// RLIMIT_AS in bytes (default unlimited).
    pub address_space: Option<u64>,
    /// RLIMIT_CPU in seconds (default 1024).
    pub cpu_seconds: Option<u64>,
    /// RLIMIT_FSIZE in bytes (default 8 GiB).
    pub file_size: Option<u64>,
    /// RLIMIT_NOFILE (default 1024).
    pub open_files: Option<u64>,
    /// RLIMIT_NPROC and the monitor's cap on live tasks in the sandbox (default: a cap of
    /// [`DEFAULT_MAX_TASKS`], 256).
    ///
    /// The kernel ignores RLIMIT_NPROC for root, and it counts every process of the real uid
    /// host-wide, so the monitor also enforces the number itself: a task created beyond it is
    /// killed before it runs its first instruction.
    pub processes: Option<u64>,
    /// RLIMIT_CORE in bytes (default 0: no core dumps).
    pub core: Option<u64>,
    /// Wall-time limit (default 120 s). `None` disables it.
    pub wall_time: Option<Duration>,
    /// Limits on the whole sandbox, as a cgroup of its own: memory, processes, CPU share (default
    /// none). A limit no usable cgroup can hold fails the start with
    /// [`Error::Unsupported`](crate::Error::Unsupported) naming what to delegate.
    pub cgroup: crate::cgroups::CgroupLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            address_space: None,
            cpu_seconds: Some(1024),
            file_size: Some(8 << 30),
            open_files: Some(1024),
            processes: None,
            core: Some(0),
            wall_time: Some(Duration::from_secs(120)),
            cgroup: crate::cgroups::CgroupLimits::default(),
        }
    }
}

/// One rlimit to apply in the child: resource number and value (soft = hard).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RlimitSetting {
    pub resource: u32,
    pub value: u64,
}

impl Limits {
    /// The rlimits to set before exec, in a fixed order. Validates values.
    pub(crate) fn rlimit_settings(&self) -> Result<Vec<RlimitSetting>> {
        let mut out = Vec::with_capacity(6);
        let mut push =
            |resource: u32, v: Option<u64>, name: &str| -> Result<()> {
                let value = match v {
                    None => libc::RLIM_INFINITY,
                    Some(x) if x == libc::RLIM_INFINITY => {
                        return Err(Error::invalid(format!(
                            "limit {name}: {x} is RLIM_INFINITY; use None for unlimited"
                        )))
                    }
                    Some(x) => x,
                };
                out.push(RlimitSetting { resource, value });
                Ok(())
            };
        push(rlimit::AS, self.address_space, "address_space")?;
        push(rlimit::CPU, self.cpu_seconds, "cpu_seconds")?;
        push(rlimit::FSIZE, self.file_size, "file_size")?;
        push(rlimit::NOFILE, self.open_files, "open_files")?;
        push(rlimit::CORE, self.core, "core")?;
        if self.processes.is_some() {
            push(rlimit::NPROC, self.processes, "processes")?;
        }
        if let Some(n) = self.processes {
            if n == 0 {
                return Err(Error::invalid(
                    "limit processes: 0 would forbid the sandboxee itself",
                ));
            }
        }
        if let Some(n) = self.open_files {
            if n < 3 {
                return Err(Error::invalid(format!(
                    "limit open_files: {n} is below 3 (stdin, stdout, stderr)"
                )));
            }
        }
        Ok(out)
    }
}
