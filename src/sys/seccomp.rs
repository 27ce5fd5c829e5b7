//! seccomp(2) and seccomp_unotify(2): filter flags, the user-notification structs and ioctls.

/// `SECCOMP_SET_MODE_FILTER`.
pub(crate) const SET_MODE_FILTER: u64 = 1;
/// `SECCOMP_GET_ACTION_AVAIL` (4.14).
pub(crate) const GET_ACTION_AVAIL: u64 = 2;
/// `SECCOMP_GET_NOTIF_SIZES`.
pub(crate) const GET_NOTIF_SIZES: u64 = 3;

/// `SECCOMP_FILTER_FLAG_TSYNC`: install on every thread of the process, or on none.
pub(crate) const FILTER_FLAG_TSYNC: u64 = 1;

/// `SECCOMP_FILTER_FLAG_NEW_LISTENER` (5.0): the install returns a listener fd.
pub(crate) const FILTER_FLAG_NEW_LISTENER: u64 = 1 << 3;
/// `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV` (5.19): once the supervisor has received a
/// notification, only a fatal signal interrupts the waiting syscall (a Go sandboxee's preemption
/// signals no longer restart it over and over).
pub(crate) const FILTER_FLAG_WAIT_KILLABLE_RECV: u64 = 1 << 5;

/// `struct sock_fprog`: the program seccomp(2) installs.
#[repr(C)]
pub struct SockFprog {
    /// Number of instructions.
    pub len: u16,
    /// The instructions (`struct sock_filter`, 8 bytes each: `policy::SockFilter`).
    pub filter: *const core::ffi::c_void,
}

/// `SECCOMP_RET_USER_NOTIF`.
pub(crate) const RET_USER_NOTIF: u32 = 0x7fc0_0000;
/// `SECCOMP_USER_NOTIF_FLAG_CONTINUE`: let the syscall run as the sandboxee asked.
pub(crate) const USER_NOTIF_FLAG_CONTINUE: u32 = 1;
/// `SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP` (6.6): wake the waiting task on the supervisor's CPU.
pub(crate) const USER_NOTIF_FD_SYNC_WAKE_UP: u64 = 1;

/// `struct seccomp_data`, as the notification carries it.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Data {
    pub nr: i32,
    pub arch: u32,
    pub instruction_pointer: u64,
    pub args: [u64; 6],
}

/// `struct seccomp_notif`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Notif {
    pub id: u64,
    /// The task's thread id in the pid namespace of the reader (the host's, for us).
    pub pid: u32,
    pub flags: u32,
    pub data: Data,
}

/// `struct seccomp_notif_resp`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NotifResp {
    pub id: u64,
    pub val: i64,
    pub error: i32,
    pub flags: u32,
}

/// `struct seccomp_notif_sizes`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NotifSizes {
    pub notif: u16,
    pub resp: u16,
    pub data: u16,
}

const fn iowr(nr: u64, size: usize) -> u64 {
    // _IOC(dir, type '!', nr, size) with dir = read|write (3) or write (1).
    (3 << 30) | ((size as u64) << 16) | (('!' as u64) << 8) | nr
}
const fn iow(nr: u64, size: usize) -> u64 {
    (1 << 30) | ((size as u64) << 16) | (('!' as u64) << 8) | nr
}

/// `SECCOMP_IOCTL_NOTIF_RECV`.
pub(crate) const IOCTL_NOTIF_RECV: u64 = iowr(0, std::mem::size_of::<Notif>());
/// `SECCOMP_IOCTL_NOTIF_SEND`.
pub(crate) const IOCTL_NOTIF_SEND: u64 = iowr(1, std::mem::size_of::<NotifResp>());
/// `SECCOMP_IOCTL_NOTIF_SET_FLAGS` (6.6).
pub(crate) const IOCTL_NOTIF_SET_FLAGS: u64 = iow(4, std::mem::size_of::<u64>());

/// `SECCOMP_IOCTL_NOTIF_ID_VALID`: the notification's task still waits in it.
pub(crate) const IOCTL_NOTIF_ID_VALID: u64 = iow(2, std::mem::size_of::<u64>());

/// `struct seccomp_notif_addfd` (5.9).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NotifAddfd {
    pub id: u64,
    pub flags: u32,
    pub srcfd: u32,
    pub newfd: u32,
    pub newfd_flags: u32,
}

/// `SECCOMP_IOCTL_NOTIF_ADDFD` (5.9).
pub(crate) const IOCTL_NOTIF_ADDFD: u64 = iow(3, std::mem::size_of::<NotifAddfd>());
/// `SECCOMP_ADDFD_FLAG_SETFD`: install at `newfd`, replacing what is there (as `dup2`).
pub(crate) const ADDFD_FLAG_SETFD: u32 = 1;

/// `seccomp(SECCOMP_SET_MODE_FILTER, flags, prog)`: installs `prog` on the calling thread (with
/// [`FILTER_FLAG_TSYNC`], on every thread). Returns the kernel's non-negative answer (0; the
/// listener fd with [`FILTER_FLAG_NEW_LISTENER`]; with TSYNC, the id of a thread that could not
/// be synchronised, nothing installed) or the errno.
///
/// The one home of this call, for the clone child between clone and exec as for the probes
/// and `sandbox_me_here`: it makes the system call through `sys/raw.rs` (no libc `errno`,
/// which a `CLONE_VM` child would write into its parent thread's TLS) and does nothing that
/// could allocate, lock or panic (signal-safety(7)).
///
/// # Safety
/// `prog.filter` points to `prog.len` instructions (`policy::SockFilter`).
#[allow(unsafe_code)]
#[allow(clippy::inline_always)] // called in the clone children, on their small stacks
#[inline(always)]
pub(crate) unsafe fn install_filter(flags: u64, prog: &SockFprog) -> Result<i64, i32> {
    let prog = std::ptr::from_ref(prog) as u64;
    // SAFETY: the kernel reads `prog` and the instructions it points to (the caller's
    // promise) and copies them; nothing is kept.
    let r = unsafe { super::raw::syscall(libc::SYS_seccomp, &[SET_MODE_FILTER, flags, prog]) };
    if r < 0 {
        // -4095..-1: an errno, which fits.
        Err(i32::try_from(-r).unwrap_or(libc::EINVAL))
    } else {
        Ok(r)
    }
}

/// Installs `prog` with a new listener and killable waits ([`FILTER_FLAG_WAIT_KILLABLE_RECV`]),
/// or, on a kernel that does not know that flag (EINVAL, before Linux 5.19), with the listener
/// alone. Returns the listener fd and whether the waits are killable, or the errno. Signal-safe
/// like [`install_filter`].
///
/// # Safety
/// As [`install_filter`].
#[allow(unsafe_code)]
#[allow(clippy::inline_always)] // called in the clone children, on their small stacks
#[inline(always)]
pub(crate) unsafe fn install_with_listener(prog: &SockFprog) -> Result<(i64, bool), i32> {
    // SAFETY: forwarded caller promise.
    unsafe {
        match install_filter(
            FILTER_FLAG_NEW_LISTENER | FILTER_FLAG_WAIT_KILLABLE_RECV,
            prog,
        ) {
            Ok(fd) => Ok((fd, true)),
            Err(libc::EINVAL) => {
                install_filter(FILTER_FLAG_NEW_LISTENER, prog).map(|fd| (fd, false))
            }
            Err(e) => Err(e),
        }
    }
}

/// `seccomp(SECCOMP_GET_ACTION_AVAIL, 0, &action)`: whether the kernel knows the filter
/// return action `action` (`SECCOMP_RET_*`); the errno if not (EINVAL before Linux 4.14, where
/// the query itself is missing).
#[allow(unsafe_code)]
pub(crate) fn action_available(action: u32) -> Result<(), i32> {
    // SAFETY: the kernel reads one u32 from a live local.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            GET_ACTION_AVAIL,
            0,
            std::ptr::addr_of!(action),
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ioctl_numbers_match_the_kernel_headers() {
        // Values from <linux/seccomp.h> on x86-64 and aarch64.
        assert_eq!(super::IOCTL_NOTIF_RECV, 0xc050_2100);
        assert_eq!(super::IOCTL_NOTIF_SEND, 0xc018_2101);
        assert_eq!(super::IOCTL_NOTIF_SET_FLAGS, 0x4008_2104);
        assert_eq!(super::IOCTL_NOTIF_ID_VALID, 0x4008_2102);
        assert_eq!(super::IOCTL_NOTIF_ADDFD, 0x4018_2103);
    }
}
