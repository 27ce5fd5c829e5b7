//! Network namespaces the library makes ahead of the clone, for root callers: making one is
//! ~0.4 ms of a sandbox's setup (the kernel sets up every per-namespace subsystem), on the
//! spawn path unless it is made beforehand. Two kinds:
//!
//! - The shared empty namespace (`NetNs::Shared`): one network namespace holding only `lo`
//!   (up), made once per process, which every sandbox asking for it joins.
//! - The pool (`NetNs::PerSandbox`, the default): fresh namespaces with `lo` up, made off the
//!   spawn path on the library's janitor thread (`janitor.rs`) and each given to one sandbox
//!   only, so a sandbox still has a network namespace no other sandbox has ever been in. The
//!   pool is first filled for the process's second such sandbox (a process that makes one,
//!   like `sbx-run`, never pays for it); while it is empty (the first two, or spawns faster than
//!   the janitor refills) the clone makes the namespace as before.
//!   A namespace that waits in the pool holds ~1 page-size structures per subsystem; the pool
//!   keeps [`POOL_SIZE`] of them for the life of the process.
//!
//! How a sandbox joins one: the supervisor thread enters it with `setns` just before the clone
//! (a thread's network namespace is its own; the child inherits it in place of
//! `CLONE_NEWNET`) and returns to the host's at once after. These namespaces belong to the host's
//! user namespace, so the sandboxee (root only in its own user namespace) can use them but not
//! reconfigure them, and binding ports below 1024 needs the host's CAP_NET_BIND_SERVICE: a
//! sandbox with `udp:` relays (bound by the init) keeps making its own namespace. Entering needs
//! CAP_SYS_ADMIN over the namespace: root callers only; other callers' sandboxes make their own
//! in the clone (their namespace must belong to the sandbox's user namespace, made by the same
//! clone).

#![allow(unsafe_code)]

use crate::caps::with_raised_capabilities;
use crate::error::{Error, Result};
use nix::sched::{setns, unshare, CloneFlags};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

/// Fresh namespaces the pool keeps ready.
pub(crate) const POOL_SIZE: usize = 4;

fn open_ns() -> std::io::Result<OwnedFd> {
    std::fs::File::open("/proc/thread-self/ns/net").map(OwnedFd::from)
}

/// The host's network namespace (the one this process was in when it first needed it), or the
/// errno of opening it.
fn host() -> std::result::Result<&'static OwnedFd, i32> {
    static HOST: OnceLock<std::result::Result<OwnedFd, i32>> = OnceLock::new();
    HOST.get_or_init(|| open_ns().map_err(|e| e.raw_os_error().unwrap_or(libc::EIO)))
        .as_ref()
        .map_err(|e| *e)
}

/// Makes a new network namespace with `lo` up on this thread and returns to the host's; the
/// new one's fd. Needs CAP_SYS_ADMIN (raised here from the permitted set).
fn make() -> std::result::Result<OwnedFd, String> {
    let host = host().map_err(|errno| {
        format!(
            "opening the host's network namespace: {}",
            std::io::Error::from_raw_os_error(errno)
        )
    })?;
    with_raised_capabilities(|| {
        unshare(CloneFlags::CLONE_NEWNET).map_err(|e| format!("unshare(CLONE_NEWNET): {e}"))?;
        let made = open_ns();
        let lo = lo_up();
        // Back to the host's namespace before anything else can happen on this thread.
        if let Err(e) = setns(host, CloneFlags::CLONE_NEWNET) {
            log::error!("libsbx: a thread cannot return to the host's network namespace: {e}");
        }
        let made = made.map_err(|e| format!("opening the new network namespace: {e}"))?;
        lo.map_err(|e| format!("bringing lo up in it: {e}"))?;
        Ok(made)
    })
}

/// The shared namespace, made on the first use (on the supervisor thread).
fn shared() -> Result<&'static OwnedFd> {
    static SHARED: OnceLock<std::result::Result<OwnedFd, String>> = OnceLock::new();
    SHARED.get_or_init(make).as_ref().map_err(|detail| Error::Unsupported {
        feature: "shared network namespace",
        detail: detail.clone(),
        fix: "NetNs::Shared needs a root caller (CAP_SYS_ADMIN); use the per-sandbox network \
              namespace (the default)",
    })
}

/// `IFF_UP` as the `short` of `ifr_flags`.
#[allow(clippy::cast_possible_truncation)] // IFF_UP is 1
const IFF_UP: libc::c_short = libc::IFF_UP as libc::c_short;

/// `lo` up in the calling thread's network namespace.
fn lo_up() -> std::io::Result<()> {
    // SAFETY: a plain fd-creating call; the result is checked.
    let s = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if s < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a fresh fd owned by nobody else.
    let s = unsafe { OwnedFd::from_raw_fd(s) };
    // SAFETY: ifreq is plain data.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, c) in ifr.ifr_name.iter_mut().zip(b"lo\0") {
        *d = libc::c_char::from_ne_bytes([*c]);
    }
    // SAFETY: the kernel reads the name and writes the flags into our ifreq.
    if unsafe { libc::ioctl(s.as_raw_fd(), libc::SIOCGIFFLAGS as _, &mut ifr) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: reading and setting the flags member the kernel just filled.
    unsafe { ifr.ifr_ifru.ifru_flags |= IFF_UP };
    // SAFETY: the kernel reads our ifreq.
    if unsafe { libc::ioctl(s.as_raw_fd(), libc::SIOCSIFFLAGS as _, &ifr) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Checks on the caller's thread that the shared namespace can be used (root caller), so a
/// refusal comes before any process exists.
pub(crate) fn check_usable() -> Result<()> {
    if crate::caps::caller_is_host_root() {
        Ok(())
    } else {
        Err(Error::Unsupported {
            feature: "shared network namespace",
            detail: "the caller is not root: it cannot enter a network namespace of the host's".into(),
            fix: "NetNs::Shared needs a root caller (CAP_SYS_ADMIN); use the per-sandbox network \
                  namespace (the default)",
        })
    }
}

/// While alive, the supervisor thread is in another network namespace (for one clone).
pub(crate) struct Entered {
    host: &'static OwnedFd,
    /// A pooled namespace: closed once the clone holds it.
    _taken: Option<OwnedFd>,
}

fn enter_fd(ns: &OwnedFd) -> Result<&'static OwnedFd> {
    let host = host().map_err(|errno| Error::os("open(host network namespace)", errno))?;
    with_raised_capabilities(|| setns(ns, CloneFlags::CLONE_NEWNET))
        .map_err(|e| Error::os("setns(network namespace)", e as i32))?;
    Ok(host)
}

/// Enters the shared namespace on this thread (the supervisor's).
pub(crate) fn enter_shared() -> Result<Entered> {
    let host = enter_fd(shared()?)?;
    Ok(Entered { host, _taken: None })
}

/// Enters a fresh namespace of the pool on this thread (the supervisor's), if one is ready for
/// a root caller; `None` means the clone makes its own.
pub(crate) fn enter_fresh() -> Option<Entered> {
    // The pool is first filled for a process's second such sandbox: one that makes only one (the
    // CLI) would pay for namespaces it never uses.
    static ASKED: AtomicBool = AtomicBool::new(false);
    if !ASKED.swap(true, Ordering::Relaxed) {
        return None;
    }
    let ns = take()?;
    match enter_fd(&ns) {
        Ok(host) => Some(Entered {
            host,
            _taken: Some(ns),
        }),
        Err(e) => {
            log::debug!("libsbx: a pooled network namespace was not entered: {e}");
            None
        }
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        if let Err(e) = with_raised_capabilities(|| setns(self.host, CloneFlags::CLONE_NEWNET)) {
            log::error!("libsbx: the supervisor cannot return to the host's network namespace: {e}");
        }
    }
}

/// Fresh namespaces, made on the janitor thread (`janitor.rs`).
static POOL: Mutex<Vec<OwnedFd>> = Mutex::new(Vec::new());

/// Set when a namespace could not be made (no CAP_SYS_ADMIN after all, a container's seccomp
/// profile): no more are made and every clone makes its own.
static FILL_FAILED: AtomicBool = AtomicBool::new(false);

fn lock() -> MutexGuard<'static, Vec<OwnedFd>> {
    POOL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A fresh namespace for a root caller's sandbox, if one is ready; each take (and the first
/// call, with [`POOL_SIZE`] of them) asks the janitor for a replacement.
fn take() -> Option<OwnedFd> {
    static STARTED: OnceLock<bool> = OnceLock::new();
    let usable = *STARTED.get_or_init(|| {
        let ok = crate::caps::caller_is_host_root() && host().is_ok();
        if ok {
            for _ in 0..POOL_SIZE {
                crate::janitor::later(Box::new(fill_one));
            }
        }
        ok
    });
    if !usable || FILL_FAILED.load(Ordering::Relaxed) {
        return None;
    }
    let ns = lock().pop()?;
    crate::janitor::later(Box::new(fill_one));
    Some(ns)
}

/// One more fresh namespace for the pool, unless it is full (on the janitor thread).
fn fill_one() {
    if FILL_FAILED.load(Ordering::Relaxed) || lock().len() >= POOL_SIZE {
        return;
    }
    match make() {
        Ok(ns) => lock().push(ns),
        Err(e) => {
            log::debug!("libsbx: no network namespace pool: {e}");
            FILL_FAILED.store(true, Ordering::Relaxed);
        }
    }
}
