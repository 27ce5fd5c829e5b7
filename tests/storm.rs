//! Wall time and kills under load, with one supervisor for every sandbox: 32 sandboxes whose
//! processes storm signals at each other (SIGSTOP/SIGCONT/SIGCHLD, each one a ptrace stop the
//! supervisor must handle) plus quiet sleepers, all with a 2 s wall-time limit. Every result
//! must arrive within 3 s of its deadline (without working deadlines the storms never end and
//! the sleepers take 30 s; measured here 0.1-0.35 s late, but one CI run on a slower machine
//! with 128 spinning processes on two cores saw 1.4 s, so the bound leaves room for the
//! scheduler). A start that alone outlasts the limit counts from its end: such a sandbox is
//! killed as it is registered, and its result measures the start, not the deadline. (One CI run
//! took 5.5 s for the 40 starts and saw a 5.4 s wall time, not reproduced here; the likely
//! cause is a slow start: after the first deadlines the kernel tears down the killed
//! sandboxes' network namespaces while later starts, past the pool of 4, make theirs, and both
//! take the same kernel locks. The slowest start is printed.) A kill of a quiet sandbox during
//! the storm must come back quickly (the batched wait keeps a storm from starving anyone): measured here
//! 5-110 ms against the 200 ms goal (under ptrace up to 0.7 s on some runs); the assertion allows 1 s so that a slow CI machine does
//! not turn noise into a red run, and the figure is printed. Both bounds also allow for the
//! longest stall of the whole machine seen meanwhile by a thread that does nothing but sleep
//! 5 ms at a time (`common::stall`): one CI run saw the kill and a deadline both come 1.3 s
//! late, which no run here reproduces (also not with the test's cgroup held to 0.7-1.5 cores or
//! two more busy loops), so a stall every thread of the test shares is the machine's, not the
//! supervisor's; a supervisor blocked on its own shows as a late kill with no such stall. (The
//! starts themselves are slow here: one caller thread starts all 40 while the storms already
//! take both cores.)

mod common;

use sbx::{Executor, Sandbox, Status};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn sandbox(script: &str, walltime: Duration) -> Arc<Sandbox> {
    let mut ex = Executor::new("/bin/sh");
    ex.args(["-c", script]);
    ex.walltime(walltime);
    Arc::new(Sandbox::new(
        ex,
        common::build(&sbx::policy::presets::tool_default()),
    ))
}

#[test]
fn deadlines_and_kills_hold_during_a_signal_storm() {
    // Two processes signalling each other as fast as they can; a third signals the shell.
    let storm = "sh -c 'while :; do kill -CONT $$ 2>/dev/null; done' & a=$!; \
                 sh -c 'while :; do kill -STOP '$a' 2>/dev/null; kill -CONT '$a' 2>/dev/null; done' & \
                 while :; do kill -CHLD $$ 2>/dev/null; done";
    let wall = Duration::from_secs(2);
    let watch = common::stall::StallWatch::start();
    let t0 = Instant::now();
    let mut all: Vec<Arc<Sandbox>> = (0..32).map(|_| sandbox(storm, wall)).collect();
    let quiet: Vec<Arc<Sandbox>> = (0..8).map(|_| sandbox("sleep 30", wall)).collect();
    all.extend(quiet.iter().cloned());
    // Each start's own time: a sandbox whose start alone outlasted its limit is killed as it
    // is registered, so its result measures the start, not the deadline.
    let mut start_took = Vec::with_capacity(all.len());
    for sb in &all {
        let t = Instant::now();
        sb.start().unwrap();
        start_took.push(t.elapsed());
    }
    let started = t0.elapsed();
    let slowest_start = start_took.iter().max().copied().unwrap_or_default();
    // A kill during the storm.
    std::thread::sleep(Duration::from_millis(300));
    let before_kill = watch.longest();
    watch.reset();
    let k = Instant::now();
    quiet[0].kill();
    let r = quiet[0].wait().unwrap();
    let kill_took = k.elapsed();
    let kill_stall = watch.longest();
    assert_eq!(r.status, Status::ExternalKill, "{}", r.describe());
    // Every result.
    let mut latest = Duration::ZERO;
    let mut latest_late = Duration::ZERO;
    for (sb, took) in all.iter().zip(&start_took) {
        let r = sb.wait().unwrap();
        latest = latest.max(r.wall_time);
        latest_late = latest_late.max(r.wall_time.saturating_sub(wall.max(*took)));
        assert!(
            matches!(r.status, Status::Timeout | Status::ExternalKill),
            "{}",
            r.describe()
        );
    }
    let stall = watch.longest().max(before_kill);
    eprintln!(
        "storm: 40 started in {started:?} (slowest start {slowest_start:?}); kill answered in \
         {kill_took:?} (longest stall of the machine meanwhile {kill_stall:?}); longest wall time {latest:?} (limit 2 s; longest \
         stall {stall:?}); latest result {latest_late:?} after its deadline or start"
    );
    assert!(
        kill_took < Duration::from_secs(1) + kill_stall,
        "kill took {kill_took:?} during the storm, while no thread of the test waited longer \
         than {kill_stall:?} to run"
    );
    assert!(
        latest_late < Duration::from_secs(3) + stall,
        "a result came {latest_late:?} after its deadline (or its start, when the start alone \
         took longer than the limit), longest wall time {latest:?} (longest stall {stall:?})"
    );
}

/// Start-to-result time of a quiet sandbox (`/bin/true` under the tool policy), median of `n`.
fn quiet_median(n: usize) -> Duration {
    let policy = common::build(&sbx::policy::presets::tool_default());
    let mut times: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            let r = Sandbox::new(Executor::new("/bin/true"), policy.clone())
                .run()
                .unwrap();
            assert_eq!(r.status, Status::Ok, "{}", r.describe());
            t.elapsed()
        })
        .collect();
    times.sort();
    times[n / 2]
}

/// A noisy neighbour (issue 16): one sandbox fills its `/tmp`, forks to its process limit and
/// has every child spam signals at its shell, held by cgroup limits (half a core, 64 tasks,
/// 384 MiB). A quiet sandbox's results arrive no more than 50 ms later than without it
/// (medians of 15 runs each; the figures are printed). Needs a cgroup to make groups in (root
/// here); without one the refusal is checked and the test says so.
#[test]
fn a_noisy_neighbour_delays_another_result_by_less_than_50_ms() {
    // The spinners start spamming once every fork has been tried: the fork loop runs in a
    // subshell (a refused fork ends it) and the outer shell then says go without forking.
    let noisy_script = "dd if=/dev/zero of=/tmp/fill bs=1M count=300 2>/dev/null; \
                        (i=0; while [ $i -lt 100 ]; do \
                          (echo x; while [ ! -e /tmp/go ]; do :; done; \
                           while :; do kill -CONT $$ 2>/dev/null; done) & i=$((i+1)); \
                        done) 2>/dev/null; : > /tmp/go; exec sleep 1000";
    quiet_median(3); // warm-up
    let alone = quiet_median(15);
    let mut ex = Executor::new("/bin/sh");
    let (rd, wr) = common::pipe();
    ex.args(["-c", noisy_script])
        .walltime(Duration::from_secs(60))
        .stdout(sbx::Stdio::Fd(wr));
    let cg = &mut ex.limits_mut().cgroup;
    cg.cpu_millicores = Some(500);
    cg.pids = Some(64);
    cg.memory = Some(384 << 20);
    let noisy = Sandbox::new(ex, common::build(&sbx::policy::presets::tool_default()));
    if let Err(e) = noisy.start() {
        let msg = e.to_string();
        assert!(
            !common::is_root() && msg.contains("Delegate=yes"),
            "the noisy sandbox was refused: {msg}"
        );
        eprintln!("skipped: no cgroup for this user (checked the refusal): {msg}");
        return;
    }
    // Let it fill its tmpfs and reach its process limit: each spinner says "x" once.
    let (tx, ready) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::Read;
        let mut seen = 0;
        for b in std::io::BufReader::new(std::fs::File::from(rd)).bytes() {
            if b.ok() == Some(b'x') {
                seen += 1;
                if seen == 60 {
                    let _ = tx.send(());
                }
            }
        }
    });
    assert!(
        ready.recv_timeout(Duration::from_secs(20)).is_ok(),
        "the neighbour did not start 60 spinners within 20 s"
    );
    let beside = quiet_median(15);
    noisy.kill();
    let r = noisy.wait().unwrap();
    assert_eq!(r.status, Status::ExternalKill, "the neighbour ended early: {}", r.describe());
    let refused = r.cgroup.map_or(0, |u| u.pids_refused);
    eprintln!(
        "noisy neighbour: quiet /bin/true median {alone:?} alone, {beside:?} beside it \
         (+{:?}); the neighbour had {refused} forks refused",
        beside.saturating_sub(alone)
    );
    assert!(refused > 0, "the neighbour never reached its process limit");
    assert!(
        beside < alone + Duration::from_millis(50),
        "a noisy neighbour delayed results by {:?}",
        beside.saturating_sub(alone)
    );
}
