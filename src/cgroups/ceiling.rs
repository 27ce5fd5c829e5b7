//! The default memory ceiling: what a front end (`sbx-run`) caps a sandbox's memory at when the
//! caller asked for nothing, so that one balloon cannot take the host's memory.
//!
//! A quarter of the memory this process may use (the host's RAM, or its own memory cgroup's
//! limit when that is lower, as in a container), at least [`MIN_CEILING`], in whole MiB. Only
//! where a memory cgroup can be made here (root, or a delegated hierarchy): elsewhere there is
//! no default ceiling, and the task cap and rlimits are what bound a sandbox.

use super::{places, Controller};
use std::path::Path;

/// The smallest default ceiling: below it ordinary tools (a compiler, a JVM) would not run.
pub const MIN_CEILING: u64 = 256 << 20;

/// The default memory ceiling in bytes, or `None` where no memory cgroup can be made by this
/// process (no hierarchy holds the controller, or its directory is not writable for us).
pub fn default_memory_ceiling() -> Option<u64> {
    let place = places()
        .controllers
        .iter()
        .find(|(c, _)| *c == Controller::Memory)
        .map(|(_, p)| p)?;
    let writable = nix::unistd::AccessFlags::W_OK | nix::unistd::AccessFlags::X_OK;
    nix::unistd::access(&place.dir, writable).ok()?;
    let ram = mem_total(&std::fs::read_to_string("/proc/meminfo").ok()?)?;
    let usable = own_limit(&place.dir, place.v2).map_or(ram, |l| l.min(ram));
    Some(ceiling_of(usable))
}

/// A quarter of `usable`, at least [`MIN_CEILING`], rounded down to whole MiB.
fn ceiling_of(usable: u64) -> u64 {
    ((usable / 4) & !((1 << 20) - 1)).max(MIN_CEILING)
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// The memory limit of this process's own cgroup (`None`: unlimited or unreadable).
fn own_limit(dir: &Path, v2: bool) -> Option<u64> {
    let file = if v2 { "memory.max" } else { "memory.limit_in_bytes" };
    let limit: u64 = std::fs::read_to_string(dir.join(file)).ok()?.trim().parse().ok()?;
    // cgroup v1 writes "unlimited" as the largest page-aligned i64.
    (limit < 1 << 62).then_some(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quarter_in_whole_mib_and_never_below_the_floor() {
        assert_eq!(ceiling_of(24 << 30), 6 << 30);
        assert_eq!(ceiling_of((8 << 30) + 12345), 2 << 30);
        assert_eq!(ceiling_of(512 << 20), MIN_CEILING);
        assert_eq!(ceiling_of(0), MIN_CEILING);
    }

    #[test]
    fn meminfo_is_read_in_kib() {
        let text = "MemTotal:       24576000 kB\nMemFree:        1000 kB\n";
        assert_eq!(mem_total(text), Some(24_576_000 * 1024));
        assert_eq!(mem_total("MemFree: 1 kB\n"), None);
        assert_eq!(mem_total("MemTotal: lots kB\n"), None);
    }

    /// This host's figure, whatever it is, respects the floor and the host's RAM.
    #[test]
    fn the_default_is_bounded_by_the_host() {
        if let Some(c) = default_memory_ceiling() {
            let ram = mem_total(&std::fs::read_to_string("/proc/meminfo").unwrap()).unwrap();
            assert!(c >= MIN_CEILING && (c <= ram / 4 || c == MIN_CEILING), "{c}");
            assert_eq!(c % (1 << 20), 0);
        }
    }
}
