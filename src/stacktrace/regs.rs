//! The stopped thread's registers (`PTRACE_GETREGSET`, `NT_PRSTATUS`), numbered as DWARF numbers
//! them, so that CFI rules index them directly.

#![allow(unsafe_code)]

/// Registers by DWARF number; `None` where unknown (a rule that needs one then fails).
#[derive(Debug, Clone)]
pub(super) struct Regs {
    pub values: [Option<u64>; COUNT],
    pub pc: u64,
}

/// DWARF register numbers kept: x86-64 0..=16 (16 is the return address column), AArch64
/// 0..=32 (x0..x30, sp, pc).
pub(super) const COUNT: usize = 33;

impl Regs {
    pub(super) fn get(&self, reg: u16) -> Option<u64> {
        *self.values.get(usize::from(reg))?
    }

    pub(super) fn set(&mut self, reg: u16, v: Option<u64>) {
        if let Some(slot) = self.values.get_mut(usize::from(reg)) {
            *slot = v;
        }
    }
}

/// The architecture's register roles, by DWARF number.
pub(super) mod arch {
    #[cfg(target_arch = "x86_64")]
    pub(in super::super) const SP: u16 = 7;
    #[cfg(target_arch = "x86_64")]
    pub(in super::super) const FP: u16 = 6;
    /// The column CFI gives the return address in.
    #[cfg(target_arch = "x86_64")]
    pub(in super::super) const RA: u16 = 16;
    #[cfg(target_arch = "aarch64")]
    pub(in super::super) const SP: u16 = 31;
    #[cfg(target_arch = "aarch64")]
    pub(in super::super) const FP: u16 = 29;
    #[cfg(target_arch = "aarch64")]
    pub(in super::super) const RA: u16 = 30;
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    pub(in super::super) const SP: u16 = 0;
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    pub(in super::super) const FP: u16 = 0;
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    pub(in super::super) const RA: u16 = 0;
}

/// `NT_PRSTATUS` of thread `tid`: its general registers.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn prstatus(tid: libc::pid_t) -> Result<libc::user_regs_struct, String> {
    const NT_PRSTATUS: libc::c_ulong = 1;
    // SAFETY: user_regs_struct is plain data: all zeroes is valid.
    let mut regs: libc::user_regs_struct = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::user_regs_struct>();
    let mut iov = libc::iovec {
        iov_base: std::ptr::from_mut(&mut regs).cast(),
        iov_len: size,
    };
    // SAFETY: the iovec describes `regs`, a live exclusive borrow of exactly iov_len bytes of
    // plain data; the kernel writes at most iov_len bytes and updates iov_len.
    let r = unsafe {
        libc::ptrace(
            libc::PTRACE_GETREGSET,
            tid,
            NT_PRSTATUS,
            std::ptr::addr_of_mut!(iov),
        )
    };
    if r != 0 {
        return Err(format!(
            "cannot read the registers of thread {tid}: {}",
            std::io::Error::last_os_error()
        ));
    }
    if iov.iov_len != size {
        // A 32-bit thread's registers (a smaller set): its frames are not walked.
        return Err("the thread runs 32-bit code, which is not unwound".into());
    }
    Ok(regs)
}

#[cfg(target_arch = "x86_64")]
pub(super) fn read(tid: libc::pid_t) -> Result<Regs, String> {
    let r = prstatus(tid)?;
    let mut values = [None; COUNT];
    // DWARF order: rax, rdx, rcx, rbx, rsi, rdi, rbp, rsp, r8..r15, return address.
    let order = [
        r.rax, r.rdx, r.rcx, r.rbx, r.rsi, r.rdi, r.rbp, r.rsp, r.r8, r.r9, r.r10, r.r11, r.r12,
        r.r13, r.r14, r.r15, r.rip,
    ];
    for (slot, v) in values.iter_mut().zip(order) {
        *slot = Some(v);
    }
    Ok(Regs { values, pc: r.rip })
}

#[cfg(target_arch = "aarch64")]
pub(super) fn read(tid: libc::pid_t) -> Result<Regs, String> {
    let r = prstatus(tid)?;
    let mut values = [None; COUNT];
    for (slot, v) in values.iter_mut().zip(r.regs) {
        *slot = Some(v);
    }
    values[31] = Some(r.sp);
    values[32] = Some(r.pc);
    Ok(Regs { values, pc: r.pc })
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub(super) fn read(_tid: libc::pid_t) -> Result<Regs, String> {
    Err("stack traces are unsupported on this architecture".into())
}
