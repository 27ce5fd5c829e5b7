//! System call architectures as seccomp sees them.
//!
//! A process on x86-64 can enter the kernel through three ABIs: native x86-64, i386 (`int 0x80`
//! or a 32-bit binary, `AUDIT_ARCH_I386`) and x32 (native arch value, syscall number with bit 30
//! set). A policy is written for the native ABI only; the others are always violations.

/// `AUDIT_ARCH_X86_64` from `<linux/audit.h>`.
pub const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
/// `AUDIT_ARCH_I386` from `<linux/audit.h>`.
pub const AUDIT_ARCH_I386: u32 = 0x4000_0003;
/// `AUDIT_ARCH_AARCH64` from `<linux/audit.h>`.
pub const AUDIT_ARCH_AARCH64: u32 = 0xC000_00B7;
/// `AUDIT_ARCH_ARM` from `<linux/audit.h>`.
pub const AUDIT_ARCH_ARM: u32 = 0x4000_0028;
/// `__X32_SYSCALL_BIT`: x32 syscalls use the x86-64 arch value with this bit in the number.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// The audit architecture of the build target: the only one a policy allows syscalls for.
#[cfg(target_arch = "x86_64")]
pub const NATIVE_AUDIT_ARCH: u32 = AUDIT_ARCH_X86_64;
/// The audit architecture of the build target: the only one a policy allows syscalls for.
#[cfg(target_arch = "aarch64")]
pub const NATIVE_AUDIT_ARCH: u32 = AUDIT_ARCH_AARCH64;

/// The ABI a syscall came through, as reported in a violation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arch {
    /// x86-64 native ABI.
    X86_64,
    /// i386 ABI (`int 0x80` from a 64-bit program, or a 32-bit binary).
    X86_32,
    /// x32 ABI (x86-64 arch value, syscall number with bit 30 set).
    X32,
    /// AArch64.
    Aarch64,
    /// 32-bit ARM.
    Arm,
    /// Anything else; holds the raw `AUDIT_ARCH_*` value.
    Unknown(u32),
}

impl Arch {
    /// Classifies a `seccomp_data` (arch, nr) pair.
    pub fn from_audit(audit_arch: u32, nr: u64) -> Arch {
        match audit_arch {
            AUDIT_ARCH_X86_64 if crate::sys::low_u32(nr) & X32_SYSCALL_BIT != 0 => Arch::X32,
            AUDIT_ARCH_X86_64 => Arch::X86_64,
            AUDIT_ARCH_I386 => Arch::X86_32,
            AUDIT_ARCH_AARCH64 => Arch::Aarch64,
            AUDIT_ARCH_ARM => Arch::Arm,
            other => Arch::Unknown(other),
        }
    }

    /// The ABI libsbx was built for.
    pub fn native() -> Arch {
        Arch::from_audit(NATIVE_AUDIT_ARCH, 0)
    }

    /// Label used in results and logs, e.g. `X86-64`, `X86-32`.
    pub fn label(&self) -> String {
        match self {
            Arch::X86_64 => "X86-64".into(),
            Arch::X86_32 => "X86-32".into(),
            Arch::X32 => "X32".into(),
            Arch::Aarch64 => "AARCH64".into(),
            Arch::Arm => "ARM".into(),
            Arch::Unknown(a) => format!("UNKNOWN_ARCH:{a:#x}"),
        }
    }
}
