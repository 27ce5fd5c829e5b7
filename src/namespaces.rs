//! Which namespaces a sandboxee gets. By default: all of them (user, pid, mount, network, IPC,
//! UTS, cgroup), with the sandboxee as uid/gid 1000 mapped onto the caller's ids and a nested user
//! namespace around it so it cannot undo its mounts.

use crate::error::{Error, Result};

/// The uid and gid the sandboxee sees.
pub const SANDBOX_ID: u32 = 1000;
pub use crate::caps::caller_is_host_root;
// A root caller's sandboxee runs as an unprivileged host id of its own (see `host_id.rs`).
pub use crate::host_id::{
    root_caller_host_id, root_caller_id_range, set_root_caller_id_range, ROOT_CALLER_ID_BASE,
    ROOT_CALLER_ID_COUNT,
};

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
    /// True: instead of a fresh network namespace, the one empty network namespace (only `lo`,
    /// up) this process shares among every sandbox asking for it (see [`NetNs::Shared`]).
    pub shared_empty_network: bool,
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
            shared_empty_network: false,
            hostname: DEFAULT_HOSTNAME.to_string(),
            allow_no_proc: false,
        }
    }
}

impl Namespaces {
    /// Checks the hostname (what sethostname(2) accepts: 1 to 64 bytes, no NUL) and its `/`-free
    /// printable form.
    pub fn validate(&self) -> Result<()> {
        if self.share_network && self.shared_empty_network {
            return Err(Error::invalid(
                "the host's network (share_network) and the shared empty network namespace are \
                 two different choices: pick one NetNs",
            ));
        }
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
        if !self.share_network && !self.shared_empty_network {
            f |= libc::CLONE_NEWNET;
        }
        f
    }

    /// The network namespace choice these settings make.
    pub fn net(&self) -> NetNs {
        match (self.share_network, self.shared_empty_network) {
            (true, _) => NetNs::Host,
            (false, true) => NetNs::Shared,
            (false, false) => NetNs::PerSandbox,
        }
    }
}

/// Which network namespace a sandbox runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum NetNs {
    /// A fresh one per sandbox, holding only `lo` (default): nothing to reach, not even another
    /// sandbox.
    #[default]
    PerSandbox,
    /// One empty namespace (only `lo`) shared by every sandbox of this process that asks for it:
    /// no network namespace is made or torn down per sandbox (~0.5 ms of setup saved, and the
    /// kernel's asynchronous teardown), but those sandboxes can reach each other's listeners on
    /// `lo`. Root callers only (the supervisor enters it around each clone).
    Shared,
    /// The host's network namespace (full network access).
    Host,
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
