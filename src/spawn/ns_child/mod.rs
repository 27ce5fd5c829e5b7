//! The sandbox's init between its clone and the exec of its image: it writes its id maps, builds
//! the new root, sets hostname and loopback, starts the sandboxee, then confines and replaces
//! itself (see `init_image.rs` for why it must not stay in the host's memory).
//!
//! # Safety
//! Same rules as `child/`: a CLONE_VM child, raw syscalls only, everything prepared in the
//! plan, failures recorded in the shared report followed by exit_group(2).

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

use super::child::{check, fail_step, sandboxee_main, write_file, ChildArgs};
use super::latency::Mark;
use super::ns_plan::{NsPlan, OpKind};
use super::plan::{Plan, Step};
use crate::sys::raw::{syscall, syscall6};
use mounts::{apply, clone_tree, set_attrs};
use proc_pid::{pid_in_our_proc, ProcPath};
use std::sync::atomic::Ordering;

mod mounts;
mod proc_pid;

#[repr(C)]
struct Ifreq {
    name: [u8; 16],
    flags: i16,
    pad: [u8; 22],
}

/// Entry point of the init given to clone(2). Never returns.
pub extern "C" fn init_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the monitor's live ChildArgs; its plan outlives this process's use of it.
    let args = unsafe { &*(arg as *const ChildArgs) };
    // SAFETY: same.
    let plan = unsafe { &*args.plan };
    let Some(ns) = plan.ns.as_ref() else {
        fail_step(plan, Step::Namespaces, -i64::from(libc::EINVAL), 0)
    };
    // SAFETY: every pointer below points into the plan.
    unsafe { run(plan, ns, args) }
}

#[allow(clippy::too_many_lines)] // the init's numbered steps from clone to exec, in order
unsafe fn run(plan: &Plan, ns: &NsPlan, args: &ChildArgs) -> ! {
    const CLOSE_RANGE_CLOEXEC: u64 = 1 << 2;
    // SAFETY: the caller vouches for the plan (module docs); every pointer below points into it.
    unsafe {
        super::child::wait_for_monitor(plan, args);
        // Die with the supervisor thread.
        check(
            plan,
            Step::DeathSignal,
            syscall(
                libc::SYS_prctl,
                &[libc::PR_SET_PDEATHSIG as u64, libc::SIGKILL as u64],
            ),
            0,
        );

        // 1. Identity: the sandbox user namespace maps uid/gid 1000 onto the caller's ids;
        //    setgroups is denied first, as user_namespaces(7) requires for an unprivileged gid_map.
        //    For a root caller the monitor has already written maps onto an unprivileged host id
        //    (it needs CAP_SETUID outside, which we do not have); see step 8b.
        if !ns.monitor_writes_maps {
            write_file(
                plan,
                c"/proc/self/uid_map",
                ns.uid_map.as_bytes(),
                Step::UserNs,
                0,
            );
            write_file(plan, c"/proc/self/setgroups", b"deny", Step::UserNs, 1);
            write_file(
                plan,
                c"/proc/self/gid_map",
                ns.gid_map.as_bytes(),
                Step::UserNs,
                2,
            );
        }
        plan.stamps.mark(Mark::IdMaps);

        // 2-7 with a template (`mntns/`): the root is the view already (read-only, private),
        //    and only the sandbox's own mounts are made, on the mount points it has.
        if args.mnt_template {
            own_mounts(plan, ns);
        } else {
            whole_view(plan, ns);
        }
        plan.stamps.mark(Mark::Pivot);

        // 8. Hostname and loopback.
        if ns.clone_flags & libc::CLONE_NEWUTS != 0 {
            let h = ns.hostname.as_bytes();
            let r = syscall(libc::SYS_sethostname, &[h.as_ptr() as u64, h.len() as u64]);
            // Cosmetic: a container's seccomp profile may refuse it; the inherited name stays
            // and the result says so.
            if r == -i64::from(libc::EPERM) {
                let bit = super::plan::degraded::HOSTNAME;
                plan.report.degraded.fetch_or(bit, Ordering::Relaxed);
            } else {
                check(plan, Step::Hostname, r, 0);
            }
        }
        if ns.lo_up && !args.netns_ready {
            let s = check(
                plan,
                Step::Network,
                syscall(
                    libc::SYS_socket,
                    &[
                        libc::AF_INET as u64,
                        (libc::SOCK_DGRAM | libc::SOCK_CLOEXEC) as u64,
                        0,
                    ],
                ),
                0,
            );
            let mut ifr = Ifreq {
                name: [0; 16],
                flags: 0,
                pad: [0; 22],
            };
            ifr.name[0] = b'l';
            ifr.name[1] = b'o';
            check(
                plan,
                Step::Network,
                syscall(
                    libc::SYS_ioctl,
                    &[
                        s as u64,
                        libc::SIOCGIFFLAGS,
                        std::ptr::addr_of_mut!(ifr) as u64,
                    ],
                ),
                1,
            );
            ifr.flags |= (libc::IFF_UP | libc::IFF_RUNNING) as i16;
            check(
                plan,
                Step::Network,
                syscall(
                    libc::SYS_ioctl,
                    &[s as u64, libc::SIOCSIFFLAGS, std::ptr::addr_of!(ifr) as u64],
                ),
                2,
            );
            syscall(libc::SYS_close, &[s as u64]);
        }
        // 8a. The network allow-list's udp: relay sockets, bound here and sent to the
        //     supervisor (`udp_relay.rs`); none stays open for the sandboxee to inherit.
        if let Some(relay) = ns.udp_relay.as_deref() {
            if let Err((errno, item)) = super::udp_relay::start_in_init(relay) {
                fail_step(plan, Step::Network, errno, item);
            }
        }

        plan.stamps.mark(Mark::Network);

        // 9. The sandboxee: pid 2, traced from birth (the monitor follows our forks), sharing
        //    memory until its exec like we do.
        //
        //    A root caller's sandboxee must not stay host uid 0 (we still are, as in-namespace
        //    root), so it is created in a nested user namespace of our making whose maps we write
        //    (we hold CAP_SETUID here), and then becomes uid/gid 1000 there, i.e. the
        //    unprivileged host id. Supplementary groups (host gid 0) go first. An unprivileged
        //    caller's sandboxee creates its nested namespace itself (child.rs step 8a).
        super::child::wait_for_cgroup(plan, args);
        let root = ns.monitor_writes_maps;
        let mut flags = libc::CLONE_VM | libc::SIGCHLD;
        if root {
            check(plan, Step::UserNs, syscall(libc::SYS_setgroups, &[0, 0]), 3);
            flags |= libc::CLONE_NEWUSER;
        }
        let pid = libc::clone(
            sandboxee_main,
            plan.sandboxee_stack_top.load(Ordering::Acquire) as *mut libc::c_void,
            flags,
            std::ptr::from_ref::<ChildArgs>(args) as *mut libc::c_void,
        );
        if pid < 0 {
            fail_step(plan, Step::Namespaces, -i64::from(libc::EAGAIN), 9);
        }
        if root {
            let mut path = ProcPath::new(pid_in_our_proc(plan, pid));
            write_file(
                plan,
                path.file(b"uid_map"),
                ns.inner_uid_map.as_bytes(),
                Step::NestedUserNs,
                1,
            );
            write_file(
                plan,
                path.file(b"setgroups"),
                b"deny",
                Step::NestedUserNs,
                2,
            );
            write_file(
                plan,
                path.file(b"gid_map"),
                ns.inner_gid_map.as_bytes(),
                Step::NestedUserNs,
                3,
            );
            // Let the sandboxee go on (it waits in `wait_for_nested_maps`).
            plan.nested_maps_ready.store(1, Ordering::Release);
            syscall(
                libc::SYS_futex,
                &[
                    plan.nested_maps_ready.as_ptr() as u64,
                    libc::FUTEX_WAKE as u64,
                    1,
                ],
            );
        }

        // 10. Leave the host's memory: no host fd may survive into the init image (all of ours
        //     become close-on-exec; the sandboxee has its own table already), confine
        //     ourselves, then exec the init image.
        check(
            plan,
            Step::Namespaces,
            syscall(
                libc::SYS_close_range,
                &[0, u64::from(u32::MAX), CLOSE_RANGE_CLOEXEC],
            ),
            11,
        );
        if ns.init_status_fd >= 0 {
            // The user-notify monitor's init image reports through INIT_STATUS_FD: that one fd
            // stays open across the exec (the pipe's other copies: the host closed its own, the
            // sandboxee closed its copy with everything else it does not keep).
            let want = super::handoff::INIT_STATUS_FD as u64;
            let r = if ns.init_status_fd as u64 == want {
                syscall(libc::SYS_fcntl, &[want, libc::F_SETFD as u64, 0])
            } else {
                syscall(libc::SYS_dup3, &[ns.init_status_fd as u64, want, 0])
            };
            check(plan, Step::Namespaces, r, 12);
        }
        check(
            plan,
            Step::NoNewPrivs,
            syscall(
                libc::SYS_prctl,
                &[libc::PR_SET_NO_NEW_PRIVS as u64, 1, 0, 0, 0],
            ),
            0,
        );
        let r = crate::sys::seccomp::install_filter(0, &ns.init_fprog);
        check(plan, Step::Seccomp, r.unwrap_or_else(|e| -i64::from(e)), 0);
        let r = syscall6(
            libc::SYS_execveat,
            ns.init_memfd as u64,
            c"".as_ptr() as u64,
            ns.init_argv.as_ptr() as u64,
            ns.empty_env.as_ptr() as u64,
            libc::AT_EMPTY_PATH as u64,
            0,
        );
        fail_step(plan, Step::Namespaces, r, 10)
    }
}

/// Steps 2-7 without a template: the init copies the host's table at the clone, mounts the
/// whole view on a new tmpfs root and pivots onto it.
#[allow(clippy::too_many_lines)] // the steps in order
unsafe fn whole_view(plan: &Plan, ns: &NsPlan) {
    // SAFETY: the caller vouches for the plan (module docs); every pointer below points into it.
    unsafe {
        // 2. No mount event may propagate back to the host.
        check(
            plan,
            Step::Mounts,
            syscall(
                libc::SYS_mount,
                &[
                    0,
                    c"/".as_ptr() as u64,
                    0,
                    (libc::MS_REC | libc::MS_PRIVATE),
                    0,
                ],
            ),
            usize::MAX,
        );

        // 3. Open every bind source now, before the staging tmpfs could hide any of them.
        let mut i = 0usize;
        for op in &ns.ops {
            if op.host_tree.is_some() {
                // Prepared by the host (idmapped); the fd came with the clone.
            } else if let OpKind::Bind { source, recursive } = &op.kind {
                let fd = clone_tree(plan, source, *recursive, op.attrs, i);
                op.tree_fd.store(fd as i32, Ordering::Relaxed);
            }
            i += 1;
        }

        // 4. The new root: a tmpfs on the staging directory (private to this mount namespace).
        check(
            plan,
            Step::Mounts,
            syscall(
                libc::SYS_mount,
                &[
                    c"tmpfs".as_ptr() as u64,
                    ns.staging.as_ptr() as u64,
                    c"tmpfs".as_ptr() as u64,
                    (libc::MS_NOSUID | libc::MS_NODEV),
                    // Owned by the sandboxee (uid/gid 1000), like everything the init creates in it.
                    c"mode=0755,uid=1000,gid=1000".as_ptr() as u64,
                ],
            ),
            usize::MAX,
        );
        let root = open_root(plan, &ns.staging);

        // 5. Each target is created and opened beneath the root without following symlinks, then
        //    the prepared tree is moved onto it.
        i = 0;
        for op in &ns.ops {
            apply(plan, op, root, i);
            i += 1;
        }

        // 6. Read-only root unless asked otherwise (only the root tmpfs itself; mounts keep theirs).
        if !ns.root_writable {
            set_attrs(plan, root, crate::sys::mount::MOUNT_ATTR_RDONLY, 0, 0, usize::MAX);
        }

        plan.stamps.mark(Mark::Mounts);

        // 7. Switch roots: pivot_root(".", ".") stacks the old root on the new one; detaching it
        //    leaves only the new root (pivot_root(2), "pivot_root(".", ".")").
        check(
            plan,
            Step::Pivot,
            syscall(libc::SYS_fchdir, &[root as u64]),
            0,
        );
        check(
            plan,
            Step::Pivot,
            syscall(
                libc::SYS_pivot_root,
                &[c".".as_ptr() as u64, c".".as_ptr() as u64],
            ),
            0,
        );
        check(
            plan,
            Step::Pivot,
            syscall(
                libc::SYS_umount2,
                &[c".".as_ptr() as u64, libc::MNT_DETACH as u64],
            ),
            1,
        );
        check(
            plan,
            Step::Pivot,
            syscall(libc::SYS_chdir, &[c"/".as_ptr() as u64]),
            2,
        );
        syscall(libc::SYS_close, &[root as u64]);
    }
}

/// Steps 5 and 7 with a template: the per-sandbox mounts beneath the copied view's root.
unsafe fn own_mounts(plan: &Plan, ns: &NsPlan) {
    // SAFETY: as for `whole_view`.
    unsafe {
        let root = open_root(plan, c"/");
        for (i, op) in ns.ops.iter().enumerate() {
            if !super::mntns::in_template(op) {
                apply(plan, op, root, i);
            }
        }
        plan.stamps.mark(Mark::Mounts);
        check(
            plan,
            Step::Pivot,
            syscall(libc::SYS_chdir, &[c"/".as_ptr() as u64]),
            2,
        );
        syscall(libc::SYS_close, &[root as u64]);
    }
}

/// The directory at `path` as an `O_PATH` fd to build beneath; fails the mounts step.
unsafe fn open_root(plan: &Plan, path: &core::ffi::CStr) -> i64 {
    let flags = (libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) as u64;
    let args = [libc::AT_FDCWD as u64, path.as_ptr() as u64, flags];
    // SAFETY: a live C string; openat only reads it.
    unsafe { check(plan, Step::Mounts, syscall(libc::SYS_openat, &args), usize::MAX) }
}
