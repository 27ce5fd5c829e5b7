//! `sbx_violation`: the offending syscall, a view into its `sbx_result`; also the `sbx_syscall`
//! view that notify callbacks receive.

use super::{cstring, ResultHandle};
use crate::ffi::handle::{cstr_ptr, ref_from_ptr, write_array6};
use crate::ffi::panic::boundary;
use crate::Violation;
use std::ffi::{c_char, CString};

/// The Rust value behind an `sbx_violation`: the violation plus its strings as C strings.
pub(crate) struct ViolationHandle {
    v: Violation,
    name: CString,
    arch: CString,
}

impl ViolationHandle {
    /// Wraps a syscall for the `sbx_violation_*` accessors.
    pub(crate) fn new(v: Violation) -> ViolationHandle {
        ViolationHandle {
            name: cstring(&v.name),
            arch: cstring(&v.arch.label()),
            v,
        }
    }
}

/// The syscall that broke the policy, as the kernel presented it to seccomp. A view into an
/// `sbx_result`: never freed on its own, valid until that result is freed.
pub struct sbx_violation {
    _private: [u8; 0],
}

/// A violation handle stands on its result's slot (the result's violation) or, for a callback,
/// on a slot of its own that lives for the callback.
impl crate::ffi::handle::Castable for sbx_violation {
    type Ownership = crate::ffi::handle::OwnershipRef;
    type RustType = ViolationHandle;
    const KIND: u8 = crate::ffi::handle::kind::VIOLATION;
    const NAME: &'static str = "sbx_violation";
    const SLOT_KINDS: &'static [u8] = &[
        crate::ffi::handle::kind::RESULT,
        crate::ffi::handle::kind::SYSCALL_VIEW,
    ];
    fn resolve(slot_kind: u8, value: *mut ()) -> Option<*const ViolationHandle> {
        match slot_kind {
            crate::ffi::handle::kind::SYSCALL_VIEW => Some(value.cast_const().cast()),
            crate::ffi::handle::kind::RESULT => {
                // SAFETY: a result slot's value is the ResultHandle of an `Arc`, alive while the
                // caller's guard holds the slot.
                let r = unsafe { &*value.cast_const().cast::<ResultHandle>() };
                r.violation
                    .as_ref()
                    .map(std::ptr::from_ref::<ViolationHandle>)
            }
            _ => None,
        }
    }
}

/// A syscall as the kernel presented it to seccomp, passed to the `trace` and `violation`
/// callbacks of `sbx_notify_callbacks`. The same type as `sbx_violation`: read it with the
/// `sbx_violation_*` accessors. A view valid only during the callback; never freed.
pub type sbx_syscall = sbx_violation;

impl sbx_violation {
    /// Returns the ABI the call came through as a label, `"X86-64"`, `"X86-32"` (`int 0x80` on
    /// x86-64), `"X32"`, `"AARCH64"`, ...; owned by the view (it lives as long as the result, or
    /// for an `sbx_syscall`, the callback). NULL for NULL.
    #[no_mangle]
    pub extern "C" fn sbx_violation_arch(violation: *const sbx_violation) -> *const c_char {
        boundary(|| ref_from_ptr(violation).map_or(std::ptr::null(), |v| cstr_ptr(&v.arch)))
    }

    /// Returns the kernel's name of the syscall in that ABI (`"UNKNOWN"` when not in the table);
    /// owned by the view, as for `sbx_violation_arch`. NULL for NULL.
    #[no_mangle]
    pub extern "C" fn sbx_violation_syscall_name(violation: *const sbx_violation) -> *const c_char {
        boundary(|| ref_from_ptr(violation).map_or(std::ptr::null(), |v| cstr_ptr(&v.name)))
    }

    /// Returns the syscall number in that ABI's numbering (x32: with bit 30 set); 0 for NULL.
    #[no_mangle]
    pub extern "C" fn sbx_violation_nr(violation: *const sbx_violation) -> u64 {
        boundary(|| ref_from_ptr(violation).map_or(0, |v| v.v.nr))
    }

    /// Copies the six raw argument registers into `args_out`, which must have room for six
    /// `uint64_t`, and returns true; returns false without writing when an argument is NULL.
    #[no_mangle]
    pub extern "C" fn sbx_violation_args(
        violation: *const sbx_violation,
        args_out: *mut u64,
    ) -> bool {
        boundary(|| match ref_from_ptr(violation) {
            Some(v) if !args_out.is_null() => {
                write_array6(args_out, &v.v.args);
                true
            }
            _ => false,
        })
    }

    /// Returns the host pid of the thread that made the call; 0 for NULL.
    #[no_mangle]
    pub extern "C" fn sbx_violation_pid(violation: *const sbx_violation) -> i32 {
        boundary(|| ref_from_ptr(violation).map_or(0, |v| v.v.pid))
    }

    /// Returns the instruction pointer at the call; 0 for NULL.
    #[no_mangle]
    pub extern "C" fn sbx_violation_ip(violation: *const sbx_violation) -> u64 {
        boundary(|| ref_from_ptr(violation).map_or(0, |v| v.v.ip))
    }

    /// Returns the stack pointer at the call; 0 for NULL.
    #[no_mangle]
    pub extern "C" fn sbx_violation_sp(violation: *const sbx_violation) -> u64 {
        boundary(|| ref_from_ptr(violation).map_or(0, |v| v.v.sp))
    }
}
