//! The namespaced part of a spawn plan: id maps, hostname, network, and the mount operations the
//! sandbox's init performs, all laid out before the clone (see `plan.rs` for why).

use crate::arch::NATIVE_AUDIT_ARCH;
use crate::error::{Error, Result};
use crate::landlock::{Grant, ViewEntry};
use crate::mounts::{MountKind, MountTree};
use crate::namespaces::{Namespaces, SANDBOX_ID};
use crate::policy::SockFilter;
use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::atomic::AtomicI32;

use crate::sys::mount::{
    MOUNT_ATTR_NODEV, MOUNT_ATTR_NOEXEC, MOUNT_ATTR_NOSUID, MOUNT_ATTR_RDONLY,
};

/// Device nodes of the minimal `/dev`, bound from the host.
pub const DEV_NODES: [&str; 5] = ["null", "zero", "full", "random", "urandom"];
/// Symlinks of the minimal `/dev`.
pub const DEV_LINKS: [(&str, &str); 4] = [
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
];

/// What one operation puts at its target.
pub enum OpKind {
    /// Clone of a host tree (open_tree), opened before the new root hides anything.
    Bind { source: CString, recursive: bool },
    /// A new tmpfs; `size` is the `size=` option value, `mode` the `mode=` one.
    Tmpfs {
        size: Option<CString>,
        mode: &'static core::ffi::CStr,
    },
    /// The sandbox pid namespace's procfs.
    Proc,
    /// A new devpts instance (the sandbox's own pseudo-terminals).
    Devpts,
    /// A symlink to `target`.
    Symlink { target: CString },
}

/// One step of building the new root.
pub struct MountOp {
    pub kind: OpKind,
    /// Target path below the new root, split into components (no `/`, `.` or `..`).
    pub components: Vec<CString>,
    /// Create the target as a directory (else as an empty file).
    pub is_dir: bool,
    /// MOUNT_ATTR_* flags applied to the new mount (recursively for binds).
    pub attrs: u64,
    /// The open_tree fd, written by the child (shared memory) in its first phase, or set here
    /// from `host_tree`.
    pub tree_fd: AtomicI32,
    /// A tree the host prepared itself (an idmapped writable bind of a root caller, see
    /// `idmap.rs`); the child inherits the fd at clone and skips its own open_tree.
    pub host_tree: Option<std::os::fd::OwnedFd>,
    /// For error messages.
    pub label: String,
    /// What the mount grants in the sandboxee's Landlock domain (`landlock/mod.rs`).
    pub grant: Grant,
}

/// Everything the init process needs.
pub struct NsPlan {
    pub clone_flags: i32,
    pub uid_map: CString,
    pub gid_map: CString,
    /// A root caller: the monitor writes the id maps (onto the sandbox's own host id, which needs
    /// CAP_SETUID outside) and the init switches to uid/gid 1000 before starting the sandboxee.
    pub monitor_writes_maps: bool,
    /// Maps of the nested user namespace the sandboxee enters (its own id onto itself).
    pub inner_uid_map: CString,
    pub inner_gid_map: CString,
    pub hostname: CString,
    /// The procfs mount may fail (EPERM): go on without a private /proc.
    pub proc_optional: bool,
    pub lo_up: bool,
    /// Joins the process's shared empty network namespace (the supervisor enters it around the
    /// clone, `spawn/netns.rs`) instead of making one.
    pub shared_netns: bool,
    /// Existing host directory the new root's tmpfs is mounted on (in the private mount ns).
    pub staging: CString,
    pub root_writable: bool,
    /// A root caller lacked the privilege for idmapped writable binds; they are plain binds.
    pub idmap_degraded: bool,
    pub ops: Vec<MountOp>,
    /// Filter init installs on itself before exec'ing its image: wait4 and exit only.
    /// Owns the instructions `init_fprog` points to.
    _init_filter: Vec<SockFilter>,
    pub init_fprog: crate::sys::seccomp::SockFprog,
    pub init_memfd: i32,
    pub init_argv: [*const libc::c_char; 2],
    /// Owns the string `init_argv[0]` points to.
    _init_name: CString,
    pub empty_env: [*const libc::c_char; 1],
    /// User-notify monitor: the init pipe's write end before clone, made fd
    /// `handoff::INIT_STATUS_FD` of the init image; -1 under ptrace.
    pub init_status_fd: i32,
    /// The `udp:` entries' relay sockets the init makes in the sandbox's network namespace
    /// (`udp_relay.rs`), under a network allow-list that has any.
    pub udp_relay: Option<Box<super::udp_relay::RelayPlan>>,
}

impl NsPlan {
    #[allow(clippy::too_many_lines)] // the plan, built in the order the init replays it
    ///
    /// `root_id`: a root caller's sandbox, which runs as this unprivileged host id.
    pub fn new(ns: &Namespaces, tree: &MountTree, root_id: Option<u32>) -> Result<NsPlan> {
        ns.validate()?;
        let root = root_id.is_some();
        let (uid, gid) = if let Some(id) = root_id {
            (id, id)
        } else {
            (
                nix::unistd::geteuid().as_raw(),
                nix::unistd::getegid().as_raw(),
            )
        };
        let cs = |s: String| CString::new(s).map_err(|_| Error::invalid("string contains NUL"));
        let mut ops = Vec::new();
        let mut idmap_degraded = false;
        for m in tree.mounts() {
            let components = components(&m.inside)?;
            let label = m.inside.display().to_string();
            match m.kind {
                MountKind::Bind {
                    source,
                    is_dir,
                    writable,
                } => {
                    let mut attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
                    if !writable {
                        attrs |= MOUNT_ATTR_RDONLY;
                    } else if !tree.writable_exec() {
                        attrs |= MOUNT_ATTR_NOEXEC;
                    }
                    let host_tree = if writable && root {
                        let tree = idmapped(&source, is_dir, attrs, uid)?;
                        idmap_degraded |= tree.is_none();
                        tree
                    } else {
                        None
                    };
                    let source = CString::new(source.into_os_string().into_encoded_bytes())
                        .map_err(|_| Error::invalid("mount source contains NUL"))?;
                    ops.push(MountOp {
                        grant: grant_of(attrs),
                        kind: OpKind::Bind {
                            source,
                            recursive: is_dir,
                        },
                        components,
                        is_dir,
                        attrs,
                        tree_fd: AtomicI32::new(host_tree.as_ref().map_or(-1, AsRawFd::as_raw_fd)),
                        host_tree,
                        label: format!("{label} (bind)"),
                    });
                }
                MountKind::Tmpfs { size } => {
                    let mut attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
                    if !tree.writable_exec() {
                        attrs |= MOUNT_ATTR_NOEXEC;
                    }
                    ops.push(MountOp {
                        grant: grant_of(attrs),
                        kind: OpKind::Tmpfs {
                            size: size.map(|s| cs(s.to_string())).transpose()?,
                            mode: c"1777",
                        },
                        components,
                        is_dir: true,
                        attrs,
                        tree_fd: AtomicI32::new(-1),
                        host_tree: None,
                        label: format!("{label} (tmpfs)"),
                    });
                }
                MountKind::Hidden { is_dir } => ops.push(hidden_op(components, is_dir, &label)),
            }
        }
        ops.push(MountOp {
            grant: Grant::Nothing,
            kind: OpKind::Proc,
            components: vec![cs("proc".into())?],
            is_dir: true,
            attrs: MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
            tree_fd: AtomicI32::new(-1),
            host_tree: None,
            label: "/proc".into(),
        });
        for node in DEV_NODES {
            ops.push(MountOp {
                grant: Grant::Device,
                kind: OpKind::Bind {
                    source: cs(format!("/dev/{node}"))?,
                    recursive: false,
                },
                components: vec![cs("dev".into())?, cs(node.into())?],
                is_dir: false,
                // Read-only mounts still let the device be written; they stop chmod/chown of
                // the host's device node.
                attrs: MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_RDONLY,
                tree_fd: AtomicI32::new(-1),
                host_tree: None,
                label: format!("/dev/{node}"),
            });
        }
        for (name, target) in DEV_LINKS {
            ops.push(MountOp {
                grant: Grant::Nothing,
                kind: OpKind::Symlink {
                    target: cs(target.into())?,
                },
                components: vec![cs("dev".into())?, cs(name.into())?],
                is_dir: false,
                attrs: 0,
                tree_fd: AtomicI32::new(-1),
                host_tree: None,
                label: format!("/dev/{name}"),
            });
        }
        if tree.dev_pts() {
            ops.push(MountOp {
                grant: Grant::Device,
                kind: OpKind::Devpts,
                components: vec![cs("dev".into())?, cs("pts".into())?],
                is_dir: true,
                attrs: MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC,
                tree_fd: AtomicI32::new(-1),
                host_tree: None,
                label: "/dev/pts (devpts)".into(),
            });
            ops.push(MountOp {
                grant: Grant::Nothing,
                kind: OpKind::Symlink {
                    target: cs("pts/ptmx".into())?,
                },
                components: vec![cs("dev".into())?, cs("ptmx".into())?],
                is_dir: false,
                attrs: 0,
                tree_fd: AtomicI32::new(-1),
                host_tree: None,
                label: "/dev/ptmx".into(),
            });
        }
        if let Some(size) = tree.dev_shm() {
            let mut attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
            if !tree.writable_exec() {
                attrs |= MOUNT_ATTR_NOEXEC;
            }
            ops.push(MountOp {
                grant: grant_of(attrs),
                kind: OpKind::Tmpfs {
                    size: Some(cs(size.to_string())?),
                    mode: c"1777",
                },
                components: vec![cs("dev".into())?, cs("shm".into())?],
                is_dir: true,
                attrs,
                tree_fd: AtomicI32::new(-1),
                host_tree: None,
                label: "/dev/shm (tmpfs)".into(),
            });
        }
        let staging = ["/tmp", "/var/tmp", "/mnt", "/run"]
            .into_iter()
            .find(|d| std::fs::symlink_metadata(d).is_ok_and(|m| m.is_dir()))
            .ok_or_else(|| {
                Error::invalid(
                    "no directory to stage the sandbox root on (/tmp, /var/tmp, /mnt, /run)",
                )
            })?;
        let init_filter = init_filter(false);
        let init_fprog = crate::sys::seccomp::SockFprog {
            len: filter_len(&init_filter)?,
            filter: init_filter.as_ptr().cast(),
        };
        let init_name = cs("sbx-init".into())?;
        Ok(NsPlan {
            clone_flags: ns.clone_flags(),
            monitor_writes_maps: root,
            // A root caller's init stays host root (in-ns 0) while it builds the sandbox (it
            // must own the files it creates in the new root), then switches to 1000 = the
            // unprivileged host id before the sandboxee exists (ns_child/, step 8b).
            uid_map: cs(if root {
                format!("0 0 1\n{SANDBOX_ID} {uid} 1\n")
            } else {
                format!("{SANDBOX_ID} {uid} 1\n")
            })?,
            gid_map: cs(if root {
                format!("0 0 1\n{SANDBOX_ID} {gid} 1\n")
            } else {
                format!("{SANDBOX_ID} {gid} 1\n")
            })?,
            inner_uid_map: cs(format!("{SANDBOX_ID} {SANDBOX_ID} 1\n"))?,
            inner_gid_map: cs(format!("{SANDBOX_ID} {SANDBOX_ID} 1\n"))?,
            hostname: cs(ns.hostname.clone())?,
            proc_optional: ns.allow_no_proc,
            lo_up: ns.net() == crate::namespaces::NetNs::PerSandbox,
            shared_netns: ns.net() == crate::namespaces::NetNs::Shared,
            staging: cs(staging.into())?,
            root_writable: tree.root_writable(),
            idmap_degraded,
            ops,
            init_fprog,
            _init_filter: init_filter,
            init_memfd: super::init_image::memfd()?,
            init_argv: [init_name.as_ptr(), std::ptr::null()],
            _init_name: init_name,
            empty_env: [std::ptr::null()],
            init_status_fd: -1,
            udp_relay: None,
        })
    }

    /// The view as the sandboxee's Landlock domain sees it: every mount's path and grant (and
    /// the root, when it is writable).
    pub fn landlock_view(&self) -> Vec<ViewEntry> {
        let mut view = Vec::with_capacity(self.ops.len() + 1);
        if self.root_writable {
            view.push(ViewEntry {
                path: c"/".to_owned(),
                grant: Grant::Write { exec: false },
                is_dir: true,
            });
        }
        for op in &self.ops {
            let mut path = Vec::new();
            for c in &op.components {
                path.push(b'/');
                path.extend_from_slice(c.as_bytes());
            }
            // Components hold no NUL (they came from CStrings).
            if let Ok(path) = CString::new(path) {
                view.push(ViewEntry {
                    path,
                    grant: op.grant,
                    is_dir: op.is_dir,
                });
            }
        }
        view
    }

    /// The relay sockets of `net`'s `udp:` entries, made by the init after `lo` is up. Only in
    /// the sandbox's own network namespace (the policy's build refuses the others).
    pub fn use_udp_relay(&mut self, net: &crate::policy::net::NetPolicy) -> Result<()> {
        let relay = super::udp_relay::RelayPlan::new(net)?;
        if relay.is_some() && (!self.lo_up || self.shared_netns) {
            return Err(Error::invalid(
                "udp: entries of a network allow-list need the sandbox's own network namespace",
            ));
        }
        self.udp_relay = relay;
        Ok(())
    }

    /// For the user-notify monitor: the init execs the reporting image, keeps `status_fd` as
    /// fd `handoff::INIT_STATUS_FD` and may write to that fd only.
    #[allow(clippy::used_underscore_binding)] // _init_filter: kept to own what init_fprog points to
    pub fn use_unotify_init(&mut self, status_fd: i32) -> Result<()> {
        let f = init_filter(true);
        self.init_fprog = crate::sys::seccomp::SockFprog {
            len: filter_len(&f)?,
            filter: f.as_ptr().cast(),
        };
        self._init_filter = f;
        self.init_memfd = super::init_image::unotify_memfd()?;
        self.init_status_fd = status_fd;
        Ok(())
    }
}

/// A withheld path: a file is covered by the host's `/dev/null` on a `nodev` mount (opening it
/// fails with EACCES), a directory by an empty, read-only tmpfs with mode 000.
fn hidden_op(components: Vec<CString>, is_dir: bool, label: &str) -> MountOp {
    let attrs = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
    let kind = if is_dir {
        OpKind::Tmpfs {
            size: Some(c"4096".to_owned()),
            mode: c"000",
        }
    } else {
        OpKind::Bind {
            source: c"/dev/null".to_owned(),
            recursive: false,
        }
    };
    MountOp {
        grant: Grant::Nothing,
        kind,
        components,
        is_dir,
        attrs,
        tree_fd: AtomicI32::new(-1),
        host_tree: None,
        label: format!("{label} (hidden)"),
    }
}

/// What a bind or tmpfs with these MOUNT_ATTR_* flags grants: the Landlock rules say what the
/// flags say, a second time.
fn grant_of(attrs: u64) -> Grant {
    let exec = attrs & MOUNT_ATTR_NOEXEC == 0;
    match (attrs & MOUNT_ATTR_RDONLY != 0, exec) {
        (true, true) => Grant::Execute,
        (true, false) => Grant::Nothing,
        (false, exec) => Grant::Write { exec },
    }
}

/// A root caller's writable bind: a tree cloned here, idmapped so that the source's owner is the
/// sandboxee's host id (see `idmap.rs`); `None` when the caller lacks the privilege.
fn idmapped(
    source: &Path,
    recursive: bool,
    attrs: u64,
    host_id: u32,
) -> Result<Option<std::os::fd::OwnedFd>> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(source)
        .map_err(|e| Error::invalid(format!("{}: {e}", source.display())))?;
    crate::caps::with_raised_capabilities(|| {
        super::idmap::idmapped_tree(source, recursive, attrs, (meta.uid(), meta.gid()), host_id)
    })
}

fn components(p: &Path) -> Result<Vec<CString>> {
    p.components()
        .filter_map(|c| match c {
            std::path::Component::Normal(s) => Some(s),
            _ => None,
        })
        .map(|s| {
            CString::new(s.as_encoded_bytes()).map_err(|_| Error::invalid("path contains NUL"))
        })
        .collect()
}

/// The `len` of a `sock_fprog` for `f`.
fn filter_len(f: &[SockFilter]) -> Result<u16> {
    u16::try_from(f.len()).map_err(|_| Error::invalid("the init's filter is too long"))
}

/// The init's own filter: after exec it only needs prctl (non-dumpable), wait4 and exit, and
/// with `status_write` (user-notify monitor) write(2) on its status fd.
// A fixed list of a few syscall numbers and jumps over them: every value fits its field.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn init_filter(status_write: bool) -> Vec<SockFilter> {
    const LD_W_ABS: u16 = 0x20;
    const JEQ_K: u16 = 0x15;
    const RET_K: u16 = 0x06;
    const RET_ALLOW: u32 = 0x7fff_0000;
    const RET_KILL_PROCESS: u32 = 0x8000_0000;
    let allowed = [
        libc::SYS_execveat,
        libc::SYS_prctl,
        libc::SYS_wait4,
        libc::SYS_exit_group,
        libc::SYS_exit,
        libc::SYS_rt_sigreturn,
        libc::SYS_restart_syscall,
    ];
    let ins = |code, jt, jf, k| SockFilter { code, jt, jf, k };
    let mut f = vec![
        ins(LD_W_ABS, 0, 0, 4),
        ins(JEQ_K, 1, 0, NATIVE_AUDIT_ARCH),
        ins(RET_K, 0, 0, RET_KILL_PROCESS),
        ins(LD_W_ABS, 0, 0, 0),
    ];
    let n = allowed.len();
    // The write block below sits between the list and the final KILL, ALLOW.
    let extra = if status_write { 6 } else { 0 };
    for (i, nr) in allowed.iter().enumerate() {
        // Jump to the ALLOW at the end on a match.
        f.push(ins(JEQ_K, (n + extra - i) as u8, 0, *nr as u32));
    }
    if status_write {
        // write(fd): fd (args[0], low half at offset 16, high half at 20) must be the status fd.
        f.push(ins(JEQ_K, 0, 5, libc::SYS_write as u32));
        f.push(ins(LD_W_ABS, 0, 0, 16));
        f.push(ins(JEQ_K, 0, 3, super::handoff::INIT_STATUS_FD as u32));
        f.push(ins(LD_W_ABS, 0, 0, 20));
        f.push(ins(JEQ_K, 0, 1, 0));
        f.push(ins(RET_K, 0, 0, RET_ALLOW));
    }
    f.push(ins(RET_K, 0, 0, RET_KILL_PROCESS));
    f.push(ins(RET_K, 0, 0, RET_ALLOW));
    f
}
