//! The child's id and capability steps: a caller's root ids and capabilities dropped without
//! namespaces (step 8), and the wait for a root caller's nested id maps (step 8a). See the module
//! docs of [`super`] for what code here may do; the raw-ABI casts are allowed for all of `child/`
//! in `mod.rs`.

#![allow(unsafe_code)]

use super::{check, fail_step};
use crate::caps::{
    CapData, CapHeader, CAP_SETPCAP, SECBIT_KEEP_CAPS_LOCKED, SECBIT_NOROOT, SECBIT_NOROOT_LOCKED,
    SECBIT_NO_CAP_AMBIENT_RAISE, SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED, SECBIT_NO_SETUID_FIXUP,
    SECBIT_NO_SETUID_FIXUP_LOCKED,
};
use crate::spawn::plan::{Plan, Step};
use crate::sys::raw::syscall;
use std::sync::atomic::Ordering;

/// Root ids or capabilities of the caller, taken away before the exec: securebits that keep uid
/// 0 from regaining capabilities (when we may set them), empty bounding and ambient sets, the
/// unprivileged host id for a root caller (see `namespaces::root_caller_host_id`), then empty
/// capability sets. Decided from this thread's own credentials (capabilities are per thread).
#[allow(clippy::too_many_lines)] // the id and capability steps, in the order the kernel needs
pub(super) unsafe fn drop_host_privileges(plan: &Plan) {
    // SAFETY: the caller vouches for the plan; the structs passed to capget/capset are ours.
    unsafe {
        let hdr = CapHeader::SELF;
        let mut data = [CapData::EMPTY; 2];
        check(
            plan,
            Step::Capabilities,
            syscall(
                libc::SYS_capget,
                &[std::ptr::addr_of!(hdr) as u64, data.as_mut_ptr() as u64],
            ),
            0,
        );
        let (mut r, mut e, mut su) = (0u32, 0u32, 0u32);
        syscall(
            libc::SYS_getresuid,
            &[
                std::ptr::addr_of_mut!(r) as u64,
                std::ptr::addr_of_mut!(e) as u64,
                std::ptr::addr_of_mut!(su) as u64,
            ],
        );
        let root = r == 0 || e == 0 || su == 0;
        let permitted = u64::from(data[0].permitted) | u64::from(data[1].permitted) << 32;
        let any_caps = data
            .iter()
            .any(|d| d.permitted | d.effective | d.inheritable != 0);
        if !root && !any_caps {
            return;
        }
        // Use what we hold for the steps below.
        for d in &mut data {
            d.effective = d.permitted;
        }
        check(
            plan,
            Step::Capabilities,
            syscall(
                libc::SYS_capset,
                &[std::ptr::addr_of!(hdr) as u64, data.as_ptr() as u64],
            ),
            1,
        );
        if permitted & (1u64 << CAP_SETPCAP) != 0 {
            let bits = SECBIT_NOROOT
                | SECBIT_NOROOT_LOCKED
                | SECBIT_NO_SETUID_FIXUP
                | SECBIT_NO_SETUID_FIXUP_LOCKED
                | SECBIT_KEEP_CAPS_LOCKED
                | SECBIT_NO_CAP_AMBIENT_RAISE
                | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
            check(
                plan,
                Step::Capabilities,
                syscall(libc::SYS_prctl, &[libc::PR_SET_SECUREBITS as u64, bits]),
                2,
            );
            let mut cap = 0u64;
            while cap <= u64::from(plan.caps.last_cap) {
                check(
                    plan,
                    Step::Capabilities,
                    syscall(libc::SYS_prctl, &[libc::PR_CAPBSET_DROP as u64, cap]),
                    cap as usize,
                );
                cap += 1;
            }
        }
        let clear_ambient = [
            libc::PR_CAP_AMBIENT as u64,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as u64,
            0,
            0,
            0,
        ];
        check(
            plan,
            Step::Capabilities,
            syscall(libc::SYS_prctl, &clear_ambient),
            3,
        );
        if root && plan.caps.switch_ids {
            // A uid change marks our memory (shared with the host until exec) non-dumpable;
            // put the host's setting back afterwards.
            let id = u64::from(plan.caps.host_id);
            check(
                plan,
                Step::Capabilities,
                syscall(libc::SYS_setgroups, &[0, 0]),
                4,
            );
            check(
                plan,
                Step::Capabilities,
                syscall(libc::SYS_setresgid, &[id, id, id]),
                5,
            );
            check(
                plan,
                Step::Capabilities,
                syscall(libc::SYS_setresuid, &[id, id, id]),
                6,
            );
            syscall(
                libc::SYS_prctl,
                &[libc::PR_SET_DUMPABLE as u64, plan.host_dumpable as u64],
            );
            // A uid change clears the parent-death signal: set it again.
            let pdeath = [libc::PR_SET_PDEATHSIG as u64, libc::SIGKILL as u64];
            check(
                plan,
                Step::DeathSignal,
                syscall(libc::SYS_prctl, &pdeath),
                1,
            );
        }
        let none = [CapData::EMPTY; 2];
        check(
            plan,
            Step::Capabilities,
            syscall(
                libc::SYS_capset,
                &[std::ptr::addr_of!(hdr) as u64, none.as_ptr() as u64],
            ),
            7,
        );
    }
}

/// Waits (futex, at most 10 s) until a root caller's init has written our nested id maps.
pub(super) unsafe fn wait_for_nested_maps(plan: &Plan) {
    // SAFETY: the futex word lives in the plan, shared with the init (CLONE_VM).
    unsafe {
        let word = plan.nested_maps_ready.as_ptr() as u64;
        let timeout = [10i64, 0i64];
        let mut rounds = 0;
        while plan.nested_maps_ready.load(Ordering::Acquire) == 0 {
            let r = syscall(
                libc::SYS_futex,
                &[word, libc::FUTEX_WAIT as u64, 0, timeout.as_ptr() as u64],
            );
            rounds += 1;
            if r == -i64::from(libc::ETIMEDOUT) || rounds > 1000 {
                fail_step(plan, Step::NestedUserNs, -i64::from(libc::ETIMEDOUT), 6);
            }
        }
    }
}
