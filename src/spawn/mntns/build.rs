//! Building a template mount namespace (see the parent module): on a thread of its own, which
//! unshares a mount namespace, makes the view in it and pivots onto it.

// The raw syscall ABI: arguments are u64 registers, so fds and flags cross it by the ABI's own
// conversions (an fd `as u64`), as in `ns_child/`. No value converted here comes from a sandbox.
#![allow(clippy::cast_sign_loss, clippy::cast_possible_wrap)]

use super::{Part, Template, View};
use crate::sys::mount::{
    MountAttr, AT_RECURSIVE, FSCONFIG_CMD_CREATE, FSCONFIG_SET_STRING, FSMOUNT_CLOEXEC,
    FSOPEN_CLOEXEC, MOUNT_ATTR_NODEV, MOUNT_ATTR_NOEXEC, MOUNT_ATTR_NOSUID, MOUNT_ATTR_RDONLY,
    MOVE_MOUNT_F_EMPTY_PATH, MOVE_MOUNT_T_EMPTY_PATH, OPEN_TREE_CLONE,
};
use crate::sys::raw::syscall;
use nix::sched::{unshare, CloneFlags};
use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// What failed, and whether it will fail for every view (then no more templates are tried).
pub(super) type BuildError = (String, bool);

fn os_err(what: &str, r: i64) -> BuildError {
    let errno = i32::try_from(-r).unwrap_or(libc::EIO);
    let fatal = errno == libc::EPERM || errno == libc::ENOSYS;
    (
        format!("{what}: {}", std::io::Error::from_raw_os_error(errno)),
        fatal,
    )
}

/// `r` as an fd, or the error naming `what`.
fn fd_of(r: i64, what: &str) -> Result<OwnedFd, BuildError> {
    let fd = RawFd::try_from(r).map_err(|_| os_err(what, r))?;
    if fd < 0 {
        return Err(os_err(what, r));
    }
    // SAFETY: a fresh fd the kernel just returned, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn ok_of(r: i64, what: &str) -> Result<(), BuildError> {
    if r < 0 {
        Err(os_err(what, r))
    } else {
        Ok(())
    }
}

/// Builds `view` in a new mount namespace of this thread (which must be a thread of its own:
/// it stays in that namespace, rooted at the view).
pub(super) fn build(view: &View) -> Result<Template, BuildError> {
    unshare(CloneFlags::CLONE_NEWNS).map_err(|e| (format!("unshare(CLONE_NEWNS): {e}"), true))?;
    let ns = std::fs::File::open("/proc/thread-self/ns/mnt")
        .map(OwnedFd::from)
        .map_err(|e| (format!("opening the new mount namespace: {e}"), true))?;
    // SAFETY: a C string literal; no other pointer.
    unsafe {
        let flags = libc::MS_REC | libc::MS_PRIVATE;
        ok_of(
            syscall(libc::SYS_mount, &[0, c"/".as_ptr() as u64, 0, flags, 0]),
            "making the mounts private",
        )?;
    }
    // Every bind source first: the root below may cover one (it is mounted on a host directory).
    let mut sources = Vec::new();
    let mut trees = Vec::with_capacity(view.parts.len());
    for part in &view.parts {
        trees.push(match part {
            Part::Bind {
                source,
                recursive,
                attrs,
                ..
            } => {
                let tree = clone_tree(source, *recursive, *attrs)?;
                let st = nix::sys::stat::fstat(tree.as_raw_fd())
                    .map_err(|e| (format!("fstat of a bind source: {e}"), false))?;
                sources.push((source.clone(), st.st_dev, st.st_ino));
                Some(tree)
            }
            _ => None,
        });
    }
    // SAFETY: as above.
    unsafe {
        let root_mnt = new_fs(
            c"tmpfs",
            &[(c"mode", c"0755")],
            MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
        )?;
        ok_of(
            syscall(
                libc::SYS_move_mount,
                &[
                    root_mnt.as_raw_fd() as u64,
                    c"".as_ptr() as u64,
                    libc::AT_FDCWD as u64,
                    view.staging.as_ptr() as u64,
                    MOVE_MOUNT_F_EMPTY_PATH,
                ],
            ),
            "mounting the template's root",
        )?;
    }
    let root = open_dir(libc::AT_FDCWD, &view.staging)?;
    for (part, tree) in view.parts.iter().zip(trees) {
        apply(&root, part, tree)?;
    }
    proc_below(&root)?;
    finish(&root)?;
    Ok(Template { ns, sources })
}

/// One part of the view, made beneath `root` (a bind's `tree` opened already).
fn apply(root: &OwnedFd, part: &Part, tree: Option<OwnedFd>) -> Result<(), BuildError> {
    let (at, is_dir) = match part {
        Part::Bind { at, is_dir, .. } | Part::MountPoint { at, is_dir } => (at, *is_dir),
        Part::Tmpfs { at, .. } => (at, true),
        Part::Symlink { at, .. } => (at, false),
    };
    let Some((last, parents)) = at.split_last() else {
        return Err(("a mount at the root".into(), false));
    };
    let dir = make_parents(root, parents)?;
    let dir_fd = dir.as_ref().unwrap_or(root);
    if let Part::Symlink { target, .. } = part {
        // SAFETY: live C strings and our fd.
        let r = unsafe {
            syscall(
                libc::SYS_symlinkat,
                &[
                    target.as_ptr() as u64,
                    dir_fd.as_raw_fd() as u64,
                    last.as_ptr() as u64,
                ],
            )
        };
        return ok_of(r, "symlink");
    }
    let target = make_target(dir_fd, last, is_dir)?;
    let tree = match (part, tree) {
        (Part::Bind { .. }, Some(tree)) => tree,
        (
            Part::Tmpfs {
                size, mode, attrs, ..
            },
            _,
        ) => {
            let mut opts = vec![(c"mode", mode.as_c_str())];
            if let Some(s) = size {
                opts.push((c"size", s.as_c_str()));
            }
            new_fs(c"tmpfs", &opts, *attrs)?
        }
        _ => return Ok(()),
    };
    attach(&tree, &target)
}

/// Directories `parents` beneath `root` (made when missing); the last one open, `None` for the
/// root itself.
fn make_parents(root: &OwnedFd, parents: &[CString]) -> Result<Option<OwnedFd>, BuildError> {
    let mut dir: Option<OwnedFd> = None;
    for name in parents {
        let at = dir.as_ref().unwrap_or(root);
        make_target(at, name, true)?;
        dir = Some(open_dir(at.as_raw_fd(), name)?);
    }
    Ok(dir)
}

/// `name` in `dir` as a directory or an empty file (kept when it exists), opened `O_PATH`.
fn make_target(dir: &OwnedFd, name: &CStr, is_dir: bool) -> Result<OwnedFd, BuildError> {
    let d = dir.as_raw_fd() as u64;
    // SAFETY: a live C string and our fd.
    let r = unsafe {
        if is_dir {
            syscall(libc::SYS_mkdirat, &[d, name.as_ptr() as u64, 0o755])
        } else {
            let mode = u64::from(libc::S_IFREG | 0o644);
            syscall(libc::SYS_mknodat, &[d, name.as_ptr() as u64, mode, 0])
        }
    };
    if r < 0 && r != -i64::from(libc::EEXIST) {
        return Err(os_err("making a mount point", r));
    }
    let mut flags = libc::O_PATH | libc::O_CLOEXEC | libc::O_NOFOLLOW;
    if is_dir {
        flags |= libc::O_DIRECTORY;
    }
    // SAFETY: as above.
    let r = unsafe { syscall(libc::SYS_openat, &[d, name.as_ptr() as u64, flags as u64]) };
    fd_of(r, "opening a mount point")
}

fn open_dir(dir: RawFd, name: &CStr) -> Result<OwnedFd, BuildError> {
    let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC | libc::O_NOFOLLOW;
    // SAFETY: a live C string; `dir` is AT_FDCWD or our fd.
    let r = unsafe {
        syscall(
            libc::SYS_openat,
            &[dir as u64, name.as_ptr() as u64, flags as u64],
        )
    };
    fd_of(r, "opening a directory of the template")
}

/// A detached clone of host path `source` with `attrs`, private.
fn clone_tree(source: &CStr, recursive: bool, attrs: u64) -> Result<OwnedFd, BuildError> {
    let rec = if recursive { AT_RECURSIVE } else { 0 };
    let flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as u64 | rec;
    // SAFETY: a live C string.
    let r = unsafe {
        syscall(
            libc::SYS_open_tree,
            &[libc::AT_FDCWD as u64, source.as_ptr() as u64, flags],
        )
    };
    let tree = fd_of(r, &format!("open_tree({})", source.to_string_lossy()))?;
    set_attrs(&tree, attrs, rec)?;
    Ok(tree)
}

fn set_attrs(tree: &OwnedFd, attrs: u64, rec: u64) -> Result<(), BuildError> {
    let attr = MountAttr {
        attr_set: attrs,
        attr_clr: 0,
        propagation: libc::MS_PRIVATE,
        userns_fd: 0,
    };
    // SAFETY: `attr` outlives the call, which only reads it.
    let r = unsafe {
        syscall(
            libc::SYS_mount_setattr,
            &[
                tree.as_raw_fd() as u64,
                c"".as_ptr() as u64,
                libc::AT_EMPTY_PATH as u64 | rec,
                std::ptr::addr_of!(attr) as u64,
                core::mem::size_of::<MountAttr>() as u64,
            ],
        )
    };
    ok_of(r, "mount_setattr")
}

/// A detached new filesystem of type `fstype` with `options`, mounted with `attrs`.
fn new_fs(fstype: &CStr, options: &[(&CStr, &CStr)], attrs: u64) -> Result<OwnedFd, BuildError> {
    // SAFETY: live C strings and our fds.
    unsafe {
        let fs = fd_of(
            syscall(libc::SYS_fsopen, &[fstype.as_ptr() as u64, FSOPEN_CLOEXEC]),
            "fsopen",
        )?;
        let f = fs.as_raw_fd() as u64;
        for (key, value) in options {
            let args = [
                f,
                FSCONFIG_SET_STRING,
                key.as_ptr() as u64,
                value.as_ptr() as u64,
                0,
            ];
            ok_of(syscall(libc::SYS_fsconfig, &args), "fsconfig")?;
        }
        ok_of(
            syscall(libc::SYS_fsconfig, &[f, FSCONFIG_CMD_CREATE, 0, 0, 0]),
            "fsconfig(create)",
        )?;
        fd_of(
            syscall(libc::SYS_fsmount, &[f, FSMOUNT_CLOEXEC, attrs]),
            "fsmount",
        )
    }
}

fn attach(tree: &OwnedFd, target: &OwnedFd) -> Result<(), BuildError> {
    // SAFETY: two fds of ours and empty C strings.
    let r = unsafe {
        syscall(
            libc::SYS_move_mount,
            &[
                tree.as_raw_fd() as u64,
                c"".as_ptr() as u64,
                target.as_raw_fd() as u64,
                c"".as_ptr() as u64,
                MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
            ],
        )
    };
    ok_of(r, "move_mount")
}

/// The procfs every sandbox's own covers (see the module docs), with the attributes the
/// sandbox's has: the kernel compares them.
fn proc_below(root: &OwnedFd) -> Result<(), BuildError> {
    let target = make_target(root, c"proc", true)?;
    let proc = new_fs(
        c"proc",
        &[],
        MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
    )?;
    attach(&proc, &target)
}

/// Makes the root read-only and the only tree of this namespace: `pivot_root(".", ".")` stacks
/// the host's table on the view and detaching it leaves the view alone.
fn finish(root: &OwnedFd) -> Result<(), BuildError> {
    set_attrs(
        root,
        MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
        0,
    )?;
    // SAFETY: our fd and C string literals.
    unsafe {
        ok_of(
            syscall(libc::SYS_fchdir, &[root.as_raw_fd() as u64]),
            "fchdir",
        )?;
        let dot = c".".as_ptr() as u64;
        ok_of(syscall(libc::SYS_pivot_root, &[dot, dot]), "pivot_root")?;
        ok_of(
            syscall(libc::SYS_umount2, &[dot, libc::MNT_DETACH as u64]),
            "detaching the host's mounts",
        )?;
        ok_of(syscall(libc::SYS_chdir, &[c"/".as_ptr() as u64]), "chdir")
    }
}
