//! `sbx_client_*`: the sandboxee's side, for programs started with
//! `sbx_executor_set_sandbox_before_exec(e, false)`.

use super::comms::sbx_comms;
use super::failure::{sbx_error, Failure};
use super::handle::{check_out, mut_from_ptr, try_mut, try_slice, try_str, write_out, write_slice};
use super::panic::{boundary, boundary_status};
use super::policy::sbx_sock_filter;
use super::status::sbx_status;
use crate::client;
use std::ffi::c_char;
use std::io::Write;
use std::os::fd::IntoRawFd;

/// Receives the host's policy over `comms` (the sandboxee's channel, from `sbx_comms_client`)
/// and applies it to every thread of this process at once (`SECCOMP_FILTER_FLAG_TSYNC`), after
/// setting `no_new_privs`. From then on the whole process, threads started earlier included,
/// runs under the policy; `comms` stays usable for the program's own messages (the policy must
/// allow `sendmsg` and `recvmsg` for that). On failure nothing was applied.
///
/// Errors: `SBX_STATUS_NULL_PARAMETER` (`comms`), `SBX_STATUS_COMMS` (the message did not
/// arrive), `SBX_STATUS_INVALID_POLICY` (the message is not a policy), `SBX_STATUS_UNSUPPORTED`
/// (a thread could not be synchronised), `SBX_STATUS_OS_ERROR` (`prctl` or `seccomp` failed).
#[no_mangle]
pub extern "C" fn sbx_client_try_sandbox_me_here(
    comms: *mut sbx_comms,
    err_out: *mut *mut sbx_error,
) -> sbx_status {
    boundary_status(err_out, || {
        client::try_sandbox_me_here(&mut *try_mut(comms, "comms")?)?;
        Ok(())
    })
}

/// `sbx_client_try_sandbox_me_here`, failing closed: when the policy cannot be applied to every
/// thread, the process prints why on stderr and exits at once with status 127 (`_exit`: no
/// `atexit` handlers, no stdio flush) instead of going on unconfined. A NULL `comms` (or a bug
/// in libsbx) aborts the process. Returns only when the policy is in force.
#[no_mangle]
pub extern "C" fn sbx_client_sandbox_me_here(comms: *mut sbx_comms) {
    let applied = boundary(|| match mut_from_ptr(comms) {
        Some(mut c) => {
            client::sandbox_me_here(&mut c);
            true
        }
        None => false,
    });
    if !applied {
        let why = if comms.is_null() {
            "comms is NULL"
        } else {
            "libsbx panicked"
        };
        let _ = writeln!(
            std::io::stderr(),
            "libsbx: sbx_client_sandbox_me_here: {why}; aborting"
        );
        std::process::abort();
    }
}

/// Returns the descriptor the host mapped under `name` (`sbx_executor_map_fd_named`); the
/// caller owns it. Each name can be taken once. Returns -1 when no descriptor was mapped under
/// `name`, it was taken already or is not open, and for a NULL or non-UTF-8 `name`.
#[no_mangle]
pub extern "C" fn sbx_client_mapped_fd(name: *const c_char) -> i32 {
    boundary(|| {
        try_str(name, "name")
            .ok()
            .and_then(client::mapped_fd)
            .map_or(-1, IntoRawFd::into_raw_fd)
    })
}

/// Checks and decodes the host's policy message (tag `tag`, the `len` bytes at `bytes`) as
/// `sbx_client_try_sandbox_me_here` does before applying it, without applying anything: a pure
/// function, for tests and fuzzing. On success the instructions are copied to `program_out`,
/// which has room for `capacity` of them (4096 always suffices), and `*count_out` receives their
/// number; both are written only on success.
///
/// Errors: `SBX_STATUS_NULL_PARAMETER` (`bytes` with `len` > 0, `program_out` with
/// `capacity` > 0, `count_out`), `SBX_STATUS_INVALID_POLICY` (another tag, or not 1 to 4096
/// whole instructions), `SBX_STATUS_INVALID_ARGUMENT` (`capacity` too small).
#[no_mangle]
pub extern "C" fn sbx_client_decode_policy(
    tag: u32,
    bytes: *const u8,
    len: usize,
    program_out: *mut sbx_sock_filter,
    capacity: usize,
    count_out: *mut usize,
    err_out: *mut *mut sbx_error,
) -> sbx_status {
    boundary_status(err_out, || {
        let bytes = try_slice(bytes, len, "bytes")?;
        check_out(count_out, "count_out")?;
        let program = client::decode_policy(tag, bytes)?;
        if program.len() > capacity {
            return Err(Failure::invalid(format!(
                "capacity {capacity} is below the {} instructions of the policy",
                program.len()
            )));
        }
        let program: Vec<sbx_sock_filter> = program
            .iter()
            .map(|i| sbx_sock_filter {
                code: i.code,
                jt: i.jt,
                jf: i.jf,
                k: i.k,
            })
            .collect();
        write_slice(program_out, &program, "program_out")?;
        write_out(count_out, program.len());
        Ok(())
    })
}
