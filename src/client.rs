//! The sandboxee's side of libsbx: its comms channel, fds mapped by name, and
//! [`sandbox_me_here`], which applies the host's policy to the calling process.
//!
//! Typical use in a sandbox-aware program started with
//! `Executor::sandbox_before_exec(false)`: open files and load data while still unrestricted
//! (only the mandatory rules, namespaces, Landlock and limits apply), then call
//! `sandbox_me_here()`; from there on the whole process, every thread included, runs under the
//! policy the host built.

use crate::comms::Comms;
use crate::error::{Error, Result};
use crate::executor::FD_MAPPINGS_ENV;
use std::collections::HashMap;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::sync::Mutex;

/// Tag of the message carrying the compiled policy from host to sandboxee (libsbx's own range,
/// above sandbox2's tags).
pub const POLICY_TAG: u32 = 0x8000_0401;

/// Largest policy message accepted: the kernel's 4096 instructions of 8 bytes.
const MAX_POLICY_BYTES: usize = 4096 * 8;

static MAPPINGS: Mutex<Option<HashMap<String, RawFd>>> = Mutex::new(None);

/// The fd the host mapped under `name` (see `Executor::map_fd_named`). Each name can be taken
/// once: the caller owns the fd.
pub fn mapped_fd(name: &str) -> Option<OwnedFd> {
    let mut m = MAPPINGS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let map = m
        .get_or_insert_with(|| parse_mappings(&std::env::var(FD_MAPPINGS_ENV).unwrap_or_default()));
    let fd = map.remove(name)?;
    // The fd must really be open: a forged variable must not make us adopt a random number.
    // SAFETY: fcntl(F_GETFD) only inspects the fd.
    #[allow(unsafe_code)]
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return None;
    }
    // SAFETY: the host mapped this fd for us under this name, and it is taken only once.
    #[allow(unsafe_code)]
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Parses `name=fd,name=fd`; malformed entries are skipped.
fn parse_mappings(s: &str) -> HashMap<String, RawFd> {
    s.split(',')
        .filter_map(|e| {
            let (name, fd) = e.split_once('=')?;
            let fd: RawFd = fd.parse().ok()?;
            (!name.is_empty() && fd >= 0).then(|| (name.to_string(), fd))
        })
        .collect()
}

/// The value of [`FD_MAPPINGS_ENV`] for the given names.
pub(crate) fn format_mappings(names: &[(String, RawFd)]) -> String {
    names
        .iter()
        .map(|(n, fd)| format!("{n}={fd}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Checks and decodes the host's policy message: the right tag and 1 to 4096 whole BPF
/// instructions. Pure (no system call), so untrusted bytes can be fuzzed through it.
pub fn decode_policy(tag: u32, bytes: &[u8]) -> Result<Vec<crate::policy::SockFilter>> {
    if tag != POLICY_TAG {
        return Err(Error::InvalidPolicy(format!(
            "expected the policy message (tag {POLICY_TAG:#x}), got tag {tag:#x}"
        )));
    }
    if bytes.is_empty() || bytes.len() % 8 != 0 || bytes.len() > MAX_POLICY_BYTES {
        return Err(Error::InvalidPolicy(format!(
            "policy message of {} bytes is not 1 to 4096 BPF instructions",
            bytes.len()
        )));
    }
    Ok(bytes
        .chunks_exact(8)
        .map(|c| crate::policy::SockFilter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect())
}

/// Receives the policy over `comms` and applies it to every thread of this process
/// (`SECCOMP_FILTER_FLAG_TSYNC`). On any error nothing was applied.
pub fn try_sandbox_me_here(comms: &mut Comms) -> Result<()> {
    let (tag, bytes) = comms.recv_tlv()?;
    let insns = decode_policy(tag, &bytes)?;
    // decode_policy checked 1 to 4096 instructions.
    let len = u16::try_from(insns.len())
        .map_err(|_| Error::InvalidPolicy(format!("{} instructions", insns.len())))?;
    let prog = crate::sys::seccomp::SockFprog {
        len,
        filter: insns.as_ptr().cast(),
    };
    // SAFETY: prctl with integer arguments.
    #[allow(unsafe_code)]
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(Error::last_os("prctl(PR_SET_NO_NEW_PRIVS)"));
    }
    // SAFETY: `prog` points to `insns`, `len` instructions alive for the call.
    #[allow(unsafe_code)]
    let r = unsafe {
        crate::sys::seccomp::install_filter(crate::sys::seccomp::FILTER_FLAG_TSYNC, &prog)
    };
    match r {
        Ok(0) => Ok(()),
        Ok(tid) => Err(Error::Unsupported {
            feature: "seccomp TSYNC",
            detail: format!("thread {tid} could not be synchronised; no filter was installed"),
            fix: "call sandbox_me_here before starting threads that install their own filters",
        }),
        Err(e) => Err(Error::os("seccomp(SECCOMP_FILTER_FLAG_TSYNC)", e)),
    }
}

/// [`try_sandbox_me_here`], failing closed: if the policy cannot be applied to every thread the
/// process exits (code 127, a message on stderr) instead of going on unconfined. `comms` is
/// usually `Comms::client()`, which stays usable afterwards for the program's own messages.
pub fn sandbox_me_here(comms: &mut Comms) {
    if let Err(e) = try_sandbox_me_here(comms) {
        eprintln!("libsbx: sandbox_me_here failed, exiting: {e}");
        // SAFETY: _exit ends the process without running host code that might not expect it.
        #[allow(unsafe_code)]
        unsafe {
            libc::_exit(127)
        };
    }
}

#[cfg(test)]
// Tests: their casts are of constants and of values the tests make themselves.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]
mod tests {
    use super::*;

    /// The client's setup message decoder on arbitrary input: never panics, accepts exactly the
    /// well-formed messages. (Applying a decoded program is the kernel's job and is not fuzzed
    /// here: it would install filters on the test process.)
    #[test]
    fn fuzz_decode_policy() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..20_000 {
            let len = match next() % 4 {
                0 => (next() % 64) as usize,
                1 => ((next() % 4097) * 8) as usize,
                2 => (next() % 40_000) as usize,
                _ => 8 * 4097,
            };
            let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let tag = if next() % 8 == 0 {
                next() as u32
            } else {
                POLICY_TAG
            };
            let ok = tag == POLICY_TAG && len > 0 && len % 8 == 0 && len <= MAX_POLICY_BYTES;
            match decode_policy(tag, &bytes) {
                Ok(p) => {
                    assert!(ok);
                    assert_eq!(p.len() * 8, len);
                }
                Err(_) => assert!(!ok),
            }
        }
    }

    #[test]
    fn mappings_parse_and_skip_garbage() {
        let m = super::parse_mappings("a=3,b=17,bad,=4,c=-1,d=x,e=5");
        assert_eq!(m.len(), 3);
        assert_eq!(m["a"], 3);
        assert_eq!(m["b"], 17);
        assert_eq!(m["e"], 5);
        assert_eq!(
            super::format_mappings(&[("x".into(), 3), ("y".into(), 9)]),
            "x=3,y=9"
        );
    }
}
