//! `sbx_sandbox`: one run of one executor under one policy.

use super::comms::sbx_comms;
use super::failure::{sbx_error, Failure};
use super::executor::sbx_executor;
use super::handle::{
    box_into_ptr, take_box, castable, check_out, free_box, ref_from_ptr, try_copy, try_ref,
    write_out,
};
use super::notify::{sbx_notify_callbacks, CNotify};
use super::panic::{boundary, boundary_status};
use super::policy::sbx_policy;
use super::result::{sbx_result, ResultHandle};
use super::status::sbx_status;
use crate::{RunResult, Sandbox};
use std::time::Duration;

/// One run of one executor under one policy. Start it with `sbx_sandbox_run` (start and wait)
/// or `sbx_sandbox_start`, then `sbx_sandbox_wait` or `sbx_sandbox_wait_timeout`.
///
/// Functions taking a `const sbx_sandbox *` (`sbx_sandbox_kill`, `sbx_sandbox_pid`,
/// `sbx_sandbox_is_finished`) may be called from any thread at any time, also while another
/// thread is blocked in `sbx_sandbox_wait`; the others need exclusive use. Freeing a running
/// sandbox kills it and waits for the end.
pub struct sbx_sandbox {
    _private: [u8; 0],
}

castable!(sbx_sandbox => Sandbox, OwnershipBox, super::handle::kind::SANDBOX);

/// Writes a run's result to `*result_out` as a new shared handle.
fn store(result_out: *mut *const sbx_result, r: crate::Result<RunResult>) -> Result<(), Failure> {
    let r = r?;
    write_out(result_out, ResultHandle::into_ptr(r));
    Ok(())
}

impl sbx_sandbox {
    /// Prepares a run of `executor` under `policy`; nothing starts yet. Consumes `executor`
    /// whether or not the call succeeds (do not use or free it afterwards). Does not take
    /// `policy`: the sandbox keeps its own reference, so the caller may free its pointer at once.
    /// The caller owns `*sandbox_out` (written only on success) and frees it with
    /// `sbx_sandbox_free`.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`executor`, `policy`, `sandbox_out`; a non-NULL
    /// `executor` is still consumed).
    #[no_mangle]
    pub extern "C" fn sbx_sandbox_new(
        executor: *mut sbx_executor,
        policy: *const sbx_policy,
        sandbox_out: *mut *mut sbx_sandbox,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let executor = take_box(executor, "executor")?;
            let policy = try_ref(policy, "policy")?;
            check_out(sandbox_out, "sandbox_out")?;
            let sandbox = Sandbox::new(*executor, policy.policy.clone());
            write_out(sandbox_out, box_into_ptr::<sbx_sandbox>(sandbox));
            Ok(())
        })
    }

    /// Like `sbx_sandbox_new`, with callbacks that the monitor calls while the sandbox runs (see
    /// `sbx_notify_callbacks` for the thread they run on and how long `user_data` must live).
    /// `*callbacks` is copied. Consumes `executor` whether or not the call succeeds; on failure
    /// no callback is called, not even `destroy`.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`executor`, `policy`, `callbacks`, `sandbox_out`; a
    /// non-NULL `executor` is still consumed).
    #[no_mangle]
    pub extern "C" fn sbx_sandbox_new_with_notify(
        executor: *mut sbx_executor,
        policy: *const sbx_policy,
        callbacks: *const sbx_notify_callbacks,
        sandbox_out: *mut *mut sbx_sandbox,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let executor = take_box(executor, "executor")?;
            let policy = try_ref(policy, "policy")?;
            let callbacks = try_copy(callbacks, "callbacks")?;
            check_out(sandbox_out, "sandbox_out")?;
            let notify = Box::new(CNotify::new(&callbacks));
            let sandbox = Sandbox::with_notify(*executor, policy.policy.clone(), notify);
            write_out(sandbox_out, box_into_ptr::<sbx_sandbox>(sandbox));
            Ok(())
        })
    }

    /// Starts the sandboxee and waits for it to end (`sbx_sandbox_start` then
    /// `sbx_sandbox_wait`). Everything that happened to the sandboxee, failed setup steps
    /// included, is in the result stored in `*result_out` (written only on success; the caller
    /// frees it with `sbx_result_free`).
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`sandbox`, `result_out`), `SBX_STATUS_INVALID_STATE`
    /// (already started), `SBX_STATUS_INVALID_ARGUMENT` (the executor failed its checks),
    /// `SBX_STATUS_OS_ERROR` and `SBX_STATUS_UNSUPPORTED` (the host could not start the monitor).
    #[no_mangle]
    pub extern "C" fn sbx_sandbox_run(
        sandbox: *mut sbx_sandbox,
        result_out: *mut *const sbx_result,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let s = try_ref(sandbox, "sandbox")?;
            check_out(result_out, "result_out")?;
            store(result_out, s.run())
        })
    }

    /// Starts the sandboxee and returns once it runs the target program (or failed to; the
    /// result then says why). Call `sbx_sandbox_wait` or `sbx_sandbox_wait_timeout` afterwards.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`sandbox`), `SBX_STATUS_INVALID_STATE` (already
    /// started), `SBX_STATUS_INVALID_ARGUMENT` (the executor failed its checks),
    /// `SBX_STATUS_OS_ERROR` and `SBX_STATUS_UNSUPPORTED` (the host could not start the monitor).
    #[no_mangle]
    pub extern "C" fn sbx_sandbox_start(
        sandbox: *mut sbx_sandbox,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let s = try_ref(sandbox, "sandbox")?;
            s.start()?;
            Ok(())
        })
    }

    /// Waits for the end of a started run and stores its result in `*result_out` (written only
    /// on success; the caller frees it with `sbx_result_free`). May be called again after the
    /// end: each call returns a new result handle with the same content.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`sandbox`, `result_out`), `SBX_STATUS_INVALID_STATE`
    /// (never started).
    #[no_mangle]
    pub extern "C" fn sbx_sandbox_wait(
        sandbox: *mut sbx_sandbox,
        result_out: *mut *const sbx_result,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let s = try_ref(sandbox, "sandbox")?;
            check_out(result_out, "result_out")?;
            store(result_out, s.wait())
        })
    }

    /// Like `sbx_sandbox_wait`, but gives up after `timeout_ms` milliseconds with
    /// `SBX_STATUS_WAIT_TIMEOUT`; the sandbox keeps running (wait again, or kill it).
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`sandbox`, `result_out`), `SBX_STATUS_INVALID_STATE`
    /// (never started), `SBX_STATUS_WAIT_TIMEOUT`.
    #[no_mangle]
    pub extern "C" fn sbx_sandbox_wait_timeout(
        sandbox: *mut sbx_sandbox,
        timeout_ms: u64,
        result_out: *mut *const sbx_result,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let s = try_ref(sandbox, "sandbox")?;
            check_out(result_out, "result_out")?;
            store(
                result_out,
                s.wait_timeout(Duration::from_millis(timeout_ms)),
            )
        })
    }

    /// Takes the host's end of the comms channel (see `sbx_executor_enable_comms`) into
    /// `*comms_out`, once, after `sbx_sandbox_start`. The caller owns it and frees it with
    /// `sbx_comms_free`, and it may outlive the sandbox: once the sandboxee is gone, receives
    /// return what it had sent and then fail with `SBX_COMMS_ERROR_CLOSED`.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`sandbox`, `comms_out`), `SBX_STATUS_INVALID_STATE`
    /// (no channel: comms not enabled, the sandbox not started, or the end already taken).
    #[no_mangle]
    pub extern "C" fn sbx_sandbox_take_comms(
        sandbox: *mut sbx_sandbox,
        comms_out: *mut *mut sbx_comms,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let s = try_ref(sandbox, "sandbox")?;
            check_out(comms_out, "comms_out")?;
            let comms = s.take_comms().ok_or_else(|| {
                Failure::new(
                    sbx_status::InvalidState,
                    "no comms channel to take: comms not enabled, the sandbox not started, \
                     or the channel already taken",
                )
            })?;
            write_out(comms_out, box_into_ptr::<sbx_comms>(comms));
            Ok(())
        })
    }

    /// Kills the sandboxee and everything it started. The result's status is
    /// `SBX_RUN_STATUS_EXTERNAL_KILL` unless the run had already ended otherwise. Does nothing
    /// after the end or before the start. Safe to call from any thread, also during a wait.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`sandbox`).
    #[no_mangle]
    pub extern "C" fn sbx_sandbox_kill(sandbox: *const sbx_sandbox) -> sbx_status {
        boundary(|| match ref_from_ptr(sandbox) {
            Some(s) => {
                s.kill();
                sbx_status::Ok
            }
            None => sbx_status::NullParameter,
        })
    }

    /// Returns the host pid of the sandboxee once it has started (also after the end), else 0
    /// (also for NULL). Safe to call from any thread.
    #[no_mangle]
    pub extern "C" fn sbx_sandbox_pid(sandbox: *const sbx_sandbox) -> i32 {
        boundary(|| ref_from_ptr(sandbox).and_then(|s| s.pid()).unwrap_or(0))
    }

    /// Returns whether the run has ended (false for NULL). Safe to call from any thread.
    #[no_mangle]
    pub extern "C" fn sbx_sandbox_is_finished(sandbox: *const sbx_sandbox) -> bool {
        boundary(|| ref_from_ptr(sandbox).is_some_and(|s| s.is_finished()))
    }

    /// Writes to `*fd_out` a file descriptor that becomes readable (`POLLIN`, level-triggered)
    /// once the run's result is ready, so event loops (epoll, libuv, Go's netpoller) can wait
    /// without blocking a thread; `sbx_sandbox_wait` then returns at once. The fd belongs to the
    /// sandbox and stays valid until `sbx_sandbox_free`: poll it, never read or close it. The
    /// same fd on every call. May be called from any thread at any time.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`sandbox`, `fd_out`), `SBX_STATUS_OS_ERROR` (no fd
    /// could be made).
    #[no_mangle]
    pub extern "C" fn sbx_sandbox_completion_fd(
        sandbox: *const sbx_sandbox,
        fd_out: *mut i32,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let s = try_ref(sandbox, "sandbox")?;
            check_out(fd_out, "fd_out")?;
            let fd = s.completion_fd()?;
            write_out(fd_out, std::os::fd::AsRawFd::as_raw_fd(&fd));
            Ok(())
        })
    }

    /// Frees a sandbox. A running sandboxee is killed first and waited for, so this may block
    /// briefly. NULL is a no-op, and so is a handle that is not a live sandbox (a double free is
    /// detected, never undefined behaviour). If another thread is inside a call on `sandbox`
    /// (`sbx_sandbox_wait`), the sandboxee is killed, that call returns its result, and the
    /// sandbox is released when it does; the handle is dead for every later call.
    #[no_mangle]
    pub extern "C" fn sbx_sandbox_free(sandbox: *mut sbx_sandbox) {
        boundary(|| {
            if let Some(s) = ref_from_ptr(sandbox) {
                // A waiter on another thread keeps the sandbox alive: end the run for it.
                if s.pid().is_some() && !s.is_finished() {
                    s.kill();
                }
            }
            free_box(sandbox);
        });
    }
}
