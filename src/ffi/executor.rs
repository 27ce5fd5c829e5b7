//! `sbx_executor`: what to run (program, argv, environment, cwd, fds, limits).

use super::failure::{sbx_error, Failure};
use super::handle::{
    box_into_ptr, castable, check_out, dup_fd, free_box, try_mut, try_path, try_ref, try_str,
    try_str_array, write_out,
};
use super::panic::{boundary, boundary_status};
use super::status::sbx_status;
use crate::{Executor, Limits, Stdio};
use std::time::Duration;

/// Where one of the sandboxee's standard streams comes from (`sbx_executor_set_stdio`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sbx_stdio {
    /// The host's own descriptor of the same number (the default).
    Inherit = 1,
    /// `/dev/null`.
    Null = 2,
    /// A copy of the descriptor passed beside it.
    Fd = 3,
}

/// A resource limit of the sandboxee (`sbx_executor_set_limit`). Defaults are sandbox2's.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sbx_limit {
    /// `RLIMIT_AS` in bytes (default unlimited).
    AddressSpace = 1,
    /// `RLIMIT_CPU` in seconds (default 1024).
    CpuSeconds = 2,
    /// `RLIMIT_FSIZE` in bytes (default 8 GiB).
    FileSize = 3,
    /// `RLIMIT_NOFILE` (default 1024; at least 3).
    OpenFiles = 4,
    /// `RLIMIT_NPROC`, also enforced by the monitor as a cap on live tasks (default unlimited;
    /// at least 1).
    Processes = 5,
    /// `RLIMIT_CORE` in bytes (default 0: no core dumps).
    Core = 6,
    /// Wall-time limit in milliseconds, enforced by the monitor (default 120000). 0 or
    /// "unlimited" disables it.
    WallTimeMs = 7,
    /// Memory of the whole sandbox in bytes, swap included, as a cgroup of its own (default none;
    /// at least 1 MiB). Beyond it the kernel's OOM killer ends a process
    /// (`sbx_result_limit_reached` says `"memory"`). Needs root or a delegated cgroup: otherwise
    /// the start fails with `SBX_STATUS_UNSUPPORTED` naming what to delegate.
    CgroupMemory = 8,
    /// Processes and threads alive in the whole sandbox at once, as a cgroup (default none;
    /// forks beyond fail with EAGAIN). Needs a cgroup as `SBX_LIMIT_CGROUP_MEMORY` does.
    CgroupPids = 9,
    /// CPU share of the whole sandbox in thousandths of a CPU (500: half of one; 10 to
    /// 4096000), as a cgroup CFS quota (default none). Needs a cgroup as above.
    CgroupCpuMillicores = 10,
}

impl sbx_limit {
    fn from_c(which: u32) -> Result<sbx_limit, Failure> {
        use sbx_limit::{
            AddressSpace, CgroupCpuMillicores, CgroupMemory, CgroupPids, Core, CpuSeconds,
            FileSize, OpenFiles, Processes, WallTimeMs,
        };
        [
            AddressSpace,
            CpuSeconds,
            FileSize,
            OpenFiles,
            Processes,
            Core,
            WallTimeMs,
            CgroupMemory,
            CgroupPids,
            CgroupCpuMillicores,
        ]
        .into_iter()
        .find(|l| *l as u32 == which)
        .ok_or_else(|| {
            Failure::invalid(format!(
                "limit {which} is not one of the SBX_LIMIT_* values"
            ))
        })
    }

    /// The limit field this names (an rlimit or a cgroup limit; `None`: no limit); `None` for
    /// the wall time.
    fn rlimit(self, l: &mut Limits) -> Option<&mut Option<u64>> {
        match self {
            sbx_limit::AddressSpace => Some(&mut l.address_space),
            sbx_limit::CpuSeconds => Some(&mut l.cpu_seconds),
            sbx_limit::FileSize => Some(&mut l.file_size),
            sbx_limit::OpenFiles => Some(&mut l.open_files),
            sbx_limit::Processes => Some(&mut l.processes),
            sbx_limit::Core => Some(&mut l.core),
            sbx_limit::WallTimeMs => None,
            sbx_limit::CgroupMemory => Some(&mut l.cgroup.memory),
            sbx_limit::CgroupPids => Some(&mut l.cgroup.pids),
            sbx_limit::CgroupCpuMillicores => Some(&mut l.cgroup.cpu_millicores),
        }
    }
}

/// What to run: program path, argv, environment, working directory, standard streams, extra
/// file descriptors and resource limits. Consumed by `sbx_sandbox_new`, so it starts one
/// process only. Strings are copied; descriptors are duplicated (the caller keeps and closes
/// its own).
///
/// Setters check NULL pointers, UTF-8 and number ranges at once and leave the executor
/// unchanged on failure; consistency checks (empty argv, `KEY=VALUE` form, absolute cwd, fd
/// numbers, limits) run when the sandbox starts and fail `sbx_sandbox_start` /
/// `sbx_sandbox_run` with `SBX_STATUS_INVALID_ARGUMENT` before any process exists.
///
/// Not thread-safe: one thread at a time.
pub struct sbx_executor {
    _private: [u8; 0],
}

castable!(sbx_executor => Executor, OwnershipBox, super::handle::kind::EXECUTOR);

impl sbx_executor {
    /// Creates an executor for the program at `path` (copied), with `argv = { path }`, an empty
    /// environment, the host's working directory, inherited standard streams and the default
    /// limits. The caller owns `*executor_out` and passes it to `sbx_sandbox_new` (which consumes
    /// it) or `sbx_executor_free`. `*executor_out` is written only on success.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`path`, `executor_out`), `SBX_STATUS_INVALID_ARGUMENT`
    /// (empty `path`).
    #[no_mangle]
    pub extern "C" fn sbx_executor_new(
        path: *const std::ffi::c_char,
        executor_out: *mut *mut sbx_executor,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let path = try_path(path, "path")?;
            check_out(executor_out, "executor_out")?;
            if path.is_empty() {
                return Err(Failure::invalid("path is empty"));
            }
            write_out(
                executor_out,
                box_into_ptr::<sbx_executor>(Executor::new(path)),
            );
            Ok(())
        })
    }

    /// Replaces the whole argument vector, `argv[0]` included, with the `argc` strings of `argv`
    /// (copied; UTF-8).
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`executor`, `argv` with `argc` > 0, an element),
    /// `SBX_STATUS_INVALID_ARGUMENT` (an element not UTF-8, `argc` 0).
    #[no_mangle]
    #[allow(clippy::similar_names)] // argv and argc: C's own names
    pub extern "C" fn sbx_executor_set_argv(
        executor: *mut sbx_executor,
        argv: *const *const std::ffi::c_char,
        argc: usize,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut e = try_mut(executor, "executor")?;
            let argv = try_str_array(argv, argc, "argv")?;
            if argv.is_empty() {
                return Err(Failure::invalid("argv is empty; argv[0] is required"));
            }
            e.argv(argv);
            Ok(())
        })
    }

    /// Appends one argument (copied; UTF-8) after those already set.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`executor`, `arg`), `SBX_STATUS_INVALID_ARGUMENT`
    /// (not UTF-8).
    #[no_mangle]
    pub extern "C" fn sbx_executor_add_arg(
        executor: *mut sbx_executor,
        arg: *const std::ffi::c_char,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut e = try_mut(executor, "executor")?;
            e.arg(try_str(arg, "arg")?);
            Ok(())
        })
    }

    /// Sets `key=value` in the sandboxee's environment (empty by default), replacing an earlier
    /// value of `key`. Both strings are copied and must be UTF-8.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`executor`, `key`, `value`),
    /// `SBX_STATUS_INVALID_ARGUMENT` (not UTF-8, `key` empty or containing `=`).
    #[no_mangle]
    pub extern "C" fn sbx_executor_set_env(
        executor: *mut sbx_executor,
        key: *const std::ffi::c_char,
        value: *const std::ffi::c_char,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut e = try_mut(executor, "executor")?;
            let key = try_str(key, "key")?;
            let value = try_str(value, "value")?;
            if key.is_empty() || key.contains('=') {
                return Err(Failure::invalid(format!(
                    "environment key {key:?} is empty or contains '='"
                )));
            }
            e.env(key, value);
            Ok(())
        })
    }

    /// Replaces the whole environment with the `count` `KEY=VALUE` strings of `envp` (copied;
    /// UTF-8; NULL is fine when `count` is 0).
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`executor`, `envp` with `count` > 0, an element),
    /// `SBX_STATUS_INVALID_ARGUMENT` (an element not UTF-8). The `KEY=VALUE` form is checked when
    /// the sandbox starts.
    #[no_mangle]
    pub extern "C" fn sbx_executor_set_envp(
        executor: *mut sbx_executor,
        envp: *const *const std::ffi::c_char,
        count: usize,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut e = try_mut(executor, "executor")?;
            e.envp(try_str_array(envp, count, "envp")?);
            Ok(())
        })
    }

    /// Sets the sandboxee's working directory (copied; must be absolute; default: the host's cwd
    /// at start).
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`executor`, `dir`), `SBX_STATUS_INVALID_ARGUMENT`
    /// (`dir` not absolute).
    #[no_mangle]
    pub extern "C" fn sbx_executor_set_cwd(
        executor: *mut sbx_executor,
        dir: *const std::ffi::c_char,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut e = try_mut(executor, "executor")?;
            let dir = try_path(dir, "dir")?;
            if !std::path::Path::new(dir).is_absolute() {
                return Err(Failure::invalid(format!("cwd {dir:?} is not absolute")));
            }
            e.cwd(dir);
            Ok(())
        })
    }

    /// Sets where the sandboxee's standard stream `child_fd` (0, 1 or 2) comes from: `kind` is
    /// `SBX_STDIO_INHERIT`, `SBX_STDIO_NULL`, or `SBX_STDIO_FD` with `host_fd`, which is
    /// duplicated (the caller keeps and closes its own; `host_fd` is ignored for other kinds).
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`executor`), `SBX_STATUS_INVALID_ARGUMENT`
    /// (`child_fd` not 0-2, unknown `kind`, `host_fd` negative or not open),
    /// `SBX_STATUS_OS_ERROR` (the duplication failed, e.g. `EMFILE`).
    #[no_mangle]
    pub extern "C" fn sbx_executor_set_stdio(
        executor: *mut sbx_executor,
        child_fd: i32,
        kind: u32,
        host_fd: i32,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut e = try_mut(executor, "executor")?;
            if !(0..=2).contains(&child_fd) {
                return Err(Failure::invalid(format!(
                    "child_fd {child_fd} is not 0, 1 or 2"
                )));
            }
            let stdio = match kind {
                x if x == sbx_stdio::Inherit as u32 => Stdio::Inherit,
                x if x == sbx_stdio::Null as u32 => Stdio::Null,
                x if x == sbx_stdio::Fd as u32 => Stdio::Fd(dup_fd(host_fd, "host_fd")?),
                other => {
                    return Err(Failure::invalid(format!(
                        "kind {other} is not one of the SBX_STDIO_* values"
                    )))
                }
            };
            match child_fd {
                0 => e.stdin(stdio),
                1 => e.stdout(stdio),
                _ => e.stderr(stdio),
            };
            Ok(())
        })
    }

    /// Makes a copy of `host_fd` appear as descriptor `child_fd` (3 or more) in the sandboxee.
    /// `host_fd` is duplicated: the caller keeps and closes its own. All descriptors not mapped
    /// are closed in the sandboxee.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`executor`), `SBX_STATUS_INVALID_ARGUMENT`
    /// (`host_fd` negative or not open, `child_fd` below 3), `SBX_STATUS_OS_ERROR` (the
    /// duplication failed). Mapping the same `child_fd` twice fails at start.
    #[no_mangle]
    pub extern "C" fn sbx_executor_map_fd(
        executor: *mut sbx_executor,
        host_fd: i32,
        child_fd: i32,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut e = try_mut(executor, "executor")?;
            if child_fd < 3 {
                return Err(Failure::invalid(format!(
                    "child_fd {child_fd}: 0, 1 and 2 are set with sbx_executor_set_stdio"
                )));
            }
            let fd = dup_fd(host_fd, "host_fd")?;
            e.map_fd(fd, child_fd);
            Ok(())
        })
    }

    /// Like `sbx_executor_map_fd`, and the sandboxee finds the descriptor by `name` with
    /// `sbx_client_mapped_fd(name)` (the names travel in the `SBX_FD_MAPPINGS` environment
    /// variable). `name` is copied; 1 to 64 of `[A-Za-z0-9_.-]`, each used once.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`executor`, `name`), `SBX_STATUS_INVALID_ARGUMENT`
    /// (`host_fd` negative or not open, `child_fd` below 3, `name` not UTF-8),
    /// `SBX_STATUS_OS_ERROR` (the duplication failed). A malformed or repeated name fails at
    /// start.
    #[no_mangle]
    pub extern "C" fn sbx_executor_map_fd_named(
        executor: *mut sbx_executor,
        host_fd: i32,
        child_fd: i32,
        name: *const std::ffi::c_char,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut e = try_mut(executor, "executor")?;
            let name = try_str(name, "name")?;
            if child_fd < 3 {
                return Err(Failure::invalid(format!(
                    "child_fd {child_fd}: 0, 1 and 2 are set with sbx_executor_set_stdio"
                )));
            }
            let fd = dup_fd(host_fd, "host_fd")?;
            e.map_fd_named(fd, child_fd, name);
            Ok(())
        })
    }

    /// Gives the sandboxee a comms channel: a unix socket at descriptor 1023, which it opens
    /// with `sbx_comms_client`; the host takes its end with `sbx_sandbox_take_comms` after the
    /// start. Descriptor 1023 must then not be mapped otherwise (checked at start).
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`executor`).
    #[no_mangle]
    pub extern "C" fn sbx_executor_enable_comms(
        executor: *mut sbx_executor,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            try_mut(executor, "executor")?.enable_comms();
            Ok(())
        })
    }

    /// Chooses when the policy is applied. `true` (the default): before the target program's
    /// exec. `false`: the target starts under the mandatory rules only (plus namespaces and
    /// limits), prepares itself (opens files, loads data, starts threads) and then calls
    /// `sbx_client_sandbox_me_here`, which receives the policy over comms and applies it to
    /// every thread of the process. The policy must then allow what the program does after
    /// that call, comms included (`sendmsg`, `recvmsg`). `false` implies
    /// `sbx_executor_enable_comms`: `sbx_sandbox_start` sends the policy as the channel's first
    /// message, before the host can take its end.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`executor`).
    #[no_mangle]
    pub extern "C" fn sbx_executor_set_sandbox_before_exec(
        executor: *mut sbx_executor,
        before_exec: bool,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            try_mut(executor, "executor")?.sandbox_before_exec(before_exec);
            Ok(())
        })
    }

    /// Sets limit `limit` (one of the `SBX_LIMIT_*` values) to `value` (bytes, seconds, a count,
    /// or milliseconds for `SBX_LIMIT_WALL_TIME_MS`, where 0 disables the limit).
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`executor`), `SBX_STATUS_INVALID_ARGUMENT` (unknown
    /// `limit`, negative `value`). Values the kernel cannot take (fewer than 3 open files, 0
    /// processes) fail at start.
    #[no_mangle]
    pub extern "C" fn sbx_executor_set_limit(
        executor: *mut sbx_executor,
        limit: u32,
        value: i64,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut e = try_mut(executor, "executor")?;
            let which = sbx_limit::from_c(limit)?;
            let value = u64::try_from(value)
                .map_err(|_| Failure::invalid(format!("limit value {value} is negative")))?;
            match which.rlimit(e.limits_mut()) {
                Some(slot) => *slot = Some(value),
                None => {
                    e.walltime(Duration::from_millis(value));
                }
            }
            Ok(())
        })
    }

    /// Removes limit `limit` (one of the `SBX_LIMIT_*` values): `RLIM_INFINITY` for rlimits, no
    /// wall-time limit for `SBX_LIMIT_WALL_TIME_MS`.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`executor`), `SBX_STATUS_INVALID_ARGUMENT` (unknown
    /// `limit`).
    #[no_mangle]
    pub extern "C" fn sbx_executor_set_limit_unlimited(
        executor: *mut sbx_executor,
        limit: u32,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut e = try_mut(executor, "executor")?;
            match sbx_limit::from_c(limit)?.rlimit(e.limits_mut()) {
                Some(slot) => *slot = None,
                None => e.limits_mut().wall_time = None,
            }
            Ok(())
        })
    }

    /// Reads limit `limit`: `*is_limited_out` receives false when it is unlimited, and
    /// `*value_out` its value (0 when unlimited; milliseconds for the wall time). Both outputs
    /// are required and written only on success.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`executor`, an output), `SBX_STATUS_INVALID_ARGUMENT`
    /// (unknown `limit`).
    #[no_mangle]
    pub extern "C" fn sbx_executor_get_limit(
        executor: *const sbx_executor,
        limit: u32,
        is_limited_out: *mut bool,
        value_out: *mut u64,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let e = try_ref(executor, "executor")?;
            let which = sbx_limit::from_c(limit)?;
            check_out(is_limited_out, "is_limited_out")?;
            check_out(value_out, "value_out")?;
            let mut limits = e.limits.clone();
            let value = match which.rlimit(&mut limits) {
                Some(slot) => *slot,
                None => limits
                    .wall_time
                    .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            };
            write_out(is_limited_out, value.is_some());
            write_out(value_out, value.unwrap_or(0));
            Ok(())
        })
    }

    /// The memory ceiling `sbx-run` applies when no memory limit is asked for: a quarter of the
    /// memory this process may use (the host's RAM, or its own cgroup's limit when lower), at
    /// least 256 MiB. Stores it in `*bytes_out` (when not NULL) and returns true where this
    /// process can make a memory cgroup; returns false otherwise. Set it with
    /// `sbx_executor_set_limit(executor, SBX_LIMIT_CGROUP_MEMORY, value)` to protect the host
    /// the same way: executors have no memory limit unless asked.
    #[no_mangle]
    pub extern "C" fn sbx_default_memory_ceiling(bytes_out: *mut u64) -> bool {
        boundary(|| match crate::cgroups::default_memory_ceiling() {
            Some(bytes) => {
                write_out(bytes_out, bytes);
                true
            }
            None => false,
        })
    }

    /// Frees an executor that was not passed to `sbx_sandbox_new`, closing the descriptor copies
    /// it holds. NULL is a no-op.
    #[no_mangle]
    pub extern "C" fn sbx_executor_free(executor: *mut sbx_executor) {
        boundary(|| free_box(executor));
    }
}
