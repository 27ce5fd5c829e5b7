//! Template mount namespaces (`spawn/mntns/`, issue 11): a root caller's sandboxes of one view
//! are cloned from a template holding the read-only view, each with a mount namespace, `/tmp`
//! and `/proc` of its own; a template follows the host (a bind source replaced, a mount made
//! under a bound directory). Other callers build every view in the init, as before.
//!
//! A sandbox shows whether it came from a template: its mount table then holds two procfs
//! mounts at `/proc` (the template's, covered, and its own) instead of one.
//!
//! One test function: it puts its thread in a mount namespace of its own first (as root), so
//! the host mount it makes is never the machine's, and the library's threads, started from this
//! thread, share that namespace.

#![allow(unsafe_code)] // mount(2) for the test's own host mount

mod common;

use common::*;
use sbx::{Executor, Sandbox};
use std::path::Path;
use std::time::{Duration, Instant};

fn policy(data: &Path) -> sbx::Policy {
    let mut pb = sbx::PolicyBuilder::new();
    sbx::policy::presets::tool_rules(&mut pb);
    sbx::policy::presets::tool_view(&mut pb);
    pb.add_directory_at(data, "/data", false);
    build(&pb)
}

fn sh(script: &str) -> Executor {
    let mut ex = Executor::new("/bin/sh");
    ex.args(["-c", script]);
    ex
}

/// Prints `procs=N` (procfs mounts in the sandbox's table) before `script`'s output.
fn run(data: &Path, script: &str) -> Run {
    let full = format!("echo procs=$(grep -c ' - proc ' /proc/self/mountinfo); {script}");
    let run = run_capture(sh(&full), policy(data));
    assert!(run.r.success(), "{}", run.ctx());
    run
}

fn from_template(run: &Run) -> bool {
    match field(&run.out, "procs") {
        "2" => true,
        "1" => false,
        other => panic!("procs={other}?\n{}", run.ctx()),
    }
}

/// Runs `script` until a run comes from a template (the janitor builds one for a view's second
/// sandbox); that run. Up to 5 s.
fn run_from_template(data: &Path, script: &str) -> Run {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let r = run(data, script);
        if from_template(&r) {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "no run came from a template:\n{}",
            r.ctx()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// This thread (and the library's threads it starts) in a private mount namespace of its own.
fn own_mount_namespace() {
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).unwrap();
    mount(c"none", c"/", c"", libc::MS_REC | libc::MS_PRIVATE);
}

fn mount(
    source: &std::ffi::CStr,
    target: &std::ffi::CStr,
    fstype: &std::ffi::CStr,
    flags: libc::c_ulong,
) {
    // SAFETY: live C strings; no data argument.
    let r = unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            flags,
            std::ptr::null(),
        )
    };
    assert_eq!(
        r,
        0,
        "mount {target:?}: {}",
        std::io::Error::last_os_error()
    );
}

#[test]
fn sandboxes_share_a_template_but_not_their_writes_and_it_follows_the_host() {
    if is_root() {
        own_mount_namespace();
    }
    let data = fresh_dir("template-data");
    std::fs::write(data.join("f"), "one").unwrap();

    if !is_root() {
        // No template for a caller without CAP_SYS_ADMIN: every run builds its view.
        for _ in 0..4 {
            assert!(!from_template(&run(&data, "true")));
        }
        return;
    }
    two_live_sandboxes_keep_their_own_tmp(&data);
    a_replaced_bind_source_is_seen(&data);
    a_host_mount_below_a_bind_is_seen(&data);
    mount_calls_fail_in_a_copy(&data);
    the_supervisor_keeps_its_cwd(&data);
}

/// Two live sandboxes of one template: neither sees the other's /tmp, the root stays
/// read-only, and /proc holds only the sandbox's own processes.
fn two_live_sandboxes_keep_their_own_tmp(data: &Path) {
    let script = "echo mine > /tmp/mark-$$ && ls /tmp | wc -l | sed 's/^/tmp=/'; \
                  (echo x > /new) 2>/dev/null && echo root=writable || echo root=ro; \
                  ls /proc | grep -c '^[0-9]' | sed 's/^/pids=/'; cat /data/f; echo";
    let first = run_from_template(data, script);
    let (rd, wr) = pipe();
    let mut holder = sh("echo held > /tmp/held && echo ready; read _; exit 0");
    holder.stdout(sbx::Stdio::Fd(wr));
    let (hold_in, hold_out) = pipe();
    holder.stdin(sbx::Stdio::Fd(hold_in));
    let held = Sandbox::new(holder, policy(data));
    held.start().unwrap();
    let out = reader(rd);
    let second = run(
        data,
        &format!("{script}; test -e /tmp/held && echo saw=held || echo saw=none"),
    );
    drop(hold_out);
    let held_result = held.wait().unwrap();
    assert!(held_result.success(), "{held_result:?}");
    assert!(out.join().unwrap().contains("ready"));
    for r in [&first, &second] {
        assert!(from_template(r), "{}", r.ctx());
        assert_eq!(field(&r.out, "tmp"), "1", "{}", r.ctx());
        assert_eq!(field(&r.out, "root"), "ro", "{}", r.ctx());
        let pids: u32 = field(&r.out, "pids").parse().unwrap();
        assert!(
            pids <= 6,
            "{pids} processes in the sandbox's /proc\n{}",
            r.ctx()
        );
        assert!(r.out.contains("one"), "{}", r.ctx());
    }
    assert_eq!(field(&second.out, "saw"), "none", "{}", second.ctx());
}

/// A bind source replaced on the host: the next sandbox shows the new one.
fn a_replaced_bind_source_is_seen(data: &Path) {
    let old = data.with_extension("old");
    std::fs::rename(data, &old).unwrap();
    std::fs::create_dir(data).unwrap();
    std::fs::write(data.join("f"), "two").unwrap();
    let r = run(data, "cat /data/f");
    assert!(
        r.out.contains("two"),
        "a template kept the replaced directory:\n{}",
        r.ctx()
    );
    let r = run_from_template(data, "cat /data/f");
    assert!(r.out.contains("two"), "{}", r.ctx());
}

/// A mount under a bound directory (in this test's mount namespace): the next sandbox
/// shows it.
fn a_host_mount_below_a_bind_is_seen(data: &Path) {
    std::fs::create_dir(data.join("sub")).unwrap();
    let r = run_from_template(data, "ls /data/sub | wc -l | sed 's/^/entries=/'");
    assert_eq!(field(&r.out, "entries"), "0", "{}", r.ctx());
    let sub =
        std::ffi::CString::new(data.join("sub").into_os_string().into_encoded_bytes()).unwrap();
    mount(c"tmpfs", &sub, c"tmpfs", 0);
    std::fs::write(data.join("sub/g"), "three").unwrap();
    let r = run(data, "cat /data/sub/g; echo");
    assert!(
        r.out.contains("three"),
        "a template missed a host mount:\n{}",
        r.ctx()
    );
    let r = run_from_template(data, "cat /data/sub/g; echo");
    assert!(r.out.contains("three"), "{}", r.ctx());
}

/// An attacker in a template's copy, every syscall allowed: each mount call fails (no
/// capability over its mount namespace), `umount2("/proc")` included, so the template's
/// procfs below its own stays covered.
/// (The attacker is bound outside /tmp: a view with a static mount below a per-sandbox one,
/// such as the tests' work directory under the writable /tmp, has no template.)
fn mount_calls_fail_in_a_copy(data: &Path) {
    let mut pb = allow_all_rules();
    sbx::policy::presets::tool_view(&mut pb);
    pb.add_directory_at(data, "/data", false)
        .add_file_at(attacker(), "/attacker", false);
    let [a, b] = sandbox_check_args();
    let script = format!("exec /attacker mounts {a} {b} /data");
    let deadline = Instant::now() + Duration::from_secs(5);
    let run = loop {
        let full = format!("echo procs=$(grep -c ' - proc ' /proc/self/mountinfo); {script}");
        let r = run_capture(sh(&full), build(&pb));
        if from_template(&r) {
            break r;
        }
        assert!(Instant::now() < deadline, "no attack ran from a template:\n{}", r.ctx());
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(run.r.exit_code, Some(0), "a mount call succeeded:\n{}", run.ctx());
    let calls: Vec<&str> = run.out.lines().filter(|l| !l.starts_with("procs=")).collect();
    assert!(calls.len() >= 11, "{}", run.ctx());
    assert!(calls.iter().any(|l| l.starts_with("UMOUNT2 proc")), "{}", run.ctx());
    for l in calls {
        assert!(l.ends_with(" errno 1"), "not EPERM: {l}\n{}", run.ctx());
    }
}

/// The supervisor thread, which enters each template around a clone, keeps the working
/// directory it had: Notify callbacks run there.
fn the_supervisor_keeps_its_cwd(data: &Path) {
    struct Cwd(std::sync::mpsc::Sender<std::path::PathBuf>);
    impl sbx::Notify for Cwd {
        fn finished(&mut self, _: &sbx::RunResult) {
            let _ = self.0.send(std::env::current_dir().unwrap_or_default());
        }
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let sb = Sandbox::with_notify(sh("true"), policy(data), Box::new(Cwd(tx)));
    assert!(sb.run().unwrap().success());
    let seen = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(seen, std::env::current_dir().unwrap(), "the supervisor thread's cwd");
}
