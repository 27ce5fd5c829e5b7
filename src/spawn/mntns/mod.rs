//! Template mount namespaces, for root callers: a policy's read-only view built once and copied
//! by each sandbox's clone, so the init mounts only what is the sandbox's own.
//!
//! Without a template the init copies the host's whole mount table at the clone, opens and
//! mounts every bind, makes the root read-only, then `pivot_root`s and detaches the host's
//! table again (an RCU grace period of its own). With one, the supervisor thread enters the
//! template (`setns`) just before the clone and returns at once after: the clone's
//! `CLONE_NEWNS` copies the template (only the view's mounts), the copy is already rooted at
//! the view, and the init adds the per-sandbox mounts alone: `/proc`, the writable tmpfs
//! (`/tmp`, `/dev/shm`), devpts and writable binds. Each sandbox has a mount namespace of its
//! own: a write to its `/tmp` is never another's.
//!
//! **What a template holds**: a read-only tmpfs root with the read-only binds, hidden paths, the
//! minimal `/dev` and symlinks, empty mount points for the per-sandbox mounts, and a procfs at
//! `/proc` (host pid namespace) that each sandbox's own procfs covers: the kernel lets a user
//! namespace mount a procfs only where one is already fully visible (`mount_too_revealing`).
//! Copied into the sandbox's user namespace every template mount is locked: the sandboxee cannot
//! unmount one to see what lies below (it has no capabilities there anyway, and in a nested
//! user namespace the sandbox's own procfs is locked over the template's). The template's files
//! are owned by host root, so the sandboxee sees `/` and the directories made for mount points
//! as `nobody` (the init made them the sandboxee's without a template; both are read-only).
//!
//! **When**: a root caller (entering a namespace of the host's user namespace needs
//! CAP_SYS_ADMIN), a read-only root, writable binds idmapped (the host prepares them), no
//! optional `/proc`, and no static mount below a per-sandbox one. The first sandbox of a view in
//! a process runs without (a process that runs one, like `sbx-run`, never pays for a template);
//! the second asks the janitor thread to build one; the ones after use it.
//!
//! **Staying true to the host**: a template binds what the host showed when it was built. Each
//! use checks that every bind source is still the same inode on the same device (else the
//! template is rebuilt), and the whole cache is dropped when the host's mount table changes
//! (`poll` on the calling thread's `/proc/thread-self/mountinfo`), so a mount under a bound directory is seen as before.

#![allow(unsafe_code)]

mod build;

use super::ns_plan::{MountOp, NsPlan, OpKind};
use crate::caps::with_raised_capabilities;
use crate::sys::mount::MOUNT_ATTR_RDONLY;
use build::build;
use nix::sched::{setns, unshare, CloneFlags};
use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

/// Templates kept per process; the cache is emptied when it would hold more.
const CACHED: usize = 16;

/// One operation of a view as a template sees it: done in the template, or only its mount point
/// made there (the init mounts it).
#[derive(Clone, PartialEq, Eq, Hash)]
enum Part {
    Bind {
        at: Vec<CString>,
        is_dir: bool,
        source: CString,
        recursive: bool,
        attrs: u64,
    },
    Tmpfs {
        at: Vec<CString>,
        size: Option<CString>,
        mode: CString,
        attrs: u64,
    },
    Symlink {
        at: Vec<CString>,
        target: CString,
    },
    MountPoint {
        at: Vec<CString>,
        is_dir: bool,
    },
}

/// The static part of a view: the template's cache key.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct View {
    parts: Vec<Part>,
    /// An existing host directory the template's root is made on before the pivot.
    staging: CString,
}

/// A built template: its mount namespace and what its binds showed.
pub(crate) struct Template {
    ns: OwnedFd,
    /// (source, device, inode) of every bind when it was made.
    sources: Vec<(CString, u64, u64)>,
}

/// Whether `op` is made in the template (else per sandbox, on a mount point the template has).
pub(super) fn in_template(op: &MountOp) -> bool {
    match &op.kind {
        OpKind::Bind { .. } => op.host_tree.is_none(),
        // Hidden directories: an empty tmpfs nobody may enter, read-only.
        OpKind::Tmpfs { .. } => op.attrs & MOUNT_ATTR_RDONLY != 0,
        OpKind::Symlink { .. } => true,
        OpKind::Proc | OpKind::Devpts => false,
    }
}

impl View {
    /// The static part of `ops`; `None` when a static operation lies below a per-sandbox mount
    /// (its target would not exist before the init mounts there).
    pub(super) fn of(ops: &[MountOp], staging: &CStr) -> Option<View> {
        let mut own: Vec<&[CString]> = Vec::new();
        let mut parts = Vec::with_capacity(ops.len());
        for op in ops {
            let at = op.components.clone();
            let below_own = own.iter().any(|p| at.len() > p.len() && at.starts_with(p));
            if !in_template(op) {
                own.push(&op.components);
                parts.push(Part::MountPoint {
                    at,
                    is_dir: op.is_dir,
                });
                continue;
            }
            if below_own {
                return None;
            }
            parts.push(match &op.kind {
                OpKind::Bind { source, recursive } => Part::Bind {
                    at,
                    is_dir: op.is_dir,
                    source: source.clone(),
                    recursive: *recursive,
                    attrs: op.attrs,
                },
                OpKind::Tmpfs { size, mode } => Part::Tmpfs {
                    at,
                    size: size.clone(),
                    mode: (*mode).to_owned(),
                    attrs: op.attrs,
                },
                OpKind::Symlink { target } => Part::Symlink {
                    at,
                    target: target.clone(),
                },
                OpKind::Proc | OpKind::Devpts => return None,
            });
        }
        Some(View {
            parts,
            staging: staging.to_owned(),
        })
    }
}

enum Entry {
    /// Asked for once: the next sandbox of the view asks the janitor to build it.
    Seen,
    Building,
    Ready(Arc<Template>),
    Failed,
}

static CACHE: Mutex<Option<HashMap<View, Entry>>> = Mutex::new(None);

/// Turned off by the caller ([`set_enabled`]).
static DISABLED: AtomicBool = AtomicBool::new(false);

/// Set when building failed for a reason no view changes (no CAP_SYS_ADMIN after all, a
/// container's seccomp profile): no more templates in this process, whatever the caller's
/// switch says.
static UNBUILDABLE: AtomicBool = AtomicBool::new(false);

fn cache() -> MutexGuard<'static, Option<HashMap<View, Entry>>> {
    CACHE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Turns templates off (or back on) for this process: for benchmarks that compare, and callers
/// who want every sandbox built from the host's table.
pub(crate) fn set_enabled(on: bool) {
    DISABLED.store(!on, Ordering::Relaxed);
}

/// The template for `ns`'s view, when there may be one and it is ready: only where each
/// sandbox's copy can hold the whole static view (a root caller's read-only root, writable
/// binds the host prepared, a `/proc` that must be private).
pub(crate) fn for_plan(ns: &NsPlan) -> Option<Arc<Template>> {
    if !ns.monitor_writes_maps || ns.root_writable || ns.idmap_degraded || ns.proc_optional {
        return None;
    }
    View::of(&ns.ops, &ns.staging).and_then(lookup)
}

/// The template for `view`, when one is ready and still true to the host; otherwise `None`,
/// and the first such call after a view's first use asks the janitor to build one.
fn lookup(view: View) -> Option<Arc<Template>> {
    if DISABLED.load(Ordering::Relaxed)
        || UNBUILDABLE.load(Ordering::Relaxed)
        || !crate::caps::caller_is_host_root()
    {
        return None;
    }
    let host_changed = mounts_changed()?;
    let ready = {
        let mut guard = cache();
        let map = guard.get_or_insert_with(HashMap::new);
        if host_changed {
            map.clear();
        }
        match map.get(&view) {
            Some(Entry::Ready(t)) => Some(Arc::clone(t)),
            Some(Entry::Building | Entry::Failed) => return None,
            Some(Entry::Seen) => None,
            None => {
                if map.len() >= CACHED {
                    map.clear();
                }
                map.insert(view, Entry::Seen);
                return None;
            }
        }
    };
    // The identity checks (a stat per bind) outside the lock: other threads' plans go on.
    if let Some(t) = ready {
        match t.changed_source() {
            None => return Some(t),
            Some(path) => log::debug!(
                "libsbx: a mount template is rebuilt: {} is no longer the inode it bound",
                path.to_string_lossy()
            ),
        }
    }
    let mut guard = cache();
    let map = guard.get_or_insert_with(HashMap::new);
    if matches!(map.get(&view), Some(Entry::Building)) {
        return None; // another thread asked for it meanwhile
    }
    map.insert(view.clone(), Entry::Building);
    drop(guard);
    crate::janitor::later(Box::new(move || build_for_cache(view)));
    None
}

/// On the janitor thread: builds `view`'s template (on a thread of its own, whose mount
/// namespace it becomes) and files it.
fn build_for_cache(view: View) {
    let built = std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("sbx-template".into())
            .spawn_scoped(s, || with_raised_capabilities(|| build(&view)))
            .map_err(|e| (e.to_string(), false))
            .and_then(|h| h.join().unwrap_or_else(|_| Err(("panicked".into(), false))))
    });
    let entry = match built {
        Ok(t) => Entry::Ready(Arc::new(t)),
        Err((why, fatal)) => {
            log::debug!("libsbx: no mount template: {why}");
            if fatal {
                UNBUILDABLE.store(true, Ordering::Relaxed);
            }
            Entry::Failed
        }
    };
    cache().get_or_insert_with(HashMap::new).insert(view, entry);
}

impl Template {
    /// The first bind source that is no longer the inode it was, if any.
    fn changed_source(&self) -> Option<&CStr> {
        self.sources
            .iter()
            .find(|(path, dev, ino)| {
                !nix::sys::stat::stat(path.as_c_str())
                    .is_ok_and(|st| st.st_dev == *dev && st.st_ino == *ino)
            })
            .map(|(path, ..)| path.as_c_str())
    }
}

/// Whether the host's mount table changed since the last call (`Some(false)` the first time);
/// `None` when it cannot be watched (then no templates).
fn mounts_changed() -> Option<bool> {
    static WATCH: OnceLock<Option<OwnedFd>> = OnceLock::new();
    let fd = WATCH
        .get_or_init(|| {
            std::fs::File::open("/proc/thread-self/mountinfo")
                .ok()
                .map(OwnedFd::from)
        })
        .as_ref()?;
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLPRI,
        revents: 0,
    };
    // SAFETY: one pollfd of ours, no wait. The kernel reports a change once per open file.
    let n = unsafe { libc::poll(&raw mut p, 1, 0) };
    Some(n > 0 && p.revents & (libc::POLLPRI | libc::POLLERR) != 0)
}

/// The host's mount namespace (the supervisor returns to it after each clone).
fn host() -> Option<&'static OwnedFd> {
    static HOST: OnceLock<Option<OwnedFd>> = OnceLock::new();
    HOST.get_or_init(|| {
        std::fs::File::open("/proc/thread-self/ns/mnt")
            .ok()
            .map(OwnedFd::from)
    })
    .as_ref()
}

/// While alive, the supervisor thread is in a template's mount namespace (for one clone).
pub(crate) struct Entered {
    host: &'static OwnedFd,
}

thread_local! {
    /// The working directory this thread had when it made its root and cwd its own (`setns` of
    /// a mount namespace needs that), to go back to after each clone from a template (`setns`
    /// sets the cwd to the namespace's root); `None` when the unshare failed.
    static OWN_FS: Option<OwnedFd> = std::fs::File::open(".")
        .ok()
        .filter(|_| unshare(CloneFlags::CLONE_FS).is_ok())
        .map(OwnedFd::from);
}

/// Enters `t` on this thread (the supervisor's, just before the clone); `None` when it cannot,
/// and the init then builds the whole view itself.
///
/// From the first template on, the supervisor thread has a root and working directory of its
/// own: a later `chdir` of the host does not reach it (its Notify callbacks keep the working
/// directory the thread had then).
pub(crate) fn enter(t: &Template) -> Option<Entered> {
    let host = host()?;
    if !OWN_FS.with(Option::is_some) {
        return None;
    }
    match with_raised_capabilities(|| setns(&t.ns, CloneFlags::CLONE_NEWNS)) {
        Ok(()) => Some(Entered { host }),
        Err(e) => {
            log::debug!("libsbx: a mount template was not entered: {e}");
            None
        }
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        if let Err(e) = with_raised_capabilities(|| setns(self.host, CloneFlags::CLONE_NEWNS)) {
            log::error!("libsbx: the supervisor cannot return to the host's mount namespace: {e}");
        }
        OWN_FS.with(|cwd| {
            if let Some(Err(e)) = cwd.as_ref().map(|fd| nix::unistd::fchdir(fd.as_raw_fd())) {
                log::error!("libsbx: the supervisor cannot return to its working directory: {e}");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mounts::MountTree;
    use crate::namespaces::Namespaces;
    use std::path::Path;

    fn ops_of(tree: &MountTree) -> NsPlan {
        NsPlan::new(&Namespaces::default(), tree, None).unwrap()
    }

    fn kinds(view: &View) -> Vec<(String, &'static str)> {
        view.parts
            .iter()
            .map(|p| {
                let (at, kind) = match p {
                    Part::Bind { at, .. } => (at, "bind"),
                    Part::Tmpfs { at, .. } => (at, "tmpfs"),
                    Part::Symlink { at, .. } => (at, "symlink"),
                    Part::MountPoint { at, .. } => (at, "mount point"),
                };
                let path: Vec<_> = at.iter().map(|c| c.to_string_lossy().into_owned()).collect();
                (format!("/{}", path.join("/")), kind)
            })
            .collect()
    }

    #[test]
    fn the_view_keeps_read_only_parts_and_mount_points_for_the_sandbox_own() {
        let mut tree = MountTree::new();
        tree.add_directory_at(Path::new("/usr"), Path::new("/usr"), false).unwrap();
        tree.add_tmpfs(Path::new("/tmp"), Some(1 << 20)).unwrap();
        let ns = ops_of(&tree);
        let view = View::of(&ns.ops, &ns.staging).expect("a view with a template");
        let k = kinds(&view);
        assert!(k.contains(&("/usr".into(), "bind")), "{k:?}");
        assert!(k.contains(&("/tmp".into(), "mount point")), "{k:?}");
        assert!(k.contains(&("/proc".into(), "mount point")), "{k:?}");
        assert!(k.contains(&("/dev/null".into(), "bind")), "{k:?}");
        assert!(k.contains(&("/dev/fd".into(), "symlink")), "{k:?}");
        // One view, one key: the same tree gives an equal view, another tmpfs size too (the
        // size is the sandbox's own), another source does not.
        assert!(View::of(&ops_of(&tree).ops, &ns.staging) == Some(view.clone()));
        let mut other = MountTree::new();
        other.add_directory_at(Path::new("/usr"), Path::new("/usr"), false).unwrap();
        other.add_tmpfs(Path::new("/tmp"), Some(2 << 20)).unwrap();
        assert!(View::of(&ops_of(&other).ops, &ns.staging) == Some(view.clone()));
        let mut moved = MountTree::new();
        moved.add_directory_at(Path::new("/etc"), Path::new("/usr"), false).unwrap();
        moved.add_tmpfs(Path::new("/tmp"), Some(1 << 20)).unwrap();
        assert!(View::of(&ops_of(&moved).ops, &ns.staging) != Some(view));
    }

    #[test]
    fn a_read_only_bind_below_the_sandbox_own_tmpfs_has_no_template() {
        let mut tree = MountTree::new();
        tree.add_tmpfs(Path::new("/tmp"), None).unwrap();
        tree.add_directory_at(Path::new("/usr"), Path::new("/tmp/usr"), false).unwrap();
        let ns = ops_of(&tree);
        assert!(View::of(&ns.ops, &ns.staging).is_none());
    }

    #[test]
    fn only_a_root_caller_with_a_read_only_root_gets_one() {
        let mut tree = MountTree::new();
        tree.add_directory_at(Path::new("/usr"), Path::new("/usr"), false).unwrap();
        // Not a root caller's plan (no host id): never a template, whoever runs the test.
        assert!(for_plan(&ops_of(&tree)).is_none());
    }
}
