//! Everything the child needs, computed before the clone.
//!
//! Design §3 item 8: between clone and exec the child may only run async-signal-safe code, so all
//! strings, pointer arrays, the fd shuffle, rlimits and the BPF program are laid out here, in
//! memory the child reads but never allocates or frees.

use super::ns_plan::NsPlan;
use crate::caps::{cap_drop_needed, CapDrop};
use crate::error::{Error, Result};
use crate::executor::{Executor, Stdio};
use crate::host_id::HostId;
use crate::limits::RlimitSetting;
use crate::mounts::MountTree;
use crate::namespaces::Namespaces;
use crate::policy::{Policy, SockFilter};
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicUsize};

/// The step of the child that failed, reported through [`ChildReport`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Step {
    None = 0,
    Sync = 1,
    Signals = 2,
    Session = 3,
    DeathSignal = 4,
    Fds = 5,
    Cwd = 6,
    Rlimit = 7,
    Capabilities = 8,
    NoNewPrivs = 9,
    Seccomp = 10,
    Exec = 11,
    Namespaces = 12,
    UserNs = 13,
    Mounts = 14,
    Pivot = 15,
    Hostname = 16,
    Network = 17,
    NestedUserNs = 18,
    Landlock = 19,
    /// clone(2) of the first child (with the namespace flags when namespaces are on); recorded
    /// by the host, not by a child.
    Clone = 20,
}

impl Step {
    pub fn from_u32(v: u32) -> Step {
        use Step::{
            Capabilities, Clone, Cwd, DeathSignal, Exec, Fds, Hostname, Landlock, Mounts,
            Namespaces, NestedUserNs, Network, NoNewPrivs, None, Pivot, Rlimit, Seccomp, Session,
            Signals, Sync, UserNs,
        };
        [
            None,
            Sync,
            Signals,
            Session,
            DeathSignal,
            Fds,
            Cwd,
            Rlimit,
            Capabilities,
            NoNewPrivs,
            Seccomp,
            Exec,
            Namespaces,
            UserNs,
            Mounts,
            Pivot,
            Hostname,
            Network,
            NestedUserNs,
            Landlock,
            Clone,
        ]
        .into_iter()
        .find(|s| *s as u32 == v)
        .unwrap_or(None)
    }

    pub fn describe(self) -> &'static str {
        match self {
            Step::None => "unknown step",
            Step::Sync => "waiting for the monitor",
            Step::Signals => "resetting signal dispositions",
            Step::Session => "setsid",
            Step::DeathSignal => "prctl(PR_SET_PDEATHSIG)",
            Step::Fds => "mapping file descriptors",
            Step::Cwd => "chdir to the working directory",
            Step::Rlimit => "setting resource limits",
            Step::Capabilities => "dropping capabilities",
            Step::NoNewPrivs => "prctl(PR_SET_NO_NEW_PRIVS)",
            Step::Seccomp => "installing the seccomp filter",
            Step::Exec => "execve",
            Step::Namespaces => "starting the sandbox's init",
            Step::UserNs => "writing the user namespace's id maps",
            Step::Mounts => "building the sandbox's filesystem",
            Step::Pivot => "switching to the new root",
            Step::Hostname => "sethostname",
            Step::Network => "bringing up the loopback interface",
            Step::NestedUserNs => "entering the nested user namespace",
            Step::Landlock => "entering the Landlock domain",
            Step::Clone => "clone",
        }
    }

    /// Stable machine-readable name of the step, as reported in [`crate::RunResult::failed_step`].
    /// Mount failures are refined by the monitor (`mount_proc`, `mount_bind`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Step::None => "unknown",
            Step::Sync => "sync",
            Step::Signals => "signals",
            Step::Session => "setsid",
            Step::DeathSignal => "death_signal",
            Step::Fds => "fds",
            Step::Cwd => "cwd",
            Step::Rlimit => "rlimits",
            Step::Capabilities => "capabilities",
            Step::NoNewPrivs => "no_new_privs",
            Step::Seccomp => "seccomp",
            Step::Exec => "exec",
            Step::Namespaces => "init",
            Step::UserNs => "id_maps",
            Step::Mounts => "mount_root",
            Step::Pivot => "pivot_root",
            Step::Hostname => "hostname",
            Step::Network => "loopback",
            Step::NestedUserNs => "nested_userns",
            Step::Landlock => "landlock",
            Step::Clone => "clone",
        }
    }
}

/// Bits of [`ChildReport::degraded`]: cosmetic parts of the sandbox the init had to leave out.
pub mod degraded {
    /// sethostname was refused (EPERM, a container's seccomp profile): the inherited name stays.
    pub const HOSTNAME: u32 = 1;
    /// The caller allowed it and the procfs mount was refused: no private /proc.
    pub const PROC: u32 = 2;
    /// A root caller without CAP_SYS_ADMIN over the filesystems (a container's root): writable
    /// binds are plain binds, writable where the host's permissions let the sandboxee's own
    /// host id write, instead of idmapped onto the directory's owner (set by the host).
    pub const IDMAP: u32 = 4;
}

/// Written by the child (shared memory, CLONE_VM) when a step fails; read after it exits.
#[derive(Debug, Default)]
pub struct ChildReport {
    pub step: AtomicU32,
    pub errno: AtomicI32,
    /// Index into the plan's lists for per-item steps (which rlimit, which fd).
    pub item: AtomicU32,
    /// [`degraded`] bits set by the init for parts it left out.
    pub degraded: AtomicU32,
    /// [`in_force`] bits set by the sandboxee for optional fences the kernel accepted.
    pub in_force: AtomicU32,
}

impl ChildReport {
    /// A fresh report whose [`degraded`] bits start as `bits` (what the host already knows).
    fn with_degraded(bits: u32) -> ChildReport {
        ChildReport {
            degraded: AtomicU32::new(bits),
            ..ChildReport::default()
        }
    }
}

/// Optional fences the sandboxee reports as in force (`ChildReport::in_force`).
pub mod in_force {
    /// Speculative store bypass and indirect branch speculation are force-disabled
    /// (`PR_SET_SPECULATION_CTRL`; only where the kernel lets a process choose).
    pub const SPECULATION: u32 = 1;
}

/// `ChildReport::item` values of the Landlock step that are not a rule's index.
pub mod landlock_item {
    /// landlock_create_ruleset failed.
    pub const CREATE: usize = 1 << 30;
    /// landlock_restrict_self failed.
    pub const RESTRICT: usize = (1 << 30) + 1;
}

/// One `dup` move: `src` (a host fd, owned by the plan or inherited) becomes `dst` in the child.
#[derive(Debug, Clone, Copy)]
pub struct FdMove {
    pub src: RawFd,
    pub dst: RawFd,
    /// The destination is close-on-exec (the user-notify hand-off socket).
    pub cloexec: bool,
}

pub use crate::sys::seccomp::SockFprog;

pub struct Plan {
    pub path: CString,
    // Keep the CStrings alive: argv_ptrs/envp_ptrs point into them.
    _argv: Vec<CString>,
    _envp: Vec<CString>,
    pub argv_ptrs: Vec<*const libc::c_char>,
    pub envp_ptrs: Vec<*const libc::c_char>,
    pub cwd: CString,
    pub moves: Vec<FdMove>,
    /// First fd number free for temporaries during the shuffle.
    pub temp_base: RawFd,
    /// `[soft, hard]` RLIMIT_NOFILE the child sets before the fd shuffle, when the highest fd
    /// it needs is at or above the host's soft limit (decided here, not between clone and exec).
    pub nofile_raise: Option<[u64; 2]>,
    /// Sorted destination fds: everything else is closed.
    pub keep: Vec<RawFd>,
    pub rlimits: Vec<RlimitSetting>,
    pub caps: CapDrop,
    /// Owns the instructions `fprog` points to.
    _program: Vec<SockFilter>,
    pub fprog: SockFprog,
    pub report: ChildReport,
    /// Host fds that must stay open until the child has exec'd (sources of the moves).
    pub _owned: Vec<OwnedFd>,
    /// Processes cap enforced by the monitor.
    pub max_tasks: Option<u64>,
    /// Force-disable speculative store bypass and indirect branch speculation (unless the
    /// policy allows speculation).
    pub disable_speculation: bool,
    /// The Landlock domain the child enters (`None`: Landlock unavailable).
    pub landlock: Option<crate::landlock::Domain>,
    /// The sandbox's cgroup, made with the plan (the supervisor moves it to the monitor).
    pub cgroup: Option<crate::cgroups::SandboxCgroup>,
    /// Namespaces and the new root; `None` for a sandbox without namespaces.
    pub ns: Option<NsPlan>,
    /// The host end of the comms channel, taken by the Sandbox.
    pub comms_host: Option<OwnedFd>,
    /// Setup latency stamps (see `latency.rs`).
    pub stamps: super::latency::Stamps,
    /// Set to 1 (and futex-woken) by a root caller's init once it has written the sandboxee's
    /// nested id maps.
    pub nested_maps_ready: std::sync::atomic::AtomicU32,
    /// The host's PR_GET_DUMPABLE value: a uid change in a child sharing our memory clears the
    /// flag for the whole address space, and the child puts this back.
    pub host_dumpable: i32,
    /// Whether this plan's children change ids (a host-root caller): see `enter_dumpable_window`.
    switches_ids: bool,
    /// Top of the sandboxee's stack when the namespaced init clones it (set by `spawn`).
    pub sandboxee_stack_top: AtomicUsize,
    /// The user-notify monitor's channels (`None` under ptrace).
    pub handoff: Option<Box<super::handoff::Handoff>>,
    /// The host uid (and gid) the sandboxee runs as.
    pub host_uid: u32,
    /// A root caller's namespaced sandbox: the lease on its host id (the monitor keeps it until
    /// the run's result).
    pub host_id: Option<HostId>,
}

// SAFETY: the raw pointers in Plan point into the Plan's own heap buffers (argv/envp CStrings and
// `program`), which move with it and are never shared mutably.
#[allow(unsafe_code)]
unsafe impl Send for Plan {}

impl Plan {
    /// Builds the plan for `exec` under `policy`. Validates everything first, so nothing is
    /// half-applied when input is bad.
    pub fn new(
        exec: Executor,
        policy: &Policy,
        namespaces: &Namespaces,
        tree: &MountTree,
        monitor: crate::policy::Monitor,
    ) -> Result<Plan> {
        let stamps = super::latency::Stamps::new();
        exec.validate()?;
        let (host_id, root_id) = host_ids(namespaces.enabled);
        let mut ns = if namespaces.enabled {
            if namespaces.net() == crate::namespaces::NetNs::Shared {
                super::shared_net::check_usable()?;
            }
            Some(NsPlan::new(namespaces, tree, root_id)?)
        } else {
            None
        };
        let Executor {
            path,
            argv,
            mut envp,
            cwd,
            stdio,
            fds,
            limits,
            before_exec,
            comms,
            fd_names,
        } = exec;
        if !fd_names.is_empty() {
            envp.push(format!(
                "{}={}",
                crate::executor::FD_MAPPINGS_ENV,
                crate::client::format_mappings(&fd_names)
            ));
        }

        let path = resolve_path(&path, &envp)?;
        let path = CString::new(path.into_os_string().into_encoded_bytes())
            .map_err(|_| Error::invalid("executor path contains a NUL byte"))?;
        let (argv, argv_ptrs) = c_array(&argv)?;
        let (envp, envp_ptrs) = c_array(&envp)?;

        let cwd = child_cwd(cwd, ns.is_some())?;

        let (mut moves, owned, comms_host) = fd_moves(stdio, fds, comms)?;
        let mut rlimits = clamp_to_hard_limits(limits.rlimit_settings()?);
        let max_tasks = limits.processes.unwrap_or_else(crate::limits::default_max_tasks);
        let handoff = choose_handoff(
            monitor,
            before_exec,
            ns.as_mut(),
            &mut moves,
            &mut rlimits,
            max_tasks,
        )?;
        if let (Some(ns), Some(net), Some(_)) = (ns.as_mut(), policy.network(), handoff.as_ref()) {
            ns.use_udp_relay(net)?;
        }
        let max_fd = moves.iter().map(|m| m.src.max(m.dst)).max().unwrap_or(2);
        let moves_len = RawFd::try_from(moves.len())
            .map_err(|_| Error::invalid("too many descriptors to hand over"))?;
        let mut keep: Vec<RawFd> = moves.iter().map(|m| m.dst).collect();
        keep.sort_unstable();

        let (program, fprog) = filter_program(policy, handoff.as_deref(), before_exec)?;

        let landlock = landlock_domain(ns.as_ref(), &moves, policy)?;
        // The sandbox's cgroup (removed again if anything below fails: it is dropped).
        let cgroup = crate::cgroups::SandboxCgroup::create(&limits.cgroup)?;
        // Last, after every fallible step: the window is left when the plan is dropped.
        let (switches_ids, host_dumpable, caps) = id_switch(root_id);
        stamps.mark(super::latency::Mark::Planned);
        Ok(Plan {
            path,
            _argv: argv,
            _envp: envp,
            argv_ptrs,
            envp_ptrs,
            cwd,
            moves,
            temp_base: max_fd + 1,
            nofile_raise: nofile_raise(max_fd + 1 + moves_len),
            keep,
            rlimits,
            caps,
            _program: program,
            fprog,
            report: ChildReport::with_degraded(if ns.as_ref().is_some_and(|n| n.idmap_degraded) {
                degraded::IDMAP
            } else {
                0
            }),
            _owned: owned,
            max_tasks: Some(max_tasks),
            disable_speculation: !policy.allows_speculation(),
            ns,
            landlock,
            cgroup,
            comms_host,
            stamps,
            sandboxee_stack_top: AtomicUsize::new(0),
            handoff,
            nested_maps_ready: std::sync::atomic::AtomicU32::new(0),
            host_dumpable,
            switches_ids,
            host_uid: root_id.unwrap_or_else(|| nix::unistd::geteuid().as_raw()),
            host_id,
        })
    }
}

/// A root caller's sandbox runs as an unprivileged host id: with namespaces one of its own
/// (the lease, held until the run's result), without them the process-wide one (see
/// `host_id.rs`). Returns the lease and the id (`None` for any other caller: no switch).
fn host_ids(namespaced: bool) -> (Option<HostId>, Option<u32>) {
    if !crate::caps::caller_is_host_root() {
        return (None, None);
    }
    if namespaced {
        let lease = HostId::for_sandbox();
        let id = lease.get();
        (Some(lease), Some(id))
    } else {
        (None, Some(crate::host_id::root_caller_host_id()))
    }
}

/// Whether the children switch ids (a host-root caller), the host's dumpable flag to restore
/// (entering the dumpable window when they do: left when the plan is dropped), and the
/// capabilities to drop. Only a root caller (`root_id`) switches, to that id.
fn id_switch(root_id: Option<u32>) -> (bool, i32, CapDrop) {
    let Some(id) = root_id else {
        return (false, 1, cap_drop_needed(0));
    };
    let host_dumpable = enter_dumpable_window();
    (true, host_dumpable, cap_drop_needed(id))
}

/// `strings` as C strings and the NULL-terminated pointer array execve takes (pointing into
/// them: the strings must live as long as the array is used).
fn c_array(strings: &[String]) -> Result<(Vec<CString>, Vec<*const libc::c_char>)> {
    let owned = Executor::c_strings(strings)?;
    let mut ptrs: Vec<*const libc::c_char> = owned.iter().map(|c| c.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    Ok((owned, ptrs))
}

/// The sandboxee's working directory: the executor's, else `/` inside a new root, else the
/// host's own.
fn child_cwd(cwd: Option<std::path::PathBuf>, namespaced: bool) -> Result<CString> {
    let cwd = match cwd {
        Some(c) => c,
        // Inside a new root the host's cwd means nothing: start at its root.
        None if namespaced => std::path::PathBuf::from("/"),
        None => std::env::current_dir().map_err(|e| {
            Error::invalid(format!("no cwd given and the host's cwd is unreadable: {e}"))
        })?,
    };
    CString::new(cwd.into_os_string().into_encoded_bytes())
        .map_err(|_| Error::invalid("cwd contains a NUL byte"))
}

/// The fd moves the child makes (stdio, mapped fds, the comms socket), the host fds that must
/// stay open until it has exec'd, and the host end of the comms channel.
fn fd_moves(
    stdio: [Stdio; 3],
    fds: Vec<crate::executor::FdMapping>,
    comms: bool,
) -> Result<(Vec<FdMove>, Vec<OwnedFd>, Option<OwnedFd>)> {
    let mut owned = Vec::new();
    let mut moves = Vec::new();
    for (dst, s) in (0..).zip(stdio) {
        match s {
            Stdio::Inherit => moves.push(FdMove { src: dst, dst, cloexec: false }),
            Stdio::Null => {
                let fd = nix::fcntl::open(
                    "/dev/null",
                    nix::fcntl::OFlag::O_RDWR | nix::fcntl::OFlag::O_CLOEXEC,
                    nix::sys::stat::Mode::empty(),
                )
                .map_err(|e| Error::os("open(/dev/null)", e as i32))?;
                // SAFETY-free: nix returns a fresh fd we now own.
                let fd = owned_from_raw(fd);
                moves.push(FdMove {
                    src: fd.as_raw_fd(),
                    dst,
                    cloexec: false,
                });
                owned.push(fd);
            }
            Stdio::Fd(fd) => {
                moves.push(FdMove {
                    src: fd.as_raw_fd(),
                    dst,
                    cloexec: false,
                });
                owned.push(fd);
            }
        }
    }
    for m in fds {
        moves.push(FdMove {
            src: m.host.as_raw_fd(),
            dst: m.child,
            cloexec: false,
        });
        owned.push(m.host);
    }
    let comms_host = if comms {
        let (host, child) = comms_socketpair()?;
        moves.push(FdMove {
            src: child.as_raw_fd(),
            dst: crate::comms::DEFAULT_CLIENT_FD,
            cloexec: false,
        });
        owned.push(child);
        Some(host)
    } else {
        None
    };
    Ok((moves, owned, comms_host))
}

/// The user-notify hand-off when that monitor is asked for or `Auto` picks it (namespaces, a
/// sandboxee that does not sandbox itself, a spare fd number; the caller has checked the
/// kernel); `None` for ptrace. Turns the init into its reporting variant.
fn choose_handoff(
    monitor: crate::policy::Monitor,
    before_exec: bool,
    ns: Option<&mut NsPlan>,
    moves: &mut Vec<FdMove>,
    rlimits: &mut Vec<RlimitSetting>,
    max_tasks: u64,
) -> Result<Option<Box<super::handoff::Handoff>>> {
    let strict = monitor == crate::policy::Monitor::Unotify;
    let wanted =
        strict || (monitor == crate::policy::Monitor::Auto && ns.is_some() && before_exec);
    match (wanted, ns) {
        (false, _) => Ok(None),
        (true, None) => Err(Error::invalid(
            "monitor unotify needs namespaces (it has no other way to see the sandboxee end)",
        )),
        (true, Some(ns)) => match unotify_handoff(moves, rlimits, max_tasks) {
            Ok(h) => {
                ns.use_unotify_init(h.init_write_fd())?;
                Ok(Some(h))
            }
            Err(e) if strict => Err(e),
            Err(_) => Ok(None),
        },
    }
}

/// The filter the child installs, and the `sock_fprog` pointing into it. Without sandboxing
/// before exec the target starts under the mandatory rules only and receives the user's program
/// over comms (see `client::sandbox_me_here`).
fn filter_program(
    policy: &Policy,
    handoff: Option<&super::handoff::Handoff>,
    before_exec: bool,
) -> Result<(Vec<SockFilter>, SockFprog)> {
    let program = match (handoff, before_exec) {
        (Some(h), true) => {
            let fd = u32::try_from(h.reserved_fd)
                .map_err(|_| Error::invalid("the monitor's hand-off fd is negative"))?;
            crate::policy::unotify_program(policy.program(), fd)
        }
        (Some(_), false) => {
            return Err(Error::invalid(
                "monitor unotify cannot watch a sandboxee that sandboxes itself \
                 (sandbox_before_exec(false)): its own filter's trace verdicts need ptrace; \
                 use monitor ptrace or auto",
            ))
        }
        (None, true) => policy.program().to_vec(),
        (None, false) => mandatory_only()?.program().to_vec(),
    };
    let len = match u16::try_from(program.len()) {
        Ok(len) if len > 0 => len,
        _ => {
            return Err(Error::InvalidPolicy(format!(
                "compiled program has {} instructions",
                program.len()
            )))
        }
    };
    let fprog = SockFprog {
        len,
        filter: program.as_ptr().cast(),
    };
    Ok((program, fprog))
}

/// The Landlock domain (see `landlock.rs`) for the view, the moved fds and the network
/// allow-list's TCP ports. A sandbox without
/// namespaces is refused without Landlock: nothing else would keep a same-uid sandboxee away from
/// the host's processes (ptrace access to /proc/<pid>/mem, signals).
fn landlock_domain(
    ns: Option<&NsPlan>,
    moves: &[FdMove],
    policy: &Policy,
) -> Result<Option<crate::landlock::Domain>> {
    let view = ns.map(NsPlan::landlock_view);
    let fd_kinds: Vec<_> = moves
        .iter()
        .filter(|m| !m.cloexec)
        .map(|m| (m.dst, crate::landlock::FdKind::of(m.src)))
        .collect();
    let mut landlock = crate::landlock::Domain::new(view.as_deref(), &fd_kinds);
    if let (Some(domain), Some(ports)) = (landlock.as_mut(), tcp_ports(policy)) {
        domain.fence_tcp_connect(&ports);
    }
    if ns.is_none() && landlock.is_none() {
        return Err(Error::Unsupported {
            feature: "Landlock",
            detail: "a sandbox without namespaces relies on Landlock (Linux 5.13+) to keep the sandboxee away from the host's processes, and this kernel has none".into(),
            fix: "use namespaces (the default), or enable Landlock (CONFIG_SECURITY_LANDLOCK=y and landlock in the lsm= boot parameter)",
        });
    }
    Ok(landlock)
}

/// The TCP ports of the policy's network allow-list, when it has one and every TCP entry names
/// a port (an entry for any port cannot be a Landlock port rule: then no network fence).
fn tcp_ports(policy: &Policy) -> Option<Vec<u16>> {
    use crate::policy::net::Endpoint;
    policy
        .network()?
        .allowed
        .iter()
        .filter_map(|e| match e {
            Endpoint::Tcp { port, .. } => Some((*port != 0).then_some(*port)),
            Endpoint::UnixPath(_) | Endpoint::Abstract(_) | Endpoint::Udp(_) => None,
        })
        .collect()
}

/// The user-notify hand-off (see `handoff.rs`): its socket end becomes a close-on-exec move to a
/// reserved fd number the sandboxee can never reach, at or above its RLIMIT_NOFILE (lowered when
/// the host's hard limit leaves no room above it); the task cap becomes the sandbox's own
/// RLIMIT_NPROC, counted per user namespace, since no monitor sees the sandboxee's forks.
fn unotify_handoff(
    moves: &mut Vec<FdMove>,
    rlimits: &mut Vec<RlimitSetting>,
    max_tasks: u64,
) -> Result<Box<super::handoff::Handoff>> {
    let mut hard = libc::rlimit64 { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit64 writes into the struct we pass.
    #[allow(unsafe_code)]
    if unsafe { libc::getrlimit64(libc::RLIMIT_NOFILE, &mut hard) } != 0 {
        return Err(Error::last_os("getrlimit(RLIMIT_NOFILE)"));
    }
    // Room for the reserved number and the temporaries of the fd shuffle above it.
    let room = hard.rlim_max.saturating_sub(moves.len() as u64 + 3).min(i32::MAX as u64);
    let nofile = rlimits.iter_mut().find(|r| r.resource == libc::RLIMIT_NOFILE);
    let Some(nofile) = nofile else {
        return Err(Error::invalid("monitor unotify needs an open_files limit"));
    };
    let reserved = nofile.value.min(room);
    if reserved < 3
        || moves
            .iter()
            .any(|m| !u64::try_from(m.src).is_ok_and(|s| s < room))
    {
        return Err(Error::invalid(format!(
            "monitor unotify needs a free fd number above the sandboxee's open_files limit and \
             below the host's hard RLIMIT_NOFILE ({}); raise the host's limit or use monitor ptrace",
            hard.rlim_max
        )));
    }
    if let Some(m) = moves
        .iter()
        .find(|m| !u64::try_from(m.dst).is_ok_and(|d| d < reserved))
    {
        return Err(Error::invalid(format!(
            "monitor unotify: fd {} of the sandboxee is at or above its open_files limit ({reserved}), \
             where the monitor's hand-off lives; map it lower or use monitor ptrace",
            m.dst
        )));
    }
    // At most `room`, so at most i32::MAX.
    let reserved_fd = RawFd::try_from(reserved)
        .map_err(|_| Error::invalid("monitor unotify: no fd number free for the hand-off"))?;
    let h = super::handoff::Handoff::new(reserved_fd)?;
    nofile.value = reserved;
    moves.push(FdMove {
        src: h.child_end_fd(),
        dst: reserved_fd,
        cloexec: true,
    });
    if !rlimits.iter().any(|r| r.resource == libc::RLIMIT_NPROC) {
        rlimits.push(RlimitSetting { resource: libc::RLIMIT_NPROC, value: max_tasks });
    }
    Ok(h)
}

/// The hard limit as the soft one, when fd `highest` would not fit under the host's soft
/// RLIMIT_NOFILE (the child inherits the host's limits).
fn nofile_raise(highest: RawFd) -> Option<[u64; 2]> {
    let mut cur = libc::rlimit64 { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit64 writes into the struct we pass.
    #[allow(unsafe_code)]
    let ok = unsafe { libc::getrlimit64(libc::RLIMIT_NOFILE, &mut cur) } == 0;
    let need = u64::try_from(highest).unwrap_or(u64::MAX);
    (ok && need >= cur.rlim_cur && cur.rlim_cur < cur.rlim_max).then_some([cur.rlim_max, cur.rlim_max])
}

#[allow(unsafe_code)]
fn owned_from_raw(fd: RawFd) -> OwnedFd {
    use std::os::fd::FromRawFd;
    // SAFETY: `fd` was just returned by open(2) and is owned by nobody else.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// The sandboxee runs `path` as given when it contains a slash (relative ones against the host's
/// cwd, now); a bare name is looked up, like `execvp` inside the sandbox would, in the PATH of the
/// sandboxee's environment (default `/usr/local/bin:/usr/bin:/bin`), not the host's.
fn resolve_path(path: &std::path::Path, envp: &[String]) -> Result<std::path::PathBuf> {
    let bytes = path.as_os_str().as_encoded_bytes();
    if bytes.contains(&b'/') {
        if path.is_absolute() {
            return Ok(path.to_path_buf());
        }
        let cwd = std::env::current_dir()
            .map_err(|e| Error::invalid(format!("cannot resolve {}: {e}", path.display())))?;
        return Ok(cwd.join(path));
    }
    let search: std::ffi::OsString = envp
        .iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/bin:/usr/bin:/bin")
        .into();
    for dir in std::env::split_paths(&search) {
        let candidate = dir.join(path);
        if let Ok(meta) = std::fs::metadata(&candidate) {
            use std::os::unix::fs::PermissionsExt;
            if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
                return Ok(candidate);
            }
        }
    }
    // Leave it as given: exec will fail with ENOENT and the result will name the path.
    Ok(path.to_path_buf())
}

/// An unprivileged host cannot raise a hard limit; asking for more than it has would fail the
/// whole run, so requests are clamped to the current hard limit (the stricter value wins).
fn clamp_to_hard_limits(settings: Vec<RlimitSetting>) -> Vec<RlimitSetting> {
    settings
        .into_iter()
        .map(|mut s| {
            let mut cur = libc::rlimit64 {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: getrlimit64 writes into the struct we pass.
            #[allow(unsafe_code)]
            let ok = unsafe { libc::getrlimit64(s.resource as _, &mut cur) } == 0;
            if ok && s.value > cur.rlim_max {
                s.value = cur.rlim_max;
            }
            s
        })
        .collect()
}

/// The mandatory rules alone (everything else allowed): the filter a target started without
/// sandboxing before exec runs under until it applies its policy.
fn mandatory_only() -> Result<&'static Policy> {
    static POLICY: std::sync::OnceLock<Policy> = std::sync::OnceLock::new();
    if let Some(p) = POLICY.get() {
        return Ok(p);
    }
    let mut b = crate::policy::PolicyBuilder::new();
    b.default_action(crate::policy::DefaultAction::AllowAll)
        .disable_namespaces();
    let built = b.build()?;
    Ok(POLICY.get_or_init(|| built))
}

/// A connected unix stream pair with SO_PASSCRED on both ends (credentials messages need it).
fn comms_socketpair() -> Result<(OwnedFd, OwnedFd)> {
    use nix::sys::socket::{setsockopt, socketpair, sockopt, AddressFamily, SockFlag, SockType};
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| Error::os("socketpair(comms)", e as i32))?;
    for s in [&a, &b] {
        setsockopt(s, sockopt::PassCred, &true)
            .map_err(|e| Error::os("setsockopt(SO_PASSCRED)", e as i32))?;
    }
    Ok((a, b))
}

/// The host's dumpable flag and how many plans whose children change ids while sharing our
/// memory are alive. Such a uid change clears the flag for the whole address space until the
/// child puts it back, so the flag is read only while no such child exists, and the last plan
/// to go restores it (also when a child died inside its window).
static DUMPABLE: std::sync::Mutex<(usize, i32)> = std::sync::Mutex::new((0, 1));

fn enter_dumpable_window() -> i32 {
    let mut g = DUMPABLE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if g.0 == 0 {
        // SAFETY: PR_GET_DUMPABLE takes no pointers.
        #[allow(unsafe_code)]
        let v = unsafe { libc::prctl(libc::PR_GET_DUMPABLE) };
        g.1 = if v < 0 { 1 } else { v };
    }
    g.0 += 1;
    g.1
}

fn leave_dumpable_window() {
    let mut g = DUMPABLE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    g.0 = g.0.saturating_sub(1);
    if g.0 == 0 {
        // SAFETY: PR_SET_DUMPABLE with 0 or 1.
        #[allow(unsafe_code)]
        unsafe {
            libc::prctl(
                libc::PR_SET_DUMPABLE,
                libc::c_ulong::from(g.1.unsigned_abs()),
            )
        };
    }
}

impl Drop for Plan {
    fn drop(&mut self) {
        if self.switches_ids {
            leave_dumpable_window();
        }
    }
}
