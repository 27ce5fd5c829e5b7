//! Tests of the comms channel, after sandbox2's `comms_test.cc` (the `[SEC]` cases included).
//!
//! Leak checks do not count `/proc/self/fd`: other tests in the same binary open and close fds
//! concurrently. Instead every descriptor smuggled to a receiver is a memfd with a name unique to
//! the test, and the check counts the entries of `/proc/self/fd` that link to that name.
//!
//! Here: the helpers (`util`, also used by `fuzz_tests/`) and the tests that run a child
//! process (the sandboxee side, `Comms::client`); `round_trips.rs` the typed messages;
//! `descriptors.rs` fds and credentials; `limits.rs` limits, closing and termination.

// Tests: their casts are of constants and of values the tests make themselves.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]
// Audited unsafe: raw fds and socketpairs in tests.
#![allow(unsafe_code)]

use super::fd::{self, write_cmsg};
use super::*;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::AtomicU32;
use std::time::Instant;

mod descriptors;
mod limits;
mod round_trips;

use limits::{absurd_length_scenario, lying_length_scenario};

pub(super) mod util {
    use super::*;

    static SEQ: AtomicU32 = AtomicU32::new(0);

    /// A name no other test uses, for memfds whose copies we count afterwards.
    pub fn unique(what: &str) -> String {
        format!(
            "sbx-comms-{what}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        )
    }

    pub fn memfd(name: &str) -> OwnedFd {
        let c = std::ffi::CString::new(name).unwrap();
        // SAFETY: `c` is a valid NUL-terminated string for the duration of the call.
        let r = unsafe { libc::memfd_create(c.as_ptr(), libc::MFD_CLOEXEC) };
        assert!(r >= 0, "memfd_create: {}", std::io::Error::last_os_error());
        // SAFETY: memfd_create returned a fresh descriptor that nothing else owns.
        unsafe { OwnedFd::from_raw_fd(r) }
    }

    /// How many of our descriptors link to something whose name contains `needle`.
    pub fn open_links(needle: &str) -> usize {
        let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
            return 0;
        };
        dir.filter_map(std::result::Result::ok)
            .filter_map(|e| std::fs::read_link(e.path()).ok())
            .filter(|t| t.to_string_lossy().contains(needle))
            .count()
    }

    /// Control bytes for `sendmsg`: optional `SCM_RIGHTS` with `fds`, optional credentials.
    pub fn control(fds: &[RawFd], creds: Option<Creds>) -> Vec<u8> {
        let mut out = vec![0u8; 4096];
        let mut len = 0;
        if let Some(c) = creds {
            let mut d = Vec::new();
            d.extend_from_slice(&c.pid.to_ne_bytes());
            d.extend_from_slice(&c.uid.to_ne_bytes());
            d.extend_from_slice(&c.gid.to_ne_bytes());
            len += write_cmsg(&mut out[len..], libc::SOL_SOCKET, libc::SCM_CREDENTIALS, &d);
        }
        if !fds.is_empty() {
            let d: Vec<u8> = fds.iter().flat_map(|f| f.to_ne_bytes()).collect();
            len += write_cmsg(&mut out[len..], libc::SOL_SOCKET, libc::SCM_RIGHTS, &d);
        }
        out.truncate(len);
        out
    }

    /// One raw `sendmsg` of `data` with the given control bytes (copied into an aligned buffer).
    pub fn raw_sendmsg(sock: RawFd, data: &[u8], control: &[u8]) -> Result<usize, i32> {
        #[repr(C, align(8))]
        struct Aligned([u8; 4096]);
        let mut buf = Box::new(Aligned([0u8; 4096]));
        buf.0[..control.len()].copy_from_slice(control);
        let mut iov = libc::iovec {
            iov_base: data.as_ptr() as *mut _,
            iov_len: data.len(),
        };
        // SAFETY: plain data; all-zero is a valid empty msghdr, filled below.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        if !control.is_empty() {
            msg.msg_control = buf.0.as_mut_ptr().cast();
            msg.msg_controllen = control.len() as _;
        }
        // SAFETY: the iovec and control buffer are live for the call with the lengths given.
        let n = unsafe { libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL) };
        if n < 0 {
            Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
        } else {
            Ok(n as usize)
        }
    }

    pub fn header(tag: u32, len: u64) -> [u8; HEADER_LEN] {
        wire::Header { tag, len }.encode()
    }

    pub fn my_creds() -> Creds {
        // SAFETY: these calls cannot fail.
        unsafe {
            Creds {
                pid: libc::getpid(),
                uid: libc::getuid(),
                gid: libc::getgid(),
            }
        }
    }

    /// A raw unix stream pair without SO_PASSCRED.
    pub fn raw_pair() -> (OwnedFd, OwnedFd) {
        fd::socketpair().expect("socketpair")
    }

    /// (VmPeak, VmHWM) of this process in KiB.
    pub fn vm_peaks() -> (u64, u64) {
        let s = std::fs::read_to_string("/proc/self/status").unwrap();
        let get = |key: &str| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (get("VmPeak:"), get("VmHWM:"))
    }
}

use util::*;

fn pair() -> (Comms, Comms) {
    Comms::pair().expect("Comms::pair")
}

// ----- child processes: the sandboxee side (Comms::client) and memory measurements ------

const CHILD_MODE_ENV: &str = "SBX_COMMS_TEST_CHILD";

/// The command that runs `child_helper` of this test binary in `mode`.
fn child_command(mode: &str, envs: &[(&str, &str)]) -> std::process::Command {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "comms::tests::child_helper",
        "--test-threads=1",
        "--nocapture",
        "-q",
    ])
    .env(CHILD_MODE_ENV, mode)
    .env_remove(COMMS_FD_ENV)
    .env_remove(SANDBOX2_COMMS_FD_ENV)
    .stdout(std::process::Stdio::null());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd
}

/// Starts `child_helper` in `mode` with `moves` dup2'ed into place after fork.
fn run_child(mode: &str, envs: &[(&str, &str)], moves: Vec<(RawFd, RawFd)>) -> std::process::Child {
    use std::os::unix::process::CommandExt;
    let mut cmd = child_command(mode, envs);
    // SAFETY: the closure only calls dup2, which is async-signal-safe, on numbers that are open
    // in the parent (the caller keeps them alive until the child has started).
    unsafe {
        cmd.pre_exec(move || {
            for &(from, to) in &moves {
                if libc::dup2(from, to) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    cmd.spawn().unwrap()
}

/// The child half of the tests that need a process of their own (the sandboxee side of
/// `Comms::client`, memory measurements); does nothing unless started by `run_child`.
#[test]
fn child_helper() {
    let Ok(mode) = std::env::var(CHILD_MODE_ENV) else {
        return;
    };
    if mode == "absurd" {
        return absurd_length_scenario();
    }
    if mode == "lying" {
        return lying_length_scenario();
    }
    if mode == "unmapped" {
        // In a user namespace without an id map our own uid is the overflow id, which the kernel
        // refuses in SCM_CREDENTIALS: send_creds must still work.
        assert_eq!(my_creds().uid, 65534);
        let (mut a, mut b) = pair();
        a.send_creds().unwrap();
        assert_eq!(b.recv_creds().unwrap(), my_creds());
        return;
    }
    if mode == "notsock" {
        let e = Comms::client().unwrap_err();
        assert!(matches!(e, CommsError::InvalidFd { fd: 702, .. }), "{e:?}");
        return;
    }
    if mode == "badenv" {
        let e = Comms::client().unwrap_err();
        assert!(matches!(e, CommsError::InvalidFd { fd: -1, .. }), "{e:?}");
        return;
    }
    let mut c = Comms::client().unwrap();
    assert!(std::env::var_os(COMMS_FD_ENV).is_none(), "variable removed");
    assert!(
        std::env::var_os(SANDBOX2_COMMS_FD_ENV).is_none(),
        "variable removed"
    );
    let want = match mode.as_str() {
        "default" => DEFAULT_CLIENT_FD,
        "env" => 700,
        _ => 701,
    };
    assert_eq!(c.as_raw_fd(), want);
    assert!(
        matches!(Comms::client(), Err(CommsError::InvalidFd { .. })),
        "claimed once only"
    );
    let s = c.recv_string().unwrap();
    c.send_string(&format!("{s} pong")).unwrap();
    c.send_i32(c.peer_creds().unwrap().pid).unwrap();
    c.send_creds().unwrap();
}

#[test]
fn client_side_finds_its_channel() {
    if crate::sys::skipped_under_qemu(
        "the test re-executes its own (aarch64) binary, which the host kernel cannot run",
    ) {
        return;
    }
    for (mode, envs, at) in [
        ("default", vec![], DEFAULT_CLIENT_FD),
        (
            "env",
            vec![(COMMS_FD_ENV, "700"), (SANDBOX2_COMMS_FD_ENV, "garbage")],
            700,
        ),
        ("sandbox2", vec![(SANDBOX2_COMMS_FD_ENV, "701")], 701),
    ] {
        let (mut host, child) = pair();
        let mut proc = run_child(mode, &envs, vec![(child.as_raw_fd(), at)]);
        // Only the child holds its end now, so its exit ends our reads instead of hanging them.
        drop(child);
        host.set_timeout(Some(Duration::from_secs(30))).unwrap();
        let status = {
            host.send_string("ping").unwrap();
            assert_eq!(host.recv_string().unwrap(), "ping pong");
            // SAFETY: getpid cannot fail.
            let me = unsafe { libc::getpid() };
            assert_eq!(
                host.recv_i32().unwrap(),
                me,
                "child's SO_PEERCRED names the creator"
            );
            let c = host.recv_creds().unwrap();
            assert_ne!(c.pid, me);
            assert_eq!((c.uid, c.gid), (my_creds().uid, my_creds().gid));
            assert_eq!(c.pid as u32, proc.id());
            proc.wait().unwrap()
        };
        assert!(status.success(), "child in mode {mode}: {status}");
    }
}

#[test]
fn send_creds_works_with_unmapped_ids() {
    use std::os::unix::process::CommandExt;
    let mut cmd = child_command("unmapped", &[]);
    // SAFETY: unshare is a plain system call, safe between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::unshare(libc::CLONE_NEWUSER) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    match cmd.spawn() {
        Ok(mut child) => {
            let st = child.wait().unwrap();
            assert!(st.success(), "{st}");
        }
        // Unprivileged user namespaces may be disabled here; nothing to test then.
        Err(e) => eprintln!("send_creds_works_with_unmapped_ids: skipped, unshare: {e}"),
    }
}

#[test]
fn client_side_rejects_unusable_fds() {
    if crate::sys::skipped_under_qemu(
        "the test re-executes its own (aarch64) binary, which the host kernel cannot run",
    ) {
        return;
    }
    let (r, _w) = nix::unistd::pipe().unwrap();
    let st = run_child(
        "notsock",
        &[(COMMS_FD_ENV, "702")],
        vec![(r.as_raw_fd(), 702)],
    )
    .wait()
    .unwrap();
    assert!(st.success(), "{st}");
    let st = run_child("badenv", &[(COMMS_FD_ENV, "12x")], vec![])
        .wait()
        .unwrap();
    assert!(st.success(), "{st}");
}
