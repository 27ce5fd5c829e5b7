//! Comms: a typed TLV channel between the host and the sandboxee, wire-compatible with sandbox2.
//!
//! The transport is one end of an `AF_UNIX` `SOCK_STREAM` socketpair. Every message is a packed
//! 12-byte header `{u32 tag; u64 len}` in native byte order followed by `len` payload bytes (see
//! [`tags`] for the tag values). A file descriptor travels as the header `{FD, 0}` with one
//! `SCM_RIGHTS` descriptor in the same `sendmsg`; credentials travel as `{CREDS, 0}` with
//! `SCM_CREDENTIALS`, which the kernel fills in (and translates into the receiver's pid and user
//! namespaces), so the receiver learns who is really on the other end.
//!
//! The peer is not trusted (on the host side it is the sandboxee), so receiving is defensive:
//! - a length above the channel's maximum is rejected before anything is allocated, and payloads
//!   are read into memory as they arrive (1 MiB at a time), so a lying peer cannot make this side
//!   reserve the size it claims;
//! - every descriptor that arrives where it was not asked for (on a non-fd message, in excess of
//!   one on an fd message, in the middle of a payload, on a message that fails a check) is closed
//!   before the call returns; received descriptors are close-on-exec from the start;
//! - control messages are parsed with bounds checks, whatever their lengths claim;
//! - a message that fails a check is consumed completely, so the stream never stops in the middle
//!   of a message; when that cannot be guaranteed (peer gone, oversized length, I/O error in the
//!   middle of a message) the channel is *terminated*: its socket is closed and every later call
//!   fails with [`CommsError::Closed`].
//!
//! Sends use `MSG_NOSIGNAL`, so a vanished peer yields [`CommsError::Closed`] rather than
//! `SIGPIPE`. `EINTR` is retried everywhere.
//!
//! Here: [`Comms`] itself (making an end, its settings, raw and custom messages, sending and
//! receiving one message); `typed.rs` the typed messages; `stream.rs` reading a whole message,
//! the checks on it and whether a failure leaves the stream in sync; `wire.rs` the header and
//! tags; `fd.rs` the socket calls and ancillary data.
//!
//! ```
//! use sbx::comms::Comms;
//! let (mut host, mut sandboxee) = Comms::pair()?;
//! host.send_string("ping")?;
//! assert_eq!(sandboxee.recv_string()?, "ping");
//! sandboxee.send_u32(7)?;
//! assert_eq!(host.recv_u32()?, 7);
//! # Ok::<(), sbx::comms::CommsError>(())
//! ```

// Audited unsafe: fds received from the peer taken into OwnedFd.
#![allow(unsafe_code)]

mod error;
mod fd;
mod stream;
mod typed;
mod wire;

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod tests;

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub use error::CommsError;
pub use wire::{tags, DEFAULT_MAX_MESSAGE_SIZE, HARD_MAX_MESSAGE_SIZE, HEADER_LEN};

use fd::Ancillary;
use stream::{check_len, check_tag, read_message, send_failure};
use wire::Header;

/// The descriptor number at which the sandboxee finds its end of the channel, as in sandbox2.
pub const DEFAULT_CLIENT_FD: RawFd = 1023;

/// Environment variable that overrides [`DEFAULT_CLIENT_FD`] for [`Comms::client`].
pub const COMMS_FD_ENV: &str = "SBX_COMMS_FD";

/// sandbox2's name for the same override, honoured when [`COMMS_FD_ENV`] is not set.
pub const SANDBOX2_COMMS_FD_ENV: &str = "SANDBOX2_COMMS_FD";

/// Shorthand for results of comms operations.
pub type CommsResult<T> = std::result::Result<T, CommsError>;

/// Process credentials as the kernel reports them (`struct ucred`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Creds {
    /// Process id in the receiver's pid namespace; 0 if the sender is not visible there.
    pub pid: i32,
    /// User id in the receiver's user namespace (the overflow uid if unmapped).
    pub uid: u32,
    /// Group id in the receiver's user namespace (the overflow gid if unmapped).
    pub gid: u32,
}

/// Set once [`Comms::client`] has taken ownership of the inherited descriptor, so that two calls
/// cannot both own (and both close) the same number.
static CLIENT_CLAIMED: AtomicBool = AtomicBool::new(false);

/// One end of a comms channel. Owns its socket; dropping it closes the socket.
///
/// Every operation on the stream takes `&mut self` (the `&self` methods only touch socket
/// options), so Rust's borrow rules already give each call exclusive use of the stream; wrappers
/// in other languages must do the same.
pub struct Comms {
    fd: Option<OwnedFd>,
    max_message_size: u64,
}

/// A failure and whether it leaves the stream out of sync (then the channel is terminated).
struct Fail {
    err: CommsError,
    fatal: bool,
}

impl Fail {
    fn fatal(err: CommsError) -> Fail {
        Fail { err, fatal: true }
    }
}

/// A received message before its type is checked. Dropping it closes every descriptor in it.
struct Incoming {
    tag: u32,
    payload: Vec<u8>,
    /// Descriptors that arrived while the header was read (payload descriptors are closed at once).
    fds: Vec<OwnedFd>,
    creds: Option<Creds>,
    creds_conflict: bool,
    ctrunc: bool,
}

impl std::fmt::Debug for Comms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Comms")
            .field("fd", &self.as_raw_fd())
            .field("max_message_size", &self.max_message_size)
            .finish()
    }
}

impl Comms {
    /// Creates a connected pair: `socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC)` with
    /// `SO_PASSCRED` on both ends, so either end can receive credentials.
    ///
    /// Both ends are close-on-exec; whoever passes one to a child moves it into place with `dup2`
    /// (which clears the flag on the copy).
    pub fn pair() -> CommsResult<(Comms, Comms)> {
        let (a, b) = fd::socketpair().map_err(CommsError::Io)?;
        fd::set_pass_cred(a.as_fd(), true).map_err(CommsError::Io)?;
        fd::set_pass_cred(b.as_fd(), true).map_err(CommsError::Io)?;
        Ok((Comms::from_fd(a), Comms::from_fd(b)))
    }

    /// Wraps a connected `AF_UNIX` stream socket. Socket options are left as they are: call
    /// [`Comms::set_pass_creds`] if this end must receive credentials.
    pub fn from_fd(fd: OwnedFd) -> Comms {
        Comms {
            fd: Some(fd),
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
        }
    }

    /// The sandboxee's end of the channel: the descriptor named by `SBX_COMMS_FD` (or sandbox2's
    /// `SANDBOX2_COMMS_FD`), else [`DEFAULT_CLIENT_FD`] (1023).
    ///
    /// Both variables are removed from the environment after reading, so they do not leak into
    /// programs the sandboxee starts; like any environment change this should happen before the
    /// process starts threads. The descriptor must be an open `AF_UNIX` `SOCK_STREAM` socket, and
    /// it can be claimed only once per process: a second call fails with
    /// [`CommsError::InvalidFd`] instead of creating a second owner of the same number.
    pub fn client() -> CommsResult<Comms> {
        let raw = client_fd_from_env()?;
        if raw < 0 || !fd::is_open(raw) {
            return Err(CommsError::InvalidFd {
                fd: raw,
                reason: "not an open descriptor",
            });
        }
        // SAFETY: `raw` is open (checked just above) and the borrow ends within this function,
        // before anything could close it.
        let borrowed = unsafe { BorrowedFd::borrow_raw(raw) };
        fd::check_unix_stream(borrowed)
            .map_err(|reason| CommsError::InvalidFd { fd: raw, reason })?;
        if CLIENT_CLAIMED
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(CommsError::InvalidFd {
                fd: raw,
                reason: "already claimed by Comms::client",
            });
        }
        // SAFETY: the descriptor is open and is the channel end the host left for this process;
        // CLIENT_CLAIMED guarantees no other `Comms::client` call owns it, and by contract no
        // other code in the sandboxee treats it as its own.
        Ok(Comms::from_fd(unsafe { OwnedFd::from_raw_fd(raw) }))
    }

    /// Sets the largest payload this end accepts, clamped to [`HARD_MAX_MESSAGE_SIZE`]. The
    /// default is [`DEFAULT_MAX_MESSAGE_SIZE`] (64 MiB). Sends are limited only by the hard
    /// maximum; the receiver decides what it accepts.
    pub fn set_max_message_size(&mut self, n: u64) {
        self.max_message_size = n.min(HARD_MAX_MESSAGE_SIZE);
    }

    /// The largest payload this end accepts.
    pub fn max_message_size(&self) -> u64 {
        self.max_message_size
    }

    /// Sets a timeout for each blocking send and receive (`SO_SNDTIMEO`/`SO_RCVTIMEO`); `None`
    /// (or a zero duration) blocks forever, the default. An expired timeout yields [`CommsError::Timeout`]; it
    /// terminates the channel only if part of the message had already moved.
    pub fn set_timeout(&self, timeout: Option<Duration>) -> CommsResult<()> {
        fd::set_timeouts(self.live_fd()?, timeout).map_err(CommsError::Io)
    }

    /// Turns `SO_PASSCRED` on or off for this end (needed to receive credentials; [`Comms::pair`]
    /// turns it on).
    pub fn set_pass_creds(&self, on: bool) -> CommsResult<()> {
        fd::set_pass_cred(self.live_fd()?, on).map_err(CommsError::Io)
    }

    /// Whether the channel has been terminated (by [`Comms::terminate`] or a fatal error).
    pub fn is_terminated(&self) -> bool {
        self.fd.is_none()
    }

    /// Closes the socket. Every later operation fails with [`CommsError::Closed`]; the peer sees
    /// the end of the stream.
    pub fn terminate(&mut self) {
        self.fd = None;
    }

    /// The socket's descriptor number, or -1 once terminated. Ownership stays with `self`.
    pub fn as_raw_fd(&self) -> RawFd {
        self.fd.as_ref().map_or(-1, AsRawFd::as_raw_fd)
    }

    /// Gives up the socket (for example to move it into a child); `None` if terminated.
    pub fn into_fd(self) -> Option<OwnedFd> {
        self.fd
    }

    /// The credentials of the peer socket's creator (`SO_PEERCRED`), as recorded by the kernel
    /// when the pair was created or connected; for a socketpair that is the creating process, so
    /// the sandboxee learns its host's pid this way.
    pub fn peer_creds(&self) -> CommsResult<Creds> {
        fd::peer_cred(self.live_fd()?).map_err(CommsError::Io)
    }

    // ----- raw messages -------------------------------------------------------------------

    /// Sends one message with any tag, including the library's own. Payloads above
    /// [`HARD_MAX_MESSAGE_SIZE`] are rejected with [`CommsError::TooLarge`] before anything is
    /// sent.
    pub fn send_tlv(&mut self, tag: u32, value: &[u8]) -> CommsResult<()> {
        self.send_message(tag, value, Ancillary::None)
    }

    /// Receives the next message, whatever its tag. Descriptors that came with it are closed.
    pub fn recv_tlv(&mut self) -> CommsResult<(u32, Vec<u8>)> {
        let m = self.recv_message()?;
        Ok((m.tag, m.payload))
    }

    /// Sends a user message; `tag` must be at most [`tags::MAX_CUSTOM`].
    pub fn send_custom(&mut self, tag: u32, value: &[u8]) -> CommsResult<()> {
        if tag > tags::MAX_CUSTOM {
            return Err(CommsError::BadCustomTag(tag));
        }
        self.send_tlv(tag, value)
    }

    /// Receives a user message that must carry tag `expected` (at most [`tags::MAX_CUSTOM`]).
    pub fn recv_custom(&mut self, expected: u32) -> CommsResult<Vec<u8>> {
        if expected > tags::MAX_CUSTOM {
            return Err(CommsError::BadCustomTag(expected));
        }
        self.recv_expect(expected)
    }


    // ----- internals ----------------------------------------------------------------------

    fn live_fd(&self) -> CommsResult<BorrowedFd<'_>> {
        self.fd
            .as_ref()
            .map(|f| f.as_fd())
            .ok_or(CommsError::Closed)
    }

    /// Runs `op` on the live socket; terminates the channel if it reports a fatal failure.
    fn run<T>(
        &mut self,
        op: impl FnOnce(BorrowedFd<'_>, u64) -> Result<T, Fail>,
    ) -> CommsResult<T> {
        let Some(fd) = self.fd.as_ref() else {
            return Err(CommsError::Closed);
        };
        match op(fd.as_fd(), self.max_message_size) {
            Ok(v) => Ok(v),
            Err(f) => {
                if f.fatal {
                    log::debug!("comms: terminating channel after {}", f.err);
                    self.fd = None;
                }
                Err(f.err)
            }
        }
    }

    fn send_message(&mut self, tag: u32, payload: &[u8], anc: Ancillary<'_>) -> CommsResult<()> {
        let len = payload.len() as u64;
        if len > HARD_MAX_MESSAGE_SIZE {
            return Err(CommsError::TooLarge {
                len,
                max: HARD_MAX_MESSAGE_SIZE,
            });
        }
        let header = Header { tag, len }.encode();
        self.run(|fd, _| {
            fd::send_all(fd, &[&header, payload], anc).map_err(|(e, sent)| send_failure(e, sent))
        })
    }

    fn recv_message(&mut self) -> CommsResult<Incoming> {
        self.run(read_message)
    }

    fn recv_expect(&mut self, tag: u32) -> CommsResult<Vec<u8>> {
        let m = self.recv_message()?;
        check_tag(tag, m.tag)?;
        Ok(m.payload)
    }

    fn recv_fixed<const N: usize>(&mut self, tag: u32) -> CommsResult<[u8; N]> {
        let payload = self.recv_expect(tag)?;
        check_len(tag, N, &payload)?;
        let mut out = [0u8; N];
        out.copy_from_slice(&payload);
        Ok(out)
    }
}


/// Reads the client descriptor number from the environment (removing both variables).
fn client_fd_from_env() -> CommsResult<RawFd> {
    let ours = std::env::var_os(COMMS_FD_ENV);
    let theirs = std::env::var_os(SANDBOX2_COMMS_FD_ENV);
    // Removed so that programs the sandboxee runs do not inherit a stale descriptor number.
    if ours.is_some() {
        std::env::remove_var(COMMS_FD_ENV);
    }
    if theirs.is_some() {
        std::env::remove_var(SANDBOX2_COMMS_FD_ENV);
    }
    match ours.or(theirs) {
        None => Ok(DEFAULT_CLIENT_FD),
        Some(v) => v
            .to_str()
            .and_then(|s| s.trim().parse::<RawFd>().ok())
            .filter(|&n| n >= 0)
            .ok_or(CommsError::InvalidFd {
                fd: -1,
                reason: "comms fd variable is not a descriptor number",
            }),
    }
}
