//! The fences laid out before the clone: the seccomp program the child installs (the policy's,
//! its user-notify form, or the mandatory rules alone) and the Landlock domain it enters.

use super::FdMove;
use crate::error::{Error, Result};
use crate::policy::{Policy, SockFilter};
use crate::spawn::handoff::Handoff;
use crate::spawn::ns_plan::NsPlan;
use crate::sys::seccomp::SockFprog;

/// The filter the child installs, and the `sock_fprog` pointing into it. Without sandboxing
/// before exec the target starts under the mandatory rules only and receives the user's program
/// over comms (see `client::sandbox_me_here`).
pub(super) fn filter_program(
    policy: &Policy,
    handoff: Option<&Handoff>,
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

/// The Landlock domain (see `landlock/`) for the view, the moved fds and the network
/// allow-list's TCP ports. A sandbox without
/// namespaces is refused without Landlock: nothing else would keep a same-uid sandboxee away from
/// the host's processes (ptrace access to /proc/<pid>/mem, signals).
pub(super) fn landlock_domain(
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
