//! Starting one user-notify sandbox on the supervisor thread: the spawn, the hand-off and
//! init pipe ends, the init's pidfd in the epoll set, id maps, cgroup and the release, and the
//! [`Running`] that watches it.

use super::Running;
use crate::monitor::epoll::{Epoll, Source};
use crate::monitor::launch::{
    kill_and_reap, killed_result, open_pidfd, publish_pidfd, write_id_maps, Child,
};
use crate::monitor::netproxy::Proxy;
use crate::monitor::state::Shared;
use crate::monitor::{clone_failure, AuditLog, Fences};
use crate::policy::Policy;
use crate::result::{Reason, RunResult};
use crate::spawn::latency::Mark;
use crate::spawn::{self, Plan};
use std::os::fd::{AsRawFd, OwnedFd};
/// Starts one sandbox (on the supervisor thread, signals blocked) and registers its fds under
/// `job`. A failure is the run's result.
pub(crate) fn start(
    mut plan: Box<Plan>,
    policy: Policy,
    shared: &Shared,
    epoll: &Epoll,
    job: u64,
) -> Result<Running, Box<RunResult>> {
    let spawned = match spawn::spawn(&plan) {
        Ok(s) => s,
        Err(e) => return Err(Box::new(clone_failure(&plan, &e))),
    };
    let init = spawned.pid;
    plan.stamps.mark(Mark::Cloned);
    // Only the children hold their ends now: hang-up on ours means they closed theirs.
    let (host_end, init_read) = match plan.handoff.as_mut() {
        Some(h) => {
            h.close_child_ends();
            (h.host_end.take(), h.init_read.take())
        }
        None => (None, None),
    };
    // The init sends the udp relay's sockets over a channel of their own.
    let relay = plan
        .ns
        .as_mut()
        .and_then(|n| n.udp_relay.as_mut())
        .and_then(|r| Some((r.take_host_end()?, r.addrs())));
    let mut child = Child::new(plan, spawned);
    publish_pidfd(init, shared);
    // First the maps and the release (the init waits for them), then the watches: what the
    // children send meanwhile waits in the sockets, and a pidfd reports an end that came first.
    if let Some(p) = child.plan() {
        // Before the release: the children's own marks come after this one.
        p.stamps.mark(Mark::Attached);
    }
    let ready = write_id_maps(&child, init).and_then(|()| child.join_and_release(init));
    // The init's end, watched through a pidfd of our own (the shared one is the callers' to
    // kill through): without it, only the supervisor's `wait4(-1)` learns of the end.
    let exit_fd = ready.as_ref().ok().and_then(|()| open_pidfd(init));
    let ready = ready.and_then(|()| {
        watch(epoll, job, [host_end.as_ref(), init_read.as_ref()], exit_fd.as_ref())
    });
    if let Err(r) = ready {
        for fd in [host_end.as_ref(), init_read.as_ref(), exit_fd.as_ref()]
            .into_iter()
            .flatten()
        {
            epoll.remove(fd.as_raw_fd());
        }
        kill_and_reap(init);
        drop(child.spawned.take());
        shared.clear_pidfd();
        return Err(killed_result(shared).unwrap_or(r));
    }
    Ok(Running {
        audit: policy.is_audit().then(AuditLog::default),
        proxy: policy.network().map(|n| {
            let mut p = Proxy::new(n.clone(), job);
            if let Some((channel, addrs)) = relay {
                p.set_relay(channel, addrs);
            }
            p
        }),
        denied_connects: Vec::new(),
        policy,
        job,
        init,
        child,
        host_end,
        listener: None,
        init_pipe: init_read,
        exit_fd,
        pipe_bytes: Vec::with_capacity(5),
        init_ran: false,
        handoff_closed: false,
        main: None,
        held_exec: None,
        exec_allowed: false,
        exec_done: false,
        init_end: None,
        violation: None,
        stack_trace: None,
        setup_error: None,
        setup_latency: Vec::new(),
        fences: Fences::default(),
    })
}

/// Puts the hand-off socket and the init's pipe (both required) and the init's pidfd (when one
/// could be opened) in the epoll set under `job`.
fn watch(
    epoll: &Epoll,
    job: u64,
    [host_end, init_read]: [Option<&OwnedFd>; 2],
    exit_fd: Option<&OwnedFd>,
) -> Result<(), Box<RunResult>> {
    let required = [(host_end, Source::Handoff), (init_read, Source::InitPipe)];
    required
        .into_iter()
        .try_for_each(|(fd, source)| match fd {
            Some(fd) => epoll.add(fd.as_raw_fd(), job, source),
            None => Err(std::io::Error::from_raw_os_error(libc::EBADF)),
        })
        .and_then(|()| exit_fd.map_or(Ok(()), |fd| epoll.add(fd.as_raw_fd(), job, Source::Exit)))
        .map_err(|e| {
            Box::new(RunResult::setup_error(
                Reason::FailedSubprocess,
                format!("watching the user-notify sandbox's fds: {e}"),
            ))
        })
}
