//! `sbx_result` (how a run ended) and `sbx_violation` (the offending syscall, a view into it;
//! also the `sbx_syscall` view that notify callbacks receive).
//!
//! Here: `sbx_run_status`, `sbx_usage`, the handle behind an `sbx_result` and the accessors of how
//! the run ended. The rest, in sbx.h's order: `setup.rs` (setup steps, fences), `report.rs` (audit,
//! cgroup, Landlock, network; free), `violation.rs` (`sbx_violation`, `sbx_syscall`) and
//! `stack.rs` (a violation's stack trace).

use crate::ffi::handle::{arc_into_ptr, castable, cstr_ptr, ref_from_ptr, view_of, write_out};
use crate::ffi::panic::{boundary, PanicDefault};
use crate::{RunResult, Status};
use std::ffi::{c_char, CString};
use std::sync::Arc;

// cbindgen writes a module's functions before its submodules', and those in the order declared
// here: sbx.h's order. One per paragraph, so that rustfmt does not sort them.
mod setup;

mod report;

mod violation;

mod stack;

pub use report::{sbx_audited_call, sbx_cgroup_usage, sbx_denied_connect, sbx_landlock};
pub use stack::sbx_stack_frame;
pub(crate) use violation::ViolationHandle;
pub use violation::{sbx_syscall, sbx_violation};

/// How a run ended. Numbering is sandbox2's and never changes.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sbx_run_status {
    /// Not finished (never returned for a finished run).
    Unset = 0,
    /// The sandboxee exited on its own; `sbx_result_exit_code` gives the code.
    Ok = 1,
    /// The sandbox could not be set up; `sbx_result_reason_code` and `sbx_result_message` say
    /// which step failed and why.
    SetupError = 2,
    /// The sandboxee broke the policy; `sbx_result_violation` gives the syscall.
    Violation = 3,
    /// The sandboxee was killed by a signal; `sbx_result_signal` gives it.
    Signaled = 4,
    /// The wall-time limit expired.
    Timeout = 5,
    /// The host killed the sandbox (`sbx_sandbox_kill`).
    ExternalKill = 6,
    /// libsbx failed while supervising.
    InternalError = 7,
}

impl From<Status> for sbx_run_status {
    fn from(s: Status) -> Self {
        match s {
            Status::Unset => sbx_run_status::Unset,
            Status::Ok => sbx_run_status::Ok,
            Status::SetupError => sbx_run_status::SetupError,
            Status::Violation => sbx_run_status::Violation,
            Status::Signaled => sbx_run_status::Signaled,
            Status::Timeout => sbx_run_status::Timeout,
            Status::ExternalKill => sbx_run_status::ExternalKill,
            Status::InternalError => sbx_run_status::InternalError,
        }
    }
}

impl PanicDefault for sbx_run_status {
    fn panic_default() -> Self {
        sbx_run_status::Unset
    }
}

/// Resource usage of the sandboxee, from `wait4`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct sbx_usage {
    /// User CPU time in nanoseconds.
    pub user_time_ns: u64,
    /// System CPU time in nanoseconds.
    pub system_time_ns: u64,
    /// Peak resident set size in KiB.
    pub max_rss_kib: u64,
    /// Most processes and threads alive in the sandbox at once, as seen by the ptrace monitor
    /// (0 under the user-notify monitor).
    pub peak_tasks: u32,
}

fn cstring(s: &str) -> CString {
    let mut bytes = s.as_bytes().to_vec();
    bytes.retain(|&b| b != 0);
    CString::new(bytes).unwrap_or_default()
}

fn nanos(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The Rust value behind an `sbx_result`: the result plus its strings as C strings.
pub(crate) struct ResultHandle {
    r: RunResult,
    description: CString,
    status_name: CString,
    reason_name: Option<CString>,
    message: Option<CString>,
    violation: Option<ViolationHandle>,
    setup_steps: Vec<(CString, u64)>,
    failed_step: Option<CString>,
    setup_hint: Option<CString>,
    fences: Vec<CString>,
    degraded: Vec<CString>,
    /// An audit run's calls with their name and ABI label as C strings.
    audited: Vec<(crate::AuditedCall, CString, CString)>,
    /// Refused connects: pid, family, address, why.
    denied: Vec<(i32, [CString; 3])>,
    /// A violation's stack trace, when the policy asked for one.
    stack: Option<stack::StackHandle>,
}

impl ResultHandle {
    /// Wraps a result as a new `const sbx_result *` holding one reference.
    pub(crate) fn into_ptr(r: RunResult) -> *const sbx_result {
        let violation = r.violation.clone().map(ViolationHandle::new);
        let handle = ResultHandle {
            description: cstring(&r.describe()),
            status_name: cstring(r.status.name()),
            reason_name: r.reason().map(|x| cstring(x.name())),
            message: r.message.as_deref().map(cstring),
            violation,
            setup_steps: r
                .setup_latency
                .iter()
                .map(|s| (cstring(s.step), nanos(s.took)))
                .collect(),
            failed_step: r.failed_step.map(cstring),
            setup_hint: r.setup_hint.as_deref().map(cstring),
            fences: r.fences.iter().map(|f| cstring(f)).collect(),
            degraded: r.degraded.iter().map(|f| cstring(f)).collect(),
            audited: r
                .audit
                .iter()
                .flatten()
                .map(|c| {
                    (
                        c.clone(),
                        cstring(&c.first.name),
                        cstring(&c.first.arch.label()),
                    )
                })
                .collect(),
            denied: r
                .denied_connects
                .iter()
                .map(|d| {
                    (
                        d.pid,
                        [cstring(&d.family), cstring(&d.address), cstring(&d.why)],
                    )
                })
                .collect(),
            stack: r.stack_trace.clone().map(stack::StackHandle::new),
            r,
        };
        arc_into_ptr::<sbx_result>(Arc::new(handle))
    }
}

/// How one run ended: status, reason, exit code or signal, the violating syscall, resource
/// usage, wall time and a one-line description. Immutable: a `const sbx_result *` may be read
/// from several threads at once. Strings and the `sbx_violation` it returns belong to it and
/// live until `sbx_result_free`.
pub struct sbx_result {
    _private: [u8; 0],
}

castable!(sbx_result => ResultHandle, OwnershipArc, super::handle::kind::RESULT);

impl sbx_result {
    /// Returns how the run ended (`SBX_RUN_STATUS_UNSET` for NULL).
    #[no_mangle]
    pub extern "C" fn sbx_result_status(result: *const sbx_result) -> sbx_run_status {
        boundary(|| ref_from_ptr(result).map_or(sbx_run_status::Unset, |h| h.r.status.into()))
    }

    /// Returns the status's name (`"OK"`, `"VIOLATION"`, `"TIMEOUT"`, ...), owned by `result`;
    /// NULL for NULL.
    #[no_mangle]
    pub extern "C" fn sbx_result_status_name(result: *const sbx_result) -> *const c_char {
        boundary(|| ref_from_ptr(result).map_or(std::ptr::null(), |h| cstr_ptr(&h.status_name)))
    }

    /// Returns sandbox2's reason code: the exit code for `SBX_RUN_STATUS_OK`, the signal for
    /// `SBX_RUN_STATUS_SIGNALED`, a reason (see `sbx_result_reason_name`) for SETUP_ERROR,
    /// INTERNAL_ERROR and VIOLATION, 0 otherwise and for NULL.
    #[no_mangle]
    pub extern "C" fn sbx_result_reason_code(result: *const sbx_result) -> u32 {
        boundary(|| ref_from_ptr(result).map_or(0, |h| h.r.reason_code))
    }

    /// Returns the reason's name for SETUP_ERROR, INTERNAL_ERROR and VIOLATION (e.g.
    /// `"FAILED_PTRACE"`, `"VIOLATION_SYSCALL"`, `"VIOLATION_ARCH"`), and `"MEMORY_LIMIT"` for a
    /// SIGNALED run the cgroup memory limit ended, owned by `result`; NULL for other runs and
    /// for NULL.
    #[no_mangle]
    pub extern "C" fn sbx_result_reason_name(result: *const sbx_result) -> *const c_char {
        boundary(|| {
            ref_from_ptr(result).map_or(std::ptr::null(), |h| {
                h.reason_name.as_deref().map_or(std::ptr::null(), cstr_ptr)
            })
        })
    }

    /// If the sandboxee exited on its own, stores its exit code in `*code_out` (when not NULL)
    /// and returns true; otherwise returns false and leaves `*code_out` alone.
    #[no_mangle]
    pub extern "C" fn sbx_result_exit_code(result: *const sbx_result, code_out: *mut i32) -> bool {
        boundary(|| match ref_from_ptr(result).and_then(|h| h.r.exit_code) {
            Some(code) => {
                write_out(code_out, code);
                true
            }
            None => false,
        })
    }

    /// Stores the host uid (and gid) the sandboxee ran as in `*uid_out` (when not NULL) and
    /// returns true: the caller's effective uid, or for a host-root caller an unprivileged id
    /// that no other live sandbox held (see the README, "root callers"). Returns false, leaving
    /// `*uid_out` alone, when the run ended before a sandbox was planned.
    #[no_mangle]
    pub extern "C" fn sbx_result_host_uid(result: *const sbx_result, uid_out: *mut u32) -> bool {
        boundary(|| match ref_from_ptr(result).and_then(|h| h.r.host_uid) {
            Some(uid) => {
                write_out(uid_out, uid);
                true
            }
            None => false,
        })
    }

    /// If the run is a `SETUP_ERROR` caused by a failed system call in the sandboxee's setup,
    /// stores that errno in `*errno_out` (when not NULL) and returns true (a missing program is
    /// `ENOENT`); otherwise returns false and leaves `*errno_out` alone.
    #[no_mangle]
    pub extern "C" fn sbx_result_setup_errno(
        result: *const sbx_result,
        errno_out: *mut i32,
    ) -> bool {
        boundary(
            || match ref_from_ptr(result).and_then(|h| h.r.setup_errno) {
                Some(e) => {
                    write_out(errno_out, e);
                    true
                }
                None => false,
            },
        )
    }

    /// If a signal ended the sandboxee (also `SIGKILL` after a timeout or kill), stores it in
    /// `*signal_out` (when not NULL) and returns true; otherwise returns false.
    #[no_mangle]
    pub extern "C" fn sbx_result_signal(result: *const sbx_result, signal_out: *mut i32) -> bool {
        boundary(|| match ref_from_ptr(result).and_then(|h| h.r.signal) {
            Some(sig) => {
                write_out(signal_out, sig);
                true
            }
            None => false,
        })
    }

    /// Returns the offending syscall of a VIOLATION, owned by `result` (do not free it); NULL
    /// for other statuses and for NULL.
    #[no_mangle]
    pub extern "C" fn sbx_result_violation(result: *const sbx_result) -> *const sbx_violation {
        boundary(|| {
            // A view handle standing on the result's own slot: it lives as long as the result.
            ref_from_ptr(result).map_or(std::ptr::null(), |h| {
                h.violation.as_ref().map_or(std::ptr::null(), |_| {
                    view_of::<sbx_result, sbx_violation>(result)
                })
            })
        })
    }

    /// Returns what failed, in words, for SETUP_ERROR and INTERNAL_ERROR, owned by `result`;
    /// NULL otherwise and for NULL.
    #[no_mangle]
    pub extern "C" fn sbx_result_message(result: *const sbx_result) -> *const c_char {
        boundary(|| {
            ref_from_ptr(result).map_or(std::ptr::null(), |h| {
                h.message.as_deref().map_or(std::ptr::null(), cstr_ptr)
            })
        })
    }

    /// Returns the host pid of the sandboxee (0 when it never started, and for NULL).
    #[no_mangle]
    pub extern "C" fn sbx_result_pid(result: *const sbx_result) -> i32 {
        boundary(|| ref_from_ptr(result).map_or(0, |h| h.r.pid))
    }

    /// Returns the wall time from the start of setup to the end of the last process, in
    /// nanoseconds (0 for NULL).
    #[no_mangle]
    pub extern "C" fn sbx_result_wall_time_ns(result: *const sbx_result) -> u64 {
        boundary(|| ref_from_ptr(result).map_or(0, |h| nanos(h.r.wall_time)))
    }

    /// Stores the sandboxee's resource usage in `*usage_out` and returns true; returns false
    /// without writing when `result` or `usage_out` is NULL.
    #[no_mangle]
    pub extern "C" fn sbx_result_usage(
        result: *const sbx_result,
        usage_out: *mut sbx_usage,
    ) -> bool {
        boundary(|| match ref_from_ptr(result) {
            Some(h) if !usage_out.is_null() => {
                let u = &h.r.usage;
                write_out(
                    usage_out,
                    sbx_usage {
                        user_time_ns: nanos(u.user_time),
                        system_time_ns: nanos(u.system_time),
                        max_rss_kib: u.max_rss_kib,
                        peak_tasks: u.peak_tasks,
                    },
                );
                true
            }
            _ => false,
        })
    }

    /// Returns one line describing the end, e.g. `"OK - exit code 0"` or
    /// `"SYSCALL VIOLATION - [X86-64] ptrace(0x10, ...) pid 1234"`, owned by `result`; NULL for
    /// NULL.
    #[no_mangle]
    pub extern "C" fn sbx_result_description(result: *const sbx_result) -> *const c_char {
        boundary(|| ref_from_ptr(result).map_or(std::ptr::null(), |h| cstr_ptr(&h.description)))
    }
}

#[cfg(test)]
mod status_tests {
    use super::sbx_run_status;
    use crate::Status;

    /// Every C run status, in numbering order.
    const ALL: [sbx_run_status; 8] = [
        sbx_run_status::Unset,
        sbx_run_status::Ok,
        sbx_run_status::SetupError,
        sbx_run_status::Violation,
        sbx_run_status::Signaled,
        sbx_run_status::Timeout,
        sbx_run_status::ExternalKill,
        sbx_run_status::InternalError,
    ];

    /// The Rust status a C status stands for. Exhaustive on the C side, as
    /// `From<Status> for sbx_run_status` is on the Rust side: a variant added to either enum
    /// does not compile until it has a partner (and a place in `ALL`).
    fn rust_of(c: sbx_run_status) -> Status {
        match c {
            sbx_run_status::Unset => Status::Unset,
            sbx_run_status::Ok => Status::Ok,
            sbx_run_status::SetupError => Status::SetupError,
            sbx_run_status::Violation => Status::Violation,
            sbx_run_status::Signaled => Status::Signaled,
            sbx_run_status::Timeout => Status::Timeout,
            sbx_run_status::ExternalKill => Status::ExternalKill,
            sbx_run_status::InternalError => Status::InternalError,
        }
    }

    #[test]
    fn run_status_matches_status_in_value_and_name() {
        for (i, &c) in ALL.iter().enumerate() {
            assert_eq!(c as usize, i, "{c:?}: numbered without gaps");
            let r = rust_of(c);
            assert_eq!(c as u32, r as u32, "{c:?} vs {r:?}: value");
            assert_eq!(sbx_run_status::from(r), c, "{r:?} converts back");
            // SBX_RUN_STATUS_<NAME> in the header, <NAME> in Status::name (JSON, logs).
            assert_eq!(
                super::super::screaming_snake(&format!("{c:?}")),
                r.name(),
                "{c:?} vs {r:?}: name"
            );
        }
    }
}
