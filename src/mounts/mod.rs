//! The sandboxee's filesystem view: an empty tmpfs root holding only what the policy adds.
//!
//! This module holds the *description* and its validation (sandbox2's mount rules: absolute,
//! canonical paths, no NUL, no `..`, file-over-directory conflicts rejected). Two rules go
//! further than sandbox2's, so that a view that builds also mounts: a read-only and a writable
//! bind of one source at one path conflict (sandbox2 upgrades to writable), and a directory bind
//! added above existing mount points is checked against them at once (each must exist in the
//! new source, with its type, and not as a symlink). The child applies it with the new mount API
//! (see `spawn::ns_child::mounts`), resolving every target beneath the new root without following
//! symlinks.
//!
//! Here: the types and the builder; `rules.rs` the checks a mount passes before it is added;
//! `view.rs` what the view shows at a path (through binds and symlinks).

pub mod elf;
mod rules;
mod view;

pub use rules::check_path;

use crate::error::{Error, Result};
use rules::check_inside;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use view::same_file;

/// Paths the library manages itself inside every namespaced sandbox.
pub const RESERVED: [&str; 2] = ["/proc", "/dev"];

/// What is mounted at one path inside the sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountKind {
    /// A host file or directory bind-mounted (recursively for directories).
    Bind {
        /// Host path (absolute, canonical; may be a symlink, which the bind follows).
        source: PathBuf,
        /// Directory (true) or file.
        is_dir: bool,
        /// Writable (default read-only).
        writable: bool,
    },
    /// A fresh tmpfs, always writable.
    Tmpfs {
        /// Size limit in bytes (`None`: the kernel default, half of RAM).
        size: Option<u64>,
    },
    /// A path that exists in a bound tree but is withheld: a directory is covered by an empty
    /// tmpfs nobody may enter, a file by a node nobody may open (both fail with `EACCES`).
    Hidden {
        /// Directory (true) or file.
        is_dir: bool,
    },
}

/// One mount of the sandbox's tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Path inside the sandbox.
    pub inside: PathBuf,
    /// What is mounted there.
    pub kind: MountKind,
}

/// The whole filesystem view, validated as it is built.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountTree {
    mounts: BTreeMap<PathBuf, MountKind>,
    root_writable: bool,
    writable_exec: bool,
    dev_shm: Option<u64>,
    dev_pts: bool,
}

impl MountTree {
    /// An empty view: a read-only tmpfs root with `/proc` and a minimal `/dev`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bind-mounts host file `outside` at `inside`.
    pub fn add_file_at(&mut self, outside: &Path, inside: &Path, writable: bool) -> Result<()> {
        self.add_bind(outside, inside, false, writable)
    }

    /// Bind-mounts host directory `outside` at `inside` (recursively: submounts come along).
    pub fn add_directory_at(
        &mut self,
        outside: &Path,
        inside: &Path,
        writable: bool,
    ) -> Result<()> {
        self.add_bind(outside, inside, true, writable)
    }

    /// Mounts a tmpfs at `inside` with an optional size in bytes.
    pub fn add_tmpfs(&mut self, inside: &Path, size: Option<u64>) -> Result<()> {
        if size == Some(0) {
            return Err(Error::invalid(format!(
                "tmpfs {}: size 0",
                inside.display()
            )));
        }
        check_inside(inside)?;
        self.insert(inside.to_path_buf(), MountKind::Tmpfs { size })
    }

    /// Withholds `inside`, which a bind mount of the view shows (for instance `/etc/shadow`
    /// under a bind of `/etc`): see [`MountKind::Hidden`]. `is_dir` must match what is there.
    pub fn hide(&mut self, inside: &Path, is_dir: bool) -> Result<()> {
        check_inside(inside)?;
        self.insert(inside.to_path_buf(), MountKind::Hidden { is_dir })
    }

    /// A private `/dev/shm` of at most `size` bytes (a tmpfs of this sandbox alone, writable,
    /// noexec): POSIX shared memory and semaphores (`shm_open`, `sem_open`, Python's
    /// `multiprocessing` locks). `None` removes it (the default: no `/dev/shm`).
    pub fn set_dev_shm(&mut self, size: Option<u64>) -> Result<()> {
        if size == Some(0) {
            return Err(Error::invalid("/dev/shm: size 0"));
        }
        self.dev_shm = size;
        Ok(())
    }

    /// The size of the private `/dev/shm`, when there is one.
    pub fn dev_shm(&self) -> Option<u64> {
        self.dev_shm
    }

    /// A private `/dev/pts` (a new devpts instance: only the sandbox's own pseudo-terminals)
    /// and `/dev/ptmx` pointing into it, for programs that open pseudo-terminals (`script`,
    /// Python's `pty`, `expect`). Default: none.
    pub fn set_dev_pts(&mut self, on: bool) {
        self.dev_pts = on;
    }

    /// Whether the sandbox gets its own `/dev/pts`.
    pub fn dev_pts(&self) -> bool {
        self.dev_pts
    }

    /// Keeps the root tmpfs writable (default read-only).
    pub fn set_root_writable(&mut self, writable: bool) {
        self.root_writable = writable;
    }

    /// Lets writable mounts keep exec permission (default: writable mounts are noexec).
    pub fn set_writable_exec(&mut self, allow: bool) {
        self.writable_exec = allow;
    }

    /// Whether the root stays writable.
    pub fn root_writable(&self) -> bool {
        self.root_writable
    }

    /// Whether writable mounts may hold executables.
    pub fn writable_exec(&self) -> bool {
        self.writable_exec
    }

    /// The mounts in application order (parents before children).
    pub fn mounts(&self) -> Vec<Mount> {
        self.mounts
            .iter()
            .map(|(p, k)| Mount {
                inside: p.clone(),
                kind: k.clone(),
            })
            .collect()
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.mounts.is_empty()
    }

    fn add_bind(
        &mut self,
        outside: &Path,
        inside: &Path,
        is_dir: bool,
        writable: bool,
    ) -> Result<()> {
        check_path("outside path", outside)?;
        check_inside(inside)?;
        if outside.starts_with("/proc/self") || outside.starts_with("/proc/thread-self") {
            return Err(Error::invalid(format!(
                "{}: /proc/self paths cannot be mounted",
                outside.display()
            )));
        }
        let meta = std::fs::metadata(outside)
            .map_err(|e| Error::invalid(format!("{}: {e}", outside.display())))?;
        if is_dir && !meta.is_dir() {
            return Err(Error::invalid(format!(
                "{} is not a directory",
                outside.display()
            )));
        }
        if !is_dir && meta.is_dir() {
            return Err(Error::invalid(format!(
                "{} is a directory, not a file",
                outside.display()
            )));
        }
        // A read-only file the view already shows, through an enclosing bind mount and any
        // symlinks inside the view, needs no mount of its own (e.g. a library of
        // add_libraries_for_binary under an already bound /lib).
        if !is_dir && !writable && !self.mounts.contains_key(inside) {
            if let Some(shown) = self.resolve_in_view(inside) {
                if same_file(&shown, outside) {
                    return Ok(());
                }
            }
        }
        self.insert(
            inside.to_path_buf(),
            MountKind::Bind {
                source: outside.to_path_buf(),
                is_dir,
                writable,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicts_are_named_when_the_view_is_built() {
        let dir = std::env::temp_dir().join(format!("sbx-mount-conflict-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::os::unix::fs::symlink("sub", dir.join("link")).unwrap();
        std::fs::write(dir.join("file"), "x").unwrap();
        // The same source read-only and writable: neither wins silently.
        let mut t = MountTree::new();
        t.add_directory_at(&dir, Path::new("/data"), false).unwrap();
        let e = t.add_directory_at(&dir, Path::new("/data"), true).unwrap_err();
        assert!(e.to_string().contains("already mounted"), "{e}");
        t.add_directory_at(&dir, Path::new("/data"), false).unwrap(); // the very same: fine
        // A directory bind added above an existing mount whose point is a symlink in it.
        let mut t = MountTree::new();
        t.add_tmpfs(Path::new("/data/link"), None).unwrap();
        let e = t.add_directory_at(&dir, Path::new("/data"), false).unwrap_err();
        assert!(e.to_string().contains("/data/link") && e.to_string().contains("symlink"), "{e}");
        // ... or missing there.
        let mut t = MountTree::new();
        t.add_tmpfs(Path::new("/data/nope"), None).unwrap();
        let e = t.add_directory_at(&dir, Path::new("/data"), false).unwrap_err();
        assert!(e.to_string().contains("/data/nope"), "{e}");
        // Fine when the point is there with its type.
        let mut t = MountTree::new();
        t.add_tmpfs(Path::new("/data/sub"), None).unwrap();
        t.add_directory_at(&dir, Path::new("/data"), false).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn rejects_bad_paths() {
        let mut t = MountTree::new();
        for bad in [
            "relative", "/a/../b", "/a/./b", "/a//b", "/a/", "", "/proc/x", "/dev", "/",
        ] {
            assert!(t.add_tmpfs(Path::new(bad), None).is_err(), "{bad} accepted");
        }
        let nul = std::ffi::OsStr::from_bytes_checked(b"/a\0b");
        assert!(t.add_tmpfs(Path::new(nul), None).is_err());
        assert!(t
            .add_directory_at(Path::new("/proc/self/root"), Path::new("/x"), false)
            .is_err());
        assert!(t
            .add_directory_at(Path::new("/nonexistent-sbx"), Path::new("/x"), false)
            .is_err());
        assert!(
            t.add_file_at(Path::new("/usr"), Path::new("/x"), false)
                .is_err(),
            "dir as file"
        );
        assert!(
            t.add_directory_at(Path::new("/etc/passwd"), Path::new("/x"), false)
                .is_err(),
            "file as dir"
        );
        assert!(t.add_tmpfs(Path::new("/t"), Some(0)).is_err());
    }

    #[test]
    fn a_nul_byte_is_refused_in_every_path() {
        // sandbox2's TestEvilNullByte: a NUL cuts a C string short, so "/etc/passwd\0/x" would
        // reach the kernel as "/etc/passwd". Sources and targets, of every kind of mount.
        let evil = std::ffi::OsStr::from_bytes_checked(b"/etc/passwd\0/x");
        let evil = Path::new(evil);
        let ok = Path::new("/etc/passwd");
        let at = Path::new("/x");
        let mut t = MountTree::new();
        let nul = |r: Result<()>| r.unwrap_err().to_string().contains("NUL byte");
        assert!(nul(t.add_file_at(evil, at, false)), "file source");
        assert!(nul(t.add_file_at(ok, evil, false)), "file target");
        assert!(nul(t.add_file_at(ok, evil, true)), "writable file target");
        assert!(nul(t.add_directory_at(evil, at, false)), "directory source");
        assert!(nul(t.add_directory_at(Path::new("/usr"), evil, false)), "directory target");
        assert!(nul(t.add_tmpfs(evil, None)), "tmpfs target");
        assert!(nul(t.hide(evil, false)), "hidden path");
        assert!(t.mounts().is_empty(), "nothing was added");
        // Without the NUL the same calls are fine.
        t.add_file_at(ok, at, false).unwrap();
    }

    trait FromBytes {
        fn from_bytes_checked(b: &[u8]) -> &std::ffi::OsStr;
    }
    impl FromBytes for std::ffi::OsStr {
        fn from_bytes_checked(b: &[u8]) -> &std::ffi::OsStr {
            use std::os::unix::ffi::OsStrExt;
            std::ffi::OsStr::from_bytes(b)
        }
    }

    #[test]
    fn ro_and_rw_of_one_source_conflict() {
        let mut t = MountTree::new();
        t.add_directory_at(Path::new("/usr"), Path::new("/usr"), false)
            .unwrap();
        assert!(
            t.add_directory_at(Path::new("/usr"), Path::new("/usr"), true)
                .is_err(),
            "read-only, then writable"
        );
        assert_eq!(
            t.mounts()[0].kind,
            MountKind::Bind {
                source: "/usr".into(),
                is_dir: true,
                writable: false
            }
        );
        assert!(
            t.add_directory_at(Path::new("/etc"), Path::new("/usr"), false)
                .is_err(),
            "other source"
        );
        assert!(
            t.add_tmpfs(Path::new("/usr"), None).is_err(),
            "tmpfs over bind"
        );
        t.add_file_at(Path::new("/etc/passwd"), Path::new("/f"), false)
            .unwrap();
        assert!(
            t.add_tmpfs(Path::new("/f/x"), None).is_err(),
            "beneath a file"
        );
        t.add_tmpfs(Path::new("/d/e"), None).unwrap();
        assert!(
            t.add_file_at(Path::new("/etc/passwd"), Path::new("/d"), false)
                .is_err(),
            "file over mounts"
        );
    }

    #[test]
    fn files_already_shown_through_a_bind_and_symlinks_need_no_mount() {
        let dir = std::env::temp_dir().join(format!("sbx-view-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("real")).unwrap();
        std::fs::create_dir_all(dir.join("links")).unwrap();
        std::fs::write(dir.join("real/lib.so"), b"x").unwrap();
        std::os::unix::fs::symlink("/r/lib.so", dir.join("links/abs")).unwrap();
        std::os::unix::fs::symlink("../r/lib.so", dir.join("links/rel")).unwrap();
        let mut t = MountTree::new();
        t.add_directory_at(&dir.join("real"), Path::new("/r"), false)
            .unwrap();
        t.add_directory_at(&dir.join("links"), Path::new("/l"), false)
            .unwrap();
        let lib = dir.join("real/lib.so");
        assert_eq!(t.resolve_in_view(Path::new("/l/abs")), Some(lib.clone()));
        assert_eq!(t.resolve_in_view(Path::new("/l/rel")), Some(lib.clone()));
        let before = t.mounts().len();
        t.add_file_at(&lib, Path::new("/l/abs"), false).unwrap();
        t.add_file_at(&lib, Path::new("/r/lib.so"), false).unwrap();
        assert_eq!(t.mounts().len(), before, "already visible: no new mounts");
        // A symlink whose target the view does not show still fails closed.
        std::os::unix::fs::symlink("/elsewhere/lib.so", dir.join("links/dangling")).unwrap();
        assert!(t
            .add_file_at(&lib, Path::new("/l/dangling"), false)
            .is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn nested_mount_points_must_exist_in_source() {
        let mut t = MountTree::new();
        t.add_directory_at(Path::new("/usr"), Path::new("/usr"), false)
            .unwrap();
        t.add_tmpfs(Path::new("/usr/lib"), None).unwrap();
        assert!(t
            .add_tmpfs(Path::new("/usr/no-such-dir-sbx"), None)
            .is_err());
        // Parents come before children.
        let order: Vec<_> = t.mounts().into_iter().map(|m| m.inside).collect();
        assert_eq!(
            order,
            vec![PathBuf::from("/usr"), PathBuf::from("/usr/lib")]
        );
    }
}
