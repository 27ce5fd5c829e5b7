//! The pool of empty groups, filled and emptied of used groups on the library's janitor thread
//! (`janitor.rs`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex, OnceLock};

/// Empty groups kept ready per parent directory (see [`super::set_ready_groups`]).
pub(super) static READY: AtomicUsize = AtomicUsize::new(2);

enum Chore {
    /// Keep `READY` empty groups under this parent.
    Refill(PathBuf),
    /// Remove these used groups.
    Remove(Vec<PathBuf>),
    /// Put this used group back into the pool once its last task is gone (a v2 group without
    /// controllers: it keeps nothing of its run but counters, whose values are noted).
    Recycle(PathBuf),
    /// Say when every earlier chore is done.
    Done(mpsc::Sender<()>),
}

/// No more refills; the ready groups and every used one removed (waiting up to `limit`).
pub(super) fn release(limit: std::time::Duration) {
    RELEASED.store(true, Ordering::Relaxed);
    let ready = std::mem::take(&mut *lock()).into_iter().map(|r| r.dir).collect();
    send(Chore::Remove(ready));
    let (tx, rx) = mpsc::channel();
    send(Chore::Done(tx));
    let _ = rx.recv_timeout(limit);
}

/// Set by `release`: the pool is not refilled any more.
static RELEASED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// An empty group ready to be taken.
pub(super) struct Ready {
    pub dir: PathBuf,
    /// Its `cpu.stat` usage when it was put back (0 when made): what a run's usage counts from.
    pub cpu_base: u64,
}

static POOL: Mutex<Vec<Ready>> = Mutex::new(Vec::new());

fn lock() -> std::sync::MutexGuard<'static, Vec<Ready>> {
    POOL.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `libsbx-<pid namespace>-<pid>.<start time>-`: this process's groups. The start time tells a
/// later process that got the same pid (in a pid namespace whose number was reused) from this
/// one, so that its sweep removes what this one left.
fn prefix() -> &'static str {
    static P: OnceLock<String> = OnceLock::new();
    P.get_or_init(|| {
        let pid = std::process::id();
        format!("libsbx-{}-{pid}.{}-", pid_ns(), start_time(pid).unwrap_or(0))
    })
}

/// Process `pid`'s start time (clock ticks after boot, field 22 of `/proc/PID/stat`).
fn start_time(pid: u32) -> Option<u64> {
    crate::sys::procfs::stat_after_comm(pid)?.get(19)?.parse().ok()
}

fn pid_ns() -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self/ns/pid").map_or(0, |m| m.ino())
}

/// Makes a new empty group under `parent`.
fn make(parent: &Path) -> std::io::Result<PathBuf> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = parent.join(format!("{}{}", prefix(), NEXT.fetch_add(1, Ordering::Relaxed)));
    std::fs::create_dir(&dir)?;
    Ok(dir)
}

/// An empty group under `parent`: a ready one, else made now. The janitor refills.
pub(super) fn take(parent: &Path) -> std::io::Result<Ready> {
    let ready = {
        let mut pool = lock();
        pool.iter().position(|r| r.dir.parent() == Some(parent)).map(|i| pool.swap_remove(i))
    };
    let ready = if let Some(r) = ready {
        r
    } else {
        sweep(parent);
        Ready { dir: make(parent)?, cpu_base: 0 }
    };
    send(Chore::Refill(parent.to_path_buf()));
    Ok(ready)
}

/// Hands a used v2 group without controllers back to the pool (see [`Chore::Recycle`]).
pub(super) fn recycle(dir: PathBuf) {
    send(Chore::Recycle(dir));
}

/// Hands used groups to the janitor (removed at once if it cannot run).
pub(super) fn remove(dirs: Vec<PathBuf>) {
    send(Chore::Remove(dirs));
}

fn send(chore: Chore) {
    crate::janitor::later(Box::new(move || do_chore(chore)));
}

fn do_chore(chore: Chore) {
    match chore {
        Chore::Remove(dirs) => {
            for d in dirs {
                if let Err(e) = remove_group(&d) {
                    if e.kind() != std::io::ErrorKind::NotFound {
                        log::warn!("libsbx: cannot remove cgroup {}: {e}", d.display());
                    }
                }
            }
        }
        Chore::Recycle(dir) => recycle_now(dir),
        Chore::Done(tx) => {
            let _ = tx.send(());
        }
        Chore::Refill(_) if RELEASED.load(Ordering::Relaxed) => {}
        Chore::Refill(parent) => loop {
            if ready_under(&parent) >= READY.load(Ordering::Relaxed) {
                break;
            }
            match make(&parent) {
                Ok(dir) => lock().push(Ready { dir, cpu_base: 0 }),
                Err(_) => break,
            }
        },
    }
}

/// Removes group `dir`, waiting up to a second while it is busy: tasks that `cgroup.kill` just
/// killed leave it only once they have exited.
fn remove_group(dir: &Path) -> std::io::Result<()> {
    let mut tries = 100;
    loop {
        match std::fs::remove_dir(dir) {
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && tries > 0 => {
                tries -= 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            r => return r,
        }
    }
}

/// Tests: whether `dir` is a ready group.
#[cfg(test)]
pub(super) fn holds(dir: &Path) -> bool {
    lock().iter().any(|r| r.dir == dir)
}

/// How many ready groups there are under `parent`.
fn ready_under(parent: &Path) -> usize {
    lock().iter().filter(|r| r.dir.parent() == Some(parent)).count()
}

/// [`Chore::Recycle`]: once `dir` holds no task (waiting up to a second), back into the pool
/// with its CPU usage noted, or removed when the pool is released, keeps no groups, or holds
/// [`READY`] + 1 under that parent already. One above [`READY`]: the refill after a take has
/// made the pool full again by the time the run's group comes back, and runs that follow each
/// other then make and remove no group at all.
fn recycle_now(dir: PathBuf) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    let holds_none = || {
        std::fs::read_to_string(dir.join("cgroup.procs")).is_ok_and(|p| p.trim().is_empty())
    };
    let mut empty = holds_none();
    while !empty && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
        empty = holds_none();
    }
    let ready = READY.load(Ordering::Relaxed);
    let parent = dir.parent().map(Path::to_path_buf).unwrap_or_default();
    let full = RELEASED.load(Ordering::Relaxed) || ready == 0 || ready_under(&parent) > ready;
    if empty && !full {
        let stat = std::fs::read_to_string(dir.join("cpu.stat")).unwrap_or_default();
        let cpu_base = super::keyed(&stat, "usage_usec");
        lock().push(Ready { dir, cpu_base });
    } else if let Err(e) = remove_group(&dir) {
        log::warn!("libsbx: cannot remove cgroup {}: {e}", dir.display());
    }
}

/// Removes the empty groups that processes of this pid namespace left under `parent` when
/// they ended (their pool); a group in use cannot be removed.
fn sweep(parent: &Path) {
    static SWEPT: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    {
        let mut swept = SWEPT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if swept.iter().any(|p| p == parent) {
            return;
        }
        swept.push(parent.to_path_buf());
    }
    let ns = format!("libsbx-{}-", pid_ns());
    let Ok(rd) = std::fs::read_dir(parent) else { return };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(owner) = name.strip_prefix(&ns).and_then(|r| r.split('-').next()) else {
            continue;
        };
        // `pid.start` (or `pid` alone, as older versions named them).
        let (pid, start) = owner.split_once('.').map_or((owner, None), |(p, s)| (p, Some(s)));
        let Ok(pid) = pid.parse::<u32>() else { continue };
        let ours = name.starts_with(prefix());
        let alive = match start.and_then(|s| s.parse::<u64>().ok()) {
            Some(start) => start_time(pid) == Some(start),
            None => Path::new(&format!("/proc/{pid}")).exists(),
        };
        if !ours && !alive {
            let _ = std::fs::remove_dir(e.path());
        }
    }
}
