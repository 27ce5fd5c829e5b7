//! Policy files: a builder made from a whole policy file (TOML; see the README's policy-file
//! section), from a string or a path.

use super::sbx_policy_builder;
use crate::error::Error;
use crate::ffi::failure::sbx_error;
use crate::ffi::handle::{box_into_ptr, check_out, try_path, try_str, write_out};
use crate::ffi::panic::boundary_status;
use crate::ffi::status::sbx_status;
use crate::PolicyBuilder;
use std::ffi::c_char;

impl sbx_policy_builder {
    /// Creates a builder holding what a policy file says (`version = 1`, `default`, `monitor`,
    /// `audit`, `[namespaces]`, `[view]`, `[[mount]]`, `allow`, `[[rule]]`, `connect`, ...; see
    /// the README) and stores it in `*builder_out`; the caller owns it, as with
    /// `sbx_policy_builder_new`. `origin` names the file in errors (NULL: `"policy"`). A
    /// `[limits]` table is checked, not applied: limits belong to the executor.
    /// `*builder_out` is written only on success.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`text`, `builder_out`),
    /// `SBX_STATUS_INVALID_ARGUMENT` (`text` or `origin` not UTF-8), `SBX_STATUS_INVALID_POLICY`
    /// (the file: the message names `origin:line:column`, the key and the problem).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_from_string(
        text: *const c_char,
        origin: *const c_char,
        builder_out: *mut *mut sbx_policy_builder,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let text = try_str(text, "text")?;
            let origin = if origin.is_null() {
                "policy"
            } else {
                try_str(origin, "origin")?
            };
            check_out(builder_out, "builder_out")?;
            let b = PolicyBuilder::from_toml(text, origin)?;
            write_out(builder_out, box_into_ptr::<sbx_policy_builder>(b));
            Ok(())
        })
    }

    /// `sbx_policy_builder_from_string` with the text of the file at `path` (errors name the
    /// path).
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`path`, `builder_out`),
    /// `SBX_STATUS_INVALID_ARGUMENT` (the file cannot be read or is not UTF-8),
    /// `SBX_STATUS_INVALID_POLICY` (its content).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_from_file(
        path: *const c_char,
        builder_out: *mut *mut sbx_policy_builder,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let path = std::path::Path::new(try_path(path, "path")?);
            check_out(builder_out, "builder_out")?;
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::invalid(format!("policy file {}: {e}", path.display())))?;
            let b = PolicyBuilder::from_toml(&text, &path.display().to_string())?;
            write_out(builder_out, box_into_ptr::<sbx_policy_builder>(b));
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;

    #[test]
    fn good_and_bad_strings() {
        let good =
            CString::new("version = 1\nallow = [\"read\"]\n[namespaces]\nhostname = \"x\"\n")
                .unwrap();
        let mut b = std::ptr::null_mut();
        let st = sbx_policy_builder::sbx_policy_builder_from_string(
            good.as_ptr(),
            std::ptr::null(),
            &raw mut b,
            std::ptr::null_mut(),
        );
        assert_eq!(st, sbx_status::Ok);
        assert!(!b.is_null());
        sbx_policy_builder::sbx_policy_builder_free(b);
        let bad = CString::new("version = 1\nmonitor = \"x\"\n").unwrap();
        let mut b = std::ptr::null_mut();
        let st = sbx_policy_builder::sbx_policy_builder_from_string(
            bad.as_ptr(),
            std::ptr::null(),
            &raw mut b,
            std::ptr::null_mut(),
        );
        assert_eq!(st, sbx_status::InvalidPolicy);
        assert!(b.is_null(), "written on failure");
        let st = sbx_policy_builder::sbx_policy_builder_from_file(
            c"/nonexistent-sbx.toml".as_ptr(),
            &raw mut b,
            std::ptr::null_mut(),
        );
        assert_eq!(st, sbx_status::InvalidArgument);
    }
}
