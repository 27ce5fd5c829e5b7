//! `sbx_comms`: one end of the typed channel between host and sandboxee (sandbox2's Comms).

use super::failure::sbx_error;
use super::handle::{
    box_into_ptr, castable, check_out, dup_fd, free_box, free_malloced, malloc_copy, ref_from_ptr,
    try_borrow_fd, try_mut, try_ref, try_slice, try_str, write_out, Byte,
};
use super::panic::{boundary, boundary_status};
use super::status::sbx_status;
use crate::comms::{Comms, CommsResult, Creds};
use std::ffi::c_char;
use std::os::fd::IntoRawFd;
use std::time::Duration;

/// Process credentials as the kernel reports them (`struct ucred`), translated into the
/// receiver's pid and user namespaces.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct sbx_creds {
    /// Process id; 0 when the sender is not visible in the receiver's pid namespace.
    pub pid: i32,
    /// User id (the overflow uid when unmapped).
    pub uid: u32,
    /// Group id (the overflow gid when unmapped).
    pub gid: u32,
}

impl From<Creds> for sbx_creds {
    fn from(c: Creds) -> Self {
        sbx_creds {
            pid: c.pid,
            uid: c.uid,
            gid: c.gid,
        }
    }
}

/// One end of a comms channel: a unix stream socket carrying typed messages, wire-compatible
/// with sandbox2's Comms (a 12-byte header `{uint32 tag; uint64 len}` in native byte order, then
/// the payload; descriptors and credentials travel as ancillary data).
///
/// The host gets its end from `sbx_sandbox_take_comms` (after `sbx_executor_enable_comms` or
/// `sbx_executor_set_sandbox_before_exec(e, false)`), the sandboxee from `sbx_comms_client`;
/// `sbx_comms_pair` makes a connected pair in one process. Every receive is defensive against a
/// hostile peer: lengths above the maximum message size are refused before allocating, and
/// descriptors that arrive where none were asked for are closed.
///
/// Received buffers and strings are new `malloc` allocations owned by the caller and released
/// with `sbx_bytes_free` / `sbx_string_free`; received descriptors belong to the caller (they
/// are close-on-exec). Sent data and descriptors are only read: the caller keeps its own.
///
/// Not thread-safe: one call at a time (a handle may be moved to another thread between calls).
/// Freeing it closes the socket; the peer then sees the end of the stream.
pub struct sbx_comms {
    _private: [u8; 0],
}

castable!(sbx_comms => Comms, OwnershipBox, super::handle::kind::COMMS);

/// Runs one operation on `comms` that produces nothing.
fn op(
    comms: *mut sbx_comms,
    err_out: *mut *mut sbx_error,
    f: impl FnOnce(&mut Comms) -> CommsResult<()>,
) -> sbx_status {
    boundary_status(err_out, || {
        f(&mut *try_mut(comms, "comms")?)?;
        Ok(())
    })
}

/// Runs one receive on `comms` and stores the value in `*value_out` (checked first, so a NULL
/// output consumes no message).
fn recv_into<T: Copy>(
    comms: *mut sbx_comms,
    value_out: *mut T,
    err_out: *mut *mut sbx_error,
    f: impl FnOnce(&mut Comms) -> CommsResult<T>,
) -> sbx_status {
    boundary_status(err_out, || {
        let mut c = try_mut(comms, "comms")?;
        check_out(value_out, "value_out")?;
        write_out(value_out, f(&mut c)?);
        Ok(())
    })
}

/// Runs one receive of a payload and hands it to C as a new `malloc` buffer (with `extra` zero
/// bytes after it) and its length. `len_out` is required unless `len_optional`.
fn recv_buffer<B: Byte>(
    comms: *mut sbx_comms,
    (data_out, data_name): (*mut *mut B, &str),
    len_out: *mut usize,
    len_optional: bool,
    extra: usize,
    err_out: *mut *mut sbx_error,
    f: impl FnOnce(&mut Comms) -> CommsResult<Vec<u8>>,
) -> sbx_status {
    boundary_status(err_out, || {
        let mut c = try_mut(comms, "comms")?;
        check_out(data_out, data_name)?;
        if !len_optional {
            check_out(len_out, "len_out")?;
        }
        let payload = f(&mut c)?;
        write_out(data_out, malloc_copy::<B>(&payload, extra)?);
        write_out(len_out, payload.len());
        Ok(())
    })
}

impl sbx_comms {
    /// Creates a connected pair of channel ends in this process (a unix socketpair with
    /// `SO_PASSCRED` on both ends). The caller owns both and frees each with `sbx_comms_free`.
    /// Both outputs are written only on success.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`first_out`, `second_out`), `SBX_STATUS_COMMS`
    /// (`SBX_COMMS_ERROR_IO`: the socketpair failed).
    #[no_mangle]
    pub extern "C" fn sbx_comms_pair(
        first_out: *mut *mut sbx_comms,
        second_out: *mut *mut sbx_comms,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            check_out(first_out, "first_out")?;
            check_out(second_out, "second_out")?;
            let (a, b) = Comms::pair()?;
            write_out(first_out, box_into_ptr::<sbx_comms>(a));
            write_out(second_out, box_into_ptr::<sbx_comms>(b));
            Ok(())
        })
    }

    /// Wraps a copy of `fd`, a connected `AF_UNIX` stream socket, as a channel end. `fd` is
    /// duplicated: the caller keeps and closes its own (the peer sees the end of the stream only
    /// once both are closed). Socket options are left alone; call `sbx_comms_set_pass_creds`
    /// if this end must receive credentials. The caller frees `*comms_out` with
    /// `sbx_comms_free`.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`comms_out`), `SBX_STATUS_INVALID_ARGUMENT` (`fd`
    /// negative or not open), `SBX_STATUS_OS_ERROR` (the duplication failed).
    #[no_mangle]
    pub extern "C" fn sbx_comms_from_fd(
        fd: i32,
        comms_out: *mut *mut sbx_comms,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            check_out(comms_out, "comms_out")?;
            let fd = dup_fd(fd, "fd")?;
            write_out(comms_out, box_into_ptr::<sbx_comms>(Comms::from_fd(fd)));
            Ok(())
        })
    }

    /// The sandboxee's end of the channel its host set up: descriptor 1023, or the number in
    /// the `SBX_COMMS_FD` (else sandbox2's `SANDBOX2_COMMS_FD`) environment variable, which is
    /// then removed from the environment (so call this before starting threads that read the
    /// environment). The descriptor can be claimed once per process; the caller owns
    /// `*comms_out` and frees it with `sbx_comms_free`, which closes the descriptor.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`comms_out`), `SBX_STATUS_COMMS` with
    /// `SBX_COMMS_ERROR_INVALID_FD` (no such open unix stream socket, a malformed variable, or
    /// already claimed).
    #[no_mangle]
    pub extern "C" fn sbx_comms_client(
        comms_out: *mut *mut sbx_comms,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            check_out(comms_out, "comms_out")?;
            write_out(comms_out, box_into_ptr::<sbx_comms>(Comms::client()?));
            Ok(())
        })
    }

    /// Sets the largest payload this end accepts (default 64 MiB; clamped to the wire format's
    /// hard maximum of 2^31 - 1 bytes). A longer incoming message fails with
    /// `SBX_COMMS_ERROR_TOO_LARGE` and terminates the channel. Sends are not limited by it.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`comms`).
    #[no_mangle]
    pub extern "C" fn sbx_comms_set_max_message_size(
        comms: *mut sbx_comms,
        max_bytes: u64,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        op(comms, err_out, |c| {
            c.set_max_message_size(max_bytes);
            Ok(())
        })
    }

    /// Returns the largest payload this end accepts (0 for NULL).
    #[no_mangle]
    pub extern "C" fn sbx_comms_max_message_size(comms: *const sbx_comms) -> u64 {
        boundary(|| ref_from_ptr(comms).map_or(0, |c| c.max_message_size()))
    }

    /// Sets a timeout in milliseconds for each blocking send and receive (`SO_SNDTIMEO` and
    /// `SO_RCVTIMEO`); 0 blocks forever, the default. An expired timeout fails the call with
    /// `SBX_COMMS_ERROR_TIMEOUT`.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`comms`), `SBX_STATUS_COMMS`
    /// (`SBX_COMMS_ERROR_CLOSED` once terminated, `SBX_COMMS_ERROR_IO`).
    #[no_mangle]
    pub extern "C" fn sbx_comms_set_timeout_ms(
        comms: *mut sbx_comms,
        timeout_ms: u64,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        op(comms, err_out, |c| {
            c.set_timeout(Some(Duration::from_millis(timeout_ms)).filter(|d| !d.is_zero()))
        })
    }

    /// Turns `SO_PASSCRED` on or off for this end; receiving credentials needs it on
    /// (`sbx_comms_pair` and the channel of a sandbox turn it on).
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`comms`), `SBX_STATUS_COMMS`
    /// (`SBX_COMMS_ERROR_CLOSED` once terminated, `SBX_COMMS_ERROR_IO`).
    #[no_mangle]
    pub extern "C" fn sbx_comms_set_pass_creds(
        comms: *mut sbx_comms,
        on: bool,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        op(comms, err_out, |c| c.set_pass_creds(on))
    }

    /// Returns whether the channel was terminated, by `sbx_comms_terminate` or by a failure
    /// that left the stream out of step (false for NULL).
    #[no_mangle]
    pub extern "C" fn sbx_comms_is_terminated(comms: *const sbx_comms) -> bool {
        boundary(|| ref_from_ptr(comms).is_some_and(|c| c.is_terminated()))
    }

    /// Closes the socket; every later operation fails with `SBX_COMMS_ERROR_CLOSED` and the
    /// peer sees the end of the stream. The handle must still be freed.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`comms`).
    #[no_mangle]
    pub extern "C" fn sbx_comms_terminate(comms: *mut sbx_comms) -> sbx_status {
        op(comms, std::ptr::null_mut(), |c| {
            c.terminate();
            Ok(())
        })
    }

    /// Returns the socket's descriptor number (to `poll(2)` for input between calls), or -1 once
    /// terminated and for NULL. It stays owned by `comms`: do not close it or read from it.
    #[no_mangle]
    pub extern "C" fn sbx_comms_fd(comms: *const sbx_comms) -> i32 {
        boundary(|| ref_from_ptr(comms).map_or(-1, |c| c.as_raw_fd()))
    }

    /// Stores the credentials of the peer socket's creator (`SO_PEERCRED`) in `*creds_out`; for
    /// the sandboxee's channel that is the host process.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`comms`, `creds_out`), `SBX_STATUS_COMMS`
    /// (`SBX_COMMS_ERROR_CLOSED`, `SBX_COMMS_ERROR_IO`).
    #[no_mangle]
    pub extern "C" fn sbx_comms_peer_creds(
        comms: *const sbx_comms,
        creds_out: *mut sbx_creds,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let c = try_ref(comms, "comms")?;
            check_out(creds_out, "creds_out")?;
            write_out(creds_out, c.peer_creds()?.into());
            Ok(())
        })
    }

    /// Sends one message with any tag (libsbx's own included) and the `len` bytes at `data`
    /// (NULL is fine when `len` is 0).
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`comms`, `data` with `len` > 0), `SBX_STATUS_COMMS`
    /// (`SBX_COMMS_ERROR_TOO_LARGE`, `SBX_COMMS_ERROR_CLOSED`, `SBX_COMMS_ERROR_TIMEOUT`,
    /// `SBX_COMMS_ERROR_IO`), as for every send below.
    #[no_mangle]
    pub extern "C" fn sbx_comms_send_tlv(
        comms: *mut sbx_comms,
        tag: u32,
        data: *const u8,
        len: usize,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut c = try_mut(comms, "comms")?;
            c.send_tlv(tag, try_slice(data, len, "data")?)?;
            Ok(())
        })
    }

    /// Receives the next message whatever its tag: `*tag_out` receives the tag, `*data_out` a
    /// new buffer with the payload (never NULL on success, also when empty; free it with
    /// `sbx_bytes_free`) and `*len_out` its length. Descriptors that came with it are closed.
    /// All outputs are required and written only on success.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`comms`, an output), `SBX_STATUS_COMMS`
    /// (`SBX_COMMS_ERROR_CLOSED`, `_TRUNCATED`, `_TOO_LARGE`, `_TIMEOUT`, `_IO`), as for every
    /// receive below; `SBX_STATUS_OS_ERROR` (`ENOMEM` for the buffer).
    #[no_mangle]
    pub extern "C" fn sbx_comms_recv_tlv(
        comms: *mut sbx_comms,
        tag_out: *mut u32,
        data_out: *mut *mut u8,
        len_out: *mut usize,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut c = try_mut(comms, "comms")?;
            check_out(tag_out, "tag_out")?;
            check_out(data_out, "data_out")?;
            check_out(len_out, "len_out")?;
            let (tag, payload) = c.recv_tlv()?;
            write_out(data_out, malloc_copy::<u8>(&payload, 0)?);
            write_out(len_out, payload.len());
            write_out(tag_out, tag);
            Ok(())
        })
    }

    /// Sends a user message: `tag` must be below `0x80000000` (higher tags are libsbx's and
    /// sandbox2's), with the `len` bytes at `data` (NULL is fine when `len` is 0).
    ///
    /// Errors: as `sbx_comms_send_tlv`, and `SBX_COMMS_ERROR_BAD_CUSTOM_TAG`.
    #[no_mangle]
    pub extern "C" fn sbx_comms_send_custom(
        comms: *mut sbx_comms,
        tag: u32,
        data: *const u8,
        len: usize,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut c = try_mut(comms, "comms")?;
            c.send_custom(tag, try_slice(data, len, "data")?)?;
            Ok(())
        })
    }

    /// Receives a user message that must carry tag `expected_tag` (below `0x80000000`):
    /// `*data_out` receives a new buffer with the payload (never NULL on success; free it with
    /// `sbx_bytes_free`) and `*len_out` its length. Both outputs are required.
    ///
    /// Errors: as `sbx_comms_recv_tlv`, and `SBX_COMMS_ERROR_BAD_CUSTOM_TAG`,
    /// `SBX_COMMS_ERROR_TAG_MISMATCH` (the message was consumed).
    #[no_mangle]
    pub extern "C" fn sbx_comms_recv_custom(
        comms: *mut sbx_comms,
        expected_tag: u32,
        data_out: *mut *mut u8,
        len_out: *mut usize,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        recv_buffer(comms, (data_out, "data_out"), len_out, false, 0, err_out, |c| {
            c.recv_custom(expected_tag)
        })
    }

    /// Sends a `bool` (one byte, 0 or 1).
    ///
    /// Errors: as `sbx_comms_send_tlv`.
    #[no_mangle]
    pub extern "C" fn sbx_comms_send_bool(
        comms: *mut sbx_comms,
        value: bool,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        op(comms, err_out, |c| c.send_bool(value))
    }

    /// Receives a `bool` into `*value_out` (required).
    ///
    /// Errors: as `sbx_comms_recv_tlv`, and `SBX_COMMS_ERROR_TAG_MISMATCH`,
    /// `SBX_COMMS_ERROR_BAD_LENGTH`, `SBX_COMMS_ERROR_INVALID_VALUE` (a byte other than 0 or
    /// 1); the channel stays usable after these three, as for every typed receive.
    #[no_mangle]
    pub extern "C" fn sbx_comms_recv_bool(
        comms: *mut sbx_comms,
        value_out: *mut bool,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        recv_into(comms, value_out, err_out, Comms::recv_bool)
    }

    /// Sends an `int8_t`.
    ///
    /// Errors: as `sbx_comms_send_tlv`.
    #[no_mangle]
    pub extern "C" fn sbx_comms_send_int8(
        comms: *mut sbx_comms,
        value: i8,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        op(comms, err_out, |c| c.send_i8(value))
    }

    /// Receives an `int8_t` into `*value_out` (required).
    ///
    /// Errors: as `sbx_comms_recv_bool`.
    #[no_mangle]
    pub extern "C" fn sbx_comms_recv_int8(
        comms: *mut sbx_comms,
        value_out: *mut i8,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        recv_into(comms, value_out, err_out, Comms::recv_i8)
    }

    /// Sends a `uint8_t`.
    ///
    /// Errors: as `sbx_comms_send_tlv`.
    #[no_mangle]
    pub extern "C" fn sbx_comms_send_uint8(
        comms: *mut sbx_comms,
        value: u8,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        op(comms, err_out, |c| c.send_u8(value))
    }

    /// Receives a `uint8_t` into `*value_out` (required).
    ///
    /// Errors: as `sbx_comms_recv_bool`.
    #[no_mangle]
    pub extern "C" fn sbx_comms_recv_uint8(
        comms: *mut sbx_comms,
        value_out: *mut u8,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        recv_into(comms, value_out, err_out, Comms::recv_u8)
    }

    /// Sends an `int16_t`.
    ///
    /// Errors: as `sbx_comms_send_tlv`.
    #[no_mangle]
    pub extern "C" fn sbx_comms_send_int16(
        comms: *mut sbx_comms,
        value: i16,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        op(comms, err_out, |c| c.send_i16(value))
    }

    /// Receives an `int16_t` into `*value_out` (required).
    ///
    /// Errors: as `sbx_comms_recv_bool`.
    #[no_mangle]
    pub extern "C" fn sbx_comms_recv_int16(
        comms: *mut sbx_comms,
        value_out: *mut i16,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        recv_into(comms, value_out, err_out, Comms::recv_i16)
    }

    /// Sends a `uint16_t`.
    ///
    /// Errors: as `sbx_comms_send_tlv`.
    #[no_mangle]
    pub extern "C" fn sbx_comms_send_uint16(
        comms: *mut sbx_comms,
        value: u16,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        op(comms, err_out, |c| c.send_u16(value))
    }

    /// Receives a `uint16_t` into `*value_out` (required).
    ///
    /// Errors: as `sbx_comms_recv_bool`.
    #[no_mangle]
    pub extern "C" fn sbx_comms_recv_uint16(
        comms: *mut sbx_comms,
        value_out: *mut u16,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        recv_into(comms, value_out, err_out, Comms::recv_u16)
    }

    /// Sends an `int32_t`.
    ///
    /// Errors: as `sbx_comms_send_tlv`.
    #[no_mangle]
    pub extern "C" fn sbx_comms_send_int32(
        comms: *mut sbx_comms,
        value: i32,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        op(comms, err_out, |c| c.send_i32(value))
    }

    /// Receives an `int32_t` into `*value_out` (required).
    ///
    /// Errors: as `sbx_comms_recv_bool`.
    #[no_mangle]
    pub extern "C" fn sbx_comms_recv_int32(
        comms: *mut sbx_comms,
        value_out: *mut i32,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        recv_into(comms, value_out, err_out, Comms::recv_i32)
    }

    /// Sends a `uint32_t`.
    ///
    /// Errors: as `sbx_comms_send_tlv`.
    #[no_mangle]
    pub extern "C" fn sbx_comms_send_uint32(
        comms: *mut sbx_comms,
        value: u32,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        op(comms, err_out, |c| c.send_u32(value))
    }

    /// Receives a `uint32_t` into `*value_out` (required).
    ///
    /// Errors: as `sbx_comms_recv_bool`.
    #[no_mangle]
    pub extern "C" fn sbx_comms_recv_uint32(
        comms: *mut sbx_comms,
        value_out: *mut u32,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        recv_into(comms, value_out, err_out, Comms::recv_u32)
    }

    /// Sends an `int64_t`.
    ///
    /// Errors: as `sbx_comms_send_tlv`.
    #[no_mangle]
    pub extern "C" fn sbx_comms_send_int64(
        comms: *mut sbx_comms,
        value: i64,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        op(comms, err_out, |c| c.send_i64(value))
    }

    /// Receives an `int64_t` into `*value_out` (required).
    ///
    /// Errors: as `sbx_comms_recv_bool`.
    #[no_mangle]
    pub extern "C" fn sbx_comms_recv_int64(
        comms: *mut sbx_comms,
        value_out: *mut i64,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        recv_into(comms, value_out, err_out, Comms::recv_i64)
    }

    /// Sends a `uint64_t`.
    ///
    /// Errors: as `sbx_comms_send_tlv`.
    #[no_mangle]
    pub extern "C" fn sbx_comms_send_uint64(
        comms: *mut sbx_comms,
        value: u64,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        op(comms, err_out, |c| c.send_u64(value))
    }

    /// Receives a `uint64_t` into `*value_out` (required).
    ///
    /// Errors: as `sbx_comms_recv_bool`.
    #[no_mangle]
    pub extern "C" fn sbx_comms_recv_uint64(
        comms: *mut sbx_comms,
        value_out: *mut u64,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        recv_into(comms, value_out, err_out, Comms::recv_u64)
    }

    /// Sends the UTF-8 string `s` (NUL-terminated; the terminator is not sent).
    ///
    /// Errors: as `sbx_comms_send_tlv`, and `SBX_STATUS_NULL_PARAMETER` (`s`),
    /// `SBX_STATUS_INVALID_ARGUMENT` (`s` not UTF-8; nothing was sent).
    #[no_mangle]
    pub extern "C" fn sbx_comms_send_string(
        comms: *mut sbx_comms,
        s: *const c_char,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut c = try_mut(comms, "comms")?;
            c.send_string(try_str(s, "s")?)?;
            Ok(())
        })
    }

    /// Receives a UTF-8 string: `*string_out` receives a new NUL-terminated copy (free it with
    /// `sbx_string_free`), and `*len_out`, when not NULL, its length in bytes without the
    /// terminator (a string may itself contain NUL bytes).
    ///
    /// Errors: as `sbx_comms_recv_bool` (`SBX_COMMS_ERROR_INVALID_VALUE`: not UTF-8), and
    /// `SBX_STATUS_NULL_PARAMETER` (`string_out`).
    #[no_mangle]
    pub extern "C" fn sbx_comms_recv_string(
        comms: *mut sbx_comms,
        string_out: *mut *mut c_char,
        len_out: *mut usize,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        recv_buffer(comms, (string_out, "string_out"), len_out, true, 1, err_out, |c| {
            c.recv_string().map(String::into_bytes)
        })
    }

    /// Sends the `len` bytes at `data` as a byte array (NULL is fine when `len` is 0).
    ///
    /// Errors: as `sbx_comms_send_tlv`.
    #[no_mangle]
    pub extern "C" fn sbx_comms_send_bytes(
        comms: *mut sbx_comms,
        data: *const u8,
        len: usize,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut c = try_mut(comms, "comms")?;
            c.send_bytes(try_slice(data, len, "data")?)?;
            Ok(())
        })
    }

    /// Receives a byte array: `*data_out` receives a new buffer (never NULL on success, also
    /// when empty; free it with `sbx_bytes_free`) and `*len_out` its length. Both outputs are
    /// required.
    ///
    /// Errors: as `sbx_comms_recv_tlv`, and `SBX_COMMS_ERROR_TAG_MISMATCH`.
    #[no_mangle]
    pub extern "C" fn sbx_comms_recv_bytes(
        comms: *mut sbx_comms,
        data_out: *mut *mut u8,
        len_out: *mut usize,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        recv_buffer(
            comms,
            (data_out, "data_out"),
            len_out,
            false,
            0,
            err_out,
            Comms::recv_bytes,
        )
    }

    /// Sends a barrier, an empty message the peer waits for with `sbx_comms_recv_barrier`.
    ///
    /// Errors: as `sbx_comms_send_tlv`.
    #[no_mangle]
    pub extern "C" fn sbx_comms_send_barrier(
        comms: *mut sbx_comms,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        op(comms, err_out, Comms::send_barrier)
    }

    /// Waits for a barrier from the peer.
    ///
    /// Errors: as `sbx_comms_recv_bool`.
    #[no_mangle]
    pub extern "C" fn sbx_comms_recv_barrier(
        comms: *mut sbx_comms,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        op(comms, err_out, Comms::recv_barrier)
    }

    /// Sends a copy of descriptor `fd` (`SCM_RIGHTS`); the caller keeps and closes its own.
    ///
    /// Errors: as `sbx_comms_send_tlv`, and `SBX_STATUS_INVALID_ARGUMENT` (`fd` negative or not
    /// open).
    #[no_mangle]
    pub extern "C" fn sbx_comms_send_fd(
        comms: *mut sbx_comms,
        fd: i32,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut c = try_mut(comms, "comms")?;
            c.send_fd(try_borrow_fd(fd, "fd")?)?;
            Ok(())
        })
    }

    /// Receives a descriptor into `*fd_out` (required). The caller owns it and closes it; it is
    /// close-on-exec. A message with no descriptor or several is refused and whatever it
    /// carried is closed.
    ///
    /// Errors: as `sbx_comms_recv_bool`, and `SBX_COMMS_ERROR_FD_COUNT`,
    /// `SBX_COMMS_ERROR_CONTROL_TRUNCATED`.
    #[no_mangle]
    pub extern "C" fn sbx_comms_recv_fd(
        comms: *mut sbx_comms,
        fd_out: *mut i32,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        recv_into(comms, fd_out, err_out, |c| {
            c.recv_fd().map(IntoRawFd::into_raw_fd)
        })
    }

    /// Sends this process's credentials (pid, uid, gid); the kernel checks them and translates
    /// them into the receiver's namespaces.
    ///
    /// Errors: as `sbx_comms_send_tlv`.
    #[no_mangle]
    pub extern "C" fn sbx_comms_send_creds(
        comms: *mut sbx_comms,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        op(comms, err_out, Comms::send_creds)
    }

    /// Receives the peer's credentials, as the kernel attached them, into `*creds_out`
    /// (required). This end needs `SO_PASSCRED` (see `sbx_comms_set_pass_creds`).
    ///
    /// Errors: as `sbx_comms_recv_bool`, and `SBX_COMMS_ERROR_NO_CREDENTIALS`.
    #[no_mangle]
    pub extern "C" fn sbx_comms_recv_creds(
        comms: *mut sbx_comms,
        creds_out: *mut sbx_creds,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        recv_into(comms, creds_out, err_out, |c| {
            c.recv_creds().map(Into::into)
        })
    }

    /// Frees a channel end, closing its socket (the peer sees the end of the stream). NULL is a
    /// no-op.
    #[no_mangle]
    pub extern "C" fn sbx_comms_free(comms: *mut sbx_comms) {
        boundary(|| free_box(comms));
    }
}

/// Frees a buffer returned by `sbx_comms_recv_bytes`, `sbx_comms_recv_custom` or
/// `sbx_comms_recv_tlv`. NULL is a no-op.
#[no_mangle]
pub extern "C" fn sbx_bytes_free(data: *mut u8) {
    boundary(|| free_malloced(data));
}

/// Frees a string returned by `sbx_comms_recv_string` or `sbx_policy_builder_load_oci_profile`.
/// NULL is a no-op.
#[no_mangle]
pub extern "C" fn sbx_string_free(s: *mut c_char) {
    boundary(|| free_malloced(s));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::failure::{sbx_comms_error, sbx_error};

    #[test]
    fn round_trip_and_error_detail_from_rust() {
        let mut a = std::ptr::null_mut();
        let mut b = std::ptr::null_mut();
        assert_eq!(
            sbx_comms::sbx_comms_pair(&mut a, &mut b, std::ptr::null_mut()),
            sbx_status::Ok
        );
        assert_eq!(
            sbx_comms::sbx_comms_send_uint32(a, 7, std::ptr::null_mut()),
            sbx_status::Ok
        );
        // A typed receive of the wrong type: COMMS with TAG_MISMATCH, the channel survives.
        let mut v: i64 = 0;
        let mut err: *mut sbx_error = std::ptr::null_mut();
        assert_eq!(
            sbx_comms::sbx_comms_recv_int64(b, &mut v, &mut err),
            sbx_status::Comms
        );
        assert_eq!(
            sbx_error::sbx_error_comms_code(err),
            sbx_comms_error::TagMismatch
        );
        sbx_error::sbx_error_free(err);
        assert!(!sbx_comms::sbx_comms_is_terminated(b));
        // A NULL output consumes nothing.
        assert_eq!(
            sbx_comms::sbx_comms_send_uint64(a, 9, std::ptr::null_mut()),
            sbx_status::Ok
        );
        assert_eq!(
            sbx_comms::sbx_comms_recv_uint64(b, std::ptr::null_mut(), std::ptr::null_mut()),
            sbx_status::NullParameter
        );
        let mut u: u64 = 0;
        assert_eq!(
            sbx_comms::sbx_comms_recv_uint64(b, &mut u, std::ptr::null_mut()),
            sbx_status::Ok
        );
        assert_eq!(u, 9);
        sbx_comms::sbx_comms_free(a);
        let mut err: *mut sbx_error = std::ptr::null_mut();
        assert_eq!(
            sbx_comms::sbx_comms_recv_uint64(b, &mut u, &mut err),
            sbx_status::Comms
        );
        assert_eq!(
            sbx_error::sbx_error_comms_code(err),
            sbx_comms_error::Closed
        );
        sbx_error::sbx_error_free(err);
        sbx_comms::sbx_comms_free(b);
    }
}

/// Tag of the message a host sends first to a sandboxee started with sandboxing before exec
/// turned off: the compiled policy, read by `sbx_client_sandbox_me_here` (and accepted by
/// `sbx_client_decode_policy`).
pub const SBX_CLIENT_POLICY_TAG: u32 = 0x8000_0401;
/// Tag of a bool message (`sbx_comms_send_bool`), sandbox2's wire format.
pub const SBX_COMMS_TAG_BOOL: u32 = 0x8000_0001;
/// Tag of an int8 message; int8..uint64 follow as 0x80000002..0x80000009.
pub const SBX_COMMS_TAG_INT8: u32 = 0x8000_0002;
/// Tag of a uint64 message.
pub const SBX_COMMS_TAG_UINT64: u32 = 0x8000_0009;
/// Tag of a string message (`sbx_comms_send_string`).
pub const SBX_COMMS_TAG_STRING: u32 = 0x8000_0100;
/// Tag of a bytes message (`sbx_comms_send_bytes`).
pub const SBX_COMMS_TAG_BYTES: u32 = 0x8000_0101;
/// Tag of a barrier message (`sbx_comms_send_barrier`).
pub const SBX_COMMS_TAG_BARRIER: u32 = 0x8000_0103;
/// Tag of an fd message (`sbx_comms_send_fd`).
pub const SBX_COMMS_TAG_FD: u32 = 0x8000_0201;
/// Largest tag a custom message may use (`sbx_comms_send_custom`).
pub const SBX_COMMS_MAX_CUSTOM_TAG: u32 = 0x7fff_ffff;

#[cfg(test)]
mod tag_constants {
    #[test]
    fn c_constants_match_the_rust_ones() {
        use crate::comms::tags;
        assert_eq!(super::SBX_CLIENT_POLICY_TAG, crate::client::POLICY_TAG);
        assert_eq!(super::SBX_COMMS_TAG_BOOL, tags::BOOL);
        assert_eq!(super::SBX_COMMS_TAG_INT8, tags::INT8);
        assert_eq!(super::SBX_COMMS_TAG_UINT64, tags::UINT64);
        assert_eq!(super::SBX_COMMS_TAG_STRING, tags::STRING);
        assert_eq!(super::SBX_COMMS_TAG_BYTES, tags::BYTES);
        assert_eq!(super::SBX_COMMS_TAG_BARRIER, tags::BARRIER);
        assert_eq!(super::SBX_COMMS_TAG_FD, tags::FD);
        assert_eq!(super::SBX_COMMS_MAX_CUSTOM_TAG, tags::MAX_CUSTOM);
    }
}
