//! Soak: many sequential and many concurrent sandboxes under the one supervisor leave the host
//! with no more fds, threads, children (zombies) or memory than before.
//!
//! `SBX_SOAK_SEQUENTIAL` and `SBX_SOAK_CONCURRENT` set the counts (defaults 1000 and 256, about
//! 10 s here); `SBX_SOAK_SEQUENTIAL=10000 cargo test --release --test soak` is the long run.
//! Alone in its own test binary: it counts this process's resources.

mod common;

use sbx::{Executor, Sandbox, Status};
use std::time::Duration;

fn count(dir: &str) -> usize {
    std::fs::read_dir(dir).map_or(0, Iterator::count)
}

/// Children of every thread of this process (unreaped ones included).
fn children() -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .map(|t| {
            std::fs::read_to_string(t.path().join("children"))
                .map_or(0, |s| s.split_whitespace().count())
        })
        .sum()
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn sandbox(prog: &str, args: &[&str]) -> Sandbox {
    let mut ex = Executor::new(prog);
    ex.args(args.iter().copied());
    ex.walltime(Duration::from_secs(60));
    Sandbox::new(ex, common::build(&sbx::policy::presets::tool_default()))
}

#[test]
fn many_sandboxes_leave_nothing_behind() {
    let sequential = env_count("SBX_SOAK_SEQUENTIAL", 1000);
    let concurrent = env_count("SBX_SOAK_CONCURRENT", 256);
    // Warm up: the supervisor, its doorbell and the allocator's arenas exist from here on.
    for _ in 0..20 {
        assert_eq!(sandbox("/bin/true", &[]).run().unwrap().status, Status::Ok);
    }
    let (fds, threads, kids, rss) = (
        common::fds_and_id_locks().0,
        count("/proc/self/task"),
        children(),
        rss_kib(),
    );
    for i in 0..sequential {
        let r = sandbox("/bin/true", &[]).run().unwrap();
        assert_eq!(r.status, Status::Ok, "run {i}: {}", r.describe());
    }
    let sbs: Vec<Sandbox> = (0..concurrent)
        .map(|_| sandbox("/bin/sleep", &["30"]))
        .collect();
    for sb in &sbs {
        sb.start().unwrap();
    }
    for sb in &sbs {
        sb.kill();
    }
    for sb in &sbs {
        assert_eq!(sb.wait().unwrap().status, Status::ExternalKill);
    }
    drop(sbs);
    let after = (
        common::fds_and_id_locks().0,
        count("/proc/self/task"),
        children(),
        rss_kib(),
    );
    eprintln!(
        "soak: {sequential} sequential + {concurrent} concurrent: fds {fds}->{}, threads \
         {threads}->{}, children {kids}->{}, VmRSS {rss}->{} KiB",
        after.0, after.1, after.2, after.3
    );
    assert!(after.0 <= fds, "fds grew: {fds} -> {}", after.0);
    let id_locks = common::fds_and_id_locks().1;
    assert!(
        id_locks <= common::MAX_IDLE_ID_LOCKS,
        "{id_locks} host-id locks open once every sandbox ended"
    );
    assert!(after.1 <= threads, "threads grew: {threads} -> {}", after.1);
    assert!(
        after.2 <= kids,
        "children (zombies) grew: {kids} -> {}",
        after.2
    );
    // The allocator keeps some of what 256 concurrent plans used; a leak per run would show as
    // megabytes per thousand runs.
    assert!(
        after.3 <= rss + 32 * 1024,
        "VmRSS grew: {rss} -> {} KiB",
        after.3
    );
}
