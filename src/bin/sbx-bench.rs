//! `sbx-bench`: side-by-side figures for libsbx, all measured in one run (design §5).
//!
//! `sbx-bench [--runs N] [--quick] [--monitor auto|ptrace|unotify]`. Prints one compact table:
//! (a) spawn-to-exit of `/bin/true`: plain spawn vs libsbx, and whole `unshare`/`bwrap` commands;
//! (b) sandboxes per second, sequential and from two threads;
//! (c) the host-size effect: the same spawns after the host touched 2 GiB, vs a plain `fork()`;
//! (d) a `getpid` loop bare, under a one-instruction filter, and under the default policy;
//! (e) the violation round trip vs a run that just exits;
//! (f) host threads while many sandboxes run;
//! (g) the cost of the C ABI's handle check (registry lookup and reference) per call.
//!
//! This is a benchmark, not a test: it asserts nothing and the machine is noisy, so read the
//! ratios, which are measured side by side in one run.

// The figures are f64: counts and nanoseconds far below 2^52, where the conversion is exact.
#![allow(clippy::cast_precision_loss)]

use sbx::{Executor, Policy, PolicyBuilder, RunResult, Sandbox, Status, Stdio};
use std::ffi::CString;
use std::fmt::Write as _;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio as PStdio};
use std::time::{Duration, Instant};

const USAGE: &str = "\
sbx-bench: libsbx benchmark (figures side by side, measured in one run)

USAGE: sbx-bench [--runs N] [--quick] [--monitor auto|ptrace|unotify] [--sections LETTERS]
    --runs N         repetitions of every timed spawn (default 200)
    --quick          fewer repetitions (30) and a shorter getpid loop: a smoke run in a few seconds
    --monitor M      the monitor of every namespaced sandbox (default auto)
    --sections LIST  only these sections, e.g. `e` or `ade` (default abcdefghij, all)
";

/// Source of the small static helper used by (d) and (e).
const HELPER_C: &str = r#"
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

static long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

static int cmp_long(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

/* connect PORT N: N blocking connects to 127.0.0.1:PORT, each closed at once; prints the p50
 * and p99 connect latency and the whole loop's time, in ns. */
static int connect_loop(int port, long n) {
    static long lat[100000];
    if (n < 1 || n > 100000) return 2;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    long t0 = now_ns();
    for (long i = 0; i < n; i++) {
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0) return 5;
        long a = now_ns();
        if (connect(s, (struct sockaddr *)&sa, sizeof sa) != 0) return 6;
        lat[i] = now_ns() - a;
        close(s);
    }
    long total = now_ns() - t0;
    qsort(lat, (size_t)n, sizeof lat[0], cmp_long);
    printf("%ld %ld %ld\n", lat[n / 2], lat[(n * 99) / 100], total);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    if (!strcmp(argv[1], "exit")) return 0;
    if (!strcmp(argv[1], "violate")) {
        syscall(SYS_ptrace, 0L, 0L, 0L, 0L); /* PTRACE_TRACEME: never allowed */
        return 3;
    }
    if (!strcmp(argv[1], "spin") && argc >= 3) {
        long end = now_ns() + atol(argv[2]) * 1000000L;
        volatile unsigned long x = 0;
        while (now_ns() < end) x++;
        return 0;
    }
    if (!strcmp(argv[1], "connect") && argc >= 4) return connect_loop(atoi(argv[2]), atol(argv[3]));
    if (!strcmp(argv[1], "getpid") && argc >= 3) {
        long n = atol(argv[2]);
        if (argc >= 4 && !strcmp(argv[3], "allow1")) {
            struct sock_filter f[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
            struct sock_fprog p = { 1, f };
            if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
                syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &p))
                return 4;
        }
        long t0 = now_ns();
        for (long i = 0; i < n; i++) syscall(SYS_getpid);
        long t1 = now_ns();
        printf("%ld\n", t1 - t0);
        return 0;
    }
    return 2;
}
"#;

// ----------------------------------------------------------------------------------------------
// Statistics and table

/// Samples of one measurement.
#[derive(Default)]
struct Samples(Vec<Duration>);

impl Samples {
    fn push(&mut self, d: Duration) {
        self.0.push(d);
    }
    fn mean_ms(&self) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        self.0.iter().map(Duration::as_secs_f64).sum::<f64>() * 1e3 / self.0.len() as f64
    }
    fn median_ms(&self) -> f64 {
        median(self.0.iter().map(|d| d.as_secs_f64() * 1e3).collect())
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Lines of the final table; printed at the end so progress output does not interleave.
#[derive(Default)]
struct Table(Vec<String>);

impl Table {
    fn section(&mut self, title: &str, columns: &str) {
        self.0.push(format!("{title:<58}{columns}"));
    }
    fn row(&mut self, label: &str, cells: &str) {
        self.0.push(format!("  {label:<56}{cells}"));
    }
    fn note(&mut self, text: &str) {
        self.0.push(format!("  note: {text}"));
    }
    /// Row with mean, median and the ratio of both to a base.
    fn timed(&mut self, label: &str, s: &Samples, base: Option<&Samples>) {
        let mut cells = format!("{:>9.3}{:>9.3}", s.mean_ms(), s.median_ms());
        if let Some(b) = base {
            let _ = write!(
                cells,
                "{:>8.2}x{:>8.2}x",
                s.mean_ms() / b.mean_ms(),
                s.median_ms() / b.median_ms()
            );
        }
        self.row(label, &cells);
    }
}

fn progress(what: &str) {
    eprintln!("sbx-bench: {what} ...");
}

// ----------------------------------------------------------------------------------------------
// The things being timed

/// One sandboxed run; `stdout` receives the sandboxee's fd 1 when given.
fn sandboxed(policy: &Policy, argv: &[&str], stdout: Option<OwnedFd>) -> sbx::Result<RunResult> {
    let mut ex = Executor::new(argv[0]);
    ex.argv(argv.iter().copied());
    ex.stdout(match stdout {
        Some(fd) => Stdio::Fd(fd),
        None => Stdio::Null,
    });
    Sandbox::new(ex, policy.clone()).run()
}

fn time_sandboxed(policy: &Policy, argv: &[&str]) -> Result<Duration, String> {
    let t = Instant::now();
    let r = sandboxed(policy, argv, None).map_err(|e| e.to_string())?;
    let d = t.elapsed();
    if r.status != Status::Ok {
        return Err(r.describe());
    }
    Ok(d)
}

/// A plain spawn and wait through std (posix_spawn, i.e. a vfork-style clone, in glibc).
fn time_command(argv: &[&str]) -> Result<Duration, String> {
    let t = Instant::now();
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .stdin(PStdio::null())
        .stdout(PStdio::null())
        .stderr(PStdio::piped())
        .output()
        .map_err(|e| format!("{}: {e}", argv[0]))?;
    let d = t.elapsed();
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("{} ({})", out.status, err.trim()));
    }
    Ok(d)
}

/// `fork()` + `execv()` + `waitpid()`: what a spawn costs when the page tables are copied.
struct ForkExec {
    path: CString,
    argv: [*const libc::c_char; 2],
}

impl ForkExec {
    fn new(path: &str) -> ForkExec {
        let path = CString::new(path).expect("path without NUL");
        let argv = [path.as_ptr(), std::ptr::null()];
        ForkExec { path, argv }
    }

    #[allow(unsafe_code)]
    fn time(&self) -> Result<Duration, String> {
        let t = Instant::now();
        // SAFETY: the child only calls execv and _exit (async-signal-safe) on data prepared
        // before the fork.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(format!("fork: {}", std::io::Error::last_os_error()));
        }
        if pid == 0 {
            // SAFETY: see above.
            unsafe {
                libc::execv(self.path.as_ptr(), self.argv.as_ptr());
                libc::_exit(127);
            }
        }
        let mut status = 0;
        // SAFETY: waiting for our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        let d = t.elapsed();
        if r != pid || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
            return Err(format!("fork+exec of {:?} failed (status {status:#x})", self.path));
        }
        Ok(d)
    }
}

/// Runs `f` `runs` times after two warm-up calls; the first error ends it.
fn repeat(runs: usize, mut f: impl FnMut() -> Result<Duration, String>) -> Result<Samples, String> {
    for _ in 0..2 {
        f()?;
    }
    let mut s = Samples::default();
    for _ in 0..runs {
        s.push(f()?);
    }
    Ok(s)
}

// ----------------------------------------------------------------------------------------------
// The static helper

struct Helper {
    dir: PathBuf,
    path: PathBuf,
}

impl Helper {
    fn build() -> Result<Helper, String> {
        let dir = std::env::temp_dir().join(format!("sbx-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let src = dir.join("helper.c");
        let path = dir.join("helper");
        std::fs::write(&src, HELPER_C).map_err(|e| format!("{}: {e}", src.display()))?;
        let helper = Helper { dir, path };
        let out = Command::new("gcc")
            .args(["-O2", "-static", "-o"])
            .arg(&helper.path)
            .arg(&src)
            .output()
            .map_err(|e| format!("gcc: {e} (install gcc and libc6-dev)"))?;
        if !out.status.success() {
            return Err(format!("gcc -static failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
        }
        Ok(helper)
    }

    fn path(&self) -> &str {
        self.path.to_str().unwrap_or("helper")
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// ns per getpid from one helper run's printed total.
fn ns_per_call(printed: &str, n: u64) -> Result<f64, String> {
    let total: f64 = printed.trim().parse().map_err(|_| format!("helper printed {printed:?}"))?;
    Ok(total / n as f64)
}

fn getpid_bare(h: &Helper, n: u64, allow1: bool) -> Result<f64, String> {
    let n_s = n.to_string();
    let mut cmd = Command::new(h.path());
    cmd.args(["getpid", n_s.as_str()]);
    if allow1 {
        cmd.arg("allow1");
    }
    let out = cmd.output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("helper failed: {}", out.status));
    }
    ns_per_call(&String::from_utf8_lossy(&out.stdout), n)
}

fn getpid_sandboxed(h: &Helper, policy: &Policy, n: u64) -> Result<f64, String> {
    let (r, w) = nix::unistd::pipe().map_err(|e| format!("pipe: {e}"))?;
    let n_s = n.to_string();
    let res = sandboxed(policy, &[h.path(), "getpid", &n_s], Some(w)).map_err(|e| e.to_string())?;
    if res.status != Status::Ok || res.exit_code != Some(0) {
        return Err(res.describe());
    }
    let mut text = String::new();
    std::fs::File::from(r).read_to_string(&mut text).map_err(|e| e.to_string())?;
    ns_per_call(&text, n)
}

// ----------------------------------------------------------------------------------------------
// Sections

/// The policies the sections run under.
struct Policies {
    /// `tool_default()`: the default filter, namespaces and the tool view (what sbx-run uses).
    tool: Policy,
    /// The same sharing the host's network namespace: the difference is the new netns's share.
    tool_shared_net: Option<Policy>,
    /// The same in the process's shared empty network namespace (`NetNs::Shared`, root only).
    tool_shared_empty: Option<Policy>,
    /// The dynamic-startup group and exit, no namespaces: seccomp + monitor only.
    bare: Option<Policy>,
    /// `tool_default()` plus the static helper's file (it lives outside the tool view).
    helper: Option<Policy>,
}

impl Policies {
    fn build(helper: &Result<Helper, String>, monitor: sbx::Monitor) -> Result<Policies, String> {
        let tool = sbx::policy::presets::tool_default()
            .monitor(monitor)
            .build()
            .map_err(|e| format!("tool_default: {e}"))?;
        let tool_shared_net = {
            let mut b = sbx::policy::presets::tool_default();
            b.share_network().monitor(monitor);
            b.build().ok()
        };
        let tool_shared_empty = {
            let mut b = sbx::policy::presets::tool_default();
            b.network_namespace(sbx::namespaces::NetNs::Shared).monitor(monitor);
            b.build().ok()
        };
        let mut b = PolicyBuilder::new();
        b.allow_dynamic_startup().allow_exit().disable_namespaces();
        let bare = b.build().ok();
        let helper = helper.as_ref().ok().and_then(|h| helper_policy(h, monitor).ok());
        Ok(Policies { tool, tool_shared_net, tool_shared_empty, bare, helper })
    }
}

/// `tool_default()` plus the static helper's file (it lives outside the tool view), under `monitor`.
fn helper_policy(h: &Helper, monitor: sbx::Monitor) -> sbx::Result<Policy> {
    let mut b = sbx::policy::presets::tool_default();
    b.add_file(&h.path).monitor(monitor);
    b.build()
}

struct Config {
    runs: usize,
    getpid_n: u64,
    getpid_reps: usize,
    big_bytes: usize,
    monitor: sbx::Monitor,
    /// Letters of the sections to run.
    sections: String,
}

impl Config {
    fn wants(&self, section: char) -> bool {
        self.sections.contains(section)
    }
}

#[allow(clippy::too_many_lines)] // one table section: its runs, then its rows
fn section_a(t: &mut Table, cfg: &Config, pol: &Policies) -> Option<Samples> {
    let policy = &pol.tool;
    progress("(a) spawn of /bin/true");
    t.section("(a) spawn -> exit of /bin/true (ms)", "     mean   median  x plain (mean / median)");
    // Plain and sandboxed are interleaved, so drift in the machine affects both alike.
    let mut plain = Samples::default();
    let mut sbx = Samples::default();
    let mut bare = pol.bare.as_ref().map(|_| Samples::default());
    let mut shared_net = pol.tool_shared_net.as_ref().map(|_| Samples::default());
    // The shared empty namespace needs a root caller: the row is left out otherwise.
    let mut shared_empty = pol
        .tool_shared_empty
        .as_ref()
        .filter(|p| time_sandboxed(p, &["/bin/true"]).is_ok())
        .map(|_| Samples::default());
    // Per-step setup latency of the full sandbox, summed over the runs (RunResult::setup_latency).
    let mut steps: Vec<(&'static str, Duration)> = Vec::new();
    let warm = time_command(&["/bin/true"]).and_then(|_| time_sandboxed(policy, &["/bin/true"]));
    if let Err(e) = warm {
        t.note(&format!("spawn failed, section skipped: {e}"));
        return None;
    }
    if let Some(Err(e)) = pol.bare.as_ref().map(|p| time_sandboxed(p, &["/bin/true"])) {
        t.note(&format!("no-namespace policy failed, row skipped: {e}"));
        bare = None;
    }
    for _ in 0..cfg.runs {
        match (time_command(&["/bin/true"]), time_sandboxed(policy, &["/bin/true"])) {
            (Ok(p), Ok(s)) => {
                plain.push(p);
                sbx.push(s);
            }
            (Err(e), _) | (_, Err(e)) => {
                t.note(&format!("spawn failed: {e}"));
                return None;
            }
        }
        match sandboxed(policy, &["/bin/true"], None) {
            Ok(r) => {
                for st in &r.setup_latency {
                    match steps.iter_mut().find(|(n, _)| *n == st.step) {
                        Some((_, d)) => *d += st.took,
                        None => steps.push((st.step, st.took)),
                    }
                }
            }
            Err(e) => t.note(&format!("breakdown run failed: {e}")),
        }
        if let (Some(samples), Some(p)) = (shared_net.as_mut(), pol.tool_shared_net.as_ref()) {
            if let Ok(d) = time_sandboxed(p, &["/bin/true"]) {
                samples.push(d);
            }
        }
        if let (Some(samples), Some(p)) = (shared_empty.as_mut(), pol.tool_shared_empty.as_ref()) {
            if let Ok(d) = time_sandboxed(p, &["/bin/true"]) {
                samples.push(d);
            }
        }
        if let (Some(samples), Some(p)) = (bare.as_mut(), pol.bare.as_ref()) {
            match time_sandboxed(p, &["/bin/true"]) {
                Ok(d) => samples.push(d),
                Err(e) => {
                    t.note(&format!("no-namespace policy failed: {e}"));
                    bare = None;
                }
            }
        }
    }
    t.timed("plain spawn (std Command: posix_spawn + wait)", &plain, Some(&plain));
    if let Some(b) = &bare {
        t.timed("libsbx, no namespaces (seccomp + ptrace monitor)", b, Some(&plain));
    }
    t.timed("libsbx, tool_default (+ 7 namespaces, tool view)", &sbx, Some(&plain));
    if let Some(sn) = &shared_net {
        t.timed("libsbx, tool_default but the host's network", sn, Some(&plain));
        t.note(&format!(
            "network namespace's share of the full sandbox: {:.3} ms of {:.3} ms (medians)",
            sbx.median_ms() - sn.median_ms(),
            sbx.median_ms()
        ));
    }
    if let Some(se) = &shared_empty {
        t.timed("libsbx, tool_default in the shared empty netns (NetNs::Shared)", se, Some(&plain));
    }
    if !steps.is_empty() {
        let n = cfg.runs.max(1) as f64;
        let total: f64 = steps.iter().map(|(_, d)| d.as_secs_f64() * 1e3 / n).sum();
        t.note(&format!("setup latency breakdown of the full sandbox (mean of {} runs, {total:.3} ms to exec):", cfg.runs));
        for (name, d) in &steps {
            t.note(&format!("    {:<40} {:>7.3} ms", name, d.as_secs_f64() * 1e3 / n));
        }
    }

    // Whole commands, each a plain spawn of a launcher that then runs /bin/true.
    let sbx_run = std::env::current_exe().ok().and_then(|p| p.parent().map(|d| d.join("sbx-run")));
    let mut whole: Vec<(String, Vec<String>)> = Vec::new();
    if let Some(p) = sbx_run.filter(|p| p.exists()) {
        // A static-pie sbx-run (scripts/build-cli.sh) has no program interpreter to load.
        let linked = match std::fs::read(&p) {
            Ok(bytes) if bytes.windows(15).any(|w| w == b"/lib64/ld-linux") => "dynamic",
            Ok(_) => "static-pie",
            Err(_) => "unreadable",
        };
        whole.push((
            format!("whole cmd: sbx-run --version ({linked})"),
            vec![p.display().to_string(), "--version".into()],
        ));
        whole.push((
            format!("whole cmd: sbx-run -q -- /bin/true ({linked})"),
            vec![p.display().to_string(), "-q".into(), "--".into(), "/bin/true".into()],
        ));
    } else {
        t.note("sbx-run is not built next to sbx-bench: its whole-command row is skipped");
    }
    whole.push(("whole cmd: unshare -Ur /bin/true".into(), ["unshare", "-Ur", "/bin/true"].map(String::from).to_vec()));
    // bwrap with the same view as tool_default(): the system directories (symlinks kept as
    // symlinks), /etc read-only, a private /tmp and /dev/shm, /proc and /dev.
    let mut bwrap: Vec<String> = ["bwrap", "--unshare-all", "--die-with-parent"].map(String::from).to_vec();
    for d in sbx::policy::presets::SYSTEM_DIRECTORIES.iter().chain(["/etc"].iter()) {
        let p = Path::new(d);
        if p.is_symlink() {
            if let Ok(to) = std::fs::read_link(p) {
                bwrap.extend([
                    "--symlink".into(),
                    to.display().to_string(),
                    (*d).to_string(),
                ]);
            }
        } else if p.is_dir() {
            bwrap.extend(["--ro-bind".into(), (*d).to_string(), (*d).to_string()]);
        }
    }
    // The withheld /etc entries are covered like tool_view covers them (files by /dev/null).
    for (f, _) in sbx::policy::presets::ETC_WITHHELD {
        if Path::new(f).is_file() && !f.contains('*') {
            bwrap.extend(["--ro-bind".into(), "/dev/null".into(), f.to_string()]);
        }
    }
    bwrap.extend(["--tmpfs", "/tmp", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/dev/shm", "/bin/true"].map(String::from));
    whole.push(("whole cmd: bwrap --unshare-all, tool_default's view".into(), bwrap));
    for (label, argv) in &whole {
        if !argv[0].contains('/') && which(&argv[0]).is_none() {
            t.note(&format!("{} is not installed: row skipped", argv[0]));
            continue;
        }
        let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
        match repeat(cfg.runs, || time_command(&refs)) {
            Ok(s) => t.timed(label, &s, Some(&plain)),
            Err(e) => t.note(&format!("{label}: failed, skipped: {e}")),
        }
    }
    Some(sbx)
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

fn section_b(t: &mut Table, cfg: &Config, policy: &Policy) {
    // Sandboxes of the default policy (namespaces and the tool view).
    progress("(b) sandboxes per second");
    t.section("(b) sandboxes per second (/bin/true)", "  per sec  x sequential");
    let run_n = |n: usize| -> Result<(), String> {
        for _ in 0..n {
            time_sandboxed(policy, &["/bin/true"])?;
        }
        Ok(())
    };
    let n = cfg.runs.max(20);
    let t0 = Instant::now();
    if let Err(e) = run_n(n) {
        t.note(&format!("failed: {e}"));
        return;
    }
    let seq = n as f64 / t0.elapsed().as_secs_f64();
    t.row("sequential", &format!("{seq:>9.0}{:>8.2}x", 1.0));
    let t0 = Instant::now();
    let results: Vec<Result<(), String>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..2).map(|_| s.spawn(|| run_n(n / 2))).collect();
        hs.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("thread panicked".into()))).collect()
    });
    if let Some(Err(e)) = results.into_iter().find(Result::is_err) {
        t.note(&format!("2 threads failed: {e}"));
        return;
    }
    let par = (n / 2 * 2) as f64 / t0.elapsed().as_secs_f64();
    t.row("2 threads", &format!("{par:>9.0}{:>8.2}x", par / seq));
}

/// Live network namespaces of the whole host, those the kernel still tears down included (the
/// `net_namespace` slab's active objects; root only), or `None`.
fn netns_objects() -> Option<u64> {
    let slab = std::fs::read_to_string("/proc/slabinfo").ok()?;
    slab.lines()
        .find(|l| l.starts_with("net_namespace "))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// This process's resident memory in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// (j) A sustained rate: sandboxes of `/bin/true` back to back from two threads for `secs`
/// seconds; the rate, p50/p99 of spawn -> result, and what is left behind (network namespaces
/// still being torn down, host memory).
fn section_j(t: &mut Table, pol: &Policies, secs: u64) {
    progress("(j) sustained rate");
    t.section(
        &format!("(j) sustained: /bin/true from 2 threads for {secs} s"),
        "  per sec   p50 ms   p99 ms  netns +end/+2s  RSS +KiB",
    );
    let mut rows: Vec<(&str, &Policy)> = vec![("per-sandbox network namespace (default)", &pol.tool)];
    if let Some(p) = pol.tool_shared_empty.as_ref().filter(|p| time_sandboxed(p, &["/bin/true"]).is_ok()) {
        rows.push(("shared empty network namespace (NetNs::Shared)", p));
    }
    for (label, policy) in rows {
        let (ns0, rss0) = (netns_objects(), rss_kib());
        let until = Instant::now() + Duration::from_secs(secs);
        let lat: Vec<Result<Vec<Duration>, String>> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..2)
                .map(|_| {
                    s.spawn(|| {
                        let mut v = Vec::new();
                        while Instant::now() < until {
                            v.push(time_sandboxed(policy, &["/bin/true"])?);
                        }
                        Ok(v)
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("thread panicked".into()))).collect()
        });
        let mut all = Vec::new();
        for r in lat {
            match r {
                Ok(v) => all.extend(v),
                Err(e) => return t.note(&format!("{label}: {e}")),
            }
        }
        let ns_end = netns_objects();
        std::thread::sleep(Duration::from_secs(2));
        let ns_later = netns_objects();
        let mut ms: Vec<f64> = all.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // an index, 0..len
        let p = |q: f64| ms.get(((ms.len() as f64 - 1.0) * q) as usize).copied().unwrap_or(f64::NAN);
        let delta = |x: Option<u64>| match (ns0, x) {
            (Some(a), Some(b)) => format!("{:+}", i128::from(b) - i128::from(a)),
            _ => "?".into(),
        };
        t.row(
            label,
            &format!(
                "{:>9.0}{:>9.3}{:>9.3}{:>9}/{:<6}{:>+9}",
                ms.len() as f64 / secs as f64,
                p(0.5),
                p(0.99),
                delta(ns_end),
                delta(ns_later),
                i128::from(rss_kib()) - i128::from(rss0)
            ),
        );
    }
    t.note("netns: the host's network namespace objects (slabinfo, root) after the run / 2 s later, against before");
}

fn section_c(t: &mut Table, cfg: &Config, policy: &Policy, small_sbx: Option<&Samples>) {
    progress("(c) host size effect (small host)");
    let gib = cfg.big_bytes as f64 / (1u64 << 30) as f64;
    t.section(
        &format!("(c) host size: spawn after host touched {gib:.0} GiB (ms)"),
        " small med  big med  big/small",
    );
    let fork_runs = cfg.runs.min(50);
    let fx = ForkExec::new("/bin/true");
    // Small-host figures, taken now (the sandboxed one is (a)'s when available).
    let small_cmd = repeat(cfg.runs, || time_command(&["/bin/true"]));
    let small_fork = repeat(fork_runs, || fx.time());
    let small_sbx = match small_sbx {
        Some(s) => Ok(Samples(s.0.clone())),
        None => repeat(cfg.runs, || time_sandboxed(policy, &["/bin/true"])),
    };

    progress(&format!("(c) touching {gib:.0} GiB"));
    let mut big: Vec<u8> = Vec::new();
    if big.try_reserve_exact(cfg.big_bytes).is_err() {
        t.note(&format!("cannot allocate {gib:.0} GiB: section skipped"));
        return;
    }
    big.resize(cfg.big_bytes, 0);
    for i in (0..big.len()).step_by(4096) {
        big[i] = 1;
    }
    std::hint::black_box(&big);
    progress("(c) host size effect (big host)");
    let big_sbx = repeat(cfg.runs, || time_sandboxed(policy, &["/bin/true"]));
    let big_cmd = repeat(cfg.runs, || time_command(&["/bin/true"]));
    let big_fork = repeat(fork_runs, || fx.time());
    drop(big);

    let rows = [
        ("libsbx, tool_default (clone(CLONE_VM))", small_sbx, big_sbx),
        ("plain spawn (std Command: posix_spawn)", small_cmd, big_cmd),
        ("plain fork() + exec (page tables copied)", small_fork, big_fork),
    ];
    for (label, small, big) in &rows {
        match (small, big) {
            (Ok(s), Ok(b)) => t.row(
                label,
                &format!("{:>9.3}{:>9.3}{:>10.2}x", s.median_ms(), b.median_ms(), b.median_ms() / s.median_ms()),
            ),
            (Err(e), _) | (_, Err(e)) => t.note(&format!("{label}: failed: {e}")),
        }
    }
    if let ((_, _, Ok(sbx)), (_, _, Ok(fork))) = (&rows[0], &rows[2]) {
        t.note(&format!("big host: fork()+exec is {:.1}x libsbx's spawn", fork.median_ms() / sbx.median_ms()));
    }
}

fn section_d(t: &mut Table, cfg: &Config, policy: Option<&Policy>, helper: &Result<Helper, String>) {
    progress("(d) getpid loop");
    t.section(
        &format!("(d) getpid loop, N={} (ns/call, median of {})", cfg.getpid_n, cfg.getpid_reps),
        "  ns/call   x bare",
    );
    let (h, policy) = match (helper, policy) {
        (Ok(h), Some(p)) => (h, p),
        (Err(e), _) => {
            t.note(&format!("no static helper ({e}): section skipped"));
            return;
        }
        (Ok(_), None) => {
            t.note("the helper's policy does not build: section skipped");
            return;
        }
    };
    let mut bare = Vec::new();
    let mut allow1 = Vec::new();
    let mut sbx = Vec::new();
    let mut errors = Vec::new();
    for _ in 0..cfg.getpid_reps {
        match getpid_bare(h, cfg.getpid_n, false) {
            Ok(v) => bare.push(v),
            Err(e) => errors.push(format!("bare: {e}")),
        }
        match getpid_bare(h, cfg.getpid_n, true) {
            Ok(v) => allow1.push(v),
            Err(e) => errors.push(format!("one-instruction filter: {e}")),
        }
        match getpid_sandboxed(h, policy, cfg.getpid_n) {
            Ok(v) => sbx.push(v),
            Err(e) => errors.push(format!("libsbx: {e}")),
        }
    }
    let bare = median(bare);
    for (label, v) in [
        ("bare", bare),
        ("one-instruction RET_ALLOW filter (seccomp floor)", median(allow1)),
        ("libsbx tool_default (monitor attached)", median(sbx)),
    ] {
        if v.is_nan() {
            continue;
        }
        t.row(label, &format!("{v:>9.1}{:>8.2}x", v / bare));
    }
    errors.dedup();
    for e in errors.iter().take(3) {
        t.note(e);
    }
}

fn section_e(t: &mut Table, cfg: &Config, policy: Option<&Policy>, helper: &Result<Helper, String>) {
    progress("(e) violation round trip");
    t.section("(e) violation round trip: start -> result (ms)", "     mean   median  x exit (mean / median)");
    let (h, policy) = match (helper, policy) {
        (Ok(h), Some(p)) => (h, p),
        (Err(e), _) => {
            t.note(&format!("no static helper ({e}): section skipped"));
            return;
        }
        (Ok(_), None) => {
            t.note("the helper's policy does not build: section skipped");
            return;
        }
    };
    let exit = repeat(cfg.runs, || time_sandboxed(policy, &[h.path(), "exit"]));
    let violate = repeat(cfg.runs, || time_violation(policy, h));
    match (exit, violate) {
        (Ok(x), Ok(v)) => {
            t.timed("static helper exits at once (OK)", &x, Some(&x));
            t.timed("static helper calls ptrace at once (VIOLATION)", &v, Some(&x));
            t.row(
                "violation handling (median difference)",
                &format!("{:>18.3}", v.median_ms() - x.median_ms()),
            );
        }
        (Err(e), _) | (_, Err(e)) => t.note(&format!("failed: {e}")),
    }
    monitors_compared(t, cfg, h);
}

/// Start -> VIOLATION result of the helper's forbidden call.
fn time_violation(policy: &Policy, h: &Helper) -> Result<Duration, String> {
    let t0 = Instant::now();
    let r = sandboxed(policy, &[h.path(), "violate"], None).map_err(|e| e.to_string())?;
    let d = t0.elapsed();
    match r.status {
        Status::Violation => Ok(d),
        _ => Err(format!("expected VIOLATION, got {}", r.describe())),
    }
}

/// The violation round trip under each monitor, the runs alternating so that the machine's
/// drift affects both alike (issue 10: user-notify's must not exceed ptrace's).
fn monitors_compared(t: &mut Table, cfg: &Config, h: &Helper) {
    const BLOCK: usize = 25;
    let build = |m: sbx::Monitor| helper_policy(h, m).map_err(|e| format!("{}: {e}", m.name()));
    let (ptrace, unotify) = match (build(sbx::Monitor::Ptrace), build(sbx::Monitor::Unotify)) {
        (Ok(p), Ok(u)) => (p, u),
        (Err(e), _) | (_, Err(e)) => {
            t.note(&format!("monitors not compared: {e}"));
            return;
        }
    };
    // Blocks of BLOCK runs each, alternating: a host changes monitor rarely, and the switch
    // (the supervisor leaves or enters its epoll-only sleep) should not be in every sample.
    let mut by = [Samples::default(), Samples::default()];
    let blocks = cfg.runs.div_ceil(BLOCK);
    let measured = (0..blocks).try_for_each(|_| -> Result<(), String> {
        for (policy, samples) in [(&ptrace, 0), (&unotify, 1)] {
            time_violation(policy, h)?; // the switch, not counted
            for _ in 0..BLOCK {
                by[samples].push(time_violation(policy, h)?);
            }
        }
        Ok(())
    });
    match measured {
        Ok(()) => {
            t.timed("VIOLATION under ptrace (alternating blocks)", &by[0], Some(&by[0]));
            t.timed("VIOLATION under user-notify (alternating blocks)", &by[1], Some(&by[0]));
        }
        Err(e) => t.note(&format!("monitors compared: failed: {e}")),
    }
}

/// Threads of this process while N sandboxes run at once (design §3 item 14): one supervisor
/// thread per process traces every sandbox; it already exists when earlier sections ran
/// sandboxes, so 'before' counts it.
/// A host listener on 127.0.0.1 that accepts and closes every connection, until dropped.
struct Acceptor {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Acceptor {
    fn start() -> Result<Acceptor, String> {
        use std::sync::atomic::{AtomicBool, Ordering};
        let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("listen: {e}"))?;
        let port = l.local_addr().map_err(|e| e.to_string())?.port();
        l.set_nonblocking(true).map_err(|e| e.to_string())?;
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let s = std::sync::Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((c, _)) => drop(c),
                    Err(_) => std::thread::sleep(Duration::from_micros(50)),
                }
            }
        });
        Ok(Acceptor { port, stop, thread: Some(thread) })
    }
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `p50 p99 total` (ns) from the helper's connect loop.
fn connect_figures(printed: &str) -> Result<[f64; 3], String> {
    let v: Vec<f64> = printed.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    match v[..] {
        [a, b, c] => Ok([a, b, c]),
        _ => Err(format!("helper printed {printed:?}")),
    }
}

/// Each figure's median over the runs that succeeded (the first error if none did).
fn medians(runs: Vec<Result<[f64; 3], String>>) -> Result<[f64; 3], String> {
    let ok: Vec<[f64; 3]> = runs.iter().filter_map(|r| r.as_ref().ok().copied()).collect();
    if ok.is_empty() {
        return Err(runs.into_iter().find_map(Result::err).unwrap_or_default());
    }
    Ok([0, 1, 2].map(|i| median(ok.iter().map(|f| f[i]).collect())))
}

/// (h) Connect latency through the network proxy vs a direct connect on the host, and the
/// rate of a loop of short connections.
#[allow(clippy::many_single_char_names)] // t: the table; the others: short-lived locals of the measuring loops
fn section_h(t: &mut Table, cfg: &Config, helper: &Result<Helper, String>) {
    const N: u64 = 1000;
    const REPS: usize = 5;
    progress("(h) network proxy");
    t.section(
        &format!("(h) {N} connects to a host listener on 127.0.0.1 per run, medians of {REPS} runs"),
        "   p50 us   p99 us   conn/s   p50 +us",
    );
    let h = match helper {
        Ok(h) => h,
        Err(e) => return t.note(&format!("no static helper ({e}): section skipped")),
    };
    if cfg.monitor == sbx::Monitor::Ptrace {
        return t.note("the network proxy needs the user-notify monitor: section skipped");
    }
    let acceptor = match Acceptor::start() {
        Ok(a) => a,
        Err(e) => return t.note(&e),
    };
    let port = acceptor.port.to_string();
    let n = N.to_string();
    let direct_run = || {
        Command::new(h.path())
            .args(["connect", &port, &n])
            .output()
            .map_err(|e| e.to_string())
            .and_then(|o| connect_figures(&String::from_utf8_lossy(&o.stdout)))
    };
    let policy = {
        let mut b = sbx::policy::presets::tool_default();
        b.add_file(&h.path).monitor(cfg.monitor).allow_connect(&format!("127.0.0.1:{port}"));
        b.build().map_err(|e| e.to_string())
    };
    let proxied_run = || {
        let p = policy.as_ref().map_err(Clone::clone)?;
        let (r, w) = nix::unistd::pipe().map_err(|e| format!("pipe: {e}"))?;
        let res = sandboxed(p, &[h.path(), "connect", &port, &n], Some(w)).map_err(|e| e.to_string())?;
        if res.status != Status::Ok || res.exit_code != Some(0) {
            return Err(res.describe());
        }
        let mut text = String::new();
        std::fs::File::from(r).read_to_string(&mut text).map_err(|e| e.to_string())?;
        connect_figures(&text)
    };
    // Alternating runs; each column's median over them.
    let (mut direct, mut proxied) = (Vec::new(), Vec::new());
    for _ in 0..REPS {
        direct.push(direct_run());
        proxied.push(proxied_run());
    }
    let direct = medians(direct);
    let proxied = medians(proxied);
    let base = direct.as_ref().map_or(f64::NAN, |d| d[0]);
    for (label, figures) in [("direct connect on the host", &direct), ("through the proxy (allow_connect)", &proxied)] {
        match figures {
            Ok([p50, p99, total]) => t.row(
                label,
                &format!(
                    "{:>9.1}{:>9.1}{:>9.0}{:>10.1}",
                    p50 / 1e3,
                    p99 / 1e3,
                    N as f64 / (total / 1e9),
                    (p50 - base) / 1e3
                ),
            ),
            Err(e) => t.note(&format!("{label}: {e}")),
        }
    }
    drop(acceptor);
}

/// One sandboxed run of `argv` under `limits`' cgroup settings: its wall time and result.
fn limited_run(policy: &Policy, argv: &[&str], cg: sbx::cgroups::CgroupLimits) -> Result<(Duration, RunResult), String> {
    let mut ex = Executor::new(argv[0]);
    ex.argv(argv.iter().copied()).stdout(Stdio::Null);
    ex.limits_mut().cgroup = cg;
    let t = Instant::now();
    let r = Sandbox::new(ex, policy.clone()).run().map_err(|e| e.to_string())?;
    let d = t.elapsed();
    if r.status != Status::Ok {
        return Err(r.describe());
    }
    Ok((d, r))
}

/// (i) cgroup limits: what a sandbox's cgroup costs on the spawn path, and a CPU quota's effect
/// on a busy loop.
fn section_i(t: &mut Table, cfg: &Config, pol: &Policies, helper: &Result<Helper, String>) {
    use sbx::cgroups::CgroupLimits;
    progress("(i) cgroup limits");
    t.section("(i) cgroup limits: spawn -> exit of /bin/true (ms)", "     mean   median  x without (mean / median)");
    let limited = CgroupLimits { memory: Some(256 << 20), pids: Some(256), cpu_millicores: None };
    if let Err(e) = limited_run(&pol.tool, &["/bin/true"], limited) {
        return t.note(&format!("no cgroup here ({e}): section skipped"));
    }
    let (mut without, mut with) = (Samples::default(), Samples::default());
    for _ in 0..cfg.runs {
        if let (Ok((a, _)), Ok((b, _))) = (
            limited_run(&pol.tool, &["/bin/true"], CgroupLimits::default()),
            limited_run(&pol.tool, &["/bin/true"], limited),
        ) {
            without.push(a);
            with.push(b);
        }
    }
    t.timed("full sandbox, no cgroup", &without, Some(&without));
    t.timed("with a memory + pids cgroup (made, joined, read, removed)", &with, Some(&without));
    t.row(
        "cgroup cost on the spawn path (median difference)",
        &format!("{:>18.3}", with.median_ms() - without.median_ms()),
    );
    let (Ok(h), Some(hp)) = (helper, pol.helper.as_ref()) else {
        return t.note("no static helper: CPU quota row skipped");
    };
    // CPU time a 1 s busy loop gets, without and with half a CPU.
    let spin = |cpu: Option<u64>| {
        let cg = CgroupLimits { cpu_millicores: cpu, ..CgroupLimits::default() };
        limited_run(hp, &[h.path(), "spin", "1000"], cg)
            .map(|(_, r)| (r.usage.user_time + r.usage.system_time).as_secs_f64())
    };
    match (spin(None), spin(Some(500))) {
        (Ok(full), Ok(half)) => t.row(
            "CPU seconds of a 1 s busy loop: no quota / --cpus 0.5 / ratio",
            &format!("{full:>9.3}{half:>9.3}{:>8.2}x", half / full),
        ),
        (Err(e), _) | (_, Err(e)) => t.note(&format!("busy loop: {e}")),
    }
}

fn section_f(t: &mut Table, policy: &Policy) {
    progress("(f) host threads");
    t.section("(f) host threads while N sandboxes run at once", "  threads  per sandbox");
    let threads = || std::fs::read_dir("/proc/self/task").map_or(0, Iterator::count);
    let before = threads();
    let mut worst = 0usize;
    for n in [1usize, 8, 32, 256] {
        let boxes: Vec<Sandbox> = (0..n)
            .map(|_| {
                let mut ex = Executor::new("/bin/sleep");
                ex.argv(["sleep", "5"]).stdout(Stdio::Null);
                Sandbox::new(ex, policy.clone())
            })
            .collect();
        if boxes.iter().any(|b| b.start().is_err()) {
            t.note("starting sleepers failed; section skipped");
            return;
        }
        let during = threads();
        worst = worst.max(during.saturating_sub(before));
        for b in &boxes {
            b.kill();
        }
        for b in &boxes {
            let _ = b.wait();
        }
        t.row(
            &format!("{n:>2} sandboxes (host had {before} threads before)"),
            &format!("{:>9} {:>12.2}", during, during.saturating_sub(before) as f64 / n as f64),
        );
    }
    t.note(&format!(
        "library threads at most +{worst} whatever N: one supervisor thread serves every sandbox \
         (the host's own threads are counted in 'before')"
    ));
}

/// (g) A C ABI call that checks a handle (a registry lookup, a reference taken and given back)
/// against one that takes no handle; both cross the same panic boundary.
#[allow(clippy::many_single_char_names)] // t: the table; the others: short-lived locals of the measuring loops
fn section_g(t: &mut Table) {
    use sbx::ffi::policy::sbx_policy;
    use sbx::ffi::policy_builder::sbx_policy_builder;
    progress("(g) C ABI handle checks");
    t.section("(g) C ABI call cost (ns/call, median of 5 x 1M)", "  ns/call");
    let mut policy: *const sbx_policy = std::ptr::null();
    let b = sbx_policy_builder::sbx_policy_builder_new();
    if sbx_policy_builder::sbx_policy_builder_build(b, &mut policy, std::ptr::null_mut()) != sbx::ffi::status::sbx_status::Ok {
        t.note("building a policy through the C ABI failed; section skipped");
        return;
    }
    let time = |f: &dyn Fn() -> bool| {
        let mut v = Vec::new();
        for _ in 0..5 {
            let n = 1_000_000u32;
            let t0 = Instant::now();
            let mut k = 0u32;
            for _ in 0..n {
                k += u32::from(std::hint::black_box(f()));
            }
            std::hint::black_box(k);
            v.push(t0.elapsed().as_nanos() as f64 / f64::from(n));
        }
        median(v)
    };
    let bare = time(&|| !sbx::ffi::error::sbx_status_message(std::hint::black_box(0)).is_null());
    let checked = time(&|| sbx_policy::sbx_policy_allows_exec(std::hint::black_box(policy)));
    t.row("sbx_status_message (no handle)", &format!("{bare:>9.1}"));
    t.row("sbx_policy_allows_exec (checked handle)", &format!("{checked:>9.1}"));
    t.note(&format!("the handle check costs ~{:.1} ns per call", checked - bare));
    sbx_policy::sbx_policy_free(policy);
}

// ----------------------------------------------------------------------------------------------

fn parse_args() -> Result<Config, String> {
    let mut cfg = Config {
        runs: 200,
        getpid_n: 2_000_000,
        getpid_reps: 5,
        big_bytes: 2 << 30,
        monitor: sbx::Monitor::Auto,
        sections: "abcdefghij".into(),
    };
    let mut runs = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => {
                cfg.runs = 30;
                cfg.getpid_n = 500_000;
                cfg.getpid_reps = 3;
            }
            "--runs" => {
                let v = args.next().ok_or("--runs needs a number")?;
                runs = Some(v.parse::<usize>().ok().filter(|&n| n > 0).ok_or(format!("--runs {v:?}: expected a positive integer"))?);
            }
            "--monitor" => {
                let v = args.next().ok_or("--monitor needs auto, ptrace or unotify")?;
                cfg.monitor = sbx::Monitor::from_name(&v).ok_or(format!("--monitor {v:?}: expected auto, ptrace or unotify"))?;
            }
            "--sections" => {
                let v = args.next().ok_or("--sections needs letters among abcdefghij")?;
                if v.is_empty() || !v.chars().all(|c| "abcdefghij".contains(c)) {
                    return Err(format!("--sections {v:?}: expected letters among abcdefghij"));
                }
                cfg.sections = v;
            }
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            _ => {
                if let Some(v) = a.strip_prefix("--runs=") {
                    runs = Some(v.parse::<usize>().ok().filter(|&n| n > 0).ok_or(format!("--runs {v:?}: expected a positive integer"))?);
                } else {
                    return Err(format!("unknown argument {a:?}"));
                }
            }
        }
    }
    if let Some(r) = runs {
        cfg.runs = r;
    }
    Ok(cfg)
}

fn main() {
    let cfg = match parse_args() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sbx-bench: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let helper = Helper::build();
    let pol = match Policies::build(&helper, cfg.monitor) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("sbx-bench: the default policy does not build: {e}");
            std::process::exit(1);
        }
    };
    let mut t = Table::default();
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let uid = nix::unistd::geteuid();
    t.0.push(format!(
        "sbx-bench {}: runs={} per row, monitor {}, Linux {}, {} CPUs, uid {}; times in ms; ratios from this run",
        sbx::VERSION,
        cfg.runs,
        cfg.monitor.name(),
        kernel.trim(),
        cpus,
        uid
    ));

    let small_sbx = if cfg.wants('a') { section_a(&mut t, &cfg, &pol) } else { None };
    if cfg.wants('b') {
        section_b(&mut t, &cfg, &pol.tool);
    }
    // (d) and (e) run before (c) so that they see the small host.
    let mut td = Table::default();
    if cfg.wants('d') {
        section_d(&mut td, &cfg, pol.helper.as_ref(), &helper);
    }
    let mut te = Table::default();
    if cfg.wants('e') {
        section_e(&mut te, &cfg, pol.helper.as_ref(), &helper);
    }
    let mut tf = Table::default();
    if cfg.wants('f') {
        section_f(&mut tf, &pol.tool);
    }
    if cfg.wants('g') {
        section_g(&mut tf);
    }
    if cfg.wants('h') {
        section_h(&mut tf, &cfg, &helper);
    }
    if cfg.wants('i') {
        section_i(&mut tf, &cfg, &pol, &helper);
    }
    if cfg.wants('j') {
        section_j(&mut tf, &pol, if cfg.runs < 100 { 3 } else { 10 });
    }
    if cfg.wants('c') {
        section_c(&mut t, &cfg, &pol.tool, small_sbx.as_ref());
    }
    t.0.extend(td.0);
    t.0.extend(te.0);
    t.0.extend(tf.0);
    println!("{}", t.0.join("\n"));
}
