//! The seccomp probes: filter mode, the actions libsbx compiles to, the user-notify listener
//! (in a probe child) and `no_new_privs`.

#![allow(unsafe_code)]

use super::helpers::{errno, errno_text, in_child, proc_status_field};
use super::Feature;

pub(super) fn probe_seccomp_filter() -> Feature {
    // PR_GET_SECCOMP: 0 = not under seccomp, 2 = under a filter (EINVAL: no CONFIG_SECCOMP).
    // SAFETY: PR_GET_SECCOMP takes no pointers.
    let mode = unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) };
    let err = errno();
    // SECCOMP_GET_ACTION_AVAIL for RET_ALLOW proves seccomp(2) and filter mode exist.
    let avail = crate::sys::seccomp::action_available(libc::SECCOMP_RET_ALLOW);
    let fix = "use a kernel with CONFIG_SECCOMP=y and CONFIG_SECCOMP_FILTER=y; in a container, \
               allow the seccomp and prctl syscalls in its seccomp profile";
    if mode < 0 {
        return Feature {
            name: "seccomp filter mode",
            required: true,
            available: false,
            detail: format!("prctl(PR_GET_SECCOMP) failed: {}", errno_text(err)),
            fix,
        };
    }
    let nested = match (mode, proc_status_field("Seccomp_filters")) {
        (2, Some(n)) => format!("; this process already runs under {n} seccomp filter(s), which also apply to sandboxes"),
        (2, None) => "; this process already runs under a seccomp filter, which also applies to sandboxes".into(),
        _ => String::new(),
    };
    // EINVAL is a pre-4.14 kernel without the query; anything else means seccomp(2) is gone.
    if let Some(serr) = avail.err().filter(|&e| e != libc::EINVAL) {
        return Feature {
            name: "seccomp filter mode",
            required: true,
            available: false,
            detail: format!("seccomp(2) failed: {}{nested}", errno_text(serr)),
            fix,
        };
    }
    Feature {
        name: "seccomp filter mode",
        required: true,
        available: true,
        detail: format!("seccomp(2) present, current mode {mode}{nested}"),
        fix,
    }
}

pub(super) fn probe_seccomp_action(
    name: &'static str,
    required: bool,
    action: u32,
    fix: &'static str,
) -> Feature {
    let (available, detail) = match crate::sys::seccomp::action_available(action) {
        Ok(()) => (
            true,
            format!("seccomp(SECCOMP_GET_ACTION_AVAIL, {action:#x}) ok"),
        ),
        Err(e) => (
            false,
            format!(
                "seccomp(SECCOMP_GET_ACTION_AVAIL, {action:#x}): {}",
                errno_text(e)
            ),
        ),
    };
    Feature {
        name,
        required,
        available,
        detail,
        fix,
    }
}

/// Exit-code bits of the user-notify probe child.
const UNOTIFY_LISTENER: i32 = 1;
const UNOTIFY_KILLABLE: i32 = 2;
const UNOTIFY_SYNC_WAKE: i32 = 4;

/// In a child: installs an allow-all filter with a new listener (with killable waits, else
/// without), then sets SYNC_WAKE_UP on the listener; reports what worked as bits.
#[allow(clippy::cast_possible_truncation)] // the fd in seccomp(2)'s c_long return
fn user_notify_child() -> i32 {
    use crate::sys::seccomp as uapi;
    static ALLOW: [crate::policy::SockFilter; 1] = [crate::policy::SockFilter {
        code: 0x06,
        jt: 0,
        jf: 0,
        k: libc::SECCOMP_RET_ALLOW,
    }];
    let prog = crate::sys::seccomp::SockFprog {
        len: 1,
        filter: ALLOW.as_ptr().cast(),
    };
    // SAFETY: raw syscalls in our own child with pointers to live locals and a static (`prog`
    // points to ALLOW's one instruction).
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return 0;
        }
        // As the clone child installs a sandboxee's filter (spawn/child/setup.rs).
        let Ok((fd, killable)) = uapi::install_with_listener(&prog) else {
            return 0;
        };
        let mut bits = UNOTIFY_LISTENER;
        if killable {
            bits |= UNOTIFY_KILLABLE;
        }
        let wake: u64 = uapi::USER_NOTIF_FD_SYNC_WAKE_UP;
        if libc::ioctl(fd as i32, uapi::IOCTL_NOTIF_SET_FLAGS as _, wake) == 0 {
            bits |= UNOTIFY_SYNC_WAKE;
        }
        bits
    }
}

/// The user-notify monitor: a listener (Linux 5.0), killable waits (5.19), synchronous
/// wake-ups (6.6), and the monitor `Monitor::Auto` picks.
pub(super) fn probe_user_notify() -> Feature {
    let fix = "upgrade to Linux 5.9 or newer (5.19+ for Go sandboxees); the ptrace monitor needs none of it";
    let bits = match in_child(0, user_notify_child) {
        Ok(b) => b,
        Err(e) => {
            return Feature {
                name: "user-notify monitor",
                required: false,
                available: false,
                detail: format!("probe child failed: {}", errno_text(e)),
                fix,
            }
        }
    };
    let yes = |b: i32| if bits & b != 0 { "yes" } else { "no" };
    let available = bits & UNOTIFY_LISTENER != 0 && crate::monitor::unotify_supported();
    Feature {
        name: "user-notify monitor",
        required: false,
        available,
        detail: if available {
            format!(
                "seccomp listener ok; WAIT_KILLABLE_RECV (5.19): {}; SYNC_WAKE_UP (6.6): {}; \
                 monitor auto picks unotify for namespaced sandboxes",
                yes(UNOTIFY_KILLABLE),
                yes(UNOTIFY_SYNC_WAKE)
            )
        } else {
            "no seccomp listener (SECCOMP_FILTER_FLAG_NEW_LISTENER); monitor auto picks ptrace"
                .into()
        },
        fix,
    }
}

pub(super) fn probe_no_new_privs() -> Feature {
    // SAFETY: PR_GET_NO_NEW_PRIVS takes no pointers and changes nothing.
    let r = unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) };
    let (available, detail) = if r >= 0 {
        (true, format!("PR_GET_NO_NEW_PRIVS ok (this process: {r})"))
    } else {
        (
            false,
            format!("prctl(PR_GET_NO_NEW_PRIVS): {}", errno_text(errno())),
        )
    };
    Feature {
        name: "no_new_privs",
        required: true,
        available,
        detail,
        fix: "upgrade to Linux 3.5 or newer",
    }
}
