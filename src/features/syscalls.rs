//! Probes of plain syscalls (`pidfd_open`, `close_range`, `execveat`) and of user namespaces
//! (a probe child made in a new one).

#![allow(unsafe_code)]

use super::helpers::{errno, errno_name, errno_text, in_child, read_sysctl};
use super::Feature;
use crate::error::Error;
use std::os::fd::{FromRawFd, OwnedFd};

#[allow(clippy::cast_possible_truncation)] // the fd in syscall(2)'s c_long return
pub(super) fn probe_pidfd_open() -> Feature {
    // SAFETY: pidfd_open of ourselves returns a new fd we own, or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) };
    let (available, detail) = if fd >= 0 {
        // SAFETY: fresh fd owned by nobody else; dropping it closes it.
        drop(unsafe { OwnedFd::from_raw_fd(fd as i32) });
        (true, "pidfd_open(self) ok".to_string())
    } else {
        (false, format!("pidfd_open: {}", errno_text(errno())))
    };
    Feature {
        name: "pidfd_open",
        required: true,
        available,
        detail,
        fix: "upgrade to Linux 5.3 or newer",
    }
}

pub(super) fn probe_close_range() -> Feature {
    // Closing the empty range [~0, ~0] changes nothing.
    // SAFETY: no pointers; no fd has this number.
    let r = unsafe { libc::syscall(libc::SYS_close_range, u32::MAX, u32::MAX, 0u32) };
    let (available, detail) = if r == 0 {
        (true, "close_range ok".to_string())
    } else {
        (false, format!("close_range: {}", errno_text(errno())))
    };
    Feature {
        name: "close_range",
        required: true,
        available,
        detail,
        fix: "upgrade to Linux 5.9 or newer",
    }
}

pub(super) fn probe_execveat() -> Feature {
    // execveat on an invalid fd with AT_EMPTY_PATH fails with EBADF before anything is loaded;
    // ENOSYS means the call does not exist.
    let empty = b"\0";
    let argv: [*const libc::c_char; 1] = [std::ptr::null()];
    // SAFETY: valid NUL-terminated path and NULL-terminated arrays; the fd is invalid, so the call
    // cannot replace this process.
    let r = unsafe {
        libc::syscall(
            libc::SYS_execveat,
            -1,
            empty.as_ptr(),
            argv.as_ptr(),
            argv.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    let e = errno();
    let (available, detail) = if r < 0 && e != libc::ENOSYS && e != libc::EPERM {
        (
            true,
            format!(
                "execveat present ({} on an invalid fd, as expected)",
                errno_name(e)
            ),
        )
    } else {
        (false, format!("execveat: {}", errno_text(e)))
    };
    Feature {
        name: "execveat",
        required: true,
        available,
        detail,
        fix:
            "upgrade to Linux 3.19 or newer; in a container, allow execveat in its seccomp profile",
    }
}

pub(super) fn probe_user_namespaces() -> Feature {
    let max = read_sysctl("/proc/sys/user/max_user_namespaces");
    let debian = read_sysctl("/proc/sys/kernel/unprivileged_userns_clone");
    let apparmor = read_sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns");
    let mut seen = Vec::new();
    if let Some(v) = &max {
        seen.push(format!("user.max_user_namespaces={v}"));
    }
    if let Some(v) = &debian {
        seen.push(format!("kernel.unprivileged_userns_clone={v}"));
    }
    if let Some(v) = &apparmor {
        seen.push(format!("kernel.apparmor_restrict_unprivileged_userns={v}"));
    }
    // The real test: can this process create a child in a new user namespace?
    let created = in_child(libc::c_long::from(libc::CLONE_NEWUSER), || 0);
    let sysctls = if seen.is_empty() {
        String::new()
    } else {
        format!("; {}", seen.join(", "))
    };

    // The diagnosis of a failure is the library's own, as a sandbox start would report it.
    let (available, detail, fix) = match created {
        Ok(0) => (
            true,
            format!("created a child in a new user namespace{sysctls}"),
            "",
        ),
        Ok(code) => (
            false,
            format!("probe child exited with {code}{sysctls}"),
            "",
        ),
        Err(e) => match crate::namespaces::namespace_error(e) {
            Error::Unsupported { detail, fix, .. } => (
                false,
                format!("clone(CLONE_NEWUSER): {}: {detail}", errno_name(e)),
                fix,
            ),
            other => (false, format!("clone(CLONE_NEWUSER): {other}{sysctls}"), ""),
        },
    };
    // Required by every policy with namespaces, which is the default.
    Feature {
        name: "user namespaces",
        required: true,
        available,
        detail,
        fix,
    }
}
