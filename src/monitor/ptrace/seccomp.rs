//! The ptrace monitor's seccomp stops: the trace data checked against the policy's own verdict,
//! the start exec, audited calls, `Notify::trace` (allow, or skip with an errno) and violations.

#![allow(unsafe_code)]

use super::requests::{cont, to_exit_stop};
use super::Monitor;
use crate::monitor::{record_violation, sysinfo};
use crate::notify::{Notify, TraceAction};
use crate::policy::trace_data;
use crate::result::{Reason, RunResult};

impl Monitor {
    pub(super) fn on_seccomp(&mut self, pid: libc::pid_t, notify: &mut dyn Notify) {
        let stop = match sysinfo::read_seccomp_stop(pid) {
            Ok(s) => s,
            // ESRCH: killed meanwhile; anything else: refuse to guess and end the run.
            Err(libc::ESRCH) => return,
            Err(_) => {
                self.end_all();
                return;
            }
        };
        let mut data = (stop.ret_data & 0xffff) as u16;
        // The return data is only as trustworthy as the filter that produced it: with stacked
        // filters the kernel reports the data of the newest one, and a sandboxee allowed to call
        // seccomp() could install one that returns "trace" or "exec" for anything. Those two are
        // honoured only when our own policy gives exactly that verdict for this call.
        if data == trace_data::USER_TRACE || data == trace_data::EXEC || data == trace_data::AUDIT {
            let input = crate::policy::SeccompData {
                nr: crate::sys::low_i32(stop.nr),
                arch: stop.audit_arch,
                instruction_pointer: stop.ip,
                args: stop.args,
            };
            let expected = crate::policy::bpf::SECCOMP_RET_TRACE | u32::from(data);
            if self.policy.decide(&input) != expected {
                log::warn!("sandbox: forged seccomp trace data {data} for syscall {}; treated as a violation", stop.nr);
                data = trace_data::VIOLATION;
            }
        }
        if data == trace_data::EXEC
            && !self.exec_allowed
            && !self.exec_seen
            && Some(pid) != self.init
        {
            // Before the start exec only library code runs, so the first request is ours.
            if self.main.is_none() {
                self.main = Some(pid);
            }
            if Some(pid) == self.main {
                self.exec_allowed = true;
                if !notify.started(pid) {
                    self.setup_error = Some(RunResult::setup_error(
                        Reason::FailedNotify,
                        "Notify::started vetoed the run".into(),
                    ));
                    self.end_all();
                    return;
                }
                if self.init_exec_seen {
                    cont(pid, 0);
                } else {
                    self.pending_exec = Some(pid);
                }
                return;
            }
        }
        if data == trace_data::AUDIT {
            if let Some(log) = self.audit.as_mut() {
                log.record(stop.audit_arch, stop.nr, &stop.args, || stop.violation(pid));
                if self.learning && returns(stop.nr) {
                    // Its result is read at the exit stop (`on_syscall_exit`).
                    self.awaiting_exit.insert(pid, (stop.audit_arch, stop.nr));
                    to_exit_stop(pid);
                } else {
                    cont(pid, 0);
                }
                return;
            }
            data = trace_data::VIOLATION;
        }
        if data == trace_data::USER_TRACE {
            let call = stop.violation(pid);
            match notify.trace(&call) {
                TraceAction::Allow => {
                    cont(pid, 0);
                    return;
                }
                TraceAction::Errno(e) if (1..=4095).contains(&e) && skip_with_errno(pid, e) => {
                    cont(pid, 0);
                    return;
                }
                // Deny, an out-of-range errno, or registers that could not be set.
                _ => {}
            }
        }
        if self.violation.is_none() && self.policy.stack_traces() {
            // The thread is still in its seccomp stop: its registers and stack are as they were
            // at the call.
            self.stack_trace = Some(crate::stacktrace::capture(pid));
        }
        record_violation(&mut self.violation, data, || stop.violation(pid), notify);
        // The stopped thread never resumes: SIGKILL ends it in the stop.
        self.end_all();
    }
}

impl Monitor {
    /// The syscall-exit stop of an audited call in a learning run: its result is recorded.
    pub(super) fn on_syscall_exit(&mut self, pid: libc::pid_t, arch: u32, nr: u64) {
        if let (Some(log), Some(ret)) = (self.audit.as_mut(), syscall_return(pid)) {
            log.record_result(arch, nr, ret);
        }
        cont(pid, 0);
    }
}

/// Whether a native call returns to its caller with a result: not `exit`, `exit_group` (the
/// task ends: no exit stop) nor `rt_sigreturn` (its "result" is the interrupted code's register).
fn returns(nr: u64) -> bool {
    !["exit", "exit_group", "rt_sigreturn"]
        .iter()
        .any(|n| crate::policy::syscalls::number(n).map(u64::from) == Some(nr))
}

/// The return register of `pid`, stopped at a syscall-exit stop.
#[cfg(target_arch = "x86_64")]
fn syscall_return(pid: libc::pid_t) -> Option<i64> {
    const RAX: usize = std::mem::offset_of!(libc::user_regs_struct, rax);
    // SAFETY: PTRACE_PEEKUSER reads one word of the stopped tracee's user area; errno tells a
    // failure from a word that happens to be -1.
    unsafe {
        *libc::__errno_location() = 0;
        let v = libc::ptrace(libc::PTRACE_PEEKUSER, pid, RAX, 0);
        (*libc::__errno_location() == 0).then_some(v)
    }
}

/// AArch64: x0 through `NT_PRSTATUS`.
#[cfg(target_arch = "aarch64")]
fn syscall_return(pid: libc::pid_t) -> Option<i64> {
    // SAFETY: user_regs_struct (aarch64's user_pt_regs) is plain data: all zeroes is valid.
    let mut regs: libc::user_regs_struct = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::user_regs_struct>();
    (regset(libc::PTRACE_GETREGSET, pid, NT_PRSTATUS, &mut regs) == Some(size))
        .then(|| i64::from_ne_bytes(regs.regs[0].to_ne_bytes()))
}

/// Not implemented on this architecture: no result is recorded.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn syscall_return(_pid: libc::pid_t) -> Option<i64> {
    None
}

/// Skips the syscall `pid` is stopped in (seccomp stop) and makes it return `-errno`: a syscall
/// number of -1 means "skip" to the kernel, and the return register is what the caller sees.
#[cfg(target_arch = "x86_64")]
fn skip_with_errno(pid: libc::pid_t, errno: u16) -> bool {
    // SAFETY: user_regs_struct is plain data; PTRACE_GETREGS/SETREGS read and write exactly it.
    unsafe {
        let mut regs: libc::user_regs_struct = std::mem::zeroed();
        if libc::ptrace(libc::PTRACE_GETREGS, pid, 0, std::ptr::addr_of_mut!(regs)) != 0 {
            return false;
        }
        regs.orig_rax = u64::MAX;
        regs.rax = 0u64.wrapping_sub(u64::from(errno)); // -errno, as the kernel returns it
        libc::ptrace(libc::PTRACE_SETREGS, pid, 0, std::ptr::addr_of!(regs)) == 0
    }
}

/// AArch64: x0 is both the first argument and the return value, and the syscall number lives
/// apart from the general registers (`NT_ARM_SYSTEM_CALL`, not x8, is what the kernel reads after
/// the stop). So: x0 = -errno through `NT_PRSTATUS` (`user_pt_regs`), then the number -1 (skip)
/// through `NT_ARM_SYSTEM_CALL`; the kernel then leaves x0 as set (arch/arm64/kernel/syscall.c).
/// Checked only by building for aarch64 so far: no test ran it on an aarch64 kernel.
#[cfg(target_arch = "aarch64")]
fn skip_with_errno(pid: libc::pid_t, errno: u16) -> bool {
    const NT_ARM_SYSTEM_CALL: libc::c_ulong = 0x404;
    // SAFETY: user_regs_struct (aarch64's user_pt_regs) is plain data: all zeroes is valid.
    let mut regs: libc::user_regs_struct = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::user_regs_struct>();
    if regset(libc::PTRACE_GETREGSET, pid, NT_PRSTATUS, &mut regs) != Some(size) {
        return false;
    }
    regs.regs[0] = 0u64.wrapping_sub(u64::from(errno)); // -errno, as the kernel returns it
    let mut nr: libc::c_int = -1;
    regset(libc::PTRACE_SETREGSET, pid, NT_PRSTATUS, &mut regs).is_some()
        && regset(libc::PTRACE_SETREGSET, pid, NT_ARM_SYSTEM_CALL, &mut nr).is_some()
}

#[cfg(target_arch = "aarch64")]
const NT_PRSTATUS: libc::c_ulong = 1;

/// PTRACE_GETREGSET or PTRACE_SETREGSET of regset `nt` from or to `*data`; the size the kernel
/// transferred, or None when the request failed.
#[cfg(target_arch = "aarch64")]
fn regset<T>(request: crate::monitor::sysinfo::PtraceRequest, pid: libc::pid_t, nt: libc::c_ulong, data: &mut T) -> Option<usize> {
    let mut iov = libc::iovec {
        iov_base: std::ptr::from_mut(data).cast(),
        iov_len: std::mem::size_of::<T>(),
    };
    // SAFETY: the iovec describes `data`, a live exclusive borrow of exactly iov_len bytes; the
    // callers pass the plain-data types the regsets hold (the kernel checks iov_len).
    let r = unsafe { libc::ptrace(request, pid, nt, std::ptr::addr_of_mut!(iov)) };
    (r == 0).then_some(iov.iov_len)
}

/// Not implemented on this architecture: the call is treated as denied (a violation).
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn skip_with_errno(_pid: libc::pid_t, _errno: u16) -> bool {
    false
}
