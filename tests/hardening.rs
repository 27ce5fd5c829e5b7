//! Fixes from the security review, each held by an attack in a real sandbox:
//! a root caller's sandboxee is never host root (no `/proc/sys` writes), forged seccomp trace
//! data is not honoured, capabilities are dropped whatever state the caller's are in, the init
//! holds no host fd, and the host's dumpable flag survives root runs.

// Test harness: raw syscalls, fds and capabilities of the test process itself.
#![allow(unsafe_code)]

mod common;

use common::*;
use sbx::{Notify, Sandbox, Status, Syscall, TraceAction};

/// The host uid a sandboxee must run as: the caller's euid, or for root an id of the range.
fn check_host_uid(uid: Option<u32>, context: &str) -> u32 {
    let uid = uid.unwrap_or_else(|| panic!("{context}: the result names no host uid"));
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    if euid == 0 {
        let (first, count) = sbx::namespaces::root_caller_id_range();
        assert!(uid >= first && uid - first < count, "{context}: {uid} outside {first}+{count}");
    } else {
        assert_eq!(uid, euid, "{context}");
    }
    uid
}

/// A started sandbox (with or without namespaces) whose attacker sleeps `secs` seconds.
fn start_sleeper(namespaced: bool, secs: u64) -> Sandbox {
    let arg = secs.to_string();
    let (mut ex, mut pb) = if namespaced {
        (attack("sleep", &[&arg]), base_policy())
    } else {
        (attack_no_ns("sleep", &[&arg]), base_policy_no_ns())
    };
    pb.allow_sleep();
    ex.walltime(std::time::Duration::from_secs(secs + 10));
    let sb = Sandbox::new(ex, build(&pb));
    sb.start().unwrap();
    sb
}

/// The sandboxee's host uid, read from the host while it runs.
#[test]
fn a_root_callers_sandboxee_is_not_host_root() {
    for namespaced in [true, false] {
        let sb = start_sleeper(namespaced, 5);
        let pid = sb.pid().expect("running");
        let status = match std::fs::read_to_string(format!("/proc/{pid}/status")) {
            Ok(s) => s,
            Err(e) => {
                sb.kill();
                panic!(
                    "namespaced={namespaced}: /proc/{pid}/status: {e}; run: {:?}",
                    sb.wait()
                );
            }
        };
        sb.kill();
        let expected = check_host_uid(sb.wait().unwrap().host_uid, &format!("namespaced={namespaced}"));
        let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
        let uids: Vec<u32> = uid_line
            .split_whitespace()
            .skip(1)
            .map(|v| v.parse().unwrap())
            .collect();
        assert!(
            uids.iter().all(|u| *u == expected),
            "namespaced={namespaced}: {uid_line}"
        );
        let groups = status.lines().find(|l| l.starts_with("Groups:")).unwrap();
        assert!(
            !groups.split_whitespace().skip(1).any(|g| g == "0"),
            "host gid 0 kept: {groups}"
        );
    }
}

#[test]
fn global_sysctls_cannot_be_opened_for_writing() {
    // Opening for writing is enough to prove the point and changes nothing.
    let target = "/proc/sys/kernel/core_pattern";
    let run = run_attack("openw", &[target], &allow_all());
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    assert!(
        run.out.contains("RETURNED open errno 13"),
        "namespaced: {}",
        run.ctx()
    );
    let run = run_capture(attack_no_ns("openw", &[target]), build(&allow_all_no_ns()));
    assert!(
        run.out.contains("RETURNED open errno 13"),
        "no namespaces: {}",
        run.ctx()
    );
}

struct AllowTraced;
impl Notify for AllowTraced {
    fn trace(&mut self, _: &Syscall) -> TraceAction {
        TraceAction::Allow
    }
}

#[test]
fn forged_trace_data_does_not_reach_a_permissive_notify() {
    let mut pb = allow_all();
    pb.trace("personality");
    let ex = attack("forge_trace", &[]);
    let (r, w) = pipe();
    let out = reader(r);
    let mut ex = ex;
    ex.stdout(sbx::Stdio::Fd(w));
    let res = Sandbox::with_notify(ex, build(&pb), Box::new(AllowTraced))
        .run()
        .unwrap();
    let out = out.join().unwrap();
    assert_eq!(res.status, Status::Violation, "{}\n{out}", res.describe());
    assert_eq!(res.violation.unwrap().name, "unshare");
    assert!(!out.contains("RETURNED unshare"), "unshare returned: {out}");
}

#[test]
fn capabilities_are_dropped_even_when_only_permitted() {
    if !is_root() {
        // Nothing to drop for an unprivileged caller; the plain case is in no_namespaces.rs.
        return;
    }
    // A root thread that keeps its capabilities permitted but not effective (a common
    // libcap-ng pattern) starts the sandbox; the monitor thread inherits that state.
    let h = std::thread::spawn(|| {
        #[repr(C)]
        struct Hdr(u32, i32);
        #[repr(C)]
        #[derive(Clone, Copy)]
        struct Data(u32, u32, u32);
        let hdr = Hdr(0x2008_0522, 0);
        let mut d = [Data(0, 0, 0); 2];
        // SAFETY: capget/capset with correctly sized structs; only this thread changes.
        unsafe {
            assert_eq!(libc::syscall(libc::SYS_capget, &hdr, d.as_mut_ptr()), 0);
            d[0].0 = 0;
            d[1].0 = 0;
            assert_eq!(libc::syscall(libc::SYS_capset, &hdr, d.as_ptr()), 0);
        }
        let mut pb = base_policy_no_ns();
        pb.allow("prctl")
            .allow("getpid")
            .allow("getsid")
            .allow("getpgid");
        run_capture(attack_no_ns("status", &[]), build(&pb))
    });
    let run = h.join().unwrap();
    assert!(run.r.success(), "{}", run.ctx());
    let zero = "0000000000000000";
    for f in ["CapEff", "CapPrm", "CapInh", "CapAmb", "CapBnd"] {
        assert_eq!(field(&run.out, f), zero, "{f}: {}", run.ctx());
    }
    // Without namespaces: the process-wide id, which the result names too.
    let id = sbx::namespaces::root_caller_host_id();
    assert_eq!(run.r.host_uid, Some(id), "{}", run.ctx());
    assert_eq!(
        field(&run.out, "Uid"),
        format!("{id}\t{id}\t{id}\t{id}"),
        "{}",
        run.ctx()
    );
}

#[test]
fn the_init_holds_no_host_fd_and_the_host_stays_dumpable() {
    // SAFETY: PR_GET_DUMPABLE takes no pointers.
    let dumpable_before = unsafe { libc::prctl(libc::PR_GET_DUMPABLE) };
    // A host fd without O_CLOEXEC, which a careless init would carry along.
    let leak = std::ffi::CString::new("/").unwrap();
    // SAFETY: plain open of "/" (no O_CLOEXEC on purpose).
    let fd = unsafe { libc::open(leak.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY) };
    assert!(fd >= 0);
    let mut ex = attack("sleep", &["5"]);
    ex.walltime(std::time::Duration::from_secs(10));
    let mut pb = base_policy();
    pb.allow_sleep();
    let sb = Sandbox::new(ex, build(&pb));
    sb.start().unwrap();
    let pid = sb.pid().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let init: i32 = field_colon(&status, "PPid").parse().unwrap();
    let fds = std::fs::read_dir(format!("/proc/{init}/fd"));
    sb.kill();
    let _ = sb.wait();
    // SAFETY: closing our own fd.
    unsafe { libc::close(fd) };
    match fds {
        // Root can look: the init has exec'd its image with every fd closed.
        Ok(d) => assert_eq!(d.count(), 0, "the init holds fds"),
        // An unprivileged host cannot even look: the init is non-dumpable.
        Err(e) => assert_eq!(e.raw_os_error(), Some(libc::EACCES), "{e}"),
    }
    // SAFETY: PR_GET_DUMPABLE takes no pointers.
    let dumpable_after = unsafe { libc::prctl(libc::PR_GET_DUMPABLE) };
    assert_eq!(
        dumpable_after,
        dumpable_before,
        "host dumpable flag changed"
    );
}

fn field_colon<'a>(status: &'a str, key: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key}"))
        .trim()
}

/// Root inside a user namespace (rootless containers, `unshare -r`) is an ordinary host user:
/// sandboxes work there, with and without namespaces, and keep the plain mapping.
#[test]
fn root_inside_a_user_namespace_can_run_sandboxes() {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new("unshare")
        .args(["-r", "--"])
        .arg(&exe)
        .args([
            "--exact",
            "child_runs_as_userns_root",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SBX_HARDENING_CHILD", "1")
        .output()
        .expect("unshare (util-linux)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("RESULT ns OK - exit code 0"), "{stdout}");
    assert!(stdout.contains("RESULT no-ns OK - exit code 0"), "{stdout}");
}

#[test]
#[ignore = "a child of another test (SBX_HARDENING_CHILD=1)"]
fn child_runs_as_userns_root() {
    if std::env::var("SBX_HARDENING_CHILD").as_deref() != Ok("1") {
        return;
    }
    assert!(!sbx::namespaces::caller_is_host_root());
    let r = sbx::Sandbox::new(attack("exit", &["0"]), build(&base_policy()))
        .run()
        .unwrap();
    println!("RESULT ns {}", r.describe());
    let r = sbx::Sandbox::new(attack_no_ns("exit", &["0"]), build(&base_policy_no_ns()))
        .run()
        .unwrap();
    println!("RESULT no-ns {}", r.describe());
}

/// The host's own dumpable setting survives root runs, whatever it is.
#[test]
fn a_host_that_made_itself_non_dumpable_stays_so() {
    // SAFETY: prctl with plain integers.
    let before = unsafe { libc::prctl(libc::PR_GET_DUMPABLE) };
    // In a process of its own (this test binary re-run), so the flag change stays there.
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_non_dumpable_host",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SBX_HARDENING_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("DUMPABLE after=0"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // SAFETY: as above.
    assert_eq!(unsafe { libc::prctl(libc::PR_GET_DUMPABLE) }, before);
}

#[test]
#[ignore = "a child of another test (SBX_HARDENING_CHILD=1)"]
fn child_non_dumpable_host() {
    if std::env::var("SBX_HARDENING_CHILD").as_deref() != Ok("1") {
        return;
    }
    // SAFETY: prctl with plain integers.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0) };
    let _ = sbx::Sandbox::new(attack("exit", &["0"]), build(&base_policy()))
        .run()
        .unwrap();
    let _ = sbx::Sandbox::new(attack_no_ns("exit", &["0"]), build(&base_policy_no_ns()))
        .run()
        .unwrap();
    // SAFETY: as above.
    println!("DUMPABLE after={}", unsafe {
        libc::prctl(libc::PR_GET_DUMPABLE)
    });
}

struct CapsSeenByCallbacks(std::sync::Arc<std::sync::Mutex<Vec<u32>>>);
impl Notify for CapsSeenByCallbacks {
    fn started(&mut self, _: i32) -> bool {
        let hdr: [u32; 2] = [0x2008_0522, 0];
        let mut d = [[0u32; 3]; 2];
        // SAFETY: capget into a correctly sized buffer.
        unsafe { libc::syscall(libc::SYS_capget, hdr.as_ptr(), d.as_mut_ptr()) };
        self.0.lock().unwrap().push(d[0][0] | d[1][0]);
        true
    }
}

/// Notify callbacks run with the capabilities of the thread that started the sandbox, not with
/// the ones the monitor raises briefly to kill or write id maps.
#[test]
fn callbacks_do_not_get_raised_capabilities() {
    if !is_root() {
        return;
    }
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    std::thread::spawn(move || {
        let hdr: [u32; 2] = [0x2008_0522, 0];
        let mut d = [[0u32; 3]; 2];
        // SAFETY: capget/capset on this thread only, correctly sized buffers.
        unsafe {
            libc::syscall(libc::SYS_capget, hdr.as_ptr(), d.as_mut_ptr());
            d[0][0] = 0;
            d[1][0] = 0;
            libc::syscall(libc::SYS_capset, hdr.as_ptr(), d.as_ptr());
        }
        let r = Sandbox::with_notify(
            attack("exit", &["0"]),
            build(&base_policy()),
            Box::new(CapsSeenByCallbacks(seen2)),
        )
        .run()
        .unwrap();
        assert!(r.success(), "{}", r.describe());
    })
    .join()
    .unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        vec![0],
        "effective capabilities inside Notify::started"
    );
}

/// Runs in a child started by `root_callers_get_an_id_per_live_sandbox`: starts two sandboxes
/// (with namespaces) and one without, prints the host uid each runs as (read from the host's
/// `/proc/PID/status` while it runs), then holds them until its stdin closes.
#[test]
#[ignore = "helper process of root_callers_get_an_id_per_live_sandbox"]
fn root_id_helper() {
    if std::env::var_os("SBX_ROOT_ID_HELPER").is_none() {
        return;
    }
    let start = |namespaced: bool| {
        let sb = start_sleeper(namespaced, 30);
        let pid = sb.pid().expect("running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let uid = field_colon(&status, "Uid").split_whitespace().next().unwrap().to_owned();
        (sb, uid)
    };
    let sandboxes = [start(true), start(true), start(false)];
    let uids: Vec<&str> = sandboxes.iter().map(|(_, uid)| uid.as_str()).collect();
    // On a line of its own: libtest writes "test root_id_helper ... " before it.
    println!("\nSBX_ROOT_IDS={}", uids.join(","));
    // Until stdin closes, at most 20 s (so a parent that never reads cannot hang the run).
    let mut p = libc::pollfd { fd: 0, events: libc::POLLIN, revents: 0 };
    // SAFETY: one live pollfd.
    unsafe { libc::poll(&mut p, 1, 20_000) };
    for (sb, uid) in &sandboxes {
        sb.kill();
        let r = sb.wait().unwrap();
        assert_eq!(r.host_uid.map(|u| u.to_string()).as_deref(), Some(uid.as_str()), "{r:?}");
    }
}

type HelperOut = std::io::BufReader<std::process::ChildStdout>;

/// No two live sandboxes of root callers share a host id, in one process or in two (each
/// sandbox with namespaces holds a lock on its own id until its result; a process's sandboxes
/// without namespaces share the process's id, locked while it lives), and every id lies in the
/// documented range. As another user the ids are not used at all, so there is nothing to check.
#[test]
fn root_callers_get_an_id_per_live_sandbox() {
    if !is_root() {
        eprintln!("not root: root caller ids are not used");
        return;
    }
    let spawn = || {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "root_id_helper", "--ignored", "--nocapture", "--test-threads=1"])
            .env("SBX_ROOT_ID_HELPER", "1")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    // The ids line, and the rest of the helper's output (read to its end before the wait, so
    // that libtest's last lines find the pipe open).
    let read_ids = |child: &mut std::process::Child| -> (Vec<u32>, HelperOut) {
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        loop {
            line.clear();
            assert!(
                std::io::BufRead::read_line(&mut out, &mut line).unwrap() != 0,
                "the helper printed no ids"
            );
            if let Some(ids) = line.trim().strip_prefix("SBX_ROOT_IDS=") {
                return (ids.split(',').map(|id| id.parse().unwrap()).collect(), out);
            }
        }
    };
    let mut a = spawn();
    let (ids_a, out_a) = read_ids(&mut a);
    let mut b = spawn();
    let (ids_b, out_b) = read_ids(&mut b);
    let (first, count) = sbx::namespaces::root_caller_id_range();
    let all: Vec<u32> = ids_a.iter().chain(&ids_b).copied().collect();
    for id in &all {
        assert!(*id >= first && id - first < count, "{id} outside {first}+{count}");
    }
    let distinct: std::collections::BTreeSet<u32> = all.iter().copied().collect();
    assert_eq!(distinct.len(), all.len(), "two live sandboxes share a host id: {all:?}");
    drop(a.stdin.take());
    drop(b.stdin.take());
    for (name, helper, mut rest) in [("a", a, out_a), ("b", b, out_b)] {
        std::io::Read::read_to_end(&mut rest, &mut Vec::new()).unwrap();
        let out = helper.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "helper {name} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Speculation control (sandbox2's `SpeculationBlockedByDefault`): where the kernel lets a
/// process choose, the sandboxee's speculative store bypass and indirect branch speculation are
/// force-disabled (its `/proc/self/status` says "thread force mitigated" and "force disabled")
/// and the result lists the fence; `allow_speculation` leaves them alone. Where the kernel
/// decides for every process (this development host: "vulnerable", "always enabled"), no run
/// lists the fence and the sandboxee's lines are the host's.
#[test]
fn speculation_is_force_disabled_where_the_kernel_lets_a_process_choose() {
    let lines = |status: &str| {
        status
            .lines()
            .filter(|l| l.starts_with("Speculation"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let host = lines(&std::fs::read_to_string("/proc/self/status").unwrap());
    assert_eq!(host.len(), 2, "{host:?}");
    let run = run_attack("cat", &["/proc/self/status"], &allow_all());
    assert!(run.r.success(), "{}", run.ctx());
    let fenced = run.r.fences.contains(&"speculation_control");
    if sbx::features::speculation_controllable() {
        assert!(fenced, "{}", run.ctx());
        let inside = lines(&run.out).join("\n");
        assert!(
            inside.contains("thread force mitigated") && inside.contains("force disabled"),
            "{inside}"
        );
    } else {
        eprintln!("this kernel decides speculation for every process: {host:?}");
        assert!(!fenced, "{}", run.ctx());
        assert_eq!(lines(&run.out), host);
    }
    let mut pb = allow_all();
    pb.allow_speculation();
    let run = run_attack("cat", &["/proc/self/status"], &pb);
    assert!(!run.r.fences.contains(&"speculation_control"), "{}", run.ctx());
    assert_eq!(lines(&run.out), host, "allow_speculation changed the sandboxee's speculation");
}
