//! The unprivileged host ids root callers' sandboxees run as.
//!
//! Mapping a sandbox onto the caller's own ids, as for unprivileged callers, would make a root
//! caller's sandboxee host uid 0: no capabilities, but still the owner of every root-owned file
//! it can reach (`/etc/ssl/private`) and allowed to write `/proc/sys` (`kernel.core_pattern` runs
//! a program as root). So it gets an id of its own instead, from the range
//! [`root_caller_id_range`] (default 1879048192..+65536, i.e. `0x70000000`: above systemd's
//! container range 524288-1879048191 and below the foreign and 2^31 ranges, an id no account or
//! container uses).
//!
//! **One id per live sandbox.** Two sandboxes running as the same host id could signal, ptrace
//! or read each other across their namespaces' walls (the kernel compares host ids), so every
//! sandbox with namespaces holds an id no other live sandbox holds, on this host: it takes the
//! first free id by locking `/run/libsbx/ids/<id>.lock` (`flock`, an exclusive lock per open
//! file description) and keeps the lock until its run's result, when its pid namespace, and so
//! every process that ran as the id, is gone; then up to 4 such ids stay locked by the process,
//! idle, for its next sandboxes (no file to open and lock on their spawn path). A crashed
//! host's locks go with it. Ids this process holds are skipped without a syscall; the search
//! starts at the pid modulo the range's size, so one process running sandboxes one after
//! another keeps reusing one id (and the idmapped binds' user namespaces cached for it).
//!
//! A sandbox **without** namespaces runs its program as the process-wide id
//! ([`root_caller_host_id`], locked for the host process's lifetime): its processes are not
//! bounded by a pid namespace, so the id must outlive the run.
//!
//! Where `/run` cannot hold the lock files, ids are picked without locks (the base plus the pid
//! modulo the range's size, then the next one this process does not hold) and a warning is
//! logged: unique within the process, not across processes.

use crate::error::{Error, Result};
use nix::fcntl::{Flock, FlockArg};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

/// Default first id of [`root_caller_id_range`].
pub const ROOT_CALLER_ID_BASE: u32 = 0x7000_0000;
/// Default number of ids of [`root_caller_id_range`].
pub const ROOT_CALLER_ID_COUNT: u32 = 65_536;
/// Where the id locks live.
const ROOT_ID_DIR: &str = "/run/libsbx/ids";

static RANGE: Mutex<(u32, u32)> = Mutex::new((ROOT_CALLER_ID_BASE, ROOT_CALLER_ID_COUNT));
/// Set by the first allocation: from then on the range is fixed.
static RANGE_USED: AtomicBool = AtomicBool::new(false);
/// The ids this process holds (the process-wide one and every live sandbox's).
static HELD: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());
/// The process-wide id and its lock, held for the process's lifetime.
static PROCESS_ID: OnceLock<HostId> = OnceLock::new();

/// A host id held by this process, released (lock closed) when dropped.
#[derive(Debug)]
pub(crate) struct HostId {
    id: u32,
    /// The locked file (`None` where `/run` could not hold it).
    lock: Option<Flock<std::fs::File>>,
}

impl HostId {
    /// The id.
    pub(crate) fn get(&self) -> u32 {
        self.id
    }

    /// A fresh id for one sandbox with namespaces: no other live sandbox on this host holds it.
    pub(crate) fn for_sandbox() -> HostId {
        let reused = IDLE.lock().unwrap_or_else(PoisonError::into_inner).pop();
        reused.unwrap_or_else(allocate)
    }
}

impl Drop for HostId {
    fn drop(&mut self) {
        // A released sandbox id whose lock is held goes to the idle list (its run is over: no
        // process runs as it any more), so the next sandbox takes it without opening and
        // locking a file; it stays in HELD meanwhile. (The process-wide id lives in a static
        // and is never dropped.)
        if self.lock.is_some() {
            let mut idle = IDLE.lock().unwrap_or_else(PoisonError::into_inner);
            if idle.len() < IDLE_KEPT {
                idle.push(HostId {
                    id: self.id,
                    lock: self.lock.take(),
                });
                return;
            }
        }
        // The lock file closes after this (field drop): another process may take the id only
        // then, and this process only once it is out of the set.
        HELD.lock().unwrap_or_else(PoisonError::into_inner).remove(&self.id);
    }
}

/// Sandbox ids whose runs are over, still locked by this process: taken first by the next
/// sandboxes (at most [`IDLE_KEPT`]; the rest are released).
static IDLE: Mutex<Vec<HostId>> = Mutex::new(Vec::new());
/// How many ended sandboxes' ids stay locked for the next ones.
const IDLE_KEPT: usize = 4;

/// The id a root caller's sandboxes *without* namespaces run as: one per host process, locked
/// under `/run/libsbx/ids` for the process's lifetime (see the module's doc). Sandboxes with
/// namespaces each get an id of their own instead; [`crate::RunResult::host_uid`] names it.
pub fn root_caller_host_id() -> u32 {
    PROCESS_ID.get_or_init(allocate).get()
}

/// The range root callers' sandboxees take their host ids from: `(first, count)`.
pub fn root_caller_id_range() -> (u32, u32) {
    *RANGE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Sets the range of host ids for root callers' sandboxees (every process sharing a range must
/// use the same one; give the range to libsbx and to nothing else). Only before the first
/// sandbox of a root caller: afterwards ids are taken and this fails with `InvalidState`.
/// The range must lie above 65535 (system and ordinary accounts) and below 2^31.
pub fn set_root_caller_id_range(first: u32, count: u32) -> Result<()> {
    let end = u64::from(first) + u64::from(count);
    if first < 65_536 || count == 0 || end > 1 << 31 {
        return Err(Error::invalid(format!(
            "root caller id range {first}..{end}: must be non-empty, start above 65535 and end at or below 2^31"
        )));
    }
    let mut range = RANGE.lock().unwrap_or_else(PoisonError::into_inner);
    if RANGE_USED.load(Ordering::Acquire) {
        return Err(Error::InvalidState(
            "root caller ids are already taken; set the range before the first sandbox",
        ));
    }
    *range = (first, count);
    Ok(())
}

/// The first id of the range that neither this process nor (by its lock) any other holds.
fn allocate() -> HostId {
    let (first, count) = {
        let range = RANGE.lock().unwrap_or_else(PoisonError::into_inner);
        RANGE_USED.store(true, Ordering::Release);
        *range
    };
    let start = std::process::id() % count;
    let mut held = HELD.lock().unwrap_or_else(PoisonError::into_inner);
    let candidates = (0..count)
        .map(|k| first + (start + k) % count)
        .filter(|id| !held.contains(id));
    let locked = lock_dir().and_then(|()| lock_first_free(candidates.clone()));
    let host_id = match locked {
        Ok(host_id) => host_id,
        Err(e) => {
            log::warn!(
                "libsbx: cannot lock a root caller id under {ROOT_ID_DIR} ({e}); picking one without a lock"
            );
            let id = candidates.clone().next().unwrap_or(first + start);
            HostId { id, lock: None }
        }
    };
    held.insert(host_id.id);
    host_id
}

/// Makes the lock directory (once per process; later calls return the first outcome).
fn lock_dir() -> std::io::Result<()> {
    static MADE: OnceLock<std::result::Result<(), std::io::ErrorKind>> = OnceLock::new();
    let made = MADE.get_or_init(|| {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(ROOT_ID_DIR)
            .map_err(|e| e.kind())
    });
    made.map_err(std::io::Error::from)
}

/// Locks the first of `ids` whose lock file no one else holds.
fn lock_first_free(ids: impl Iterator<Item = u32>) -> std::io::Result<HostId> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut tried = 0u32;
    for id in ids {
        tried += 1;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
            .open(format!("{ROOT_ID_DIR}/{id}.lock"))?;
        // Kept in the HostId: dropping it unlocks and closes the file.
        if let Ok(lock) = Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            return Ok(HostId {
                id,
                lock: Some(lock),
            });
        }
    }
    Err(std::io::Error::other(format!(
        "all {tried} free ids of the range are locked by other processes"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids held at once differ, and a released id is taken again first.
    #[test]
    fn live_ids_differ_and_released_ones_come_back() {
        let a = HostId::for_sandbox();
        let b = HostId::for_sandbox();
        let c = HostId::for_sandbox();
        let (first, count) = root_caller_id_range();
        for id in [a.get(), b.get(), c.get()] {
            assert!(id >= first && id - first < count, "{id}");
        }
        assert_ne!(a.get(), b.get());
        assert_ne!(b.get(), c.get());
        assert_ne!(a.get(), c.get());
        let b_id = b.get();
        drop(b);
        let d = HostId::for_sandbox();
        // Other tests of this binary take and release ids too: b's is taken again by d, or
        // waits idle (still locked), or is released.
        assert!(d.get() != a.get() && d.get() != c.get());
        assert!(HELD.lock().unwrap().contains(&d.get()));
        let idle = IDLE.lock().unwrap().iter().any(|h| h.get() == b_id);
        assert!(d.get() == b_id || idle || !HELD.lock().unwrap().contains(&b_id));
    }

    /// An ended sandbox's id kept for the next one stays locked against other processes.
    #[test]
    fn an_idle_id_stays_locked() {
        let lease = HostId::for_sandbox();
        if lease.lock.is_none() {
            return; // no lock files here (`/run` not writable): nothing to hold
        }
        let id = lease.get();
        drop(lease);
        // With the idle list locked, nobody takes the id or releases it meanwhile.
        let idle = IDLE.lock().unwrap();
        if !idle.iter().any(|h| h.get() == id) {
            return; // another test of this binary took it again at once
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(format!("{ROOT_ID_DIR}/{id}.lock"))
            .unwrap();
        assert!(
            Flock::lock(file, FlockArg::LockExclusiveNonblock).is_err(),
            "an idle id {id} can be locked by another open file"
        );
        drop(idle);
    }

    #[test]
    fn the_range_is_checked_and_fixed_once_used() {
        assert!(set_root_caller_id_range(1000, 10).is_err());
        assert!(set_root_caller_id_range(ROOT_CALLER_ID_BASE, 0).is_err());
        assert!(set_root_caller_id_range(0x7fff_ffff, 2).is_err());
        let _held = HostId::for_sandbox();
        assert!(matches!(
            set_root_caller_id_range(ROOT_CALLER_ID_BASE, 16),
            Err(Error::InvalidState(_))
        ));
    }
}
