//! The sandbox's view of the system, set on the [`PolicyBuilder`] like sandbox2 does: which
//! namespaces the sandboxee gets and which host files and directories it sees.
//!
//! Errors are sticky like every other builder error: the first one is returned by `build()`.

use super::builder::PolicyBuilder;
use crate::error::{Error, Result};
use crate::mounts::elf;
use std::path::{Path, PathBuf};

impl PolicyBuilder {
    fn record(&mut self, r: Result<()>) -> &mut Self {
        if let Err(e) = r {
            self.error.get_or_insert(e);
        }
        self
    }

    /// No namespaces at all: the sandboxee sees the host's files, processes and network, runs as
    /// the caller's uid (a root caller's capabilities are still dropped) and is confined only by
    /// seccomp, rlimits and the monitor. Mount calls are then an error.
    pub fn disable_namespaces(&mut self) -> &mut Self {
        self.namespaces.enabled = false;
        self
    }

    /// Shares the host's network namespace (sandbox2's `UnrestrictedNetworking`). Default: a
    /// fresh network namespace with only `lo`, up.
    pub fn share_network(&mut self) -> &mut Self {
        self.namespaces.share_network = true;
        self
    }

    /// Chooses the sandbox's network namespace (see [`NetNs`](crate::namespaces::NetNs)):
    /// a fresh one per sandbox (default), one empty namespace shared by the process's sandboxes
    /// that ask for it (root callers), or the host's ([`share_network`](Self::share_network)).
    pub fn network_namespace(&mut self, net: crate::namespaces::NetNs) -> &mut Self {
        use crate::namespaces::NetNs;
        self.namespaces.share_network = net == NetNs::Host;
        self.namespaces.shared_empty_network = net == NetNs::Shared;
        self
    }

    /// Lets the sandbox run without a private `/proc` when the kernel refuses to mount one
    /// (a container runtime that masks parts of its `/proc`, see `docs/containers.md`): the
    /// sandbox's `/proc` is then a clone of the `/proc` the caller sees (the container's, its
    /// masks included), which shows the container's processes (Landlock scoping still keeps
    /// the sandboxee from signalling or tracing them), and the result lists `"proc"` in
    /// [`crate::RunResult::degraded`]. Without this (the default) such a sandbox fails to set
    /// up at step `mount_proc`. Every other fence stays in force.
    pub fn allow_no_private_proc(&mut self) -> &mut Self {
        self.namespaces.allow_no_proc = true;
        self
    }

    /// UTS hostname inside the sandbox (default `sandbox`).
    pub fn hostname(&mut self, name: impl Into<String>) -> &mut Self {
        self.namespaces.hostname = name.into();
        let r = self.namespaces.validate();
        self.record(r)
    }

    /// Bind-mounts host file `path` read-only at the same path.
    pub fn add_file(&mut self, path: impl AsRef<Path>) -> &mut Self {
        let p = path.as_ref();
        self.add_file_at(p, p, false)
    }

    /// Bind-mounts host file `outside` at `inside`, writable on request.
    pub fn add_file_at(
        &mut self,
        outside: impl AsRef<Path>,
        inside: impl AsRef<Path>,
        writable: bool,
    ) -> &mut Self {
        let r = self
            .mounts
            .add_file_at(outside.as_ref(), inside.as_ref(), writable);
        self.record(r)
    }

    /// Bind-mounts host directory `path` (recursively) read-only at the same path.
    pub fn add_directory(&mut self, path: impl AsRef<Path>) -> &mut Self {
        let p = path.as_ref();
        self.add_directory_at(p, p, false)
    }

    /// Bind-mounts host directory `outside` (recursively) at `inside`, writable on request.
    /// Writable mounts are `noexec` unless [`allow_write_exec`](Self::allow_write_exec).
    pub fn add_directory_at(
        &mut self,
        outside: impl AsRef<Path>,
        inside: impl AsRef<Path>,
        writable: bool,
    ) -> &mut Self {
        let r = self
            .mounts
            .add_directory_at(outside.as_ref(), inside.as_ref(), writable);
        self.record(r)
    }

    /// Adds a host directory when it exists (e.g. `/lib64`, which not every system has).
    pub fn add_directory_if_exists(&mut self, path: impl AsRef<Path>) -> &mut Self {
        let p = path.as_ref();
        if p.is_dir() {
            self.add_directory(p);
        }
        self
    }

    /// Mounts a fresh writable tmpfs at `inside`, at most `size` bytes (`None`: kernel default).
    pub fn add_tmpfs(&mut self, inside: impl AsRef<Path>, size: Option<u64>) -> &mut Self {
        let r = self.mounts.add_tmpfs(inside.as_ref(), size);
        self.record(r)
    }

    /// Withholds `inside`, a file (`is_dir` false) or directory that a bind mount of the view
    /// shows: opening it fails with EACCES (see [`MountKind::Hidden`](crate::mounts::MountKind)).
    pub fn hide(&mut self, inside: impl AsRef<Path>, is_dir: bool) -> &mut Self {
        let r = self.mounts.hide(inside.as_ref(), is_dir);
        self.record(r)
    }

    /// A private `/dev/shm` of at most `size` bytes, for POSIX shared memory and semaphores
    /// (Python's `multiprocessing`, `shm_open`); `None` (the default) leaves it out. Each
    /// sandbox gets its own: nothing is shared between sandboxes or with the host.
    pub fn dev_shm(&mut self, size: Option<u64>) -> &mut Self {
        let r = self.mounts.set_dev_shm(size);
        self.record(r)
    }

    /// A private `/dev/pts` and `/dev/ptmx` for programs that open pseudo-terminals. Pair it
    /// with [`presets::tty_rules`](crate::policy::presets::tty_rules) for the terminal ioctls.
    pub fn dev_pts(&mut self, on: bool) -> &mut Self {
        self.mounts.set_dev_pts(on);
        self
    }

    /// Keeps the root tmpfs writable (default read-only).
    pub fn set_root_writable(&mut self) -> &mut Self {
        self.mounts.set_root_writable(true);
        self
    }

    /// Lets writable mounts hold executables (default: writable mounts are `noexec`).
    pub fn allow_write_exec(&mut self) -> &mut Self {
        self.mounts.set_writable_exec(true);
        self
    }

    /// Adds `binary` and exactly the files the dynamic loader needs to run it (its interpreter
    /// and every `DT_NEEDED` library, resolved like ld.so does), read-only, instead of whole
    /// system directories. Safe for untrusted binaries: the ELF parser is bounded and checked.
    pub fn add_libraries_for_binary(&mut self, binary: impl AsRef<Path>) -> &mut Self {
        self.add_libraries_for_binary_with(binary, &[])
    }

    /// Like [`add_libraries_for_binary`](Self::add_libraries_for_binary), searching `extra`
    /// directories first (like `LD_LIBRARY_PATH`).
    pub fn add_libraries_for_binary_with(
        &mut self,
        binary: impl AsRef<Path>,
        extra: &[PathBuf],
    ) -> &mut Self {
        let binary = binary.as_ref();
        let r = (|| -> Result<()> {
            self.mounts.add_file_at(binary, binary, false)?;
            for lib in elf::libraries_for_binary(binary, extra)? {
                self.mounts.add_file_at(&lib.host, &lib.inside, false)?;
            }
            // The loader consults its cache first; libraries found only through it (e.g. from
            // ld.so.conf.d directories) would not be found inside without it.
            let cache = Path::new("/etc/ld.so.cache");
            if cache.is_file() {
                self.mounts.add_file_at(cache, cache, false)?;
            }
            Ok(())
        })();
        self.record(r)
    }

    /// The namespace settings so far.
    pub fn namespace_settings(&self) -> &crate::namespaces::Namespaces {
        &self.namespaces
    }

    pub(super) fn check_view(&self) -> Result<()> {
        if !self.namespaces.enabled
            && (!self.mounts.is_empty()
                || self.mounts.root_writable()
                || self.mounts.dev_shm().is_some()
                || self.mounts.dev_pts())
        {
            return Err(Error::InvalidPolicy(
                "mounts need namespaces, but disable_namespaces() was called".into(),
            ));
        }
        self.namespaces.validate()
    }
}
