//! Traces on a timeout and on a kill: the main thread's stack, taken just before the kill, under
//! either monitor (ptrace interrupts its tracee; user-notify attaches on demand). The sandboxee
//! (tests/testcases/stack.c) waits three frames deep, in a busy loop (`spin`) or in `pause`
//! (`sleep`), after printing "ready".

use super::*;
use sbx::Status;
use std::time::Duration;

fn wait_program() -> &'static Path {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| c_program("wait", &["-g", "-static"]))
}

/// The trace of the main thread names stack_level3, stack_level2, stack_level1 in this order,
/// one frame apart, then main.
fn assert_main_three_deep(run: &Run, what: &str) {
    let t = run
        .r
        .stack_trace
        .clone()
        .unwrap_or_else(|| panic!("{what}: no stack trace\n{}", run.ctx()));
    println!("{what}:\n{}", t.describe());
    assert_eq!(t.thread, run.r.pid, "{what}: the main thread was walked");
    // Auto picks ptrace for stack traces; user-notify attached on demand.
    assert_eq!(
        ptraced(&run.r),
        test_monitor() != Monitor::Unotify,
        "{what}: {:?}",
        run.r.fences
    );
    let names = t.symbols();
    let at = |name: &str| names.iter().position(|s| *s == Some(name));
    let i = at("stack_level3")
        .unwrap_or_else(|| panic!("{what}: no stack_level3 in\n{}", t.describe()));
    assert_eq!(at("stack_level2"), Some(i + 1), "{what}:\n{}", t.describe());
    assert_eq!(at("stack_level1"), Some(i + 2), "{what}:\n{}", t.describe());
    assert_eq!(at("main"), Some(i + 3), "{what}:\n{}", t.describe());
    if what.starts_with("spin") {
        // Interrupted in its own loop: frame 0 is stack_level3, from the registers; or, rarely,
        // still on its way out of the write of "ready" (the test saw the bytes before the call
        // returned).
        let in_write = i == 1 && names[0].is_some_and(|s| s.contains("write"));
        assert!(i == 0 || in_write, "{what}:\n{}", t.describe());
    }
}

fn ended_by_timeout(mode: &str, traces: bool) -> Run {
    let bin = wait_program();
    let mut ex = Executor::new(bin);
    ex.arg(mode).walltime(Duration::from_millis(1500));
    let run = run_capture(ex, build(&policy_for(bin, false, traces)));
    assert_eq!(run.r.status, Status::Timeout, "{}", run.ctx());
    assert!(run.out.contains("ready"), "{}", run.ctx());
    run
}

fn ended_by_kill(mode: &str, traces: bool) -> Run {
    let bin = wait_program();
    let mut ex = Executor::new(bin);
    ex.arg(mode);
    let mut live = Live::start(ex, build(&policy_for(bin, false, traces)));
    live.expect("ready");
    let sb = live.sb.clone();
    // From another thread, as a caller would.
    std::thread::spawn(move || sb.kill()).join().unwrap();
    let started = std::time::Instant::now();
    let run = live.finish();
    assert!(started.elapsed() < Duration::from_secs(10), "{}", run.ctx());
    assert_eq!(run.r.status, Status::ExternalKill, "{}", run.ctx());
    run
}

#[test]
fn a_timeout_has_the_main_threads_trace() {
    for mode in ["spin", "sleep"] {
        let run = ended_by_timeout(mode, true);
        assert_main_three_deep(&run, &format!("{mode}, timeout"));
    }
}

#[test]
fn a_kill_has_the_main_threads_trace() {
    for mode in ["spin", "sleep"] {
        let run = ended_by_kill(mode, true);
        assert_main_three_deep(&run, &format!("{mode}, kill"));
    }
}

#[test]
fn no_trace_on_a_timeout_or_a_kill_when_off() {
    let run = ended_by_timeout("spin", false);
    assert_eq!(run.r.stack_trace, None, "{}", run.ctx());
    let run = ended_by_kill("sleep", false);
    assert_eq!(run.r.stack_trace, None, "{}", run.ctx());
}

#[test]
fn a_main_thread_that_cannot_stop_has_no_trace_and_the_reason() {
    // The parent of a vfork waits for its child without stopping for anything but a kill: the
    // trace is given up after its short wait, and the run still ends as its timeout or kill.
    for run in [
        ended_by_timeout("vfork", true),
        ended_by_kill("vfork", true),
    ] {
        let t = run.r.stack_trace.clone().expect("the reason as a trace");
        println!("vfork: {}", t.describe());
        assert_eq!(t.thread, run.r.pid, "{}", run.ctx());
        assert!(t.frames.is_empty(), "{}", t.describe());
        let why = t.error.as_deref().unwrap_or_default();
        assert!(why.contains("did not stop"), "{}", t.describe());
        assert!(run.r.wall_time < Duration::from_secs(5), "{}", run.ctx());
    }
}

/// Figures (ignored by default): how long a kill takes to its result with traces on and off.
#[test]
#[ignore = "figures: run with --ignored --nocapture, preferably --release"]
fn kill_latency_figures() {
    for traces in [false, true] {
        let mut times = Vec::new();
        for _ in 0..15 {
            let bin = wait_program();
            let mut ex = Executor::new(bin);
            ex.arg("spin");
            let mut live = Live::start(ex, build(&policy_for(bin, false, traces)));
            live.expect("ready");
            let at = std::time::Instant::now();
            live.sb.kill();
            let r = live.sb.wait().unwrap();
            times.push(at.elapsed());
            assert_eq!(r.stack_trace.is_some(), traces);
        }
        times.sort();
        println!(
            "traces {traces}: kill to result, median {:?} (min {:?}, max {:?})",
            times[7], times[0], times[14]
        );
    }
}
