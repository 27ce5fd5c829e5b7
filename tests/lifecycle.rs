//! How runs end (exit, signal, kill, timeout, host death), that nothing a sandboxee starts
//! outlives its run (invariant 5), and spawning from a multithreaded host (invariant 9).

mod common;

use common::*;
use sbx::{Error, Executor, Reason, Sandbox, Status, Stdio};
use std::fmt::Write as _;
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[test]
fn exit_code_is_reported() {
    let run = run_attack("exit", &["42"], &base_policy());
    let r = &run.r;
    assert_eq!(r.status, Status::Ok, "{}", run.ctx());
    assert_eq!(r.reason_code, 42);
    assert_eq!(r.exit_code, Some(42));
    assert_eq!(r.signal, None);
    assert!(r.violation.is_none());
    assert!(!r.success());
    assert_eq!(r.describe(), "OK - exit code 42");
    assert!(r.pid > 0);
    assert!(r.wall_time > Duration::ZERO);
    assert!(r.usage.max_rss_kib > 0, "rusage missing: {:?}", r.usage);
    // Only the ptrace monitor counts tasks; user-notify reports 0 (not counted).
    let expected_tasks = u32::from(ptraced(r));
    assert_eq!(r.usage.peak_tasks, expected_tasks, "{:?}", r.usage);

    let run = run_attack("exit", &["0"], &base_policy());
    assert!(run.r.success(), "{}", run.ctx());
}

#[test]
fn segfault_is_signaled() {
    let run = run_attack("segv", &[], &base_policy());
    let r = &run.r;
    assert_eq!(r.status, Status::Signaled, "{}", run.ctx());
    assert_eq!(r.reason_code, libc::SIGSEGV as u32);
    assert_eq!(r.signal, Some(libc::SIGSEGV));
    assert_eq!(r.exit_code, None);
    assert!(r.describe().contains("SIGSEGV"), "{}", r.describe());
}

#[test]
fn abort_is_signaled() {
    let run = run_attack("abort", &[], &allow_all());
    assert_eq!(run.r.status, Status::Signaled, "{}", run.ctx());
    assert_eq!(run.r.signal, Some(libc::SIGABRT), "{}", run.ctx());
    assert_eq!(run.r.reason_code, libc::SIGABRT as u32);
}

#[test]
fn kill_from_another_thread_is_external_kill() {
    let mut ex = attack("sleep", &["30"]);
    ex.stdin(Stdio::Null).stdout(Stdio::Null);
    let sb = Arc::new(Sandbox::new(ex, build(&allow_all())));
    let t0 = Instant::now();
    sb.start().unwrap();
    running_pid(&sb);
    assert!(!sb.is_finished());
    match sb.wait_timeout(Duration::from_millis(100)) {
        Err(Error::WaitTimeout) => {}
        other => panic!("wait_timeout on a sleeper must time out, got {other:?}"),
    }
    let killer = {
        let sb = Arc::clone(&sb);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            sb.kill();
        })
    };
    let r = sb.wait().unwrap();
    killer.join().unwrap();
    assert_eq!(r.status, Status::ExternalKill, "{r:?}");
    assert_eq!(r.signal, Some(libc::SIGKILL), "{r:?}");
    assert!(t0.elapsed() < Duration::from_secs(5), "took {:?}", t0.elapsed());
    assert!(!is_running(r.pid), "the sleeper still runs");
    // A second wait returns the same result; kill after the end does nothing.
    sb.kill();
    assert_eq!(sb.wait().unwrap(), r);
}

#[test]
fn start_twice_and_wait_before_start_are_errors() {
    let sb = Sandbox::new(attack("exit", &["0"]), build(&base_policy()));
    assert!(matches!(sb.wait(), Err(Error::InvalidState(_))), "wait before start");
    sb.start().unwrap();
    assert!(matches!(sb.start(), Err(Error::InvalidState(_))), "second start");
    let r = sb.wait().unwrap();
    assert!(r.success(), "{r:?}");
}

#[test]
fn dropping_a_running_sandbox_kills_it() {
    let mut ex = attack("sleep", &["30"]);
    ex.stdout(Stdio::Null);
    let sb = Sandbox::new(ex, build(&allow_all()));
    sb.start().unwrap();
    let pid = running_pid(&sb);
    let t0 = Instant::now();
    drop(sb);
    assert!(t0.elapsed() < Duration::from_secs(3), "drop took {:?}", t0.elapsed());
    assert_all_dead(&[pid], Duration::from_secs(2), "dropped sandbox");
    assert!(!my_zombies().contains(&pid), "the dropped sandboxee is a zombie");
}

// ---------------------------------------------------------------------------------------------
// Children that try to outlive the run
// ---------------------------------------------------------------------------------------------

/// Starts `attacker kids THEN`: the main process and three children that ignore every signal,
/// leave the process group, and one of which escapes by double fork + setsid. They report their
/// pids in the sandbox's pid namespace; the test maps them to host pids while they run. Returns
/// the live run (its main process waits on stdin before "exit" or "violate"), and the host pids
/// of the sandbox's init, the main process, 2 children and 1 orphaned grandchild.
fn start_kids(then: &str, walltime: Duration, pb: &sbx::PolicyBuilder) -> (Live, Vec<i32>, OwnedFd) {
    let (pid_rd, pid_wr) = pipe();
    let mut ex = attack("kids", &[then]);
    ex.map_fd(pid_wr, 3).walltime(walltime);
    let mut live = Live::start(ex, build(pb));
    live.expect("READY");
    let inner = parse_pids(&read_available(&pid_rd));
    assert_eq!(inner.len(), 4, "pids reported: {inner:?}");
    let main = live.sb.pid().unwrap();
    if EXPECT_NS {
        assert_eq!(inner[0], 2, "the sandboxee is pid 2 of its namespace: {inner:?}");
    }
    let mut pids = host_pids_of(main, &inner);
    assert_eq!(pids[0], main, "the main process reports first");
    // The sandbox's init (the sandboxee's parent, pid 1 inside) must go as well.
    let (_, init, _) = proc_stat(main).expect("main process stat");
    if EXPECT_NS {
        assert_eq!(ns_pids(init).and_then(|v| v.last().copied()), Some(1), "the main process's parent is the sandbox's init");
        pids.push(init);
    }
    let by_exe = running_with_exe(attacker());
    for &p in &pids {
        assert!(is_running(p), "{p} is not running before the end: {:?}", proc_stat(p));
        if p != init {
            assert!(by_exe.contains(&p), "{p} not found by executable ({by_exe:?})");
        }
    }
    (live, pids, pid_rd)
}

fn check_all_gone(pids: &[i32], r: &sbx::RunResult) {
    let ctx = format!("{} ({r:?})", r.describe());
    assert_all_dead(pids, Duration::from_secs(2), &ctx);
    assert!(session_members(r.pid).is_empty(), "the sandbox's session still has members\n{ctx}");
    assert!(!my_zombies().contains(&r.pid), "the sandboxee is left a zombie of the host\n{ctx}");
}

#[test]
fn external_kill_kills_every_descendant() {
    let (live, pids, _p) = start_kids("sleep", Duration::from_secs(60), &allow_all());
    live.sb.kill();
    let r = live.sb.wait().unwrap();
    assert_eq!(r.status, Status::ExternalKill, "{r:?}");
    check_all_gone(&pids, &r);
}

#[test]
fn main_exit_kills_every_descendant() {
    let (live, pids, _p) = start_kids("exit", Duration::from_secs(60), &allow_all());
    let run = live.finish();
    assert!(run.r.success(), "{}", run.ctx());
    check_all_gone(&pids, &run.r);
}

#[test]
fn timeout_kills_every_descendant() {
    let (live, pids, _p) = start_kids("sleep", Duration::from_secs(2), &allow_all());
    let r = live.sb.wait().unwrap();
    assert_eq!(r.status, Status::Timeout, "{r:?}");
    check_all_gone(&pids, &r);
}

#[test]
fn violation_kills_every_descendant() {
    // The main process violates while children that ignore signals are alive.
    let mut pb = allow_all();
    pb.violation("getuid");
    let (live, pids, _p) = start_kids("violate", Duration::from_secs(60), &pb);
    let run = live.finish();
    let r = &run.r;
    assert_eq!(r.status, Status::Violation, "{}", run.ctx());
    assert_eq!(r.violation.as_ref().unwrap().name, "getuid", "{r:?}");
    assert_eq!(r.violation.as_ref().unwrap().pid, r.pid, "{r:?}");
    check_all_gone(&pids, r);
}

const HOST_DEATH_ENV: &str = "SBX_TEST_HOST_DEATH_PIDFILE";

/// Runs in a separate process started by `host_death_kills_every_descendant`: starts the kids,
/// writes their host pids (and the init's) to a file, then waits to be SIGKILLed.
#[test]
#[ignore = "helper process of host_death_kills_every_descendant; it does nothing on its own"]
fn host_death_helper() {
    let Some(path) = std::env::var_os(HOST_DEATH_ENV) else { return };
    // 32 sandboxes under the one supervisor, each with its kids.
    let mut live = Vec::new();
    let mut pids = Vec::new();
    for _ in 0..32 {
        let (l, p, fd) = start_kids("sleep", Duration::from_secs(60), &allow_all());
        live.push((l, fd));
        pids.extend(p);
    }
    let text: String = pids.iter().fold(String::new(), |mut t, p| {
        let _ = writeln!(t, "{p}");
        t
    });
    let tmp = std::path::PathBuf::from(format!("{}.tmp", path.to_string_lossy()));
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
fn host_death_kills_every_descendant() {
    let pidfile = fresh_dir("host-death").join("pids");
    let mut helper = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "host_death_helper", "--ignored", "--nocapture", "--test-threads=1"])
        .env(HOST_DEATH_ENV, &pidfile)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let pids = loop {
        let pids = parse_pids(&std::fs::read_to_string(&pidfile).unwrap_or_default());
        if !pids.is_empty() {
            break pids;
        }
        if let Ok(Some(st)) = helper.try_wait() {
            panic!("helper exited early ({st})");
        }
        if Instant::now() > deadline {
            let _ = helper.kill();
            let _ = helper.wait();
            panic!("helper's sandbox never reported its pids");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(pids.len() >= 4 * 32, "{pids:?}");
    for &p in &pids {
        assert!(is_running(p), "{p} not running before the host died");
    }
    // SIGKILL: the host gets no chance to clean up.
    helper.kill().unwrap();
    helper.wait().unwrap();
    assert_all_dead(&pids, Duration::from_secs(3), "after the host process was SIGKILLed");
}

// ---------------------------------------------------------------------------------------------
// Multithreaded host
// ---------------------------------------------------------------------------------------------

#[test]
fn many_threads_run_sandboxes_at_once() {
    attacker();
    let policy = build(&base_policy());
    let barrier = Arc::new(std::sync::Barrier::new(16));
    let handles: Vec<_> = (0..16)
        .map(|t| {
            let policy = policy.clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                for j in 0..4 {
                    match j {
                        0 | 2 => {
                            let tag = format!("thread-{t}-run-{j}");
                            let run = run_capture(attack("echo", &[&tag]), policy.clone());
                            assert!(run.r.success(), "{}", run.ctx());
                            assert_eq!(run.out, format!("{tag}\n"), "{}", run.ctx());
                        }
                        1 => {
                            let run = run_capture(attack("exit", &[&(t + 1).to_string()]), policy.clone());
                            assert_eq!(run.r.exit_code, Some(t + 1), "{}", run.ctx());
                        }
                        _ => {
                            let run = run_capture(attack("sys", &["getuid"]), policy.clone());
                            let v = assert_violation(&run, "getuid");
                            assert_eq!(v.pid, run.r.pid, "violation attributed to another sandbox");
                        }
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn many_concurrent_sleepers_end_independently() {
    // Eight sandboxes run at once; killing one leaves the others alone.
    let sbs: Vec<Arc<Sandbox>> = (0..8)
        .map(|i| {
            let mut ex = attack("sleep", &[if i == 0 { "30" } else { "1" }]);
            ex.stdout(Stdio::Null);
            let sb = Arc::new(Sandbox::new(ex, build(&allow_all())));
            sb.start().unwrap();
            sb
        })
        .collect();
    sbs[0].kill();
    for (i, sb) in sbs.iter().enumerate() {
        let r = sb.wait().unwrap();
        if i == 0 {
            assert_eq!(r.status, Status::ExternalKill, "{r:?}");
        } else {
            assert!(r.success(), "sandbox {i}: {r:?}");
        }
    }
}

#[test]
fn setup_errors_do_not_leak_the_child() {
    let mut ex = Executor::new(work_dir().join("no-such-binary"));
    ex.stdout(Stdio::Null);
    let r = Sandbox::new(ex, build(&base_policy())).run().unwrap();
    assert_eq!(r.status, Status::SetupError, "{r:?}");
    assert_eq!(r.reason(), Some(Reason::FailedSubprocess), "{r:?}");
    if r.pid > 0 {
        assert_all_dead(&[r.pid], Duration::from_secs(1), "setup error");
        assert!(!my_zombies().contains(&r.pid), "zombie after a setup error");
    }
}
