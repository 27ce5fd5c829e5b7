//! Host-side leaks over many runs: fds, threads, zombies. This file holds a single test so that no
//! other test of the same binary opens fds or threads while it counts.

mod common;

use common::*;
use sbx::{Sandbox, Stdio};

/// This process's fds (number and target), without the network namespaces the library's pool
/// keeps ready for a root caller (`spawn/netns.rs`: new ones replace the ones taken) and the
/// mount namespaces it keeps for a root caller's views (`spawn/mntns/`: a template per view,
/// built after the warm-up, and the host's, to return to after a clone from one), and how many
/// of those there are. The directory listing's own fd is left out: its number depends on
/// which low fds the pool holds at the moment. So are the host-id locks kept for the next
/// sandboxes (`host_id.rs`, at most `MAX_IDLE_ID_LOCKS`, checked on their own).
fn host_fds() -> (Vec<String>, usize) {
    let mut v: Vec<String> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .flatten()
        .map(|e| {
            let target = std::fs::read_link(e.path()).map(|t| t.display().to_string()).unwrap_or_default();
            format!("{} -> {target}", e.file_name().to_string_lossy())
        })
        .collect();
    let host_net = std::fs::read_link("/proc/self/ns/net").unwrap().display().to_string();
    let all = v.len();
    v.retain(|f| !f.contains(" -> net:[") || f.ends_with(&host_net));
    v.retain(|f| !f.contains(" -> mnt:["));
    let pooled = all - v.len();
    let listing = format!("/proc/{}/fd", std::process::id());
    v.retain(|f| !f.ends_with(&listing));
    // The host-id locks a root caller keeps for its next sandboxes: bounded on their own.
    v.retain(|f| !f.split_once(" -> ").is_some_and(|(_, t)| is_id_lock(std::path::Path::new(t))));
    v.sort();
    (v, pooled)
}

/// Whether CAP_SYS_ADMIN is in this process's effective set.
fn has_sys_admin() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let eff = status.lines().find_map(|l| l.strip_prefix("CapEff:")).unwrap().trim();
    u64::from_str_radix(eff, 16).unwrap() & (1 << 21) != 0
}

/// Whether this process holds a mount namespace other than its own (a template).
fn template_held() -> bool {
    let own = std::fs::read_link("/proc/self/ns/mnt").unwrap();
    std::fs::read_dir("/proc/self/fd").unwrap().flatten().any(|e| {
        std::fs::read_link(e.path()).is_ok_and(|t| {
            t.to_string_lossy().starts_with("mnt:[") && t != own
        })
    })
}

/// Thread names of this process, without the library's one global deadline thread.
/// (The library's janitor thread, `sbx-janitor`, is one for the process: counted.)
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
    // Two runs: a root caller's network namespace pool starts filling with the second, and
    // the janitor builds the view's mount template; a third run, once the template is there,
    // is cloned from it (the supervisor keeps fds of the host's mount namespace and of its
    // working directory from then on).
    let warm = || {
        let r = Sandbox::new(attack("exit", &["0"]), policy.clone()).run().unwrap();
        assert!(r.success(), "{r:?}");
    };
    warm();
    warm();
    // A root caller with CAP_SYS_ADMIN gets one (a container's root without it gets none).
    if is_root() && has_sys_admin() {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !template_held() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(template_held(), "no mount template after two runs of one view");
    }
    warm();

    let (fds_before, _) = host_fds();
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
    let (fds_after, pooled) = host_fds();
    let (threads_after, deadline_threads) = host_threads();
    assert_eq!(fds_before, fds_after, "host fds changed over 1000 runs");
    let id_locks = common::fds_and_id_locks().1;
    assert!(
        id_locks <= common::MAX_IDLE_ID_LOCKS,
        "{id_locks} host-id locks open after 1000 runs"
    );
    // The pool keeps 4 network namespaces; this test's one view has one template.
    assert!(pooled <= 6, "{pooled} network and mount namespaces held");
    assert_eq!(threads_before, threads_after, "host threads changed over 1000 runs");
    assert!(deadline_threads <= 1, "{deadline_threads} sbx-deadline threads");
    let zombies = my_zombies();
    assert!(zombies.is_empty(), "zombie children of the host: {zombies:?}");
    assert!(!is_running(last_pid));
}
