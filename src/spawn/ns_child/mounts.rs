//! The init's mount operations on the new root, one `MountOp` at a time: binds opened beneath
//! the root without following symlinks, new tmpfs, devpts and procfs instances, clones of host
//! trees, and what a root caller's init created handed to the sandboxee's uid.
//!
//! # Safety
//! Code of the init between clone and exec (see the parent module): raw syscalls only, no
//! allocation, failures recorded in the shared report.

#![allow(unsafe_code)]

use crate::spawn::child::{check, fail_step};
use crate::spawn::ns_plan::{MountOp, OpKind};
use crate::spawn::plan::{Plan, Step};
use crate::sys::raw::syscall;
use std::sync::atomic::Ordering;

use crate::sys::mount::{
    MountAttr, OpenHow, AT_RECURSIVE, FSCONFIG_CMD_CREATE, FSCONFIG_SET_STRING, FSMOUNT_CLOEXEC,
    FSOPEN_CLOEXEC, MOVE_MOUNT_F_EMPTY_PATH, MOVE_MOUNT_T_EMPTY_PATH, OPEN_TREE_CLONE,
    RESOLVE_BENEATH, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS,
};

/// Opens `name` beneath `dir` without following any symlink (RESOLVE_BENEATH|NO_SYMLINKS).
unsafe fn open_beneath(dir: i64, name: &core::ffi::CStr, flags: u64) -> i64 {
    let how = OpenHow {
        flags,
        mode: 0,
        resolve: RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    // SAFETY: `how` and `name` outlive the call; openat2 only reads them.
    unsafe {
        syscall(
            libc::SYS_openat2,
            &[
                dir as u64,
                name.as_ptr() as u64,
                std::ptr::addr_of!(how) as u64,
                core::mem::size_of::<OpenHow>() as u64,
            ],
        )
    }
}

#[allow(clippy::too_many_lines)] // one arm per kind of mount operation
pub(super) unsafe fn apply(plan: &Plan, op: &MountOp, root: i64, item: usize) {
    // SAFETY: the caller vouches for the plan (module docs); every pointer below points into it.
    unsafe {
        let n = op.components.len();
        let mut dir = root;
        let mut target = -1i64;
        for (k, comp) in op.components.iter().enumerate() {
            let last = k + 1 == n;
            // Parents are directories; the last component is created here only for directory
            // targets (files are made with mknodat below, symlinks with symlinkat).
            let make_dir = !last || (op.is_dir && !matches!(op.kind, OpKind::Symlink { .. }));
            let mut created = false;
            if make_dir {
                let r = syscall(
                    libc::SYS_mkdirat,
                    &[dir as u64, comp.as_ptr() as u64, 0o755],
                );
                if r < 0 && r != -i64::from(libc::EEXIST) {
                    fail_step(plan, Step::Mounts, r, item);
                }
                created = r == 0;
            }
            if last {
                if let OpKind::Symlink { target: t } = &op.kind {
                    check(
                        plan,
                        Step::Mounts,
                        syscall(
                            libc::SYS_symlinkat,
                            &[t.as_ptr() as u64, dir as u64, comp.as_ptr() as u64],
                        ),
                        item,
                    );
                } else {
                    if !op.is_dir {
                        let r = syscall(
                            libc::SYS_mknodat,
                            &[
                                dir as u64,
                                comp.as_ptr() as u64,
                                u64::from(libc::S_IFREG | 0o644),
                                0,
                            ],
                        );
                        if r < 0 && r != -i64::from(libc::EEXIST) {
                            fail_step(plan, Step::Mounts, r, item);
                        }
                    }
                    let mut flags = (libc::O_PATH | libc::O_CLOEXEC) as u64;
                    if op.is_dir {
                        flags |= libc::O_DIRECTORY as u64;
                    }
                    target = check(plan, Step::Mounts, open_beneath(dir, comp, flags), item);
                    if created {
                        give_to_sandboxee(plan, target, item);
                    }
                }
            } else {
                let next = check(
                    plan,
                    Step::Mounts,
                    open_beneath(
                        dir,
                        comp,
                        (libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) as u64,
                    ),
                    item,
                );
                if created {
                    give_to_sandboxee(plan, next, item);
                }
                if dir != root {
                    syscall(libc::SYS_close, &[dir as u64]);
                }
                dir = next;
            }
        }
        if dir != root {
            syscall(libc::SYS_close, &[dir as u64]);
        }
        if target < 0 {
            return; // symlink: done
        }
        let tree = match &op.kind {
            OpKind::Bind { .. } => i64::from(op.tree_fd.load(Ordering::Relaxed)),
            OpKind::Tmpfs { size, mode } => {
                let size_opt = size.as_ref().map(|sz| (c"size", sz.as_c_str()));
                let opts = [Some((c"mode", *mode)), size_opt];
                new_fs(plan, c"tmpfs", &opts, op.attrs, item)
            }
            OpKind::Proc => proc_fs(plan, op, item),
            // Every devpts mount is a new instance (Linux 4.7+); no gid= option: the host's tty
            // group is not mapped in the sandbox.
            OpKind::Devpts => {
                let opts = [Some((c"ptmxmode", c"0666")), Some((c"mode", c"0620"))];
                new_fs(plan, c"devpts", &opts, op.attrs, item)
            }
            OpKind::Symlink { .. } => return,
        };
        check(
            plan,
            Step::Mounts,
            syscall(
                libc::SYS_move_mount,
                &[
                    tree as u64,
                    c"".as_ptr() as u64,
                    target as u64,
                    c"".as_ptr() as u64,
                    MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
                ],
            ),
            item,
        );
        syscall(libc::SYS_close, &[tree as u64]);
        syscall(libc::SYS_close, &[target as u64]);
    }
}

/// A detached new filesystem of type `fstype` with string `options` (fsopen, fsconfig,
/// fsmount(2)), mounted with `attrs`; returns the mount fd.
unsafe fn new_fs(
    plan: &Plan,
    fstype: &core::ffi::CStr,
    options: &[Option<(&core::ffi::CStr, &core::ffi::CStr)>],
    attrs: u64,
    item: usize,
) -> i64 {
    // SAFETY: every pointer passed below is a live C string.
    unsafe {
        let fs = check(
            plan,
            Step::Mounts,
            syscall(libc::SYS_fsopen, &[fstype.as_ptr() as u64, FSOPEN_CLOEXEC]),
            item,
        );
        for (key, value) in options.iter().flatten() {
            let args = [
                fs as u64,
                FSCONFIG_SET_STRING,
                key.as_ptr() as u64,
                value.as_ptr() as u64,
                0,
            ];
            check(plan, Step::Mounts, syscall(libc::SYS_fsconfig, &args), item);
        }
        check(
            plan,
            Step::Mounts,
            syscall(
                libc::SYS_fsconfig,
                &[fs as u64, FSCONFIG_CMD_CREATE, 0, 0, 0],
            ),
            item,
        );
        let m = check(
            plan,
            Step::Mounts,
            syscall(libc::SYS_fsmount, &[fs as u64, FSMOUNT_CLOEXEC, attrs]),
            item,
        );
        syscall(libc::SYS_close, &[fs as u64]);
        m
    }
}

/// The sandbox's procfs as a detached mount. When the caller allowed a sandbox without a
/// private /proc (`Namespaces::allow_no_proc`) and the kernel refuses a new one with EPERM (a
/// container's masked /proc), a recursive clone of the /proc we see (the container's, masks
/// included) takes its place, and the report's `degraded` bits say so. (The sandboxee's nested
/// user namespace needs some /proc for its id maps.)
unsafe fn proc_fs(plan: &Plan, op: &MountOp, item: usize) -> i64 {
    let optional = plan.ns.as_ref().is_some_and(|n| n.proc_optional);
    // SAFETY: C string literals and a plain fd.
    unsafe {
        if !optional {
            return new_fs(plan, c"proc", &[], op.attrs, item);
        }
        let fs = check(
            plan,
            Step::Mounts,
            syscall(libc::SYS_fsopen, &[c"proc".as_ptr() as u64, FSOPEN_CLOEXEC]),
            item,
        );
        let mut r = syscall(
            libc::SYS_fsconfig,
            &[fs as u64, FSCONFIG_CMD_CREATE, 0, 0, 0],
        );
        if r >= 0 {
            r = syscall(libc::SYS_fsmount, &[fs as u64, FSMOUNT_CLOEXEC, op.attrs]);
        }
        syscall(libc::SYS_close, &[fs as u64]);
        if r != -i64::from(libc::EPERM) {
            return check(plan, Step::Mounts, r, item);
        }
        let fd = clone_tree(plan, c"/proc", true, op.attrs, item);
        let bit = crate::spawn::plan::degraded::PROC;
        plan.report.degraded.fetch_or(bit, Ordering::Relaxed);
        fd
    }
}

/// A detached clone of the tree at `source` (`open_tree(OPEN_TREE_CLONE)`, recursive on
/// request) with `attrs` set and private propagation; fails the step on error.
pub(super) unsafe fn clone_tree(
    plan: &Plan,
    source: &core::ffi::CStr,
    recursive: bool,
    attrs: u64,
    item: usize,
) -> i64 {
    let rec = if recursive { AT_RECURSIVE } else { 0 };
    // SAFETY: a live C string, and `attr` outlives the call that only reads it.
    unsafe {
        let fd = check(
            plan,
            Step::Mounts,
            syscall(
                libc::SYS_open_tree,
                &[
                    libc::AT_FDCWD as u64,
                    source.as_ptr() as u64,
                    OPEN_TREE_CLONE | libc::O_CLOEXEC as u64 | rec,
                ],
            ),
            item,
        );
        set_attrs(plan, fd, attrs, libc::MS_PRIVATE, rec, item);
        fd
    }
}

/// `mount_setattr` of the mount at `fd` (`AT_EMPTY_PATH`, plus `at_flags`): sets `attrs` and
/// `propagation` (0: unchanged); fails the step on error.
pub(super) unsafe fn set_attrs(
    plan: &Plan,
    fd: i64,
    attrs: u64,
    propagation: u64,
    at_flags: u64,
    item: usize,
) {
    let attr = MountAttr {
        attr_set: attrs,
        attr_clr: 0,
        propagation,
        userns_fd: 0,
    };
    // SAFETY: `attr` outlives the call, which only reads it.
    unsafe {
        check(
            plan,
            Step::Mounts,
            syscall(
                libc::SYS_mount_setattr,
                &[
                    fd as u64,
                    c"".as_ptr() as u64,
                    libc::AT_EMPTY_PATH as u64 | at_flags,
                    std::ptr::addr_of!(attr) as u64,
                    core::mem::size_of::<MountAttr>() as u64,
                ],
            ),
            item,
        );
    }
}

/// A root caller's init creates as in-namespace root: what it created goes to the sandboxee's
/// uid, as with an unprivileged caller (whose init already is 1000). Done through the fd just
/// opened beneath the root without following symlinks, so a name swapped in meanwhile is never
/// chowned.
unsafe fn give_to_sandboxee(plan: &Plan, fd: i64, item: usize) {
    if !plan.ns.as_ref().is_some_and(|n| n.monitor_writes_maps) {
        return;
    }
    let id = u64::from(crate::namespaces::SANDBOX_ID);
    let args = [
        fd as u64,
        c"".as_ptr() as u64,
        id,
        id,
        libc::AT_EMPTY_PATH as u64,
    ];
    // SAFETY: an fd we hold and an empty C string.
    unsafe { check(plan, Step::Mounts, syscall(libc::SYS_fchownat, &args), item) };
}
