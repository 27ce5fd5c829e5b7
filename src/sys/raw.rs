//! Raw system calls for the children between clone and exec (`spawn/`), and for the seccomp
//! installs they share with the rest of the crate (`sys/seccomp.rs`).
//!
//! # Safety
//! The child of `clone(CLONE_VM)` shares memory and the thread pointer (TLS) with the monitor
//! thread that created it, and that thread keeps running. libc wrappers would write `errno` into
//! the monitor thread's TLS and may take locks, so the child uses these wrappers instead: they
//! touch nothing but registers and return `-errno` on failure (the kernel's own convention).
//! They are `unsafe` because the caller vouches for every pointer argument.

#![allow(unsafe_code)]
// The raw syscall ABI: arguments are u64 registers and results c_long, so fds, flags and
// constants cross it by the ABI's own conversions (an fd `as u64`, a returned fd `as i32`). No
// value converted here comes from the sandboxee, and a cast cannot fail, allocate or panic,
// which code between clone and exec must not do.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]
// The wrappers are a few instructions each, called on the clone children's small stacks.
#![allow(clippy::inline_always)]

use core::arch::asm;

/// Raw syscall with up to six arguments; returns the kernel's value (`-errno` on failure).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub unsafe fn syscall6(nr: i64, a0: u64, a1: u64, a2: u64, a3: u64, a4: u64, a5: u64) -> i64 {
    let ret: i64;
    // SAFETY: the x86-64 syscall ABI: rax=nr, args in rdi rsi rdx r10 r8 r9; rcx and r11 are
    // clobbered by the `syscall` instruction. Pointer validity is the caller's promise.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") nr => ret,
            in("rdi") a0, in("rsi") a1, in("rdx") a2,
            in("r10") a3, in("r8") a4, in("r9") a5,
            lateout("rcx") _, lateout("r11") _,
            options(nostack)
        );
    }
    ret
}

/// Raw syscall with up to six arguments; returns the kernel's value (`-errno` on failure).
#[cfg(target_arch = "aarch64")]
#[inline(always)]
pub unsafe fn syscall6(nr: i64, a0: u64, a1: u64, a2: u64, a3: u64, a4: u64, a5: u64) -> i64 {
    let ret: i64;
    // SAFETY: the AArch64 syscall ABI: x8=nr, args x0..x5, result in x0.
    unsafe {
        asm!(
            "svc 0",
            in("x8") nr,
            inlateout("x0") a0 as i64 => ret,
            in("x1") a1, in("x2") a2, in("x3") a3, in("x4") a4, in("x5") a5,
            options(nostack)
        );
    }
    ret
}

/// Shorthand for calls with fewer arguments.
#[inline(always)]
pub unsafe fn syscall(nr: i64, args: &[u64]) -> i64 {
    let mut a = [0u64; 6];
    let mut i = 0;
    while i < args.len() && i < 6 {
        a[i] = args[i];
        i += 1;
    }
    // SAFETY: forwarded caller promise.
    unsafe { syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5]) }
}

/// Terminates the child's thread group without running any host code (no atexit, no flush).
#[inline(always)]
pub fn exit_group(code: i32) -> ! {
    loop {
        // SAFETY: exit_group takes no pointers and does not return.
        unsafe {
            syscall6(libc::SYS_exit_group, code as u64, 0, 0, 0, 0, 0);
        }
    }
}
