//! Landlock (landlock(7)): the domain every sandboxee enters, decided on the host before the
//! clone; the child only replays it (`spawn/child/landlock.rs`, step 9b).
//!
//! Two jobs, whatever the namespaces:
//! - **scoping** (ABI 1 and 6): a process in a Landlock domain cannot ptrace, open
//!   `/proc/<pid>/mem` of, signal (ABI 6) or reach abstract unix sockets of (ABI 6) any process
//!   outside it, which keeps a same-uid sandboxee away from the host even without a pid or
//!   network namespace;
//! - **filesystem rights** (namespaced sandboxes): the mount view's intent, expressed a second
//!   time. Writing, creating, removing, renaming and truncating are allowed only beneath the
//!   writable mounts (and on the device nodes of `/dev`), executing only beneath the mounts that
//!   may execute. Reading is not handled: what may be read is what the view holds. `/proc`
//!   grants nothing, so a sandboxee cannot write its own `/proc/self/mem` (which ignores page
//!   protections and would let it patch its own code under a W^X policy), `/proc/self/attr` or
//!   `oom_score_adj`. The fds the caller maps in keep what they were opened for: a file passed
//!   for reading cannot be reopened for writing through `/proc/self/fd`; a passed directory
//!   grants everything beneath it (passing it is the caller's choice).
//!
//! Without namespaces there is no view to mirror: only block devices are refused (no rule).
//!
//! Here: the ABI query, the rights each ABI knows, the view's grants and the [`Domain`];
//! `enforced.rs` what a domain enforced and the rights' names.

#![allow(unsafe_code)]

mod enforced;

pub use enforced::{fs_right_name, net_right_name, scope_name, Enforced};

use crate::sys::landlock::{fs, net, scope, CREATE_RULESET_VERSION};
pub(crate) use crate::sys::landlock::{
    LandlockAttr, NetPortAttr, PathBeneathAttr, RULE_NET_PORT, RULE_PATH_BENEATH,
};
use std::ffi::CString;
use std::os::fd::RawFd;
use std::sync::OnceLock;

/// The running kernel's Landlock ABI version, or the errno of the query (ENOSYS: not built in;
/// EOPNOTSUPP: disabled at boot). Asked once per process.
pub fn abi() -> Result<u32, i32> {
    static ABI: OnceLock<Result<u32, i32>> = OnceLock::new();
    *ABI.get_or_init(|| {
        // SAFETY: with a NULL attribute, size 0 and the VERSION flag the call reads no memory
        // and only returns the ABI version.
        let r = unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                std::ptr::null::<u8>(),
                0usize,
                CREATE_RULESET_VERSION,
            )
        };
        if r > 0 {
            u32::try_from(r).map_err(|_| libc::EINVAL)
        } else {
            Err(std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::ENOSYS))
        }
    })
}

/// Rights that make or change something beneath a directory (the writable mounts' grant).
const WRITE_RIGHTS: u64 = fs::WRITE_FILE
    | fs::REMOVE_DIR
    | fs::REMOVE_FILE
    | fs::MAKE_DIR
    | fs::MAKE_REG
    | fs::MAKE_SOCK
    | fs::MAKE_FIFO
    | fs::MAKE_SYM
    | fs::REFER
    | fs::TRUNCATE;

/// The rights a rule on a non-directory may carry (the kernel refuses others with EINVAL).
const FILE_RIGHTS: u64 =
    fs::EXECUTE | fs::WRITE_FILE | fs::READ_FILE | fs::TRUNCATE | fs::IOCTL_DEV;

/// The filesystem rights each ABI knows.
fn known_fs_rights(abi: u32) -> u64 {
    let mut known = (fs::MAKE_SYM << 1) - 1; // ABI 1: EXECUTE ..= MAKE_SYM
    if abi >= 2 {
        known |= fs::REFER;
    }
    if abi >= 3 {
        known |= fs::TRUNCATE;
    }
    if abi >= 5 {
        known |= fs::IOCTL_DEV;
    }
    known
}

/// The filesystem rights a namespaced sandboxee's domain handles under `abi`: everything but
/// reading (what may be read is what the view holds) and device ioctls (the seccomp policy
/// governs ioctl requests).
pub fn handled_with_view(abi: u32) -> u64 {
    known_fs_rights(abi) & !(fs::READ_FILE | fs::READ_DIR | fs::IOCTL_DEV)
}

/// The scopes a domain takes under `abi` (all there are: both came with ABI 6).
pub fn scopes_for(abi: u32) -> u64 {
    if abi >= 6 {
        scope::ABSTRACT_UNIX_SOCKET | scope::SIGNAL
    } else {
        0
    }
}

/// What one mount of the view grants, in the view's own terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grant {
    /// Nothing beyond reading (`/proc`, hidden paths, symlinks).
    Nothing,
    /// A read-only mount that may execute.
    Execute,
    /// A writable mount; `exec` when writable mounts may execute.
    Write {
        /// Executing beneath it is allowed too.
        exec: bool,
    },
    /// A device node or the sandbox's devpts: its files may be opened for writing.
    Device,
}

impl Grant {
    fn rights(self) -> u64 {
        match self {
            Grant::Nothing => 0,
            Grant::Execute => fs::EXECUTE,
            Grant::Write { exec } => WRITE_RIGHTS | if exec { fs::EXECUTE } else { 0 },
            Grant::Device => fs::WRITE_FILE | fs::TRUNCATE,
        }
    }
}

/// One path of the view and what it grants; `is_dir` false for a file target.
#[derive(Debug, Clone)]
pub(crate) struct ViewEntry {
    /// Absolute path inside the sandbox.
    pub path: CString,
    /// What the mount grants.
    pub grant: Grant,
    /// The target is a directory (else a file: only file rights apply).
    pub is_dir: bool,
}

/// A rule on a path of the sandbox's view, opened by the child after `pivot_root`.
#[derive(Debug)]
pub(crate) struct PathRule {
    /// Absolute path inside the sandbox.
    pub path: CString,
    /// Rights granted beneath it (a subset of the handled ones).
    pub access: u64,
}

/// A rule on an fd the sandboxee receives (its number after the moves).
#[derive(Debug, Clone, Copy)]
pub(crate) struct FdRule {
    /// The fd number in the sandboxee.
    pub fd: RawFd,
    /// Rights granted on (or beneath) the file it refers to.
    pub access: u64,
}

/// The Landlock domain a sandboxee enters.
#[derive(Debug)]
pub(crate) struct Domain {
    /// The ABI the rights were chosen for.
    pub abi: u32,
    /// What the ruleset handles.
    pub attr: LandlockAttr,
    /// Rules on paths of the view (empty without namespaces).
    pub paths: Vec<PathRule>,
    /// Rules on the mapped fds.
    pub fds: Vec<FdRule>,
    /// TCP ports `connect` may reach (when the domain handles `CONNECT_TCP`).
    pub tcp_ports: Vec<u16>,
}
/// What a mapped fd's file may be reopened for, from the host's view of it before the clone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FdKind {
    /// A directory: everything beneath it (the caller chose to pass it).
    Directory,
    /// A file (regular or device) opened for writing.
    WritableFile,
    /// A file opened read-only: executing it (fexecve) but no writing.
    ReadOnlyFile,
    /// Pipes, sockets and anonymous inodes: Landlock does not govern them.
    Other,
}

impl FdKind {
    /// Classifies `fd` (a host fd the sandboxee receives).
    pub fn of(fd: RawFd) -> FdKind {
        // SAFETY: fstat writes into the stat buffer we own; fcntl(F_GETFL) reads nothing.
        let (mode, flags) = unsafe {
            let mut st: libc::stat = std::mem::zeroed();
            if libc::fstat(fd, &mut st) != 0 {
                return FdKind::Other;
            }
            (st.st_mode & libc::S_IFMT, libc::fcntl(fd, libc::F_GETFL))
        };
        match mode {
            libc::S_IFDIR => FdKind::Directory,
            libc::S_IFREG | libc::S_IFCHR | libc::S_IFBLK => {
                if flags >= 0 && flags & libc::O_ACCMODE != libc::O_RDONLY {
                    FdKind::WritableFile
                } else {
                    FdKind::ReadOnlyFile
                }
            }
            _ => FdKind::Other,
        }
    }
}

impl Domain {
    /// The domain for a sandboxee: `view` is the mount view of a namespaced sandbox (`None`
    /// without namespaces), `fds` its mapped fds as (number in the sandboxee, kind). `None`
    /// when the kernel has no Landlock.
    pub fn new(view: Option<&[ViewEntry]>, fds: &[(RawFd, FdKind)]) -> Option<Domain> {
        let abi = abi().ok()?;
        Some(Self::for_abi(abi, view, fds))
    }

    fn for_abi(abi: u32, view: Option<&[ViewEntry]>, fds: &[(RawFd, FdKind)]) -> Domain {
        let scoped = scopes_for(abi);
        // The struct grew `scoped` in ABI 6; older kernels refuse a size they do not know.
        let size = if abi >= 6 { 24 } else { 8 };
        let Some(view) = view else {
            // No view to mirror: refuse block devices only (no sandboxee can make one anyway;
            // a ruleset must handle something).
            return Domain {
                abi,
                attr: LandlockAttr {
                    handled_access_fs: fs::MAKE_BLOCK,
                    handled_access_net: 0,
                    scoped,
                    size,
                },
                paths: Vec::new(),
                fds: Vec::new(),
                tcp_ports: Vec::new(),
            };
        };
        let handled = handled_with_view(abi);
        let paths = view
            .iter()
            .filter_map(|e| {
                let mask = if e.is_dir { handled } else { handled & FILE_RIGHTS };
                let access = e.grant.rights() & mask;
                (access != 0).then(|| PathRule {
                    path: e.path.clone(),
                    access,
                })
            })
            .collect();
        let fds = fds
            .iter()
            .filter_map(|&(fd, kind)| {
                let access = match kind {
                    FdKind::Directory => handled,
                    FdKind::WritableFile => (fs::EXECUTE | fs::WRITE_FILE | fs::TRUNCATE) & handled,
                    FdKind::ReadOnlyFile => fs::EXECUTE,
                    FdKind::Other => 0,
                };
                (access != 0).then_some(FdRule { fd, access })
            })
            .collect();
        Domain {
            abi,
            attr: LandlockAttr {
                handled_access_fs: handled,
                handled_access_net: 0,
                scoped,
                size,
            },
            paths,
            fds,
            tcp_ports: Vec::new(),
        }
    }

    /// The network allow-list's TCP ports as a second fence (ABI 4, Linux 6.7): the domain
    /// handles `CONNECT_TCP`, so a TCP `connect` made by the sandboxee itself reaches only these
    /// ports. Behind the connect proxy no such call is ever let through (the supervisor connects
    /// its own socket), so this changes nothing an allowed program does; it holds if a connect
    /// ever got past the filter. Older ABIs: nothing (the result then lists no network rights).
    pub fn fence_tcp_connect(&mut self, ports: &[u16]) {
        if self.abi < 4 {
            return;
        }
        self.attr.handled_access_net = net::CONNECT_TCP;
        self.tcp_ports = ports.to_vec();
        self.tcp_ports.sort_unstable();
        self.tcp_ports.dedup();
    }

    /// What the domain enforces, for the result.
    pub fn enforced(&self) -> Enforced {
        Enforced {
            abi: self.abi,
            fs: self.attr.handled_access_fs,
            net: self.attr.handled_access_net,
            scoped: self.attr.scoped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, grant: Grant, is_dir: bool) -> ViewEntry {
        ViewEntry {
            path: CString::new(path).unwrap(),
            grant,
            is_dir,
        }
    }

    fn access_of(d: &Domain, path: &str) -> Option<u64> {
        d.paths
            .iter()
            .find(|r| r.path.to_str() == Ok(path))
            .map(|r| r.access)
    }

    #[test]
    fn the_view_becomes_rules() {
        let view = [
            entry("/usr", Grant::Execute, true),
            entry("/tmp", Grant::Write { exec: false }, true),
            entry("/work", Grant::Write { exec: true }, true),
            entry("/etc/hosts", Grant::Execute, false),
            entry("/proc", Grant::Nothing, true),
            entry("/dev/null", Grant::Device, false),
        ];
        let d = Domain::for_abi(7, Some(&view), &[]);
        assert_eq!(access_of(&d, "/usr"), Some(fs::EXECUTE));
        let tmp = access_of(&d, "/tmp").unwrap();
        assert_eq!(tmp & fs::EXECUTE, 0);
        assert_ne!(tmp & fs::MAKE_REG, 0);
        assert_ne!(tmp & fs::TRUNCATE, 0);
        assert_ne!(access_of(&d, "/work").unwrap() & fs::EXECUTE, 0);
        assert_eq!(access_of(&d, "/etc/hosts"), Some(fs::EXECUTE));
        assert_eq!(access_of(&d, "/proc"), None, "/proc grants nothing");
        assert_eq!(
            access_of(&d, "/dev/null"),
            Some(fs::WRITE_FILE | fs::TRUNCATE)
        );
        // Reading is the view's business; character and block devices are never made.
        let handled = d.attr.handled_access_fs;
        assert_eq!(handled & (fs::READ_FILE | fs::READ_DIR | fs::IOCTL_DEV), 0);
        assert_ne!(handled & fs::MAKE_CHAR, 0);
        assert_ne!(handled & fs::MAKE_BLOCK, 0);
        for r in &d.paths {
            assert_eq!(r.access & !handled, 0, "{:?} grants unhandled rights", r.path);
        }
        assert_eq!(d.attr.size, 24);
        assert_eq!(d.enforced().scopes(), ["abstract_unix_socket", "signal"]);
    }

    #[test]
    fn older_abis_get_only_what_they_know() {
        let view = [entry("/tmp", Grant::Write { exec: false }, true)];
        let d = Domain::for_abi(1, Some(&view), &[]);
        assert_eq!(d.attr.handled_access_fs & (fs::REFER | fs::TRUNCATE), 0);
        assert_eq!(access_of(&d, "/tmp").unwrap() & (fs::REFER | fs::TRUNCATE), 0);
        assert_eq!((d.attr.scoped, d.attr.size), (0, 8));
        let d = Domain::for_abi(3, Some(&view), &[]);
        assert_ne!(d.attr.handled_access_fs & fs::TRUNCATE, 0);
    }

    #[test]
    fn mapped_fds_keep_what_they_were_opened_for() {
        let fds = [
            (0, FdKind::ReadOnlyFile),
            (1, FdKind::WritableFile),
            (2, FdKind::Other),
            (5, FdKind::Directory),
        ];
        let d = Domain::for_abi(7, Some(&[]), &fds);
        let of = |fd| d.fds.iter().find(|r| r.fd == fd).map(|r| r.access);
        assert_eq!(of(0), Some(fs::EXECUTE));
        assert_eq!(of(1).unwrap() & fs::WRITE_FILE, fs::WRITE_FILE);
        assert_eq!(of(2), None);
        assert_eq!(of(5), Some(d.attr.handled_access_fs));
    }

    #[test]
    fn tcp_ports_fence_connect_from_abi_4() {
        let mut d = Domain::for_abi(7, Some(&[]), &[]);
        d.fence_tcp_connect(&[443, 80, 443]);
        assert_eq!(d.tcp_ports, [80, 443]);
        assert_eq!(d.enforced().net_rights(), ["connect_tcp"]);
        let mut old = Domain::for_abi(3, Some(&[]), &[]);
        old.fence_tcp_connect(&[443]);
        assert_eq!((old.attr.handled_access_net, old.tcp_ports.len()), (0, 0));
        assert!(old.enforced().net_rights().is_empty());
    }

    #[test]
    fn without_a_view_only_block_devices_are_handled() {
        let d = Domain::for_abi(7, None, &[(1, FdKind::WritableFile)]);
        assert_eq!(d.attr.handled_access_fs, fs::MAKE_BLOCK);
        assert!(d.paths.is_empty() && d.fds.is_empty());
        assert_eq!(d.enforced().fs_rights(), ["make_block"]);
    }

    #[test]
    fn fd_kinds_come_from_the_host_fd() {
        use std::os::fd::AsRawFd;
        let dir = std::fs::File::open("/").unwrap();
        assert_eq!(FdKind::of(dir.as_raw_fd()), FdKind::Directory);
        let ro = std::fs::File::open("/proc/self/status").unwrap();
        assert_eq!(FdKind::of(ro.as_raw_fd()), FdKind::ReadOnlyFile);
        let rw = std::fs::OpenOptions::new().write(true).open("/dev/null").unwrap();
        assert_eq!(FdKind::of(rw.as_raw_fd()), FdKind::WritableFile);
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        assert_eq!(FdKind::of(a.as_raw_fd()), FdKind::Other);
        assert_eq!(FdKind::of(-1), FdKind::Other);
    }
}
