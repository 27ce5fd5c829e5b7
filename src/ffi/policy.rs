//! `sbx_policy`: a built, immutable seccomp policy, shareable between sandboxes and threads.

use super::handle::{
    arc_clone, arc_into_ptr, castable, cstr_ptr, free_arc, ref_from_ptr, try_slice, write_out,
};
use super::panic::boundary;
use crate::policy::SeccompData;
use crate::Policy;
use std::ffi::{c_char, CString};
use std::sync::{Arc, OnceLock};

// Values for `sbx_policy_decide`: the kernel's (`<linux/audit.h>`, `<linux/seccomp.h>`), so C
// and Go callers need no kernel headers. Literals because cbindgen emits nothing for a constant
// defined by a path; `decide_constants` below checks each against the crate's own constant.

/// `AUDIT_ARCH_X86_64`: the `arch` of a 64-bit x86 syscall (`sbx_policy_decide`).
pub const SBX_AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// `AUDIT_ARCH_I386`: the `arch` of `int 0x80` and of 32-bit programs on x86-64.
pub const SBX_AUDIT_ARCH_I386: u32 = 0x4000_0003;
/// `AUDIT_ARCH_AARCH64`: the `arch` of a 64-bit Arm syscall.
pub const SBX_AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;

/// `SECCOMP_RET_KILL_PROCESS`: the filter kills the whole process. The `SBX_SECCOMP_RET_*`
/// actions are the upper 16 bits of what `sbx_policy_decide` returns; the lower 16 bits are the
/// action's data (the errno for `SBX_SECCOMP_RET_ERRNO`).
pub const SBX_SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
/// `SECCOMP_RET_KILL_THREAD`: the filter kills the calling thread.
pub const SBX_SECCOMP_RET_KILL_THREAD: u32 = 0x0000_0000;
/// `SECCOMP_RET_TRAP`: the filter sends `SIGSYS`.
pub const SBX_SECCOMP_RET_TRAP: u32 = 0x0003_0000;
/// `SECCOMP_RET_ERRNO`: the call fails with the errno in the data bits.
pub const SBX_SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
/// `SECCOMP_RET_USER_NOTIF`: the call is handed to a user-space supervisor.
pub const SBX_SECCOMP_RET_USER_NOTIF: u32 = 0x7fc0_0000;
/// `SECCOMP_RET_TRACE`: the thread stops for its ptrace tracer (libsbx's monitor).
pub const SBX_SECCOMP_RET_TRACE: u32 = 0x7ff0_0000;
/// `SECCOMP_RET_LOG`: the call is allowed and logged.
pub const SBX_SECCOMP_RET_LOG: u32 = 0x7ffc_0000;
/// `SECCOMP_RET_ALLOW`: the call is allowed.
pub const SBX_SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
/// `SECCOMP_RET_ACTION_FULL`: masks the action part of a return value.
pub const SBX_SECCOMP_RET_ACTION_FULL: u32 = 0xffff_0000;
/// `SECCOMP_RET_DATA`: masks the data part of a return value.
pub const SBX_SECCOMP_RET_DATA: u32 = 0x0000_ffff;

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
    /// filter): the `SBX_SECCOMP_RET_*` value with its data that the filter returns for `arch`
    /// (an `SBX_AUDIT_ARCH_*` value), syscall number `nr` and the six argument registers in
    /// `args` (NULL means all zero). Returns 0 (`SBX_SECCOMP_RET_KILL_THREAD`) for a NULL
    /// `policy`.
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

#[cfg(test)]
mod decide_constants {
    #[test]
    fn c_constants_match_the_rust_ones() {
        use crate::arch;
        use crate::policy::bpf;
        assert_eq!(super::SBX_AUDIT_ARCH_X86_64, arch::AUDIT_ARCH_X86_64);
        assert_eq!(super::SBX_AUDIT_ARCH_I386, arch::AUDIT_ARCH_I386);
        assert_eq!(super::SBX_AUDIT_ARCH_AARCH64, arch::AUDIT_ARCH_AARCH64);
        assert_eq!(
            super::SBX_SECCOMP_RET_KILL_PROCESS,
            bpf::SECCOMP_RET_KILL_PROCESS
        );
        assert_eq!(
            super::SBX_SECCOMP_RET_KILL_THREAD,
            bpf::SECCOMP_RET_KILL_THREAD
        );
        assert_eq!(super::SBX_SECCOMP_RET_TRAP, bpf::SECCOMP_RET_TRAP);
        assert_eq!(super::SBX_SECCOMP_RET_ERRNO, bpf::SECCOMP_RET_ERRNO);
        assert_eq!(
            super::SBX_SECCOMP_RET_USER_NOTIF,
            bpf::SECCOMP_RET_USER_NOTIF
        );
        assert_eq!(super::SBX_SECCOMP_RET_TRACE, bpf::SECCOMP_RET_TRACE);
        assert_eq!(super::SBX_SECCOMP_RET_LOG, bpf::SECCOMP_RET_LOG);
        assert_eq!(super::SBX_SECCOMP_RET_ALLOW, bpf::SECCOMP_RET_ALLOW);
        assert_eq!(
            super::SBX_SECCOMP_RET_ACTION_FULL,
            bpf::SECCOMP_RET_ACTION_FULL
        );
        assert_eq!(super::SBX_SECCOMP_RET_DATA, bpf::SECCOMP_RET_DATA);
    }
}
