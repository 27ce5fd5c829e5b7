//! `sbx_status`: the code every fallible function returns.


/// What a fallible libsbx function returns. `SBX_STATUS_OK` (0) is success.
///
/// Codes are grouped in blocks of 100 by area and are never renumbered or reused; a retired code
/// stays listed as reserved. The underlying type is `uint32_t`. Detail for a failure (the
/// argument, the failed system call and its errno, the missing kernel feature and its fix)
/// travels in an `sbx_error` through the optional `err_out` parameter.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sbx_status {
    /// Success.
    Ok = 0,

    // 1-99: how the function was called.
    /// A required pointer argument was NULL.
    NullParameter = 1,
    /// An argument has a bad value: a string that is not UTF-8, a negative or out-of-range number,
    /// a closed file descriptor, a relative working directory, an unknown enum value.
    InvalidArgument = 2,
    /// libsbx panicked (a bug in libsbx). The objects passed to the call may only be freed.
    Panic = 3,
    /// The call is not valid in the object's current state (for example starting a sandbox twice,
    /// or waiting for one that was never started).
    InvalidState = 4,
    /// A handle argument is not a live handle of the expected type: freed already, consumed by
    /// an earlier call (an executor after `sbx_sandbox_new`, a builder after
    /// `sbx_policy_builder_build`), of another type, in use by another call right now, or
    /// never given out by libsbx. Detected, never undefined behaviour.
    InvalidHandle = 5,

    // 100-199: policies.
    /// A syscall name that the native architecture's table does not know.
    UnknownSyscall = 100,
    /// The policy cannot be built as asked (conflicting or forbidden rules, too large).
    InvalidPolicy = 101,

    // 200-299: running sandboxes.
    /// `sbx_sandbox_wait_timeout` gave up before the sandbox finished; it keeps running.
    WaitTimeout = 200,

    // 300-399: the host system.
    /// A kernel feature libsbx needs is missing or disabled; the `sbx_error` message names the
    /// feature and the fix.
    Unsupported = 300,
    /// A host-side system call failed; `sbx_error_errno` gives its errno.
    OsError = 301,

    // 400-499: the comms channel between host and sandboxee.
    /// The comms channel failed (peer gone, malformed or oversized message, bad descriptor);
    /// the message says how and whether the channel is still usable. (Last added.)
    Comms = 400,
}

impl sbx_status {
    /// The fixed English message for a code.
    pub(super) fn message(code: u32) -> &'static str {
        match code {
            0 => "success\0",
            1 => "a required pointer argument was NULL\0",
            2 => "invalid argument\0",
            3 => "libsbx panicked (a bug in libsbx)\0",
            4 => "operation not valid in the object's current state\0",
            5 => "not a live handle of the expected type\0",
            100 => "unknown syscall name\0",
            101 => "invalid policy\0",
            200 => "timed out waiting for the sandbox\0",
            300 => "kernel feature unavailable\0",
            301 => "a system call failed on the host\0",
            400 => "the comms channel failed\0",
            _ => "unknown status code\0",
        }
    }

    /// Every code, for tests.
    #[cfg(test)]
    pub(crate) const ALL: [sbx_status; 11] = [
        sbx_status::Ok,
        sbx_status::NullParameter,
        sbx_status::InvalidArgument,
        sbx_status::Panic,
        sbx_status::InvalidState,
        sbx_status::UnknownSyscall,
        sbx_status::InvalidPolicy,
        sbx_status::WaitTimeout,
        sbx_status::Unsupported,
        sbx_status::OsError,
        sbx_status::Comms,
    ];
}
