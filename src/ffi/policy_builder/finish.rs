//! The end of a builder: `sbx_policy_builder_build` turns it into an `sbx_policy` (consuming it)
//! and `sbx_policy_builder_free` drops one that was not built.

use super::sbx_policy_builder;
use crate::ffi::failure::sbx_error;
use crate::ffi::handle::{check_out, free_box, take_box, write_out};
use crate::ffi::panic::{boundary, boundary_status};
use crate::ffi::policy::{sbx_policy, PolicyHandle};
use crate::ffi::status::sbx_status;

impl sbx_policy_builder {
    /// Compiles the rules into a policy and stores it in `*policy_out`; the caller owns it and
    /// frees it with `sbx_policy_free`.
    ///
    /// Consumes `builder` whether or not the build succeeds: do not use or free it afterwards.
    /// `*policy_out` is written only on success.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `policy_out`; the builder is still
    /// consumed), and the first problem any setter recorded: `SBX_STATUS_UNKNOWN_SYSCALL`,
    /// `SBX_STATUS_INVALID_ARGUMENT`, `SBX_STATUS_INVALID_POLICY` (also when the filter would
    /// exceed the kernel's 4096 instructions).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_build(
        builder: *mut sbx_policy_builder,
        policy_out: *mut *const sbx_policy,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let b = take_box(builder, "builder")?;
            check_out(policy_out, "policy_out")?;
            let policy = b.build()?;
            write_out(policy_out, PolicyHandle::into_ptr(policy));
            Ok(())
        })
    }

    /// Frees a builder that was not built. NULL is a no-op.
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_free(builder: *mut sbx_policy_builder) {
        boundary(|| free_box(builder));
    }
}
