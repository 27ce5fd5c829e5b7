//! What a container runtime does to a sandbox (issue 19), made for real without a runtime:
//!
//! - a masked /proc: the test re-runs itself in a user and mount namespace of its own
//!   (`unshare -Urm`) with `/dev/null` bound over a file of `/proc`, as Docker and podman do for
//!   `/proc/kcore`, `/proc/keys`, `/proc/timer_list`; the kernel then refuses the sandbox's new
//!   procfs with EPERM;
//! - a seccomp profile that refuses `sethostname` with EPERM (podman's and Docker's default
//!   profiles without CAP_SYS_ADMIN): the test thread installs such a filter, which the monitor
//!   thread and the sandbox inherit.
//!
//! `scripts/test-podman.sh` runs the same cases in a real podman container.

// Tests: their casts are of constants and of values the tests make themselves.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]
// Test harness: raw syscalls, fds and capabilities of the test process itself.
#![allow(unsafe_code)]

use std::process::Command;

const CHILD_ENV: &str = "SBX_MASKED_PROC_CHILD";

/// A file of /proc that runtimes mask and this kernel has.
fn maskable() -> Option<&'static str> {
    ["/proc/timer_list", "/proc/keys", "/proc/kcore"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
}

/// The namespaces `in_masked_proc` may use: a user and mount namespace (the sandbox then takes
/// the unprivileged path), and for a root caller also a mount namespace alone (the sandbox then
/// takes the host-root path, as in a rootful container).
fn unshare_modes() -> Vec<&'static str> {
    let mut modes = vec!["-Urm"];
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        modes.push("-m");
    }
    modes
}

/// Runs `command` (a shell line; `$0` is this test binary) in new namespaces (`unshare_mode`)
/// whose /proc has a masked file. `None` (with a note) when that cannot be made here.
fn in_masked_proc_as(unshare_mode: &str, command: &str) -> Option<std::process::Output> {
    let Some(file) = maskable() else {
        eprintln!("skipped: no maskable file in /proc");
        return None;
    };
    let exe = std::env::current_exe().unwrap();
    let script = format!("mount --bind /dev/null {file} && {command}");
    let out = Command::new("unshare")
        .args([
            unshare_mode,
            "--propagation",
            "private",
            "sh",
            "-c",
            &script,
        ])
        .arg(&exe)
        .env(CHILD_ENV, "1")
        .output()
        .expect("unshare (util-linux) must be installed");
    Some(out)
}

/// The outputs of `command` in a masked /proc, once per `unshare_modes()`.
fn in_masked_proc(command: &str) -> Option<Vec<std::process::Output>> {
    unshare_modes()
        .into_iter()
        .map(|m| in_masked_proc_as(m, command))
        .collect()
}

/// The `RESULT` line a child test printed.
fn result_line(out: &std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed: {stdout}\n{stderr}");
    stdout
        .lines()
        .find_map(|l| l.find("RESULT ").map(|i| l[i..].to_string()))
        .unwrap_or_else(|| panic!("no result in {stdout}\n{stderr}"))
}

fn child_test(name: &str) -> String {
    format!("exec \"$0\" --exact {name} --ignored --nocapture --test-threads=1")
}

/// Runs `/bin/true` under the default sandbox; `allow_no_proc` opts in to the fallback.
fn run_true(allow_no_proc: bool) -> sbx::RunResult {
    assert_eq!(
        std::env::var(CHILD_ENV).as_deref(),
        Ok("1"),
        "run by the tests above only"
    );
    let mut pb = sbx::policy::presets::tool_default();
    if allow_no_proc {
        pb.allow_no_private_proc();
    }
    let policy = pb.build().unwrap();
    let mut ex = sbx::Executor::new("/bin/sh");
    ex.argv(["sh", "-c", "test -r /proc/self/status"]);
    sbx::Sandbox::new(ex, policy).run().unwrap()
}

fn print(r: &sbx::RunResult) {
    println!(
        "RESULT status={} step={:?} errno={:?} fences={:?} degraded={:?} hint={:?}",
        r.status.name(),
        r.failed_step,
        r.setup_errno,
        r.fences,
        r.degraded,
        r.setup_hint
    );
}

#[test]
fn masked_proc_fails_at_mount_proc_naming_the_fix() {
    let Some(outs) = in_masked_proc(&child_test("child_default")) else {
        return;
    };
    for out in outs {
        let line = result_line(&out);
        assert!(line.contains("status=SETUP_ERROR"), "{line}");
        assert!(line.contains("step=Some(\"mount_proc\")"), "{line}");
        assert!(
            line.contains(&format!("errno=Some({})", libc::EPERM)),
            "{line}"
        );
        assert!(
            line.contains("fences=[]"),
            "no fence listed for a run that never started: {line}"
        );
        for fix in [
            "systempaths=unconfined",
            "unmask=ALL",
            "procMount: Unmasked",
            "--no-namespaces",
        ] {
            assert!(line.contains(fix), "{fix} not named: {line}");
        }
    }
}

#[test]
fn masked_proc_with_opt_in_runs_without_a_private_proc_and_says_so() {
    let Some(outs) = in_masked_proc(&child_test("child_opt_in")) else {
        return;
    };
    for out in outs {
        let line = result_line(&out);
        assert!(line.contains("status=OK"), "{line}");
        assert!(line.contains("degraded=[\"proc\"]"), "{line}");
        assert!(!line.contains("private_proc"), "{line}");
        for fence in [
            "\"namespaces\"",
            "\"filesystem_view\"",
            "\"seccomp\"",
        ] {
            assert!(line.contains(fence), "{fence} missing: {line}");
        }
        assert!(
            line.contains("\"ptrace_monitor\"") || line.contains("\"unotify_monitor\""),
            "no monitor fence: {line}"
        );
    }
}

#[test]
fn check_names_the_failing_step_and_the_fallback() {
    let cli = env!("CARGO_BIN_EXE_sbx-run");
    let Some(outs) = in_masked_proc(&format!("exec {cli} --check")) else {
        return;
    };
    for out in outs {
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(125), "{stdout}");
        let canary = stdout
            .lines()
            .find(|l| l.contains("canary sandbox "))
            .unwrap_or_else(|| panic!("no canary line: {stdout}"));
        assert!(canary.starts_with("MISSING"), "{canary}");
        assert!(
            canary.contains("step mount_proc failed with EPERM"),
            "{canary}"
        );
        assert!(canary.contains("unmask=ALL"), "{canary}");
        assert!(
            stdout.contains("the fallback works: sbx-run --no-namespaces"),
            "{stdout}"
        );
    }

    // The run fails at the step --check named; the opt-in and the fallback work.
    let Some(outs) = in_masked_proc(&format!("exec {cli} --json -- /bin/true")) else {
        return;
    };
    for out in outs {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{stderr}");
        assert!(
            stderr.contains("\"setup_step\":\"mount_proc\",\"setup_errno\":\"EPERM\""),
            "{stderr}"
        );
    }
    for args in ["--no-private-proc", "--no-namespaces"] {
        let script = format!("exec {cli} --json {args} -- /bin/sh -c 'cat /proc/self/uid_map'");
        let Some(outs) = in_masked_proc(&script) else {
            return;
        };
        for out in outs {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(0), "{args}: {stderr}");
            assert!(stderr.contains("\"seccomp\""), "{args}: {stderr}");
        }
    }
}

#[test]
fn check_passes_where_sandboxes_work() {
    let out = Command::new(env!("CARGO_BIN_EXE_sbx-run"))
        .arg("--check")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("ok      canary sandbox "), "{stdout}");
}

/// Runs only inside the namespace prepared by the tests above.
#[test]
#[ignore = "runs only inside the namespace prepared by the tests above"]
fn child_default() {
    print(&run_true(false));
}

/// Runs only inside the namespace prepared by the tests above.
#[test]
#[ignore = "runs only inside the namespace prepared by the tests above"]
fn child_opt_in() {
    print(&run_true(true));
}

/// Makes `sethostname` fail with EPERM for this thread and everything it creates from now on,
/// as a container's seccomp profile does.
fn refuse_sethostname() {
    let filter = [
        libc::sock_filter {
            code: 0x20,
            jt: 0,
            jf: 0,
            k: 0,
        }, // ld [nr]
        libc::sock_filter {
            code: 0x15,
            jt: 0,
            jf: 1,
            k: libc::SYS_sethostname as u32,
        },
        libc::sock_filter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 0x0005_0000 | libc::EPERM as u32,
        },
        libc::sock_filter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 0x7fff_0000,
        },
    ];
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr().cast_mut(),
    };
    // SAFETY: prctl with a valid sock_fprog that outlives the call.
    unsafe {
        assert_eq!(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
        assert_eq!(
            libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                std::ptr::addr_of!(prog)
            ),
            0
        );
    }
}

const HOSTNAME_HELPER_ENV: &str = "SBX_TEST_REFUSED_HOSTNAME_HELPER";

/// Runs in a process of its own (started by the test below): the filter that refuses
/// sethostname is installed before the first sandbox, so the supervisor thread, which creates
/// every sandbox, inherits it, as in a container whose seccomp profile refuses sethostname.
#[test]
#[ignore = "helper process of refused_hostname_keeps_the_inherited_one_and_says_so"]
fn refused_hostname_helper() {
    if std::env::var_os(HOSTNAME_HELPER_ENV).is_none() {
        return;
    }
    refuse_sethostname();
    let policy = sbx::policy::presets::tool_default().build().unwrap();
    let mut ex = sbx::Executor::new("/bin/true");
    ex.walltime(std::time::Duration::from_secs(30));
    let r = sbx::Sandbox::new(ex, policy).run().unwrap();
    assert!(r.success(), "{r:?}");
    assert_eq!(r.degraded, vec!["hostname"], "{r:?}");
    assert!(r.fences.contains(&"private_proc"), "{r:?}");
}

#[test]
fn refused_hostname_keeps_the_inherited_one_and_says_so() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "refused_hostname_helper", "--ignored", "--nocapture", "--test-threads=1"])
        .env(HOSTNAME_HELPER_ENV, "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("1 passed"),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn fences_are_listed() {
    let policy = sbx::policy::presets::tool_default().build().unwrap();
    let r = sbx::Sandbox::new(sbx::Executor::new("/bin/true"), policy)
        .run()
        .unwrap();
    assert!(r.success(), "{r:?}");
    assert!(r.degraded.is_empty(), "{r:?}");
    for f in [
        "namespaces",
        "network_namespace",
        "filesystem_view",
        "private_proc",
        "seccomp",
    ] {
        assert!(r.fences.contains(&f), "{f}: {r:?}");
    }
    // The opt-in changes nothing where the kernel mounts the sandbox's /proc.
    let mut pb = sbx::policy::presets::tool_default();
    pb.allow_no_private_proc();
    let mut ex = sbx::Executor::new("/bin/sh");
    ex.argv(["sh", "-c", "test \"$(cat /proc/self/uid_map)\" != \"\""]);
    let r = sbx::Sandbox::new(ex, pb.build().unwrap()).run().unwrap();
    assert!(r.success(), "{r:?}");
    assert!(
        r.degraded.is_empty() && r.fences.contains(&"private_proc"),
        "{r:?}"
    );

    let mut pb = sbx::PolicyBuilder::new();
    sbx::policy::presets::tool_rules(&mut pb);
    pb.disable_namespaces();
    let r = sbx::Sandbox::new(sbx::Executor::new("/bin/true"), pb.build().unwrap())
        .run()
        .unwrap();
    assert!(r.success(), "{r:?}");
    assert!(!r.fences.contains(&"namespaces"), "{r:?}");
    assert!(
        r.fences.contains(&"seccomp") && r.fences.contains(&"rlimits"),
        "{r:?}"
    );
}
