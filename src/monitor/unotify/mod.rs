//! The user-notify monitor of one sandbox: no ptrace at all. The filter returns
//! `SECCOMP_RET_USER_NOTIF` where the ptrace monitor's returns TRACE (violations, trace rules,
//! the start exec); the sandboxee hands the listener to the supervisor, which reads each
//! notification, recomputes the verdict with [`Policy::decide`] (notifications carry no return
//! data) and answers: CONTINUE for the one start exec and for trace rules Notify allows, an
//! errno, or a kill of the whole sandbox for a violation.
//!
//! Every decision is made on the registers in the notification (number, arch, arguments as
//! values), never on memory they point to, so CONTINUE is not open to the time-of-check race
//! seccomp_unotify(2) warns about; the monitor reads no memory of the sandboxee.
//!
//! How it sees the run without ptrace (`spawn/handoff.rs`): the init (our child, pid 1 of the
//! sandbox) reports through a pipe when its image runs and how the sandboxee (pid 2) ended, then
//! exits, which kills what is left in the pid namespace; the supervisor's `wait4` sees the init
//! end with the usage of everything it reaped. The hand-off socket hangs up when no child still
//! runs on the host's memory.
//!
//! What only ptrace gives (documented for users): signals delivered to the sandboxee
//! (`Notify::signal`), the count of tasks (`peak_tasks` stays 0; the task cap is the sandbox's own
//! RLIMIT_NPROC), the stack pointer of a violation.

#![allow(unsafe_code)]

use super::epoll::{Epoll, Source};
use super::launch::Child;
use super::netproxy::{self, Proxy};
use super::state::Shared;
use super::Fences;
use super::{fences, setup_failure, AuditLog, Outcome};
use crate::caps::with_raised_capabilities;
use crate::notify::Notify;
use crate::policy::Policy;
use crate::result::{DeniedConnect, Reason, RunResult, Violation};
use crate::spawn::handoff::recv_listener;
use crate::spawn::latency::{Mark, SetupStep};
use crate::spawn::plan::Step;
use crate::sys::seccomp as uapi;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::OnceLock;
use std::time::Instant;

mod attach;
mod notifications;
mod start;

pub(crate) use start::start;

/// Whether this kernel has user notification (`SECCOMP_GET_NOTIF_SIZES`, Linux 5.0) with the
/// sizes this module was written for. Asked once per process.
pub(crate) fn supported() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        let mut sizes = uapi::NotifSizes::default();
        // SAFETY: the kernel writes one struct seccomp_notif_sizes.
        let r = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                uapi::GET_NOTIF_SIZES,
                0,
                std::ptr::addr_of_mut!(sizes),
            )
        };
        r == 0
            && usize::from(sizes.notif) >= std::mem::size_of::<uapi::Notif>()
            && usize::from(sizes.resp) >= std::mem::size_of::<uapi::NotifResp>()
    })
}

/// A started sandbox under the user-notify monitor.
pub(crate) struct Running {
    policy: Policy,
    /// The supervisor's id for this sandbox (the high bits of its epoll tokens).
    job: u64,
    /// Our clone child, the sandbox's init: its end is the end of the run.
    init: libc::pid_t,
    child: Child,
    host_end: Option<OwnedFd>,
    listener: Option<OwnedFd>,
    init_pipe: Option<OwnedFd>,
    /// A pidfd of the init, readable once it has ended.
    exit_fd: Option<OwnedFd>,
    /// What the init wrote so far: 'E', then 4 bytes of wait status.
    pipe_bytes: Vec<u8>,
    /// The init image runs: no init code is left on the host's memory.
    init_ran: bool,
    /// No child holds the hand-off socket any more (the sandboxee exec'd or ended).
    handoff_closed: bool,
    /// The sandboxee's host pid, from its start exec's notification.
    main: Option<libc::pid_t>,
    /// The start exec's notification, held until the init image runs.
    held_exec: Option<u64>,
    exec_allowed: bool,
    /// The sandboxee's exec was seen to complete (`Phase::Running` published).
    exec_done: bool,
    /// How the init ended, and the usage of everything it reaped.
    init_end: Option<(i32, libc::rusage)>,
    violation: Option<(Reason, Violation)>,
    /// The violating thread's stack (stack traces on).
    stack_trace: Option<crate::stacktrace::StackTrace>,
    /// An audit run's record.
    audit: Option<AuditLog>,
    /// The network proxy, under an allow-list.
    proxy: Option<Proxy>,
    /// Connects the allow-list refused.
    denied_connects: Vec<DeniedConnect>,
    setup_error: Option<RunResult>,
    setup_latency: Vec<SetupStep>,
    fences: Fences,
}

impl Running {
    /// The init: the only task whose end the supervisor's `wait4` reports for this sandbox.
    pub(crate) fn first_pid(&self) -> libc::pid_t {
        self.init
    }

    /// The init ended: the run is over (the pid namespace died with it).
    pub(crate) fn on_exit(&mut self, status: i32, rusage: libc::rusage, epoll: &Epoll) {
        self.read_pipe(epoll);
        self.init_end = Some((status, rusage));
        self.close_all(epoll);
    }

    pub(crate) fn is_done(&self) -> bool {
        self.init_end.is_some()
    }

    /// The init's end is in the epoll set (as [`Source::Exit`]).
    pub(crate) fn watches_exit(&self) -> bool {
        self.exit_fd.is_some()
    }

    /// One of this sandbox's fds is ready.
    pub(crate) fn on_ready(
        &mut self,
        source: Source,
        epoll: &Epoll,
        shared: &Shared,
        notify: &mut dyn Notify,
    ) {
        match source {
            Source::Handoff => self.on_handoff(epoll, shared, notify),
            Source::Listener => self.on_listener(epoll, shared, notify),
            Source::InitPipe => {
                if self.read_pipe(epoll) {
                    self.mark_running(shared);
                }
                self.maybe_started(shared);
            }
            Source::Connect => {
                if let (Some(p), Some(l)) = (self.proxy.as_mut(), self.listener.as_ref()) {
                    p.on_writable(l.as_raw_fd(), epoll);
                }
            }
            Source::Relay => {
                if let Some(p) = self.proxy.as_mut() {
                    p.on_relay();
                }
            }
            // The supervisor's own: the init's end is reaped there, the bell served there (a
            // flow is only ever in a relay's own set).
            Source::Exit | Source::Bell | Source::Flow => {}
        }
    }

    /// Kills the sandbox (its init, and with it the pid namespace).
    pub(crate) fn end_all(&mut self, shared: &Shared, epoll: &Epoll) {
        if !with_raised_capabilities(|| shared.signal_main_here()) && self.init_end.is_none() {
            // No pidfd (pidfd_open failed): the init is our unreaped child, so its pid is
            // still its own.
            // SAFETY: signalling our own unreaped child.
            with_raised_capabilities(|| unsafe { libc::kill(self.init, libc::SIGKILL) });
        }
        // The outcome is decided: only the init's end matters now. Its pipe stays open for the
        // last read; these fds stop waking the supervisor while the kernel tears down.
        for fd in [&self.host_end, &self.listener, &self.init_pipe]
            .into_iter()
            .flatten()
        {
            epoll.remove(fd.as_raw_fd());
        }
        if let Some(p) = self.proxy.as_mut() {
            p.close(epoll);
        }
    }

    /// The listener arrives, then hang-up: the sandboxee no longer runs on our memory.
    fn on_handoff(&mut self, epoll: &Epoll, shared: &Shared, notify: &mut dyn Notify) {
        let Some(sock) = self.host_end.as_ref().map(AsRawFd::as_raw_fd) else {
            return;
        };
        loop {
            match recv_listener(sock) {
                Ok(Some(l)) if self.listener.is_none() => {
                    // Where the kernel has it (6.6), wake the sandboxee on our CPU.
                    // SAFETY: an ioctl on our listener with a u64 argument.
                    unsafe {
                        let flags: u64 = uapi::USER_NOTIF_FD_SYNC_WAKE_UP;
                        libc::ioctl(l.as_raw_fd(), uapi::IOCTL_NOTIF_SET_FLAGS as _, flags)
                    };
                    if epoll
                        .add(l.as_raw_fd(), self.job, Source::Listener)
                        .is_err()
                    {
                        // Unwatched notifications would block the sandboxee forever.
                        self.end_all(shared, epoll);
                    }
                    self.listener = Some(l);
                    // The init sent its udp relay sockets before it started the sandboxee.
                    if let Some(p) = self.proxy.as_mut() {
                        p.receive_relay(epoll);
                    }
                    // The start exec usually waits already: answer it now, not a wake-up later.
                    self.on_listener(epoll, shared, notify);
                }
                // A second listener cannot come from our code: ignore (it is closed).
                Ok(Some(_)) => {}
                Ok(None) => return,
                Err(_) => break,
            }
        }
        // EOF: every child copy is closed.
        if let Some(sock) = self.host_end.take() {
            epoll.remove(sock.as_raw_fd());
        }
        self.handoff_closed = true;
        self.maybe_started(shared);
    }

    /// Marks the sandboxee running (the exec stamp, the fences, `Phase::Running`) once: when its
    /// start exec is let through, and no failure was reported. If that exec fails after all, the
    /// child's report still turns the result into the SETUP_ERROR it names.
    fn mark_running(&mut self, shared: &Shared) -> bool {
        if self.exec_done {
            return true;
        }
        let (Some(main), true) = (self.main, self.exec_allowed) else {
            return false;
        };
        if self.setup_failed() {
            // The report is read when the run ends: keep the plan until then.
            return false;
        }
        self.note_exec();
        shared.set_running(main);
        self.exec_done = true;
        true
    }

    /// The sandboxee's exec is done: its stamp, the setup latency and the fences in force.
    fn note_exec(&mut self) {
        if let Some(p) = self.child.plan() {
            p.stamps.mark(Mark::Exec);
            self.setup_latency = p.stamps.breakdown();
            self.fences = fences(p);
            if self.proxy.is_some() {
                self.fences.on.push("network_allow_list");
            }
        }
    }

    /// Once the sandboxee has exec'd and the init image runs, no child is left on our memory:
    /// the plan can go (closing our copies of the mapped fds).
    fn maybe_started(&mut self, shared: &Shared) {
        // A child that failed (its exec included) keeps the plan: the report is read at the end.
        if self.handoff_closed && self.init_ran && !self.setup_failed() && self.mark_running(shared)
        {
            self.child.free();
        }
    }

    /// The children reported a failed setup step (false once the plan is freed: they had not).
    fn setup_failed(&self) -> bool {
        self.child.plan().is_some_and(|p| {
            p.report.step.load(std::sync::atomic::Ordering::Acquire) != Step::None as u32
        })
    }

    /// Reads what the init wrote: 'E' when its image runs, then the sandboxee's wait status.
    /// True when that released the held start exec.
    fn read_pipe(&mut self, epoll: &Epoll) -> bool {
        let Some(pipe) = self.init_pipe.as_ref() else {
            return false;
        };
        let mut buf = [0u8; 8];
        loop {
            // SAFETY: reading into a live buffer from our non-blocking pipe.
            let n = unsafe { libc::read(pipe.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            match usize::try_from(n) {
                Ok(0) => {
                    epoll.remove(pipe.as_raw_fd());
                    self.init_pipe = None;
                    break;
                }
                Ok(n) => {
                    let room = 5usize.saturating_sub(self.pipe_bytes.len());
                    self.pipe_bytes.extend_from_slice(&buf[..n.min(room)]);
                }
                Err(_) => break,
            }
        }
        if !self.init_ran && self.pipe_bytes.first() == Some(&b'E') {
            self.init_ran = true;
            if let Some(id) = self.held_exec.take() {
                self.respond(id, 0, uapi::USER_NOTIF_FLAG_CONTINUE);
                return true;
            }
        }
        false
    }

    /// The sandboxee's wait status, when the init reported one.
    fn sandboxee_status(&self) -> Option<i32> {
        let b = self.pipe_bytes.get(1..5)?;
        Some(i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Answers notification `id`: `error` 0 with CONTINUE lets the call run, a negative errno
    /// fails it. A notification whose task died meanwhile is refused with ENOENT: nothing to do.
    fn respond(&self, id: u64, error: i32, flags: u32) {
        if let Some(l) = self.listener.as_ref() {
            netproxy::send_response(l.as_raw_fd(), id, error, flags);
        }
    }

    /// Stops watching and closes every fd of this sandbox.
    fn close_all(&mut self, epoll: &Epoll) {
        for fd in [
            self.host_end.take(),
            self.listener.take(),
            self.init_pipe.take(),
            self.exit_fd.take(),
        ]
        .into_iter()
        .flatten()
        {
            epoll.remove(fd.as_raw_fd());
        }
        if let Some(p) = self.proxy.as_mut() {
            p.close(epoll);
        }
    }

    /// The run's result; frees what is left.
    pub(crate) fn collect(
        mut self,
        shared: &Shared,
        started_at: Instant,
        epoll: &Epoll,
    ) -> RunResult {
        self.close_all(epoll);
        let (init_status, rusage) = self.init_end.unwrap_or((libc::SIGKILL, zero_rusage()));
        // The sandboxee's wait status, or, when the init ended first (killed, or its own setup
        // failed), the init's.
        let main_status = self.sandboxee_status().unwrap_or(init_status);
        let main = self.main.or(Some(self.init));
        let exec_seen = self.exec_allowed && !self.setup_failed();
        if !exec_seen {
            // Marked running when its exec was let through, but the exec failed: the target
            // never started, so no fence was in force and no latency is reported.
            self.fences = Fences::default();
            self.setup_latency.clear();
        }
        if !exec_seen && libc::WIFEXITED(main_status) && self.violation.is_none() {
            if let Some(p) = self.child.plan() {
                if let Some(e) = setup_failure(p, libc::WEXITSTATUS(main_status)) {
                    self.setup_error.get_or_insert(e);
                }
            }
        }
        if exec_seen && !self.exec_done {
            self.note_exec();
        }
        self.child.free();
        shared.clear_pidfd();
        let stack_trace = self.stack_trace.take();
        Outcome {
            main,
            main_status: Some((main_status, rusage)),
            exec_seen,
            peak_tasks: 0,
            violation: self.violation.take(),
            setup_error: self.setup_error.take(),
            setup_latency: std::mem::take(&mut self.setup_latency),
            fences: std::mem::take(&mut self.fences),
            audit: self.audit.take(),
            denied_connects: std::mem::take(&mut self.denied_connects),
            cgroup: self.child.cgroup_usage(),
            host_uid: self.child.host_uid,
            stack_trace,
        }
        .into_result(shared.kill_reason(), started_at)
    }
}

fn zero_rusage() -> libc::rusage {
    // SAFETY: rusage is plain old data; all-zero is a valid value.
    unsafe { std::mem::zeroed() }
}
