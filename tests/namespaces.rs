//! Namespace and filesystem isolation (issue 3): attacker programs in real namespaced sandboxes
//! try to reach the host's files, network, processes and mount table, and the tests assert
//! where they land. Run as root (`cargo test`) and as uid 65534 (tests/run-unprivileged.sh).
//!
//! Every attack is harmless even if the sandbox were broken: it reads a file the test created,
//! writes a marker the test looks for in a temp dir of its own, connects to a listener the test
//! opened on 127.0.0.1 or to an abstract socket the test bound, or signals a `sleep` the test
//! started. The attacker also refuses to run at all unless its namespaces differ from the host's.

// Tests: their casts are of constants and of values the tests make themselves.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

mod common;

use common::*;
use sbx::{Error, Executor, PolicyBuilder, Sandbox, Status, Stdio};
use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Allow-all rules and a view holding only the attacker binary (not the test's temp dirs).
fn attacker_only() -> PolicyBuilder {
    let mut pb = allow_all_rules();
    pb.add_file(attacker());
    pb
}

/// Fails unless `run` ended OK after the attacked call failed with `errno`.
fn assert_errno(run: &Run, what: &str, errno: i32) {
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    assert!(
        run.out.contains(&format!("RETURNED {what} errno {errno}\n")),
        "expected {what} to fail with errno {errno} ({})\n{}",
        std::io::Error::from_raw_os_error(errno),
        run.ctx()
    );
}

/// The value printed on the line starting with `label` (`label ok` / `label errno N`).
fn line_result<'a>(out: &'a str, label: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(label).map(str::trim))
        .unwrap_or_else(|| panic!("no {label:?} line in:\n{out}"))
}

// ---------------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------------

#[test]
fn host_files_outside_the_view_do_not_exist() {
    // /etc/shadow is not in the view; neither is a file the test created in a temp dir that was
    // not added (only the attacker binary itself is mounted).
    let secret = fresh_dir("secret").join("secret.txt");
    std::fs::write(&secret, "host secret\n").unwrap();
    let pb = attacker_only();
    for path in [Path::new("/etc/shadow"), Path::new("/etc/passwd"), secret.as_path(), Path::new("/root"), Path::new("/home")] {
        let run = run_attack("cat", &[path.to_str().unwrap()], &pb);
        assert_errno(&run, "open", libc::ENOENT);
        assert!(!run.out.contains("host secret"), "{}", run.ctx());
    }
    // The same file is readable once added: the test is not vacuous.
    let mut pb = attacker_only();
    pb.add_file(&secret);
    let run = run_attack("cat", &[secret.to_str().unwrap()], &pb);
    assert!(run.r.success(), "{}", run.ctx());
    assert_eq!(run.out, "host secret\n", "{}", run.ctx());
}

#[test]
fn read_only_bind_mounts_refuse_writes() {
    use std::os::unix::fs::PermissionsExt;
    let dir = fresh_dir("robind");
    let data = dir.join("data");
    std::fs::write(&data, "original\n").unwrap();
    // World-writable, so only the read-only mount stands in the way (also for a root host,
    // whose sandboxee is an unprivileged host uid).
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o666)).unwrap();
    let mut pb = attacker_only();
    pb.add_directory(&dir);
    let newfile = dir.join("new");
    for path in [&data, &newfile] {
        let run = run_attack("write", &[path.to_str().unwrap(), "pwned\n"], &pb);
        assert_errno(&run, "open", libc::EROFS);
    }
    assert_eq!(std::fs::read_to_string(&data).unwrap(), "original\n", "the host file changed");
    assert!(!newfile.exists(), "a file appeared on the host");
    // Opening an existing file for writing (without truncation) fails the same way.
    let run = run_attack("openw", &[data.to_str().unwrap()], &pb);
    assert_errno(&run, "open", libc::EROFS);
}

#[test]
fn the_root_is_read_only_unless_asked_and_never_the_hosts() {
    // The sandbox's / is its own tmpfs: read-only by default; with set_root_writable the write
    // works there, and nothing appears on the host. The paths are in the test's own temp dir on
    // the host (created as parent directories of the attacker's mount inside), plus one in /
    // that the test removes should it ever appear on the host.
    let marker_name = format!("sbx-test-root-marker-{}", std::process::id());
    let in_root = PathBuf::from("/").join(&marker_name);
    let in_parent = work_dir().join(&marker_name);
    let cleanup = || {
        let _ = std::fs::remove_file(&in_root);
        let _ = std::fs::remove_file(&in_parent);
    };
    cleanup();
    let pb = attacker_only();
    for path in [&in_root, &in_parent] {
        let run = run_attack("write", &[path.to_str().unwrap(), "x"], &pb);
        let leaked = in_root.exists() || in_parent.exists();
        cleanup();
        assert!(!leaked, "the sandboxee wrote to the host's filesystem\n{}", run.ctx());
        assert_errno(&run, "open", libc::EROFS);
    }
    let mut pb = attacker_only();
    pb.set_root_writable();
    for path in [&in_root, &in_parent] {
        let run = run_attack("write", &[path.to_str().unwrap(), "x"], &pb);
        let leaked = in_root.exists() || in_parent.exists();
        cleanup();
        assert!(!leaked, "a write to the writable sandbox root reached the host\n{}", run.ctx());
        assert_eq!(run.r.exit_code, Some(RETURNED_OK), "the writable root refused a write\n{}", run.ctx());
    }
}

#[test]
fn writable_mounts_are_noexec_unless_allowed() {
    // A writable bind of a test dir: writes land on the host, but binaries there do not run.
    let dir = fresh_dir("rwbind");
    let bin = dir.join("copy");
    copy_executable(attacker(), &bin);
    let mut pb = attacker_only();
    pb.add_directory_at(&dir, &dir, true).allow_exec();
    let written = dir.join("written");
    let run = run_attack("write", &[written.to_str().unwrap(), "from inside\n"], &pb);
    assert_eq!(run.r.exit_code, Some(RETURNED_OK), "{}", run.ctx());
    assert_eq!(std::fs::read_to_string(&written).unwrap(), "from inside\n");
    // exec of the copy (the attacker re-executes it as "exit 7"): EACCES on a noexec mount.
    let run = run_attack("exec", &[bin.to_str().unwrap()], &pb);
    assert_errno(&run, "exec", libc::EACCES);
    // With allow_write_exec it runs.
    pb.allow_write_exec();
    let run = run_attack("exec", &[bin.to_str().unwrap()], &pb);
    assert_eq!(run.r.exit_code, Some(7), "{}", run.ctx());
}

// ---------------------------------------------------------------------------------------------
// Network
// ---------------------------------------------------------------------------------------------

fn tcp_listener() -> (std::net::TcpListener, String) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let port = l.local_addr().unwrap().port().to_string();
    (l, port)
}

#[test]
fn host_loopback_listener_is_unreachable_by_default() {
    let (listener, port) = tcp_listener();
    let run = run_attack("tcp", &[&port], &allow_all());
    assert_errno(&run, "connect", libc::ECONNREFUSED);
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the host listener got a connection from the sandbox: {other:?}\n{}", run.ctx()),
    }
}

#[test]
fn only_loopback_exists_and_it_is_up() {
    let run = run_attack("netdevs", &[], &allow_all());
    assert!(run.r.success(), "{}", run.ctx());
    let devs: Vec<&str> = run.out.lines().filter(|l| l.starts_with("DEV ")).collect();
    assert_eq!(devs.len(), 1, "interfaces other than lo:\n{}", run.ctx());
    assert!(devs[0].starts_with("DEV lo flags=") && devs[0].ends_with(" up"), "{}", run.ctx());
    let conf: Vec<&str> = run.out.lines().filter(|l| l.starts_with("IFCONF ")).collect();
    assert_eq!(conf, ["IFCONF lo"], "{}", run.ctx());
}

#[test]
fn share_network_reaches_the_host_listener() {
    let (listener, port) = tcp_listener();
    let mut pb = allow_all();
    pb.share_network();
    let run = run_capture(attack_expecting(NS_BUT_NET, "tcp", &[&port]), build(&pb));
    assert_eq!(run.r.exit_code, Some(RETURNED_OK), "{}", run.ctx());
    listener.set_nonblocking(false).unwrap();
    let (mut conn, _) = listener.accept().unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut got = String::new();
    conn.read_to_string(&mut got).unwrap();
    assert_eq!(got, "PING\n");
}

/// A listening abstract unix socket named `name` (no filesystem entry).
fn abstract_listener(name: &str) -> std::os::unix::net::UnixListener {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let l = std::os::unix::net::UnixListener::bind_addr(&addr).unwrap();
    l.set_nonblocking(true).unwrap();
    l
}

#[test]
fn host_abstract_unix_socket_is_unreachable() {
    use std::os::linux::net::SocketAddrExt;
    let name = format!("sbx-test-abstract-{}", std::process::id());
    let listener = abstract_listener(&name);
    // Default: abstract names live in the network namespace; the sandbox's has no such name.
    let run = run_attack("abstract", &[&name], &allow_all());
    assert_errno(&run, "connect", libc::ECONNREFUSED);
    // share_network: the name exists there, and Landlock's scoping refuses the connection.
    let mut pb = allow_all();
    pb.share_network();
    let run = run_capture(attack_expecting(NS_BUT_NET, "abstract", &[&name]), build(&pb));
    assert_errno(&run, "connect", libc::EPERM);
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the host's abstract socket got a connection from the sandbox: {other:?}"),
    }
    // Control: the same socket is reachable from the host.
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    std::os::unix::net::UnixStream::connect_addr(&addr).expect("the test's own connection");
}

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

#[test]
fn host_processes_are_invisible_and_unreachable() {
    let mut sleeper = HostSleeper::start();
    let pid = sleeper.pid().to_string();
    let pb = allow_all();
    // /proc lists the sandbox's init (1) and the sandboxee (2), nothing else.
    let run = run_attack("ps", &[], &pb);
    assert!(run.r.success(), "{}", run.ctx());
    assert_eq!(run.out, "PIDS 1 2\n", "{}", run.ctx());
    let run = run_attack("cat", &[&format!("/proc/{pid}/stat")], &pb);
    assert_errno(&run, "open", libc::ENOENT);
    let run = run_attack("peekmem", &[&pid], &pb);
    assert_errno(&run, "open mem", libc::ENOENT);
    let run = run_attack("kill", &[&pid, "15"], &pb);
    assert_errno(&run, "kill", libc::ESRCH);
    std::thread::sleep(Duration::from_millis(50));
    assert!(sleeper.alive(), "the host's sleep was killed from the sandbox");
}

#[test]
fn the_init_and_the_sandboxees_image_are_out_of_reach() {
    let run = run_attack("selfexe", &[], &allow_all());
    assert!(run.r.success(), "{}", run.ctx());
    let o = &run.out;
    let self_exe = line_result(o, "OPENW /proc/self/exe");
    assert!(
        ["errno 26", "errno 30", "errno 13"].contains(&self_exe),
        "/proc/self/exe opened for writing: {self_exe}\n{}",
        run.ctx()
    );
    // The init is non-dumpable and outside the sandboxee's Landlock domain.
    for label in ["OPENW /proc/1/exe", "OPENR /proc/1/exe", "READLINK /proc/1/exe", "OPENR /proc/1/mem", "OPENR /proc/1/environ"] {
        assert_eq!(line_result(o, label), "errno 13", "{label}\n{}", run.ctx());
    }
    assert_eq!(line_result(o, "KILL0 1"), "errno 1", "signal to the init\n{}", run.ctx());
}

// ---------------------------------------------------------------------------------------------
// Mount table
// ---------------------------------------------------------------------------------------------

#[test]
fn mount_calls_fail_even_under_allow_all() {
    // The mandatory rules do not cover mount(2) & co.: under AllowAll the calls run, and the
    // nested user namespace (no capability over the sandbox's mount namespace) makes them fail.
    let dir = fresh_dir("mnt");
    std::fs::write(dir.join("f"), "x").unwrap();
    let before = host_mountinfo();
    let mut pb = attacker_only();
    pb.add_directory(&dir);
    let run = run_attack("mounts", &[dir.to_str().unwrap()], &pb);
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    assert_eq!(run.r.exit_code, Some(0), "a mount call succeeded:\n{}", run.ctx());
    let calls: Vec<&str> = run.out.lines().collect();
    assert!(calls.len() >= 11, "{}", run.ctx());
    for l in calls {
        assert!(l.ends_with(" errno 1"), "not EPERM: {l}\n{}", run.ctx());
    }
    assert_eq!(host_mountinfo(), before, "the host's mount table changed");
    assert_eq!(std::fs::read_to_string(dir.join("f")).unwrap(), "x");

    // tool_default does not allow them at all: the first one is a violation.
    let mut pb = sbx::policy::presets::tool_default();
    pb.add_file(attacker()).add_directory(&dir);
    let run = run_attack("mounts", &[dir.to_str().unwrap()], &pb);
    let v = run.r.violation.as_ref().unwrap_or_else(|| panic!("expected a violation\n{}", run.ctx()));
    assert_eq!(v.name, "mount", "{}", run.ctx());
    assert_eq!(host_mountinfo(), before, "the host's mount table changed");
}

#[test]
fn dotdot_stays_at_the_sandbox_root() {
    let secret = fresh_dir("dotdot").join("secret.txt");
    std::fs::write(&secret, "host secret\n").unwrap();
    let run = run_attack("rootcheck", &[secret.to_str().unwrap()], &attacker_only());
    assert!(run.r.success(), "{}", run.ctx());
    let o = &run.out;
    assert_eq!(line_result(o, "ROOTLINK"), "/", "/proc/self/root is the sandbox root\n{}", run.ctx());
    let root = line_result(o, "INO /");
    for label in ["INO /..", "INO /../../..", "INO /proc/self/root/.."] {
        assert_eq!(line_result(o, label), root, "{label} left the root\n{}", run.ctx());
    }
    assert_eq!(line_result(o, "OPEN root/../../etc/shadow"), "errno 2", "{}", run.ctx());
    assert_eq!(line_result(o, "OPEN root/../..HOSTPATH"), "errno 2", "{}", run.ctx());
    assert_eq!(line_result(o, "OPEN /proc/self/root/../..HOSTPATH"), "errno 2", "{}", run.ctx());
    // The init's root is the same tree, and the init is out of reach anyway.
    assert_eq!(line_result(o, "OPEN /proc/1/root/etc/shadow"), "errno 13", "{}", run.ctx());
}

#[test]
fn a_passed_directory_fd_is_the_users_choice() {
    // Documented behaviour, as in sandbox2: a directory fd mapped into the sandbox is a handle on
    // the HOST's tree. openat(fd, "../..") walks up the host's directories (the sandbox root is
    // never on that path), so passing a directory fd hands over everything reachable from it.
    // Pass files, or directories whose ancestors hold nothing secret, or add_directory() instead.
    // The attacker only reads a file the test created two levels above the passed directory.
    let top = fresh_dir("leak");
    std::fs::create_dir_all(top.join("a/b")).unwrap();
    std::fs::write(top.join("above.txt"), "reachable from the fd\n").unwrap();
    let dir = std::fs::File::open(top.join("a/b")).unwrap();
    let mut ex = attack("leakfd", &["5", "../../above.txt"]);
    ex.map_fd(OwnedFd::from(dir), 5);
    let run = run_capture(ex, build(&attacker_only()));
    assert!(run.r.success(), "{}", run.ctx());
    assert_eq!(line_result(&run.out, "LEAK openat"), "ok", "{}", run.ctx());
    assert!(run.out.contains("LEAK CONTENT reachable from the fd"), "{}", run.ctx());
    // The same directory added with add_directory() is confined to its own tree.
    let mut pb = attacker_only();
    pb.add_directory(top.join("a/b"));
    let inside = top.join("a/b");
    let run = run_attack("cat", &[inside.join("../../above.txt").to_str().unwrap()], &pb);
    assert_errno(&run, "open", libc::ENOENT);
}

// ---------------------------------------------------------------------------------------------
// Privileges and identity
// ---------------------------------------------------------------------------------------------

#[test]
fn a_setuid_binary_gains_nothing() {
    use std::os::unix::fs::PermissionsExt;
    // A copy of the attacker with the setuid and setgid bits, owned (as root) by another uid.
    // Bind mounts are nosuid and the sandboxee has no_new_privs: its ids stay 1000.
    let dir = fresh_dir("suid");
    let bin = dir.join("suid-attacker");
    copy_executable(attacker(), &bin);
    if is_root() {
        std::os::unix::fs::chown(&bin, Some(12345), Some(12345)).unwrap();
    }
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o6755)).unwrap();
    assert_eq!(std::fs::metadata(&bin).unwrap().permissions().mode() & 0o7777, 0o6755);
    let mut pb = attacker_only();
    pb.add_directory(&dir);
    let mut ex = Executor::new(&bin);
    ex.arg("ids").args(sandbox_check_args());
    let run = run_capture(ex, build(&pb));
    assert!(run.r.success(), "{}", run.ctx());
    for k in ["UID", "EUID", "GID", "EGID"] {
        assert_eq!(field(&run.out, k), "1000", "{k}\n{}", run.ctx());
    }
}

#[test]
fn ids_and_hostname_inside() {
    let host_name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let run = run_attack("ids", &[], &allow_all());
    assert!(run.r.success(), "{}", run.ctx());
    for k in ["UID", "EUID", "GID", "EGID"] {
        assert_eq!(field(&run.out, k), "1000", "{k}\n{}", run.ctx());
    }
    assert_eq!(field(&run.out, "HOSTNAME"), "sandbox", "{}", run.ctx());
    let mut pb = allow_all();
    pb.hostname("sbx-test-host");
    let run = run_attack("ids", &[], &pb);
    assert_eq!(field(&run.out, "HOSTNAME"), "sbx-test-host", "{}", run.ctx());
    assert_eq!(std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap(), host_name, "the host's hostname changed");
    // Bad hostnames are refused by build().
    for bad in ["", "a/b", "with space", &"x".repeat(65)] {
        let mut pb = allow_all();
        pb.hostname(bad);
        assert!(matches!(pb.build(), Err(Error::InvalidArgument(_))), "hostname {bad:?} accepted");
    }
}

#[test]
fn no_new_user_namespace_inside() {
    // Mandatory: unshare(CLONE_NEWUSER) is a violation even under AllowAll...
    let flag = format!("{:#x}", libc::CLONE_NEWUSER);
    let run = run_attack("unshare_check", &[&flag], &allow_all());
    assert_violation(&run, "unshare");
    // ...and stays one when the policy turns unshare into an errno: the user's rule applies to
    // the calls without namespace flags only (see
    // policy::tests::mandatory_rules::flagged_calls_fall_through...).
    let mut pb = allow_all();
    pb.errno("unshare", libc::EPERM as u16);
    let run = run_attack("unshare_check", &[&flag], &pb);
    assert_violation(&run, "unshare");
    let run = run_attack("unshare_check", &[&format!("{:#x}", libc::CLONE_FS)], &pb);
    assert_eq!(run.r.exit_code, Some(RETURNED_EPERM), "{}", run.ctx());
    let before = line_result(&run.out, "USERNS BEFORE");
    assert_eq!(line_result(&run.out, "USERNS AFTER"), before, "{}", run.ctx());
}

// ---------------------------------------------------------------------------------------------
// The whole view
// ---------------------------------------------------------------------------------------------

/// Lines `attacker walk` prints for host path `host` mounted at `inside` (recursively).
fn expected_tree(host: &Path, inside: &Path, out: &mut Vec<String>) {
    let meta = std::fs::symlink_metadata(host).unwrap();
    let ft = meta.file_type();
    if ft.is_symlink() {
        let t = std::fs::read_link(host).unwrap();
        out.push(format!("l {} -> {}", inside.display(), t.display()));
    } else if ft.is_dir() {
        out.push(format!("d {}", inside.display()));
        for e in std::fs::read_dir(host).unwrap().flatten() {
            expected_tree(&e.path(), &inside.join(e.file_name()), out);
        }
    } else {
        out.push(format!("f {}", inside.display()));
    }
}

#[test]
fn the_view_is_exactly_what_the_policy_mounts() {
    let dir = fresh_dir("view");
    std::fs::create_dir_all(dir.join("sub/deeper")).unwrap();
    std::fs::write(dir.join("sub/file"), "1").unwrap();
    std::fs::write(dir.join("top"), "2").unwrap();
    std::os::unix::fs::symlink("/etc/shadow", dir.join("link-to-shadow")).unwrap();
    let extra = fresh_dir("view-file").join("f");
    std::fs::write(&extra, "3").unwrap();

    let mut pb = attacker_only();
    pb.add_directory_at(&dir, "/data/ro", false)
        .add_file_at(&extra, "/etc/only-file", false)
        .add_tmpfs("/scratch", Some(1 << 20));
    let policy = build(&pb);
    let run = run_capture(attack("walk", &[]), policy.clone());
    assert!(run.r.success(), "{}", run.ctx());
    assert!(run.out.ends_with("WALK DONE\n"), "{}", run.ctx());

    let mut want: Vec<String> = Vec::new();
    // Directories the library creates for mount points.
    let mut parents = std::collections::BTreeSet::new();
    for m in policy.mounts().mounts() {
        let mut p = m.inside.parent();
        while let Some(d) = p {
            if d != Path::new("/") {
                parents.insert(d.to_path_buf());
            }
            p = d.parent();
        }
        match &m.kind {
            sbx::mounts::MountKind::Bind { source, .. } => expected_tree(source, &m.inside, &mut want),
            sbx::mounts::MountKind::Tmpfs { .. } => want.push(format!("d {}", m.inside.display())),
            sbx::mounts::MountKind::Hidden { .. } => {}
        }
    }
    for d in parents {
        want.push(format!("d {}", d.display()));
    }
    want.push("d /proc".into());
    want.push("d /dev".into());
    for n in ["null", "zero", "full", "random", "urandom"] {
        want.push(format!("c /dev/{n}"));
    }
    want.push("l /dev/fd -> /proc/self/fd".into());
    for (i, n) in ["stdin", "stdout", "stderr"].iter().enumerate() {
        want.push(format!("l /dev/{n} -> /proc/self/fd/{i}"));
    }
    want.sort();
    want.dedup();
    let mut got: Vec<String> = run.out.lines().filter(|l| *l != "WALK DONE").map(str::to_string).collect();
    got.sort();
    assert_eq!(got, want, "the sandbox's tree differs from the policy's mounts\n{}", run.ctx());
}

// ---------------------------------------------------------------------------------------------
// Mount validation
// ---------------------------------------------------------------------------------------------

fn expect_invalid(what: &str, f: impl FnOnce(&mut PolicyBuilder)) {
    let mut pb = allow_all_rules();
    f(&mut pb);
    match pb.build() {
        Err(Error::InvalidArgument(_)) => {}
        other => panic!("{what}: expected InvalidArgument, got {other:?}"),
    }
}

#[test]
fn mount_validation_errors_come_from_build() {
    let dir = fresh_dir("validate");
    std::fs::create_dir(dir.join("exists")).unwrap();
    std::fs::write(dir.join("file"), "").unwrap();
    expect_invalid("relative target", |pb| {
        pb.add_directory_at("/usr", "usr", false);
    });
    expect_invalid("relative source", |pb| {
        pb.add_directory("usr");
    });
    for bad in ["/a/../b", "/a/./b", "/a//b", "/a/", "/..", "/a/.."] {
        expect_invalid(&format!("non-canonical {bad}"), |pb| {
            pb.add_tmpfs(bad, None);
        });
    }
    expect_invalid("NUL", |pb| {
        use std::os::unix::ffi::OsStrExt;
        pb.add_tmpfs(std::ffi::OsStr::from_bytes(b"/a\0b"), None);
    });
    for reserved in ["/proc", "/proc/x", "/dev", "/dev/shm", "/"] {
        expect_invalid(&format!("reserved {reserved}"), |pb| {
            pb.add_tmpfs(reserved, None);
        });
    }
    expect_invalid("file over directory mounts", |pb| {
        pb.add_tmpfs("/d/e", None).add_file_at("/etc/passwd", "/d", false);
    });
    expect_invalid("mount beneath a file", |pb| {
        pb.add_file("/etc/passwd").add_tmpfs("/etc/passwd/x", None);
    });
    expect_invalid("mount point missing inside a read-only bind", |pb| {
        pb.add_directory(&dir).add_tmpfs(dir.join("missing"), None);
    });
    expect_invalid("file mount point that is a directory in the bind", |pb| {
        pb.add_directory(&dir).add_file_at("/etc/passwd", dir.join("exists"), false);
    });
    expect_invalid("directory as a file", |pb| {
        pb.add_file("/usr");
    });
    expect_invalid("file as a directory", |pb| {
        pb.add_directory("/etc/passwd");
    });
    expect_invalid("missing source", |pb| {
        pb.add_directory(dir.join("no-such-dir"));
    });
    expect_invalid("two sources at one target", |pb| {
        pb.add_directory_at("/usr", "/x", false).add_directory_at("/etc", "/x", false);
    });
    expect_invalid("errors are sticky", |pb| {
        pb.add_tmpfs("relative", None).add_tmpfs("/fine", None);
    });
    // Valid counterparts build.
    let mut pb = allow_all_rules();
    pb.add_directory(&dir).add_tmpfs(dir.join("exists"), None).add_file_at(dir.join("file"), "/f", true);
    pb.build().expect("valid mounts");
    // No namespaces: any mount is refused.
    let mut pb = allow_all_rules();
    pb.disable_namespaces().add_tmpfs("/t", None);
    assert!(pb.build().is_err(), "mount without namespaces accepted");
}

#[test]
fn symlinked_mount_targets_fail_closed() {
    // At build time: the validator sees the symlink in the bound directory.
    let dir = fresh_dir("symtarget");
    std::os::unix::fs::symlink("/etc", dir.join("link")).unwrap();
    expect_invalid("tmpfs on a symlink inside a bind", |pb| {
        pb.add_directory_at(&dir, "/d", false).add_tmpfs("/d/link", None);
    });
    // At run time: the directory becomes a symlink after build() (a race the validator cannot
    // see). The init resolves targets beneath the new root without following symlinks, so the
    // run fails to set up instead of mounting over the symlink's target (a test dir here).
    let dir = fresh_dir("symrace");
    let victim = fresh_dir("symrace-victim");
    std::fs::write(victim.join("keep"), "kept\n").unwrap();
    std::fs::create_dir(dir.join("sub")).unwrap();
    let mut pb = attacker_only();
    pb.add_directory_at(&dir, "/d", false).add_tmpfs("/d/sub", None);
    let policy = build(&pb);
    std::fs::remove_dir(dir.join("sub")).unwrap();
    std::os::unix::fs::symlink(&victim, dir.join("sub")).unwrap();
    let before = host_mountinfo();
    let r = Sandbox::new(attack("exit", &["0"]), policy).run().unwrap();
    assert_eq!(r.status, Status::SetupError, "a symlinked target was followed: {r:?}");
    assert!(r.message.as_deref().unwrap_or("").contains("/d/sub"), "the error names the mount: {r:?}");
    assert_eq!(host_mountinfo(), before);
    assert_eq!(std::fs::read_to_string(victim.join("keep")).unwrap(), "kept\n");
}

// ---------------------------------------------------------------------------------------------
// Views for real programs
// ---------------------------------------------------------------------------------------------

#[test]
fn libraries_for_a_binary_are_enough_and_nothing_more() {
    let mut pb = allow_all_rules();
    pb.add_libraries_for_binary("/usr/bin/ls");
    let policy = build(&pb);
    let mounted: Vec<PathBuf> = policy.mounts().mounts().into_iter().map(|m| m.inside).collect();
    assert!(mounted.contains(&PathBuf::from("/usr/bin/ls")), "{mounted:?}");
    assert!(!mounted.iter().any(|p| p == Path::new("/usr") || p == Path::new("/usr/bin")), "{mounted:?}");
    let ls = |args: &[&str]| {
        let mut ex = Executor::new("/usr/bin/ls");
        ex.args(args.iter().copied()).stderr(Stdio::Null);
        run_capture(ex, policy.clone())
    };
    let run = ls(&["/"]);
    assert!(run.r.success(), "{}", run.ctx());
    assert!(run.out.lines().any(|l| l == "usr"), "{}", run.ctx());
    assert!(!run.out.lines().any(|l| l == "home" || l == "root"), "{}", run.ctx());
    let run = ls(&["/usr/bin"]);
    assert!(run.r.success(), "{}", run.ctx());
    assert_eq!(run.out, "ls\n", "the view holds more than ls in /usr/bin\n{}", run.ctx());
    let run = ls(&["/usr/bin/cat"]);
    assert_eq!(run.r.status, Status::Ok, "{}", run.ctx());
    assert_eq!(run.r.exit_code, Some(2), "/usr/bin/cat is in the view\n{}", run.ctx());
}

#[test]
fn tool_default_tmp_is_private_writable_and_noexec() {
    let name = format!("sbx-tooltest-{}", std::process::id());
    let script = format!(
        "echo data > /tmp/{name} && cat /tmp/{name}; \
         cp /bin/true /tmp/{name}.bin && chmod +x /tmp/{name}.bin && /tmp/{name}.bin; echo rc=$?; \
         test -e /home || echo nohome; test -e /root || echo noroot; cat /etc/shadow 2>/dev/null || echo noshadow; \
         touch /usr/{name} 2>/dev/null || echo usr-ro"
    );
    let mut ex = Executor::new("/bin/sh");
    ex.args(["-c", &script]).stderr(Stdio::Null);
    let run = run_capture(ex, build(&sbx::policy::presets::tool_default()));
    assert!(run.r.success(), "{}", run.ctx());
    assert_eq!(run.out, "data\nrc=126\nnohome\nnoroot\nnoshadow\nusr-ro\n", "{}", run.ctx());
    assert!(!Path::new("/tmp").join(&name).exists(), "the sandbox's /tmp is the host's");
    assert!(!Path::new("/usr").join(&name).exists());
}

/// Two sandboxes running at once share no /tmp and no /dev/shm (a cross-sandbox channel, and
/// a leak of one job's files to the next): one writes a mark into both and stays alive, the
/// other, started meanwhile, finds neither.
#[test]
fn concurrent_sandboxes_share_no_tmp_or_shm() {
    let policy = build(&sbx::policy::presets::tool_default());
    let shell = |script: &str| {
        let mut ex = Executor::new("/bin/sh");
        ex.argv(["sh", "-c", script]).env("PATH", "/usr/bin:/bin");
        ex
    };
    let (rd, wr) = pipe();
    let mut writer = shell("echo a > /tmp/mark && echo a > /dev/shm/mark && echo written && sleep 5");
    writer.stdin(Stdio::Null).stdout(Stdio::Fd(wr));
    let writer = Sandbox::new(writer, policy.clone());
    writer.start().unwrap();
    // Wait until the marks exist before looking from the second sandbox.
    let mut first = String::new();
    let mut rd = std::fs::File::from(rd);
    let mut byte = [0u8; 1];
    while !first.ends_with('\n') {
        match rd.read(&mut byte) {
            Ok(1) => first.push(byte[0] as char),
            _ => break,
        }
    }
    if first != "written\n" {
        writer.kill();
        let r = writer.wait().unwrap();
        panic!("the first sandbox did not write its marks: {r:?}");
    }
    let run = run_capture(
        shell("ls -A /tmp /dev/shm; test ! -e /tmp/mark && test ! -e /dev/shm/mark && echo clean"),
        policy,
    );
    writer.kill();
    let _ = writer.wait();
    assert!(run.r.success(), "{}", run.ctx());
    assert!(run.out.trim_end().ends_with("clean"), "{}", run.ctx());
}
