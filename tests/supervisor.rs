//! One supervisor for every sandbox: host threads do not grow with the number of running
//! sandboxes, wall-time limits and kills arrive on time while many run, and the host keeps no
//! fd, thread or child per finished sandbox.
//!
//! Alone in its own test binary: it counts the threads and fds of this process.

// Test harness: raw syscalls, fds and capabilities of the test process itself.
#![allow(unsafe_code)]

mod common;

use sbx::{Executor, Sandbox, Status};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn count(dir: &str) -> usize {
    std::fs::read_dir(dir).map_or(0, Iterator::count)
}

fn sleeper(secs: &str, walltime: Option<Duration>) -> Sandbox {
    let mut ex = Executor::new("/bin/sleep");
    ex.args([secs]);
    if let Some(w) = walltime {
        ex.walltime(w);
    }
    Sandbox::new(ex, common::build(&sbx::policy::presets::tool_default()))
}

#[test]
fn one_supervisor_for_many_sandboxes() {
    // Warm up: the supervisor thread starts with the first sandbox, and for a root caller the
    // janitor thread with the second, for which it fills the network namespace pool and builds
    // the view's mount template (their fds: all there once settled); the third is cloned from
    // the template (the supervisor keeps an fd of the host's mount namespace from then on).
    for i in 0..3 {
        let r = sleeper("0", None).run().unwrap();
        assert_eq!(r.status, Status::Ok, "{}", r.describe());
        if i == 1 {
            settled_fd_count();
        }
    }
    let fds_before = settled_fd_count();
    let threads_before = count("/proc/self/task");

    // 64 sandboxes at once: not one more host thread.
    let n = 64;
    let sbs: Vec<Arc<Sandbox>> = (0..n).map(|_| Arc::new(sleeper("30", None))).collect();
    for sb in &sbs {
        sb.start().unwrap();
    }
    let threads_running = count("/proc/self/task");
    assert_eq!(
        threads_running, threads_before,
        "host threads while {n} sandboxes run (before: {threads_before})"
    );

    // A kill while they all run arrives quickly.
    let t0 = Instant::now();
    sbs[n / 2].kill();
    let r = sbs[n / 2].wait().unwrap();
    let took = t0.elapsed();
    assert_eq!(r.status, Status::ExternalKill, "{}", r.describe());
    assert!(
        took < Duration::from_millis(500),
        "kill took {took:?} with {n} sandboxes running"
    );

    for sb in &sbs {
        sb.kill();
    }
    for sb in &sbs {
        let r = sb.wait().unwrap();
        assert_eq!(r.status, Status::ExternalKill, "{}", r.describe());
    }
    drop(sbs);

    // Wall-time limits of many sandboxes fire together, on time.
    let t0 = Instant::now();
    let sbs: Vec<Sandbox> = (0..32)
        .map(|_| sleeper("30", Some(Duration::from_millis(700))))
        .collect();
    for sb in &sbs {
        sb.start().unwrap();
    }
    for sb in &sbs {
        let r = sb.wait().unwrap();
        assert_eq!(r.status, Status::Timeout, "{}", r.describe());
    }
    let took = t0.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "32 wall-time limits of 0.7 s took {took:?}"
    );
    drop(sbs);

    // Nothing left behind: threads, fds, children.
    assert_eq!(count("/proc/self/task"), threads_before);
    let fds_after = settled_fd_count();
    assert!(
        fds_after <= fds_before,
        "fds: {fds_after} after, {fds_before} before"
    );
    let id_locks = common::fds_and_id_locks().1;
    assert!(
        id_locks <= common::MAX_IDLE_ID_LOCKS,
        "{id_locks} host-id locks open once every sandbox ended"
    );

    completion_fd_becomes_readable_with_the_result();
    kill_racing_start_is_external_kill();
}

/// This process's fd count (without the idle host-id locks, bounded on their own) once it has
/// not changed for 100 ms (the janitor refills the network namespace pool in the background),
/// or after 5 s.
fn settled_fd_count() -> usize {
    let t0 = Instant::now();
    let mut last = common::fds_and_id_locks().0;
    let mut since = Instant::now();
    while since.elapsed() < Duration::from_millis(100) && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
        let now = common::fds_and_id_locks().0;
        if now != last {
            last = now;
            since = Instant::now();
        }
    }
    last
}

fn readable(fd: std::os::fd::BorrowedFd<'_>) -> bool {
    use std::os::fd::AsRawFd;
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one live pollfd, no timeout.
    unsafe { libc::poll(&mut p, 1, 0) == 1 && p.revents & libc::POLLIN != 0 }
}

/// Part of the one test of this binary (a second test thread would disturb the thread counts).
fn completion_fd_becomes_readable_with_the_result() {
    let sb = sleeper("30", None);
    sb.start().unwrap();
    let fd = sb.completion_fd().unwrap();
    assert!(!readable(fd), "readable while the sandbox runs");
    sb.kill();
    // An event loop would poll it; here: wait up to 10 s for readability.
    let t0 = Instant::now();
    while !readable(fd) {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "never became readable"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(sb.is_finished(), "readable before the result was published");
    assert_eq!(sb.wait().unwrap().status, Status::ExternalKill);
    assert!(readable(fd), "stays readable (level-triggered)");
    // Asked for after the end: readable at once.
    let sb = sleeper("0", None);
    sb.run().unwrap();
    assert!(readable(sb.completion_fd().unwrap()));
}

/// A kill racing the start ends the run as EXTERNAL_KILL, never as a ptrace setup error (the
/// pidfd is published before the attach, so the kill can land first).
fn kill_racing_start_is_external_kill() {
    for i in 0..100 {
        let sb = Arc::new(sleeper("30", None));
        let killer = {
            let sb = Arc::clone(&sb);
            std::thread::spawn(move || {
                let t0 = Instant::now();
                while !sb.is_finished() && t0.elapsed() < Duration::from_secs(10) {
                    sb.kill();
                    std::thread::yield_now();
                }
            })
        };
        // A kill before the start already marks the run as killed; the loop keeps killing.
        let started = sb.start();
        let r = sb.wait();
        killer.join().unwrap();
        if started.is_err() {
            continue;
        }
        let r = r.unwrap();
        assert!(
            matches!(r.status, Status::ExternalKill),
            "run {i}: {}",
            r.describe()
        );
    }
}
