//! cgroups (one home): a sandbox's memory, process and CPU limits as a cgroup of its own, on
//! whichever hierarchy holds each controller (cgroup v2, or a v1 hierarchy per controller, as on
//! hosts that still mount memory or pids as v1).
//!
//! Life of a sandbox's cgroup: made on the caller's thread with the plan (a directory per
//! hierarchy under the caller's own cgroup there, limits written), joined by the sandbox's
//! first process before it is released (the supervisor writes its pid to `cgroup.procs`;
//! everything it starts inherits the group), read when the run ends (peak memory, OOM kills,
//! refused forks) and removed once the last task is gone.
//!
//! Off the spawn path: empty groups are made ahead by a janitor thread (a small pool per parent
//! directory, refilled after each take) and removed by it after the run (a v1 memory group's
//! removal and creation cost ~50 and ~100 us). Joining stays on the path: on cgroup v1 a write
//! to `cgroup.procs` usually takes ~40 us, but now and then waits for an RCU grace period
//! (milliseconds). Pool directories of processes that died without removing them are swept at
//! the first use in a later process (their names carry the pid namespace and pid).
//!
//! No usable cgroup for a limit asked for is an [`Error::Unsupported`] naming what to delegate:
//! a limit is never silently dropped.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The cgroup limits of one sandbox (all `None`: no cgroup is made).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CgroupLimits {
    /// Most memory (bytes) the sandbox's processes may use together, swap included; beyond it
    /// the kernel's OOM killer ends one of them.
    pub memory: Option<u64>,
    /// Most processes and threads alive in the sandbox at once (forks beyond fail with EAGAIN).
    pub pids: Option<u64>,
    /// CPU share in thousandths of a core (500: half of one CPU; 10 to 4 096 000), as a CFS quota
    /// over a 100 ms period.
    pub cpu_millicores: Option<u64>,
}

impl CgroupLimits {
    /// Whether any limit is set.
    pub fn any(&self) -> bool {
        self.memory.is_some() || self.pids.is_some() || self.cpu_millicores.is_some()
    }

    /// Checks the values (done when the run is prepared).
    pub fn validate(&self) -> Result<()> {
        if self.memory.is_some_and(|m| m < (1 << 20)) {
            return Err(Error::invalid("cgroup memory limit: at least 1 MiB"));
        }
        if self.pids == Some(0) {
            return Err(Error::invalid("cgroup process limit: at least 1"));
        }
        if let Some(c) = self.cpu_millicores {
            if !(10..=4_096_000).contains(&c) {
                return Err(Error::invalid(format!(
                    "cgroup CPU limit {c} millicores: from 10 (1% of a CPU) to 4096000"
                )));
            }
        }
        Ok(())
    }
}

/// A controller libsbx uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Controller {
    Memory,
    Pids,
    Cpu,
}

impl Controller {
    fn name(self) -> &'static str {
        match self {
            Controller::Memory => "memory",
            Controller::Pids => "pids",
            Controller::Cpu => "cpu",
        }
    }
}

/// Where a controller lives for this process: its own cgroup directory on that hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Place {
    /// This process's cgroup directory on the hierarchy (the parent of sandboxes' groups).
    pub dir: PathBuf,
    /// cgroup v2 (else a v1 hierarchy).
    pub v2: bool,
}

/// Where this process's cgroups are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Places {
    /// Each controller's place; a v1 hierarchy mounting the controller wins over a v2 one that
    /// does not enable it.
    pub controllers: Vec<(Controller, Place)>,
    /// This process's cgroup v2 directory, whatever controllers it enables (none, on a hybrid
    /// host like this project's CI): a sandbox's group there is born into by `CLONE_INTO_CGROUP`,
    /// records its CPU time (`cpu.stat` is always there) and ends with `cgroup.kill`.
    pub v2_home: Option<PathBuf>,
}

/// Parses `/proc/self/mountinfo` and `/proc/self/cgroup` into [`Places`].
pub(crate) fn places_from(
    mountinfo: &str,
    self_cgroup: &str,
    v2_controllers: impl Fn(&Path) -> Vec<String>,
) -> Places {
    // Our path per hierarchy: v1 lines "N:ctrl,ctrl:/path", v2 "0::/path".
    let mut v1_paths: Vec<(Vec<String>, String)> = Vec::new();
    let mut v2_path: Option<String> = None;
    for line in self_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(ctrls), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if ctrls.is_empty() {
            v2_path = Some(path.to_string());
        } else {
            v1_paths.push((ctrls.split(',').map(str::to_string).collect(), path.to_string()));
        }
    }
    let mut out = Vec::new();
    let mut v2_home = None;
    for line in mountinfo.lines() {
        // "... mount_point options - fstype source super_options"
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let fields: Vec<&str> = left.split(' ').collect();
        let rfields: Vec<&str> = right.split(' ').collect();
        let (Some(root), Some(mount_point), Some(fstype)) =
            (fields.get(3), fields.get(4), rfields.first())
        else {
            continue;
        };
        let super_opts: Vec<&str> = rfields.get(2).map_or(Vec::new(), |o| o.split(',').collect());
        let within = |path: &str| -> Option<PathBuf> {
            // The mount shows the hierarchy from `root`: our path must lie under it.
            let rel = path.strip_prefix(root.trim_end_matches('/')).unwrap_or(path);
            Some(Path::new(mount_point).join(rel.trim_start_matches('/')))
        };
        match *fstype {
            "cgroup2" => {
                let Some(dir) = v2_path.as_deref().and_then(within) else {
                    continue;
                };
                let enabled = v2_controllers(&dir);
                v2_home.get_or_insert_with(|| dir.clone());
                for c in [Controller::Memory, Controller::Pids, Controller::Cpu] {
                    if enabled.iter().any(|e| e == c.name()) && !out.iter().any(|(k, _)| *k == c) {
                        out.push((c, Place { dir: dir.clone(), v2: true }));
                    }
                }
            }
            "cgroup" => {
                for c in [Controller::Memory, Controller::Pids, Controller::Cpu] {
                    if !super_opts.contains(&c.name()) {
                        continue;
                    }
                    let Some((_, path)) = v1_paths.iter().find(|(cs, _)| cs.iter().any(|x| x == c.name()))
                    else {
                        continue;
                    };
                    let Some(dir) = within(path) else { continue };
                    // v1 holds the controller: it cannot be on v2 as well.
                    out.retain(|(k, _)| *k != c);
                    out.push((c, Place { dir, v2: false }));
                }
            }
            _ => {}
        }
    }
    Places {
        controllers: out,
        v2_home,
    }
}

/// Where this process's cgroups are, found once.
fn places() -> &'static Places {
    static PLACES: OnceLock<Places> = OnceLock::new();
    PLACES.get_or_init(|| {
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let cgroup = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        places_from(&mountinfo, &cgroup, |dir| {
            std::fs::read_to_string(dir.join("cgroup.controllers"))
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect()
        })
    })
}

/// What `--check` says about cgroups: each controller's place and whether a group can be made
/// there (tried: a directory made and removed), then the same for this process's cgroup v2
/// directory as `"v2 group"` (birth by `CLONE_INTO_CGROUP`, CPU time, `cgroup.kill`).
pub fn describe_controllers() -> Vec<(String, bool, String)> {
    let mut out: Vec<(String, bool, String)> = [Controller::Memory, Controller::Pids, Controller::Cpu]
        .into_iter()
        .map(|c| match places().controllers.iter().find(|(k, _)| *k == c) {
            None => (c.name().to_string(), false, "no hierarchy holds it".to_string()),
            Some((_, p)) => {
                let (ok, text) = probe(&p.dir, p.v2);
                (c.name().to_string(), ok, text)
            }
        })
        .collect();
    let v2 = match &places().v2_home {
        None => (false, "no cgroup v2 hierarchy".to_string()),
        Some(dir) => probe(dir, true),
    };
    out.push(("v2 group".to_string(), v2.0, v2.1));
    out
}

/// Whether a group can be made in `dir` (a directory made and removed), and where that is.
fn probe(dir: &Path, v2: bool) -> (bool, String) {
    let probe = dir.join(format!("libsbx-probe-{}", std::process::id()));
    let ok = std::fs::create_dir(&probe).and_then(|()| std::fs::remove_dir(&probe));
    let v = if v2 { "v2" } else { "v1" };
    match ok {
        Ok(()) => (true, format!("{v} {}", dir.display())),
        Err(e) => (false, format!("{v} {}: {e}", dir.display())),
    }
}

/// Removes this process's ready (unused) groups and waits, up to two seconds, until the groups
/// of finished runs are removed too. For a process about to exit (`sbx-run`): a long-lived one
/// keeps its pool, and a later process of the same pid namespace sweeps what an exited one
/// left.
pub fn release() {
    pool::release(std::time::Duration::from_secs(2));
}

/// How many empty groups to keep made ahead per hierarchy (default 2), so that a sandbox's
/// group is taken, not made, on the spawn path. A process that runs one sandbox and exits
/// (`sbx-run`) sets 0: it would only make groups to remove them again.
pub fn set_ready_groups(count: usize) {
    pool::READY.store(count, std::sync::atomic::Ordering::Relaxed);
}

/// Usage read from a sandbox's cgroup when its run ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CgroupUsage {
    /// The most memory the sandbox's processes used together (bytes), when a memory limit was set.
    pub memory_peak: Option<u64>,
    /// Processes the kernel's OOM killer ended for the memory limit.
    pub oom_kills: u64,
    /// Forks the process limit refused.
    pub pids_refused: u64,
    /// CPU time the sandbox's processes used together (microseconds, user and system), from
    /// the group's `cpu.stat` on cgroup v2 (or `cpuacct.usage` where a v1 CPU limit's hierarchy
    /// also mounts cpuacct); `None` where neither was there. Unlike the init's rusage, it counts
    /// every process, also those killed at the end and never waited for.
    pub cpu_usec: Option<u64>,
}

mod ceiling;
mod group;
mod pool;

pub(crate) use group::SandboxCgroup;

pub use ceiling::default_memory_ceiling;

/// The number after `key` in a flat-keyed cgroup file (`key value` per line), 0 if absent.
fn keyed(text: &str, key: &str) -> u64 {
    keyed_opt(text, key).unwrap_or(0)
}

/// The number after `key` in a flat-keyed cgroup file, if there is one.
fn keyed_opt(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|v| v.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
}

fn unsupported(c: Controller, detail: String) -> Error {
    Error::Unsupported {
        feature: match c {
            Controller::Memory => "cgroup memory limit",
            Controller::Pids => "cgroup process limit",
            Controller::Cpu => "cgroup CPU limit",
        },
        detail,
        fix: "run as root, or give this user a cgroup of its own to make groups in (cgroup v2: \
              systemd's Delegate=yes, e.g. `systemd-run --user --scope -p Delegate=yes ...`; \
              v1: a directory under each controller's hierarchy owned by the user, holding the \
              calling process); `sbx-run --check` shows each controller",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const HYBRID_SELF: &str = "8:pids:/\n4:memory:/jobs/a\n1:cpu:/\n0::/\n";

    #[test]
    fn a_hybrid_host_uses_its_v1_hierarchies() {
        let places = places_from(HYBRID, HYBRID_SELF, |_| Vec::new());
        assert_eq!(places.v2_home, Some(PathBuf::from("/sys/fs/cgroup/unified/")));
        let p = places.controllers;
        let find = |c| p.iter().find(|(k, _)| *k == c).map(|(_, p)| p.clone()).unwrap();
        assert_eq!(find(Controller::Memory), Place { dir: "/sys/fs/cgroup/memory/jobs/a".into(), v2: false });
        assert_eq!(find(Controller::Pids), Place { dir: "/sys/fs/cgroup/pids/".into(), v2: false });
        assert!(!find(Controller::Cpu).v2);
    }

    #[test]
    fn a_unified_host_uses_v2_where_enabled() {
        let mi = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        let own = "0::/user.slice/user-1000.slice/session-1.scope\n";
        let p = places_from(mi, own, |dir| {
            assert_eq!(dir, Path::new("/sys/fs/cgroup/user.slice/user-1000.slice/session-1.scope"));
            vec!["memory".into(), "pids".into()]
        });
        assert_eq!(p.v2_home.as_deref(), Some(Path::new("/sys/fs/cgroup/user.slice/user-1000.slice/session-1.scope")));
        let p = p.controllers;
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p.iter().all(|(_, pl)| pl.v2));
        assert!(!p.iter().any(|(c, _)| *c == Controller::Cpu));
    }

    #[test]
    fn a_container_mount_root_is_stripped() {
        // Inside a container the hierarchy is mounted from our own cgroup: its root is our path.
        let mi = "40 30 0:30 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n";
        let p = places_from(mi, "5:memory:/docker/abc\n", |_| Vec::new());
        assert_eq!(p.v2_home, None);
        assert_eq!(p.controllers[0].1.dir, PathBuf::from("/sys/fs/cgroup/memory/"));
    }

    #[test]
    fn flat_keyed_files() {
        assert_eq!(keyed("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n", "oom_kill"), 3);
        assert_eq!(keyed("max 12\n", "max"), 12);
        assert_eq!(keyed("", "max"), 0);
    }

    #[test]
    fn limits_are_checked() {
        assert!(CgroupLimits { memory: Some(1000), ..Default::default() }.validate().is_err());
        assert!(CgroupLimits { pids: Some(0), ..Default::default() }.validate().is_err());
        assert!(CgroupLimits { cpu_millicores: Some(5), ..Default::default() }.validate().is_err());
        let ok = CgroupLimits { cpu_millicores: Some(500), memory: Some(64 << 20), pids: Some(32) };
        assert!(ok.validate().is_ok());
    }
}
