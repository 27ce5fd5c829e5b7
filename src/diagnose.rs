//! Why a setup step failed and what to do about it.
//!
//! A failed step is reported with a stable name (`clone`, `mount_proc`, `hostname`, ...), the
//! errno and, when the cause is recognisable, a hint naming the likely cause and the fix for
//! Docker, podman and Kubernetes. The same hints are used by the canary sandbox of
//! [`crate::features::probe`] (`sbx-run --check`). See `docs/containers.md`.

/// What a caller can fall back to when namespaces cannot be had, appended to namespace hints.
pub const FALLBACK: &str = "if weaker isolation is acceptable, run without namespaces \
     (sbx-run --no-namespaces, PolicyBuilder::disable_namespaces, sbx_policy_builder_disable_namespaces, \
     Go PolicyBuilder.DisableNamespaces): seccomp, Landlock and rlimits only, host files and processes visible";

/// `EPERM`-style name of an errno value.
pub fn errno_name(e: i32) -> String {
    format!("{:?}", nix::errno::Errno::from_raw(e))
}

/// The likely cause and fix for `step` failing with `errno`, or `None` when nothing specific is
/// known.
pub fn hint(step: &str, errno: i32) -> Option<String> {
    let perm = errno == libc::EPERM || errno == libc::EACCES;
    let text = match step {
        "clone" => clone_hint(errno)?,
        "mount_proc" if perm => format!(
            "the container runtime masks parts of /proc (files and empty tmpfs mounted over /proc/kcore, \
             /proc/keys, /proc/timer_list, /proc/acpi, ...), and the kernel refuses a new procfs in a user namespace while the \
             existing one is not fully visible; fix: Docker: --security-opt systempaths=unconfined; \
             podman: --security-opt unmask=ALL; Kubernetes: securityContext.procMount: Unmasked \
             (needs hostUsers: false); or allow a sandbox without a private /proc \
             (sbx-run --no-private-proc, PolicyBuilder::allow_no_private_proc: the sandbox then sees the container's /proc); or {FALLBACK}"
        ),
        "mount_root" | "mount_bind" | "mount_tmpfs" | "mount_devpts" | "mount_symlink" | "pivot_root"
            if perm =>
        {
            format!(
                "the container's seccomp profile or LSM forbids mounts inside the sandbox's \
                 namespaces (Docker's default seccomp profile allows mount only with \
                 CAP_SYS_ADMIN, its AppArmor profile denies mount); fix: Docker: \
                 --security-opt seccomp=unconfined --security-opt apparmor=unconfined; podman: \
                 --security-opt seccomp=unconfined; Kubernetes: seccompProfile Unconfined and \
                 appArmorProfile Unconfined; or {FALLBACK}"
            )
        }
        "hostname" if perm => "the container's seccomp profile allows sethostname only with \
             CAP_SYS_ADMIN (podman's and Docker's default profiles); fix: Docker/podman: \
             --security-opt seccomp=unconfined (or a profile that allows sethostname); \
             Kubernetes: seccompProfile Unconfined or a Localhost profile that allows it"
            .to_string(),
        "id_maps" | "nested_userns" if perm => format!(
            "the kernel or an LSM refused the user namespace's id maps (AppArmor's userns \
             restriction, kernel.apparmor_restrict_unprivileged_userns=1, or a container profile); \
             or {FALLBACK}"
        ),
        "loopback" if perm => "the container's seccomp profile or LSM forbids configuring the \
             network namespace; fix: share the host network (sbx-run --net) or allow ioctl \
             SIOCSIFFLAGS in the profile"
            .to_string(),
        "landlock" if errno == libc::ENOSYS || errno == libc::EOPNOTSUPP => "Landlock is not \
             enabled in this kernel; fix: CONFIG_SECURITY_LANDLOCK=y and landlock in the lsm= \
             boot parameter"
            .to_string(),
        "landlock" | "seccomp" | "no_new_privs" if perm || errno == libc::ENOSYS => {
            "the container's seccomp profile forbids this call; fix: Docker/podman: \
             --security-opt seccomp=unconfined or a profile allowing seccomp, prctl and the \
             landlock_* calls; Kubernetes: seccompProfile Unconfined or Localhost"
                .to_string()
        }
        _ => return None,
    };
    Some(text)
}

/// Hint for a clone with namespace flags that failed with `errno`.
fn clone_hint(errno: i32) -> Option<String> {
    match crate::namespaces::namespace_error(errno) {
        crate::Error::Unsupported { detail, fix, .. } => {
            let container = if errno == libc::EPERM {
                " In a container: Docker's default seccomp profile allows clone with namespace \
                 flags and unshare only with CAP_SYS_ADMIN (--security-opt \
                 seccomp=contrib/docker/libsbx-seccomp.json from libsbx's sources: the default plus \
                 what libsbx needs; Kubernetes: seccompProfile Localhost with that file); \
                 AppArmor may deny user namespaces (kernel.apparmor_restrict_unprivileged_userns); \
                 a zero user.max_user_namespaces disables them."
            } else {
                ""
            };
            Some(format!("{detail}; fix: {fix}.{container} Or {FALLBACK}"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_name_the_cause_and_the_fix() {
        let h = hint("mount_proc", libc::EPERM).unwrap();
        assert!(
            h.contains("systempaths=unconfined") && h.contains("unmask=ALL"),
            "{h}"
        );
        assert!(h.contains("procMount: Unmasked"), "{h}");
        let h = hint("hostname", libc::EPERM).unwrap();
        assert!(h.contains("seccomp"), "{h}");
        assert!(hint("clone", libc::EPERM)
            .unwrap()
            .contains("no-namespaces"));
        assert!(hint("mount_proc", libc::ENOENT).is_none());
        assert!(hint("exec", libc::EPERM).is_none());
        assert_eq!(errno_name(libc::EPERM), "EPERM");
    }
}
