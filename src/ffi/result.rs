//! `sbx_result` (how a run ended) and `sbx_violation` (the offending syscall, a view into it;
//! also the `sbx_syscall` view that notify callbacks receive).

use super::handle::{
    arc_into_ptr, castable, cstr_ptr, free_arc, ref_from_ptr, static_cstr, view_of, write_array6,
    write_out, write_slice,
};
use super::panic::{boundary, PanicDefault};
use crate::{RunResult, Status, Violation};
use std::ffi::{c_char, CString};
use std::sync::Arc;

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

/// One call an audit run let through although its policy refuses it
/// (`sbx_result_audited_call`). The strings belong to the result.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sbx_audited_call {
    /// The kernel's name of the syscall (`"UNKNOWN"` when not in the table).
    pub name: *const c_char,
    /// The ABI label, as `sbx_violation_arch` gives it.
    pub arch: *const c_char,
    /// The syscall number in that ABI's numbering.
    pub nr: u64,
    /// The first call's six argument registers.
    pub args: [u64; 6],
    /// Host pid of the thread that made the first call.
    pub pid: i32,
    /// Instruction pointer at the first call.
    pub ip: u64,
    /// How many times the run made this syscall, the first call included.
    pub count: u64,
}

/// A connect the network allow-list refused (`sbx_result_denied_connect`). The strings belong
/// to the result.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sbx_denied_connect {
    /// Host pid of the thread that called `connect`.
    pub pid: i32,
    /// `"inet"`, `"inet6"`, `"unix"`, `"abstract"`, ...
    pub family: *const c_char,
    /// The address as an allow-list spec writes it: `"10.0.0.5:443"`, `"[::1]:80"`, `"unix:/x"`.
    pub address: *const c_char,
    /// Why it was refused, e.g. `"not in the allow-list"`.
    pub why: *const c_char,
}

/// What a sandbox's cgroup recorded (`sbx_result_cgroup_usage`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct sbx_cgroup_usage {
    /// Whether `memory_peak` is known (a memory limit was set and the kernel reports it).
    pub has_memory_peak: bool,
    /// The most memory the sandbox's processes used together, in bytes.
    pub memory_peak: u64,
    /// Processes the kernel's OOM killer ended for the memory limit.
    pub oom_kills: u64,
    /// Forks the process limit refused.
    pub pids_refused: u64,
}

/// What the sandboxee's Landlock domain enforced (`sbx_result_landlock`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct sbx_landlock {
    /// The kernel's Landlock ABI version.
    pub abi: u32,
    /// `LANDLOCK_ACCESS_FS_*` bits the domain handles: denied unless the sandbox's view grants
    /// them (`sbx_landlock_right_name` names each bit).
    pub fs_rights: u64,
    /// `LANDLOCK_ACCESS_NET_*` bits the domain handles (`sbx_landlock_net_right_name`): TCP
    /// `connect` under a network allow-list whose TCP entries all name a port.
    pub net_rights: u64,
    /// `LANDLOCK_SCOPE_*` bits in force (`sbx_landlock_scope_name`).
    pub scopes: u64,
}

fn cstring(s: &str) -> CString {
    let mut bytes = s.as_bytes().to_vec();
    bytes.retain(|&b| b != 0);
    CString::new(bytes).unwrap_or_default()
}

fn nanos(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The Rust value behind an `sbx_violation`: the violation plus its strings as C strings.
pub(crate) struct ViolationHandle {
    v: Violation,
    name: CString,
    arch: CString,
}

impl ViolationHandle {
    /// Wraps a syscall for the `sbx_violation_*` accessors.
    pub(crate) fn new(v: Violation) -> ViolationHandle {
        ViolationHandle {
            name: cstring(&v.name),
            arch: cstring(&v.arch.label()),
            v,
        }
    }
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

/// The syscall that broke the policy, as the kernel presented it to seccomp. A view into an
/// `sbx_result`: never freed on its own, valid until that result is freed.
pub struct sbx_violation {
    _private: [u8; 0],
}

/// A violation handle stands on its result's slot (the result's violation) or, for a callback,
/// on a slot of its own that lives for the callback.
impl super::handle::Castable for sbx_violation {
    type Ownership = super::handle::OwnershipRef;
    type RustType = ViolationHandle;
    const KIND: u8 = super::handle::kind::VIOLATION;
    const NAME: &'static str = "sbx_violation";
    const SLOT_KINDS: &'static [u8] = &[
        super::handle::kind::RESULT,
        super::handle::kind::SYSCALL_VIEW,
    ];
    fn resolve(slot_kind: u8, value: *mut ()) -> Option<*const ViolationHandle> {
        match slot_kind {
            super::handle::kind::SYSCALL_VIEW => Some(value.cast_const().cast()),
            super::handle::kind::RESULT => {
                // SAFETY: a result slot's value is the ResultHandle of an `Arc`, alive while the
                // caller's guard holds the slot.
                let r = unsafe { &*value.cast_const().cast::<ResultHandle>() };
                r.violation
                    .as_ref()
                    .map(std::ptr::from_ref::<ViolationHandle>)
            }
            _ => None,
        }
    }
}

/// A syscall as the kernel presented it to seccomp, passed to the `trace` and `violation`
/// callbacks of `sbx_notify_callbacks`. The same type as `sbx_violation`: read it with the
/// `sbx_violation_*` accessors. A view valid only during the callback; never freed.
pub type sbx_syscall = sbx_violation;

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
    /// `"FAILED_PTRACE"`, `"VIOLATION_SYSCALL"`, `"VIOLATION_ARCH"`), owned by `result`; NULL for
    /// other statuses and for NULL.
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

    /// Returns how many steps the setup latency breakdown has (0 for NULL, and when the run
    /// never got far enough to record one).
    #[no_mangle]
    pub extern "C" fn sbx_result_setup_step_count(result: *const sbx_result) -> usize {
        boundary(|| ref_from_ptr(result).map_or(0, |h| h.setup_steps.len()))
    }

    /// Reads step `index` (0-based, in the order the steps happened) of the setup latency
    /// breakdown: `*name_out` receives the step's name (owned by `result`) and `*took_ns_out`
    /// the time since the previous step (the first: since the start) in nanoseconds; either
    /// output may be NULL. Returns false, writing nothing, when `result` is NULL or `index` is
    /// out of range.
    #[no_mangle]
    pub extern "C" fn sbx_result_setup_step(
        result: *const sbx_result,
        index: usize,
        name_out: *mut *const c_char,
        took_ns_out: *mut u64,
    ) -> bool {
        boundary(|| match ref_from_ptr(result) {
            Some(h) => match h.setup_steps.get(index) {
                Some((name, took)) => {
                    write_out(name_out, cstr_ptr(name));
                    write_out(took_ns_out, *took);
                    true
                }
                None => false,
            },
            None => false,
        })
    }

    /// For a SETUP_ERROR: returns the setup step that failed, by a stable name (`"clone"`,
    /// `"id_maps"`, `"mount_proc"`, `"mount_bind"`, `"mount_tmpfs"`, `"pivot_root"`,
    /// `"hostname"`, `"landlock"`, `"seccomp"`, `"exec"`, `"cwd"`, ...), owned by `result`; NULL
    /// otherwise and for NULL. `sbx_result_setup_errno` gives the errno.
    #[no_mangle]
    pub extern "C" fn sbx_result_failed_step(result: *const sbx_result) -> *const c_char {
        boundary(|| {
            ref_from_ptr(result).map_or(std::ptr::null(), |h| {
                h.failed_step.as_deref().map_or(std::ptr::null(), cstr_ptr)
            })
        })
    }

    /// For a SETUP_ERROR with a known cause (a container runtime's masked /proc or seccomp
    /// profile, no user namespaces, ...): returns the likely cause and the fix, owned by
    /// `result`; NULL otherwise and for NULL.
    #[no_mangle]
    pub extern "C" fn sbx_result_setup_hint(result: *const sbx_result) -> *const c_char {
        boundary(|| {
            ref_from_ptr(result).map_or(std::ptr::null(), |h| {
                h.setup_hint.as_deref().map_or(std::ptr::null(), cstr_ptr)
            })
        })
    }

    /// Returns how many fences were in force around the sandboxee (0 when it never started, and
    /// for NULL).
    #[no_mangle]
    pub extern "C" fn sbx_result_fence_count(result: *const sbx_result) -> usize {
        boundary(|| ref_from_ptr(result).map_or(0, |h| h.fences.len()))
    }

    /// Returns fence `index` (0-based) that was in force around the sandboxee, owned by
    /// `result`: `"namespaces"`, `"network_namespace"`, `"filesystem_view"`, `"private_proc"`,
    /// `"seccomp"`, `"landlock"`, `"no_new_privs"`, `"rlimits"`, `"ptrace_monitor"` or `"unotify_monitor"`; NULL
    /// when `index` is out of range and for NULL.
    #[no_mangle]
    pub extern "C" fn sbx_result_fence(result: *const sbx_result, index: usize) -> *const c_char {
        boundary(|| {
            ref_from_ptr(result).map_or(std::ptr::null(), |h| {
                h.fences
                    .get(index)
                    .map_or(std::ptr::null(), |c| cstr_ptr(c))
            })
        })
    }

    /// Returns how many cosmetic parts of the sandbox were left out because the kernel refused
    /// them (0 for NULL).
    #[no_mangle]
    pub extern "C" fn sbx_result_degraded_count(result: *const sbx_result) -> usize {
        boundary(|| ref_from_ptr(result).map_or(0, |h| h.degraded.len()))
    }

    /// Returns left-out part `index` (0-based), owned by `result`: `"hostname"` (the inherited
    /// hostname stayed) or `"proc"` (no private /proc, only after
    /// `sbx_policy_builder_allow_no_private_proc`); NULL when `index` is out of range and for
    /// NULL.
    #[no_mangle]
    pub extern "C" fn sbx_result_degraded(
        result: *const sbx_result,
        index: usize,
    ) -> *const c_char {
        boundary(|| {
            ref_from_ptr(result).map_or(std::ptr::null(), |h| {
                h.degraded
                    .get(index)
                    .map_or(std::ptr::null(), |c| cstr_ptr(c))
            })
        })
    }

    /// Returns true when the sandboxee exited with code 0 (false for NULL).
    #[no_mangle]
    pub extern "C" fn sbx_result_success(result: *const sbx_result) -> bool {
        boundary(|| ref_from_ptr(result).is_some_and(|h| h.r.success()))
    }

    /// Returns whether the run was an audit run (`sbx_policy_builder_set_audit`); false for
    /// NULL.
    #[no_mangle]
    pub extern "C" fn sbx_result_is_audit(result: *const sbx_result) -> bool {
        boundary(|| ref_from_ptr(result).is_some_and(|h| h.r.audit.is_some()))
    }

    /// Returns how many distinct syscalls an audit run made that its policy refuses (0 for any
    /// other run and for NULL).
    #[no_mangle]
    pub extern "C" fn sbx_result_audited_count(result: *const sbx_result) -> usize {
        boundary(|| ref_from_ptr(result).map_or(0, |h| h.audited.len()))
    }

    /// Reads audited call `index` (0-based, in the order of first use) into `*call_out`, whose
    /// strings belong to `result`. Returns false, writing nothing, when an argument is NULL or
    /// `index` is out of range.
    #[no_mangle]
    pub extern "C" fn sbx_result_audited_call(
        result: *const sbx_result,
        index: usize,
        call_out: *mut sbx_audited_call,
    ) -> bool {
        boundary(|| {
            let Some(h) = ref_from_ptr(result) else {
                return false;
            };
            let Some((c, name, arch)) = h.audited.get(index) else {
                return false;
            };
            if call_out.is_null() {
                return false;
            }
            write_out(
                call_out,
                sbx_audited_call {
                    name: cstr_ptr(name),
                    arch: cstr_ptr(arch),
                    nr: c.first.nr,
                    args: c.first.args,
                    pid: c.first.pid,
                    ip: c.first.ip,
                    count: c.count,
                },
            );
            true
        })
    }

    /// Reads what the sandbox's cgroup recorded into `*usage_out`. Returns false, writing
    /// nothing, for NULL arguments and for a run without cgroup limits.
    #[no_mangle]
    pub extern "C" fn sbx_result_cgroup_usage(
        result: *const sbx_result,
        usage_out: *mut sbx_cgroup_usage,
    ) -> bool {
        boundary(|| {
            let Some(u) = ref_from_ptr(result).and_then(|h| h.r.cgroup) else {
                return false;
            };
            if usage_out.is_null() {
                return false;
            }
            write_out(
                usage_out,
                sbx_cgroup_usage {
                    has_memory_peak: u.memory_peak.is_some(),
                    memory_peak: u.memory_peak.unwrap_or(0),
                    oom_kills: u.oom_kills,
                    pids_refused: u.pids_refused,
                },
            );
            true
        })
    }

    /// Reads what the sandboxee's Landlock domain enforced into `*landlock_out`. Returns false,
    /// writing nothing, for NULL arguments, for a run whose sandboxee never started and on a
    /// kernel without Landlock.
    #[no_mangle]
    pub extern "C" fn sbx_result_landlock(
        result: *const sbx_result,
        landlock_out: *mut sbx_landlock,
    ) -> bool {
        boundary(|| {
            let Some(l) = ref_from_ptr(result).and_then(|h| h.r.landlock) else {
                return false;
            };
            if landlock_out.is_null() {
                return false;
            }
            write_out(
                landlock_out,
                sbx_landlock {
                    abi: l.abi,
                    fs_rights: l.fs,
                    net_rights: l.net,
                    scopes: l.scoped,
                },
            );
            true
        })
    }

    /// Returns the name of one `LANDLOCK_ACCESS_FS_*` bit (`"execute"`, `"write_file"`,
    /// `"make_reg"`, ...) as a static string; NULL for a value that is not exactly one known bit.
    #[no_mangle]
    pub extern "C" fn sbx_landlock_right_name(bit: u64) -> *const c_char {
        boundary(|| crate::landlock::fs_right_name(bit).map_or(std::ptr::null(), std::ffi::CStr::as_ptr))
    }

    /// Returns the name of one `LANDLOCK_ACCESS_NET_*` bit (`"bind_tcp"`, `"connect_tcp"`) as a
    /// static string; NULL for a value that is not exactly one known bit.
    #[no_mangle]
    pub extern "C" fn sbx_landlock_net_right_name(bit: u64) -> *const c_char {
        boundary(|| crate::landlock::net_right_name(bit).map_or(std::ptr::null(), std::ffi::CStr::as_ptr))
    }

    /// Returns the name of one `LANDLOCK_SCOPE_*` bit (`"abstract_unix_socket"`, `"signal"`)
    /// as a static string; NULL for a value that is not exactly one known bit.
    #[no_mangle]
    pub extern "C" fn sbx_landlock_scope_name(bit: u64) -> *const c_char {
        boundary(|| crate::landlock::scope_name(bit).map_or(std::ptr::null(), std::ffi::CStr::as_ptr))
    }

    /// Returns the cgroup limit the run ran into, `"memory"` (the OOM killer ended a process)
    /// or `"pids"` (a fork was refused), as a static string; NULL for none and for NULL.
    #[no_mangle]
    pub extern "C" fn sbx_result_limit_reached(result: *const sbx_result) -> *const c_char {
        boundary(|| match ref_from_ptr(result).and_then(|h| h.r.limit_reached()) {
            Some("memory") => static_cstr("memory\0"),
            Some(_) => static_cstr("pids\0"),
            None => std::ptr::null(),
        })
    }

    /// Returns how many connects the network allow-list refused (the one that ended a
    /// `VIOLATION_NETWORK` run included; 0 for NULL).
    #[no_mangle]
    pub extern "C" fn sbx_result_denied_connect_count(result: *const sbx_result) -> usize {
        boundary(|| ref_from_ptr(result).map_or(0, |h| h.denied.len()))
    }

    /// Reads refused connect `index` (0-based, in order) into `*out`, whose strings belong to
    /// `result`. Returns false, writing nothing, when an argument is NULL or `index` is out of
    /// range.
    #[no_mangle]
    pub extern "C" fn sbx_result_denied_connect(
        result: *const sbx_result,
        index: usize,
        out: *mut sbx_denied_connect,
    ) -> bool {
        boundary(|| {
            let Some(h) = ref_from_ptr(result) else {
                return false;
            };
            let Some((pid, [family, address, why])) = h.denied.get(index) else {
                return false;
            };
            if out.is_null() {
                return false;
            }
            write_out(
                out,
                sbx_denied_connect {
                    pid: *pid,
                    family: cstr_ptr(family),
                    address: cstr_ptr(address),
                    why: cstr_ptr(why),
                },
            );
            true
        })
    }

    /// For audited call `index`, the values the argument a learned policy conditions on took
    /// (socket's domain, ioctl's request, prctl's option, fcntl's command, clone's flags, mmap's
    /// and mprotect's protection): writes the argument's position to `*arg_index_out`, up to
    /// `capacity` distinct values (in the order first seen) to `values_out`, their number to
    /// `*count_out` (the whole number, which may exceed `capacity`: call again with more room)
    /// and to `*more_out` whether more distinct values came than libsbx keeps (16: a learned
    /// policy then allows any). Returns false, writing nothing, for NULL outputs, an index out of
    /// range or a call without such an argument. `values_out` may be NULL when `capacity` is 0.
    #[no_mangle]
    pub extern "C" fn sbx_result_audited_seen(
        result: *const sbx_result,
        index: usize,
        arg_index_out: *mut u8,
        values_out: *mut u64,
        capacity: usize,
        count_out: *mut usize,
        more_out: *mut bool,
    ) -> bool {
        boundary(|| {
            let Some(h) = ref_from_ptr(result) else {
                return false;
            };
            let Some(seen) = h.audited.get(index).and_then(|(c, _, _)| c.seen.as_ref()) else {
                return false;
            };
            if arg_index_out.is_null()
                || count_out.is_null()
                || more_out.is_null()
                || (values_out.is_null() && capacity > 0)
            {
                return false;
            }
            write_out(arg_index_out, seen.index);
            write_out(count_out, seen.values.len());
            write_out(more_out, seen.more);
            let kept = &seen.values[..seen.values.len().min(capacity)];
            kept.is_empty() || write_slice(values_out, kept, "values_out").is_ok()
        })
    }

    /// Frees a result, and with it its strings and violation view. NULL is a no-op.
    #[no_mangle]
    pub extern "C" fn sbx_result_free(result: *const sbx_result) {
        boundary(|| free_arc(result));
    }
}

impl sbx_violation {
    /// Returns the ABI the call came through as a label, `"X86-64"`, `"X86-32"` (`int 0x80` on
    /// x86-64), `"X32"`, `"AARCH64"`, ...; owned by the view (it lives as long as the result, or
    /// for an `sbx_syscall`, the callback). NULL for NULL.
    #[no_mangle]
    pub extern "C" fn sbx_violation_arch(violation: *const sbx_violation) -> *const c_char {
        boundary(|| ref_from_ptr(violation).map_or(std::ptr::null(), |v| cstr_ptr(&v.arch)))
    }

    /// Returns the kernel's name of the syscall in that ABI (`"UNKNOWN"` when not in the table);
    /// owned by the view, as for `sbx_violation_arch`. NULL for NULL.
    #[no_mangle]
    pub extern "C" fn sbx_violation_syscall_name(violation: *const sbx_violation) -> *const c_char {
        boundary(|| ref_from_ptr(violation).map_or(std::ptr::null(), |v| cstr_ptr(&v.name)))
    }

    /// Returns the syscall number in that ABI's numbering (x32: with bit 30 set); 0 for NULL.
    #[no_mangle]
    pub extern "C" fn sbx_violation_nr(violation: *const sbx_violation) -> u64 {
        boundary(|| ref_from_ptr(violation).map_or(0, |v| v.v.nr))
    }

    /// Copies the six raw argument registers into `args_out`, which must have room for six
    /// `uint64_t`, and returns true; returns false without writing when an argument is NULL.
    #[no_mangle]
    pub extern "C" fn sbx_violation_args(
        violation: *const sbx_violation,
        args_out: *mut u64,
    ) -> bool {
        boundary(|| match ref_from_ptr(violation) {
            Some(v) if !args_out.is_null() => {
                write_array6(args_out, &v.v.args);
                true
            }
            _ => false,
        })
    }

    /// Returns the host pid of the thread that made the call; 0 for NULL.
    #[no_mangle]
    pub extern "C" fn sbx_violation_pid(violation: *const sbx_violation) -> i32 {
        boundary(|| ref_from_ptr(violation).map_or(0, |v| v.v.pid))
    }

    /// Returns the instruction pointer at the call; 0 for NULL.
    #[no_mangle]
    pub extern "C" fn sbx_violation_ip(violation: *const sbx_violation) -> u64 {
        boundary(|| ref_from_ptr(violation).map_or(0, |v| v.v.ip))
    }

    /// Returns the stack pointer at the call; 0 for NULL.
    #[no_mangle]
    pub extern "C" fn sbx_violation_sp(violation: *const sbx_violation) -> u64 {
        boundary(|| ref_from_ptr(violation).map_or(0, |v| v.v.sp))
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
