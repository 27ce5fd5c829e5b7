//! Messages by tag: any tag with raw bytes (`sbx_comms_send_tlv`, `sbx_comms_recv_tlv`), and
//! custom tags (`sbx_comms_send_custom`, `sbx_comms_recv_custom`).

use super::{recv_buffer, sbx_comms};
use crate::ffi::failure::sbx_error;
use crate::ffi::handle::{check_out, malloc_copy, try_mut, try_slice, write_out};
use crate::ffi::panic::boundary_status;
use crate::ffi::status::sbx_status;

impl sbx_comms {
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
        recv_buffer(
            comms,
            (data_out, "data_out"),
            len_out,
            false,
            0,
            err_out,
            |c| c.recv_custom(expected_tag),
        )
    }
}
