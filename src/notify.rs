//! Notify: callbacks from the monitor while a sandbox runs (sandbox2's `Notify`).
//!
//! Every method has a default, so an implementation overrides only what it needs. The callbacks
//! run on libsbx's supervisor thread (one per process, shared by every sandbox) while the
//! sandboxee (or the thread concerned) is stopped: keep them short (a slow one delays every
//! sandbox), never wait in one for something the sandboxee must do, and do not start or wait
//! for a sandbox from one (`Error::InvalidState`); killing one is fine.

use crate::result::{RunResult, Syscall};

/// What to do with a syscall a `trace` rule (or `DefaultAction::TraceAll`) handed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceAction {
    /// Let the syscall run.
    Allow,
    /// Treat it as a violation: the run ends as VIOLATION with this syscall.
    Deny,
    /// Skip it and make it return `-errno` (1..=4095).
    Errno(u16),
}

/// Observer and decider for one sandbox run.
pub trait Notify: Send {
    /// The sandboxee (host pid `pid`) is set up and about to start its target. Returning `false`
    /// vetoes the run: it ends as SETUP_ERROR with reason FAILED_NOTIFY.
    fn started(&mut self, pid: i32) -> bool {
        let _ = pid;
        true
    }

    /// A `trace` rule matched `call`; decide what happens to it. Default: [`TraceAction::Deny`].
    fn trace(&mut self, call: &Syscall) -> TraceAction {
        let _ = call;
        TraceAction::Deny
    }

    /// `call` broke the policy; the sandbox is about to be killed.
    fn violation(&mut self, call: &Syscall) {
        let _ = call;
    }

    /// Task `pid` of the sandbox is about to receive signal `signal` (it is delivered unchanged).
    /// Called by the ptrace monitor only (`Monitor::Ptrace`, or `Auto` without namespaces): the
    /// user-notify monitor does not see signals.
    fn signal(&mut self, pid: i32, signal: i32) {
        let _ = (pid, signal);
    }

    /// The run is over; called once, with the result `Sandbox::wait` will return.
    fn finished(&mut self, result: &RunResult) {
        let _ = result;
    }
}

/// The Notify used when none is given: trace rules are violations.
pub(crate) struct DenyTraces;

impl Notify for DenyTraces {}
