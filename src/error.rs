//! The one error type of the Rust API.
//!
//! Every variant names the step that failed. What the *sandboxee* did (exit, signal, violation)
//! is never an error: it is data in [`crate::RunResult`]. An `Error` means libsbx itself could not
//! do what was asked (bad input, missing kernel feature, a failed system call on the host side).

use std::fmt;

/// Alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, with enough detail to act on. Non-exhaustive: later releases may add
/// variants, so a `match` outside the crate needs a wildcard arm.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A caller-supplied value is unusable; the message names the argument and why.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// A syscall name that is not in the table of the target architecture.
    #[error("unknown syscall name {0:?}")]
    UnknownSyscall(String),

    /// The policy cannot be built as asked (conflicting or forbidden rules, too long, ...).
    #[error("invalid policy: {0}")]
    InvalidPolicy(String),

    /// A kernel feature libsbx needs is missing or disabled; `fix` says how to enable it.
    #[error("kernel feature unavailable: {feature}: {detail}; fix: {fix}")]
    Unsupported {
        /// Short feature name, as printed by `sbx-run --check`.
        feature: &'static str,
        /// What the probe observed.
        detail: String,
        /// What the administrator can do about it.
        fix: &'static str,
    },

    /// A host-side system call failed while setting up or supervising a sandbox.
    #[error("{op} failed: {errno}")]
    Os {
        /// The operation, e.g. `"clone"` or `"ptrace(PTRACE_SEIZE)"`.
        op: &'static str,
        /// The kernel's error.
        errno: Errno,
    },

    /// The operation is not valid in the object's current state (e.g. awaiting twice).
    #[error("invalid state: {0}")]
    InvalidState(&'static str),

    /// A wait with a timeout expired before the sandbox finished.
    #[error("timed out waiting for the sandbox")]
    WaitTimeout,

    /// The comms channel failed; the inner error says how and whether the channel survived.
    #[error("comms: {0}")]
    Comms(crate::comms::CommsError),
}

/// An errno value with a readable rendering.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub i32);

impl Errno {
    /// The calling thread's current errno.
    pub fn last() -> Self {
        Errno(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let msg = std::io::Error::from_raw_os_error(self.0);
        write!(f, "{} (errno {})", msg, self.0)
    }
}

impl Error {
    /// Builds an [`Error::Os`] from the calling thread's errno.
    pub fn last_os(op: &'static str) -> Self {
        Error::Os {
            op,
            errno: Errno::last(),
        }
    }

    /// Builds an [`Error::Os`] from an explicit errno.
    pub fn os(op: &'static str, errno: i32) -> Self {
        Error::Os {
            op,
            errno: Errno(errno),
        }
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidArgument(msg.into())
    }
}

impl From<nix::errno::Errno> for Errno {
    fn from(e: nix::errno::Errno) -> Self {
        Errno(e as i32)
    }
}

impl From<crate::comms::CommsError> for Error {
    fn from(e: crate::comms::CommsError) -> Self {
        Error::Comms(e)
    }
}
