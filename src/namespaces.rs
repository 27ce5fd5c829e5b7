//! Which namespaces a sandboxee gets. By default: all of them (user, pid, mount, network, IPC,
//! UTS, cgroup), with the sandboxee as uid/gid 1000 mapped onto the caller's ids and a nested user
//! namespace around it so it cannot undo its mounts.

use crate::error::{Error, Result};

/// The uid and gid the sandboxee sees.
pub const SANDBOX_ID: u32 = 1000;
/// The host uid and gid a *root* caller's sandboxee runs as.
///
/// Mapping the sandbox onto the caller's own ids, as for unprivileged callers, would make a root
/// caller's sandboxee host uid 0: no capabilities, but still the owner of every root-owned file
/// it can reach (`/etc/ssl/private`) and allowed to write `/proc/sys` (`kernel.core_pattern` runs
/// a program as root). So it gets an id of its own instead: `ROOT_CALLER_HOST_ID_BASE` plus the
/// host's pid modulo 1,000,000, an id no ordinary account uses (`nobody` would be shared with
/// other processes that could then reach the sandbox's processes before they exec).
pub fn root_caller_host_id() -> u32 {
    ROOT_CALLER_HOST_ID_BASE + std::process::id() % 1_000_000
}

pub use crate::caps::caller_is_host_root;

/// Base of [`root_caller_host_id`].
pub const ROOT_CALLER_HOST_ID_BASE: u32 = 1_000_000_000;

/// The default UTS hostname.
pub const DEFAULT_HOSTNAME: &str = "sandbox";

/// Namespace settings of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespaces {
    /// False: no namespaces at all. The sandboxee then sees the host's filesystem, processes and
    /// network and runs with the caller's uid; only seccomp, rlimits and the monitor confine it
    /// (a root caller's capabilities are still dropped).
    pub enabled: bool,
    /// True: the sandboxee shares the host's network namespace (full network access).
    /// False (default): a fresh network namespace holding only `lo`, up.
    pub share_network: bool,
    /// UTS hostname inside the sandbox. When sethostname is refused with EPERM (a container's
    /// seccomp profile) the inherited name stays and the result lists `"hostname"` in
    /// [`crate::RunResult::degraded`].
    pub hostname: String,
    /// True: when the kernel refuses the sandbox's procfs mount, go on without a private
    /// `/proc` (the caller's `/proc` is cloned in its place, see
    /// [`crate::PolicyBuilder::allow_no_private_proc`]) and list `"proc"` in
    /// [`crate::RunResult::degraded`].
    /// False (default): such a sandbox fails to set up at step `mount_proc`.
    pub allow_no_proc: bool,
}

impl Default for Namespaces {
    fn default() -> Self {
        Namespaces {
            enabled: true,
            share_network: false,
            hostname: DEFAULT_HOSTNAME.to_string(),
            allow_no_proc: false,
        }
    }
}

impl Namespaces {
    /// Checks the hostname (what sethostname(2) accepts: 1 to 64 bytes, no NUL) and its `/`-free
    /// printable form.
    pub fn validate(&self) -> Result<()> {
        let h = self.hostname.as_bytes();
        if h.is_empty()
            || h.len() > 64
            || h.iter()
                .any(|b| *b == 0 || *b == b'/' || !b.is_ascii_graphic())
        {
            return Err(Error::invalid(format!(
                "hostname {:?}: 1 to 64 printable ASCII characters without '/'",
                self.hostname
            )));
        }
        Ok(())
    }

    /// The clone(2) flags for the sandbox's init process.
    pub(crate) fn clone_flags(&self) -> i32 {
        if !self.enabled {
            return 0;
        }
        let mut f = libc::CLONE_NEWUSER
            | libc::CLONE_NEWPID
            | libc::CLONE_NEWNS
            | libc::CLONE_NEWIPC
            | libc::CLONE_NEWUTS
            | libc::CLONE_NEWCGROUP;
        if !self.share_network {
            f |= libc::CLONE_NEWNET;
        }
        f
    }
}

/// Turns a failed clone(2) with namespace flags into an error naming the cause and the fix
/// (design §3 item 11: never a bare EPERM or ENOSPC).
pub(crate) fn namespace_error(errno: i32) -> Error {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .ok()
            .map(|s| s.trim().to_string())
    };
    let root = nix::unistd::geteuid().is_root();
    if read("/proc/sys/user/max_user_namespaces").as_deref() == Some("0") {
        return Error::Unsupported {
            feature: "user namespaces",
            detail: "user.max_user_namespaces is 0".into(),
            fix: "sysctl -w user.max_user_namespaces=15000 (or use a policy without namespaces)",
        };
    }
    if !root && read("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0") {
        return Error::Unsupported {
            feature: "user namespaces",
            detail: "kernel.unprivileged_userns_clone is 0: unprivileged users may not create user namespaces".into(),
            fix: "sysctl -w kernel.unprivileged_userns_clone=1 (or run as root, or use a policy without namespaces)",
        };
    }
    if !root
        && read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref() == Some("1")
    {
        return Error::Unsupported {
            feature: "user namespaces",
            detail: "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1)".into(),
            fix: "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor profile granting userns for this program",
        };
    }
    if errno == libc::ENOSPC {
        return Error::Unsupported {
            feature: "namespaces",
            detail: "a namespace limit (user.max_*_namespaces) is reached".into(),
            fix: "raise the user.max_*_namespaces sysctls or end other sandboxes",
        };
    }
    if errno == libc::EPERM || errno == libc::EINVAL {
        return Error::Unsupported {
            feature: "namespaces",
            detail: format!(
                "clone with namespace flags failed: {} (a container runtime or seccomp profile may forbid it; a chroot also does)",
                std::io::Error::from_raw_os_error(errno)
            ),
            fix: "allow unshare/clone of namespaces for this process, or use a policy without namespaces",
        };
    }
    Error::os("clone(namespaces)", errno)
}
