//! Wall time and kills under load, with one supervisor for every sandbox: 32 sandboxes whose
//! processes storm signals at each other (SIGSTOP/SIGCONT/SIGCHLD, each one a ptrace stop the
//! supervisor must handle) plus quiet sleepers, all with a 2 s wall-time limit. Every result
//! must arrive within 5 s of its sandbox's start (without working deadlines the storms never end
//! and the sleepers take 30 s; measured here 2.2-2.25 s, but one CI run on a slower machine with
//! 128 spinning processes on two cores saw 3.4 s, so the bound leaves room for the scheduler),
//! and a kill of a quiet sandbox during the storm
//! must come back quickly (the batched wait keeps a storm from starving anyone): measured here
//! 12-110 ms against the 200 ms goal; the assertion allows 1 s so that a slow CI machine does
//! not turn noise into a red run, and the figure is printed. (The
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
    let t0 = Instant::now();
    let mut all: Vec<Arc<Sandbox>> = (0..32).map(|_| sandbox(storm, wall)).collect();
    let quiet: Vec<Arc<Sandbox>> = (0..8).map(|_| sandbox("sleep 30", wall)).collect();
    all.extend(quiet.iter().cloned());
    for sb in &all {
        sb.start().unwrap();
    }
    let started = t0.elapsed();
    // A kill during the storm.
    std::thread::sleep(Duration::from_millis(300));
    let k = Instant::now();
    quiet[0].kill();
    let r = quiet[0].wait().unwrap();
    let kill_took = k.elapsed();
    assert_eq!(r.status, Status::ExternalKill, "{}", r.describe());
    // Every result.
    let mut latest = Duration::ZERO;
    for sb in &all {
        let r = sb.wait().unwrap();
        latest = latest.max(r.wall_time);
        assert!(
            matches!(r.status, Status::Timeout | Status::ExternalKill),
            "{}",
            r.describe()
        );
    }
    eprintln!(
        "storm: 40 started in {started:?}; kill answered in {kill_took:?}; longest wall time \
         {latest:?} (limit 2 s)"
    );
    assert!(
        kill_took < Duration::from_secs(1),
        "kill took {kill_took:?} during the storm"
    );
    assert!(
        latest < Duration::from_secs(5),
        "a result came {latest:?} after its start"
    );
}
