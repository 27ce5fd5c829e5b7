//! Idmapped writable binds for a root caller (`mount_setattr(MOUNT_ATTR_IDMAP)`, Linux 5.12).
//!
//! A root caller's sandboxee is an unprivileged host id of its own (`root_caller_host_id`), so a
//! plain writable bind of a directory owned by root (or anyone else) is not writable for it. The
//! monitor side therefore clones such a tree itself, in the host's mount namespace, and marks it
//! idmapped through a user namespace that maps the tree's owner onto the sandboxee's host id:
//! inside, the owner's files belong to the sandboxee and what it creates lands on disk as that
//! owner, as with `bwrap --bind` or `docker run -v`. Files of other owners show as the overflow
//! id and stay read-only for it. The sandboxee never gains an id or a capability on the host.
//!
//! Only the host's root can do this: the kernel requires CAP_SYS_ADMIN over the filesystem's user
//! namespace (the initial one), which an unprivileged caller's sandbox never holds. It does not
//! need it either: its sandboxee already is the caller's uid on the host. A root caller without
//! that capability (root of a container with the runtime's default capabilities) gets `None`:
//! the bind stays a plain one, writable where the host's permissions allow, and the run's result
//! lists `idmapped_binds` as degraded. The fallback grants less than asked, never more. A
//! filesystem that cannot be idmapped is an error naming the path and the fix.
//!
//! The user namespace of each (uid, gid) pair is made once per process by a short-lived child
//! (`clone(CLONE_VM | CLONE_NEWUSER)`, raw syscalls only, no fork of the host) whose maps the
//! host writes; its `/proc/<pid>/ns/user` fd is kept for the life of the process.

#![allow(unsafe_code)]
// The raw syscall ABI: arguments are u64 registers and results c_long, so fds, flags and
// constants cross it by the ABI's own conversions (an fd `as u64`, a returned fd `as i32`). No
// value converted here comes from the sandboxee, and a cast cannot fail, allocate or panic,
// which the clone child's code must not do.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

use super::HelperStack;
use crate::error::{Error, Result};
use crate::sys::raw::{exit_group, syscall};
use std::collections::HashMap;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::sync::Mutex;

use crate::sys::mount::{MountAttr, AT_RECURSIVE, MOUNT_ATTR_IDMAP, OPEN_TREE_CLONE};

/// User namespaces by (owner uid, owner gid, sandboxee's host id), each mapping the owner onto
/// that id. Host ids are leased per sandbox, but one process running sandboxes one after another
/// keeps getting the same id back (see `host_id.rs`), so the cache pays; it is emptied when it
/// reaches [`USERNS_CACHED`] entries (each holds an fd).
static USERNS: Mutex<Option<HashMap<UsernsKey, OwnedFd>>> = Mutex::new(None);
/// (owner uid, owner gid, host id).
type UsernsKey = (u32, u32, u32);
const USERNS_CACHED: usize = 64;

/// A detached clone of `source` (recursive for a directory) with `attrs` set and owner
/// `(uid, gid)` shown as `host_id`. Called with the caller's capabilities raised.
pub(crate) fn idmapped_tree(
    source: &Path,
    recursive: bool,
    attrs: u64,
    owner: (u32, u32),
    host_id: u32,
) -> Result<Option<OwnedFd>> {
    if !crate::caps::has_sys_admin() {
        return Ok(None);
    }
    let unsupported = |detail: String| Error::Unsupported {
        feature: "idmapped writable bind",
        detail,
        fix: "writable binds of a root caller need idmapped mounts (Linux 5.12+) on a filesystem \
              that supports them (ext4, xfs, btrfs, tmpfs on 6.3+, overlayfs on 5.19+) and \
              CAP_SYS_ADMIN; bind a directory on such a filesystem, or run as an unprivileged \
              user that owns it",
    };
    // EPERM anywhere below: a runtime's seccomp profile or LSM refuses the calls even with the
    // capability; the same fallback as without it.
    let userns = match userns_fd(owner, host_id) {
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => return Ok(None),
        other => other,
    };
    let userns = userns.map_err(|e| {
        unsupported(format!(
            "{}: user namespace for the idmap: {e}",
            source.display()
        ))
    })?;
    let path = CString::new(source.as_os_str().as_encoded_bytes())
        .map_err(|_| Error::invalid("mount source contains NUL"))?;
    let mut flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as u64;
    if recursive {
        flags |= AT_RECURSIVE;
    }
    // SAFETY: a live C string; open_tree returns a new fd or -errno.
    let fd = unsafe {
        syscall(
            libc::SYS_open_tree,
            &[
                libc::AT_FDCWD as u64,
                path.as_ptr() as u64,
                flags,
            ],
        )
    };
    if fd == -i64::from(libc::EPERM) {
        return Ok(None);
    }
    if fd < 0 {
        return Err(unsupported(format!(
            "{}: open_tree: {}",
            source.display(),
            std::io::Error::from_raw_os_error(-fd as i32)
        )));
    }
    // SAFETY: a fresh fd owned by nobody else.
    let tree = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
    let attr = MountAttr {
        attr_set: attrs | MOUNT_ATTR_IDMAP,
        attr_clr: 0,
        propagation: libc::MS_PRIVATE,
        userns_fd: userns.as_raw_fd() as u64,
    };
    let at = libc::AT_EMPTY_PATH as u64 | if recursive { AT_RECURSIVE } else { 0 };
    // SAFETY: `attr` outlives the call, which only reads it.
    let r = unsafe {
        syscall(
            libc::SYS_mount_setattr,
            &[
                tree.as_raw_fd() as u64,
                c"".as_ptr() as u64,
                at,
                std::ptr::addr_of!(attr) as u64,
                std::mem::size_of::<MountAttr>() as u64,
            ],
        )
    };
    if r == -i64::from(libc::EPERM) {
        return Ok(None);
    }
    if r < 0 {
        let why = match -r as i32 {
            libc::EINVAL => {
                "the filesystem (or one mounted below it) does not support idmapped mounts"
                    .to_string()
            }
            e => std::io::Error::from_raw_os_error(e).to_string(),
        };
        return Err(unsupported(format!(
            "{}: mount_setattr(MOUNT_ATTR_IDMAP): {why}",
            source.display()
        )));
    }
    Ok(Some(tree))
}

/// The user namespace mapping `owner` onto `host_id` (a duplicate of the cached fd: the cache
/// may drop its own at any time), made on first use.
fn userns_fd(owner: (u32, u32), host_id: u32) -> std::io::Result<OwnedFd> {
    let mut guard = USERNS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let map = guard.get_or_insert_with(HashMap::new);
    let key = (owner.0, owner.1, host_id);
    if let Some(fd) = map.get(&key) {
        return fd.try_clone();
    }
    let fd = make_userns(owner, host_id)?;
    if map.len() >= USERNS_CACHED {
        map.clear();
    }
    let copy = fd.try_clone()?;
    map.insert(key, fd);
    Ok(copy)
}

const HOLDER_STACK: usize = 64 * 1024;

/// The holder child: closes its copy of the pipe's write end, blocks until the host closes its
/// own, then exits. Raw syscalls only (it shares the host's memory and TLS). `arg` points to the
/// pipe's `[read, write]` fds, which the host keeps alive until it has reaped the child.
extern "C" fn holder(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: the host passes a pointer to two live i32s (see `make_userns`).
    let [read_fd, write_fd] = unsafe { *(arg as *const [i32; 2]) };
    let mut byte = 0u8;
    // SAFETY: closing our copy of an fd, then one byte into a live stack buffer.
    unsafe {
        syscall(libc::SYS_close, &[write_fd as u64]);
        syscall(
            libc::SYS_read,
            &[read_fd as u64, std::ptr::addr_of_mut!(byte) as u64, 1],
        );
    }
    exit_group(0)
}

/// A user namespace whose uid and gid maps are `owner.0 -> host_id` and `owner.1 -> host_id`.
fn make_userns(owner: (u32, u32), host_id: u32) -> std::io::Result<OwnedFd> {
    let mut p = [0i32; 2];
    // SAFETY: pipe2 writes two fds into the array.
    if unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fresh fds owned by nobody else.
    let (read_end, write_end) = unsafe { (OwnedFd::from_raw_fd(p[0]), OwnedFd::from_raw_fd(p[1])) };
    let stack = HelperStack::map(HOLDER_STACK)?;
    // Every signal blocked across the clone: the child inherits the mask, so no host handler
    // runs on its stack.
    // SAFETY: sigset_t is plain data; all-zero is a valid (empty) set.
    let mut all: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: both sets are live; the old mask is restored right after the clone.
    unsafe {
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
    }
    // Exit signal 0 (no SIGCHLD to the host); reaped below by pid with __WALL.
    // SAFETY: the child runs only `holder` on its own stack, touching nothing but the pipe fd.
    let pid = unsafe {
        libc::clone(
            holder,
            stack.top(),
            libc::CLONE_VM | libc::CLONE_NEWUSER,
            p.as_mut_ptr().cast(),
        )
    };
    let clone_err = std::io::Error::last_os_error();
    // SAFETY: restoring the mask saved above.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    if pid < 0 {
        return Err(clone_err);
    }
    let result = (|| -> std::io::Result<OwnedFd> {
        std::fs::write(
            format!("/proc/{pid}/uid_map"),
            format!("{} {host_id} 1\n", owner.0),
        )?;
        std::fs::write(
            format!("/proc/{pid}/gid_map"),
            format!("{} {host_id} 1\n", owner.1),
        )?;
        let ns = std::fs::File::open(format!("/proc/{pid}/ns/user"))?;
        Ok(OwnedFd::from(ns))
    })();
    // Let the holder go and reap it (our own unreaped child: its pid cannot be reused).
    drop(write_end);
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, libc::__WALL) };
    // The child has exited: nothing uses the stack any more.
    drop(stack);
    drop(read_end);
    result
}
