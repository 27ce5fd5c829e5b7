//! The sandbox's view of the system: namespaces (`sbx_netns`), hostname, the mounts of the
//! filesystem view (files, directories, tmpfs, `/dev/shm`, `/dev/pts`, hidden paths, a writable
//! root) and the libraries a binary needs.

use super::sbx_policy_builder;
use crate::ffi::failure::{sbx_error, Failure};
use crate::ffi::handle::{try_mut, try_path, try_path_array, try_str};
use crate::ffi::panic::boundary_status;
use crate::ffi::status::sbx_status;
use crate::policy::presets;
use std::ffi::c_char;

/// Which network namespace a sandbox runs in (`sbx_policy_builder_set_network_namespace`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sbx_netns {
    /// A fresh one per sandbox holding only `lo` (the default).
    PerSandbox = 0,
    /// One empty namespace (only `lo`) shared by the process's sandboxes that ask for it: no
    /// namespace made or torn down per sandbox (~0.5 ms saved), but they can reach each other's
    /// listeners on `lo`. Root callers only (a start by anyone else fails with
    /// `SBX_STATUS_UNSUPPORTED`).
    Shared = 1,
    /// The host's network namespace (as `sbx_policy_builder_share_network`).
    Host = 2,
}

impl sbx_policy_builder {
    /// Turns namespaces off: the sandboxee sees the host's files, processes and network, runs as
    /// the caller's uid (a root caller's capabilities are still dropped) and is confined only by
    /// seccomp, rlimits and the monitor. Mounts added to such a policy make
    /// `sbx_policy_builder_build` fail with `SBX_STATUS_INVALID_POLICY`.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_disable_namespaces(
        builder: *mut sbx_policy_builder,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            try_mut(builder, "builder")?.disable_namespaces();
            Ok(())
        })
    }

    /// Lets the sandbox run without a private `/proc` when the kernel refuses to mount one (a
    /// container runtime that masks parts of its `/proc`): the sandbox then sees a clone of the
    /// caller's `/proc` (the container's processes become visible; Landlock scoping still keeps
    /// them from being signalled or traced), and the result lists `"proc"` among
    /// `sbx_result_degraded`. Default: such a sandbox fails at step `"mount_proc"`.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_allow_no_private_proc(
        builder: *mut sbx_policy_builder,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            try_mut(builder, "builder")?.allow_no_private_proc();
            Ok(())
        })
    }

    /// Shares the host's network namespace: full network access (sandbox2's
    /// `UnrestrictedNetworking`). Default: a fresh network namespace holding only `lo`.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_share_network(
        builder: *mut sbx_policy_builder,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            try_mut(builder, "builder")?.share_network();
            Ok(())
        })
    }

    /// Chooses the sandbox's network namespace: one of the `SBX_NETNS_*` values.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`), `SBX_STATUS_INVALID_ARGUMENT` (not an
    /// `SBX_NETNS_*` value).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_set_network_namespace(
        builder: *mut sbx_policy_builder,
        netns: u32,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            use crate::namespaces::NetNs;
            let n = match netns {
                x if x == sbx_netns::PerSandbox as u32 => NetNs::PerSandbox,
                x if x == sbx_netns::Shared as u32 => NetNs::Shared,
                x if x == sbx_netns::Host as u32 => NetNs::Host,
                other => {
                    return Err(Failure::invalid(format!(
                        "network namespace {other} is not one of the SBX_NETNS_* values"
                    )))
                }
            };
            try_mut(builder, "builder")?.network_namespace(n);
            Ok(())
        })
    }

    /// Sets the hostname inside the sandbox (copied; default `"sandbox"`). A name that is not 1
    /// to 64 printable ASCII characters without `/` makes `sbx_policy_builder_build` fail.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `name`), `SBX_STATUS_INVALID_ARGUMENT`
    /// (not UTF-8).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_set_hostname(
        builder: *mut sbx_policy_builder,
        name: *const c_char,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            b.hostname(try_str(name, "name")?);
            Ok(())
        })
    }

    /// Bind-mounts host file `path` read-only at the same path inside the sandbox (whose root
    /// is otherwise an empty tmpfs with `/proc` and a minimal `/dev`). The path is copied. A
    /// relative, non-canonical or missing path makes `sbx_policy_builder_build` fail with
    /// `SBX_STATUS_INVALID_ARGUMENT`.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `path`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_add_file(
        builder: *mut sbx_policy_builder,
        path: *const c_char,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            b.add_file(try_path(path, "path")?);
            Ok(())
        })
    }

    /// Bind-mounts host file `outside` at `inside`, writable when `writable` is true. Paths are
    /// copied and checked as for `sbx_policy_builder_add_file`.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `outside`, `inside`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_add_file_at(
        builder: *mut sbx_policy_builder,
        outside: *const c_char,
        inside: *const c_char,
        writable: bool,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            let (outside, inside) = (try_path(outside, "outside")?, try_path(inside, "inside")?);
            b.add_file_at(outside, inside, writable);
            Ok(())
        })
    }

    /// Bind-mounts host directory `path` (recursively) read-only at the same path. The path is
    /// copied and checked as for `sbx_policy_builder_add_file`.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `path`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_add_directory(
        builder: *mut sbx_policy_builder,
        path: *const c_char,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            b.add_directory(try_path(path, "path")?);
            Ok(())
        })
    }

    /// Bind-mounts host directory `outside` (recursively) at `inside`, writable when `writable`
    /// is true (writable mounts are `noexec` unless `sbx_policy_builder_allow_write_exec`).
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `outside`, `inside`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_add_directory_at(
        builder: *mut sbx_policy_builder,
        outside: *const c_char,
        inside: *const c_char,
        writable: bool,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            let (outside, inside) = (try_path(outside, "outside")?, try_path(inside, "inside")?);
            b.add_directory_at(outside, inside, writable);
            Ok(())
        })
    }

    /// Like `sbx_policy_builder_add_directory`, but does nothing when `path` is not a directory
    /// on the host (e.g. `/lib64`, which not every system has).
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `path`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_add_directory_if_exists(
        builder: *mut sbx_policy_builder,
        path: *const c_char,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            b.add_directory_if_exists(try_path(path, "path")?);
            Ok(())
        })
    }

    /// Mounts a fresh writable tmpfs at `inside` of at most `size_bytes` bytes (0: the kernel's
    /// default, half of RAM).
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `inside`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_add_tmpfs(
        builder: *mut sbx_policy_builder,
        inside: *const c_char,
        size_bytes: u64,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            b.add_tmpfs(
                try_path(inside, "inside")?,
                (size_bytes != 0).then_some(size_bytes),
            );
            Ok(())
        })
    }

    /// A private `/dev/shm` tmpfs of at most `size_bytes` bytes for this sandbox alone (POSIX
    /// shared memory and semaphores); 0 removes it. The tool-default builder has 64 MiB.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_set_dev_shm(
        builder: *mut sbx_policy_builder,
        size_bytes: u64,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            try_mut(builder, "builder")?.dev_shm((size_bytes != 0).then_some(size_bytes));
            Ok(())
        })
    }

    /// Withholds `inside`, a file (`is_dir` false) or directory that a bind mount of the view
    /// shows (e.g. `/etc/shadow` under a bind of `/etc`): opening it in the sandbox fails with
    /// EACCES. A path that is not there as that type makes `sbx_policy_builder_build` fail.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `inside`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_hide(
        builder: *mut sbx_policy_builder,
        inside: *const c_char,
        is_dir: bool,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            b.hide(try_path(inside, "inside")?, is_dir);
            Ok(())
        })
    }

    /// A private `/dev/pts` and `/dev/ptmx` (the sandbox's own pseudo-terminals) when `on`.
    /// Programs that open ptys also need the terminal ioctls: `sbx_policy_builder_add_tty_rules`.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_set_dev_pts(
        builder: *mut sbx_policy_builder,
        on: bool,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            try_mut(builder, "builder")?.dev_pts(on);
            Ok(())
        })
    }

    /// Adds the rules that let programs open and drive pseudo-terminals (pty creation and
    /// unlocking, terminal modes, window size, job control on their own terminal; `TIOCSTI`
    /// stays refused). Rules are first-match: add them before a catch-all `ioctl` rule.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_add_tty_rules(
        builder: *mut sbx_policy_builder,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            presets::tty_rules(&mut *try_mut(builder, "builder")?);
            Ok(())
        })
    }

    /// Keeps the sandbox's root tmpfs writable (default read-only).
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_set_root_writable(
        builder: *mut sbx_policy_builder,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            try_mut(builder, "builder")?.set_root_writable();
            Ok(())
        })
    }

    /// Lets writable mounts hold executables (default: writable mounts are `noexec`).
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_allow_write_exec(
        builder: *mut sbx_policy_builder,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            try_mut(builder, "builder")?.allow_write_exec();
            Ok(())
        })
    }

    /// Adds `binary` and exactly the files the dynamic loader needs to run it (its interpreter,
    /// every `DT_NEEDED` library, `/etc/ld.so.cache`), read-only, searching the `count`
    /// directories of `extra_dirs` first like `LD_LIBRARY_PATH` (NULL is fine when `count` is
    /// 0). Safe for untrusted binaries: the ELF parser is bounded. A binary that cannot be read
    /// or parsed makes `sbx_policy_builder_build` fail.
    ///
    /// Errors: `SBX_STATUS_NULL_PARAMETER` (`builder`, `binary`, `extra_dirs` with `count` > 0,
    /// an element).
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_add_libraries_for_binary(
        builder: *mut sbx_policy_builder,
        binary: *const c_char,
        extra_dirs: *const *const c_char,
        count: usize,
        err_out: *mut *mut sbx_error,
    ) -> sbx_status {
        boundary_status(err_out, || {
            let mut b = try_mut(builder, "builder")?;
            let binary = try_path(binary, "binary")?;
            let extra = try_path_array(extra_dirs, count, "extra_dirs")?;
            b.add_libraries_for_binary_with(binary, &extra);
            Ok(())
        })
    }
}
