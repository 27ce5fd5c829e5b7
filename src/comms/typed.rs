//! The typed messages on [`Comms`]: bool, the integers, strings, bytes, barriers, descriptors
//! and credentials, each a tag of [`tags`] with a fixed payload shape checked on receipt.

// Audited unsafe: getpid/getuid/getgid for the credentials we send.
#![allow(unsafe_code)]

use super::fd::Ancillary;
use super::stream::{check_len, check_tag};
use super::{tags, Comms, CommsError, CommsResult, Creds};
use std::os::fd::{BorrowedFd, OwnedFd};

macro_rules! integer_methods {
    ($($send:ident / $recv:ident: $ty:ty = $tag:ident;)*) => {$(
        #[doc = concat!("Sends a `", stringify!($ty), "` (tag [`tags::", stringify!($tag), "`]).")]
        pub fn $send(&mut self, v: $ty) -> CommsResult<()> {
            self.send_tlv(tags::$tag, &v.to_ne_bytes())
        }

        #[doc = concat!(
            "Receives a `", stringify!($ty), "`; the next message must carry tag [`tags::",
            stringify!($tag), "`] and exactly `size_of::<", stringify!($ty), ">()` bytes."
        )]
        pub fn $recv(&mut self) -> CommsResult<$ty> {
            Ok(<$ty>::from_ne_bytes(self.recv_fixed(tags::$tag)?))
        }
    )*};
}

impl Comms {
    /// Sends a `bool` as one byte, 0 or 1 (tag [`tags::BOOL`]).
    pub fn send_bool(&mut self, v: bool) -> CommsResult<()> {
        self.send_tlv(tags::BOOL, &[u8::from(v)])
    }

    /// Receives a `bool`: tag [`tags::BOOL`], one byte that is 0 or 1.
    pub fn recv_bool(&mut self) -> CommsResult<bool> {
        match self.recv_fixed::<1>(tags::BOOL)? {
            [0] => Ok(false),
            [1] => Ok(true),
            _ => Err(CommsError::InvalidValue {
                tag: tags::BOOL,
                reason: "bool is neither 0 nor 1",
            }),
        }
    }

    integer_methods! {
        send_i8 / recv_i8: i8 = INT8;
        send_u8 / recv_u8: u8 = UINT8;
        send_i16 / recv_i16: i16 = INT16;
        send_u16 / recv_u16: u16 = UINT16;
        send_i32 / recv_i32: i32 = INT32;
        send_u32 / recv_u32: u32 = UINT32;
        send_i64 / recv_i64: i64 = INT64;
        send_u64 / recv_u64: u64 = UINT64;
    }

    /// Sends a string's bytes, without terminator (tag [`tags::STRING`]).
    pub fn send_string(&mut self, s: &str) -> CommsResult<()> {
        self.send_tlv(tags::STRING, s.as_bytes())
    }

    /// Receives a string (tag [`tags::STRING`]); it must be UTF-8 (use [`Comms::recv_tlv`] for the
    /// raw bytes of a peer that sends other encodings).
    pub fn recv_string(&mut self) -> CommsResult<String> {
        let bytes = self.recv_expect(tags::STRING)?;
        String::from_utf8(bytes).map_err(|_| CommsError::InvalidValue {
            tag: tags::STRING,
            reason: "string is not UTF-8",
        })
    }

    /// Sends a byte array (tag [`tags::BYTES`]).
    pub fn send_bytes(&mut self, b: &[u8]) -> CommsResult<()> {
        self.send_tlv(tags::BYTES, b)
    }

    /// Receives a byte array (tag [`tags::BYTES`]).
    pub fn recv_bytes(&mut self) -> CommsResult<Vec<u8>> {
        self.recv_expect(tags::BYTES)
    }

    /// Sends a barrier: an empty message (tag [`tags::BARRIER`]) the peer waits for with
    /// [`Comms::recv_barrier`].
    pub fn send_barrier(&mut self) -> CommsResult<()> {
        self.send_tlv(tags::BARRIER, &[])
    }

    /// Waits for a barrier (tag [`tags::BARRIER`], empty payload).
    pub fn recv_barrier(&mut self) -> CommsResult<()> {
        self.recv_fixed::<0>(tags::BARRIER).map(|_| ())
    }

    /// Sends a copy of `fd`: header `{FD, 0}` with one `SCM_RIGHTS` descriptor. The caller keeps
    /// its own descriptor.
    pub fn send_fd(&mut self, fd: BorrowedFd<'_>) -> CommsResult<()> {
        self.send_message(tags::FD, &[], Ancillary::Fd(fd))
    }

    /// Receives a descriptor (close-on-exec). The message must carry tag [`tags::FD`], an empty
    /// payload and exactly one descriptor; otherwise every descriptor that arrived is closed and
    /// the call fails ([`CommsError::TagMismatch`], [`CommsError::BadLength`],
    /// [`CommsError::ControlTruncated`] or [`CommsError::FdCount`]).
    pub fn recv_fd(&mut self) -> CommsResult<OwnedFd> {
        let mut m = self.recv_message()?;
        check_tag(tags::FD, m.tag)?;
        check_len(tags::FD, 0, &m.payload)?;
        if m.ctrunc {
            return Err(CommsError::ControlTruncated);
        }
        if m.fds.len() != 1 {
            return Err(CommsError::FdCount {
                got: u32::try_from(m.fds.len()).unwrap_or(u32::MAX),
            });
        }
        Ok(m.fds.remove(0))
    }

    /// Sends this process's credentials: header `{CREDS, 0}` with `SCM_CREDENTIALS` holding our
    /// pid, uid and gid (the kernel checks them and translates them for the receiver).
    ///
    /// If the kernel refuses our own ids (a user namespace without a mapping for our uid), the
    /// header goes without the control message: the kernel then attaches the true credentials by
    /// itself, which it does whenever the receiver has `SO_PASSCRED`.
    pub fn send_creds(&mut self) -> CommsResult<()> {
        // SAFETY: getpid, getuid and getgid cannot fail and have no preconditions.
        let me = unsafe {
            Creds {
                pid: libc::getpid(),
                uid: libc::getuid(),
                gid: libc::getgid(),
            }
        };
        match self.send_message(tags::CREDS, &[], Ancillary::Creds(me)) {
            // Refused before any byte moved (the channel is intact): send it plainly.
            Err(CommsError::Io(libc::EINVAL | libc::EPERM)) if !self.is_terminated() => {
                self.send_message(tags::CREDS, &[], Ancillary::None)
            }
            r => r,
        }
    }

    /// Receives the peer's credentials, as the kernel attached them to the `{CREDS, 0}` message.
    /// Needs `SO_PASSCRED` on this end ([`CommsError::NoCredentials`] otherwise). Descriptors
    /// smuggled along are closed.
    pub fn recv_creds(&mut self) -> CommsResult<Creds> {
        let m = self.recv_message()?;
        check_tag(tags::CREDS, m.tag)?;
        check_len(tags::CREDS, 0, &m.payload)?;
        match m.creds {
            Some(c) if !m.creds_conflict => Ok(c),
            _ => Err(CommsError::NoCredentials),
        }
    }
}
