//! Signals: SIGINT, SIGTERM and SIGHUP to sbx-run kill the sandbox.
//!
//! Until the sandbox is about to start they keep their default action (nothing to clean up yet;
//! a `--check` canary dies with the process). Then they are blocked and read from a signalfd by
//! the main thread, which waits on it and on the sandbox's completion fd at once: no thread.
//! A server's run waits the same way on its client's connection instead ([`Stop`]).

// Audited unsafe: the signal mask and signalfd of the forwarded signals, the poll, and the
// pidfd calls (`pidfd_open` of a child, `pidfd_send_signal`).
#![allow(unsafe_code)]

use sbx::{RunResult, Sandbox};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

pub(crate) const FORWARDED: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// What ends a run from outside: a readable fd and, when it is ready, the signal that asks
/// for the kill (`None`: nothing after all).
pub(crate) trait Stop {
    fn fd(&self) -> RawFd;
    /// A second fd to wait on (-1: none).
    fn also(&self) -> RawFd {
        -1
    }
    fn take(&self) -> Option<i32>;
}

/// How a run ended: its result (or the library's refusal) and the signal that killed it, if one
/// did; or a signal before anything started.
pub(crate) enum Ended {
    Ran(Box<sbx::Result<RunResult>>, Option<i32>),
    SignalBeforeStart(i32),
}

/// The forwarded signals, blocked and readable from a signalfd.
pub(crate) struct Signals {
    fd: OwnedFd,
}

impl Signals {
    /// Blocks the forwarded signals in this (the main) thread, before any other thread starts
    /// (the library's supervisor inherits the mask), and opens a signalfd for them.
    pub(crate) fn block() -> Result<Signals, String> {
        // SAFETY: sigset_t is plain data; sigemptyset/sigaddset initialise it; pthread_sigmask
        // and signalfd read it, and signalfd's result is checked.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for s in FORWARDED {
                libc::sigaddset(&mut set, s);
            }
            let r = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            if r != 0 {
                return Err(format!(
                    "pthread_sigmask: {}",
                    std::io::Error::from_raw_os_error(r)
                ));
            }
            let fd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK);
            if fd < 0 {
                return Err(format!("signalfd: {}", std::io::Error::last_os_error()));
            }
            Ok(Signals {
                fd: OwnedFd::from_raw_fd(fd),
            })
        }
    }
}

impl Stop for Signals {
    fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// A pending forwarded signal.
    fn take(&self) -> Option<i32> {
        // SAFETY: signalfd_siginfo is plain data; read writes at most its size.
        let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        // SAFETY: reading into `info`, `size` bytes.
        let n = unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                std::ptr::addr_of_mut!(info).cast(),
                size,
            )
        };
        if usize::try_from(n).ok() != Some(size) {
            return None;
        }
        i32::try_from(info.ssi_signo).ok()
    }
}

/// Starts `sb` and waits for its result, killing it when `stop` asks (the first signal is the
/// one reported). A signal that came before the start starts nothing.
pub(crate) fn run_until_done(sb: &Sandbox, stop: &dyn Stop) -> Ended {
    if let Some(sig) = stop.take() {
        return Ended::SignalBeforeStart(sig);
    }
    if let Err(e) = sb.start() {
        return Ended::Ran(Box::new(Err(e)), None);
    }
    let mut received = None;
    let done = match sb.completion_fd() {
        Ok(fd) => fd.as_raw_fd(),
        Err(e) => return Ended::Ran(Box::new(Err(e)), None),
    };
    // An error of the wait (it cannot wait for signals) leaves the result alone to wait for.
    while let Ok([done_ready, stop_ready, also_ready]) = ready([done, stop.fd(), stop.also()], -1) {
        if stop_ready || also_ready {
            if let Some(sig) = stop.take() {
                received.get_or_insert(sig);
                sb.kill();
            }
        }
        if done_ready {
            break;
        }
    }
    Ended::Ran(Box::new(sb.wait()), received)
}

/// Which of `fds` (-1: none) are readable or at their end, waiting at most `timeout_ms` (-1: no
/// limit) for one to be; an interruption counts as a wake-up with nothing ready.
pub(crate) fn ready<const N: usize>(fds: [RawFd; N], timeout_ms: i32) -> std::io::Result<[bool; N]> {
    let mut p = fds.map(|fd| libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    });
    let n = libc::nfds_t::try_from(N).map_err(|_| std::io::ErrorKind::InvalidInput)?;
    // SAFETY: `n` live pollfds of ours.
    let r = unsafe { libc::poll(p.as_mut_ptr(), n, timeout_ms) };
    let e = std::io::Error::last_os_error();
    if r < 0 && e.kind() != std::io::ErrorKind::Interrupted {
        return Err(e);
    }
    Ok(p.map(|p| r > 0 && p.revents != 0))
}

/// A pidfd of our own child `pid` (not yet waited for, so the pid is still its own).
pub(crate) fn pidfd_of_child(pid: u32) -> std::io::Result<OwnedFd> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| std::io::ErrorKind::InvalidInput)?;
    // SAFETY: pidfd_open takes a pid and flags; the result is checked.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let fd = RawFd::try_from(fd).map_err(|_| std::io::ErrorKind::InvalidData)?;
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the kernel just gave us this fd; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Sends `sig` (0: nothing, only whether the process is alive) through a pidfd.
pub(crate) fn pidfd_signal(pidfd: &OwnedFd, sig: i32) -> std::io::Result<()> {
    // SAFETY: pidfd_send_signal with no siginfo and no flags.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
