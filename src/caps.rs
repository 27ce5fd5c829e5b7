//! Capabilities, in one place: the calling thread's sets (`capget`/`capset`), raising the
//! effective set for the library's own privileged steps (kills, id-map writes, idmapped
//! mounts), whether the caller is host root, and what the no-namespace child needs to drop a
//! caller's privileges before its exec.
//!
//! The child itself (`spawn/child/privileges.rs::drop_host_privileges`) runs between `clone` and `exec` and
//! uses raw syscalls only; it shares the UAPI layout and constants defined here.
//!
//! Capabilities are per thread: every function here reads or changes the calling thread only.

#![allow(unsafe_code)]

// Constants from <linux/capability.h>.
/// `_LINUX_CAPABILITY_VERSION_3`: two 32-bit words per set.
pub(crate) const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
/// `CAP_SETPCAP`: securebits and the bounding set may be changed.
pub(crate) const CAP_SETPCAP: u32 = 8;
/// `CAP_SYS_ADMIN`.
pub(crate) const CAP_SYS_ADMIN: u32 = 21;
/// CAP_SYS_NICE (linux/capability.h): leaving the idle scheduling class (`janitor.rs`).
pub(crate) const CAP_SYS_NICE: u32 = 23;

// Constants from <linux/securebits.h>.
pub(crate) const SECBIT_NOROOT: u64 = 1 << 0;
pub(crate) const SECBIT_NOROOT_LOCKED: u64 = 1 << 1;
pub(crate) const SECBIT_NO_SETUID_FIXUP: u64 = 1 << 2;
pub(crate) const SECBIT_NO_SETUID_FIXUP_LOCKED: u64 = 1 << 3;
pub(crate) const SECBIT_KEEP_CAPS_LOCKED: u64 = 1 << 5;
pub(crate) const SECBIT_NO_CAP_AMBIENT_RAISE: u64 = 1 << 6;
pub(crate) const SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED: u64 = 1 << 7;

/// `struct __user_cap_header_struct`.
#[repr(C)]
pub(crate) struct CapHeader {
    pub(crate) version: u32,
    pub(crate) pid: i32,
}

impl CapHeader {
    /// Version 3, the calling thread.
    pub(crate) const SELF: CapHeader = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
}

/// `struct __user_cap_data_struct`: one 32-bit word of each set; version 3 uses two.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CapData {
    pub(crate) effective: u32,
    pub(crate) permitted: u32,
    pub(crate) inheritable: u32,
}

impl CapData {
    pub(crate) const EMPTY: CapData = CapData {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    };
}

/// This thread's capability sets as `capget` returns them.
pub(crate) type CapSets = [CapData; 2];

/// This thread's capability sets; `None` when `capget` fails.
pub(crate) fn capget_self() -> Option<CapSets> {
    let hdr = CapHeader::SELF;
    let mut d: CapSets = [CapData::EMPTY; 2];
    // SAFETY: capget reads the header and writes exactly two {effective, permitted,
    // inheritable} triples into `d`.
    let r = unsafe { libc::syscall(libc::SYS_capget, std::ptr::addr_of!(hdr), d.as_mut_ptr()) };
    (r == 0).then_some(d)
}

/// Sets this thread's capability sets (errors ignored: callers only lower or restore).
pub(crate) fn capset_self(d: &CapSets) {
    let hdr = CapHeader::SELF;
    // SAFETY: capset reads the header and exactly two triples; it only affects this thread.
    unsafe { libc::syscall(libc::SYS_capset, std::ptr::addr_of!(hdr), d.as_ptr()) };
}

/// Raises the effective sets in `sets` (this thread's, as read) to the permitted ones; returns
/// whether anything changed.
fn raise_from(sets: Option<CapSets>) -> bool {
    match sets {
        Some(mut d) if d.iter().any(|w| w.effective != w.permitted) => {
            for w in &mut d {
                w.effective = w.permitted;
            }
            capset_self(&d);
            true
        }
        _ => false,
    }
}

/// Runs `f` with this thread's effective capabilities raised to its permitted ones, then puts
/// the effective set back: the supervisor thread also runs the user's Notify callbacks, which
/// must see only the capabilities the caller's thread had (see [`with_effective`]).
pub(crate) fn with_raised_capabilities<T>(f: impl FnOnce() -> T) -> T {
    let before = capget_self();
    let raised = raise_from(before);
    let out = f();
    if let (true, Some(orig)) = (raised, before) {
        capset_self(&orig);
    }
    out
}

/// This thread's effective set (both words), to run a sandbox's callbacks with it later on the
/// supervisor thread.
pub(crate) fn effective_of_this_thread() -> Option<[u32; 2]> {
    capget_self().map(|d| [d[0].effective, d[1].effective])
}

/// Runs `f` with this thread's effective set made `effective` (as far as its permitted set
/// allows), then puts it back: the supervisor runs each sandbox's Notify callbacks with the
/// effective capabilities of the thread that started that sandbox, never with raised ones.
pub(crate) fn with_effective<T>(effective: Option<[u32; 2]>, f: impl FnOnce() -> T) -> T {
    let (Some(want), Some(before)) = (effective, capget_self()) else {
        return f();
    };
    let mut d = before;
    for (w, e) in d.iter_mut().zip(want) {
        w.effective = e & w.permitted;
    }
    let changed = d.iter().zip(before.iter()).any(|(a, b)| a.effective != b.effective);
    if changed {
        capset_self(&d);
    }
    let out = f();
    if changed {
        capset_self(&before);
    }
    out
}

/// Whether this thread's effective set holds CAP_SYS_ADMIN (raised by the caller beforehand).
pub(crate) fn has_sys_admin() -> bool {
    capget_self().is_some_and(|d| d[0].effective & (1 << CAP_SYS_ADMIN) != 0)
}

/// True when the caller is root of the *initial* user namespace (euid 0 and an identity uid map),
/// i.e. its uid 0 is host root. Root inside a user namespace (rootless containers, `unshare -r`)
/// is an ordinary host user and keeps the plain mapping onto its own ids.
pub fn caller_is_host_root() -> bool {
    static VALUE: std::sync::LazyLock<bool> = std::sync::LazyLock::new(|| {
        if !nix::unistd::geteuid().is_root() {
            return false;
        }
        let map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
        let fields: Vec<&str> = map.split_whitespace().collect();
        fields == ["0", "0", "4294967295"]
    });
    *VALUE
}

/// What the child needs to take a root or capable caller's privileges away (no namespaces);
/// whether it has any is decided in the child from its own credentials.
#[derive(Debug, Clone, Copy)]
pub struct CapDrop {
    pub last_cap: u32,
    /// The host uid/gid a root caller's sandboxee gets.
    pub host_id: u32,
    /// The caller is host root: switch the sandboxee to `host_id`.
    pub switch_ids: bool,
}

/// True when the kernel knows capability `cap` (PR_CAPBSET_READ fails with EINVAL past the last).
fn capbset_knows(cap: u32) -> bool {
    // SAFETY: PR_CAPBSET_READ takes a number and reads no memory.
    let r = unsafe { libc::prctl(libc::PR_CAPBSET_READ, libc::c_ulong::from(cap)) };
    r >= 0
}

/// The [`CapDrop`] for a spawn by the calling process; `host_id` is the id a root caller's
/// sandboxee gets (`namespaces::root_caller_host_id`).
pub(crate) fn cap_drop_needed(host_id: u32) -> CapDrop {
    // A kernel constant: read once per process, not on every spawn.
    static LAST_CAP: std::sync::LazyLock<u32> = std::sync::LazyLock::new(|| {
        std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            // A container runtime may mask /proc/sys: ask the kernel which capabilities the
            // bounding set knows (PR_CAPBSET_READ fails with EINVAL past the last one).
            .unwrap_or_else(|| {
                (0..64u32)
                    .take_while(|c| capbset_knows(*c))
                    .last()
                    .unwrap_or(0)
            })
    });
    CapDrop {
        last_cap: *LAST_CAP,
        host_id,
        switch_ids: caller_is_host_root(),
    }
}
