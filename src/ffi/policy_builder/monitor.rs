//! How a run is watched: the monitor (`sbx_monitor`), audit runs, stack traces, speculation,
//! and the network allow-list that the user-notify monitor's connect proxy enforces.

use super::sbx_policy_builder;
use crate::ffi::failure::{sbx_error, Failure};
use crate::ffi::handle::{try_mut, try_str};
use crate::ffi::panic::boundary_status;
use crate::ffi::status::sbx_status;
use std::ffi::c_char;

/// Which mechanism watches the sandboxee (`sbx_policy_builder_set_monitor`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sbx_monitor {
    /// User-notify when the kernel has it and the run fits it (namespaces, a sandboxee that
    /// does not sandbox itself), ptrace otherwise. The default.
    Auto = 0,
    /// ptrace(2): also reports signals to the notify callbacks and counts tasks.
    Ptrace = 1,
    /// seccomp user notification: no ptrace; signals are not reported, `peak_tasks` is 0 and
    /// the task cap is the sandbox's own RLIMIT_NPROC. Needs namespaces.
    Unotify = 2,
}

impl sbx_policy_builder {
    /// Chooses the monitor: one of the `SBX_MONITOR_*` values (default `SBX_MONITOR_AUTO`).
    /// `SBX_MONITOR_UNOTIFY` with `sbx_policy_builder_disable_namespaces` makes
    /// `sbx_policy_builder_build` fail with `SBX_STATUS_INVALID_POLICY`.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`), `SBX_STATUS_INVALID_ARGUMENT` (`monitor`
    /// not one of the values).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_set_monitor(
        builder: *mut sbx_policy_builder,
        monitor: u32,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let m = match monitor {
                x if x == sbx_monitor::Auto as u32 => crate::policy::Monitor::Auto,
                x if x == sbx_monitor::Ptrace as u32 => crate::policy::Monitor::Ptrace,
                x if x == sbx_monitor::Unotify as u32 => crate::policy::Monitor::Unotify,
                other => {
                    return Err(Failure::invalid(format!(
                        "monitor {other} is not one of the SBX_MONITOR_* values"
                    )))
                }
            };
            try_mut(builder, "builder")?.monitor(m);
            Ok(())
        })
    }

    /// Audit mode ("permit all and log") when `on`: every call the policy refuses as a
    /// violation is recorded (`sbx_result_audited_count`, `sbx_result_audited_call`: once per
    /// syscall, with a count and the first call's arguments) and then runs. Errno and trace
    /// rules act as usual; the mandatory rules still end the run as violations. For developing
    /// a policy, not for running hostile code. Off by default.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_set_audit(
        builder: *mut sbx_policy_builder,
        on: bool,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            try_mut(builder, "builder")?.audit(on);
            Ok(())
        })
    }

    /// Stack traces when `on`: the result of a violation (or, under ptrace, of an unhandled
    /// crash signal such as SIGSEGV) holds the offending thread's frames, that of a timeout or
    /// a kill (`sbx_sandbox_kill`) the main thread's, taken just before the kill
    /// (`sbx_result_stack_trace`, `sbx_result_stack_frame`): module, function, file:line where
    /// the program has debug info. `SBX_MONITOR_AUTO` then picks ptrace, which sees crash
    /// signals too; under `SBX_MONITOR_UNOTIFY` the monitor attaches on demand (no crash
    /// traces). Off by default; off, nothing changes.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_set_stack_traces(
        builder: *mut sbx_policy_builder,
        on: bool,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            try_mut(builder, "builder")?.stack_traces(on);
            Ok(())
        })
    }

    /// Leaves speculative execution as the kernel set it. By default the sandboxee's
    /// speculative store bypass and indirect branch speculation are force-disabled
    /// (`PR_SET_SPECULATION_CTRL`, as sandbox2 does) where the kernel lets a process choose,
    /// and the result lists the `speculation_control` fence. Disabling costs CPU-bound programs
    /// time: allow it for trusted performance-critical work.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_allow_speculation(
        builder: *mut sbx_policy_builder,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            try_mut(builder, "builder")?.allow_speculation();
            Ok(())
        })
    }

    /// Lets the sandboxee's `connect` reach `spec` on the host: `"10.0.0.0/8:443"`,
    /// `"127.0.0.1:8080"`, `"[::1]:80"` (port 0 or `*`: any; TCP), `"unix:/run/x.sock"` (a host
    /// path, symlinks never followed), `"abstract:NAME"`, `"HOST:PORT"` (resolved now, once), or
    /// `"udp:10.0.0.53:53"` (UDP to one address and one port, relayed by the supervisor).
    /// The sandbox keeps its own empty network; the supervisor connects allowed endpoints for it.
    /// Other TCP connects are a `VIOLATION_NETWORK` (see `sbx_policy_builder_refuse_connect`);
    /// other unix paths are looked up in the sandbox's own view. Needs the user-notify monitor
    /// and the sandbox's own network namespace: `sbx_policy_builder_build` fails with
    /// `SBX_STATUS_INVALID_POLICY` naming the conflict otherwise. A bad spec makes the build fail
    /// with `SBX_STATUS_INVALID_ARGUMENT` naming it.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `spec`), `SBX_STATUS_INVALID_ARGUMENT`
    /// (`spec` not UTF-8).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_allow_connect(
        builder: *mut sbx_policy_builder,
        spec: *const c_char,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            b.allow_connect(try_str(spec, "spec")?);
            Ok(())
        })
    }

    /// Under an allow-list: a connect the list does not allow fails with `errnum` (1..=4095, e.g.
    /// `ECONNREFUSED`) and is listed in the result (`sbx_result_denied_connect`) instead of
    /// ending the run; 0 restores the default (a `VIOLATION_NETWORK`). Turns the proxy on like
    /// `sbx_policy_builder_allow_connect`.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`); an errno above 4095 makes the build fail
    /// with `SBX_STATUS_INVALID_ARGUMENT`.
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_refuse_connect(
        builder: *mut sbx_policy_builder,
        errnum: u16,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let action = if errnum == 0 {
                crate::policy::net::OnDenied::Violation
            } else {
                crate::policy::net::OnDenied::Errno(errnum)
            };
            try_mut(builder, "builder")?.on_denied_connect(action);
            Ok(())
        })
    }
}
