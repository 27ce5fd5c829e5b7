//! The library's background thread for work that must not delay a sandbox's start or result:
//! making and removing cgroups (`cgroups/pool.rs`), refilling the pool of fresh network
//! namespaces (`spawn/netns.rs`) and building template mount namespaces (`spawn/mntns/`).
//! Jobs run one at a time in the order given; the thread starts with the first job and lives
//! as long as the process, with every signal blocked (the host's handlers never run on it). If
//! it cannot be started, each job runs at once on the caller's thread.
//!
//! Between jobs the thread waits in the idle scheduling class (`sys/sched.rs`), so that waking
//! it never preempts the thread that gave the job: in the normal class, each take from the
//! network namespace pool woke it on the supervisor's CPU just as the clone began, and its
//! ~0.4 ms of namespace making delayed the clone. Each job then runs in the normal class, so none
//! starves on a busy machine. Only where it may leave the idle class (CAP_SYS_NICE, as root
//! callers have, or an RLIMIT_NICE of 20 or more); otherwise it stays in the normal class.

use crate::caps::{with_raised_capabilities, CAP_SYS_NICE};
use std::sync::{mpsc, Mutex, OnceLock, PoisonError};

type Job = Box<dyn FnOnce() + Send>;

/// Runs `job` on the janitor thread, after every job given before it.
pub(crate) fn later(job: Job) {
    static TX: OnceLock<Option<Mutex<mpsc::Sender<Job>>>> = OnceLock::new();
    let tx = TX.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("sbx-janitor".into())
            .spawn(move || {
                crate::sys::signals::block_all();
                let idle_waits = may_leave_idle();
                loop {
                    if idle_waits {
                        crate::sys::sched::set_idle();
                    }
                    let Ok(job) = rx.recv() else { break };
                    if idle_waits {
                        if let Err(e) = with_raised_capabilities(crate::sys::sched::set_normal) {
                            log::debug!("libsbx: a background job runs in the idle class: {e}");
                        }
                    }
                    job();
                }
            })
            .ok()
            .map(|_| Mutex::new(tx))
    });
    let left = match tx {
        Some(tx) => tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(job)
            .err()
            .map(|e| e.0),
        None => Some(job),
    };
    if let Some(job) = left {
        job();
    }
}

/// Whether this thread may go back from the idle scheduling class to the normal one.
fn may_leave_idle() -> bool {
    let nice_cap = crate::caps::capget_self()
        .is_some_and(|d| d[0].permitted & (1 << CAP_SYS_NICE) != 0);
    nice_cap || crate::sys::sched::nice_limit_allows_normal()
}
