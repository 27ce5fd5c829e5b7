//! The request threads: one per running request, kept for a while once idle, so that a run does
//! not wait for a thread to be made (~0.08 ms here, a few percent of a served run).

use super::Slot;
use std::collections::VecDeque;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// How long an idle request thread waits for work before it ends.
const IDLE: Duration = Duration::from_secs(30);

/// Connections waiting for a thread, and how many threads wait for them.
struct Queue {
    conns: VecDeque<(UnixStream, Slot)>,
    idle: usize,
}

pub(super) struct Workers {
    queue: Mutex<Queue>,
    work: Condvar,
    token: Arc<str>,
}

impl Workers {
    pub(super) fn new(token: &str) -> Arc<Workers> {
        Arc::new(Workers {
            queue: Mutex::new(Queue {
                conns: VecDeque::new(),
                idle: 0,
            }),
            work: Condvar::new(),
            token: Arc::from(token),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Hands `conn` to an idle thread, or to a new one.
    pub(super) fn serve(self: &Arc<Workers>, conn: UnixStream, slot: Slot) {
        {
            let mut q = self.lock();
            if q.idle > 0 {
                q.idle -= 1;
                q.conns.push_back((conn, slot));
                self.work.notify_one();
                return;
            }
        }
        let me = Arc::clone(self);
        // A thread that cannot be made drops the connection (the client runs it itself) and the
        // slot with it.
        let _ = std::thread::Builder::new()
            .name("sbx-run-request".into())
            .spawn(move || me.work_from(conn, slot));
    }

    /// A request thread: serves `conn`, then whatever it is handed until it has been idle for
    /// [`IDLE`].
    fn work_from(&self, conn: UnixStream, slot: Slot) {
        let mut next = Some((conn, slot));
        while let Some((conn, slot)) = next.take() {
            super::request::serve(conn, &self.token);
            drop(slot);
            let mut q = self.lock();
            q.idle += 1;
            let (mut q, _) = self
                .work
                .wait_timeout_while(q, IDLE, |q| q.conns.is_empty())
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            next = q.conns.pop_front();
            if next.is_none() {
                // Timed out: no one counted on this thread any more.
                q.idle -= 1;
            }
        }
    }
}
