//! One sandbox's cgroup: a directory per hierarchy holding its controllers, plus, where the host
//! has a cgroup v2 hierarchy we may make groups in, one group there even when no controller of
//! the sandbox lives on v2 (a hybrid host like this project's CI keeps memory and pids on v1).
//! The v2 group is what cgroup v2 adds over v1 whatever it enables: the sandbox's first process
//! is born in it (`clone3(CLONE_INTO_CGROUP)`, see `spawn`), it records the CPU time of every
//! process (`cpu.stat`), and `cgroup.kill` ends whatever is left in one write when the run ends.

#![allow(unsafe_code)]

use super::{keyed, keyed_opt, places, pool, unsupported, CgroupLimits, CgroupUsage, Controller};
use crate::error::Result;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

/// One sandbox's cgroup: a directory per hierarchy, removed on drop (after `cgroup.kill`).
#[derive(Debug)]
pub(crate) struct SandboxCgroup {
    /// Each limited controller's directory, and whether it is on v2.
    dirs: Vec<(Controller, PathBuf, bool)>,
    /// The group's v2 directory and an fd of it to be born in.
    v2: Option<V2Group>,
}

/// A sandbox's cgroup v2 directory.
#[derive(Debug)]
struct V2Group {
    dir: PathBuf,
    fd: OwnedFd,
    /// Taken for the run alone (no controller of the sandbox's lives on v2): without
    /// controllers it keeps nothing of a run but counters, so it goes back to the pool after the
    /// run instead of being removed.
    tracking: bool,
    /// Its `cpu.stat` usage when taken: the run's CPU time counts from there.
    cpu_base: u64,
}

impl SandboxCgroup {
    /// Makes the group and writes `limits`; `Ok(None)` when no limit is set. Nothing is left
    /// behind on an error.
    pub(crate) fn create(limits: &CgroupLimits) -> Result<Option<SandboxCgroup>> {
        if !limits.any() {
            return Ok(None);
        }
        limits.validate()?;
        let mut cg = SandboxCgroup { dirs: Vec::new(), v2: None };
        let wanted = [
            (Controller::Memory, limits.memory.is_some()),
            (Controller::Pids, limits.pids.is_some()),
            (Controller::Cpu, limits.cpu_millicores.is_some()),
        ];
        for (c, want) in wanted {
            if !want {
                continue;
            }
            let place = places().controllers.iter().find(|(k, _)| *k == c).map(|(_, p)| p).ok_or_else(|| {
                unsupported(c, "no cgroup hierarchy of this host holds that controller".into())
            })?;
            // v2 keeps every controller in one directory.
            let shared = cg.dirs.iter().find(|(_, d, _)| d.parent() == Some(place.dir.as_path()));
            let dir = if let Some((_, d, _)) = shared {
                d.clone()
            } else {
                pool::take(&place.dir)
                    .map_err(|e| unsupported(c, format!("cannot make a group under {}: {e}", place.dir.display())))?
                    .dir
            };
            cg.dirs.push((c, dir.clone(), place.v2));
            write_limit(c, &dir, place.v2, limits)
                .map_err(|e| unsupported(c, format!("in {}: {e}", dir.display())))?;
        }
        cg.v2 = cg.v2_group();
        Ok(Some(cg))
    }

    /// The v2 directory: the controllers' own where they are on v2, else one made in this
    /// process's v2 cgroup. Best effort: no limit depends on it (without it the run has no
    /// cgroup CPU time and is moved, not born, into its groups).
    fn v2_group(&self) -> Option<V2Group> {
        let (dir, tracking, cpu_base) = if let Some((_, d, _)) = self.dirs.iter().find(|(_, _, v2)| *v2) {
            (d.clone(), false, 0)
        } else {
            let home = places().v2_home.as_ref()?;
            match pool::take(home) {
                Ok(r) => (r.dir, true, r.cpu_base),
                Err(e) => {
                    log::debug!("libsbx: no cgroup v2 group under {}: {e}", home.display());
                    return None;
                }
            }
        };
        match open_dir(&dir) {
            Ok(fd) => Some(V2Group { dir, fd, tracking, cpu_base }),
            Err(e) => {
                log::debug!("libsbx: cannot open cgroup {}: {e}", dir.display());
                if tracking {
                    pool::remove(vec![dir]);
                }
                None
            }
        }
    }

    /// Moves the calling thread (alone) into the group's v1 directories, so that a child it
    /// clones now is born there; the guard moves it back. `None` if any move fails (then the
    /// thread is back where it was, and the child is moved after its clone).
    ///
    /// Why a thread and not the child: moving a process through `cgroup.procs` takes the
    /// kernel's thread-group lock for writing, which waits for an RCU grace period (often
    /// milliseconds) unless another move happened moments before. Writing `0` to a v1 `tasks`
    /// file moves only the writing thread, which cannot exit or exec meanwhile, and takes no such
    /// lock. The thread counts against the group's process limit while it is there.
    pub(crate) fn enter_v1_here(&self) -> Option<V1Birth> {
        let mut birth = V1Birth { back: Vec::new() };
        for dir in self.groups().into_iter().filter(|d| self.is_v1(d)) {
            let back = dir.parent()?.to_path_buf();
            std::fs::write(dir.join("tasks"), "0").ok()?;
            birth.back.push(back);
        }
        (!birth.back.is_empty()).then_some(birth)
    }

    /// Whether `dir` is one of the group's v1 directories.
    fn is_v1(&self, dir: &Path) -> bool {
        self.dirs.iter().any(|(_, d, v2)| !v2 && d == dir)
    }

    /// An fd of the group's v2 directory, for `clone3(CLONE_INTO_CGROUP)`.
    pub(crate) fn birth_fd(&self) -> Option<RawFd> {
        self.v2.as_ref().map(|g| g.fd.as_raw_fd())
    }

    /// The group's directories, each once (on v2 one directory holds every controller).
    fn groups(&self) -> Vec<&Path> {
        let mut out: Vec<&Path> = Vec::new();
        let v2 = self.v2.as_ref().map(|g| &g.dir);
        for dir in self.dirs.iter().map(|(_, d, _)| d).chain(v2) {
            if !out.contains(&dir.as_path()) {
                out.push(dir);
            }
        }
        out
    }

    /// Moves process `pid` (the sandbox's first) into the group's directories it was not born
    /// in: none, the v1 ones (born in v2 only), or every one.
    pub(crate) fn add(&self, pid: libc::pid_t, born_in_v2: bool, born_in_v1: bool) -> std::io::Result<()> {
        let pid = pid.to_string();
        let born_v2 = self.v2.as_ref().filter(|_| born_in_v2).map(|g| g.dir.as_path());
        self.groups()
            .into_iter()
            .filter(|dir| Some(*dir) != born_v2 && !(born_in_v1 && self.is_v1(dir)))
            .try_for_each(|dir| std::fs::write(dir.join("cgroup.procs"), &pid))
    }

    /// What the group recorded.
    pub(crate) fn usage(&self) -> CgroupUsage {
        let mut u = CgroupUsage::default();
        for (c, dir, v2) in &self.dirs {
            let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
            match (c, v2) {
                (Controller::Memory, true) => {
                    u.memory_peak = read("memory.peak").trim().parse().ok();
                    u.oom_kills = keyed(&read("memory.events"), "oom_kill");
                }
                (Controller::Memory, false) => {
                    u.memory_peak = read("memory.max_usage_in_bytes").trim().parse().ok();
                    u.oom_kills = keyed(&read("memory.oom_control"), "oom_kill");
                }
                (Controller::Pids, _) => u.pids_refused = keyed(&read("pids.events"), "max"),
                // Co-mounted cpu,cpuacct (v1): nanoseconds.
                (Controller::Cpu, false) => {
                    u.cpu_usec = read("cpuacct.usage").trim().parse::<u64>().ok().map(|ns| ns / 1000);
                }
                (Controller::Cpu, true) => {}
            }
        }
        if let Some(g) = &self.v2 {
            let stat = std::fs::read_to_string(g.dir.join("cpu.stat")).unwrap_or_default();
            if let Some(usec) = keyed_opt(&stat, "usage_usec") {
                u.cpu_usec = Some(usec.saturating_sub(g.cpu_base));
            }
        }
        u
    }
}

impl Drop for SandboxCgroup {
    fn drop(&mut self) {
        // Every task of a namespaced sandbox has exited by now (the pid namespace died with its
        // init); `cgroup.kill` (5.14) ends any other one left in the v2 group in one write,
        // before the janitor removes the directories.
        let mut dirs: Vec<PathBuf> = self.groups().into_iter().map(Path::to_path_buf).collect();
        if let Some(g) = &self.v2 {
            let events = std::fs::read_to_string(g.dir.join("cgroup.events")).unwrap_or_default();
            if keyed(&events, "populated") != 0 {
                let _ = std::fs::write(g.dir.join("cgroup.kill"), "1");
            } else if g.tracking {
                // Only a group never killed is used again: Linux 6.18 kills a child born by
                // CLONE_INTO_CGROUP into a group that `cgroup.kill` was written to before
                // (seen here: the sandbox died of SIGKILL before it started).
                dirs.retain(|d| *d != g.dir);
                pool::recycle(g.dir.clone());
            }
        }
        pool::remove(dirs);
    }
}

/// The calling thread in a sandbox's v1 groups ([`SandboxCgroup::enter_v1_here`]); dropped,
/// it moves back into the parents (this process's own groups).
#[derive(Debug)]
pub(crate) struct V1Birth {
    back: Vec<PathBuf>,
}

impl Drop for V1Birth {
    fn drop(&mut self) {
        for dir in &self.back {
            if let Err(e) = std::fs::write(dir.join("tasks"), "0") {
                log::warn!("libsbx: cannot move the supervisor thread back to {}: {e}", dir.display());
            }
        }
    }
}

/// `dir`, open as a directory (what `CLONE_INTO_CGROUP` takes).
fn open_dir(dir: &Path) -> std::io::Result<OwnedFd> {
    let path = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes())
        .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: a NUL-terminated path; the result is checked.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a fresh fd owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Writes `l`'s limit for controller `c` into group `dir`.
fn write_limit(c: Controller, dir: &Path, v2: bool, l: &CgroupLimits) -> std::io::Result<()> {
    let w = |file: &str, v: String| std::fs::write(dir.join(file), v);
    match (c, v2) {
        (Controller::Memory, true) => {
            let m = l.memory.unwrap_or(u64::MAX);
            w("memory.max", m.to_string())?;
            // No swap beyond the limit (absent without swap accounting).
            let _ = w("memory.swap.max", "0".into());
            Ok(())
        }
        (Controller::Memory, false) => {
            let m = l.memory.unwrap_or(u64::MAX);
            w("memory.limit_in_bytes", m.to_string())?;
            // Memory plus swap at the same value: no swap beyond the limit (the file exists
            // only with swap accounting).
            let _ = w("memory.memsw.limit_in_bytes", m.to_string());
            Ok(())
        }
        (Controller::Pids, _) => w("pids.max", l.pids.unwrap_or(u64::MAX).to_string()),
        (Controller::Cpu, v2) => {
            const PERIOD_US: u64 = 100_000;
            // Millicores of a 100 ms period: 100 us each.
            let quota = l.cpu_millicores.unwrap_or(1000) * (PERIOD_US / 1000);
            if v2 {
                w("cpu.max", format!("{quota} {PERIOD_US}"))
            } else {
                w("cpu.cfs_period_us", PERIOD_US.to_string())?;
                w("cpu.cfs_quota_us", quota.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;
    use std::time::{Duration, Instant};

    /// One test at a time: they share this process's pool, and one's group taken by the other
    /// would be killed or kept from coming back.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn serial() -> std::sync::MutexGuard<'static, ()> {
        SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `cgroup.kill` when the group is dropped ends a process still in its v2 group (one that
    /// is no sandbox's: a plain `sleep`, moved in by hand).
    #[test]
    fn dropping_the_group_kills_what_is_left_in_its_v2_group() {
        if crate::sys::skipped_under_qemu("cgroup files are the host's") {
            return;
        }
        let _g = serial();
        let limits = CgroupLimits { memory: Some(64 << 20), ..Default::default() };
        let Ok(Some(cg)) = SandboxCgroup::create(&limits) else {
            eprintln!("no cgroup for this user: nothing to test");
            return;
        };
        let Some(dir) = cg.v2.as_ref().map(|g| g.dir.clone()) else {
            eprintln!("no cgroup v2 group for this user: nothing to test");
            return;
        };
        let mut sleeper = std::process::Command::new("sleep").arg("30").spawn().expect("sleep");
        let pid = libc::pid_t::try_from(sleeper.id()).expect("a pid");
        cg.add(pid, false, false).expect("moved into the group");
        let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
        assert_eq!(procs.trim(), pid.to_string());
        drop(cg);
        let deadline = Instant::now() + Duration::from_secs(5);
        let status = loop {
            if let Some(s) = sleeper.try_wait().expect("wait") {
                break Some(s);
            }
            if Instant::now() > deadline {
                let _ = sleeper.kill();
                let _ = sleeper.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(status.and_then(|s| s.signal()), Some(libc::SIGKILL), "cgroup.kill did not end it");
        // Removed, or (a group without controllers) back in the pool, empty.
        let procs = || std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
        assert!(procs().trim().is_empty(), "{} still holds {}", dir.display(), procs());
    }

    /// A v2 group without controllers goes back to the pool after its run, and the next run
    /// that takes it counts its CPU time from where the last one left it.
    #[test]
    fn a_recycled_v2_group_counts_cpu_time_from_zero() {
        if crate::sys::skipped_under_qemu("cgroup files are the host's") {
            return;
        }
        let _g = serial();
        let limits = CgroupLimits { pids: Some(64), ..Default::default() };
        let Ok(Some(first)) = SandboxCgroup::create(&limits) else {
            eprintln!("no cgroup for this user: nothing to test");
            return;
        };
        let Some(dir) = first.v2.as_ref().filter(|g| g.tracking).map(|g| g.dir.clone()) else {
            eprintln!("no v2 group without controllers here: nothing to test");
            return;
        };
        // Some CPU time in the group: a shell that counts for a while.
        let mut sh = std::process::Command::new("sh")
            .args(["-c", "read x; i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("sh");
        let pid = libc::pid_t::try_from(sh.id()).expect("a pid");
        first.add(pid, false, false).expect("moved into the group");
        drop(sh.stdin.take());
        assert!(sh.wait().expect("wait").success());
        let used = first.usage().cpu_usec.expect("cpu.stat");
        assert!(used > 0, "no CPU time counted");
        drop(first);
        // The janitor puts it back once empty; takes (held, so none comes back meanwhile)
        // reach it after the groups before it in the pool.
        let deadline = Instant::now() + Duration::from_secs(3);
        while !pool::holds(&dir) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(pool::holds(&dir), "{} never came back to the pool", dir.display());
        let mut held = Vec::new();
        for _ in 0..16 {
            let next = SandboxCgroup::create(&limits).expect("a group").expect("limits set");
            let g = next.v2.as_ref().expect("a v2 group as before");
            let again = g.dir == dir;
            let cpu = next.usage().cpu_usec.expect("cpu.stat");
            assert!(cpu < used, "a taken group starts at {cpu} us (the last run used {used})");
            held.push(next);
            if again {
                return;
            }
        }
        panic!("{} was in the pool but never taken", dir.display());
    }
}
