//! The user-notify monitor's part of the plan: whether it is used, and its hand-off socket at a
//! reserved fd number above the sandboxee's RLIMIT_NOFILE.

use super::FdMove;
use crate::error::{Error, Result};
use crate::limits::RlimitSetting;
use crate::spawn::handoff::Handoff;
use crate::spawn::ns_plan::NsPlan;
use std::os::fd::RawFd;

/// The user-notify hand-off when that monitor is asked for or `Auto` picks it (namespaces, a
/// sandboxee that does not sandbox itself, a spare fd number; the caller has checked the
/// kernel); `None` for ptrace. Turns the init into its reporting variant.
pub(super) fn choose_handoff(
    monitor: crate::policy::Monitor,
    before_exec: bool,
    ns: Option<&mut NsPlan>,
    moves: &mut Vec<FdMove>,
    rlimits: &mut Vec<RlimitSetting>,
    max_tasks: u64,
) -> Result<Option<Box<Handoff>>> {
    let strict = monitor == crate::policy::Monitor::Unotify;
    let wanted = strict || (monitor == crate::policy::Monitor::Auto && ns.is_some() && before_exec);
    match (wanted, ns) {
        (false, _) => Ok(None),
        (true, None) => Err(Error::invalid(
            "monitor unotify needs namespaces (it has no other way to see the sandboxee end)",
        )),
        (true, Some(ns)) => match unotify_handoff(moves, rlimits, max_tasks) {
            Ok(h) => {
                ns.use_unotify_init(h.init_write_fd())?;
                Ok(Some(h))
            }
            Err(e) if strict => Err(e),
            Err(_) => Ok(None),
        },
    }
}

/// The user-notify hand-off (see `handoff.rs`): its socket end becomes a close-on-exec move to a
/// reserved fd number the sandboxee can never reach, at or above its RLIMIT_NOFILE (lowered when
/// the host's hard limit leaves no room above it); the task cap becomes the sandbox's own
/// RLIMIT_NPROC, counted per user namespace, since no monitor sees the sandboxee's forks.
fn unotify_handoff(
    moves: &mut Vec<FdMove>,
    rlimits: &mut Vec<RlimitSetting>,
    max_tasks: u64,
) -> Result<Box<Handoff>> {
    let mut hard = libc::rlimit64 {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit64 writes into the struct we pass.
    #[allow(unsafe_code)]
    if unsafe { libc::getrlimit64(libc::RLIMIT_NOFILE, &mut hard) } != 0 {
        return Err(Error::last_os("getrlimit(RLIMIT_NOFILE)"));
    }
    // Room for the reserved number and the temporaries of the fd shuffle above it.
    let room = hard
        .rlim_max
        .saturating_sub(moves.len() as u64 + 3)
        .min(i32::MAX as u64);
    let nofile = rlimits
        .iter_mut()
        .find(|r| r.resource == crate::sys::rlimit::NOFILE);
    let Some(nofile) = nofile else {
        return Err(Error::invalid("monitor unotify needs an open_files limit"));
    };
    let reserved = nofile.value.min(room);
    if reserved < 3
        || moves
            .iter()
            .any(|m| !u64::try_from(m.src).is_ok_and(|s| s < room))
    {
        return Err(Error::invalid(format!(
            "monitor unotify needs a free fd number above the sandboxee's open_files limit and \
             below the host's hard RLIMIT_NOFILE ({}); raise the host's limit or use monitor ptrace",
            hard.rlim_max
        )));
    }
    if let Some(m) = moves
        .iter()
        .find(|m| !u64::try_from(m.dst).is_ok_and(|d| d < reserved))
    {
        return Err(Error::invalid(format!(
            "monitor unotify: fd {} of the sandboxee is at or above its open_files limit ({reserved}), \
             where the monitor's hand-off lives; map it lower or use monitor ptrace",
            m.dst
        )));
    }
    // At most `room`, so at most i32::MAX.
    let reserved_fd = RawFd::try_from(reserved)
        .map_err(|_| Error::invalid("monitor unotify: no fd number free for the hand-off"))?;
    let h = Handoff::new(reserved_fd)?;
    nofile.value = reserved;
    moves.push(FdMove {
        src: h.child_end_fd(),
        dst: reserved_fd,
        cloexec: true,
    });
    if !rlimits.iter().any(|r| r.resource == crate::sys::rlimit::NPROC) {
        rlimits.push(RlimitSetting {
            resource: crate::sys::rlimit::NPROC,
            value: max_tasks,
        });
    }
    Ok(h)
}
