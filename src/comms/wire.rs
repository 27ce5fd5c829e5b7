//! The wire format shared with sandbox2: a packed 12-byte header `{u32 tag; u64 len}` in native
//! byte order, followed by `len` payload bytes.
//!
//! sandbox2 declares the length as `size_t`, so its header is 12 bytes only on 64-bit targets;
//! libsbx runs on 64-bit Linux only, where the two layouts agree.

/// Size of the message header on the wire.
pub const HEADER_LEN: usize = 12;

/// The hard upper bound of a message length, as in sandbox2 (`INT32_MAX`). No channel sends or
/// accepts more, whatever its configured maximum.
pub const HARD_MAX_MESSAGE_SIZE: u64 = i32::MAX as u64;

/// The default maximum size of a received message: 64 MiB.
///
/// Payloads are read into memory as they arrive, so a peer that lies about a length cannot make
/// this side allocate it; the limit bounds what an honest-but-hostile peer can make the receiver
/// hold. Raise it per channel with [`super::Comms::set_max_message_size`].
pub const DEFAULT_MAX_MESSAGE_SIZE: u64 = 64 << 20;

/// The tags of sandbox2's wire format. Tags at or above `0x8000_0000` belong to the library;
/// user messages use custom tags up to [`tags::MAX_CUSTOM`].
pub mod tags {
    /// A `bool`, one byte (0 or 1).
    pub const BOOL: u32 = 0x8000_0001;
    /// An `i8`, one byte.
    pub const INT8: u32 = 0x8000_0002;
    /// A `u8`, one byte.
    pub const UINT8: u32 = 0x8000_0003;
    /// An `i16`, two bytes, native endian.
    pub const INT16: u32 = 0x8000_0004;
    /// A `u16`, two bytes, native endian.
    pub const UINT16: u32 = 0x8000_0005;
    /// An `i32`, four bytes, native endian.
    pub const INT32: u32 = 0x8000_0006;
    /// A `u32`, four bytes, native endian.
    pub const UINT32: u32 = 0x8000_0007;
    /// An `i64`, eight bytes, native endian.
    pub const INT64: u32 = 0x8000_0008;
    /// A `u64`, eight bytes, native endian.
    pub const UINT64: u32 = 0x8000_0009;
    /// A string: its bytes, no terminator.
    pub const STRING: u32 = 0x8000_0100;
    /// An opaque byte array.
    pub const BYTES: u32 = 0x8000_0101;
    /// A serialized protocol buffer (sandbox2's `SendProtoBuf`).
    pub const PROTO2: u32 = 0x8000_0102;
    /// A synchronisation point with an empty payload.
    pub const BARRIER: u32 = 0x8000_0103;
    /// The protocol version exchange of sandbox2's client.
    pub const VERSION: u32 = 0x8000_0104;
    /// A file descriptor: empty payload, one `SCM_RIGHTS` descriptor in the same `sendmsg`.
    pub const FD: u32 = 0x8000_0201;
    /// Credentials: empty payload, `SCM_CREDENTIALS` in the same `sendmsg`.
    pub const CREDS: u32 = 0x8000_0202;
    /// sandbox2's request to switch to shared-memory transport.
    pub const COMMS_UPGRADE: u32 = 0x8000_0203;
    /// sandbox2's refusal of the shared-memory transport.
    pub const COMMS_NO_UPGRADE: u32 = 0x8000_0204;
    /// sandbox2's setup latency breakdown.
    pub const LATENCY_BREAKDOWN: u32 = 0x8000_0205;
    /// The largest tag a user message may carry.
    pub const MAX_CUSTOM: u32 = 0x7fff_ffff;
}

/// A decoded message header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub tag: u32,
    pub len: u64,
}

impl Header {
    pub fn encode(self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..4].copy_from_slice(&self.tag.to_ne_bytes());
        out[4..].copy_from_slice(&self.len.to_ne_bytes());
        out
    }

    pub fn decode(raw: &[u8; HEADER_LEN]) -> Header {
        let mut tag = [0u8; 4];
        let mut len = [0u8; 8];
        tag.copy_from_slice(&raw[..4]);
        len.copy_from_slice(&raw[4..]);
        Header {
            tag: u32::from_ne_bytes(tag),
            len: u64::from_ne_bytes(len),
        }
    }
}

/// The most a payload buffer grows ahead of the bytes that have arrived.
pub(crate) const READ_CHUNK: usize = 1 << 20;

/// How far to grow a payload buffer before the next read: at most [`READ_CHUNK`] beyond what has
/// arrived, never beyond the claimed length. Memory therefore follows the bytes that actually
/// arrive, not the length a peer claims.
pub(crate) fn next_fill_target(filled: usize, len: usize) -> usize {
    len.min(filled.saturating_add(READ_CHUNK))
}
