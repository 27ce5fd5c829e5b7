//! Everything the child needs, computed before the clone.
//!
//! Design §3 item 8: between clone and exec the child may only run async-signal-safe code, so all
//! strings, pointer arrays, the fd shuffle, rlimits and the BPF program are laid out here, in
//! memory the child reads but never allocates or frees.

mod exec;
mod fds;
mod fences;
mod ids;
mod report;
mod unotify;

pub use report::{degraded, in_force, landlock_item, ChildReport, Step};

use super::ns_plan::NsPlan;
use crate::caps::CapDrop;
use crate::error::{Error, Result};
use crate::executor::Executor;
use crate::host_id::HostId;
use crate::limits::RlimitSetting;
use crate::mounts::MountTree;
use crate::namespaces::Namespaces;
use crate::policy::{Policy, SockFilter};
use exec::{c_array, child_cwd, resolve_path};
use fds::{clamp_to_hard_limits, fd_moves, nofile_raise};
use fences::{filter_program, landlock_domain};
use ids::{host_ids, id_switch};
use std::ffi::CString;
use std::os::fd::{OwnedFd, RawFd};
use std::sync::atomic::AtomicUsize;
use unotify::choose_handoff;

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
    /// The view's template mount namespace, when one is ready (root callers, `mntns/`).
    pub mnt_template: Option<std::sync::Arc<super::mntns::Template>>,
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
                super::netns::check_usable()?;
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
        let mnt_template = ns.as_ref().and_then(super::mntns::for_plan);
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
            mnt_template,
        })
    }
}

impl Drop for Plan {
    fn drop(&mut self) {
        if self.switches_ids {
            ids::leave_dumpable_window();
        }
    }
}
