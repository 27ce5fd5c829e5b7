//! Who is on the other end of a server connection, and whether it may be trusted as an equal.
//!
//! A server runs sandboxes with its own privileges for whoever connects, so a confined process
//! (a sandboxee above all) must not get through it what it could not do itself; and a client
//! hands its terminal to the server, so it must not talk to an impostor. Both ends apply the
//! same test to the other: same effective uid, gid and supplementary groups, same root
//! directory, same namespaces (all eight kinds), no more seccomp filters than this process (the
//! count: which filters is not visible), no_new_privs not set where it is not set here, and at
//! least this process's effective capabilities. A sandboxee always fails it (own namespaces, one
//! more filter). What /proc cannot show or what a server cannot share (a Landlock domain, an LSM
//! label, rlimits, the cgroup) is not checked: that, and a supervisor that connects for a
//! sandboxee (`--allow-connect unix:PATH`), is what the server's token is for (`client.rs`),
//! which only the processes given `SBX_RUN_SERVER` have.
//!
//! The peer is pinned by a pidfd taken from the socket (`SO_PEERPIDFD`), and it is checked to be
//! alive after its /proc files are read, so a reused pid cannot stand in for it.

// Audited unsafe: getsockopt(SO_PEERPIDFD).
#![allow(unsafe_code)]

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// What the equality test reads of one process.
#[derive(Debug, PartialEq, Eq)]
struct Standing {
    euid: u32,
    egid: u32,
    /// Sorted.
    groups: Vec<u32>,
    /// The root directory's (device, inode).
    root: (u64, u64),
    namespaces: [(u64, u64); NAMESPACES.len()],
    seccomp_filters: u64,
    no_new_privs: bool,
    cap_eff: u64,
}

/// Every kind of namespace, by its name under `/proc/PID/ns`.
const NAMESPACES: [&str; 8] = ["user", "pid", "mnt", "net", "ipc", "uts", "cgroup", "time"];

/// `Ok` when the process at the other end of `sock` is this process's equal (see the module
/// comment); otherwise what differs.
pub(crate) fn check_equal(sock: RawFd) -> Result<(), String> {
    // This process's own standing does not change while it runs: read once.
    static OURS: std::sync::OnceLock<Result<Standing, String>> = std::sync::OnceLock::new();
    let pidfd = peer_pidfd(sock)?;
    let pid = pid_of(&pidfd)?;
    let theirs = standing(&pid.to_string())?;
    if !alive(&pidfd) {
        return Err("the peer ended while it was checked".into());
    }
    let ours = OURS.get_or_init(|| standing("self")).as_ref()?;
    compare(&theirs, ours)
}

fn compare(theirs: &Standing, ours: &Standing) -> Result<(), String> {
    if theirs.euid != ours.euid {
        return Err(format!("the peer runs as uid {}, not {}", theirs.euid, ours.euid));
    }
    if (theirs.egid, &theirs.groups) != (ours.egid, &ours.groups) {
        return Err("the peer has other groups".into());
    }
    if let Some(ns) = (0..NAMESPACES.len()).find(|&i| theirs.namespaces[i] != ours.namespaces[i]) {
        return Err(format!("the peer is in other namespaces ({})", NAMESPACES[ns]));
    }
    if theirs.root != ours.root {
        return Err("the peer has another root directory".into());
    }
    if theirs.seccomp_filters > ours.seccomp_filters {
        return Err(format!(
            "the peer runs under {} seccomp filters, this process under {}",
            theirs.seccomp_filters, ours.seccomp_filters
        ));
    }
    if theirs.no_new_privs && !ours.no_new_privs {
        return Err("the peer has no_new_privs set".into());
    }
    if theirs.cap_eff & ours.cap_eff != ours.cap_eff {
        return Err("the peer lacks capabilities this process has".into());
    }
    Ok(())
}

/// A pidfd of the process that made the other end of `sock`.
fn peer_pidfd(sock: RawFd) -> Result<OwnedFd, String> {
    let mut fd: libc::c_int = -1;
    let mut len = libc::socklen_t::try_from(std::mem::size_of::<libc::c_int>())
        .map_err(|e| e.to_string())?;
    // SAFETY: getsockopt writes at most `len` bytes into `fd`, an int of ours.
    let r = unsafe {
        libc::getsockopt(
            sock,
            libc::SOL_SOCKET,
            libc::SO_PEERPIDFD,
            std::ptr::addr_of_mut!(fd).cast(),
            &raw mut len,
        )
    };
    if r != 0 || fd < 0 {
        return Err(format!(
            "no pidfd of the peer (SO_PEERPIDFD): {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: the kernel just gave us this fd; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The pid (in our pid namespace) a pidfd refers to, from its fdinfo.
fn pid_of(pidfd: &OwnedFd) -> Result<i32, String> {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", pidfd.as_raw_fd()))
        .map_err(|e| format!("fdinfo of the peer's pidfd: {e}"))?;
    field(&info, "Pid:")
        .and_then(|v| v.parse::<i32>().ok())
        .filter(|p| *p > 0)
        .ok_or_else(|| "the peer's pid is not visible here".to_string())
}

/// Whether the pidfd's process has not exited.
fn alive(pidfd: &OwnedFd) -> bool {
    crate::signals::pidfd_signal(pidfd, 0).is_ok()
}

/// `proc` is a pid or `self`.
fn standing(proc: &str) -> Result<Standing, String> {
    let status = std::fs::read_to_string(format!("/proc/{proc}/status"))
        .map_err(|e| format!("/proc/{proc}/status: {e}"))?;
    let number = |key: &str, radix: u32| {
        let effective = usize::from(key == "Uid:" || key == "Gid:");
        field(&status, key)
            .and_then(|v| v.split_whitespace().nth(effective))
            .and_then(|v| u64::from_str_radix(v, radix).ok())
            .ok_or_else(|| format!("/proc/{proc}/status has no readable {key}"))
    };
    let id = |key: &str| number(key, 10).and_then(|n| u32::try_from(n).map_err(|e| e.to_string()));
    let mut groups: Vec<u32> = field(&status, "Groups:")
        .unwrap_or_default()
        .split_whitespace()
        .map(|g| g.parse().map_err(|_| format!("/proc/{proc}/status: group {g:?}")))
        .collect::<Result<_, _>>()?;
    groups.sort_unstable();
    let identity = |path: String| {
        nix::sys::stat::stat(path.as_str())
            .map(|st| (st.st_dev, st.st_ino))
            .map_err(|e| format!("{path}: {e}"))
    };
    let mut namespaces = [(0, 0); NAMESPACES.len()];
    for (slot, ns) in namespaces.iter_mut().zip(NAMESPACES) {
        *slot = match identity(format!("/proc/{proc}/ns/{ns}")) {
            Ok(id) => id,
            // A kernel without time namespaces has none for either end.
            Err(_) if ns == "time" && !std::path::Path::new("/proc/self/ns/time").exists() => (0, 0),
            Err(e) => return Err(e),
        };
    }
    Ok(Standing {
        euid: id("Uid:")?,
        egid: id("Gid:")?,
        groups,
        root: identity(format!("/proc/{proc}/root"))?,
        namespaces,
        // Absent without CONFIG_SECCOMP_FILTER: no filters anywhere.
        seccomp_filters: number("Seccomp_filters:", 10).unwrap_or(0),
        no_new_privs: number("NoNewPrivs:", 10)? != 0,
        cap_eff: number("CapEff:", 16)?,
    })
}

/// The value after `key` on its line of a `/proc` status-like text.
fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> Standing {
        standing("self").unwrap()
    }

    #[test]
    fn a_process_is_its_own_equal() {
        assert_eq!(compare(&me(), &me()), Ok(()));
    }

    #[test]
    fn confinement_or_another_identity_is_refused() {
        let ours = me();
        let mut t = me();
        t.seccomp_filters += 1;
        assert!(compare(&t, &ours).unwrap_err().contains("seccomp"));
        let mut t = me();
        t.euid ^= 1;
        assert!(compare(&t, &ours).unwrap_err().contains("uid"));
        let mut t = me();
        t.namespaces[1].1 ^= 1;
        assert!(compare(&t, &ours).unwrap_err().contains("namespaces (pid)"));
        let mut t = me();
        t.namespaces[3].1 ^= 1;
        assert!(compare(&t, &ours).unwrap_err().contains("namespaces (net)"));
        let mut t = me();
        t.groups.push(u32::MAX);
        assert!(compare(&t, &ours).unwrap_err().contains("groups"));
        let mut t = me();
        t.root.1 ^= 1;
        assert!(compare(&t, &ours).unwrap_err().contains("root"));
        let mut t = me();
        t.no_new_privs = true;
        let nnp = compare(&t, &ours);
        assert!(ours.no_new_privs || nnp.unwrap_err().contains("no_new_privs"));
        let mut t = me();
        t.cap_eff = 0;
        assert!(ours.cap_eff == 0 || compare(&t, &ours).is_err());
    }

    #[test]
    fn the_peer_of_a_socket_pair_is_this_process() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        assert_eq!(check_equal(a.as_raw_fd()), Ok(()));
    }
}
