//! Wall-time limits of all sandboxes, enforced by one shared thread (not one timer per sandbox):
//! it sleeps until the earliest deadline and kills what has expired. Entries hold weak
//! references, so a finished sandbox simply drops out.

use crate::monitor::state::{KillReason, Shared};
use once_cell::sync::Lazy;
use std::sync::{Condvar, Mutex, Weak};
use std::time::Instant;

struct Deadlines {
    entries: Mutex<Vec<(Instant, Weak<Shared>)>>,
    changed: Condvar,
}

static DEADLINES: Lazy<&'static Deadlines> = Lazy::new(|| {
    let d: &'static Deadlines = Box::leak(Box::new(Deadlines {
        entries: Mutex::new(Vec::new()),
        changed: Condvar::new(),
    }));
    let spawned = std::thread::Builder::new()
        .name("sbx-deadline".into())
        .stack_size(64 * 1024)
        .spawn(move || run(d));
    if let Err(e) = spawned {
        // Without the thread no wall-time limit would fire: say so loudly; runs still end on
        // their own or by kill.
        log::error!(
            "libsbx: cannot start the wall-time thread: {e}; wall-time limits are not enforced"
        );
    }
    d
});

/// Sends SIGKILL through `shared`'s pidfd from the deadline thread, whose effective capabilities
/// are raised (see `raise_effective_capabilities`): the caller's thread could not (a root caller
/// whose thread runs with an empty effective set, signalling a sandboxee that runs as another
/// uid).
pub(super) fn kill_from_here(shared: Weak<Shared>) {
    let d = *DEADLINES;
    d.entries
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((Instant::now(), shared));
    d.changed.notify_one();
}

/// Kills `shared`'s sandbox with TIMEOUT at `when`.
pub(super) fn arm(when: Instant, shared: Weak<Shared>) {
    let d = *DEADLINES;
    d.entries
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((when, shared));
    d.changed.notify_one();
}

fn run(d: &'static Deadlines) {
    crate::caps::raise_effective_capabilities();
    let mut entries = d.entries.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        let now = Instant::now();
        let mut expired = Vec::new();
        entries.retain(|(when, w)| {
            if w.strong_count() == 0 {
                return false;
            }
            if *when <= now {
                expired.push(w.clone());
                return false;
            }
            true
        });
        if !expired.is_empty() {
            drop(entries);
            for w in expired {
                if let Some(s) = w.upgrade() {
                    // The first reason wins: an entry queued by kill_from_here keeps EXTERNAL.
                    s.kill_reason_or(KillReason::Timeout);
                    s.signal_main_here();
                }
            }
            entries = d.entries.lock().unwrap_or_else(|p| p.into_inner());
            continue;
        }
        let next = entries.iter().map(|(w, _)| *w).min();
        entries = match next {
            None => d.changed.wait(entries).unwrap_or_else(|p| p.into_inner()),
            Some(t) => {
                d.changed
                    .wait_timeout(entries, t.saturating_duration_since(now))
                    .unwrap_or_else(|p| p.into_inner())
                    .0
            }
        };
    }
}
