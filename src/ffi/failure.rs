//! The Rust side of a failure the C ABI reports: `Failure` (the value behind an `sbx_error`
//! handle), the C status of each Rust error, and how a comms channel failed. Plain types: the
//! `sbx_error_*` exports live in `error.rs`, so that `handle/` and `panic.rs`, which make
//! failures, import nothing that imports them back.

use super::status::sbx_status;
use crate::comms::CommsError;
use crate::Error;
use std::ffi::CString;

/// How a comms operation failed: `sbx_error_comms_code` of an error with status
/// `SBX_STATUS_COMMS`. Numbers never change; new kinds get new numbers.
///
/// Some failures *terminate* the channel (its socket is closed and every later call fails with
/// `SBX_COMMS_ERROR_CLOSED`); the others consumed exactly one bad message and leave the channel
/// usable. Each value says which.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sbx_comms_error {
    /// Not a comms failure (the error has another status, or is NULL).
    None = 0,
    /// The peer closed the channel at a message boundary, the connection was reset, or this end
    /// was terminated earlier. Terminal.
    Closed = 1,
    /// The peer closed the channel in the middle of a message. Terminal.
    Truncated = 2,
    /// A message arrived with another tag than the typed receive expected. Consumed (any
    /// descriptors it carried were closed); the channel stays usable.
    TagMismatch = 3,
    /// The tag was right but the payload length does not fit the type (say 3 bytes for an
    /// `int32_t`). Consumed; the channel stays usable.
    BadLength = 4,
    /// A received header claimed more than the maximum message size (nothing was allocated;
    /// terminal), or a payload to send is above the wire format's hard maximum (nothing was
    /// sent; the channel stays usable).
    TooLarge = 5,
    /// A custom tag at or above `0x80000000`, the range reserved for libsbx's own tags. Nothing
    /// was sent or received.
    BadCustomTag = 6,
    /// An fd message carried no descriptor or more than one. All were closed; consumed; the
    /// channel stays usable.
    FdCount = 7,
    /// The kernel truncated the ancillary data (too many descriptors, or the descriptor table
    /// is full). Descriptors closed; consumed; the channel stays usable.
    ControlTruncated = 8,
    /// A credentials message came without credentials (this end lacks `SO_PASSCRED`, see
    /// `sbx_comms_set_pass_creds`) or with conflicting ones. Consumed; the channel stays usable.
    NoCredentials = 9,
    /// The payload is not a valid value of its type (a bool that is neither 0 nor 1, a string
    /// that is not UTF-8). Consumed; the channel stays usable.
    InvalidValue = 10,
    /// The timeout set with `sbx_comms_set_timeout_ms` expired. The channel stays usable if no
    /// byte of the message had moved yet; otherwise it is terminated (check
    /// `sbx_comms_is_terminated`).
    Timeout = 11,
    /// The descriptor given for the channel is unusable (not open, not a unix stream socket,
    /// already claimed by `sbx_comms_client`). No channel was created.
    InvalidFd = 12,
    /// Another system call failed; `sbx_error_errno` gives its errno. Terminal when it happened
    /// on the channel's socket, except for errors the kernel reported before a send moved any
    /// byte.
    Io = 13,
}

impl sbx_comms_error {
    /// The C code of a comms failure (exhaustive: a new variant must be given a number here,
    /// equal to `CommsError::code`).
    pub(crate) fn of(e: &CommsError) -> sbx_comms_error {
        match e {
            CommsError::Closed => sbx_comms_error::Closed,
            CommsError::Truncated { .. } => sbx_comms_error::Truncated,
            CommsError::TagMismatch { .. } => sbx_comms_error::TagMismatch,
            CommsError::BadLength { .. } => sbx_comms_error::BadLength,
            CommsError::TooLarge { .. } => sbx_comms_error::TooLarge,
            CommsError::BadCustomTag(_) => sbx_comms_error::BadCustomTag,
            CommsError::FdCount { .. } => sbx_comms_error::FdCount,
            CommsError::ControlTruncated => sbx_comms_error::ControlTruncated,
            CommsError::NoCredentials => sbx_comms_error::NoCredentials,
            CommsError::InvalidValue { .. } => sbx_comms_error::InvalidValue,
            CommsError::Timeout => sbx_comms_error::Timeout,
            CommsError::InvalidFd { .. } => sbx_comms_error::InvalidFd,
            CommsError::Io(_) => sbx_comms_error::Io,
        }
    }
}

/// What a failed call reports: a status code, a message, the errno of a failed host call, and
/// for a comms failure its kind. This is the Rust value behind an `sbx_error` handle.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(super) code: sbx_status,
    pub(super) message: CString,
    pub(super) errno: i32,
    pub(super) comms: sbx_comms_error,
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
