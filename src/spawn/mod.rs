//! The path from a request to `execve`: plan everything, clone a child that shares our memory
//! (no page-table copy, so the cost does not grow with the host's size), let the monitor attach,
//! then the child sets itself up with raw syscalls and execs.
//!
//! Why `clone(CLONE_VM)` without `CLONE_VFORK`: the monitor must `PTRACE_SEIZE` the child before
//! it installs its filter (the filter's exec rule and every violation are `SECCOMP_RET_TRACE`),
//! and a vfork parent would be suspended until the exec. The child therefore waits on a pipe
//! until the monitor has attached. Namespaces (next capability) add clone flags and steps to the
//! child between "sync" and "fds".

#![allow(unsafe_code)]

pub(crate) mod child;
pub(crate) mod doorbell;
pub(crate) mod handoff;
pub(crate) mod idmap;
pub(crate) mod init_image;
pub mod latency;
pub(crate) mod mntns;
pub(crate) mod netns;
mod ns_child;
pub(crate) mod ns_plan;
pub(crate) mod plan;
pub(crate) mod udp_relay;

use crate::error::{Error, Result};
use child::ChildArgs;
pub(crate) use plan::Plan;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Size of the child's stack. The child path is shallow; this leaves a wide margin.
const CHILD_STACK_SIZE: usize = 256 * 1024;

/// A child between clone and exec. Holds the memory the child uses until [`Spawned::release`]
/// (after the exec or the child's exit), and the write end of the start pipe.
pub(crate) struct Spawned {
    pub pid: libc::pid_t,
    /// One stack, or two (init and sandboxee) for a namespaced sandbox; given back when this is
    /// dropped, which the monitor does only once the child has exec'd or is gone.
    _stack: ChildStacks,
    /// Read by the children through a raw pointer until they exec; owned here until then.
    _args: Box<ChildArgs>,
    sync_write: Option<OwnedFd>,
    _sync_read: OwnedFd,
    /// Born in the sandbox's cgroup v2 group (`CLONE_INTO_CGROUP`): it need not be moved there.
    pub born_in_cgroup: bool,
    /// Born in the sandbox's v1 groups (cloned by a thread moved there for the clone).
    pub born_in_v1: bool,
    /// The init is moved into the sandbox's cgroup after its release ([`ChildArgs::join_late`]).
    pub join_late: bool,
}

// SAFETY: the stack is an mmap we own and the args a box of ours; moving the handle between
// threads is fine.
unsafe impl Send for Spawned {}

impl Spawned {
    /// Lets the child continue past its first step (call after PTRACE_SEIZE succeeded). With
    /// [`Spawned::join_late`], the start pipe stays open for [`Spawned::joined`].
    pub fn release(&mut self) -> Result<()> {
        if self.join_late {
            let w = self.sync_write.as_ref();
            return w.map_or(Ok(()), |w| write_byte(w, 1));
        }
        self.sync_write.take().map_or(Ok(()), |w| write_byte(&w, 1))
    }

    /// The init may fork the sandboxee: it is in the sandbox's cgroup now.
    pub fn joined(&mut self) -> Result<()> {
        self.sync_write.take().map_or(Ok(()), |w| write_byte(&w, 2))
    }
}

/// One byte to the start pipe.
fn write_byte(w: &OwnedFd, byte: u8) -> Result<()> {
    let byte = [byte];
    // SAFETY: writing one byte from a live buffer to our pipe.
    let r = unsafe { libc::write(w.as_raw_fd(), byte.as_ptr().cast(), 1) };
    if r != 1 {
        return Err(Error::last_os("write(start pipe)"));
    }
    Ok(())
}

/// An anonymous stack for `clone(CLONE_VM)` children (a sandbox's init and sandboxee, the idmap
/// holder, the doorbell); unmapped when dropped, which the owner does only once no child runs
/// on it.
pub(crate) struct HelperStack {
    base: *mut libc::c_void,
    len: usize,
}

impl HelperStack {
    /// Maps `len` bytes.
    pub(crate) fn map(len: usize) -> std::io::Result<HelperStack> {
        // SAFETY: anonymous private mapping; checked for MAP_FAILED below.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(HelperStack { base, len })
    }

    /// The lowest address of the mapping.
    fn base(&self) -> *mut libc::c_void {
        self.base
    }

    /// The top of the stack (stacks grow down), for `clone`.
    pub(crate) fn top(&self) -> *mut libc::c_void {
        // SAFETY: one past the end of our own mapping.
        unsafe { self.base.cast::<u8>().add(self.len).cast() }
    }
}

impl Drop for HelperStack {
    fn drop(&mut self) {
        // SAFETY: unmapping the mapping made in `map`; the owner guarantees no child uses it.
        unsafe { libc::munmap(self.base, self.len) };
    }
}

// SAFETY: a mapping's address and length, usable from any thread; its owner decides when no
// child runs on it.
unsafe impl Send for HelperStack {}

/// Children's stacks that ended, kept for the next sandboxes: a start then maps and protects
/// nothing, and an end unmaps nothing (an munmap in a process whose threads ran on several CPUs
/// interrupts each of them to flush its TLB). What a stack held is the library's own pre-exec
/// frames in the host's memory, which every `CLONE_VM` child can read anyway.
static SPARE_STACKS: std::sync::Mutex<Vec<HelperStack>> = std::sync::Mutex::new(Vec::new());

/// How many spare stacks are kept (each 256 or 512 KiB of address space, a few pages resident).
const SPARE_STACKS_KEPT: usize = 4;

/// A sandbox's children's stacks, to the spares when dropped (unmapped when there are enough).
struct ChildStacks(std::mem::ManuallyDrop<HelperStack>);

impl ChildStacks {
    fn spares() -> std::sync::MutexGuard<'static, Vec<HelperStack>> {
        SPARE_STACKS.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A spare of `len` bytes, if one is kept.
    fn spare(len: usize) -> Option<HelperStack> {
        let mut spares = Self::spares();
        let i = spares.iter().position(|s| s.len == len)?;
        Some(spares.swap_remove(i))
    }

    fn new(stack: HelperStack) -> ChildStacks {
        ChildStacks(std::mem::ManuallyDrop::new(stack))
    }
}

impl Drop for ChildStacks {
    fn drop(&mut self) {
        // SAFETY: taken once, here, and never used again.
        let stack = unsafe { std::mem::ManuallyDrop::take(&mut self.0) };
        let mut spares = Self::spares();
        if spares.len() < SPARE_STACKS_KEPT {
            spares.push(stack);
        }
    }
}

/// Clones the child. The calling thread must have every signal blocked (the child inherits the
/// mask, so no host handler can run in it before it resets dispositions).
///
/// `plan` must stay at the same address until the child has exec'd or exited.
pub(crate) fn spawn(plan: &Plan) -> Result<Spawned> {
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 writes two fds into the array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(Error::last_os("pipe2"));
    }
    // SAFETY: fresh fds from pipe2, owned by nobody else.
    let (sync_read, sync_write) =
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };

    let stack = map_stacks(plan)?;

    // A sandbox of the shared network namespace, or of a fresh one from the pool, is cloned
    // from inside it (left right after); the pool's has `lo` up already.
    let (in_netns, pooled) = enter_netns(plan)?;
    let mut args = Box::new(ChildArgs {
        plan: std::ptr::from_ref::<Plan>(plan),
        sync_read: sync_read.as_raw_fd(),
        sync_write: sync_write.as_raw_fd(),
        join_late: plan.ns.is_some() && plan.cgroup.is_some(),
        netns_ready: pooled,
        mnt_template: false,
    });
    // Exit signal 0: the host gets no SIGCHLD (its handlers and SIGCHLD=SIG_IGN auto-reaping stay
    // out of the way); the monitor waits with __WALL.
    let (entry, mut flags): (extern "C" fn(*mut libc::c_void) -> libc::c_int, i32) = match &plan.ns
    {
        None => (child::child_main, libc::CLONE_VM),
        Some(ns) => (ns_child::init_main, libc::CLONE_VM | ns.clone_flags),
    };
    if pooled {
        flags &= !libc::CLONE_NEWNET;
    }
    let birth = plan
        .cgroup
        .as_ref()
        .and_then(crate::cgroups::SandboxCgroup::birth_fd);
    // This thread in the sandbox's v1 groups for the clone (back when the guard drops).
    let v1_birth = plan
        .cgroup
        .as_ref()
        .and_then(|cg| crate::caps::with_raised_capabilities(|| cg.enter_v1_here()));
    // Last, since host paths do not resolve in it: the view's template mount namespace, whose
    // copy the clone makes (left right after; `mntns/`).
    let in_template = plan.mnt_template.as_deref().and_then(mntns::enter);
    args.mnt_template = in_template.is_some();
    let arg = std::ptr::addr_of!(*args) as *mut libc::c_void;
    // SAFETY: the lower stack of our mapping, which only the child uses; the child runs only
    // `entry`, which uses raw syscalls and memory that outlives its pre-exec phase.
    let born =
        birth.and_then(|cgroup| unsafe { clone_into(cgroup, stack.0.base(), flags, entry, arg) });
    let born_in_cgroup = born.is_some();
    let born_in_v1 = v1_birth.is_some();
    // SAFETY: the stack grows down from the end of the lower stack (16-byte aligned); as above.
    let pid = born.unwrap_or_else(|| unsafe {
        let top = stack
            .0
            .base()
            .cast::<u8>()
            .add(CHILD_STACK_SIZE)
            .cast::<libc::c_void>();
        libc::clone(entry, top, flags, arg)
    });
    let clone_error = std::io::Error::last_os_error();
    drop(in_template);
    crate::caps::with_raised_capabilities(|| drop(v1_birth));
    drop(in_netns);
    if pid < 0 {
        let e = clone_error;
        plan.report.errno.store(
            e.raw_os_error().unwrap_or(0),
            std::sync::atomic::Ordering::Relaxed,
        );
        if plan.ns.is_some() {
            return Err(crate::namespaces::namespace_error(
                e.raw_os_error().unwrap_or(0),
            ));
        }
        return Err(Error::os("clone", e.raw_os_error().unwrap_or(0)));
    }
    let join_late = args.join_late;
    Ok(Spawned {
        pid,
        _stack: stack,
        _args: args,
        sync_write: Some(sync_write),
        _sync_read: sync_read,
        born_in_cgroup,
        born_in_v1,
        join_late,
    })
}

/// The children's stacks: one, or two (init and sandboxee) for a namespaced sandbox, each with
/// a guard page at its bottom (a spare of an ended sandbox, or a new mapping); the sandboxee's
/// top is stored in the plan.
fn map_stacks(plan: &Plan) -> Result<ChildStacks> {
    let stacks = if plan.ns.is_some() { 2 } else { 1 };
    let stack = match ChildStacks::spare(CHILD_STACK_SIZE * stacks) {
        Some(spare) => spare,
        None => new_stacks(stacks)?,
    };
    // The sandboxee's stack (namespaced case) is the upper one; its top is the mapping's end.
    plan.sandboxee_stack_top.store(
        stack.top() as usize,
        std::sync::atomic::Ordering::Release,
    );
    Ok(ChildStacks::new(stack))
}

/// A new mapping of `stacks` child stacks.
fn new_stacks(stacks: usize) -> Result<HelperStack> {
    let stack = HelperStack::map(CHILD_STACK_SIZE * stacks)
        .map_err(|e| Error::os("mmap(child stack)", e.raw_os_error().unwrap_or(0)))?;
    // A guard page at the bottom of each stack turns an overflow into a crash of the child only.
    for i in 0..stacks {
        // SAFETY: the first page of each stack in our own mapping.
        unsafe {
            libc::mprotect(
                stack.base().cast::<u8>().add(i * CHILD_STACK_SIZE).cast(),
                4096,
                libc::PROT_NONE,
            )
        };
    }
    Ok(stack)
}

/// The network namespace the supervisor thread enters for the clone, if any, and whether it is
/// a fresh one from the pool (the clone then makes none; `netns.rs`).
fn enter_netns(plan: &Plan) -> Result<(Option<netns::Entered>, bool)> {
    let Some(ns) = plan.ns.as_ref() else {
        return Ok((None, false));
    };
    if ns.shared_netns {
        return netns::enter_shared().map(|e| (Some(e), false));
    }
    // `lo_up`: a network namespace of its own (`NetNs::PerSandbox`).
    if ns.lo_up && ns.udp_relay.is_none() {
        if let Some(e) = netns::enter_fresh() {
            return Ok((Some(e), true));
        }
    }
    Ok((None, false))
}

/// `clone3` with `CLONE_INTO_CGROUP` into the cgroup v2 directory `cgroup`, the child running
/// `entry(arg)` on the lower stack of `stack` like `libc::clone` would. `None` when the kernel
/// refuses it (before 5.7, a seccomp filter that answers ENOSYS, as Docker's does, or a group
/// we may not create in): the caller clones the old way and moves the child afterwards.
///
/// # Safety
/// As for `libc::clone` with `CLONE_VM`: `stack` is at least [`CHILD_STACK_SIZE`] bytes that
/// only the child uses, and `entry`/`arg` stay valid until the child has exec'd or exited.
unsafe fn clone_into(
    cgroup: std::os::fd::RawFd,
    stack: *mut libc::c_void,
    flags: i32,
    entry: crate::sys::clone3::Entry,
    arg: *mut libc::c_void,
) -> Option<libc::pid_t> {
    let args = crate::sys::clone3::CloneArgs {
        // The clone flags are bits of a C int; exit signal 0 (see above) sits in its own field.
        flags: u64::from(crate::sys::bits_u32(flags)) | crate::sys::clone3::CLONE_INTO_CGROUP,
        stack: stack as u64,
        stack_size: CHILD_STACK_SIZE as u64,
        cgroup: u64::try_from(cgroup).ok()?,
        ..Default::default()
    };
    // SAFETY: the caller's contract; `args` lives across the call.
    let pid = unsafe { crate::sys::clone3::clone3_vm(&args, entry, arg) };
    libc::pid_t::try_from(pid).ok().filter(|p| *p > 0)
}

pub(crate) use child::SETUP_FAILED_EXIT;
