//! `sbx_policy`: a built, immutable seccomp policy, shareable between sandboxes and threads.

use super::handle::{
    arc_clone, arc_into_ptr, castable, cstr_ptr, free_arc, ref_from_ptr, try_slice, write_out,
};
use super::panic::boundary;
use crate::policy::SeccompData;
use crate::Policy;
use std::ffi::{c_char, CString};
use std::sync::{Arc, OnceLock};

/// One classic-BPF instruction, laid out as the kernel's `struct sock_filter`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct sbx_sock_filter {
    /// Opcode.
    pub code: u16,
    /// Jump offset when the condition holds.
    pub jt: u8,
    /// Jump offset when it does not.
    pub jf: u8,
    /// Constant or offset operand.
    pub k: u32,
}

/// The Rust value behind an `sbx_policy`: the policy plus what C reads from it, computed once.
pub(crate) struct PolicyHandle {
    pub(crate) policy: Policy,
    program: Vec<sbx_sock_filter>,
    disassembly: OnceLock<CString>,
}

impl PolicyHandle {
    /// Wraps a built policy as a new `const sbx_policy *` holding one reference.
    pub(crate) fn into_ptr(policy: Policy) -> *const sbx_policy {
        let program = policy
            .program()
            .iter()
            .map(|i| sbx_sock_filter {
                code: i.code,
                jt: i.jt,
                jf: i.jf,
                k: i.k,
            })
            .collect();
        arc_into_ptr::<sbx_policy>(Arc::new(PolicyHandle {
            policy,
            program,
            disassembly: OnceLock::new(),
        }))
    }
}

/// A built seccomp policy (mandatory rules, then the user's). Immutable: a `const sbx_policy *`
/// may be used by many sandboxes and threads at once. Reference counted: each pointer
/// returned by `sbx_policy_builder_build` or `sbx_policy_clone` is released with one
/// `sbx_policy_free`.
pub struct sbx_policy {
    _private: [u8; 0],
}

castable!(sbx_policy => PolicyHandle, OwnershipArc, super::handle::kind::POLICY);

impl sbx_policy {
    /// Returns a new handle to the same policy (NULL for NULL or a handle that is not a live
    /// policy); release each handle with `sbx_policy_free`.
    #[no_mangle]
    pub extern "C" fn sbx_policy_clone(policy: *const sbx_policy) -> *const sbx_policy {
        boundary(|| arc_clone(policy))
    }

    /// Returns the compiled filter as text, one `NNN: instruction` line per BPF instruction with
    /// syscall names noted. The string belongs to `policy` and lives until its last reference is
    /// freed. Returns NULL for NULL.
    #[no_mangle]
    pub extern "C" fn sbx_policy_disassemble(policy: *const sbx_policy) -> *const c_char {
        boundary(|| {
            let Some(h) = ref_from_ptr(policy) else {
                return std::ptr::null();
            };
            let text = h.disassembly.get_or_init(|| {
                let mut bytes = h.policy.disassemble().into_bytes();
                bytes.retain(|&b| b != 0);
                CString::new(bytes).unwrap_or_default()
            });
            cstr_ptr(text)
        })
    }

    /// Returns the compiled filter (at most 4096 instructions, mandatory prologue first) and
    /// stores its length in `*len_out` (when not NULL). The array belongs to `policy` and lives
    /// until its last reference is freed. Returns NULL (and length 0) for NULL.
    #[no_mangle]
    pub extern "C" fn sbx_policy_program(
        policy: *const sbx_policy,
        len_out: *mut usize,
    ) -> *const sbx_sock_filter {
        boundary(|| {
            if let Some(h) = ref_from_ptr(policy) {
                write_out(len_out, h.program.len());
                h.program.as_ptr()
            } else {
                write_out(len_out, 0);
                std::ptr::null()
            }
        })
    }

    /// Whether the user's rules let the sandboxee run `execve`/`execveat` whatever the arguments
    /// (beyond the one exec that starts the target). False for NULL.
    #[no_mangle]
    pub extern "C" fn sbx_policy_allows_exec(policy: *const sbx_policy) -> bool {
        boundary(|| ref_from_ptr(policy).is_some_and(|h| h.policy.allows_exec()))
    }

    /// What the policy decides for one syscall, computed from the rules (not by running the
    /// filter): the `SECCOMP_RET_*` value with its data that the filter returns for `arch` (an
    /// `AUDIT_ARCH_*` value), syscall number `nr` and the six argument registers in `args` (NULL
    /// means all zero). Returns 0 (`SECCOMP_RET_KILL_THREAD`) for a NULL `policy`.
    #[no_mangle]
    pub extern "C" fn sbx_policy_decide(
        policy: *const sbx_policy,
        arch: u32,
        nr: i32,
        args: *const u64,
    ) -> u32 {
        boundary(|| {
            let Some(h) = ref_from_ptr(policy) else {
                return 0;
            };
            let mut data = SeccompData {
                nr,
                arch,
                ..SeccompData::default()
            };
            if !args.is_null() {
                if let Ok(a) = try_slice(args, 6, "args") {
                    data.args.copy_from_slice(a);
                }
            }
            h.policy.decide(&data)
        })
    }

    /// Releases one reference to `policy`; sandboxes using it keep their own. NULL is a no-op.
    #[no_mangle]
    pub extern "C" fn sbx_policy_free(policy: *const sbx_policy) {
        boundary(|| free_arc(policy));
    }
}
