//! `sbx_notify_callbacks`: C callbacks from the monitor while a sandbox runs (sandbox2's Notify).

use super::handle::free_arc;
use super::handle::{with_view, UserData};
use super::panic::{boundary, PanicDefault};
use super::result::{sbx_result, sbx_syscall, ResultHandle, ViolationHandle};
use crate::{Notify, RunResult, Syscall, TraceAction};
use std::ffi::c_void;

/// What a `trace` callback decides for a syscall that a trace rule handed over
/// (`sbx_policy_builder_trace_syscall`, `SBX_ACTION_TRACE`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sbx_trace_action {
    /// Let the syscall run.
    Allow = 1,
    /// Treat it as a violation: the run ends as `SBX_RUN_STATUS_VIOLATION` with this syscall
    /// (and the `violation` callback is called for it).
    Deny = 2,
    /// Skip it and make it fail with the errno the callback stored in `*errno_out` (1..4095).
    Errno = 3,
}

/// Callbacks from the monitor while a sandbox runs, for `sbx_sandbox_new_with_notify`. Every
/// member may be NULL, which gives the default noted beside it. The struct is copied; the
/// pointers in it must stay valid until `destroy` is called.
///
/// Threads: callbacks run on libsbx's supervisor thread (one per process, shared by every
/// sandbox), not the thread that created or waits for the sandbox, one at a time, while the
/// sandboxee (or the thread concerned) is stopped; a slow callback delays every sandbox. Whatever they share with other threads through `user_data` needs synchronisation.
/// Keep them short and never wait in one for something the sandboxee must do; they must not
/// free, start or wait for the sandbox that calls them, and must return normally (no C++
/// exception or `longjmp` may leave a callback).
///
/// Lifetimes: `user_data` is passed to every callback untouched and must stay valid until
/// `destroy` is called, which happens exactly once, after the last callback: on the monitor
/// thread when the run is over, or in `sbx_sandbox_free` when no run began (never started, or
/// `sbx_sandbox_start` failed). By the time `sbx_sandbox_free` returns it has been called. The `sbx_syscall` and `sbx_result`
/// views a callback receives are valid only during that call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sbx_notify_callbacks {
    /// The sandboxee (host pid `pid`) is set up and about to start its target. Return false to
    /// veto the run: it ends as `SBX_RUN_STATUS_SETUP_ERROR` with reason `FAILED_NOTIFY`.
    /// NULL: true.
    pub started: Option<extern "C" fn(user_data: *mut c_void, pid: i32) -> bool>,
    /// A trace rule matched `call`: return one of the `SBX_TRACE_ACTION_*` values; for
    /// `SBX_TRACE_ACTION_ERRNO`, also store the errno (1..4095) in `*errno_out`. Any other
    /// return value or errno is treated as `SBX_TRACE_ACTION_DENY`. NULL: deny.
    pub trace: Option<
        extern "C" fn(user_data: *mut c_void, call: *const sbx_syscall, errno_out: *mut i32) -> u32,
    >,
    /// `call` broke the policy; the sandbox is about to be killed. NULL: nothing.
    pub violation: Option<extern "C" fn(user_data: *mut c_void, call: *const sbx_syscall)>,
    /// Task `pid` of the sandbox is about to receive signal `sig` (it is delivered unchanged).
    /// Called under the ptrace monitor only (`SBX_MONITOR_PTRACE`, or auto without namespaces).
    /// NULL: nothing.
    pub signal: Option<extern "C" fn(user_data: *mut c_void, pid: i32, sig: i32)>,
    /// The run is over; called once, with the result `sbx_sandbox_wait` will return. NULL:
    /// nothing.
    pub finished: Option<extern "C" fn(user_data: *mut c_void, result: *const sbx_result)>,
    /// The sandbox is done with the callbacks and `user_data`: release what it holds. NULL:
    /// nothing.
    pub destroy: Option<extern "C" fn(user_data: *mut c_void)>,
    /// Passed to every callback as its first argument; never dereferenced by libsbx.
    pub user_data: *mut c_void,
}

impl PanicDefault for TraceAction {
    fn panic_default() -> Self {
        TraceAction::Deny
    }
}

/// The Rust `Notify` behind a `sbx_notify_callbacks`: calls the C functions from the monitor
/// thread.
///
/// The function pointers are typed as safe `extern "C" fn`: the header makes the C caller
/// promise they are real functions of those signatures, callable from the supervisor thread with
/// the views passed here. Each method runs its Rust part in a panic boundary, so a bug here
/// cannot unwind into the monitor; a panic there vetoes the start or denies the traced call
/// (failing closed).
pub(crate) struct CNotify {
    started: Option<extern "C" fn(*mut c_void, i32) -> bool>,
    trace: Option<extern "C" fn(*mut c_void, *const sbx_syscall, *mut i32) -> u32>,
    violation: Option<extern "C" fn(*mut c_void, *const sbx_syscall)>,
    signal: Option<extern "C" fn(*mut c_void, i32, i32)>,
    finished: Option<extern "C" fn(*mut c_void, *const sbx_result)>,
    destroy: Option<extern "C" fn(*mut c_void)>,
    user_data: UserData,
}

impl CNotify {
    pub(crate) fn new(cb: &sbx_notify_callbacks) -> CNotify {
        CNotify {
            started: cb.started,
            trace: cb.trace,
            violation: cb.violation,
            signal: cb.signal,
            finished: cb.finished,
            destroy: cb.destroy,
            user_data: UserData(cb.user_data),
        }
    }

    fn ud(&self) -> *mut c_void {
        self.user_data.0
    }
}

/// What a C trace decision means; anything not understood is a denial.
fn trace_action_from_c(action: u32, errno_value: i32) -> TraceAction {
    match action {
        x if x == sbx_trace_action::Allow as u32 => TraceAction::Allow,
        x if x == sbx_trace_action::Errno as u32 => {
            if let Ok(e @ 1..=4095) = u16::try_from(errno_value) {
                TraceAction::Errno(e)
            } else {
                log::warn!(
                    "libsbx: trace callback gave errno {errno_value}, outside 1..4095: denied"
                );
                TraceAction::Deny
            }
        }
        x if x == sbx_trace_action::Deny as u32 => TraceAction::Deny,
        other => {
            log::warn!(
                "libsbx: trace callback returned {other}, not an SBX_TRACE_ACTION_*: denied"
            );
            TraceAction::Deny
        }
    }
}

impl Notify for CNotify {
    fn started(&mut self, pid: i32) -> bool {
        boundary(|| self.started.map_or(true, |f| f(self.ud(), pid)))
    }

    fn trace(&mut self, call: &Syscall) -> TraceAction {
        boundary(|| {
            let Some(f) = self.trace else {
                return TraceAction::Deny;
            };
            let view = ViolationHandle::new(call.clone());
            let mut errno_value: i32 = 0;
            let ud = self.ud();
            let action = with_view::<sbx_syscall, _>(&view, |v| f(ud, v, &mut errno_value));
            trace_action_from_c(action, errno_value)
        })
    }

    fn violation(&mut self, call: &Syscall) {
        boundary(|| {
            if let Some(f) = self.violation {
                let view = ViolationHandle::new(call.clone());
                let ud = self.ud();
                with_view::<sbx_syscall, _>(&view, |v| f(ud, v));
            }
        });
    }

    fn signal(&mut self, pid: i32, signal: i32) {
        boundary(|| {
            if let Some(f) = self.signal {
                f(self.ud(), pid, signal);
            }
        });
    }

    fn finished(&mut self, result: &RunResult) {
        boundary(|| {
            if let Some(f) = self.finished {
                let view = ResultHandle::into_ptr(result.clone());
                f(self.ud(), view);
                free_arc(view);
            }
        });
    }
}

impl Drop for CNotify {
    fn drop(&mut self) {
        boundary(|| {
            if let Some(f) = self.destroy {
                f(self.ud());
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_trace_answers_are_denials() {
        assert_eq!(trace_action_from_c(1, 0), TraceAction::Allow);
        assert_eq!(trace_action_from_c(2, 0), TraceAction::Deny);
        assert_eq!(trace_action_from_c(3, 13), TraceAction::Errno(13));
        assert_eq!(trace_action_from_c(3, 0), TraceAction::Deny);
        assert_eq!(trace_action_from_c(3, 4096), TraceAction::Deny);
        assert_eq!(trace_action_from_c(3, -1), TraceAction::Deny);
        assert_eq!(trace_action_from_c(0, 0), TraceAction::Deny);
        assert_eq!(trace_action_from_c(99, 0), TraceAction::Deny);
    }
}
