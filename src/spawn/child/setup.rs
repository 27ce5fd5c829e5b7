//! The numbered steps of the child from its signal state to `execveat`, in order (see the
//! module docs of [`super`] for what code here may do), and the filter install with a
//! user-notify listener. The raw-ABI casts are allowed for all of `child/` in `mod.rs`.

#![allow(unsafe_code)]

use super::landlock::enter_landlock;
use super::privileges::{drop_host_privileges, wait_for_nested_maps};
use super::{check, fail_step, write_file};
use crate::caps::{CapData, CapHeader};
use crate::policy::EXEC_MAGIC;
use crate::spawn::handoff::Handoff;
use crate::spawn::latency::Mark;
use crate::spawn::plan::{in_force, Plan, Step};
use crate::sys::raw::{syscall, syscall6};
use std::sync::atomic::Ordering;

#[allow(clippy::too_many_lines)] // the numbered steps from clone to exec, in order
pub(super) unsafe fn setup_and_exec(plan: &Plan, namespaced: bool) -> ! {
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
                &[0, u64::from(crate::sys::rlimit::NOFILE), limit.as_ptr() as u64, 0],
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

        plan.stamps.mark(Mark::Fds);

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
                plan.stamps.mark(Mark::NestedUserNs);
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
                    &[
                        PR_SET_SPECULATION_CTRL as u64,
                        which,
                        PR_SPEC_FORCE_DISABLE,
                        0,
                        0,
                    ],
                )
            };
            if set(PR_SPEC_STORE_BYPASS) == 0 && set(PR_SPEC_INDIRECT_BRANCH) == 0 {
                plan.report
                    .in_force
                    .fetch_or(in_force::SPECULATION, Ordering::Relaxed);
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

        // 9b. The Landlock domain (see `src/landlock/`): needs no_new_privs, and must come
        //     before the filter, which does not allow the Landlock calls.
        if let Some(domain) = plan.landlock.as_ref() {
            enter_landlock(plan, domain);
            plan.stamps.mark(Mark::Landlock);
        }

        // The last stamp: after the filter no syscall but the exec may run (the policy need not
        // allow clock_gettime).
        plan.stamps.mark(Mark::Seccomp);

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
unsafe fn install_with_listener(plan: &Plan, h: &Handoff) {
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
