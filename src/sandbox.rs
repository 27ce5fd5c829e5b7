//! One run of one executor under one policy: start, wait (with or without a timeout), kill.
//!
//! Every method takes `&self`, so a `Sandbox` can be shared (e.g. in an `Arc`) between a thread
//! that waits and one that kills. Dropping a running sandbox kills it and waits for the end.

use crate::comms::Comms;
use crate::error::{Error, Result};
use crate::executor::Executor;
use crate::monitor::state::{lock, KillReason, Phase, Shared};
use crate::monitor::supervisor::{self, Job};
use crate::notify::{DenyTraces, Notify};
use crate::policy::{Monitor, Policy};
use crate::result::RunResult;
use crate::spawn::Plan;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The monitor to ask the plan for: user-notify needs kernel support (asked once); Auto without
/// it is ptrace. A network allow-list needs user-notify (its proxy answers the connects); stack
/// traces need ptrace.
fn monitor_for(policy: &Policy) -> Result<Monitor> {
    let supported = crate::monitor::unotify_supported();
    let asked = match policy.monitor() {
        Monitor::Auto if policy.network().is_some() => Monitor::Unotify,
        // ptrace also sees crash signals (user-notify traces violations only, by attaching).
        Monitor::Auto if policy.stack_traces() => Monitor::Ptrace,
        m => m,
    };
    match asked {
        Monitor::Unotify if !supported => Err(Error::Unsupported {
            feature: "user-notify monitor",
            detail: "this kernel has no seccomp user notification (Linux 5.0+)".into(),
            fix: "use monitor ptrace or auto",
        }),
        Monitor::Auto if !supported => Ok(Monitor::Ptrace),
        m => Ok(m),
    }
}

/// Records why the run is being ended (the first reason wins) and kills the main process.
/// `traced`: the policy asks for stack traces, so the supervisor takes the main thread's stack
/// first (only it can: it is the tracer, or attaches); the kill goes through its queue then.
fn kill(shared: &Arc<Shared>, why: KillReason, traced: bool) {
    shared.kill_reason_or(why);
    if traced {
        match supervisor::kill_traced(shared) {
            Ok(()) => return,
            Err(e) => log::error!("libsbx: cannot hand a traced kill to the supervisor: {e}"),
        }
    }
    if !shared.signal_main_here() {
        // This thread may not signal the sandboxee (a root caller's thread with an empty
        // effective set); the supervisor raises its capabilities for kills.
        if let Err(e) = supervisor::kill(shared) {
            log::error!("libsbx: cannot hand a kill to the supervisor: {e}");
        }
    }
}

/// A sandboxed run of one [`Executor`] under one [`Policy`].
pub struct Sandbox {
    executor: Mutex<Option<Executor>>,
    comms: Mutex<Option<Comms>>,
    notify: Mutex<Option<Box<dyn Notify>>>,
    policy: Policy,
    shared: Arc<Shared>,
}

impl Sandbox {
    /// Prepares a run; nothing starts until [`start`](Self::start) or [`run`](Self::run).
    pub fn new(executor: Executor, policy: Policy) -> Sandbox {
        Sandbox {
            executor: Mutex::new(Some(executor)),
            comms: Mutex::new(None),
            notify: Mutex::new(None),
            policy,
            shared: Arc::new(Shared::new()),
        }
    }

    /// Like [`new`](Self::new), with callbacks (see [`Notify`]) that run on the supervisor thread.
    pub fn with_notify(executor: Executor, policy: Policy, notify: Box<dyn Notify>) -> Sandbox {
        let s = Sandbox::new(executor, policy);
        *lock(&s.notify) = Some(notify);
        s
    }

    /// Starts the sandboxee and waits for it to end.
    ///
    /// `Err` only for bad input or when the supervisor thread cannot be created; everything that
    /// happens to the sandboxee, including failed setup steps, is in the [`RunResult`].
    pub fn run(&self) -> Result<RunResult> {
        self.start()?;
        self.wait()
    }

    /// Starts the sandboxee and returns once it has started the target program (or failed to).
    pub fn start(&self) -> Result<()> {
        if supervisor::on_supervisor_thread() {
            // It would wait for the very thread that has to start it.
            return Err(Error::InvalidState(
                "a sandbox cannot be started from a Notify callback",
            ));
        }
        let exec = lock(&self.executor)
            .take()
            .ok_or(Error::InvalidState("this sandbox was already started"))?;
        let wall_time = exec.limits.wall_time;
        let before_exec = exec.before_exec;
        let started_at = Instant::now();
        // All validation and preparation happens here, on the caller's thread: bad input
        // returns an error before any process exists.
        let mut plan = Box::new(Plan::new(
            exec,
            &self.policy,
            self.policy.namespaces(),
            self.policy.mounts(),
            monitor_for(&self.policy)?,
        )?);
        let mut comms = plan.comms_host.take().map(Comms::from_fd);
        *lock(&self.shared.phase) = Phase::Starting;
        let notify = lock(&self.notify)
            .take()
            .unwrap_or_else(|| Box::new(DenyTraces));
        let job = Job {
            plan,
            policy: self.policy.clone(),
            shared: Arc::clone(&self.shared),
            started_at,
            notify,
            deadline: wall_time.map(|limit| started_at + limit),
            effective: crate::caps::effective_of_this_thread(),
        };
        if let Err(e) = supervisor::start(job) {
            *lock(&self.shared.phase) = Phase::NotStarted;
            return Err(e);
        }
        let running = {
            let mut p = lock(&self.shared.phase);
            while matches!(*p, Phase::Starting) {
                p = self
                    .shared
                    .changed
                    .wait(p)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            matches!(*p, Phase::Running { .. })
        };
        if let (false, true, Some(c)) = (before_exec, running, comms.as_mut()) {
            // The sandboxee applies this itself in `client::sandbox_me_here`; it is the first
            // message on the channel, so it precedes anything the caller sends.
            let bytes: Vec<u8> = self
                .policy
                .program()
                .iter()
                .flat_map(|i| {
                    let mut b = [0u8; 8];
                    b[..2].copy_from_slice(&i.code.to_ne_bytes());
                    b[2] = i.jt;
                    b[3] = i.jf;
                    b[4..].copy_from_slice(&i.k.to_ne_bytes());
                    b
                })
                .collect();
            if let Err(e) = c.send_tlv(crate::client::POLICY_TAG, &bytes) {
                // The sandboxee is gone or broke the channel; its result will say what happened.
                log::warn!("libsbx: sending the policy to the sandboxee failed: {e}");
            }
        }
        *lock(&self.comms) = comms;
        Ok(())
    }

    /// Waits for the end of the run and returns its result (again on later calls).
    pub fn wait(&self) -> Result<RunResult> {
        self.wait_until(None)
    }

    /// Like [`wait`](Self::wait), but gives up after `timeout` with [`Error::WaitTimeout`]
    /// (the sandbox keeps running).
    pub fn wait_timeout(&self, timeout: Duration) -> Result<RunResult> {
        self.wait_until(Some(Instant::now() + timeout))
    }

    fn wait_until(&self, until: Option<Instant>) -> Result<RunResult> {
        let mut p = lock(&self.shared.phase);
        loop {
            match &*p {
                Phase::Finished(r) => return Ok((**r).clone()),
                Phase::NotStarted => {
                    return Err(Error::InvalidState("the sandbox was not started"))
                }
                _ if supervisor::on_supervisor_thread() => {
                    // Only this thread can finish it.
                    return Err(Error::InvalidState(
                        "a running sandbox cannot be waited for from a Notify callback",
                    ));
                }
                _ => {}
            }
            p = match until {
                None => self
                    .shared
                    .changed
                    .wait(p)
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
                Some(t) => {
                    let now = Instant::now();
                    if now >= t {
                        return Err(Error::WaitTimeout);
                    }
                    self.shared
                        .changed
                        .wait_timeout(p, t - now)
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .0
                }
            };
        }
    }

    /// Kills the sandboxee and everything it started; the result's status is EXTERNAL_KILL
    /// unless the run had already ended otherwise. Does nothing after the end.
    pub fn kill(&self) {
        kill(&self.shared, KillReason::External, self.policy.stack_traces());
    }

    /// The host end of the comms channel (see `Executor::enable_comms`), once, after `start`.
    pub fn take_comms(&self) -> Option<Comms> {
        lock(&self.comms).take()
    }

    /// Host pid of the sandboxee while it runs.
    pub fn pid(&self) -> Option<i32> {
        match &*lock(&self.shared.phase) {
            Phase::Running { pid } => Some(*pid),
            Phase::Finished(r) if r.pid > 0 => Some(r.pid),
            _ => None,
        }
    }

    /// A file descriptor that becomes readable (`POLLIN`, level-triggered) once the result is
    /// ready, so an event loop (epoll, tokio's `AsyncFd`, Go's netpoller) can wait for the end
    /// without a thread; then [`wait`](Self::wait) returns at once. It belongs to the sandbox:
    /// poll it, do not read or close it; it stays valid while the sandbox lives.
    pub fn completion_fd(&self) -> Result<std::os::fd::BorrowedFd<'_>> {
        let raw = self
            .shared
            .completion_fd()
            .map_err(|e| Error::os("eventfd", e.raw_os_error().unwrap_or(libc::EMFILE)))?;
        // SAFETY: the fd lives in `self.shared` until the sandbox is dropped, which the
        // borrow of `self` outlasts.
        #[allow(unsafe_code)]
        Ok(unsafe { std::os::fd::BorrowedFd::borrow_raw(raw) })
    }

    /// True once the run has ended.
    pub fn is_finished(&self) -> bool {
        matches!(&*lock(&self.shared.phase), Phase::Finished(_))
    }

    /// The policy this sandbox runs under.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }
}

impl Drop for Sandbox {
    /// A running sandbox is killed, and waited for unless this is the supervisor thread (a
    /// Notify callback dropping another sandbox), which finishes it after the callback.
    fn drop(&mut self) {
        let started = !matches!(&*lock(&self.shared.phase), Phase::NotStarted);
        if started && !self.is_finished() {
            // Nobody sees this result: no stack trace for it.
            kill(&self.shared, KillReason::External, false);
            if !supervisor::on_supervisor_thread() {
                let _ = self.wait();
            }
        }
    }
}

/// Turns template mount namespaces on (the default) or off for this process's sandboxes: a root
/// caller's sandboxes of one view are then cloned from a mount namespace holding the view's
/// read-only part, built once (see ARCHITECTURE.md, "Mount templates"). Off: every sandbox's
/// init builds its whole view from the host's mount table. For comparisons and for callers who
/// want that; sandboxes already planned keep what they were given.
pub fn set_mount_templates(on: bool) {
    crate::spawn::mntns::set_enabled(on);
}
