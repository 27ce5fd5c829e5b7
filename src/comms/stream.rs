//! One message on the stream: reading it whole (header, length check, payload as it arrives),
//! the tag and length checks of a received message, and whether a failed send or read leaves
//! the stream in sync.

use super::fd;
use super::wire::{self, Header};
use super::{CommsError, CommsResult, Creds, Fail, Incoming, HEADER_LEN};
use std::os::fd::BorrowedFd;

pub(super) fn check_tag(expected: u32, got: u32) -> CommsResult<()> {
    if expected == got {
        Ok(())
    } else {
        Err(CommsError::TagMismatch { expected, got })
    }
}

pub(super) fn check_len(tag: u32, expected: usize, payload: &[u8]) -> CommsResult<()> {
    if payload.len() == expected {
        Ok(())
    } else {
        Err(CommsError::BadLength {
            tag,
            expected: expected as u64,
            got: payload.len() as u64,
        })
    }
}

/// Classifies a failed send: nothing sent keeps the stream in sync unless the socket itself is
/// dead; anything sent means the peer holds a partial message, so the channel must end.
pub(super) fn send_failure(e: i32, sent: usize) -> Fail {
    let err = match e {
        libc::EPIPE | libc::ECONNRESET | libc::ENOTCONN => CommsError::Closed,
        libc::EAGAIN => CommsError::Timeout,
        _ => CommsError::Io(e),
    };
    let dead_socket = matches!(
        e,
        libc::EPIPE | libc::ECONNRESET | libc::ENOTCONN | libc::EBADF | libc::ENOTSOCK
    );
    Fail {
        err,
        fatal: sent > 0 || dead_socket,
    }
}

/// Classifies a failed read after `moved` bytes of the current message (of `expected`, if known).
fn recv_failure(e: i32, moved: usize, expected: u64) -> Fail {
    match e {
        libc::EAGAIN => Fail {
            err: CommsError::Timeout,
            fatal: moved > 0,
        },
        libc::ECONNRESET | libc::EPIPE | libc::ENOTCONN if moved == 0 => {
            Fail::fatal(CommsError::Closed)
        }
        libc::ECONNRESET | libc::EPIPE | libc::ENOTCONN => Fail::fatal(CommsError::Truncated {
            expected,
            got: moved as u64,
        }),
        _ => Fail::fatal(CommsError::Io(e)),
    }
}

/// Reads one whole message: the header (collecting descriptors and credentials that come with
/// it), the length check, then the payload as it arrives.
pub(super) fn read_message(fd: BorrowedFd<'_>, max: u64) -> Result<Incoming, Fail> {
    let mut raw = [0u8; HEADER_LEN];
    let mut got = 0usize;
    let mut fds = Vec::new();
    let mut creds: Option<Creds> = None;
    let mut creds_conflict = false;
    let mut ctrunc = false;
    while got < HEADER_LEN {
        // The full length is unknown until the header is complete; report the header's.
        let chunk = fd::recv_chunk(fd, &mut raw[got..])
            .map_err(|e| recv_failure(e, got, HEADER_LEN as u64))?;
        if chunk.n == 0 {
            return Err(Fail::fatal(if got == 0 {
                CommsError::Closed
            } else {
                CommsError::Truncated {
                    expected: HEADER_LEN as u64,
                    got: got as u64,
                }
            }));
        }
        got += chunk.n;
        fds.extend(chunk.fds);
        ctrunc |= chunk.ctrunc;
        creds_conflict |= chunk.control.creds_conflict;
        if let Some(c) = chunk.control.creds {
            match creds {
                None => creds = Some(c),
                Some(prev) if prev != c => creds_conflict = true,
                Some(_) => {}
            }
        }
    }
    let header = Header::decode(&raw);
    // `max` is at most HARD_MAX_MESSAGE_SIZE (i32::MAX), so a length within it fits in usize.
    let len = match usize::try_from(header.len) {
        Ok(len) if header.len <= max => len,
        _ => {
            // Nothing of the payload is read or allocated; the stream cannot be resynchronised.
            return Err(Fail::fatal(CommsError::TooLarge {
                len: header.len,
                max,
            }));
        }
    };
    let expected = HEADER_LEN as u64 + header.len;
    let mut payload = Vec::new();
    let mut filled = 0usize;
    while filled < len {
        let target = wire::next_fill_target(filled, len);
        if payload.len() < target {
            payload.resize(target, 0);
        }
        let chunk = fd::recv_chunk(fd, &mut payload[filled..target])
            .map_err(|e| recv_failure(e, HEADER_LEN + filled, expected))?;
        // Descriptors never belong inside a payload: `chunk.fds` is dropped (closed) here.
        if chunk.n == 0 {
            return Err(Fail::fatal(CommsError::Truncated {
                expected,
                got: (HEADER_LEN + filled) as u64,
            }));
        }
        filled += chunk.n;
    }
    Ok(Incoming {
        tag: header.tag,
        payload,
        fds,
        creds,
        creds_conflict,
        ctrunc,
    })
}
