//! Optional extras and notes: Landlock, speculation control, and the foreign ABIs (i386, x32)
//! the mandatory rules block.

#![allow(unsafe_code)]

use super::helpers::{errno_text, in_child};
use super::Feature;

pub(super) fn probe_landlock() -> Feature {
    let (available, detail) = match crate::landlock::abi() {
        Ok(abi) => {
            // The rights a namespaced sandboxee's domain handles on this kernel.
            let handled = crate::landlock::Enforced {
                abi,
                fs: crate::landlock::handled_with_view(abi),
                net: 0,
                scoped: crate::landlock::scopes_for(abi),
            };
            let scopes = if abi >= 6 {
                "cannot ptrace, signal or reach abstract sockets of the host"
            } else {
                "cannot ptrace the host; signal scoping needs ABI 6 (Linux 6.12)"
            };
            (
                true,
                format!(
                    "Landlock ABI {abi}: sandboxees {scopes}; with namespaces the view's write \
                     and execute intent is enforced again ({}){}",
                    handled.fs_rights().join(", "),
                    if abi >= 4 {
                        "; a network allow-list's TCP ports fence connect_tcp"
                    } else {
                        ""
                    }
                ),
            )
        }
        Err(e) => {
            let why = match e {
                libc::EOPNOTSUPP => "built in but disabled at boot".to_string(),
                _ => errno_text(e),
            };
            (false, format!("landlock_create_ruleset: {why}"))
        }
    };
    Feature {
        name: "landlock",
        required: false,
        available,
        detail,
        fix: "Linux 5.13+ (6.12+ for signal scoping) with CONFIG_SECURITY_LANDLOCK=y and \"landlock\" \
              in the lsm= boot parameter; without it only namespaced sandboxes can run (a sandbox \
              without namespaces is refused: nothing else would keep it from same-uid host processes)",
    }
}

/// Whether a process may force-disable speculative store bypass and indirect branch speculation
/// for itself (what every sandboxee does unless the policy allows speculation).
pub fn speculation_controllable() -> bool {
    use crate::sys::prctl::{
        PR_GET_SPECULATION_CTRL, PR_SPEC_INDIRECT_BRANCH, PR_SPEC_PRCTL, PR_SPEC_STORE_BYPASS,
    };
    [PR_SPEC_STORE_BYPASS, PR_SPEC_INDIRECT_BRANCH]
        .iter()
        .all(|&which| {
            // SAFETY: PR_GET_SPECULATION_CTRL reads nothing from memory and changes nothing.
            let r = unsafe { libc::prctl(PR_GET_SPECULATION_CTRL, which, 0, 0, 0) };
            r >= 0 && r & PR_SPEC_PRCTL != 0
        })
}

pub(super) fn probe_speculation() -> Feature {
    let available = speculation_controllable();
    Feature {
        name: "speculation control",
        required: false,
        available,
        detail: if available {
            "sandboxees run with speculative store bypass and indirect branch speculation \
             force-disabled (fence speculation_control)"
                .into()
        } else {
            "this kernel decides speculation for every process (its mitigation mode is not prctl \
             or seccomp): sandboxees run as the host does"
                .into()
        },
        fix: "boot with spec_store_bypass_disable=prctl spectre_v2_user=prctl for a per-process \
              choice (or =on to mitigate everything)",
    }
}

pub(super) fn probe_i386() -> Feature {
    // /proc/sys/abi/vsyscall32 exists exactly when the kernel runs 32-bit x86 programs.
    let available =
        cfg!(target_arch = "x86_64") && std::path::Path::new("/proc/sys/abi/vsyscall32").exists();
    Feature {
        name: "i386 syscall ABI",
        required: false,
        available,
        detail: if available {
            "the kernel accepts int 0x80 / 32-bit programs; every such call is a [X86-32] violation"
                .into()
        } else {
            "the kernel does not run i386 code; nothing to block".into()
        },
        fix: "",
    }
}

pub(super) fn probe_x32() -> Feature {
    if !cfg!(target_arch = "x86_64") {
        return Feature {
            name: "x32 syscall ABI",
            required: false,
            available: false,
            detail: "not x86-64".into(),
            fix: "",
        };
    }
    // x32 getpid (39 | bit 30) in a child: exit 0 when the kernel served it, 1 when not.
    let r = in_child(0, || {
        // SAFETY: getpid through the x32 numbering; harmless when served, ENOSYS when not.
        let r = unsafe { libc::syscall(0x4000_0000 | libc::SYS_getpid) };
        i32::from(r <= 0)
    });
    let available = r == Ok(0);
    Feature {
        name: "x32 syscall ABI",
        required: false,
        available,
        detail: match r {
            Ok(0) => {
                "the kernel serves x32 syscall numbers; every such call is a [X32] violation".into()
            }
            Ok(1) => "the kernel rejects x32 syscall numbers; nothing to block".into(),
            Ok(c) => format!("probe child ended with {c}"),
            Err(e) => format!("probe child not created: {}", errno_text(e)),
        },
        fix: "",
    }
}
