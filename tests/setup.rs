//! The sandboxee's starting state (invariant 4): fds, stdio, environment, cwd, privileges,
//! signal state and session; setup errors; bad input refused before anything starts; the CLI's
//! default policy running real tools.

// Test harness: raw syscalls, fds and capabilities of the test process itself.
#![allow(unsafe_code)]

mod common;

use common::*;
use sbx::{Error, Executor, Reason, Sandbox, Status, Stdio};
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

fn fds_policy() -> sbx::PolicyBuilder {
    let mut pb = base_policy();
    pb.allow("getdents64");
    pb
}

#[test]
fn only_mapped_fds_are_open() {
    // A host fd without O_CLOEXEC: the sandboxee must not get it.
    // SAFETY: plain open of /dev/null; the fd is owned below.
    let stray = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY) };
    assert!(stray >= 0);
    // SAFETY: fresh fd.
    let stray = unsafe { OwnedFd::from_raw_fd(stray) };

    let (rd, _wr) = pipe();
    let mut ex = attack("fds", &[]);
    ex.map_fd(rd, 5).stderr(Stdio::Null);
    let run = run_capture(ex, build(&fds_policy()));
    assert!(run.r.success(), "{}", run.ctx());
    assert_eq!(run.out, "FDS 0 1 2 5\n", "stray host fd {} or others leaked\n{}", stray.as_raw_fd(), run.ctx());
}

#[test]
fn without_mappings_only_stdio_is_open() {
    let mut ex = attack("fds", &[]);
    ex.stderr(Stdio::Null);
    let run = run_capture(ex, build(&fds_policy()));
    assert!(run.r.success(), "{}", run.ctx());
    assert_eq!(run.out, "FDS 0 1 2\n", "{}", run.ctx());
}

#[test]
fn mapped_fd_is_readable() {
    for target in [5, 3, 100] {
        let (rd, wr) = pipe();
        let mut f = std::fs::File::from(wr);
        f.write_all(b"hello through a mapped fd\n").unwrap();
        drop(f);
        let mut ex = attack("readfd", &[&target.to_string()]);
        ex.map_fd(rd, target);
        let run = run_capture(ex, build(&base_policy()));
        assert!(run.r.success(), "fd {target}: {}", run.ctx());
        assert_eq!(run.out, "hello through a mapped fd\n", "fd {target}: {}", run.ctx());
    }
}

#[test]
fn mapped_fds_can_swap_numbers() {
    // Two host fds whose numbers are each other's targets: the shuffle must not clobber one.
    let (rd_a, wr_a) = pipe();
    let (rd_b, wr_b) = pipe();
    std::fs::File::from(wr_a).write_all(b"A\n").unwrap();
    std::fs::File::from(wr_b).write_all(b"B\n").unwrap();
    let (na, nb) = (rd_a.as_raw_fd(), rd_b.as_raw_fd());
    let mut ex = attack("readfd", &[&nb.to_string()]);
    ex.map_fd(rd_a, nb).map_fd(rd_b, na);
    let run = run_capture(ex, build(&base_policy()));
    assert!(run.r.success(), "{}", run.ctx());
    assert_eq!(run.out, "A\n", "fd {nb} must be the first pipe\n{}", run.ctx());
}

#[test]
fn stdout_and_stdin_through_pipes() {
    let (in_rd, in_wr) = pipe();
    std::fs::File::from(in_wr).write_all(b"from stdin\n").unwrap();
    let (err_rd, err_wr) = pipe();
    let mut ex = attack("readfd", &["0"]);
    ex.stdin(Stdio::Fd(in_rd)).stderr(Stdio::Fd(err_wr));
    let err = reader(err_rd);
    let (out_rd, out_wr) = pipe();
    ex.stdout(Stdio::Fd(out_wr));
    let out = reader(out_rd);
    let r = Sandbox::new(ex, build(&base_policy())).run().unwrap();
    assert!(r.success(), "{r:?}");
    assert_eq!(out.join().unwrap(), "from stdin\n");
    assert_eq!(err.join().unwrap(), "");
}

#[test]
fn environment_is_empty_by_default() {
    let run = run_attack("env", &[], &base_policy());
    assert!(run.r.success(), "{}", run.ctx());
    assert_eq!(run.out, "ENVC 0\n", "host environment leaked\n{}", run.ctx());
}

#[test]
fn environment_is_exactly_what_was_set() {
    let mut ex = attack("env", &[]);
    ex.env("SBX_A", "1").env("SBX_B", "two words").env("SBX_A", "3");
    let run = run_capture(ex, build(&base_policy()));
    assert!(run.r.success(), "{}", run.ctx());
    assert_eq!(run.out, "ENV SBX_B=two words\nENV SBX_A=3\nENVC 2\n", "{}", run.ctx());
}

fn cwd_policy() -> sbx::PolicyBuilder {
    let mut pb = base_policy();
    pb.allow("getcwd");
    pb
}

#[test]
fn cwd_is_honoured() {
    let dir = fresh_dir("cwd");
    let mut ex = attack("cwd", &[]);
    ex.cwd(&dir);
    let run = run_capture(ex, build(&cwd_policy()));
    assert!(run.r.success(), "{}", run.ctx());
    assert_eq!(run.out, format!("CWD {}\n", dir.display()), "{}", run.ctx());
}

#[test]
fn cwd_defaults_to_the_sandbox_root() {
    // The host's cwd means nothing inside a new root (see no_namespaces.rs for the host's cwd
    // without namespaces).
    let run = run_attack("cwd", &[], &cwd_policy());
    assert!(run.r.success(), "{}", run.ctx());
    assert_eq!(run.out, "CWD /\n", "{}", run.ctx());
}

#[test]
fn bad_cwd_is_a_setup_error() {
    let file = fresh_dir("badcwd").join("a-file");
    std::fs::write(&file, b"").unwrap();
    for dir in [work_dir().join("no-such-dir"), file] {
        let mut ex = attack("exit", &["0"]);
        ex.cwd(&dir);
        let r = Sandbox::new(ex, build(&base_policy())).run().unwrap();
        assert_eq!(r.status, Status::SetupError, "{}: {r:?}", dir.display());
        assert_eq!(r.reason(), Some(Reason::FailedCwd), "{}: {r:?}", dir.display());
        let msg = r.message.clone().unwrap_or_default();
        assert!(msg.contains(dir.to_str().unwrap()), "message {msg:?} does not name {}", dir.display());
    }
}

#[test]
fn missing_binary_is_a_setup_error_naming_the_path() {
    let path = work_dir().join("no-such-binary");
    let r = Sandbox::new(Executor::new(&path), build(&base_policy())).run().unwrap();
    assert_eq!(r.status, Status::SetupError, "{r:?}");
    assert_eq!(r.reason(), Some(Reason::FailedSubprocess), "{r:?}");
    let msg = r.message.clone().unwrap_or_default();
    assert!(msg.contains(path.to_str().unwrap()), "message {msg:?} does not name the path");
    assert!(r.describe().starts_with("SETUP_ERROR"), "{}", r.describe());
    assert_eq!(r.setup_errno, Some(libc::ENOENT), "{r:?}");
}

#[test]
fn non_executable_file_is_a_setup_error() {
    let path = fresh_dir("noexec").join("plain-file");
    std::fs::write(&path, b"#!/bin/sh\nexit 0\n").unwrap();
    let r = Sandbox::new(Executor::new(&path), build(&base_policy())).run().unwrap();
    assert_eq!(r.status, Status::SetupError, "{r:?}");
    assert_eq!(r.reason(), Some(Reason::FailedSubprocess), "{r:?}");
}

#[test]
fn bad_input_is_refused_before_anything_starts() {
    type Modify = Box<dyn Fn(&mut Executor)>;
    let marker_dir = fresh_dir("badinput");
    let cases: Vec<(&str, Modify)> = vec![
        ("NUL in an argument", Box::new(|ex| {
            ex.arg("a\0b");
        })),
        ("NUL in an environment value", Box::new(|ex| {
            ex.env("K", "v\0w");
        })),
        ("relative cwd", Box::new(|ex| {
            ex.cwd("relative/dir");
        })),
        ("fd mapped to 1", Box::new(|ex| {
            let (rd, _wr) = pipe();
            ex.map_fd(rd, 1);
        })),
        ("fd mapped to 0", Box::new(|ex| {
            let (rd, _wr) = pipe();
            ex.map_fd(rd, 0);
        })),
        ("fd mapped twice", Box::new(|ex| {
            let (a, _) = pipe();
            let (b, _) = pipe();
            ex.map_fd(a, 7).map_fd(b, 7);
        })),
        ("empty argv", Box::new(|ex| {
            ex.argv(Vec::<String>::new());
        })),
    ];
    // The markers go to a directory the sandboxee may write to.
    let mut pb = allow_all();
    pb.add_directory_at(&marker_dir, &marker_dir, true);
    let policy = build(&pb);
    for (i, (what, modify)) in cases.iter().enumerate() {
        let marker = marker_dir.join(format!("ran-{i}"));
        let mut ex = attack("mark", &[marker.to_str().unwrap()]);
        modify(&mut ex);
        let sb = Sandbox::new(ex, policy.clone());
        match sb.start() {
            Err(Error::InvalidArgument(_)) => {}
            other => panic!("{what}: expected InvalidArgument, got {other:?}"),
        }
        assert_eq!(sb.pid(), None, "{what}: a process was started");
        assert!(!sb.is_finished() || sb.wait().is_err(), "{what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(!marker.exists(), "{what}: the program ran");
    }
    // The marker program itself works, so the checks above are meaningful.
    let marker = marker_dir.join("ran-ok");
    let r = Sandbox::new(attack("mark", &[marker.to_str().unwrap()]), policy).run().unwrap();
    assert!(r.success(), "{r:?}");
    assert!(marker.exists());
}

#[test]
fn empty_path_is_invalid() {
    match Sandbox::new(Executor::new(""), build(&base_policy())).run() {
        Err(Error::InvalidArgument(_)) => {}
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Privileges, signals, session
// ---------------------------------------------------------------------------------------------

fn status_policy() -> sbx::PolicyBuilder {
    let mut pb = base_policy();
    pb.allow("prctl").allow("getpid").allow("getsid").allow("getpgid");
    pb
}

#[test]
fn no_capabilities_no_new_privs_clean_signals_own_session() {
    // Namespaced (the default): uid 1000 of a nested user namespace, no capabilities in it,
    // pid 2 of its own pid namespace, its own session. The no-namespace case (a root host's
    // capabilities dropped and locked) is in no_namespaces.rs.
    let run = run_attack("status", &[], &status_policy());
    assert!(run.r.success(), "{}", run.ctx());
    let o = &run.out;
    let zero = "0000000000000000";
    assert_eq!(field(o, "CapEff"), zero, "{}", run.ctx());
    assert_eq!(field(o, "CapPrm"), zero, "{}", run.ctx());
    assert_eq!(field(o, "CapInh"), zero, "{}", run.ctx());
    assert_eq!(field(o, "CapAmb"), zero, "{}", run.ctx());
    assert_eq!(field(o, "NoNewPrivs"), "1", "{}", run.ctx());
    assert_eq!(field(o, "Seccomp"), "2", "{}", run.ctx());
    // The Rust test harness runs with SIGPIPE ignored: the sandboxee must not inherit that.
    assert_eq!(field(o, "SigIgn"), zero, "{}", run.ctx());
    assert_eq!(field(o, "SigBlk"), zero, "{}", run.ctx());
    assert_eq!(field(o, "Uid"), "1000\t1000\t1000\t1000", "{}", run.ctx());
    // setsid(): its own session and process group; pid 2 of its namespace (the init is 1).
    assert_eq!(field(o, "Pid"), "2", "{}", run.ctx());
    assert_eq!(field(o, "Sid"), "2", "{}", run.ctx());
    assert_eq!(field(o, "Pgid"), "2", "{}", run.ctx());
    assert_ne!(run.r.pid, 2, "RunResult::pid is the host's pid");
}

#[test]
fn capability_use_is_refused() {
    use std::os::unix::fs::MetadataExt;
    // fchown to another uid needs CAP_CHOWN (and, in a user namespace, a mapped uid): refused as
    // root and as an unprivileged user alike.
    let dir = fresh_dir("chown");
    let file = dir.join("f");
    let mut pb = allow_all();
    pb.add_directory_at(&dir, &dir, true);
    let run = run_attack("chown", &[file.to_str().unwrap()], &pb);
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    assert!(
        run.r.exit_code == Some(RETURNED_EPERM) || run.out.contains("RETURNED fchown errno 22"),
        "fchown must fail with EPERM or EINVAL (uid not mapped)\n{}",
        run.ctx()
    );
    let meta = std::fs::metadata(&file).unwrap_or_else(|e| {
        panic!(
            "the sandboxee did not create {}: {e}\n{}",
            file.display(),
            run.ctx()
        )
    });
    assert_ne!(meta.uid(), 12345);
    // The file the sandboxee (uid 1000 inside) created belongs to the caller on the host, or,
    // for a root caller, to the bound directory's owner (the writable bind is idmapped onto the
    // sandbox's own unprivileged host id, which the sandboxee runs as).
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    let dir_owner = std::fs::metadata(&dir).unwrap().uid();
    let expected = match (euid, run.r.degraded.contains(&"idmapped_binds")) {
        (0, false) => dir_owner,
        // A root caller without CAP_SYS_ADMIN (a container's root): a plain bind, so the file
        // belongs to the sandbox's own host id.
        (0, true) => run.r.host_uid.expect("a planned run names its host uid"),
        _ => euid,
    };
    assert_eq!(meta.uid(), expected, "uid 1000 maps onto the caller's euid, or for root onto the directory's owner");
    // Nor can it give itself capabilities back.
    let run = run_attack("capset", &[], &allow_all());
    assert_eq!(run.r.exit_code, Some(RETURNED_EPERM), "{}", run.ctx());
}

// ---------------------------------------------------------------------------------------------
// The CLI's default policy with real tools
// ---------------------------------------------------------------------------------------------

fn tool(argv: &[&str]) -> Run {
    let mut ex = Executor::new(argv[0]);
    ex.args(argv[1..].iter().copied()).env("PATH", "/usr/bin:/bin").stderr(Stdio::Null);
    run_capture(ex, build(&sbx::policy::presets::tool_default()))
}

#[test]
fn tool_default_runs_a_shell_pipeline() {
    let run = tool(&["/bin/sh", "-c", "echo hi | wc -c"]);
    assert!(run.r.success(), "{}", run.ctx());
    assert_eq!(run.out.trim(), "3", "{}", run.ctx());
}

#[test]
fn tool_default_runs_ls() {
    let run = tool(&["/bin/ls", "-la", "/"]);
    assert!(run.r.success(), "{}", run.ctx());
    for name in [" usr\n", " etc\n", " tmp\n", " ..\n"] {
        assert!(run.out.contains(name), "missing {name:?}\n{}", run.ctx());
    }
}

#[test]
fn tool_default_runs_python_found_through_the_sandbox_path() {
    // A bare name resolves through the sandboxee's PATH (default /usr/local/bin:/usr/bin:/bin),
    // never the host's (which may point to a pyenv shim outside the view).
    let mut ex = Executor::new("python3");
    ex.args(["-c", "print(1)"]).stderr(Stdio::Null);
    let run = run_capture(ex, build(&sbx::policy::presets::tool_default()));
    assert!(run.r.success(), "{}", run.ctx());
    assert_eq!(run.out, "1\n", "{}", run.ctx());
}

#[test]
fn tool_default_still_denies_ptrace() {
    let mut pb = sbx::policy::presets::tool_default();
    with_attackers(&mut pb);
    let run = run_attack("ptrace", &[], &pb);
    assert_violation(&run, "ptrace");
}
