//! The things being timed: a sandboxed run, a plain spawn through std, `fork()` + `execv()`
//! ([`ForkExec`], the one unsafe part of sbx-bench), and [`repeat`] with its warm-up.

use crate::stats::Samples;
use sbx::{Executor, Policy, RunResult, Sandbox, Status, Stdio};
use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::process::{Command, Stdio as PStdio};
use std::time::{Duration, Instant};

/// One sandboxed run; `stdout` receives the sandboxee's fd 1 when given.
pub(crate) fn sandboxed(
    policy: &Policy,
    argv: &[&str],
    stdout: Option<OwnedFd>,
) -> sbx::Result<RunResult> {
    let mut ex = Executor::new(argv[0]);
    ex.argv(argv.iter().copied());
    ex.stdout(match stdout {
        Some(fd) => Stdio::Fd(fd),
        None => Stdio::Null,
    });
    Sandbox::new(ex, policy.clone()).run()
}

pub(crate) fn time_sandboxed(policy: &Policy, argv: &[&str]) -> Result<Duration, String> {
    let t = Instant::now();
    let r = sandboxed(policy, argv, None).map_err(|e| e.to_string())?;
    let d = t.elapsed();
    if r.status != Status::Ok {
        return Err(r.describe());
    }
    Ok(d)
}

/// A plain spawn and wait through std (posix_spawn, i.e. a vfork-style clone, in glibc).
pub(crate) fn time_command(argv: &[&str]) -> Result<Duration, String> {
    time_command_served(argv, None)
}

/// [`time_command`] with `SBX_RUN_SERVER` set to `server` (an sbx-run command then runs
/// through that server), or removed (`None`: sbx-bench's own environment names no server for
/// the rows that time sbx-run by itself).
pub(crate) fn time_command_served(
    argv: &[&str],
    server: Option<&std::path::Path>,
) -> Result<Duration, String> {
    let mut cmd = Command::new(argv[0]);
    match server {
        Some(s) => cmd.env("SBX_RUN_SERVER", s),
        None => cmd.env_remove("SBX_RUN_SERVER"),
    };
    let t = Instant::now();
    let out = cmd
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
pub(crate) struct ForkExec {
    path: CString,
    argv: [*const libc::c_char; 2],
}

impl ForkExec {
    pub(crate) fn new(path: &str) -> ForkExec {
        let path = CString::new(path).expect("path without NUL");
        let argv = [path.as_ptr(), std::ptr::null()];
        ForkExec { path, argv }
    }

    #[allow(unsafe_code)]
    pub(crate) fn time(&self) -> Result<Duration, String> {
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
            return Err(format!(
                "fork+exec of {:?} failed (status {status:#x})",
                self.path
            ));
        }
        Ok(d)
    }
}

/// Runs `f` `runs` times after two warm-up calls; the first error ends it.
pub(crate) fn repeat(
    runs: usize,
    mut f: impl FnMut() -> Result<Duration, String>,
) -> Result<Samples, String> {
    for _ in 0..2 {
        f()?;
    }
    let mut s = Samples::default();
    for _ in 0..runs {
        s.push(f()?);
    }
    Ok(s)
}

pub(crate) fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The first two CPUs this process may run on, if it may run on two.
pub(crate) fn two_cpus() -> Option<(usize, usize)> {
    let set = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)).ok()?;
    let mut cpus = (0..nix::sched::CpuSet::count()).filter(|&c| set.is_set(c).unwrap_or(false));
    Some((cpus.next()?, cpus.next()?))
}

/// Median round trip (µs) of one byte between two threads pinned to CPUs `a` and `b`, each
/// exchange 50 µs after the last: what one hand-over between a sandbox's threads and processes
/// costs when they sit on different CPUs (a sandbox start has about ten, a plain spawn two). On
/// a VM whose idle CPUs halt, most of a cross-CPU one is the wake-up's interrupt. `None` when
/// the threads cannot be pinned (fewer CPUs, a cpuset).
pub(crate) fn wake_round_trip(a: usize, b: usize, runs: usize) -> Option<f64> {
    use nix::sched::{sched_setaffinity, CpuSet};
    use nix::unistd::Pid;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    let pin = |cpu: usize| -> Option<()> {
        let mut set = CpuSet::new();
        set.set(cpu).ok()?;
        sched_setaffinity(Pid::from_raw(0), &set).ok()
    };
    let (mut near, mut far) = UnixStream::pair().ok()?;
    let echo = std::thread::spawn(move || -> Option<()> {
        pin(b)?;
        let mut byte = [0u8];
        while far.read_exact(&mut byte).is_ok() {
            far.write_all(&byte).ok()?;
        }
        Some(())
    });
    let timed = std::thread::spawn(move || -> Option<Samples> {
        pin(a)?;
        let mut s = Samples::default();
        let mut byte = [0u8];
        for _ in 0..runs + 20 {
            std::thread::sleep(Duration::from_micros(50));
            let t = Instant::now();
            near.write_all(&byte).ok()?;
            near.read_exact(&mut byte).ok()?;
            s.push(t.elapsed());
        }
        Some(s)
    });
    let samples = timed.join().ok().flatten();
    let _ = echo.join();
    samples.map(|s| s.median_ms() * 1e3)
}
