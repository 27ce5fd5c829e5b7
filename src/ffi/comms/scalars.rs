//! Typed scalars in sandbox2's wire format: `bool` and the fixed-width integers, one send and
//! one receive each.

use super::{op, recv_into, sbx_comms};
use crate::comms::Comms;
use crate::ffi::failure::sbx_error;
use crate::ffi::status::sbx_status;

impl sbx_comms {
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
}
