//! The library's background thread for work that must not delay a sandbox's start or result:
//! making and removing cgroups (`cgroups/pool.rs`), refilling the pool of fresh network
//! namespaces (`spawn/netns.rs`) and building template mount namespaces (`spawn/mntns/`).
//! Jobs run one at a time in the order given; the thread starts with the first job and lives
//! as long as the process, with every signal blocked (the host's handlers never run on it), in
//! the idle scheduling class (`sys/sched.rs`: its work never takes a CPU a sandbox's start
//! wants). If it cannot be started, each job runs at once on the caller's thread.

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
                crate::sys::sched::set_idle();
                while let Ok(job) = rx.recv() {
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
