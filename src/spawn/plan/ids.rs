//! A root caller's id switch: the unprivileged host id its sandboxee runs as, and the host's
//! dumpable flag, which a child sharing our memory clears when it changes ids.

use crate::caps::{cap_drop_needed, CapDrop};
use crate::host_id::HostId;

/// A root caller's sandbox runs as an unprivileged host id: with namespaces one of its own
/// (the lease, held until the run's result), without them the process-wide one (see
/// `host_id.rs`). Returns the lease and the id (`None` for any other caller: no switch).
pub(super) fn host_ids(namespaced: bool) -> (Option<HostId>, Option<u32>) {
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
pub(super) fn id_switch(root_id: Option<u32>) -> (bool, i32, CapDrop) {
    let Some(id) = root_id else {
        return (false, 1, cap_drop_needed(0));
    };
    let host_dumpable = enter_dumpable_window();
    (true, host_dumpable, cap_drop_needed(id))
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

pub(super) fn leave_dumpable_window() {
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
