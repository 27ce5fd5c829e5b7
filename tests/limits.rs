//! Resource limits: process cap (fork bomb), address space (memory bomb), wall time.
//!
//! The tests in this file take a lock so that one runs at a time: the fork-bomb test counts the
//! host's processes running the attacker binary before and after, which concurrent sandboxes of
//! this test binary would disturb.

// Tests: their casts are of constants and of values the tests make themselves.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

mod common;

use common::*;
use sbx::{Sandbox, Status, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[test]
fn fork_bomb_is_capped_by_processes_limit() {
    const CAP: u64 = 16;
    let _g = serial();
    let before = running_with_exe(attacker());
    assert!(before.is_empty(), "attacker processes already running: {before:?}");

    let (pid_rd, pid_wr) = pipe();
    let mut ex = attack("forkbomb", &["1500"]);
    ex.map_fd(pid_wr, 3).walltime(Duration::from_secs(10));
    ex.limits_mut().processes = Some(CAP);
    let pids_h = reader(pid_rd);
    let t0 = Instant::now();
    let (out_rd, out_wr) = pipe();
    ex.stdin(Stdio::Null).stdout(Stdio::Fd(out_wr));
    let out_h = reader(out_rd);
    let sb = Sandbox::new(ex, build(&allow_all()));
    sb.start().unwrap();
    // The bomb's children report pids of the sandbox's own pid namespace; what must be empty at
    // the end is that namespace.
    let ns = pid_ns_of(sb.pid().unwrap()).expect("the sandboxee's pid namespace");
    assert_ne!(Some(ns.clone()), pid_ns_of(std::process::id() as i32), "the sandboxee is in the host's pid namespace");
    let r = sb.wait().unwrap();
    let elapsed = t0.elapsed();
    let out = out_h.join().unwrap();
    let pids = parse_pids(&pids_h.join().unwrap());
    let ctx = format!("{} ({r:?})\nstdout: {out}\nreported pids ({}): {pids:?}", r.describe(), pids.len());

    assert_ne!(r.exit_code, Some(NOT_SANDBOXED), "{ctx}");
    // The main process stops bombing after 1.5 s and exits 0: the bomb did not starve it.
    assert_eq!(r.status, Status::Ok, "{ctx}");
    assert_eq!(r.exit_code, Some(0), "{ctx}");
    assert!(elapsed < Duration::from_secs(9), "took {elapsed:?}\n{ctx}");
    // The cap held: never more than CAP tasks alive (the brief allows one of slack for the
    // monitor's count), and, since the bomb's children never exit, at most CAP - 1 children
    // ever ran far enough to report themselves.
    // The ptrace monitor counts tasks (and kills those over the cap); under user-notify the
    // cap is the sandbox's own RLIMIT_NPROC and the reported pids are the evidence.
    if ptraced(&r) {
        assert!(
            u64::from(r.usage.peak_tasks) <= CAP + 1,
            "peak_tasks {} > {}\n{ctx}",
            r.usage.peak_tasks,
            CAP + 1
        );
        assert!(r.usage.peak_tasks >= 2, "the bomb never forked?\n{ctx}");
    }
    assert!(pids.len() as u64 <= CAP, "{} children ran under a cap of {CAP}\n{ctx}", pids.len());
    assert!(!pids.is_empty(), "no child ever ran\n{ctx}");

    // Nothing of the bomb survives: its pid namespace is empty, its session is empty, and no
    // process of the attacker binary runs on the host any more (there were none before).
    assert_pid_ns_empty(&ns, Duration::from_secs(3), &ctx);
    assert!(session_members(r.pid).is_empty(), "session {} still has members\n{ctx}", r.pid);
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let after = running_with_exe(attacker());
        if after.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "attacker processes left on the host: {after:?}\n{ctx}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn memory_bomb_is_stopped_by_address_space_limit() {
    const LIMIT_MIB: u64 = 64;
    let _g = serial();
    let mut ex = attack("memhog", &["1024"]);
    ex.limits_mut().address_space = Some(LIMIT_MIB << 20);
    let run = run_capture(ex, build(&allow_all()));
    // The bomb must not succeed: exit 3 means malloc failed inside.
    assert!(!run.r.success(), "allocated 1 GiB under a {LIMIT_MIB} MiB limit:\n{}", run.ctx());
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    assert_eq!(run.r.exit_code, Some(3), "{}", run.ctx());
    assert!(run.out.contains("MMAP 256MiB errno 12"), "a 256 MiB mmap must fail with ENOMEM:\n{}", run.ctx());
    let got: u64 = run
        .out
        .lines()
        .find_map(|l| l.strip_prefix("ALLOCATED MiB "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no ALLOCATED line\n{}", run.ctx()));
    assert!(got < LIMIT_MIB, "allocated {got} MiB under a {LIMIT_MIB} MiB limit");
    assert!(got > 8, "only {got} MiB: the limit is far lower than asked\n{}", run.ctx());
}

#[test]
fn memory_within_the_limit_is_usable() {
    let _g = serial();
    let mut ex = attack("memhog", &["16"]);
    ex.limits_mut().address_space = Some(256 << 20);
    let run = run_capture(ex, build(&allow_all()));
    assert!(run.r.success(), "{}", run.ctx());
    assert!(run.out.contains("ALLOCATED MiB 16"), "{}", run.ctx());
}

#[test]
fn wall_time_limit_ends_a_sleeper_quickly() {
    let _g = serial();
    let mut ex = attack("sleep", &["30"]);
    ex.walltime(Duration::from_secs(1));
    let t0 = Instant::now();
    let run = run_capture(ex, build(&allow_all()));
    let elapsed = t0.elapsed();
    assert_eq!(run.r.status, Status::Timeout, "{}", run.ctx());
    assert_eq!(run.r.signal, Some(libc::SIGKILL), "{}", run.ctx());
    assert_eq!(run.r.exit_code, None, "{}", run.ctx());
    assert!(elapsed >= Duration::from_millis(900), "ended after {elapsed:?}, before the limit");
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    assert!(run.r.wall_time < Duration::from_secs(5), "{:?}", run.r.wall_time);
    assert!(run.r.describe().starts_with("TIMEOUT"), "{}", run.r.describe());
}

#[test]
fn rlimits_reach_the_sandboxee() {
    let _g = serial();
    let mut ex = attack("cat", &["/proc/self/limits"]);
    let l = ex.limits_mut();
    l.open_files = Some(64);
    l.file_size = Some(1 << 20);
    l.cpu_seconds = Some(30);
    l.address_space = Some(512 << 20);
    let run = run_capture(ex, build(&base_policy()));
    assert!(run.r.success(), "{}", run.ctx());
    let line = |name: &str| -> Vec<String> {
        let l = run.out.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("no {name}\n{}", run.ctx()));
        l[name.len()..].split_whitespace().take(2).map(str::to_string).collect()
    };
    assert_eq!(line("Max open files"), ["64", "64"], "{}", run.ctx());
    assert_eq!(line("Max file size"), ["1048576", "1048576"], "{}", run.ctx());
    assert_eq!(line("Max cpu time"), ["30", "30"], "{}", run.ctx());
    assert_eq!(line("Max address space"), ["536870912", "536870912"], "{}", run.ctx());
    assert_eq!(line("Max core file size"), ["0", "0"], "default core limit is 0\n{}", run.ctx());
}

#[test]
fn open_files_limit_bounds_fd_mappings() {
    // open_files = 8: a mapping to fd 9 could never exist in the sandboxee; refused up front.
    let _g = serial();
    let (rd, _wr) = pipe();
    let mut ex = attack("exit", &["0"]);
    ex.limits_mut().open_files = Some(8);
    ex.map_fd(rd, 9);
    match Sandbox::new(ex, build(&base_policy())).run() {
        Err(sbx::Error::InvalidArgument(_)) => {}
        other => panic!("fd 9 under open_files=8 must be InvalidArgument, got {other:?}"),
    }
}

#[test]
fn wall_time_fires_during_a_fork_bomb() {
    // sandbox2's MonitorIsNotStarvedByTheSandboxee: hundreds of busy tasks must not delay the
    // timeout much. The cap keeps the host safe; the bomb never stops on its own.
    let _g = serial();
    let (pid_rd, pid_wr) = pipe();
    let mut ex = attack("forkbomb", &["3600000"]);
    ex.map_fd(pid_wr, 3).walltime(Duration::from_secs(2)).stdout(Stdio::Null);
    ex.limits_mut().processes = Some(512);
    let pids_h = reader(pid_rd);
    let t0 = Instant::now();
    let sb = Sandbox::new(ex, build(&allow_all()));
    sb.start().unwrap();
    let ns = pid_ns_of(sb.pid().unwrap()).expect("the sandboxee's pid namespace");
    let r = sb.wait().unwrap();
    let elapsed = t0.elapsed();
    let pids = parse_pids(&pids_h.join().unwrap());
    let ctx = format!("{} ({r:?}), {} children reported", r.describe(), pids.len());
    assert_eq!(r.status, Status::Timeout, "{ctx}");
    assert!(elapsed < Duration::from_secs(8), "the timeout took {elapsed:?}\n{ctx}");
    assert!(r.usage.peak_tasks <= 513, "{ctx}");
    assert_pid_ns_empty(&ns, Duration::from_secs(3), &ctx);
    eprintln!("fork bomb under a 512 cap: {elapsed:?}, {ctx}");
}

/// Without a process limit the default cap holds (256, 1/128 of the classic pid space), so a
/// fork bomb cannot take a large share of the host's pids.
#[test]
fn the_default_task_cap_is_a_small_share_of_the_hosts_pids() {
    let _g = serial();
    let cap = sbx::limits::default_max_tasks();
    assert!(cap <= 32_768 / 64, "cap {cap}");
    let (pid_rd, pid_wr) = pipe();
    let mut ex = attack("forkbomb", &["1500"]);
    ex.map_fd(pid_wr, 3).walltime(Duration::from_secs(15));
    let pids_h = reader(pid_rd);
    let run = run_capture(ex, build(&allow_all()));
    let pids = parse_pids(&pids_h.join().unwrap());
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    assert!(pids.len() as u64 <= cap, "{} children ran under the default cap {cap}", pids.len());
    if ptraced(&run.r) {
        assert!(u64::from(run.r.usage.peak_tasks) <= cap + 1, "peak {} over {cap}", run.r.usage.peak_tasks);
    }
    eprintln!("default cap {cap}: {} children ran", pids.len());
}
