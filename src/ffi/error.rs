//! `sbx_error`: the detail of one failure, handed to the caller through `err_out`, and the
//! status codes' messages. The types are in `failure.rs` and `status.rs`.

pub use super::failure::{sbx_comms_error, sbx_error};
use super::failure::Failure;
use super::handle::{castable, cstr_ptr, free_box, ref_from_ptr, static_cstr};
use super::panic::{boundary, PanicDefault};
use super::status::sbx_status;
use std::ffi::c_char;

impl PanicDefault for sbx_comms_error {
    fn panic_default() -> Self {
        sbx_comms_error::None
    }
}

castable!(sbx_error => Failure, OwnershipBox, super::handle::kind::ERROR);

impl sbx_error {
    /// Returns the failure's message (UTF-8, NUL-terminated, one line, never NULL for a valid
    /// `err`). The string belongs to `err` and lives until `sbx_error_free(err)`. Returns NULL
    /// when `err` is NULL.
    #[no_mangle]
    pub extern "C" fn sbx_error_message(err: *const sbx_error) -> *const c_char {
        boundary(|| ref_from_ptr(err).map_or(std::ptr::null(), |f| cstr_ptr(&f.message)))
    }

    /// Returns the failure's status code (never `SBX_STATUS_OK` for a valid `err`); NULL gives
    /// `SBX_STATUS_OK`.
    #[no_mangle]
    pub extern "C" fn sbx_error_code(err: *const sbx_error) -> sbx_status {
        boundary(|| ref_from_ptr(err).map_or(sbx_status::Ok, |f| f.code))
    }

    /// Returns the errno of the failed host system call for `SBX_STATUS_OS_ERROR`, and for
    /// `SBX_STATUS_COMMS` with `SBX_COMMS_ERROR_IO`; else 0 (also for NULL).
    #[no_mangle]
    pub extern "C" fn sbx_error_errno(err: *const sbx_error) -> i32 {
        boundary(|| ref_from_ptr(err).map_or(0, |f| f.errno))
    }

    /// Returns how the comms channel failed for `SBX_STATUS_COMMS` (one of the
    /// `SBX_COMMS_ERROR_*` values, which also say whether the channel is still usable);
    /// `SBX_COMMS_ERROR_NONE` for other failures and for NULL.
    #[no_mangle]
    pub extern "C" fn sbx_error_comms_code(err: *const sbx_error) -> sbx_comms_error {
        boundary(|| ref_from_ptr(err).map_or(sbx_comms_error::None, |f| f.comms))
    }

    /// Frees an error returned through `err_out`. NULL is a no-op.
    #[no_mangle]
    pub extern "C" fn sbx_error_free(err: *mut sbx_error) {
        boundary(|| free_box(err));
    }
}

/// Returns a static, NUL-terminated English message for `code` (one of the `SBX_STATUS_*`
/// values); unknown codes give "unknown status code". Never NULL; the caller does not free it.
#[no_mangle]
pub extern "C" fn sbx_status_message(code: u32) -> *const c_char {
    boundary(|| static_cstr(sbx_status::message(code)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comms::CommsError;

    #[test]
    fn comms_codes_match_the_rust_codes() {
        let all = [
            CommsError::Closed,
            CommsError::Truncated {
                expected: 1,
                got: 0,
            },
            CommsError::TagMismatch {
                expected: 1,
                got: 2,
            },
            CommsError::BadLength {
                tag: 1,
                expected: 1,
                got: 2,
            },
            CommsError::TooLarge { len: 2, max: 1 },
            CommsError::BadCustomTag(u32::MAX),
            CommsError::FdCount { got: 2 },
            CommsError::ControlTruncated,
            CommsError::NoCredentials,
            CommsError::InvalidValue {
                tag: 1,
                reason: "x",
            },
            CommsError::Timeout,
            CommsError::InvalidFd {
                fd: -1,
                reason: "x",
            },
            CommsError::Io(libc::EIO),
        ];
        for e in &all {
            assert_eq!(sbx_comms_error::of(e) as u32, e.code(), "{e:?}");
        }
    }
}

#[cfg(test)]
mod status_tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn every_code_has_its_own_message() {
        let msg = |c: u32| {
            // SAFETY: (test) the function returns static NUL-terminated strings.
            unsafe { CStr::from_ptr(sbx_status_message(c)) }
                .to_str()
                .unwrap()
                .to_owned()
        };
        let unknown = msg(9999);
        assert_eq!(unknown, "unknown status code");
        for s in sbx_status::ALL {
            assert_ne!(msg(s as u32), unknown, "{s:?}");
        }
        assert_eq!(msg(0), "success");
    }
}
