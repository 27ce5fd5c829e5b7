//! Policy files: a builder made from a whole policy file (TOML; see the README's policy-file
//! section), from a string or a path.

use super::sbx_policy_builder;
use crate::error::Error;
use crate::ffi::failure::{sbx_error, Failure};
use crate::ffi::executor::sbx_executor;
use crate::ffi::handle::{box_into_ptr, check_out, try_mut, try_path, try_str, write_out};
use crate::ffi::panic::boundary_status;
use crate::ffi::status::sbx_status;
use crate::PolicyBuilder;
use std::ffi::c_char;

/// `origin` as given, or `"policy"` for NULL.
fn origin_or_default<'a>(origin: *const c_char) -> Result<&'a str, Failure> {
    if origin.is_null() {
        Ok("policy")
    } else {
        try_str(origin, "origin")
    }
}

/// The text of the policy file at `path` and the name errors give it.
fn read_policy_file(path: *const c_char) -> Result<(String, String), Failure> {
    let path = std::path::Path::new(try_path(path, "path")?);
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::invalid(format!("policy file {}: {e}", path.display())))?;
    Ok((text, path.display().to_string()))
}

/// A policy file's `[limits]` applied to executor `e` (see `sbx_executor_load_limits`).
fn load_limits_into(
    e: &mut crate::Executor,
    text: &str,
    origin: &str,
    found_out: *mut bool,
) -> Result<(), Failure> {
    let limits = PolicyBuilder::new().load_file(text, origin)?.limits;
    if !found_out.is_null() {
        write_out(found_out, limits.is_some());
    }
    if let Some(limits) = limits {
        e.limits(limits);
    }
    Ok(())
}

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
            let origin = origin_or_default(origin)?;
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
            let (text, origin) = read_policy_file(path)?;
            check_out(builder_out, "builder_out")?;
            let b = PolicyBuilder::from_toml(&text, &origin)?;
            write_out(builder_out, box_into_ptr::<sbx_policy_builder>(b));
            Ok(())
        })
    }
}

impl sbx_executor {
    /// Sets the executor's limits to a policy file's `[limits]` table (`walltime`, the rlimits,
    /// `memory`, `pids`, `cpus`; keys the table leaves out take their defaults), the way
    /// `sbx-run --policy` applies them. A file without the table leaves the limits as they
    /// were. `*found_out` (unless NULL) says whether the file had the table. The whole file is
    /// checked: a bad file changes nothing. `origin` names the file in errors (NULL:
    /// `"policy"`).
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`executor`, `text`), `SBX_STATUS_INVALID_ARGUMENT`
    /// (`text` or `origin` not UTF-8), `SBX_STATUS_INVALID_POLICY` (the file: the message names
    /// `origin:line:column`, the key and the problem).
    #[no_mangle]
    pub extern "C" fn sbx_executor_load_limits(
        executor: *mut sbx_executor,
        text: *const c_char,
        origin: *const c_char,
        found_out: *mut bool,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut e = try_mut(executor, "executor")?;
            load_limits_into(&mut e, try_str(text, "text")?, origin_or_default(origin)?, found_out)
        })
    }

    /// `sbx_executor_load_limits` with the text of the file at `path` (errors name the path).
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`executor`, `path`), `SBX_STATUS_INVALID_ARGUMENT`
    /// (the file cannot be read or is not UTF-8), `SBX_STATUS_INVALID_POLICY` (its content).
    #[no_mangle]
    pub extern "C" fn sbx_executor_load_limits_file(
        executor: *mut sbx_executor,
        path: *const c_char,
        found_out: *mut bool,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut e = try_mut(executor, "executor")?;
            let (text, origin) = read_policy_file(path)?;
            load_limits_into(&mut e, &text, &origin, found_out)
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

    #[test]
    fn limits_load_into_an_executor_whole_or_not_at_all() {
        let mut ex = std::ptr::null_mut();
        let st = sbx_executor::sbx_executor_new(c"/bin/true".as_ptr(), &raw mut ex, std::ptr::null_mut());
        assert_eq!(st, sbx_status::Ok);
        let get = |ex: *mut sbx_executor| {
            let mut e = try_mut(ex, "executor").expect("a live executor");
            let l = e.limits_mut();
            (l.cgroup.memory, l.open_files)
        };
        let good = c"version = 1\n[limits]\nmemory = 67108864\nopen_files = 64\n";
        let mut found = false;
        let st = sbx_executor::sbx_executor_load_limits(ex, good.as_ptr(), std::ptr::null(), &raw mut found, std::ptr::null_mut());
        assert_eq!(st, sbx_status::Ok);
        assert!(found);
        assert_eq!(get(ex), (Some(64 << 20), Some(64)));
        // A bad file changes nothing; one without the table neither.
        let bad = c"version = 1\n[limits]\nopen_files = 8\nno_such_limit = 1\n";
        let st = sbx_executor::sbx_executor_load_limits(ex, bad.as_ptr(), std::ptr::null(), std::ptr::null_mut(), std::ptr::null_mut());
        assert_eq!(st, sbx_status::InvalidPolicy);
        let none = c"version = 1\nallow = [\"read\"]\n";
        let st = sbx_executor::sbx_executor_load_limits(ex, none.as_ptr(), std::ptr::null(), &raw mut found, std::ptr::null_mut());
        assert_eq!(st, sbx_status::Ok);
        assert!(!found);
        assert_eq!(get(ex), (Some(64 << 20), Some(64)));
        let st = sbx_executor::sbx_executor_load_limits(std::ptr::null_mut(), good.as_ptr(), std::ptr::null(), std::ptr::null_mut(), std::ptr::null_mut());
        assert_eq!(st, sbx_status::NullParameter);
        sbx_executor::sbx_executor_free(ex);
    }
}
