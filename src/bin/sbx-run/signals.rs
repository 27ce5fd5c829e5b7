//! Signals: SIGINT, SIGTERM and SIGHUP to sbx-run kill the sandbox.
//!
//! Until the sandbox is about to start they keep their default action (nothing to clean up yet;
//! a `--check` canary dies with the process). Then they are blocked and read from a signalfd by
//! the main thread, which waits on it and on the sandbox's completion fd at once: no thread.

// Audited unsafe: the signal mask and signalfd of the forwarded signals, and the poll.
#![allow(unsafe_code)]

use sbx::{RunResult, Sandbox};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};

const FORWARDED: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// The signal sbx-run received (0: none).
pub(crate) static RECEIVED: AtomicI32 = AtomicI32::new(0);

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

    /// A pending forwarded signal, recorded in [`RECEIVED`] (the first one wins).
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
        let sig = i32::try_from(info.ssi_signo).ok()?;
        let _ = RECEIVED.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
        Some(sig)
    }
}

/// Starts `sb` and waits for its result, killing it when a forwarded signal arrives. A signal
/// that came before the start ends sbx-run with 128+signal, starting nothing.
pub(crate) fn run_until_done(sb: &Sandbox, signals: &Signals) -> sbx::Result<RunResult> {
    if let Some(sig) = signals.take() {
        std::process::exit(128 + sig);
    }
    sb.start()?;
    let done = sb.completion_fd()?.as_raw_fd();
    loop {
        let mut fds = [
            libc::pollfd {
                fd: done,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: signals.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: two live pollfds.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if r < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            // Cannot wait for signals: wait for the result alone.
            break;
        }
        if fds[1].revents != 0 && signals.take().is_some() {
            sb.kill();
        }
        if fds[0].revents != 0 {
            break;
        }
    }
    sb.wait()
}
