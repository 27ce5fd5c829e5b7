//! Errors of the comms channel, with stable numeric codes for the C and Go wrappers.

use std::fmt;

/// Why a comms operation failed.
///
/// Whether the channel survives the error is part of each variant's contract: errors that leave
/// the byte stream in an unknown position (a half-read or half-written message, a peer that went
/// away) *terminate* the channel, after which every operation fails with [`CommsError::Closed`].
/// Errors about one well-delimited message (wrong tag, wrong length, bad fd count) consume that
/// message completely, so the channel stays usable.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommsError {
    /// The peer closed the channel at a message boundary, the connection was reset, or this side
    /// was terminated earlier. Terminal.
    Closed,
    /// The peer closed the channel in the middle of a message. Terminal.
    Truncated {
        /// Bytes the message (header plus payload) should have had.
        expected: u64,
        /// Bytes that arrived before the end of the stream.
        got: u64,
    },
    /// A message arrived with a different tag than the typed receive expected. The message was
    /// consumed (and any fds it carried closed); the channel stays usable.
    TagMismatch {
        /// The tag the caller asked for.
        expected: u32,
        /// The tag on the wire.
        got: u32,
    },
    /// A message had the expected tag but a payload length that does not fit the type (for
    /// example 3 bytes for an `i32`). Consumed; the channel stays usable.
    BadLength {
        /// The tag of the message.
        tag: u32,
        /// The length the type needs.
        expected: u64,
        /// The length on the wire.
        got: u64,
    },
    /// A length above the limit: on receive the header claimed more than the channel's maximum
    /// message size (nothing was allocated; the channel is terminated because the stream cannot
    /// be resynchronised); on send the payload exceeds the wire format's hard maximum (nothing was
    /// sent; the channel stays usable).
    TooLarge {
        /// The length asked for.
        len: u64,
        /// The limit it broke.
        max: u64,
    },
    /// A custom tag at or above `0x8000_0000`, the range reserved for the library's own tags.
    /// Nothing was sent.
    BadCustomTag(u32),
    /// An fd message carried no descriptor or more than one. Every descriptor that arrived was
    /// closed; the message was consumed and the channel stays usable.
    FdCount {
        /// How many descriptors arrived with the message.
        got: u32,
    },
    /// The kernel truncated the ancillary data (more descriptors than this side accepts per
    /// read, or the descriptor table is full). Every descriptor that arrived was closed; the
    /// message was consumed and the channel stays usable.
    ControlTruncated,
    /// A credentials message arrived without `SCM_CREDENTIALS` data (the receiving socket lacks
    /// `SO_PASSCRED`) or with conflicting credentials. Consumed; the channel stays usable.
    NoCredentials,
    /// The payload is not a valid value of its type (a bool that is neither 0 nor 1, a string that
    /// is not UTF-8). Consumed; the channel stays usable.
    InvalidValue {
        /// The tag of the message.
        tag: u32,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The send or receive timeout expired (or the fd is non-blocking and would block). If no
    /// byte of the message had moved yet the channel stays usable; otherwise it is terminated.
    Timeout,
    /// The fd given for the channel is unusable (not a number, not open, not a unix stream
    /// socket, or already claimed). No channel was created.
    InvalidFd {
        /// The fd number, or -1 if it could not be parsed.
        fd: i32,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Any other failed system call, with its errno. Terminal when it happened on the channel's
    /// own socket, except for errors the kernel reported before any byte of a send moved.
    Io(i32),
}

impl CommsError {
    /// A stable number for this kind of error, for the C and Go wrappers (0 is left for success).
    ///
    /// The numbers never change meaning; new kinds get new numbers.
    pub fn code(&self) -> u32 {
        match self {
            CommsError::Closed => 1,
            CommsError::Truncated { .. } => 2,
            CommsError::TagMismatch { .. } => 3,
            CommsError::BadLength { .. } => 4,
            CommsError::TooLarge { .. } => 5,
            CommsError::BadCustomTag(_) => 6,
            CommsError::FdCount { .. } => 7,
            CommsError::ControlTruncated => 8,
            CommsError::NoCredentials => 9,
            CommsError::InvalidValue { .. } => 10,
            CommsError::Timeout => 11,
            CommsError::InvalidFd { .. } => 12,
            CommsError::Io(_) => 13,
        }
    }

    /// The errno behind an [`CommsError::Io`], if that is what this is.
    pub fn errno(&self) -> Option<i32> {
        match self {
            CommsError::Io(e) => Some(*e),
            _ => None,
        }
    }
}

impl fmt::Display for CommsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommsError::Closed => write!(f, "channel closed"),
            CommsError::Truncated { expected, got } => {
                write!(f, "peer closed mid-message ({got} of {expected} bytes)")
            }
            CommsError::TagMismatch { expected, got } => {
                write!(
                    f,
                    "tag mismatch: expected {expected:#010x}, got {got:#010x}"
                )
            }
            CommsError::BadLength { tag, expected, got } => {
                write!(
                    f,
                    "bad length for tag {tag:#010x}: expected {expected}, got {got}"
                )
            }
            CommsError::TooLarge { len, max } => {
                write!(f, "message of {len} bytes exceeds the limit of {max}")
            }
            CommsError::BadCustomTag(t) => {
                write!(
                    f,
                    "custom tag {t:#010x} is in the reserved range (>= 0x80000000)"
                )
            }
            CommsError::FdCount { got } => {
                write!(
                    f,
                    "fd message carried {got} descriptors instead of 1 (all closed)"
                )
            }
            CommsError::ControlTruncated => {
                write!(
                    f,
                    "ancillary data truncated by the kernel (descriptors closed)"
                )
            }
            CommsError::NoCredentials => {
                write!(
                    f,
                    "no credentials with the message (is SO_PASSCRED set on the receiver?)"
                )
            }
            CommsError::InvalidValue { tag, reason } => {
                write!(f, "invalid value for tag {tag:#010x}: {reason}")
            }
            CommsError::Timeout => write!(f, "timed out"),
            CommsError::InvalidFd { fd, reason } => write!(f, "unusable comms fd {fd}: {reason}"),
            CommsError::Io(e) => {
                write!(f, "{} (errno {e})", std::io::Error::from_raw_os_error(*e))
            }
        }
    }
}

impl std::error::Error for CommsError {}
