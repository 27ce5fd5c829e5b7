//! One run of one executor under one policy: start, wait (with or without a timeout), kill.
//!
//! Every method takes `&self`, so a `Sandbox` can be shared (e.g. in an `Arc`) between a thread
//! that waits and one that kills. Dropping a running sandbox kills it and waits for the end.

use crate::comms::Comms;
use crate::error::{Error, Result};
use crate::executor::Executor;
use crate::monitor;
use crate::notify::{DenyTraces, Notify};
use crate::policy::Policy;
use crate::result::RunResult;
use crate::spawn::Plan;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

mod deadline;

/// Why the host ended a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KillReason {
    External = 1,
    Timeout = 2,
}

#[derive(Debug)]
enum Phase {
    NotStarted,
    Starting,
    Running { pid: i32 },
    Finished(Box<RunResult>),
}

/// State shared between the caller's threads, the monitor thread and the deadline thread.
pub(crate) struct Shared {
    phase: Mutex<Phase>,
    changed: Condvar,
    kill_reason: AtomicU8,
    pidfd: Mutex<Option<OwnedFd>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks cannot leave the data half-written (every update
    // is a single assignment), so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    fn new() -> Shared {
        Shared {
            phase: Mutex::new(Phase::NotStarted),
            changed: Condvar::new(),
            kill_reason: AtomicU8::new(0),
            pidfd: Mutex::new(None),
        }
    }

    pub(crate) fn set_pidfd(&self, fd: OwnedFd) {
        *lock(&self.pidfd) = Some(fd);
        // A kill may have been requested while the child was being created (the monitor thread
        // has raised its capabilities, so it may signal whatever the sandboxee became).
        if self.kill_reason().is_some() {
            crate::monitor::with_raised_capabilities(|| self.signal_main_here());
        }
    }

    pub(crate) fn clear_pidfd(&self) {
        *lock(&self.pidfd) = None;
    }

    pub(crate) fn set_running(&self, pid: i32) {
        let mut p = lock(&self.phase);
        if matches!(*p, Phase::Starting) {
            *p = Phase::Running { pid };
        }
        self.changed.notify_all();
    }

    fn finish(&self, r: RunResult) {
        *lock(&self.phase) = Phase::Finished(Box::new(r));
        self.changed.notify_all();
    }

    pub(crate) fn kill_reason(&self) -> Option<KillReason> {
        match self.kill_reason.load(Ordering::Acquire) {
            1 => Some(KillReason::External),
            2 => Some(KillReason::Timeout),
            _ => None,
        }
    }

    /// Records why the run is being ended (the first reason wins) and kills the main process.
    /// The monitor then kills every other task when it sees the main process die.
    pub(crate) fn kill(self: &Arc<Self>, why: KillReason) {
        self.kill_reason_or(why);
        if !self.signal_main_here() {
            // This thread may not signal the sandboxee; the deadline thread can.
            deadline::kill_from_here(Arc::downgrade(self));
        }
    }

    /// Records `why` unless a reason is already recorded.
    pub(crate) fn kill_reason_or(&self, why: KillReason) {
        let _ =
            self.kill_reason
                .compare_exchange(0, why as u8, Ordering::AcqRel, Ordering::Acquire);
    }

    /// SIGKILL to the main process (or the init) through the pidfd, from the calling thread;
    /// false when the kernel refused it for lack of permission.
    pub(crate) fn signal_main_here(&self) -> bool {
        let fd = lock(&self.pidfd);
        if let Some(fd) = fd.as_ref() {
            // SAFETY: pidfd_send_signal on a pidfd we hold; pid reuse cannot misdirect it.
            #[allow(unsafe_code)]
            let r = unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    fd.as_raw_fd(),
                    libc::SIGKILL,
                    0usize,
                    0u32,
                )
            };
            if r != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM) {
                return false;
            }
        }
        true
    }
}

/// A sandboxed run of one [`Executor`] under one [`Policy`].
pub struct Sandbox {
    executor: Mutex<Option<Executor>>,
    comms: Mutex<Option<Comms>>,
    notify: Mutex<Option<Box<dyn Notify>>>,
    policy: Policy,
    shared: Arc<Shared>,
    monitor: Mutex<Option<JoinHandle<()>>>,
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
            monitor: Mutex::new(None),
        }
    }

    /// Like [`new`](Self::new), with callbacks (see [`Notify`]) that run on the monitor thread.
    pub fn with_notify(executor: Executor, policy: Policy, notify: Box<dyn Notify>) -> Sandbox {
        let s = Sandbox::new(executor, policy);
        *lock(&s.notify) = Some(notify);
        s
    }

    /// Starts the sandboxee and waits for it to end.
    ///
    /// `Err` only for bad input or when the monitor thread cannot be created; everything that
    /// happens to the sandboxee, including failed setup steps, is in the [`RunResult`].
    pub fn run(&self) -> Result<RunResult> {
        self.start()?;
        self.wait()
    }

    /// Starts the sandboxee and returns once it has started the target program (or failed to).
    pub fn start(&self) -> Result<()> {
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
        )?);
        let mut comms = plan.comms_host.take().map(Comms::from_fd);
        *lock(&self.shared.phase) = Phase::Starting;
        if let Some(limit) = wall_time {
            deadline::arm(started_at + limit, Arc::downgrade(&self.shared));
        }
        let shared = Arc::clone(&self.shared);
        let policy = self.policy.clone();
        let mut notify = lock(&self.notify)
            .take()
            .unwrap_or_else(|| Box::new(DenyTraces));
        let handle = std::thread::Builder::new()
            .name("sbx-monitor".into())
            .stack_size(256 * 1024)
            .spawn(move || {
                let result = monitor::run(plan, policy, &shared, started_at, notify.as_mut());
                notify.finished(&result);
                shared.finish(result);
            })
            .map_err(|e| {
                Error::os(
                    "spawn monitor thread",
                    e.raw_os_error().unwrap_or(libc::EAGAIN),
                )
            })?;
        *lock(&self.monitor) = Some(handle);
        let running = {
            let mut p = lock(&self.shared.phase);
            while matches!(*p, Phase::Starting) {
                p = self
                    .shared
                    .changed
                    .wait(p)
                    .unwrap_or_else(|e| e.into_inner());
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
                Phase::Finished(r) => {
                    let r = (**r).clone();
                    drop(p);
                    if let Some(h) = lock(&self.monitor).take() {
                        let _ = h.join();
                    }
                    return Ok(r);
                }
                Phase::NotStarted => {
                    return Err(Error::InvalidState("the sandbox was not started"))
                }
                _ => {}
            }
            p = match until {
                None => self
                    .shared
                    .changed
                    .wait(p)
                    .unwrap_or_else(|e| e.into_inner()),
                Some(t) => {
                    let now = Instant::now();
                    if now >= t {
                        return Err(Error::WaitTimeout);
                    }
                    self.shared
                        .changed
                        .wait_timeout(p, t - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
    }

    /// Kills the sandboxee and everything it started; the result's status is EXTERNAL_KILL
    /// unless the run had already ended otherwise. Does nothing after the end.
    pub fn kill(&self) {
        self.shared.kill(KillReason::External);
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
    fn drop(&mut self) {
        if let Some(h) = lock(&self.monitor).take() {
            if !self.is_finished() {
                self.shared.kill(KillReason::External);
            }
            let _ = h.join();
        }
    }
}
