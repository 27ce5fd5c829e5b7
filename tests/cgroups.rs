//! cgroup limits (issue 15): a sandbox's memory and process limits as a cgroup of its own.
//! As root the groups are made under this process's own cgroups (v1 memory and pids on the
//! development host); without a cgroup to make them in (uid 65534 here) the start fails naming
//! what to delegate, and no run goes ahead unlimited.
//!
//! One test at a time: the fork bomb must not take the process budget of the others.

mod common;

use common::*;
use sbx::{Sandbox, Status, Stdio};
use std::sync::Mutex;
use std::time::Duration;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Starts `ex` under the allow-all policy; `None` after checking the refusal when this user
/// has no cgroup to make a group in.
fn run_limited(ex: sbx::Executor) -> Option<Run> {
    let policy = build(&allow_all());
    let (rd, wr) = pipe();
    let mut ex = ex;
    ex.stdin(Stdio::Null).stdout(Stdio::Fd(wr));
    let h = reader(rd);
    match Sandbox::new(ex, policy).run() {
        Ok(r) => Some(Run { r, out: h.join().unwrap() }),
        Err(e) => {
            drop(h.join());
            let msg = e.to_string();
            let usable = sbx::cgroups::describe_controllers();
            assert!(
                usable.iter().any(|(_, ok, _)| !ok),
                "a start failed although every controller is usable: {msg}\n{usable:?}"
            );
            assert!(
                matches!(e, sbx::Error::Unsupported { .. }) && msg.contains("Delegate=yes"),
                "the refusal does not say what to delegate: {msg}"
            );
            eprintln!("no cgroup for this user (checked the refusal): {msg}");
            None
        }
    }
}

/// The groups of finished runs are removed (by libsbx's janitor thread, soon after the run):
/// what stays of this process under each hierarchy is its pool of empty groups: at most two,
/// three where used groups go back to the pool.
fn assert_groups_removed() {
    use std::os::unix::fs::MetadataExt;
    let ns = std::fs::metadata("/proc/self/ns/pid").unwrap().ino();
    // Named by pid and start time (field 22 of /proc/self/stat; the command name is in
    // parentheses).
    let proc_stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let start = proc_stat[proc_stat.rfind(')').unwrap() + 1..].split_whitespace().nth(19).unwrap().to_string();
    let prefix = format!("libsbx-{ns}-{}.{start}-", std::process::id());
    for (name, ok, where_) in sbx::cgroups::describe_controllers() {
        let Some(dir) = where_.split_whitespace().nth(1).filter(|_| ok) else { continue };
        let ours = || -> Vec<std::path::PathBuf> {
            std::fs::read_dir(dir)
                .map(|rd| {
                    rd.flatten()
                        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                        .map(|e| e.path())
                        .collect()
                })
                .unwrap_or_default()
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        // Groups that keep nothing of a run but counters (v2 without controllers) go back to
        // the pool after it: one more than the two kept ready.
        let most = if name == "v2 group" { 3 } else { 2 };
        while ours().len() > most && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let left = ours();
        assert!(left.len() <= most, "groups left behind under {dir}: {left:?}");
        for d in left {
            let procs = std::fs::read_to_string(d.join("cgroup.procs")).unwrap_or_default();
            assert!(procs.trim().is_empty(), "{} still holds {procs}", d.display());
        }
    }
}

#[test]
fn a_memory_hog_is_oom_killed_at_its_cgroup_limit() {
    let _g = serial();
    let mut ex = attack("memhog", &["1024"]);
    ex.walltime(Duration::from_secs(20));
    ex.limits_mut().cgroup.memory = Some(64 << 20);
    let Some(run) = run_limited(ex) else { return };
    let usage = run.r.cgroup.unwrap_or_else(|| panic!("no cgroup usage\n{}", run.ctx()));
    assert_eq!(run.r.status, Status::Signaled, "{}", run.ctx());
    assert_eq!(run.r.signal, Some(libc::SIGKILL), "{}", run.ctx());
    assert!(usage.oom_kills >= 1, "{usage:?}\n{}", run.ctx());
    assert_eq!(run.r.limit_reached(), Some("memory"), "{}", run.ctx());
    assert_eq!(run.r.reason(), Some(sbx::Reason::MemoryLimit), "{}", run.ctx());
    let peak = usage.memory_peak.expect("peak memory");
    assert!(
        ((60 << 20)..=(64 << 20)).contains(&peak),
        "peak {peak} is not about 64 MiB\n{}",
        run.ctx()
    );
    assert!(run.r.describe().contains("memory limit"), "{}", run.r.describe());
    assert!(!run.out.contains("ALLOCATED MiB 1024"), "{}", run.ctx());
    assert_groups_removed();
}

#[test]
fn within_the_memory_limit_a_run_is_untouched() {
    let _g = serial();
    let mut ex = attack("memhog", &["16"]);
    ex.limits_mut().cgroup.memory = Some(64 << 20);
    let Some(run) = run_limited(ex) else { return };
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    let usage = run.r.cgroup.expect("cgroup usage");
    assert_eq!(usage.oom_kills, 0);
    assert!(usage.memory_peak.unwrap_or(0) >= 16 << 20, "{usage:?}");
    assert_eq!(run.r.limit_reached(), None);
    assert_eq!(run.r.reason(), None);
    assert_groups_removed();
}

#[test]
fn a_fork_bomb_is_held_by_the_cgroup_process_limit() {
    const CAP: u64 = 32;
    let _g = serial();
    let (pid_rd, pid_wr) = pipe();
    let mut ex = attack("forkbomb", &["1500"]);
    ex.map_fd(pid_wr, 3).walltime(Duration::from_secs(15));
    ex.limits_mut().cgroup.pids = Some(CAP);
    let pids_h = reader(pid_rd);
    let run = run_limited(ex);
    let pids = parse_pids(&pids_h.join().unwrap());
    let Some(run) = run else { return };
    // The main process stops after 1.5 s and exits 0; every fork beyond the cap failed.
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    let usage = run.r.cgroup.expect("cgroup usage");
    assert!(usage.pids_refused > 0, "no fork was refused: {usage:?}\n{}", run.ctx());
    assert_eq!(run.r.limit_reached(), Some("pids"), "{}", run.ctx());
    // The init (with namespaces) and the main process count too.
    assert!(pids.len() as u64 <= CAP, "{} children under a cap of {CAP}", pids.len());
    assert!(!pids.is_empty(), "no child ever ran");
    assert_groups_removed();
}

#[test]
fn bad_cgroup_limits_are_named_before_anything_starts() {
    let mut ex = attack("exit", &["0"]);
    ex.limits_mut().cgroup.memory = Some(1000);
    let e = Sandbox::new(ex, build(&allow_all())).run().unwrap_err().to_string();
    assert!(e.contains("at least 1 MiB"), "{e}");
    let mut ex = attack("exit", &["0"]);
    ex.limits_mut().cgroup.cpu_millicores = Some(1);
    let e = Sandbox::new(ex, build(&allow_all())).run().unwrap_err().to_string();
    assert!(e.contains("millicores"), "{e}");
}

/// The sandbox's init is born in its groups, not moved there: in its v2 group by
/// `clone3(CLONE_INTO_CGROUP)` (cgroup v2 where the host has it, whatever it enables: nothing,
/// on the development host, whose memory and pids are v1), in its v1 groups by being cloned
/// from a thread moved there for the clone. The sandbox's cgroup namespace is made by the same
/// clone, so a group the init was born in is that namespace's root (`/` inside), while a group
/// it was moved into afterwards would show its name (`/libsbx-…`). The v2 group's `cpu.stat`
/// is the run's CPU time, and the groups are removed after the run.
#[test]
fn the_v2_group_is_born_into_and_counts_the_cpu_time() {
    let _g = serial();
    let v2 = sbx::cgroups::describe_controllers()
        .into_iter()
        .find(|(name, _, _)| name == "v2 group");
    let (_, v2_usable, where_) = v2.expect("--check lists the v2 group");
    let mut ex = attack("cat", &["/proc/self/cgroup"]);
    ex.limits_mut().cgroup.memory = Some(256 << 20);
    let Some(run) = run_limited(ex) else { return };
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    let lines: Vec<&str> = run.out.lines().collect();
    if v2_usable {
        assert!(lines.contains(&"0::/"), "not born in its v2 group ({where_}): {lines:?}");
    }
    // No group of the sandbox's shows its name: each is the namespace's root.
    assert!(!lines.iter().any(|l| l.contains("/libsbx-")), "moved, not born: {lines:?}");
    let v1_memory = sbx::cgroups::describe_controllers()
        .iter()
        .any(|(n, ok, w)| n == "memory" && *ok && w.starts_with("v1"));
    if v1_memory {
        assert!(lines.iter().any(|l| l.ends_with(":memory:/")), "{lines:?}");
    }

    let mut ex = attack("burn", &["300"]);
    ex.limits_mut().cgroup.memory = Some(256 << 20);
    let run = run_limited(ex).expect("the same limits started before");
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    let usage = run.r.cgroup.expect("cgroup usage");
    if v2_usable {
        let cpu = usage.cpu_usec.expect("cpu.stat of the v2 group");
        let rusage = run.r.usage.user_time + run.r.usage.system_time;
        assert!(cpu >= 280_000, "300 ms burnt, the group says {cpu} us");
        // The group counts every process; the init's rusage only the main one (which burns).
        let r = u64::try_from(rusage.as_micros()).unwrap_or(u64::MAX);
        assert!(cpu >= r * 4 / 5 && cpu <= r * 3 / 2 + 50_000, "group {cpu} us, rusage {r} us");
    } else {
        assert_eq!(usage.cpu_usec, None, "no v2 group, no CPU time ({where_})");
    }
    assert_groups_removed();
}
