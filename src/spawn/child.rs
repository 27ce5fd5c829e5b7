//! The child's path from `clone` to `execveat`.
//!
//! # Safety
//! This code runs in a `clone(CLONE_VM)` child that shares the host's memory and TLS while the
//! host's other threads keep running. It follows signal-safety(7) strictly: raw syscalls only
//! (see [`super::raw`]), no allocation, no locks, no `std` I/O, no logging, no panics (indices are
//! never used unchecked-and-panicking: loops walk slices with iterators). Everything it reads was
//! laid out by [`super::plan::Plan`] before the clone. On failure it records the step and errno in
//! the plan's [`ChildReport`] (shared memory) and calls exit_group(2).

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

use super::plan::{Plan, Step};
use crate::caps::{
    CapData, CapHeader, CAP_SETPCAP, SECBIT_KEEP_CAPS_LOCKED, SECBIT_NOROOT, SECBIT_NOROOT_LOCKED,
    SECBIT_NO_CAP_AMBIENT_RAISE, SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED, SECBIT_NO_SETUID_FIXUP,
    SECBIT_NO_SETUID_FIXUP_LOCKED,
};
use crate::policy::EXEC_MAGIC;
use crate::sys::raw::{exit_group, syscall, syscall6};
use std::sync::atomic::Ordering;

/// Exit code of a child whose setup failed (the report says why).
pub const SETUP_FAILED_EXIT: i32 = 127;

/// What the child needs besides the plan.
pub struct ChildArgs {
    pub plan: *const Plan,
    pub sync_read: i32,
    pub sync_write: i32,
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

/// Creates the plan's Landlock ruleset, adds its rules (paths of the view, opened `O_PATH` now
/// that the root is the sandbox's; then the mapped fds) and restricts the calling thread's
/// process with it. A path that does not exist (an optional `/proc` that could not be mounted)
/// grants nothing; an fd Landlock does not govern (a pipe or socket: EBADFD) is skipped.
fn enter_landlock(plan: &Plan, domain: &crate::landlock::Domain) {
    use super::plan::landlock_item;
    use crate::landlock::{NetPortAttr, PathBeneathAttr, RULE_NET_PORT, RULE_PATH_BENEATH};
    let attr = &domain.attr;
    // Every call through `sys` passes pointers to the plan's ruleset attribute, its rule paths
    // (NUL-terminated CStrings) and a rule on this stack frame, all alive for the call; the fds
    // are ours (the ruleset, the O_PATH fd just opened) or the sandboxee's moved fds, and a bad
    // one is an error the call returns.
    // SAFETY: see above; none of these calls changes memory the caller relies on.
    let sys = |nr: i64, args: &[u64]| unsafe { syscall(nr, args) };
    let ruleset = check(
        plan,
        Step::Landlock,
        sys(
            libc::SYS_landlock_create_ruleset,
            &[std::ptr::from_ref(attr) as u64, attr.size as u64, 0],
        ),
        landlock_item::CREATE,
    );
    let add = |fd: i64, access: u64| {
        let rule = PathBeneathAttr {
            allowed_access: access,
            parent_fd: fd as i32,
        };
        sys(
            libc::SYS_landlock_add_rule,
            &[ruleset as u64, RULE_PATH_BENEATH, std::ptr::addr_of!(rule) as u64, 0],
        )
    };
    for (i, rule) in domain.paths.iter().enumerate() {
        let fd = sys(
            libc::SYS_openat,
            &[
                libc::AT_FDCWD as u64,
                rule.path.as_ptr() as u64,
                (libc::O_PATH | libc::O_CLOEXEC | libc::O_NOFOLLOW) as u64,
            ],
        );
        if fd == -i64::from(libc::ENOENT) {
            continue;
        }
        check(plan, Step::Landlock, fd, i);
        let r = add(fd, rule.access);
        sys(libc::SYS_close, &[fd as u64]);
        check(plan, Step::Landlock, r, i);
    }
    for (i, rule) in domain.fds.iter().enumerate() {
        let r = add(i64::from(rule.fd), rule.access);
        if r != -i64::from(libc::EBADFD) {
            check(plan, Step::Landlock, r, domain.paths.len() + i);
        }
    }
    for (i, &port) in domain.tcp_ports.iter().enumerate() {
        let rule = NetPortAttr {
            allowed_access: crate::sys::landlock::net::CONNECT_TCP,
            port: u64::from(port),
        };
        let r = sys(
            libc::SYS_landlock_add_rule,
            &[ruleset as u64, RULE_NET_PORT, std::ptr::addr_of!(rule) as u64, 0],
        );
        check(plan, Step::Landlock, r, domain.paths.len() + domain.fds.len() + i);
    }
    check(
        plan,
        Step::Landlock,
        sys(libc::SYS_landlock_restrict_self, &[ruleset as u64, 0]),
        landlock_item::RESTRICT,
    );
    sys(libc::SYS_close, &[ruleset as u64]);
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
        let mut byte = 0u8;
        let r = syscall(
            libc::SYS_read,
            &[
                args.sync_read as u64,
                std::ptr::addr_of_mut!(byte) as u64,
                1,
            ],
        );
        if r != 1 {
            fail_step(
                plan,
                Step::Sync,
                if r < 0 { r } else { -i64::from(libc::EPIPE) },
                0,
            );
        }
        syscall(libc::SYS_close, &[args.sync_read as u64]);
    }
}

#[allow(clippy::too_many_lines)] // the numbered steps from clone to exec, in order
unsafe fn setup_and_exec(plan: &Plan, namespaced: bool) -> ! {
    // SAFETY: the caller vouches for the plan (module docs); every pointer below points into it.
    unsafe {
        // 2. Signal state. The supervisor thread blocked every signal before clone, so no host
        //    handler can run here. Reset every disposition (handlers would point into host code;
        //    ignored signals would stay ignored across exec), then unblock everything.
        let dfl = KernelSigaction {
            handler: libc::SIG_DFL as u64,
            flags: 0,
            restorer: 0,
            mask: 0,
        };
        let mut sig = 1u64;
        while sig <= 64 {
            if sig != libc::SIGKILL as u64 && sig != libc::SIGSTOP as u64 {
                // Errors (e.g. EINVAL for numbers reserved by the C library) are harmless.
                syscall(
                    libc::SYS_rt_sigaction,
                    &[sig, std::ptr::addr_of!(dfl) as u64, 0, 8],
                );
            }
            sig += 1;
        }
        let empty: u64 = 0;
        check(
            plan,
            Step::Signals,
            syscall(
                libc::SYS_rt_sigprocmask,
                &[
                    libc::SIG_SETMASK as u64,
                    std::ptr::addr_of!(empty) as u64,
                    0,
                    8,
                ],
            ),
            0,
        );

        // 3. A new session: no controlling terminal (no TIOCSTI into the host's tty), and host
        //    job-control signals to the host's process group do not reach the sandbox.
        check(plan, Step::Session, syscall(libc::SYS_setsid, &[]), 0);

        // 4. Die with the supervisor thread (prctl(2): the signal fires when the creating *thread*
        //    exits, which is exactly the monitor). PTRACE_O_EXITKILL covers later tracees.
        check(
            plan,
            Step::DeathSignal,
            syscall(
                libc::SYS_prctl,
                &[libc::PR_SET_PDEATHSIG as u64, libc::SIGKILL as u64],
            ),
            0,
        );

        // 5. File descriptors: copy every source above all sources and destinations first, so a
        //    destination never overwrites a source still to be moved; then place them; then close
        //    everything that is not a destination.
        //    The temporaries and the user-notify hand-off's reserved number may lie above the
        //    host's soft RLIMIT_NOFILE: the plan then says to raise it to the hard limit first
        //    (step 7 sets the sandboxee's own limit).
        if let Some(limit) = plan.nofile_raise.as_ref() {
            syscall(
                libc::SYS_prlimit64,
                &[0, u64::from(libc::RLIMIT_NOFILE), limit.as_ptr() as u64, 0],
            );
        }
        let mut i = 0usize;
        for m in &plan.moves {
            let r = syscall(
                libc::SYS_dup3,
                &[m.src as u64, (plan.temp_base + i as i32) as u64, 0],
            );
            check(plan, Step::Fds, r, i);
            i += 1;
        }
        i = 0;
        for m in &plan.moves {
            let flags = if m.cloexec { libc::O_CLOEXEC as u64 } else { 0 };
            let r = syscall(
                libc::SYS_dup3,
                &[(plan.temp_base + i as i32) as u64, m.dst as u64, flags],
            );
            check(plan, Step::Fds, r, i);
            i += 1;
        }
        let mut next: u64 = 0;
        for &k in &plan.keep {
            let k = k as u64;
            if k > next {
                check(
                    plan,
                    Step::Fds,
                    syscall(libc::SYS_close_range, &[next, k - 1, 0]),
                    0,
                );
            }
            next = k + 1;
        }
        check(
            plan,
            Step::Fds,
            syscall(libc::SYS_close_range, &[next, u64::from(u32::MAX), 0]),
            0,
        );

        // 6. Working directory.
        check(
            plan,
            Step::Cwd,
            syscall(libc::SYS_chdir, &[plan.cwd.as_ptr() as u64]),
            0,
        );

        // 7. rlimits, before capabilities go (raising a limit needs CAP_SYS_RESOURCE).
        i = 0;
        for r in &plan.rlimits {
            let lim = [r.value, r.value];
            check(
                plan,
                Step::Rlimit,
                syscall(
                    libc::SYS_prlimit64,
                    &[0, u64::from(r.resource), lim.as_ptr() as u64, 0],
                ),
                i,
            );
            i += 1;
        }

        plan.stamps.mark(super::latency::Mark::Fds);

        // 8a. In a namespaced sandbox: a nested user namespace of our own, so the mounts made by
        //     the init (owned by its user namespace) cannot be changed or undone from here.
        if namespaced {
            if let Some(ns) = plan.ns.as_ref() {
                if ns.monitor_writes_maps {
                    // A root caller's init created us in the nested namespace and writes its maps;
                    // then we leave in-namespace root for 1000 (the unprivileged host id). The uid
                    // change clears the shared address space's dumpable flag: put it back.
                    wait_for_nested_maps(plan);
                    let id = u64::from(crate::namespaces::SANDBOX_ID);
                    check(
                        plan,
                        Step::NestedUserNs,
                        syscall(libc::SYS_setresgid, &[id, id, id]),
                        4,
                    );
                    check(
                        plan,
                        Step::NestedUserNs,
                        syscall(libc::SYS_setresuid, &[id, id, id]),
                        5,
                    );
                    syscall(
                        libc::SYS_prctl,
                        &[libc::PR_SET_DUMPABLE as u64, plan.host_dumpable as u64],
                    );
                    // A uid change clears the parent-death signal; and no capability in our own
                    // namespace is needed from here on.
                    check(
                        plan,
                        Step::DeathSignal,
                        syscall(
                            libc::SYS_prctl,
                            &[libc::PR_SET_PDEATHSIG as u64, libc::SIGKILL as u64],
                        ),
                        1,
                    );
                    let hdr = CapHeader::SELF;
                    let none = [CapData::EMPTY; 2];
                    check(
                        plan,
                        Step::NestedUserNs,
                        syscall(
                            libc::SYS_capset,
                            &[std::ptr::addr_of!(hdr) as u64, none.as_ptr() as u64],
                        ),
                        7,
                    );
                } else {
                    check(
                        plan,
                        Step::NestedUserNs,
                        syscall(libc::SYS_unshare, &[libc::CLONE_NEWUSER as u64]),
                        0,
                    );
                    write_file(
                        plan,
                        c"/proc/self/uid_map",
                        ns.inner_uid_map.as_bytes(),
                        Step::NestedUserNs,
                        1,
                    );
                    write_file(
                        plan,
                        c"/proc/self/setgroups",
                        b"deny",
                        Step::NestedUserNs,
                        2,
                    );
                    write_file(
                        plan,
                        c"/proc/self/gid_map",
                        ns.inner_gid_map.as_bytes(),
                        Step::NestedUserNs,
                        3,
                    );
                }
                plan.stamps.mark(super::latency::Mark::NestedUserNs);
            }
        }

        // 8. Without namespaces, a caller with capabilities or root ids must not hand them to
        //    the sandboxee (with namespaces the init took care of ids, and the nested user
        //    namespace holds no capability outside).
        if !namespaced {
            drop_host_privileges(plan);
        }

        // 8b. Speculation: force-disable speculative store bypass and indirect branch
        //     speculation for the sandboxee, as sandbox2 does by default (a sandboxee cannot
        //     turn it back on). Only where the kernel lets a process choose (its mitigation mode
        //     is prctl or seccomp); elsewhere the calls fail and nothing is reported in force.
        if plan.disable_speculation {
            use crate::sys::prctl::{
                PR_SET_SPECULATION_CTRL, PR_SPEC_FORCE_DISABLE, PR_SPEC_INDIRECT_BRANCH,
                PR_SPEC_STORE_BYPASS,
            };
            let set = |which| {
                syscall(
                    libc::SYS_prctl,
                    &[PR_SET_SPECULATION_CTRL as u64, which, PR_SPEC_FORCE_DISABLE, 0, 0],
                )
            };
            if set(PR_SPEC_STORE_BYPASS) == 0 && set(PR_SPEC_INDIRECT_BRANCH) == 0 {
                plan.report.in_force.fetch_or(
                    super::plan::in_force::SPECULATION,
                    Ordering::Relaxed,
                );
            }
        }

        // 9. seccomp(2): an unprivileged filter requires no_new_privs; it also keeps setuid
        //    binaries from gaining anything.
        check(
            plan,
            Step::NoNewPrivs,
            syscall(
                libc::SYS_prctl,
                &[libc::PR_SET_NO_NEW_PRIVS as u64, 1, 0, 0, 0],
            ),
            0,
        );

        // 9b. The Landlock domain (see `landlock.rs`): needs no_new_privs, and must come
        //     before the filter, which does not allow the Landlock calls.
        if let Some(domain) = plan.landlock.as_ref() {
            enter_landlock(plan, domain);
            plan.stamps.mark(super::latency::Mark::Landlock);
        }

        // The last stamp: after the filter no syscall but the exec may run (the policy need not
        // allow clock_gettime).
        plan.stamps.mark(super::latency::Mark::Seccomp);

        // 10. The policy. From here on every syscall is filtered, including the exec below.
        match plan.handoff.as_deref() {
            None => {
                let r = crate::sys::seccomp::install_filter(0, &plan.fprog);
                check(plan, Step::Seccomp, r.unwrap_or_else(|e| -i64::from(e)), 0);
            }
            Some(h) => install_with_listener(plan, h),
        }

        // 11. The one exec the mandatory rules let through: execveat with the magic in the 6th
        //     register (ignored by the kernel, seen by the filter), confirmed by the monitor.
        let r = syscall6(
            libc::SYS_execveat,
            libc::AT_FDCWD as u64,
            plan.path.as_ptr() as u64,
            plan.argv_ptrs.as_ptr() as u64,
            plan.envp_ptrs.as_ptr() as u64,
            0,
            EXEC_MAGIC,
        );
        fail_step(plan, Step::Exec, r, 0)
    }
}

/// Installs the filter with a new listener (killable waits where the kernel has them) and
/// sends the listener to the supervisor over the reserved socket (see `handoff.rs`). The listener
/// is close-on-exec, like the socket: neither survives the exec.
///
/// # Safety
/// Called by the child between clone and exec with the plan it was given.
unsafe fn install_with_listener(plan: &Plan, h: &super::handoff::Handoff) {
    // SAFETY: per the contract; the pointers point into the plan and the boxed hand-off.
    unsafe {
        // Killable waits where the kernel has them (5.19), else the listener alone.
        let fd = crate::sys::seccomp::install_with_listener(&plan.fprog)
            .map_or_else(|e| -i64::from(e), |(fd, _)| fd);
        let fd = check(plan, Step::Seccomp, fd, 1);
        h.set_fd(fd as i32);
        let r = syscall(
            libc::SYS_sendmsg,
            &[
                h.reserved_fd as u64,
                std::ptr::addr_of!(h.msg) as u64,
                libc::MSG_NOSIGNAL as u64,
            ],
        );
        check(plan, Step::Seccomp, r, 2);
    }
}

/// The kernel's `struct sigaction` for rt_sigaction(2) on x86-64 and aarch64 (not glibc's).
#[repr(C)]
struct KernelSigaction {
    handler: u64,
    flags: u64,
    restorer: u64,
    mask: u64,
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

/// Root ids or capabilities of the caller, taken away before the exec: securebits that keep uid
/// 0 from regaining capabilities (when we may set them), empty bounding and ambient sets, the
/// unprivileged host id for a root caller (see `namespaces::root_caller_host_id`), then empty
/// capability sets. Decided from this thread's own credentials (capabilities are per thread).
#[allow(clippy::too_many_lines)] // the id and capability steps, in the order the kernel needs
unsafe fn drop_host_privileges(plan: &Plan) {
    // SAFETY: the caller vouches for the plan; the structs passed to capget/capset are ours.
    unsafe {
        let hdr = CapHeader::SELF;
        let mut data = [CapData::EMPTY; 2];
        check(
            plan,
            Step::Capabilities,
            syscall(
                libc::SYS_capget,
                &[std::ptr::addr_of!(hdr) as u64, data.as_mut_ptr() as u64],
            ),
            0,
        );
        let (mut r, mut e, mut su) = (0u32, 0u32, 0u32);
        syscall(
            libc::SYS_getresuid,
            &[
                std::ptr::addr_of_mut!(r) as u64,
                std::ptr::addr_of_mut!(e) as u64,
                std::ptr::addr_of_mut!(su) as u64,
            ],
        );
        let root = r == 0 || e == 0 || su == 0;
        let permitted = u64::from(data[0].permitted) | u64::from(data[1].permitted) << 32;
        let any_caps = data
            .iter()
            .any(|d| d.permitted | d.effective | d.inheritable != 0);
        if !root && !any_caps {
            return;
        }
        // Use what we hold for the steps below.
        for d in &mut data {
            d.effective = d.permitted;
        }
        check(
            plan,
            Step::Capabilities,
            syscall(
                libc::SYS_capset,
                &[std::ptr::addr_of!(hdr) as u64, data.as_ptr() as u64],
            ),
            1,
        );
        if permitted & (1u64 << CAP_SETPCAP) != 0 {
            let bits = SECBIT_NOROOT
                | SECBIT_NOROOT_LOCKED
                | SECBIT_NO_SETUID_FIXUP
                | SECBIT_NO_SETUID_FIXUP_LOCKED
                | SECBIT_KEEP_CAPS_LOCKED
                | SECBIT_NO_CAP_AMBIENT_RAISE
                | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
            check(
                plan,
                Step::Capabilities,
                syscall(libc::SYS_prctl, &[libc::PR_SET_SECUREBITS as u64, bits]),
                2,
            );
            let mut cap = 0u64;
            while cap <= u64::from(plan.caps.last_cap) {
                check(
                    plan,
                    Step::Capabilities,
                    syscall(libc::SYS_prctl, &[libc::PR_CAPBSET_DROP as u64, cap]),
                    cap as usize,
                );
                cap += 1;
            }
        }
        let clear_ambient = [
            libc::PR_CAP_AMBIENT as u64,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as u64,
            0,
            0,
            0,
        ];
        check(
            plan,
            Step::Capabilities,
            syscall(libc::SYS_prctl, &clear_ambient),
            3,
        );
        if root && plan.caps.switch_ids {
            // A uid change marks our memory (shared with the host until exec) non-dumpable;
            // put the host's setting back afterwards.
            let id = u64::from(plan.caps.host_id);
            check(
                plan,
                Step::Capabilities,
                syscall(libc::SYS_setgroups, &[0, 0]),
                4,
            );
            check(
                plan,
                Step::Capabilities,
                syscall(libc::SYS_setresgid, &[id, id, id]),
                5,
            );
            check(
                plan,
                Step::Capabilities,
                syscall(libc::SYS_setresuid, &[id, id, id]),
                6,
            );
            syscall(
                libc::SYS_prctl,
                &[libc::PR_SET_DUMPABLE as u64, plan.host_dumpable as u64],
            );
            // A uid change clears the parent-death signal: set it again.
            let pdeath = [libc::PR_SET_PDEATHSIG as u64, libc::SIGKILL as u64];
            check(
                plan,
                Step::DeathSignal,
                syscall(libc::SYS_prctl, &pdeath),
                1,
            );
        }
        let none = [CapData::EMPTY; 2];
        check(
            plan,
            Step::Capabilities,
            syscall(
                libc::SYS_capset,
                &[std::ptr::addr_of!(hdr) as u64, none.as_ptr() as u64],
            ),
            7,
        );
    }
}

/// Waits (futex, at most 10 s) until a root caller's init has written our nested id maps.
unsafe fn wait_for_nested_maps(plan: &Plan) {
    // SAFETY: the futex word lives in the plan, shared with the init (CLONE_VM).
    unsafe {
        let word = plan.nested_maps_ready.as_ptr() as u64;
        let timeout = [10i64, 0i64];
        let mut rounds = 0;
        while plan.nested_maps_ready.load(Ordering::Acquire) == 0 {
            let r = syscall(
                libc::SYS_futex,
                &[word, libc::FUTEX_WAIT as u64, 0, timeout.as_ptr() as u64],
            );
            rounds += 1;
            if r == -i64::from(libc::ETIMEDOUT) || rounds > 1000 {
                fail_step(plan, Step::NestedUserNs, -i64::from(libc::ETIMEDOUT), 6);
            }
        }
    }
}
