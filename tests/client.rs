//! Sandbox-aware sandboxees (issue 6, items 2 and 3): `sandbox_me_here` after starting threads
//! (TSYNC), fds mapped by name, an fd created by the sandboxee and received by the host, comms
//! after sandboxing, and failing closed.
//!
//! The sandboxee is this test binary itself, re-run with `--exact <child test> --ignored`
//! inside a namespaced sandbox that holds only the binary and its libraries.

// Test harness: raw syscalls, fds and capabilities of the test process itself.
#![allow(unsafe_code)]

use sbx::comms::Comms;
use sbx::{Executor, Sandbox, Status};
use std::io::{Read, Write};
use std::os::fd::AsFd;

const CHILD_ENV: &str = "SBX_CLIENT_CHILD";

fn is_child() -> bool {
    std::env::var(CHILD_ENV).as_deref() == Ok("1")
}

fn sandbox_self(child_test: &str, tweak: impl FnOnce(&mut Executor)) -> Sandbox {
    let exe = std::env::current_exe().unwrap();
    let mut pb = sbx::policy::presets::tool_default();
    pb.add_libraries_for_binary(&exe);
    let policy = pb.build().unwrap();
    let mut ex = Executor::new(&exe);
    ex.args([
        "--exact",
        child_test,
        "--ignored",
        "--nocapture",
        "--test-threads=1",
        "-q",
    ])
    .env(CHILD_ENV, "1")
    .sandbox_before_exec(false)
    .walltime(std::time::Duration::from_secs(20))
    // The child's own test-harness output would read like ours; the result says enough.
    .stdout(sbx::Stdio::Null)
    .stderr(sbx::Stdio::Null);
    tweak(&mut ex);
    let sb = Sandbox::new(ex, policy);
    sb.start().unwrap();
    sb
}

#[test]
fn earlier_thread_is_caught_after_sandbox_me_here() {
    let sb = sandbox_self("child_thread_then_sandbox", |_| {});
    let r = sb.wait().unwrap();
    assert_eq!(r.status, Status::Violation, "{}", r.describe());
    let v = r.violation.unwrap();
    assert_eq!(v.name, "personality", "{}", v.describe());
    // The call came from the thread started before sandboxing, not the main thread.
    assert_ne!(
        v.pid, r.pid,
        "violation should name the helper thread's tid"
    );
}

/// Child: start a thread, sandbox the process, then let the earlier thread make a call the
/// policy forbids (`personality` is not in tool_default). Without TSYNC it would succeed.
#[test]
#[ignore = "the sandboxee of another test, which runs it in a sandbox"]
fn child_thread_then_sandbox() {
    if !is_child() {
        return;
    }
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let t = std::thread::spawn(move || {
        go_rx.recv().unwrap();
        // SAFETY: personality(0xffffffff) only queries.
        unsafe { libc::personality(0xffff_ffff) };
    });
    let mut comms = Comms::client().unwrap();
    sbx::client::sandbox_me_here(&mut comms);
    go_tx.send(()).unwrap();
    t.join().unwrap();
    println!("personality was allowed");
}

#[test]
fn named_fds_comms_and_an_fd_from_the_sandboxee() {
    let (r, mut w) = std::io::pipe().unwrap();
    w.write_all(b"from the host").unwrap();
    drop(w);
    let sb = sandbox_self("child_uses_named_fd_and_comms", |ex| {
        ex.map_fd_named(std::os::fd::OwnedFd::from(r), 7, "input");
    });
    let mut comms = sb
        .take_comms()
        .expect("comms enabled by sandbox_before_exec(false)");
    comms.send_string("question").unwrap();
    assert_eq!(comms.recv_string().unwrap(), "answer: from the host");
    // The sandboxee made a pipe and sent us its read end.
    let fd = comms.recv_fd().unwrap();
    let mut s = String::new();
    std::fs::File::from(fd).read_to_string(&mut s).unwrap();
    assert_eq!(s, "written inside");
    let res = sb.wait().unwrap();
    assert_eq!(res.status, Status::Ok, "{}", res.describe());
    assert_eq!(res.exit_code, Some(0));
}

#[test]
#[ignore = "the sandboxee of another test, which runs it in a sandbox"]
fn child_uses_named_fd_and_comms() {
    if !is_child() {
        return;
    }
    let mut input = std::fs::File::from(sbx::client::mapped_fd("input").expect("named fd"));
    assert!(
        sbx::client::mapped_fd("input").is_none(),
        "a name is taken once"
    );
    let mut comms = Comms::client().unwrap();
    sbx::client::sandbox_me_here(&mut comms);
    let mut s = String::new();
    input.read_to_string(&mut s).unwrap();
    assert_eq!(comms.recv_string().unwrap(), "question");
    comms.send_string(&format!("answer: {s}")).unwrap();
    let (r, mut w) = std::io::pipe().unwrap();
    comms.send_fd(r.as_fd()).unwrap();
    w.write_all(b"written inside").unwrap();
}

#[test]
fn the_exec_magic_after_sandbox_me_here_is_a_violation() {
    // sandbox2's ExecveatNotAllowedByDefault: the execveat the library makes for its own start
    // (EXEC_MAGIC in the 6th register) is no door for a process that sandboxed itself.
    let sb = sandbox_self("child_forges_the_exec_magic", |_| {});
    let r = sb.wait().unwrap();
    assert_eq!(r.status, Status::Violation, "{}", r.describe());
    let v = r.violation.unwrap();
    assert_eq!(v.name, "execveat", "{}", v.describe());
    assert_eq!(v.args[5], sbx::policy::EXEC_MAGIC, "{}", v.describe());
}

/// Child: sandbox the process, then make the library's own start-up execveat. Had it been
/// allowed, the kernel would answer ENOENT (no such file) and the child would exit 0.
#[test]
#[ignore = "the sandboxee of another test, which runs it in a sandbox"]
fn child_forges_the_exec_magic() {
    if !is_child() {
        return;
    }
    let mut comms = Comms::client().unwrap();
    sbx::client::sandbox_me_here(&mut comms);
    let argv: [*const libc::c_char; 1] = [std::ptr::null()];
    // SAFETY: a NUL-terminated path and empty argv/envp arrays that outlive the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_execveat,
            libc::AT_FDCWD,
            c"/sbx-no-such-file".as_ptr(),
            argv.as_ptr(),
            argv.as_ptr(),
            0,
            sbx::policy::EXEC_MAGIC,
        )
    };
    println!("execveat returned {r}");
}

#[test]
fn sandbox_me_here_fails_closed_on_a_bad_policy_message() {
    let sb = sandbox_self("child_sandboxes_twice", |_| {});
    let mut comms = sb.take_comms().unwrap();
    // Not a policy: the second sandbox_me_here must end the process rather than go on.
    comms.send_string("not a policy").unwrap();
    let r = sb.wait().unwrap();
    assert_eq!(r.status, Status::Ok, "{}", r.describe());
    assert_eq!(r.exit_code, Some(127));
}

#[test]
#[ignore = "the sandboxee of another test, which runs it in a sandbox"]
fn child_sandboxes_twice() {
    if !is_child() {
        return;
    }
    let mut comms = Comms::client().unwrap();
    sbx::client::sandbox_me_here(&mut comms);
    sbx::client::sandbox_me_here(&mut comms);
    println!("went on unconfined");
}
