//! Reading the stopped tracee's syscall with PTRACE_GET_SYSCALL_INFO (Linux 5.3+): arch, number,
//! arguments, instruction and stack pointer, and the filter's SECCOMP_RET_DATA, decoded by the
//! kernel for whichever ABI the call came through (i386 values arrive zero-extended).

#![allow(unsafe_code)]

use crate::arch::Arch;
use crate::policy::syscalls;
use crate::result::Violation;

pub(crate) const PTRACE_GET_SYSCALL_INFO: PtraceRequest = 0x420e;

/// The type of `ptrace`'s request argument: glibc declares it unsigned, musl `int`.
#[cfg(target_env = "gnu")]
pub(crate) type PtraceRequest = libc::c_uint;
#[cfg(not(target_env = "gnu"))]
pub(crate) type PtraceRequest = libc::c_int;
const PTRACE_SYSCALL_INFO_SECCOMP: u8 = 3;

/// `struct ptrace_syscall_info` with the seccomp member of its union.
#[repr(C)]
#[derive(Default)]
struct PtraceSyscallInfo {
    op: u8,
    reserved: u8,
    flags: u16,
    arch: u32,
    instruction_pointer: u64,
    stack_pointer: u64,
    nr: u64,
    args: [u64; 6],
    ret_data: u32,
    reserved2: u32,
}

/// A syscall seen at a seccomp stop.
#[derive(Debug, Clone)]
pub(crate) struct SeccompStop {
    pub audit_arch: u32,
    pub nr: u64,
    pub args: [u64; 6],
    pub ip: u64,
    pub sp: u64,
    pub ret_data: u32,
}

/// Reads the seccomp stop of `pid` (which must be in a PTRACE_EVENT_SECCOMP stop).
pub(crate) fn read_seccomp_stop(pid: libc::pid_t) -> Result<SeccompStop, i32> {
    let mut info = PtraceSyscallInfo::default();
    // SAFETY: the kernel writes at most `size` bytes into `info`.
    let r = unsafe {
        libc::ptrace(
            PTRACE_GET_SYSCALL_INFO,
            pid,
            std::mem::size_of::<PtraceSyscallInfo>(),
            std::ptr::addr_of_mut!(info),
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
    }
    if info.op != PTRACE_SYSCALL_INFO_SECCOMP {
        return Err(libc::EINVAL);
    }
    Ok(SeccompStop {
        audit_arch: info.arch,
        nr: info.nr,
        args: info.args,
        ip: info.instruction_pointer,
        sp: info.stack_pointer,
        ret_data: info.ret_data,
    })
}

impl SeccompStop {
    /// The stop as a reportable violation of thread `pid`.
    pub(crate) fn violation(&self, pid: libc::pid_t) -> Violation {
        violation(self.audit_arch, self.nr, self.args, self.ip, self.sp, pid)
    }
}

/// A reportable violation of thread `pid` (`sp` 0 where the monitor cannot read it).
pub(crate) fn violation(
    audit_arch: u32,
    nr: u64,
    args: [u64; 6],
    ip: u64,
    sp: u64,
    pid: libc::pid_t,
) -> Violation {
    let arch = Arch::from_audit(audit_arch, nr);
    let name = match arch {
        // The table is indexed without the x32 bit; the label already says X32.
        Arch::X32 => syscalls::name(Arch::X86_64, nr & !u64::from(crate::arch::X32_SYSCALL_BIT)),
        a => syscalls::name(a, nr),
    }
    .unwrap_or("UNKNOWN")
    .to_string();
    Violation {
        arch,
        nr,
        name,
        args,
        pid,
        ip,
        sp,
    }
}
