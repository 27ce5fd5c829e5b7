//! Landlock's filesystem rules (`src/landlock/`): the mount view's write and execute intent,
//! enforced a second time by the kernel's Landlock LSM. Each test shows a change the mounts
//! alone would let through (procfs is a read-write mount, a passed fd's file is the caller's)
//! and Landlock refuses, next to what stays allowed. Without Landlock in the kernel the tests
//! say so and check that the result reports no Landlock fence.

mod common;

use common::*;
use sbx::landlock::Enforced;
use sbx::Status;
use std::os::fd::OwnedFd;

/// The landlock report of a run, or `None` (with a note) when the kernel has no Landlock.
fn enforced(run: &Run) -> Option<Enforced> {
    match sbx::landlock::abi() {
        Ok(_) => {
            let l = run.r.landlock.unwrap_or_else(|| panic!("no landlock report\n{}", run.ctx()));
            assert!(run.r.fences.contains(&"landlock_filesystem"), "{}", run.ctx());
            Some(l)
        }
        Err(e) => {
            eprintln!("skipped: no Landlock in this kernel (errno {e})");
            assert_eq!(run.r.landlock, None, "{}", run.ctx());
            None
        }
    }
}

/// The value printed on the line starting with `label` (`label ok` / `label errno N`).
fn line<'a>(run: &'a Run, label: &str) -> &'a str {
    run.out
        .lines()
        .find_map(|l| l.strip_prefix(label).map(str::trim))
        .unwrap_or_else(|| panic!("no line {label}\n{}", run.ctx()))
}

const EACCES: &str = "errno 13";

#[test]
fn own_text_cannot_be_patched_through_proc_self_mem() {
    let run = run_attack("selfmem", &[], &allow_all());
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    let Some(l) = enforced(&run) else { return };
    assert!(l.fs_rights().contains(&"write_file"), "{l:?}");
    // Its own memory stays readable; writing it (past page protections) is refused.
    assert_eq!(line(&run, "OPENR /proc/self/mem"), "ok", "{}", run.ctx());
    assert_eq!(line(&run, "OPENW /proc/self/mem"), EACCES, "{}", run.ctx());
    assert!(!run.out.contains("WRITE own text"), "{}", run.ctx());
}

#[test]
fn without_namespaces_the_same_write_goes_through() {
    // The control: with no view to mirror, the domain handles no write right, and the attacker
    // rewrites one byte of its own code with the value already there.
    let run = run_capture(attack_no_ns("selfmem", &[]), build(&allow_all_no_ns()));
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    assert!(!run.r.fences.contains(&"landlock_filesystem"), "{}", run.ctx());
    assert_eq!(line(&run, "OPENW /proc/self/mem"), "ok", "{}", run.ctx());
    assert_eq!(line(&run, "WRITE own text"), "ok", "{}", run.ctx());
}

#[test]
fn procfs_is_read_only_to_the_sandboxee() {
    // /proc is mounted read-write and the files are the sandboxee's own: only Landlock says no.
    for file in ["/proc/self/comm", "/proc/self/oom_score_adj"] {
        let run = run_attack("write", &[file, "7"], &allow_all());
        if enforced(&run).is_none() {
            return;
        }
        assert!(
            run.out.contains("RETURNED open errno 13\n"),
            "{file} opened for writing\n{}",
            run.ctx()
        );
    }
    let run = run_attack("cat", &["/proc/self/comm"], &allow_all());
    assert_eq!(run.out, "attacker\n", "{}", run.ctx());
}

#[test]
fn writable_mounts_allow_every_change_and_read_only_ones_none() {
    let dir = fresh_dir("landlock-rw");
    let mut pb = allow_all();
    pb.add_directory_at(&dir, "/data", true)
        .add_tmpfs("/scratch", Some(1 << 20));
    for target in ["/data", "/scratch"] {
        let run = run_attack("fsops", &[target], &pb);
        assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
        if enforced(&run).is_none() {
            return;
        }
        for op in [
            "CREATE file",
            "WRITE file",
            "TRUNCATE file",
            "MKDIR",
            "MKFIFO",
            "SYMLINK",
            "RENAME into dir",
            "UNLINK",
            "RMDIR",
        ] {
            assert_eq!(line(&run, op), "ok", "{op} in {target}\n{}", run.ctx());
        }
        // Device nodes are never made (Landlock: EACCES; without it, no CAP_MKNOD: EPERM).
        assert!(
            ["errno 13", "errno 1"].contains(&line(&run, "MKNOD char")),
            "{}",
            run.ctx()
        );
    }
    // The attackers' directory is a read-only bind: the mount refuses first (EROFS).
    let run = run_attack("fsops", &[work_dir().to_str().unwrap()], &allow_all());
    assert_eq!(line(&run, "CREATE file"), "errno 30", "{}", run.ctx());
    assert_eq!(line(&run, "MKDIR"), "errno 30", "{}", run.ctx());
}

/// A host file of `text`, world-writable (the sandboxee's uid differs from the test's, and the
/// point is what Landlock adds to the file's own permissions), opened for `write` or reading.
fn host_file(tag: &str, write: bool) -> OwnedFd {
    use std::os::unix::fs::PermissionsExt;
    let path = fresh_dir(tag).join("file");
    std::fs::write(&path, "text\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    std::fs::OpenOptions::new()
        .read(!write)
        .append(write)
        .open(&path)
        .unwrap()
        .into()
}

#[test]
fn a_passed_fd_is_reopened_only_for_what_it_was_opened_for() {
    let policy = build(&allow_all());
    let mut ex = attack("reopen", &["5"]);
    ex.map_fd(host_file("landlock-ro", false), 5);
    let run = run_capture(ex, policy.clone());
    if enforced(&run).is_none() {
        return;
    }
    assert_eq!(line(&run, "REOPEN read"), "ok", "{}", run.ctx());
    assert_eq!(line(&run, "REOPEN write"), EACCES, "{}", run.ctx());

    let mut ex = attack("reopen", &["6"]);
    ex.map_fd(host_file("landlock-rw", true), 6);
    let run = run_capture(ex, policy);
    assert_eq!(line(&run, "REOPEN write"), "ok", "{}", run.ctx());
}

#[test]
fn the_result_names_the_abi_and_the_rights() {
    let run = run_attack("exit", &["0"], &allow_all());
    let Some(l) = enforced(&run) else { return };
    assert_eq!(Ok(l.abi), sbx::landlock::abi());
    let rights = l.fs_rights();
    for r in ["execute", "write_file", "make_reg", "make_char", "make_block"] {
        assert!(rights.contains(&r), "{r} not handled: {rights:?}");
    }
    for r in ["read_file", "read_dir"] {
        assert!(!rights.contains(&r), "{r} handled: {rights:?}");
    }
    if l.abi >= 6 {
        assert_eq!(l.scopes(), ["abstract_unix_socket", "signal"]);
    }
    // Without namespaces: the domain, but no filesystem rules.
    let run = run_capture(attack_no_ns("exit", &["0"]), build(&allow_all_no_ns()));
    assert_eq!(run.r.landlock.map(|l| l.fs_rights()), Some(vec!["make_block"]));
    assert!(run.r.fences.contains(&"landlock"), "{}", run.ctx());
}

#[test]
fn real_programs_run_under_the_rules() {
    // A shell that writes where the view is writable and to /dev/null. (Reopening a pipe through
    // /dev/stdout is Landlock's business only for files: pipes are not governed, and a root
    // host's pipe is closed to the sandboxee's uid by its mode anyway.)
    let mut pb = sbx::policy::presets::tool_default();
    pb.add_tmpfs("/work", None);
    let mut ex = sbx::Executor::new("/bin/sh");
    ex.args([
        "-c",
        "cd /work && echo a > f && mkdir d && mv f d/ && cat d/f && echo b > /dev/null \
         && ln -s d l && rm -r d l && echo done",
    ]);
    let run = run_capture(ex, build(&pb));
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    assert_eq!(run.r.exit_code, Some(0), "{}", run.ctx());
    assert_eq!(run.out, "a\ndone\n", "{}", run.ctx());
}
