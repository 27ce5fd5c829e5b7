//! Host-side leaks over many runs: fds, threads, zombies. This file holds a single test so that no
//! other test of the same binary opens fds or threads while it counts.

mod common;

use common::*;
use sbx::{Sandbox, Stdio};

fn host_fds() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .flatten()
        .map(|e| {
            let target = std::fs::read_link(e.path()).map(|t| t.display().to_string()).unwrap_or_default();
            format!("{} -> {target}", e.file_name().to_string_lossy())
        })
        .collect();
    v.sort();
    v
}

/// Thread names of this process, without the library's one global deadline thread.
fn host_threads() -> (Vec<String>, usize) {
    let mut names = Vec::new();
    let mut deadline = 0;
    for e in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default().trim().to_string();
        if comm == "sbx-deadline" {
            deadline += 1;
        } else {
            names.push(comm);
        }
    }
    names.sort();
    (names, deadline)
}

#[test]
fn a_thousand_runs_leak_nothing() {
    let policy = build(&base_policy());
    // Warm up: compile the attacker (gcc runs as a child) and start the library's globals.
    attacker();
    let r = Sandbox::new(attack("exit", &["0"]), policy.clone()).run().unwrap();
    assert!(r.success(), "{r:?}");

    let fds_before = host_fds();
    let (threads_before, _) = host_threads();
    let mut last_pid = 0;
    for i in 0..1000 {
        let mut ex = attack("exit", &[&(i % 7).to_string()]);
        // Exercise every stdio path: inherited, /dev/null and a pipe.
        match i % 3 {
            0 => {}
            1 => {
                ex.stdin(Stdio::Null).stdout(Stdio::Null);
            }
            _ => {
                let (rd, wr) = pipe();
                ex.stdout(Stdio::Fd(wr)).map_fd(rd, 4);
            }
        }
        let r = Sandbox::new(ex, policy.clone()).run().unwrap();
        assert_eq!(r.exit_code, Some(i % 7), "run {i}: {r:?}");
        last_pid = r.pid;
    }
    let fds_after = host_fds();
    let (threads_after, deadline_threads) = host_threads();
    assert_eq!(fds_before, fds_after, "host fds changed over 1000 runs");
    assert_eq!(threads_before, threads_after, "host threads changed over 1000 runs");
    assert!(deadline_threads <= 1, "{deadline_threads} sbx-deadline threads");
    let zombies = my_zombies();
    assert!(zombies.is_empty(), "zombie children of the host: {zombies:?}");
    assert!(!is_running(last_pid));
}
