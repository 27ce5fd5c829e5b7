//! How a run's setup went: its latency steps, the step that failed and the hint for it, the
//! fences in force and what was left out.

use super::sbx_result;
use crate::ffi::handle::{cstr_ptr, ref_from_ptr, write_out};
use crate::ffi::panic::boundary;
use std::ffi::c_char;

impl sbx_result {
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
}
