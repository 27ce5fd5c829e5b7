//! What both monitors do to get a sandbox going on the supervisor thread: the clone children's
//! memory ([`Child`]), the pidfd other threads kill through, a root caller's id maps, and the
//! result of a run killed before it got going.

#![allow(unsafe_code)]

use super::state::{KillReason, Shared};
use super::step_error;
use crate::caps::with_raised_capabilities;
use crate::cgroups::{CgroupUsage, SandboxCgroup};
use crate::error::Error;
use crate::host_id::HostId;
use crate::result::{Reason, RunResult, Status};
use crate::spawn::{plan::Step, Plan, Spawned};
use std::os::fd::{FromRawFd, OwnedFd};

/// The outcome of one step before the event loop: on failure, the run's result.
pub(crate) type Prepared = Result<(), Box<RunResult>>;

/// The clone children's plan and stack. The children run on the host's memory until their
/// exec, so both are kept until none of them can still be running on it.
pub(crate) struct Child {
    pub plan: Option<Box<Plan>>,
    pub spawned: Option<Spawned>,
    /// The sandbox's cgroup, kept past the plan until the run's end (removed when dropped).
    pub cgroup: Option<SandboxCgroup>,
    /// The lease on a root caller's host id, kept past the plan until the run's end (when no
    /// process of the sandbox runs as it any more).
    pub _host_id: Option<HostId>,
    /// The host uid the sandboxee runs as.
    pub host_uid: u32,
}

impl Child {
    /// The children of `plan`, just spawned; the plan's cgroup moves here.
    pub(crate) fn new(mut plan: Box<Plan>, spawned: Spawned) -> Child {
        let cgroup = plan.cgroup.take();
        let lease = plan.host_id.take();
        Child {
            host_uid: plan.host_uid,
            plan: Some(plan),
            spawned: Some(spawned),
            cgroup,
            _host_id: lease,
        }
    }

    /// Puts `pid`, the sandbox's first process, into the sandbox's cgroup: everything it
    /// starts from then on is born there. Released already (`late`), it may have failed a setup
    /// step and exited meanwhile: then the move finds no process (ESRCH), and its report, not
    /// the move, is the run's result.
    fn join_cgroup(&self, pid: libc::pid_t, late: bool) -> Prepared {
        let Some(cg) = &self.cgroup else {
            return Ok(());
        };
        let (v2, v1) = self
            .spawned
            .as_ref()
            .map_or((false, false), |s| (s.born_in_cgroup, s.born_in_v1));
        match with_raised_capabilities(|| cg.add(pid, v2, v1)) {
            Err(e) if late && e.raw_os_error() == Some(libc::ESRCH) => Ok(()),
            Err(e) => Err(Box::new(step_error(
                Reason::FailedLimits,
                "cgroup",
                e.raw_os_error(),
                &format!("moving the sandbox into its cgroup: {e}"),
                false,
            ))),
            Ok(()) => Ok(()),
        }
    }

    /// What the sandbox's cgroup recorded (read before it is removed).
    pub(crate) fn cgroup_usage(&self) -> Option<CgroupUsage> {
        self.cgroup.as_ref().map(SandboxCgroup::usage)
    }

    pub(crate) fn plan(&self) -> Option<&Plan> {
        self.plan.as_deref()
    }

    /// Lets the child go on past the start pipe.
    fn release(&mut self) -> Prepared {
        self.spawned
            .as_mut()
            .map_or(Ok(()), crate::spawn::Spawned::release)
            .map_err(|e| start_pipe_failed(&e))
    }

    /// Puts the init `pid` into the sandbox's cgroup and lets it go: a namespaced sandbox's
    /// init is released first and moved while it builds the sandbox (it forks the sandboxee only
    /// after [`Spawned::joined`](crate::spawn::Spawned::joined)), so a v1 move's RCU grace
    /// period overlaps that work instead of adding to it; any other child is moved first.
    pub(crate) fn join_and_release(&mut self, pid: libc::pid_t) -> Prepared {
        let late = self.spawned.as_ref().is_some_and(|s| s.join_late);
        if !late {
            return self.join_cgroup(pid, false).and_then(|()| self.release());
        }
        self.release()?;
        self.join_cgroup(pid, true)?;
        match self.spawned.as_mut().map_or(Ok(()), crate::spawn::Spawned::joined) {
            // The init ended meanwhile (EPIPE: the write's SIGPIPE stays blocked on this
            // thread): its report says why.
            Err(Error::Os { errno: crate::error::Errno(libc::EPIPE), .. }) | Ok(()) => Ok(()),
            Err(e) => Err(start_pipe_failed(&e)),
        }
    }

    /// Frees the stack, then the plan (which closes the host's copies of mapped fds).
    pub(crate) fn free(&mut self) {
        drop(self.spawned.take());
        drop(self.plan.take());
    }
}

/// The run's result when the start pipe could not be written.
fn start_pipe_failed(e: &Error) -> Box<RunResult> {
    Box::new(RunResult::setup_error(Reason::FailedSubprocess, e.to_string()))
}

/// Hands a pidfd of `main` to `shared`, so that other threads can kill the sandboxee without
/// racing pid reuse.
pub(crate) fn publish_pidfd(main: libc::pid_t, shared: &Shared) {
    if let Some(fd) = open_pidfd(main) {
        shared.set_pidfd(fd);
    }
}

/// A pidfd of our unreaped child `pid` (so its pid cannot have been reused), or `None`.
pub(crate) fn open_pidfd(pid: libc::pid_t) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags; the result is a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let fd = i32::try_from(fd).ok().filter(|fd| *fd >= 0)?;
    // SAFETY: a fresh fd owned by nobody else.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A root caller's sandbox maps onto an unprivileged host id; only we (CAP_SETUID outside) may
/// write such maps, and the init waits on the start pipe until we have.
pub(crate) fn write_id_maps(child: &Child, main: libc::pid_t) -> Prepared {
    let Some(ns) = child
        .plan()
        .and_then(|p| p.ns.as_ref())
        .filter(|ns| ns.monitor_writes_maps)
    else {
        return Ok(());
    };
    let write = |file: &str, data: &[u8]| {
        std::fs::write(format!("/proc/{main}/{file}"), data).map_err(|e| {
            (
                format!("writing /proc/{main}/{file}: {e}"),
                e.raw_os_error(),
            )
        })
    };
    let written = with_raised_capabilities(|| {
        write("uid_map", ns.uid_map.as_bytes())
            .and_then(|()| write("gid_map", ns.gid_map.as_bytes()))
    });
    written.map_err(|(e, errno)| {
        Box::new(step_error(
            Reason::FailedNamespaces,
            Step::UserNs.name(),
            errno,
            &e,
            true,
        ))
    })
}

/// Kills and reaps our own clone child (a start that failed before the monitor took it).
pub(crate) fn kill_and_reap(pid: libc::pid_t) {
    // SAFETY: our own unreaped child: its pid cannot have been reused.
    with_raised_capabilities(|| unsafe { libc::kill(pid, libc::SIGKILL) });
    let mut st = 0;
    // SAFETY: reaping our own child.
    unsafe { libc::waitpid(pid, &mut st, libc::__WALL) };
}

/// The result of a run a kill ended before it got going, if a kill was recorded.
pub(crate) fn killed_result(shared: &Shared) -> Option<Box<RunResult>> {
    let why = shared.kill_reason()?;
    let mut k = RunResult::new(match why {
        KillReason::External => Status::ExternalKill,
        KillReason::Timeout => Status::Timeout,
    });
    k.signal = Some(libc::SIGKILL);
    Some(Box::new(k))
}
