//! `sbx_error`: the detail of one failure, handed to the caller through `err_out`.

use super::comms::sbx_comms_error;
use super::handle::{castable, cstr_ptr, free_box, ref_from_ptr};
use super::panic::boundary;
use super::status::sbx_status;
use crate::comms::CommsError;
use crate::Error;
use std::ffi::{c_char, CString};

/// What a failed call reports: a status code, a message, the errno of a failed host call, and
/// for a comms failure its kind. This is the Rust value behind an `sbx_error` handle.
#[derive(Debug)]
pub(crate) struct Failure {
    code: sbx_status,
    message: CString,
    errno: i32,
    comms: sbx_comms_error,
}

impl Failure {
    pub(crate) fn new(code: sbx_status, message: impl Into<String>) -> Failure {
        let mut message = message.into().into_bytes();
        message.retain(|&b| b != 0);
        // Cannot fail: NUL bytes were just removed.
        let message = CString::new(message).unwrap_or_default();
        Failure {
            code,
            message,
            errno: 0,
            comms: sbx_comms_error::None,
        }
    }

    /// A NULL pointer where one was required; `what` names the parameter.
    pub(crate) fn null(what: &str) -> Failure {
        Failure::new(sbx_status::NullParameter, format!("{what} is NULL"))
    }

    /// A bad argument value.
    pub(crate) fn invalid(message: impl Into<String>) -> Failure {
        Failure::new(
            sbx_status::InvalidArgument,
            format!("invalid argument: {}", message.into()),
        )
    }

    /// The message as text (for logs).
    pub(crate) fn message_str(&self) -> String {
        self.message.to_string_lossy().into_owned()
    }

    pub(crate) fn code(&self) -> sbx_status {
        self.code
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        let code = status_of(&e);
        let mut f = Failure::new(code, e.to_string());
        match e {
            Error::Os { errno, .. } => f.errno = errno.0,
            Error::Comms(c) => {
                f.errno = c.errno().unwrap_or(0);
                f.comms = sbx_comms_error::of(&c);
            }
            _ => {}
        }
        f
    }
}

impl From<CommsError> for Failure {
    fn from(e: CommsError) -> Failure {
        Failure::from(Error::Comms(e))
    }
}

/// The C status of each Rust error (exhaustive: a new variant must be given a code here).
pub(crate) fn status_of(e: &Error) -> sbx_status {
    match e {
        Error::InvalidArgument(_) => sbx_status::InvalidArgument,
        Error::UnknownSyscall(_) => sbx_status::UnknownSyscall,
        Error::InvalidPolicy(_) => sbx_status::InvalidPolicy,
        Error::Unsupported { .. } => sbx_status::Unsupported,
        Error::Os { .. } => sbx_status::OsError,
        Error::InvalidState(_) => sbx_status::InvalidState,
        Error::WaitTimeout => sbx_status::WaitTimeout,
        Error::Comms(_) => sbx_status::Comms,
    }
}

/// The detail of a failed call: code, message, the errno of a failed host system call, and for
/// `SBX_STATUS_COMMS` how the channel failed (`sbx_error_comms_code`).
///
/// Fallible functions take an optional `sbx_error **err_out` as their last parameter. When it
/// is not NULL and the call fails, `*err_out` receives a new `sbx_error` that the caller frees
/// with `sbx_error_free`; on success `*err_out` is not written. An `sbx_error` is immutable
/// and may be read from several threads at once.
pub struct sbx_error {
    _private: [u8; 0],
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
