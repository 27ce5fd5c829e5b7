//! The pool of empty groups and the janitor thread that fills it and removes used groups.

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
    /// Say when every earlier chore is done.
    Done(mpsc::Sender<()>),
}

/// No more refills; the ready groups and every used one removed (waiting up to `limit`).
pub(super) fn release(limit: std::time::Duration) {
    RELEASED.store(true, Ordering::Relaxed);
    let ready = std::mem::take(&mut *lock());
    send(Chore::Remove(ready));
    let (tx, rx) = mpsc::channel();
    send(Chore::Done(tx));
    let _ = rx.recv_timeout(limit);
}

/// Set by `release`: the pool is not refilled any more.
static RELEASED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

static POOL: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn lock() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    POOL.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `libsbx-<pid namespace>-<pid>-`: this process's groups.
fn prefix() -> &'static str {
    static P: OnceLock<String> = OnceLock::new();
    P.get_or_init(|| format!("libsbx-{}-{}-", pid_ns(), std::process::id()))
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
pub(super) fn take(parent: &Path) -> std::io::Result<PathBuf> {
    let ready = {
        let mut pool = lock();
        pool.iter().position(|d| d.parent() == Some(parent)).map(|i| pool.swap_remove(i))
    };
    let dir = if let Some(d) = ready {
        d
    } else {
        sweep(parent);
        make(parent)?
    };
    send(Chore::Refill(parent.to_path_buf()));
    Ok(dir)
}

/// Hands used groups to the janitor (removed at once if it cannot run).
pub(super) fn remove(dirs: Vec<PathBuf>) {
    send(Chore::Remove(dirs));
}

fn send(chore: Chore) {
    static JANITOR: OnceLock<Option<Mutex<mpsc::Sender<Chore>>>> = OnceLock::new();
    let tx = JANITOR.get_or_init(|| {
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("sbx-cgroups".into())
            .spawn(move || janitor(&rx))
            .ok()
            .map(|_| Mutex::new(tx))
    });
    let left = match tx {
        Some(tx) => tx
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .send(chore)
            .err()
            .map(|e| e.0),
        None => Some(chore),
    };
    if let Some(chore) = left {
        do_chore(chore);
    }
}

fn janitor(rx: &mpsc::Receiver<Chore>) {
    while let Ok(chore) = rx.recv() {
        do_chore(chore);
    }
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
        Chore::Done(tx) => {
            let _ = tx.send(());
        }
        Chore::Refill(_) if RELEASED.load(Ordering::Relaxed) => {}
        Chore::Refill(parent) => loop {
            if lock().iter().filter(|d| d.parent() == Some(parent.as_path())).count() >= READY.load(Ordering::Relaxed) {
                break;
            }
            match make(&parent) {
                Ok(d) => lock().push(d),
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
        let Some(pid) = name.strip_prefix(&ns).and_then(|r| r.split('-').next()) else {
            continue;
        };
        if pid.parse::<u32>().is_ok_and(|p| p != std::process::id())
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = std::fs::remove_dir(e.path());
        }
    }
}
