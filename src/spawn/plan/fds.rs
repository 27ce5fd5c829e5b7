//! The fd shuffle and the resource limits the child applies: the moves (stdio, mapped fds, the
//! comms socket), RLIMIT_NOFILE room for them, and rlimits clamped to the host's hard limits.

use super::FdMove;
use crate::error::{Error, Result};
use crate::executor::Stdio;
use crate::limits::RlimitSetting;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// The fd moves the child makes (stdio, mapped fds, the comms socket), the host fds that must
/// stay open until it has exec'd, and the host end of the comms channel.
pub(super) fn fd_moves(
    stdio: [Stdio; 3],
    fds: Vec<crate::executor::FdMapping>,
    comms: bool,
) -> Result<(Vec<FdMove>, Vec<OwnedFd>, Option<OwnedFd>)> {
    let mut owned = Vec::new();
    let mut moves = Vec::new();
    for (dst, s) in (0..).zip(stdio) {
        match s {
            Stdio::Inherit => moves.push(FdMove {
                src: dst,
                dst,
                cloexec: false,
            }),
            Stdio::Null => {
                let fd = nix::fcntl::open(
                    "/dev/null",
                    nix::fcntl::OFlag::O_RDWR | nix::fcntl::OFlag::O_CLOEXEC,
                    nix::sys::stat::Mode::empty(),
                )
                .map_err(|e| Error::os("open(/dev/null)", e as i32))?;
                // SAFETY-free: nix returns a fresh fd we now own.
                let fd = owned_from_raw(fd);
                moves.push(FdMove {
                    src: fd.as_raw_fd(),
                    dst,
                    cloexec: false,
                });
                owned.push(fd);
            }
            Stdio::Fd(fd) => {
                moves.push(FdMove {
                    src: fd.as_raw_fd(),
                    dst,
                    cloexec: false,
                });
                owned.push(fd);
            }
        }
    }
    for m in fds {
        moves.push(FdMove {
            src: m.host.as_raw_fd(),
            dst: m.child,
            cloexec: false,
        });
        owned.push(m.host);
    }
    let comms_host = if comms {
        let (host, child) = comms_socketpair()?;
        moves.push(FdMove {
            src: child.as_raw_fd(),
            dst: crate::comms::DEFAULT_CLIENT_FD,
            cloexec: false,
        });
        owned.push(child);
        Some(host)
    } else {
        None
    };
    Ok((moves, owned, comms_host))
}

/// The hard limit as the soft one, when fd `highest` would not fit under the host's soft
/// RLIMIT_NOFILE (the child inherits the host's limits).
pub(super) fn nofile_raise(highest: RawFd) -> Option<[u64; 2]> {
    let mut cur = libc::rlimit64 {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit64 writes into the struct we pass.
    #[allow(unsafe_code)]
    let ok = unsafe { libc::getrlimit64(libc::RLIMIT_NOFILE, &mut cur) } == 0;
    let need = u64::try_from(highest).unwrap_or(u64::MAX);
    (ok && need >= cur.rlim_cur && cur.rlim_cur < cur.rlim_max)
        .then_some([cur.rlim_max, cur.rlim_max])
}

#[allow(unsafe_code)]
fn owned_from_raw(fd: RawFd) -> OwnedFd {
    use std::os::fd::FromRawFd;
    // SAFETY: `fd` was just returned by open(2) and is owned by nobody else.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// An unprivileged host cannot raise a hard limit; asking for more than it has would fail the
/// whole run, so requests are clamped to the current hard limit (the stricter value wins).
pub(super) fn clamp_to_hard_limits(settings: Vec<RlimitSetting>) -> Vec<RlimitSetting> {
    settings
        .into_iter()
        .map(|mut s| {
            let mut cur = libc::rlimit64 {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: getrlimit64 writes into the struct we pass.
            #[allow(unsafe_code)]
            let ok = unsafe { libc::getrlimit64(s.resource as _, &mut cur) } == 0;
            if ok && s.value > cur.rlim_max {
                s.value = cur.rlim_max;
            }
            s
        })
        .collect()
}

/// A connected unix stream pair with SO_PASSCRED on both ends (credentials messages need it).
fn comms_socketpair() -> Result<(OwnedFd, OwnedFd)> {
    use nix::sys::socket::{setsockopt, socketpair, sockopt, AddressFamily, SockFlag, SockType};
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| Error::os("socketpair(comms)", e as i32))?;
    for s in [&a, &b] {
        setsockopt(s, sockopt::PassCred, &true)
            .map_err(|e| Error::os("setsockopt(SO_PASSCRED)", e as i32))?;
    }
    Ok((a, b))
}
