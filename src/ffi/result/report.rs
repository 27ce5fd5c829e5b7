//! The rest of a result: success, an audit run's calls (`sbx_audited_call`), the cgroup's usage
//! (`sbx_cgroup_usage`), the Landlock domain (`sbx_landlock`) and its rights' names, the limit
//! reached, refused connects (`sbx_denied_connect`); and `sbx_result_free`, last as in sbx.h.

use super::sbx_result;
use crate::ffi::handle::{cstr_ptr, free_arc, ref_from_ptr, static_cstr, write_out, write_slice};
use crate::ffi::panic::boundary;
use std::ffi::c_char;

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
    /// Whether `cpu_usec` is known (a cgroup v2 group, or a v1 CPU limit co-mounted with
    /// cpuacct).
    pub has_cpu_usec: bool,
    /// CPU time the sandbox's processes used together (user and system), in microseconds.
    pub cpu_usec: u64,
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

impl sbx_result {
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
                    has_cpu_usec: u.cpu_usec.is_some(),
                    cpu_usec: u.cpu_usec.unwrap_or(0),
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
        boundary(|| {
            crate::landlock::fs_right_name(bit).map_or(std::ptr::null(), std::ffi::CStr::as_ptr)
        })
    }

    /// Returns the name of one `LANDLOCK_ACCESS_NET_*` bit (`"bind_tcp"`, `"connect_tcp"`) as a
    /// static string; NULL for a value that is not exactly one known bit.
    #[no_mangle]
    pub extern "C" fn sbx_landlock_net_right_name(bit: u64) -> *const c_char {
        boundary(|| {
            crate::landlock::net_right_name(bit).map_or(std::ptr::null(), std::ffi::CStr::as_ptr)
        })
    }

    /// Returns the name of one `LANDLOCK_SCOPE_*` bit (`"abstract_unix_socket"`, `"signal"`)
    /// as a static string; NULL for a value that is not exactly one known bit.
    #[no_mangle]
    pub extern "C" fn sbx_landlock_scope_name(bit: u64) -> *const c_char {
        boundary(|| {
            crate::landlock::scope_name(bit).map_or(std::ptr::null(), std::ffi::CStr::as_ptr)
        })
    }

    /// Returns the cgroup limit the run ran into, `"memory"` (the OOM killer ended a process)
    /// or `"pids"` (a fork was refused), as a static string; NULL for none and for NULL.
    #[no_mangle]
    pub extern "C" fn sbx_result_limit_reached(result: *const sbx_result) -> *const c_char {
        boundary(
            || match ref_from_ptr(result).and_then(|h| h.r.limit_reached()) {
                Some("memory") => static_cstr("memory\0"),
                Some(_) => static_cstr("pids\0"),
                None => std::ptr::null(),
            },
        )
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
