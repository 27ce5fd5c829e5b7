//! `sbx_policy_builder_load_oci_profile`: a Docker/OCI seccomp profile read into a policy
//! builder (`policy::oci`).

use super::failure::sbx_error;
use super::handle::{malloc_copy, try_mut, try_str, try_str_array, write_out};
use super::panic::boundary_status;
use super::policy_builder::sbx_policy_builder;
use super::status::sbx_status;
use crate::policy::OciOptions;
use std::ffi::c_char;

impl sbx_policy_builder {
    /// Adds the rules of a Docker/OCI seccomp profile (JSON, the shape of moby's
    /// `default.json`: `defaultAction`, `defaultErrnoRet`, `architectures` or `archMap`,
    /// `syscalls` with `names`, `action`, `errnoRet`, `args` and `includes`/`excludes`) after the
    /// builder's own, and sets the default action from it. Actions: ALLOW and LOG allow, ERRNO
    /// fails with the errno (EPERM when absent), KILL, KILL_THREAD, KILL_PROCESS and TRAP are
    /// violations, TRACE and NOTIFY go to the Notify callbacks' `trace`. Arguments are compared
    /// on 64 bits as libseccomp does. `includes`/`excludes` are evaluated for the native
    /// architecture, the running kernel and the `capability_count` capabilities named in
    /// `capabilities` (`"CAP_SYS_ADMIN"`; NULL is fine when the count is 0: none, an
    /// unprivileged container, which is what a sandboxee is). Syscall names the native table
    /// lacks are skipped. libsbx's mandatory rules stay first: a profile rule allowing one of
    /// their calls is left out (the README lists what is overridden).
    ///
    /// `origin` names the profile in errors (NULL: `"profile"`). When `report_out` is not NULL,
    /// on success `*report_out` receives a new NUL-terminated text, free it with
    /// `sbx_string_free`: a first line of counts, then one line per entry left out by its
    /// filters (`excluded: ...`), the skipped names (`unknown: ...`) and one line per place
    /// where libsbx decides differently from the profile (`override: ...`). A bad profile
    /// changes nothing and is `SBX_STATUS_INVALID_POLICY` with a message naming `origin`, the
    /// JSON path (`syscalls[12].args[0].op`) and the problem.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `json`, `capabilities` or an element),
    /// `SBX_STATUS_INVALID_ARGUMENT` (a string not UTF-8, an unknown capability name, the
    /// running kernel's version unreadable), `SBX_STATUS_INVALID_POLICY` (the profile).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_load_oci_profile(
        builder: *mut sbx_policy_builder,
        json: *const c_char,
        origin: *const c_char,
        capabilities: *const *const c_char,
        capability_count: usize,
        report_out: *mut *mut c_char,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            let json = try_str(json, "json")?;
            let origin = if origin.is_null() {
                "profile"
            } else {
                try_str(origin, "origin")?
            };
            let options = OciOptions {
                capabilities: try_str_array(capabilities, capability_count, "capabilities")?,
                kernel: None,
            };
            // Applied to a copy: a report that cannot be allocated leaves the builder as it was.
            let mut trial = b.clone();
            let report = trial.load_oci_profile_with(json, origin, &options)?;
            if !report_out.is_null() {
                write_out(report_out, malloc_copy(report.to_string().as_bytes(), 1)?);
            }
            *b = trial;
            Ok(())
        })
    }
}
