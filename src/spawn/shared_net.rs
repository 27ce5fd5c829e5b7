//! The shared empty network namespace (`NetNs::Shared`): one network namespace holding only
//! `lo` (up), made once per process, which every sandbox asking for it joins instead of making
//! its own. Making a network namespace is ~0.5 ms of a sandbox's setup, and its teardown is
//! asynchronous kernel work that piles up at high spawn rates.
//!
//! How a sandbox joins it: the supervisor thread enters it with `setns` just before the clone
//! (a thread's network namespace is its own; the child inherits it in place of
//! `CLONE_NEWNET`) and returns to the host's at once after. The namespace belongs to the host's
//! user namespace, so the sandboxee (root only in its own user namespace) can use it but not
//! reconfigure it. Entering needs CAP_SYS_ADMIN over it: root callers only.

#![allow(unsafe_code)]

use crate::caps::with_raised_capabilities;
use crate::error::{Error, Result};
use nix::sched::{setns, unshare, CloneFlags};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::OnceLock;

/// The host's and the shared namespace, as fds of this process.
struct Fds {
    host: OwnedFd,
    shared: OwnedFd,
}

fn open_ns() -> std::io::Result<OwnedFd> {
    std::fs::File::open("/proc/thread-self/ns/net").map(OwnedFd::from)
}

/// Made on the first use, on the supervisor thread (which returns to the host's namespace).
fn fds() -> Result<&'static Fds> {
    static FDS: OnceLock<std::result::Result<Fds, String>> = OnceLock::new();
    let made = FDS.get_or_init(|| {
        with_raised_capabilities(|| -> std::result::Result<Fds, String> {
            let host = open_ns().map_err(|e| format!("opening the host's network namespace: {e}"))?;
            unshare(CloneFlags::CLONE_NEWNET).map_err(|e| format!("unshare(CLONE_NEWNET): {e}"))?;
            let shared = open_ns();
            let lo = lo_up();
            // Back to the host's namespace before anything else can happen on this thread.
            if let Err(e) = setns(&host, CloneFlags::CLONE_NEWNET) {
                log::error!("libsbx: the supervisor cannot return to the host's network namespace: {e}");
            }
            let shared = shared.map_err(|e| format!("opening the new network namespace: {e}"))?;
            lo.map_err(|e| format!("bringing lo up in it: {e}"))?;
            Ok(Fds { host, shared })
        })
    });
    made.as_ref().map_err(|detail| Error::Unsupported {
        feature: "shared network namespace",
        detail: detail.clone(),
        fix: "NetNs::Shared needs a root caller (CAP_SYS_ADMIN); use the per-sandbox network \
              namespace (the default)",
    })
}

/// `lo` up in the calling thread's network namespace.
/// `IFF_UP` as the `short` of `ifr_flags`.
#[allow(clippy::cast_possible_truncation)] // IFF_UP is 1
const IFF_UP: libc::c_short = libc::IFF_UP as libc::c_short;

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
    if unsafe { libc::ioctl(s.as_raw_fd(), libc::SIOCGIFFLAGS, &mut ifr) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: reading and setting the flags member the kernel just filled.
    unsafe { ifr.ifr_ifru.ifru_flags |= IFF_UP };
    // SAFETY: the kernel reads our ifreq.
    if unsafe { libc::ioctl(s.as_raw_fd(), libc::SIOCSIFFLAGS, &ifr) } != 0 {
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

/// While alive, the supervisor thread is in the shared namespace (for one clone).
pub(crate) struct Entered(&'static Fds);

/// Enters the shared namespace on this thread (the supervisor's).
pub(crate) fn enter() -> Result<Entered> {
    let f = fds()?;
    with_raised_capabilities(|| setns(&f.shared, CloneFlags::CLONE_NEWNET))
        .map_err(|e| Error::os("setns(shared network namespace)", e as i32))?;
    Ok(Entered(f))
}

impl Drop for Entered {
    fn drop(&mut self) {
        if let Err(e) = with_raised_capabilities(|| setns(&self.0.host, CloneFlags::CLONE_NEWNET)) {
            log::error!("libsbx: the supervisor cannot return to the host's network namespace: {e}");
        }
    }
}
