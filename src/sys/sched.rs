//! The calling thread's scheduling class (sched(7)).

#![allow(unsafe_code)]

/// Puts the calling thread in the `SCHED_IDLE` class: it runs only on a CPU that nothing else
/// wants, and waking it never preempts the thread that woke it. For the janitor (`janitor.rs`),
/// whose work must not share a CPU with a sandbox's start: in the normal class, each refill of
/// the network namespace pool (~0.4 ms of CPU) woke it on the supervisor's CPU just as the
/// clone began, and on 2 CPUs that put ~0.3 ms on every start. Best effort: a refused switch
/// (a container's seccomp profile) leaves the thread as it was.
pub(crate) fn set_idle() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: pid 0 is the calling thread; `param` is a valid sched_param for SCHED_IDLE.
    unsafe {
        libc::sched_setscheduler(0, libc::SCHED_IDLE, &raw const param);
    }
}

/// Puts the calling thread back in the normal class (`SCHED_OTHER`), for a thread started by an
/// idle-class one whose work something waits for. Leaving the idle class needs CAP_SYS_NICE or
/// an RLIMIT_NICE allowance; the error when it is refused (the thread then stays idle).
pub(crate) fn set_normal() -> std::io::Result<()> {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: as in `set_idle`.
    let r = unsafe { libc::sched_setscheduler(0, libc::SCHED_OTHER, &raw const param) };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
