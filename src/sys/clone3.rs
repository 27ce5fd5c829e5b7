//! `clone3` (5.3) for a child that shares our memory (`CLONE_VM`) and runs a function on a stack
//! of its own, like `libc::clone`, which only knows the old `clone` and so cannot pass
//! `CLONE_INTO_CGROUP` (5.7): the child is born in a cgroup v2 group instead of being moved there
//! by a write to `cgroup.procs` (no migration, no wait for the cgroup rwsem or an RCU grace
//! period). libc has no wrapper that calls a function on the child's side, so the syscall and the
//! child's first instructions are a few lines of assembly per architecture: the child returns
//! from the syscall on its new stack, calls the entry function and exits with its result,
//! touching no memory of the parent's frame on the way.

#![allow(unsafe_code)]

/// `struct clone_args` up to `cgroup` (`CLONE_ARGS_SIZE_VER2`, 88 bytes).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct CloneArgs {
    pub flags: u64,
    pub pidfd: u64,
    pub child_tid: u64,
    pub parent_tid: u64,
    pub exit_signal: u64,
    /// The lowest address of the child's stack; the kernel starts it at `stack + stack_size`.
    pub stack: u64,
    pub stack_size: u64,
    pub tls: u64,
    pub set_tid: u64,
    pub set_tid_size: u64,
    /// With `CLONE_INTO_CGROUP`: an fd of the cgroup v2 directory the child is born in.
    pub cgroup: u64,
}

/// `CLONE_INTO_CGROUP` (5.7).
pub(crate) const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// The child's entry: called with `arg` on its new stack; its return value is the exit status.
pub(crate) type Entry = extern "C" fn(*mut libc::c_void) -> libc::c_int;

/// Calls `clone3(args)`; in the child, calls `entry(arg)` and exits with its result. Returns
/// the child's pid, or `-errno`.
///
/// # Safety
/// `args.flags` must hold `CLONE_VM` and `args.stack`/`stack_size` a stack that only the child
/// uses and that stays mapped until it has exec'd or exited (16-byte aligned at its top). The
/// child then runs `entry` on our memory: `entry` and `arg` must be valid for that, and `entry`
/// must be safe to run in a process that shares our memory (no locks, no allocation).
pub(crate) unsafe fn clone3_vm(args: &CloneArgs, entry: Entry, arg: *mut libc::c_void) -> i64 {
    let size = std::mem::size_of::<CloneArgs>();
    let ret: i64;
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: the caller's contract above. In the child (rax 0) only registers are used:
        // r12/r13 hold arg/entry (the kernel copies every register into the child), the call
        // pushes onto the child's own stack, and `exit` never returns.
        unsafe {
            std::arch::asm!(
                "syscall",
                "test rax, rax",
                "jnz 2f",
                "xor ebp, ebp",
                "mov rdi, r12",
                "call r13",
                "mov edi, eax",
                "mov eax, {exit}",
                "syscall",
                "ud2",
                "2:",
                exit = const libc::SYS_exit,
                inlateout("rax") libc::SYS_clone3 => ret,
                in("rdi") std::ptr::from_ref(args),
                in("rsi") size,
                in("r12") arg,
                in("r13") entry,
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            );
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        // SAFETY: as above; x20/x21 hold arg/entry, x0 is 0 in the child.
        unsafe {
            std::arch::asm!(
                "svc 0",
                "cbnz x0, 2f",
                "mov x0, x20",
                "blr x21",
                "mov x8, {exit}",
                "svc 0",
                "brk 0",
                "2:",
                exit = const libc::SYS_exit,
                inlateout("x0") std::ptr::from_ref(args) as i64 => ret,
                in("x1") size,
                in("x8") libc::SYS_clone3,
                in("x20") arg,
                in("x21") entry,
                options(nostack),
            );
        }
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        let _ = (args, entry, arg, size);
        ret = -i64::from(libc::ENOSYS);
    }
    ret
}
