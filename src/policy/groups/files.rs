//! Groups for files and descriptors: reading and writing, opening, metadata, directories and
//! links, pipes and duplicates, readiness (poll, select, epoll, inotify, eventfd), `isatty`'s
//! ioctl and the `fcntl` commands that touch only the caller's own descriptors.

use crate::policy::builder::PolicyBuilder;
use crate::policy::rule::{c, ioctl_cmd, Action, Arg};

impl PolicyBuilder {
    /// Allows reading from file descriptors: `read`, `readv`, `pread64`, `preadv`, `preadv2`
    /// (`preadv2` is not in sandbox2's set; it is `preadv` with per-call flags).
    pub fn allow_read(&mut self) -> &mut Self {
        self.allow_names(&["read", "readv", "pread64", "preadv", "preadv2"])
    }

    /// Allows writing to file descriptors: `write`, `writev`, `pwrite64`, `pwritev`, `pwritev2`.
    pub fn allow_write(&mut self) -> &mut Self {
        self.allow_names(&["write", "writev", "pwrite64", "pwritev", "pwritev2"])
    }

    /// Allows opening files: `open`, `openat`, `creat`. What can be opened is the mount
    /// namespace's business.
    pub fn allow_open(&mut self) -> &mut Self {
        self.allow_names(&["open", "openat", "creat"])
    }

    /// Allows file status queries: `stat`, `lstat`, `fstat`, `newfstatat`, `statx`, `statfs`,
    /// `fstatfs`, `ustat` and the 32-bit variants (`stat64`, `lstat64`, `fstat64`, `fstatat64`,
    /// `statfs64`, `fstatfs64`, `oldstat`, `oldlstat`, `oldfstat`). `statx` is an addition to
    /// sandbox2's set: current coreutils and glibc use it.
    pub fn allow_stat(&mut self) -> &mut Self {
        self.allow_names(&[
            "stat",
            "lstat",
            "fstat",
            "newfstatat",
            "statx",
            "statfs",
            "fstatfs",
            "ustat",
            "stat64",
            "lstat64",
            "fstat64",
            "fstatat64",
            "statfs64",
            "fstatfs64",
            "oldstat",
            "oldlstat",
            "oldfstat",
        ])
    }

    /// Allows permission checks: `access`, `faccessat`, `faccessat2`.
    pub fn allow_access(&mut self) -> &mut Self {
        self.allow_names(&["access", "faccessat", "faccessat2"])
    }

    /// Allows duplicating file descriptors: `dup`, `dup2`, `dup3`.
    pub fn allow_dup(&mut self) -> &mut Self {
        self.allow_names(&["dup", "dup2", "dup3"])
    }

    /// Allows creating pipes: `pipe`, `pipe2`.
    pub fn allow_pipe(&mut self) -> &mut Self {
        self.allow_names(&["pipe", "pipe2"])
    }

    /// Allows changing permissions: `chmod`, `fchmod`, `fchmodat`, `fchmodat2` (the last is new
    /// since sandbox2's set; glibc 2.39 uses it for `fchmodat` with flags).
    pub fn allow_chmod(&mut self) -> &mut Self {
        self.allow_names(&["chmod", "fchmod", "fchmodat", "fchmodat2"])
    }

    /// Allows changing ownership: `chown`, `lchown`, `fchown`, `fchownat` (and the i386 `*32`
    /// variants).
    pub fn allow_chown(&mut self) -> &mut Self {
        self.allow_names(&[
            "chown", "lchown", "fchown", "fchownat", "chown32", "lchown32", "fchown32",
        ])
    }

    /// Allows listing directories: `getdents`, `getdents64`.
    pub fn allow_readdir(&mut self) -> &mut Self {
        self.allow_names(&["getdents", "getdents64"])
    }

    /// Allows reading symlinks: `readlink`, `readlinkat`.
    pub fn allow_readlink(&mut self) -> &mut Self {
        self.allow_names(&["readlink", "readlinkat"])
    }

    /// Allows hard links: `link`, `linkat`.
    pub fn allow_link(&mut self) -> &mut Self {
        self.allow_names(&["link", "linkat"])
    }

    /// Allows symlinks: `symlink`, `symlinkat`.
    pub fn allow_symlink(&mut self) -> &mut Self {
        self.allow_names(&["symlink", "symlinkat"])
    }

    /// Allows creating directories: `mkdir`, `mkdirat`.
    pub fn allow_mkdir(&mut self) -> &mut Self {
        self.allow_names(&["mkdir", "mkdirat"])
    }

    /// Allows changing file times: `utime`, `utimes`, `futimesat`, `utimensat` (`futimens` is a
    /// libc wrapper of `utimensat`).
    pub fn allow_utime(&mut self) -> &mut Self {
        self.allow_names(&["utime", "utimes", "futimesat", "utimensat"])
    }

    /// Allows removing files and directories: `unlink`, `unlinkat`, `rmdir`.
    pub fn allow_unlink(&mut self) -> &mut Self {
        self.allow_names(&["unlink", "unlinkat", "rmdir"])
    }

    /// Allows renaming: `rename`, `renameat`, `renameat2`.
    pub fn allow_rename(&mut self) -> &mut Self {
        self.allow_names(&["rename", "renameat", "renameat2"])
    }

    /// Allows event file descriptors: `eventfd`, `eventfd2`.
    pub fn allow_eventfd(&mut self) -> &mut Self {
        self.allow_names(&["eventfd", "eventfd2"])
    }

    /// Allows `poll`, `ppoll`.
    pub fn allow_poll(&mut self) -> &mut Self {
        self.allow_names(&["poll", "ppoll"])
    }

    /// Allows `select`, `pselect6` (and i386's `_newselect`).
    pub fn allow_select(&mut self) -> &mut Self {
        self.allow_names(&["select", "_newselect", "pselect6"])
    }

    /// Allows waiting on an epoll set: `epoll_wait`, `epoll_pwait`, `epoll_pwait2`.
    pub fn allow_epoll_wait(&mut self) -> &mut Self {
        self.allow_names(&["epoll_wait", "epoll_pwait", "epoll_pwait2"])
    }

    /// Allows epoll entirely: [`allow_epoll_wait`](Self::allow_epoll_wait) plus `epoll_create`,
    /// `epoll_create1`, `epoll_ctl`.
    pub fn allow_epoll(&mut self) -> &mut Self {
        self.allow_epoll_wait()
            .allow_names(&["epoll_create", "epoll_create1", "epoll_ctl"])
    }

    /// Allows inotify: `inotify_init`, `inotify_init1`, `inotify_add_watch`, `inotify_rm_watch`.
    pub fn allow_inotify(&mut self) -> &mut Self {
        self.allow_names(&[
            "inotify_init",
            "inotify_init1",
            "inotify_add_watch",
            "inotify_rm_watch",
        ])
    }

    /// Allows `ioctl(fd, TCGETS, ...)`, which is what `isatty()` does. `cmd` is compared on 32
    /// bits, as the kernel reads it.
    pub fn allow_tcgets(&mut self) -> &mut Self {
        self.rule_names(
            &["ioctl"],
            &[Arg::eq32(1, ioctl_cmd(libc::TCGETS))],
            Action::Allow,
        )
    }

    /// Allows `fcntl`/`fcntl64` with the commands that only touch the caller's own descriptors and
    /// locks: `F_GETFD`, `F_SETFD`, `F_GETFL`, `F_SETFL`, `F_GETLK`, `F_SETLK`, `F_SETLKW`,
    /// `F_DUPFD`, `F_DUPFD_CLOEXEC`. Not `F_SETOWN`/`F_SETSIG` (signals to other processes) or
    /// lease and notify commands.
    pub fn allow_safe_fcntl(&mut self) -> &mut Self {
        for cmd in [
            libc::F_GETFD,
            libc::F_SETFD,
            libc::F_GETFL,
            libc::F_SETFL,
            libc::F_GETLK,
            libc::F_SETLK,
            libc::F_SETLKW,
            libc::F_DUPFD,
            libc::F_DUPFD_CLOEXEC,
        ] {
            self.rule_names(
                &["fcntl", "fcntl64"],
                &[Arg::eq32(1, c(cmd))],
                Action::Allow,
            );
        }
        self
    }
}
