//! The child's path from `clone` to `execveat`.
//!
//! # Safety
//! This code runs in a `clone(CLONE_VM)` child that shares the host's memory and TLS while the
//! host's other threads keep running. It follows signal-safety(7) strictly: raw syscalls only
//! (see [`super::raw`]), no allocation, no locks, no `std` I/O, no logging, no panics (indices are
//! never used unchecked-and-panicking: loops walk slices with iterators). Everything it reads was
//! laid out by [`super::plan::Plan`] before the clone. On failure it records the step and errno in
//! the plan's [`ChildReport`] (shared memory) and calls exit_group(2).
//!
//! This file holds the entry points, the start pipe and the failure helpers the init shares;
//! `setup.rs` the numbered steps to the exec, `privileges.rs` the id and capability steps,
//! `landlock.rs` the Landlock domain.

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

mod landlock;
mod privileges;
mod setup;

use super::plan::{Plan, Step};
use crate::sys::raw::{exit_group, syscall};
use setup::setup_and_exec;
use std::sync::atomic::Ordering;

/// Exit code of a child whose setup failed (the report says why).
pub const SETUP_FAILED_EXIT: i32 = 127;

/// What the child needs besides the plan.
pub struct ChildArgs {
    pub plan: *const Plan,
    pub sync_read: i32,
    pub sync_write: i32,
    /// A namespaced sandbox with a cgroup: the monitor moves the init into it while the init
    /// builds the sandbox, and writes a second byte once that is done; the init reads it before
    /// it forks the sandboxee (see [`wait_for_cgroup`]).
    pub join_late: bool,
    /// The clone joined a fresh network namespace from the pool (`netns.rs`) instead of making
    /// one: its `lo` is up already.
    pub netns_ready: bool,
    /// The clone copied the view's template mount namespace (`mntns/`): the init mounts only
    /// the sandbox's own parts, and its root is the view already.
    pub mnt_template: bool,
}

/// Records a failed step in the shared report and ends the child.
#[allow(clippy::inline_always)] // called in the clone children, on their small stacks
#[inline(always)]
pub(crate) fn fail_step(plan: &Plan, step: Step, ret: i64, item: usize) -> ! {
    plan.report.item.store(item as u32, Ordering::Relaxed);
    plan.report.errno.store((-ret) as i32, Ordering::Relaxed);
    plan.report.step.store(step as u32, Ordering::Release);
    exit_group(SETUP_FAILED_EXIT)
}

/// Fails the child with `step` when a raw syscall returned `-errno`; passes the value on.
#[allow(clippy::inline_always)] // called in the clone children, on their small stacks
#[inline(always)]
pub(crate) fn check(plan: &Plan, step: Step, ret: i64, item: usize) -> i64 {
    if ret < 0 {
        fail_step(plan, step, ret, item);
    }
    ret
}

/// Entry point given to clone(2) when the sandbox has no namespaces. Never returns.
///
/// # Safety
/// `arg` points to a live [`ChildArgs`] whose plan outlives the child's pre-exec phase (the
/// monitor keeps both until it has seen the exec or the child's exit).
pub extern "C" fn child_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: see the function's contract.
    let args = unsafe { &*(arg as *const ChildArgs) };
    // SAFETY: same.
    let plan = unsafe { &*args.plan };
    // SAFETY: all pointers passed below point into `plan`, alive for the whole pre-exec phase.
    unsafe {
        wait_for_monitor(plan, args);
        setup_and_exec(plan, false)
    }
}

/// Entry point of the sandboxee (pid 2) cloned by the namespaced init. It is traced from birth,
/// so it needs no start pipe. Never returns.
pub extern "C" fn sandboxee_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: as for `child_main`; the init passes the same ChildArgs on.
    let args = unsafe { &*(arg as *const ChildArgs) };
    // SAFETY: same.
    let plan = unsafe { &*args.plan };
    // SAFETY: same.
    unsafe { setup_and_exec(plan, true) }
}

/// Blocks until the monitor has attached with PTRACE_SEIZE. Closing our copy of the write end
/// first means a dead host shows up as EOF instead of a hang.
pub(crate) unsafe fn wait_for_monitor(plan: &Plan, args: &ChildArgs) {
    // SAFETY: the caller vouches for the plan (module docs); every pointer below points into it.
    unsafe {
        syscall(libc::SYS_close, &[args.sync_write as u64]);
        read_sync_byte(plan, args, 0);
        if !args.join_late {
            syscall(libc::SYS_close, &[args.sync_read as u64]);
        }
    }
}

/// With [`ChildArgs::join_late`]: blocks until the monitor has moved us into the sandbox's
/// cgroup, so that everything forked from here on is born in it. On cgroup v1 the move can wait
/// for an RCU grace period; it happens while we build the sandbox instead of before.
pub(crate) unsafe fn wait_for_cgroup(plan: &Plan, args: &ChildArgs) {
    if !args.join_late {
        return;
    }
    // SAFETY: as for `wait_for_monitor`.
    unsafe {
        read_sync_byte(plan, args, 1);
        syscall(libc::SYS_close, &[args.sync_read as u64]);
    }
}

/// One byte from the start pipe, or the child fails at [`Step::Sync`] item `item`.
unsafe fn read_sync_byte(plan: &Plan, args: &ChildArgs, item: usize) {
    let mut byte = 0u8;
    // SAFETY: one byte into our own stack variable.
    let r = unsafe {
        syscall(
            libc::SYS_read,
            &[
                args.sync_read as u64,
                std::ptr::addr_of_mut!(byte) as u64,
                1,
            ],
        )
    };
    if r != 1 {
        fail_step(
            plan,
            Step::Sync,
            if r < 0 { r } else { -i64::from(libc::EPIPE) },
            item,
        );
    }
}

/// Writes `data` to the file at `path` in one write(2) (id maps must be written whole).
pub(crate) unsafe fn write_file(
    plan: &Plan,
    path: &core::ffi::CStr,
    data: &[u8],
    step: Step,
    item: usize,
) {
    // SAFETY: the caller vouches for the plan (module docs); every pointer below points into it.
    unsafe {
        let flags = (libc::O_WRONLY | libc::O_CLOEXEC) as u64;
        let fd = check(
            plan,
            step,
            syscall(
                libc::SYS_openat,
                &[libc::AT_FDCWD as u64, path.as_ptr() as u64, flags],
            ),
            item,
        );
        let n = syscall(
            libc::SYS_write,
            &[fd as u64, data.as_ptr() as u64, data.len() as u64],
        );
        syscall(libc::SYS_close, &[fd as u64]);
        if n != data.len() as i64 {
            fail_step(
                plan,
                step,
                if n < 0 { n } else { -i64::from(libc::EIO) },
                item,
            );
        }
    }
}
