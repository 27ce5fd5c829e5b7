//! Strings, byte buffers, barriers, file descriptors and credentials; then freeing a channel
//! end and the buffers and strings it handed out (last, as in sbx.h).

use super::{op, recv_buffer, recv_into, sbx_comms, sbx_creds};
use crate::comms::Comms;
use crate::ffi::failure::sbx_error;
use crate::ffi::handle::{free_box, free_malloced, try_borrow_fd, try_mut, try_slice, try_str};
use crate::ffi::panic::{boundary, boundary_status};
use crate::ffi::status::sbx_status;
use std::ffi::c_char;
use std::os::fd::IntoRawFd;

impl sbx_comms {
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
        recv_buffer(
            comms,
            (string_out, "string_out"),
            len_out,
            true,
            1,
            err_out,
            |c| c.recv_string().map(String::into_bytes),
        )
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
