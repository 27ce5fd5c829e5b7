//! Shared helpers for the sandbox integration tests: building the attacker programs, the
//! "am I sandboxed" arguments they require, policies, running with captured output, and checks on
//! host processes.
//!
//! Every attacker program refuses to attack unless it runs under a seccomp filter and in
//! namespaces other than the host's (except the explicit no-namespace tests, which pass
//! `--expect-ns=0`): see tests/testcases/attacker.c.
//!
//! Namespaces are the default: the base policies below mount the per-process directory holding
//! the compiled attackers ([`work_dir`]) read-only at the same path, so the sandboxee finds them.

// Tests: their casts are of constants and of values the tests make themselves.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]
// Test harness: raw syscalls, fds and capabilities of the test process itself.
#![allow(unsafe_code)]

#![allow(dead_code)]

pub mod stall;

use sbx::{
    Arch, DefaultAction, Executor, Policy, PolicyBuilder, Reason, RunResult, Sandbox, Status, Stdio,
};
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Whether sandboxees are expected to run in their own namespaces: every attacker started with
/// [`attack`] requires all of its namespaces (pid, mnt, net, user, uts, ipc, cgroup) to differ
/// from the host's.
pub const EXPECT_NS: bool = true;

/// The namespaces a sandbox with `share_network()` must still have of its own.
pub const NS_BUT_NET: &str = "pid,mnt,user,uts,ipc,cgroup";

/// Exit codes of attacker.c.
pub const RETURNED_OK: i32 = 50;
pub const RETURNED_EPERM: i32 = 51;
pub const RETURNED_ERRNO: i32 = 52;
pub const NOT_SANDBOXED: i32 = 99;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temp dir unique to this test process (removed dirs of dead test processes on first use).
/// Named by the pid namespace too: test runs in different pid namespaces (`contain`) share
/// `/tmp` and reuse small pids, and must not clean up each other's directories.
pub fn work_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = std::env::temp_dir();
        let ns = std::fs::read_link("/proc/self/ns/pid")
            .ok()
            .and_then(|l| {
                let l = l.to_string_lossy().into_owned();
                l.strip_prefix("pid:[")?.strip_suffix(']').map(str::to_string)
            })
            .unwrap_or_else(|| "0".into());
        let prefix = format!("sbx-tests-{ns}-");
        if let Ok(rd) = std::fs::read_dir(&base) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if let Some(pid) = name
                    .strip_prefix(&prefix)
                    .and_then(|p| p.parse::<u32>().ok())
                {
                    if !Path::new(&format!("/proc/{pid}")).exists() {
                        let _ = std::fs::remove_dir_all(e.path());
                    }
                }
            }
        }
        let dir = base.join(format!("{prefix}{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        dir
    })
}

/// Copies `src` to `dst` in a child process (`cp`), for a file a sandbox will execute. Written
/// here, the file's write descriptor would be copied into any sandbox another test thread clones
/// meanwhile (the clone copies the fd table; close-on-exec closes it only at that child's own
/// exec, and an init never execs), and executing the file would fail with ETXTBSY until that
/// child closes it.
pub fn copy_executable(src: &Path, dst: &Path) {
    let st = std::process::Command::new("cp")
        .arg("--")
        .arg(src)
        .arg(dst)
        .status()
        .expect("cp");
    assert!(st.success(), "cp {} {}: {st}", src.display(), dst.display());
}

/// A fresh, empty directory inside [`work_dir`].
pub fn fresh_dir(tag: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = work_dir().join(format!("{tag}-{n}"));
    std::fs::create_dir_all(&d).unwrap();
    // World-writable: a root host's sandboxee runs as an unprivileged host uid of its own, so the
    // tests grant it access the way a user would, and what they exercise is the mount flags.
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).unwrap();
    d
}

/// Compiles `tests/testcases/<src>` with gcc and `flags` into the work dir. Panics with gcc's
/// output on failure (the tests need a C toolchain; 32-bit ones need gcc-multilib).
pub fn compile(src: &str, out: &str, flags: &[&str]) -> PathBuf {
    let src_path = manifest_dir().join("tests/testcases").join(src);
    let out_path = work_dir().join(out);
    let tmp = work_dir().join(format!("{out}.tmp"));
    let res = Command::new("gcc")
        .args(["-O1", "-Wall", "-o"])
        .arg(&tmp)
        .arg(&src_path)
        .args(flags)
        .output()
        .unwrap_or_else(|e| panic!("cannot run gcc to build {src}: {e} (install gcc)"));
    assert!(
        res.status.success(),
        "gcc {} {} failed ({}):\n{}{}",
        flags.join(" "),
        src,
        res.status,
        String::from_utf8_lossy(&res.stdout),
        String::from_utf8_lossy(&res.stderr)
    );
    std::fs::rename(&tmp, &out_path).unwrap();
    out_path
}

/// The 64-bit static multi-call attacker.
pub fn attacker() -> &'static Path {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| compile("attacker.c", "attacker", &["-static", "-pthread"]))
}

/// The 32-bit static attacker (`gcc -m32 -static`). A missing multilib toolchain is a failure.
pub fn attacker32() -> &'static Path {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let probe = Command::new("gcc").args(["-m32", "-print-libgcc-file-name"]).output();
        assert!(matches!(&probe, Ok(o) if o.status.success()), "gcc -m32 is unusable: the 32-bit tests need gcc-multilib (apt-get install gcc-multilib)");
        compile("attacker32.c", "attacker32", &["-m32", "-static"])
    })
}

/// `pid:[4026531836],mnt:[...],...` for the host (this test process).
pub fn host_ns_list() -> String {
    ["pid", "mnt", "net", "user", "uts", "ipc", "cgroup"]
        .iter()
        .map(|ns| {
            let l = std::fs::read_link(format!("/proc/self/ns/{ns}"))
                .unwrap_or_else(|e| panic!("readlink /proc/self/ns/{ns}: {e}"));
            let l = l.to_string_lossy().into_owned();
            // "pid:[4026531836]" -> keep as is; the attacker compares the full link text.
            let v = l.split_once(':').map(|(_, v)| v.to_string()).unwrap_or(l);
            format!("{ns}:{v}")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The two arguments every attacker requires after its mode.
pub fn sandbox_check_args() -> [String; 2] {
    sandbox_check_args_expecting(if EXPECT_NS { "1" } else { "0" })
}

/// The check arguments with an explicit `--expect-ns` value: "1" (all), "0" (none, for the
/// no-namespace tests) or a list such as [`NS_BUT_NET`].
pub fn sandbox_check_args_expecting(expect: &str) -> [String; 2] {
    [
        format!("--expect-ns={expect}"),
        format!("--host-ns={}", host_ns_list()),
    ]
}

/// An executor for `attacker MODE <check args> ARGS...`.
pub fn attack(mode: &str, args: &[&str]) -> Executor {
    attack_expecting(if EXPECT_NS { "1" } else { "0" }, mode, args)
}

/// [`attack`] with an explicit `--expect-ns` value.
pub fn attack_expecting(expect: &str, mode: &str, args: &[&str]) -> Executor {
    let mut ex = Executor::new(attacker());
    ex.arg(mode)
        .args(sandbox_check_args_expecting(expect))
        .args(args.iter().copied());
    ex
}

/// [`attack`] for a sandbox without namespaces (`--expect-ns=0`).
pub fn attack_no_ns(mode: &str, args: &[&str]) -> Executor {
    attack_expecting("0", mode, args)
}

/// What attacker.c needs for its sandbox check and output, on top of a static startup.
/// Static glibc 2.36 calls `readlink("/proc/self/exe")` and then `getrandom(8, GRND_NONBLOCK)`
/// (malloc's tcache key) before main; see
/// `violations::static_startup_group_is_enough_for_static_glibc`.
pub fn base_policy() -> PolicyBuilder {
    let mut pb = minimal_policy();
    pb.allow("readlink").allow("getrandom");
    pb
}

/// The sandbox2 "minimal binary" policy: static startup, exit, and what the sandbox check uses;
/// its view holds only the attackers' directory.
pub fn minimal_policy() -> PolicyBuilder {
    let mut pb = minimal_rules();
    with_attackers(&mut pb);
    pb
}

/// The syscall rules of [`minimal_policy`] without any mount.
pub fn minimal_rules() -> PolicyBuilder {
    let mut pb = PolicyBuilder::new();
    pb.allow_static_startup()
        .allow_exit()
        .allow_read()
        .allow_write();
    for s in ["openat", "close", "readlinkat"] {
        pb.allow(s);
    }
    pb
}

/// Everything allowed except what the mandatory rules forbid; the view holds the attackers.
pub fn allow_all() -> PolicyBuilder {
    let mut pb = allow_all_rules();
    with_attackers(&mut pb);
    pb
}

/// [`allow_all`] without any mount (for views built by the test itself).
pub fn allow_all_rules() -> PolicyBuilder {
    let mut pb = PolicyBuilder::new();
    pb.default_action(DefaultAction::AllowAll);
    pb
}

/// Mounts [`work_dir`] (the compiled attackers, and the tests' fresh directories) read-only at
/// its own path.
pub fn with_attackers(pb: &mut PolicyBuilder) -> &mut PolicyBuilder {
    attacker();
    pb.add_directory(work_dir())
}

/// [`base_policy`]'s rules for a sandbox without namespaces (the host's filesystem is visible).
pub fn base_policy_no_ns() -> PolicyBuilder {
    let mut pb = minimal_rules();
    pb.allow("readlink").allow("getrandom").disable_namespaces();
    pb
}

/// [`allow_all`] without namespaces.
pub fn allow_all_no_ns() -> PolicyBuilder {
    let mut pb = allow_all_rules();
    pb.disable_namespaces();
    pb
}

/// The monitor the suites run under: `SBX_TEST_MONITOR` (`auto`, `ptrace`, `unotify`; default
/// auto). scripts/test-all.sh runs the sandbox suites once per monitor.
pub fn test_monitor() -> sbx::Monitor {
    std::env::var("SBX_TEST_MONITOR")
        .ok()
        .and_then(|m| sbx::Monitor::from_name(&m))
        .unwrap_or_default()
}

/// `pb` with a network allow-list, built under [`test_monitor`]; `None` (after checking that the
/// build refuses it by name) under ptrace, which does not proxy connects.
pub fn build_net(pb: &PolicyBuilder) -> Option<sbx::Policy> {
    let mut pb = pb.clone();
    pb.monitor(test_monitor());
    match pb.build() {
        Ok(p) => {
            assert_ne!(
                test_monitor(),
                sbx::Monitor::Ptrace,
                "ptrace accepted an allow-list"
            );
            Some(p)
        }
        Err(e) if test_monitor() == sbx::Monitor::Ptrace => {
            assert!(
                e.to_string().contains("ptrace monitor does not proxy"),
                "{e}"
            );
            None
        }
        Err(e) => panic!("policy build failed: {e}"),
    }
}

/// Builds `pb` under [`test_monitor`] (a sandbox without namespaces stays on ptrace, the only
/// monitor that can watch it).
pub fn build(pb: &PolicyBuilder) -> Policy {
    let mut pb = pb.clone();
    if pb.namespace_settings().enabled {
        pb.monitor(test_monitor());
    }
    pb.build()
        .unwrap_or_else(|e| panic!("policy build failed: {e}"))
}

/// Whether the run was watched by the ptrace monitor (which counts tasks and sees signals).
pub fn ptraced(r: &sbx::RunResult) -> bool {
    r.fences.contains(&"ptrace_monitor")
}

pub fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 writes two new fds into the array.
    let r = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(r, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: both are fresh fds owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// Reads a pipe to EOF on a thread; join to get the bytes.
pub fn reader(fd: OwnedFd) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut f = std::fs::File::from(fd);
        let mut v = Vec::new();
        let _ = f.read_to_end(&mut v);
        String::from_utf8_lossy(&v).into_owned()
    })
}

/// The host pid of a sandbox that must be running; when it is not (its setup failed), the
/// panic carries its result.
pub fn running_pid(sb: &Sandbox) -> i32 {
    match sb.pid() {
        Some(p) if p > 0 => p,
        _ => panic!("the sandbox is not running: {:?}", sb.wait()),
    }
}

/// Output of a run.
pub struct Run {
    pub r: RunResult,
    pub out: String,
}

impl Run {
    pub fn ctx(&self) -> String {
        format!(
            "result: {} ({:?})\nstdout:\n{}",
            self.r.describe(),
            self.r,
            self.out
        )
    }
}

/// Runs with stdout captured through a pipe, stdin from /dev/null.
pub fn run_capture(mut ex: Executor, policy: Policy) -> Run {
    let (rd, wr) = pipe();
    ex.stdin(Stdio::Null).stdout(Stdio::Fd(wr));
    let h = reader(rd);
    let r = Sandbox::new(ex, policy)
        .run()
        .unwrap_or_else(|e| panic!("Sandbox::run failed: {e}"));
    let out = h.join().unwrap();
    let run = Run { r, out };
    assert_ne!(
        run.r.exit_code,
        Some(NOT_SANDBOXED),
        "the attacker saw no sandbox:\n{}",
        run.ctx()
    );
    run
}

/// Runs `attacker MODE ARGS` under `pb`.
pub fn run_attack(mode: &str, args: &[&str], pb: &PolicyBuilder) -> Run {
    run_capture(attack(mode, args), build(pb))
}

/// Asserts a VIOLATION of `name` through the native ABI and returns the violation.
pub fn assert_violation(run: &Run, name: &str) -> sbx::Violation {
    let r = &run.r;
    assert_eq!(
        r.status,
        Status::Violation,
        "expected a violation of {name}\n{}",
        run.ctx()
    );
    assert_eq!(r.reason(), Some(Reason::ViolationSyscall), "{}", run.ctx());
    assert_eq!(
        r.reason_code,
        Reason::ViolationSyscall as u32,
        "{}",
        run.ctx()
    );
    let v = r
        .violation
        .clone()
        .unwrap_or_else(|| panic!("no violation details\n{}", run.ctx()));
    assert_eq!(v.arch, Arch::X86_64, "{}", run.ctx());
    assert_eq!(v.name, name, "{}", run.ctx());
    let nr = syscall_nr(name);
    assert_eq!(v.nr, nr, "{}", run.ctx());
    assert!(v.pid > 0, "{}", run.ctx());
    assert!(
        r.describe()
            .starts_with(&format!("SYSCALL VIOLATION - [X86-64] {name}(")),
        "describe() = {:?}",
        r.describe()
    );
    // The call was stopped before it ran: the program never reported a return.
    assert!(
        !run.out.contains("RETURNED"),
        "the forbidden call returned:\n{}",
        run.ctx()
    );
    v
}

/// x86-64 number of a syscall name used in the tests (independent of the library's tables).
pub fn syscall_nr(name: &str) -> u64 {
    let n = match name {
        "ptrace" => libc::SYS_ptrace,
        "bpf" => libc::SYS_bpf,
        "clone" => libc::SYS_clone,
        "clone3" => libc::SYS_clone3,
        "unshare" => libc::SYS_unshare,
        "seccomp" => libc::SYS_seccomp,
        "io_uring_setup" => libc::SYS_io_uring_setup,
        "io_uring_enter" => libc::SYS_io_uring_enter,
        "io_uring_register" => libc::SYS_io_uring_register,
        "userfaultfd" => libc::SYS_userfaultfd,
        "perf_event_open" => libc::SYS_perf_event_open,
        "keyctl" => libc::SYS_keyctl,
        "add_key" => libc::SYS_add_key,
        "request_key" => libc::SYS_request_key,
        "init_module" => libc::SYS_init_module,
        "finit_module" => libc::SYS_finit_module,
        "delete_module" => libc::SYS_delete_module,
        "kexec_load" => libc::SYS_kexec_load,
        "kexec_file_load" => libc::SYS_kexec_file_load,
        "getuid" => libc::SYS_getuid,
        "getppid" => libc::SYS_getppid,
        "uname" => libc::SYS_uname,
        "ioctl" => libc::SYS_ioctl,
        "execve" => libc::SYS_execve,
        "execveat" => libc::SYS_execveat,
        "getpid" => libc::SYS_getpid,
        "mmap" => libc::SYS_mmap,
        "mprotect" => libc::SYS_mprotect,
        other => panic!("test helper does not know syscall {other}"),
    };
    n as u64
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Parses one pid per line.
pub fn parse_pids(s: &str) -> Vec<i32> {
    s.lines().filter_map(|l| l.trim().parse().ok()).collect()
}

/// `(state, ppid, session)` of a process.
pub type ProcStat = (char, i32, i32);

/// `(state, ppid, session)` of a live or zombie process, `None` if it is gone.
pub fn proc_stat(pid: i32) -> Option<ProcStat> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some((f[0].chars().next()?, f[1].parse().ok()?, f[3].parse().ok()?))
}

/// A process that still runs (or could run): exists and is neither a zombie nor dead.
pub fn is_running(pid: i32) -> bool {
    matches!(proc_stat(pid), Some((st, _, _)) if st != 'Z' && st != 'X')
}

/// Asserts that none of `pids` runs any more. Each must be gone, or a zombie whose parent is not
/// this process (an orphan reparented to the host's init, which reaps it on its own schedule).
/// Allows up to `grace` for SIGKILLed tasks to finish exiting.
pub fn assert_all_dead(pids: &[i32], grace: Duration, ctx: &str) {
    let me = std::process::id() as i32;
    let deadline = Instant::now() + grace;
    loop {
        let alive: Vec<(i32, Option<ProcStat>)> = pids
            .iter()
            .map(|&p| (p, proc_stat(p)))
            .filter(|(_, st)| match st {
                None => false,
                Some((s, ppid, _)) => !((*s == 'Z' || *s == 'X') && *ppid != me),
            })
            .collect();
        if alive.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "sandbox processes survived the run: {alive:?} (pid, (state, ppid, session))\n{ctx}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Pids of running (non-zombie) processes whose session id is `sid`.
pub fn session_members(sid: i32) -> Vec<i32> {
    let mut v = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            if let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() {
                if let Some((st, _, sess)) = proc_stat(pid) {
                    if sess == sid && st != 'Z' && st != 'X' {
                        v.push(pid);
                    }
                }
            }
        }
    }
    v
}

/// Zombie children of this process.
pub fn my_zombies() -> Vec<i32> {
    let me = std::process::id() as i32;
    let mut v = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            if let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() {
                if let Some((st, ppid, _)) = proc_stat(pid) {
                    if ppid == me && st == 'Z' {
                        v.push(pid);
                    }
                }
            }
        }
    }
    v
}

/// A value from /proc/self/status-style text printed by attacker "status" as `Key=value`.
pub fn field<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= in output:\n{out}"))
        .trim()
}

/// Reads a pipe on a thread and lets the test wait for a marker with a timeout.
pub struct Watch {
    rx: std::sync::mpsc::Receiver<Vec<u8>>,
    pub text: String,
}

impl Watch {
    pub fn new(fd: OwnedFd) -> Watch {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut f = std::fs::File::from(fd);
            let mut buf = [0u8; 4096];
            loop {
                match f.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if tx.send(buf[..n].to_vec()).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Watch {
            rx,
            text: String::new(),
        }
    }

    /// Waits until the text read so far contains `marker`; false on timeout or EOF.
    pub fn wait_for(&mut self, marker: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while !self.text.contains(marker) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(b) => self.text.push_str(&String::from_utf8_lossy(&b)),
                Err(_) => return false,
            }
        }
        true
    }
}

/// Whatever is in the pipe right now, without blocking (the writers may still be alive).
pub fn read_available(fd: &OwnedFd) -> String {
    use std::os::fd::AsRawFd;
    let raw = fd.as_raw_fd();
    // SAFETY: fcntl on an fd we own.
    unsafe {
        let fl = libc::fcntl(raw, libc::F_GETFL);
        libc::fcntl(raw, libc::F_SETFL, fl | libc::O_NONBLOCK);
    }
    let mut v = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: reading into a live buffer of the given size.
        let n = unsafe { libc::read(raw, buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            break;
        }
        v.extend_from_slice(&buf[..n as usize]);
    }
    String::from_utf8_lossy(&v).into_owned()
}

/// Running (non-zombie) processes whose executable is `exe` (this test process's own attacker
/// binaries live in a per-process directory, so unrelated host activity does not count).
pub fn running_with_exe(exe: &Path) -> Vec<i32> {
    let exe = std::fs::canonicalize(exe).unwrap_or_else(|e| panic!("{}: {e}", exe.display()));
    let exe = exe.as_path();
    let mut v = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            if let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() {
                if std::fs::read_link(format!("/proc/{pid}/exe"))
                    .ok()
                    .as_deref()
                    == Some(exe)
                    && is_running(pid)
                {
                    v.push(pid);
                }
            }
        }
    }
    v
}

// ---------------------------------------------------------------------------------------------
// Pid namespaces: the sandboxee reports pids of its own namespace (it is pid 2 there); the host
// sees other numbers. These map the sandbox's view onto the host's through /proc/<pid>/status
// "NSpid:" (host pid first, innermost last).
// ---------------------------------------------------------------------------------------------

/// `NSpid:` of a task: its pid in each pid namespace from the host's down to its own.
pub fn ns_pids(host_tid: i32) -> Option<Vec<i32>> {
    let s = std::fs::read_to_string(format!("/proc/{host_tid}/status")).ok()?;
    let l = s.lines().find_map(|l| l.strip_prefix("NSpid:"))?;
    Some(
        l.split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect(),
    )
}

/// The pid namespace link of a task (`pid:[4026532...]`).
pub fn pid_ns_of(host_tid: i32) -> Option<String> {
    std::fs::read_link(format!("/proc/{host_tid}/ns/pid"))
        .ok()
        .map(|l| l.to_string_lossy().into_owned())
}

/// The host tid of the task that is `inner` in the pid namespace of host task `member` (for
/// example the sandboxee's own pid from `RunResult::pid`/`Sandbox::pid`). Threads included.
pub fn host_pid_of(member: i32, inner: i32) -> Option<i32> {
    let ns = pid_ns_of(member)?;
    let rd = std::fs::read_dir("/proc").ok()?;
    for e in rd.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for t in tasks.flatten() {
            let Ok(tid) = t.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            match ns_pids(tid) {
                Some(v) if v.len() >= 2 && v.last() == Some(&inner) => {}
                _ => continue,
            }
            if pid_ns_of(tid).as_deref() == Some(ns.as_str()) {
                return Some(tid);
            }
        }
    }
    None
}

/// Maps every inner pid through [`host_pid_of`]; panics naming the ones it cannot find.
pub fn host_pids_of(member: i32, inner: &[i32]) -> Vec<i32> {
    inner
        .iter()
        .map(|&p| {
            host_pid_of(member, p).unwrap_or_else(|| {
                panic!("inner pid {p} of the sandbox of {member} not found on the host")
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Runs the test interacts with while they are alive
// ---------------------------------------------------------------------------------------------

/// A started sandbox whose stdout is watched and whose stdin is a pipe held by the test: the
/// attacker modes that wait on stdin (kids exit, child_sys, thread_sys) go on at [`Live::go`].
pub struct Live {
    pub sb: std::sync::Arc<Sandbox>,
    pub out: Watch,
    stdin: Option<OwnedFd>,
}

impl Live {
    pub fn start(mut ex: Executor, policy: Policy) -> Live {
        let (in_rd, in_wr) = pipe();
        let (out_rd, out_wr) = pipe();
        ex.stdin(Stdio::Fd(in_rd)).stdout(Stdio::Fd(out_wr));
        let sb = std::sync::Arc::new(Sandbox::new(ex, policy));
        sb.start()
            .unwrap_or_else(|e| panic!("Sandbox::start failed: {e}"));
        Live {
            sb,
            out: Watch::new(out_rd),
            stdin: Some(in_wr),
        }
    }

    /// Waits for `marker` on stdout; kills the sandbox and panics on timeout.
    pub fn expect(&mut self, marker: &str) {
        if !self.out.wait_for(marker, Duration::from_secs(10)) {
            self.sb.kill();
            panic!(
                "no {marker:?} from the sandboxee: {:?}\nstdout: {}",
                self.sb.wait(),
                self.out.text
            );
        }
    }

    /// The number after `tag` on a line of the output so far.
    pub fn reported(&self, tag: &str) -> i32 {
        self.out
            .text
            .lines()
            .find_map(|l| l.strip_prefix(tag))
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {tag:?} line in output:\n{}", self.out.text))
    }

    /// Closes stdin: the sandboxee's pending read returns.
    pub fn go(&mut self) {
        self.stdin.take();
    }

    /// Waits for the end; the rest of stdout is collected.
    pub fn finish(mut self) -> Run {
        self.go();
        let r = self
            .sb
            .wait()
            .unwrap_or_else(|e| panic!("wait failed: {e}"));
        self.out.wait_for("\u{0}never", Duration::from_secs(5));
        let run = Run {
            r,
            out: self.out.text.clone(),
        };
        assert_ne!(
            run.r.exit_code,
            Some(NOT_SANDBOXED),
            "the attacker saw no sandbox:\n{}",
            run.ctx()
        );
        run
    }
}

/// A harmless host process started by the test (`sleep 30`), killed and reaped on drop: the
/// target of the cross-boundary attacks (never pid 1, never anything else of the host).
///
/// As root it runs without capabilities (empty bounding and inheritable sets, through
/// `setpriv`), like the sandboxee: then only Landlock stands between a same-uid sandboxee without
/// namespaces and this process (a root sleep with full capabilities would also be protected by
/// the capability subset rule of ptrace access checks, hiding a Landlock failure).
pub struct HostSleeper(pub std::process::Child);

impl HostSleeper {
    pub fn start() -> HostSleeper {
        let mut cmd = if is_root() {
            let mut c = Command::new("setpriv");
            c.args(["--bounding-set=-all", "--inh-caps=-all", "--", "sleep"]);
            c
        } else {
            Command::new("sleep")
        };
        let c = cmd
            .arg("30")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("cannot start sleep (setpriv from util-linux is needed as root)");
        HostSleeper(c).wait_exec()
    }

    pub fn pid(&self) -> i32 {
        self.0.id() as i32
    }

    /// Still running (not killed by a signal from the sandbox).
    pub fn alive(&mut self) -> bool {
        matches!(self.0.try_wait(), Ok(None)) && is_running(self.pid())
    }

    /// Waits until `setpriv` has exec'd `sleep` (its comm is "sleep" and it holds no
    /// capabilities).
    fn wait_exec(self) -> HostSleeper {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let comm =
                std::fs::read_to_string(format!("/proc/{}/comm", self.pid())).unwrap_or_default();
            if comm.trim() == "sleep" {
                let st = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
                    .unwrap_or_default();
                let prm = st
                    .lines()
                    .find_map(|l| l.strip_prefix("CapPrm:"))
                    .map_or("", str::trim);
                assert_eq!(prm, "0000000000000000", "the host sleep holds capabilities");
                return self;
            }
            assert!(Instant::now() < deadline, "sleep did not start");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for HostSleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The host's mount table as this process sees it (for "nothing changed" checks).
pub fn host_mountinfo() -> String {
    std::fs::read_to_string("/proc/self/mountinfo").unwrap()
}

/// Host pids of the processes in pid namespace `ns` (a `pid:[...]` link text).
pub fn processes_in_pid_ns(ns: &str) -> Vec<i32> {
    let mut v = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            if let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() {
                if pid_ns_of(pid).as_deref() == Some(ns) && is_running(pid) {
                    v.push(pid);
                }
            }
        }
    }
    v
}

/// Asserts that no process runs in pid namespace `ns` any more (allowing `grace` for SIGKILLed
/// tasks to finish exiting): everything a namespaced sandbox started is gone.
pub fn assert_pid_ns_empty(ns: &str, grace: Duration, ctx: &str) {
    let deadline = Instant::now() + grace;
    loop {
        let left = processes_in_pid_ns(ns);
        if left.is_empty() {
            return;
        }
        if Instant::now() >= deadline {
            let st: Vec<_> = left.iter().map(|&p| (p, proc_stat(p))).collect();
            panic!("processes of the sandbox's pid namespace {ns} survived: {st:?}\n{ctx}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Open fds of this process, as (all but the library's idle host-id locks, those locks): a root
/// caller's library keeps the id locks of up to 4 ended sandboxes open for its next ones
/// (`host_id.rs`), so a count before and after many sandboxes leaves them out and bounds them
/// on their own.
pub fn fds_and_id_locks() -> (usize, usize) {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return (0, 0);
    };
    let (mut other, mut locks) = (0, 0);
    for e in dir.flatten() {
        if std::fs::read_link(e.path()).is_ok_and(|t| is_id_lock(&t)) {
            locks += 1;
        } else {
            other += 1;
        }
    }
    (other, locks)
}

/// Whether an fd's target is one of the library's host-id lock files (`host_id.rs`).
pub fn is_id_lock(target: &Path) -> bool {
    target.starts_with("/run/libsbx/ids") && target.extension().is_some_and(|x| x == "lock")
}

/// Most id locks a root caller's library keeps once its sandboxes have ended: 4 idle ones and
/// the process-wide id of sandboxes without namespaces.
pub const MAX_IDLE_ID_LOCKS: usize = 5;
