//! One sandbox's cgroup: a directory per hierarchy holding its controllers, plus, where the host
//! has a cgroup v2 hierarchy we may make groups in, one group there even when no controller of
//! the sandbox lives on v2 (a hybrid host like this project's CI keeps memory and pids on v1).
//! The v2 group is what cgroup v2 adds over v1 whatever it enables: the sandbox's first process
//! is born in it (`clone3(CLONE_INTO_CGROUP)`, see `spawn`), it records the CPU time of every
//! process (`cpu.stat`), and `cgroup.kill` ends whatever is left in one write when the run ends.

#![allow(unsafe_code)]

use super::{keyed, places, pool, unsupported, CgroupLimits, CgroupUsage, Controller};
use crate::error::Result;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

/// One sandbox's cgroup: a directory per hierarchy, removed on drop (after `cgroup.kill`).
#[derive(Debug)]
pub(crate) struct SandboxCgroup {
    /// Each limited controller's directory, and whether it is on v2.
    dirs: Vec<(Controller, PathBuf, bool)>,
    /// The group's v2 directory (one of `dirs`, or made for the run alone) and an fd of it to be
    /// born in.
    v2: Option<(PathBuf, OwnedFd)>,
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
            let dir = match cg.dirs.iter().find(|(_, d, _)| d.parent() == Some(place.dir.as_path())) {
                Some((_, d, _)) => d.clone(),
                None => pool::take(&place.dir)
                    .map_err(|e| unsupported(c, format!("cannot make a group under {}: {e}", place.dir.display())))?,
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
    fn v2_group(&self) -> Option<(PathBuf, OwnedFd)> {
        let dir = if let Some((_, d, _)) = self.dirs.iter().find(|(_, _, v2)| *v2) {
            d.clone()
        } else {
            let home = places().v2_home.as_ref()?;
            match pool::take(home) {
                Ok(d) => d,
                Err(e) => {
                    log::debug!("libsbx: no cgroup v2 group under {}: {e}", home.display());
                    return None;
                }
            }
        };
        match open_dir(&dir) {
            Ok(fd) => Some((dir, fd)),
            Err(e) => {
                log::debug!("libsbx: cannot open cgroup {}: {e}", dir.display());
                if !self.dirs.iter().any(|(_, d, _)| *d == dir) {
                    pool::remove(vec![dir]);
                }
                None
            }
        }
    }

    /// An fd of the group's v2 directory, for `clone3(CLONE_INTO_CGROUP)`.
    pub(crate) fn birth_fd(&self) -> Option<RawFd> {
        self.v2.as_ref().map(|(_, fd)| fd.as_raw_fd())
    }

    /// The group's directories, each once (on v2 one directory holds every controller).
    fn groups(&self) -> Vec<&Path> {
        let mut out: Vec<&Path> = Vec::new();
        let v2 = self.v2.as_ref().map(|(d, _)| d);
        for dir in self.dirs.iter().map(|(_, d, _)| d).chain(v2) {
            if !out.contains(&dir.as_path()) {
                out.push(dir);
            }
        }
        out
    }

    /// Moves process `pid` (the sandbox's first, not yet released) into the group: into every
    /// directory, or, when it was born in the v2 one, into the others (v1).
    pub(crate) fn add(&self, pid: libc::pid_t, born_in_v2: bool) -> std::io::Result<()> {
        let pid = pid.to_string();
        let born = self.v2.as_ref().filter(|_| born_in_v2).map(|(d, _)| d.as_path());
        self.groups()
            .into_iter()
            .filter(|dir| Some(*dir) != born)
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
        if let Some((dir, _)) = &self.v2 {
            let stat = std::fs::read_to_string(dir.join("cpu.stat")).unwrap_or_default();
            if stat.lines().any(|l| l.starts_with("usage_usec ")) {
                u.cpu_usec = Some(keyed(&stat, "usage_usec"));
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
        if let Some((dir, _)) = &self.v2 {
            let _ = std::fs::write(dir.join("cgroup.kill"), "1");
        }
        pool::remove(self.groups().into_iter().map(Path::to_path_buf).collect());
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

    /// `cgroup.kill` when the group is dropped ends a process still in its v2 group (one that
    /// is no sandbox's: a plain `sleep`, moved in by hand), so the directory can go.
    #[test]
    fn dropping_the_group_kills_what_is_left_in_its_v2_group() {
        if crate::sys::skipped_under_qemu("cgroup files are the host's") {
            return;
        }
        let limits = CgroupLimits { memory: Some(64 << 20), ..Default::default() };
        let Ok(Some(cg)) = SandboxCgroup::create(&limits) else {
            eprintln!("no cgroup for this user: nothing to test");
            return;
        };
        let Some((dir, _)) = cg.v2.as_ref().map(|(d, f)| (d.clone(), f.as_raw_fd())) else {
            eprintln!("no cgroup v2 group for this user: nothing to test");
            return;
        };
        let mut sleeper = std::process::Command::new("sleep").arg("30").spawn().expect("sleep");
        let pid = libc::pid_t::try_from(sleeper.id()).expect("a pid");
        cg.add(pid, false).expect("moved into the group");
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
        let gone = Instant::now() + Duration::from_secs(3);
        while dir.exists() && Instant::now() < gone {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!dir.exists(), "{} not removed", dir.display());
    }
}
