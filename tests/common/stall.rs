//! A stall watch for the tests that bound a latency under load: a thread that sleeps 5 ms at a
//! time and records the longest time it went without running. When the whole machine stalls
//! (a CI runner's vCPU not scheduled, a scheduler queue of hundreds of spinners), every thread
//! of the test waits as long as this one did, the supervisor included; a latency bound then
//! allows for that stall and the test prints it, so that a slow machine is told apart from a
//! slow supervisor.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct StallWatch {
    stop: Arc<AtomicBool>,
    longest_us: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

const TICK: Duration = Duration::from_millis(5);

impl StallWatch {
    pub fn start() -> StallWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let longest_us = Arc::new(AtomicU64::new(0));
        let (s, l) = (stop.clone(), longest_us.clone());
        let thread = std::thread::spawn(move || {
            let mut last = Instant::now();
            while !s.load(Ordering::Relaxed) {
                std::thread::sleep(TICK);
                let now = Instant::now();
                let late = now.duration_since(last).saturating_sub(TICK);
                l.fetch_max(u64::try_from(late.as_micros()).unwrap_or(u64::MAX), Ordering::Relaxed);
                last = now;
            }
        });
        StallWatch {
            stop,
            longest_us,
            thread: Some(thread),
        }
    }

    /// Forgets the stalls seen so far.
    pub fn reset(&self) {
        self.longest_us.store(0, Ordering::Relaxed);
    }

    /// The longest time the watch thread was kept from running (since the start or the reset).
    pub fn longest(&self) -> Duration {
        Duration::from_micros(self.longest_us.load(Ordering::Relaxed))
    }
}

impl Drop for StallWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
