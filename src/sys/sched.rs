//! The calling thread's scheduling class (sched(7)).

#![allow(unsafe_code)]

/// Puts the calling thread in the `SCHED_IDLE` class: it runs only on a CPU that nothing else
/// wants, and waking it never preempts the thread that woke it. For the janitor (`janitor.rs`)
/// while it waits: in the normal class, each refill of the network namespace pool woke it on
/// the supervisor's CPU just as the clone began, and its ~0.4 ms of namespace making then
/// delayed the clone (~0.3 ms on every start on 2 CPUs). Best effort: a refused switch (a
/// container's seccomp profile) leaves the thread as it was.
pub(crate) fn set_idle() {
    let _ = set_class(libc::SCHED_IDLE);
}

/// Puts the calling thread back in the normal class (`SCHED_OTHER`): the janitor for each job,
/// so that none starves on a busy machine. Leaving the idle class needs CAP_SYS_NICE or an
/// RLIMIT_NICE allowance ([`nice_limit_allows_normal`]); the error when it is refused.
pub(crate) fn set_normal() -> std::io::Result<()> {
    set_class(libc::SCHED_OTHER)
}

/// `sched_setscheduler` of the calling thread to `policy`, a class without priorities.
fn set_class(policy: libc::c_int) -> std::io::Result<()> {
    // SAFETY: sched_param is plain data (musl's has more fields than glibc's: hence no literal);
    // all zero is priority 0.
    let param: libc::sched_param = unsafe { std::mem::zeroed() };
    // SAFETY: pid 0 is the calling thread; `param` is a valid sched_param for the normal, batch
    // and idle classes (priority 0).
    let r = unsafe { libc::sched_setscheduler(0, policy, &raw const param) };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Whether RLIMIT_NICE lets this thread return from the idle class to the normal one at nice 0
/// (a soft limit of 20 or more: sched(7), getrlimit(2)).
pub(crate) fn nice_limit_allows_normal() -> bool {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into our variable.
    let r = unsafe { libc::getrlimit(libc::RLIMIT_NICE, &raw mut lim) };
    r == 0 && lim.rlim_cur >= 20
}
