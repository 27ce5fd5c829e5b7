//! Tests of the comms channel, after sandbox2's `comms_test.cc` (the `[SEC]` cases included).
//!
//! Leak checks do not count `/proc/self/fd`: other tests in the same binary open and close fds
//! concurrently. Instead every descriptor smuggled to a receiver is a memfd with a name unique to
//! the test, and the check counts the entries of `/proc/self/fd` that link to that name.

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

// ----- typed round trips ------------------------------------------------------------------

#[test]
fn integers_and_bools_round_trip() {
    let (mut a, mut b) = pair();
    a.send_bool(true).unwrap();
    a.send_bool(false).unwrap();
    assert!(b.recv_bool().unwrap());
    assert!(!b.recv_bool().unwrap());
    for v in [i8::MIN, -1, 0, i8::MAX] {
        a.send_i8(v).unwrap();
        assert_eq!(b.recv_i8().unwrap(), v);
    }
    for v in [0, 1, u8::MAX] {
        b.send_u8(v).unwrap();
        assert_eq!(a.recv_u8().unwrap(), v);
    }
    for v in [i16::MIN, -2, i16::MAX] {
        a.send_i16(v).unwrap();
        assert_eq!(b.recv_i16().unwrap(), v);
    }
    for v in [0, 0x1234, u16::MAX] {
        a.send_u16(v).unwrap();
        assert_eq!(b.recv_u16().unwrap(), v);
    }
    for v in [i32::MIN, -3, i32::MAX] {
        a.send_i32(v).unwrap();
        assert_eq!(b.recv_i32().unwrap(), v);
    }
    for v in [0, 0xdead_beef, u32::MAX] {
        a.send_u32(v).unwrap();
        assert_eq!(b.recv_u32().unwrap(), v);
    }
    for v in [i64::MIN, -4, i64::MAX] {
        a.send_i64(v).unwrap();
        assert_eq!(b.recv_i64().unwrap(), v);
    }
    for v in [0, 0x0123_4567_89ab_cdef, u64::MAX] {
        a.send_u64(v).unwrap();
        assert_eq!(b.recv_u64().unwrap(), v);
    }
}

#[test]
fn wire_format_is_sandbox2s() {
    let (mut a, b) = pair();
    a.send_u32(0x0102_0304).unwrap();
    let mut raw = [0u8; 16];
    let mut f = std::fs::File::from(b.into_fd().unwrap());
    f.read_exact(&mut raw).unwrap();
    let mut expect = Vec::new();
    expect.extend_from_slice(&tags::UINT32.to_ne_bytes());
    expect.extend_from_slice(&4u64.to_ne_bytes());
    expect.extend_from_slice(&0x0102_0304u32.to_ne_bytes());
    assert_eq!(&raw[..], &expect[..]);

    // And a hand-made sandbox2 message is understood.
    let (a, mut b) = pair();
    let mut f = std::fs::File::from(a.into_fd().unwrap());
    f.write_all(&header(tags::STRING, 5)).unwrap();
    f.write_all(b"hello").unwrap();
    assert_eq!(b.recv_string().unwrap(), "hello");
}

#[test]
fn type_mismatch_fails_and_consumes_the_message() {
    let (mut a, mut b) = pair();
    a.send_i8(-5).unwrap();
    assert_eq!(
        b.recv_u8(),
        Err(CommsError::TagMismatch {
            expected: tags::UINT8,
            got: tags::INT8
        })
    );
    assert!(!b.is_terminated());
    a.send_u64(9).unwrap();
    assert_eq!(
        b.recv_u32(),
        Err(CommsError::TagMismatch {
            expected: tags::UINT32,
            got: tags::UINT64
        })
    );
    a.send_string("x").unwrap();
    assert_eq!(
        b.recv_bytes(),
        Err(CommsError::TagMismatch {
            expected: tags::BYTES,
            got: tags::STRING
        })
    );
    a.send_bytes(b"x").unwrap();
    assert_eq!(
        b.recv_string(),
        Err(CommsError::TagMismatch {
            expected: tags::STRING,
            got: tags::BYTES
        })
    );
    a.send_bool(true).unwrap();
    assert_eq!(
        b.recv_barrier(),
        Err(CommsError::TagMismatch {
            expected: tags::BARRIER,
            got: tags::BOOL
        })
    );
    // The stream is still in sync.
    a.send_u8(7).unwrap();
    assert_eq!(b.recv_u8().unwrap(), 7);
}

#[test]
fn wrong_lengths_and_values_are_rejected_in_sync() {
    let (mut a, mut b) = pair();
    a.send_tlv(tags::INT32, &[1, 2, 3]).unwrap();
    assert_eq!(
        b.recv_i32(),
        Err(CommsError::BadLength {
            tag: tags::INT32,
            expected: 4,
            got: 3
        })
    );
    a.send_tlv(tags::BOOL, &[2]).unwrap();
    assert!(matches!(
        b.recv_bool(),
        Err(CommsError::InvalidValue {
            tag: tags::BOOL,
            ..
        })
    ));
    a.send_tlv(tags::BARRIER, &[0]).unwrap();
    assert!(matches!(
        b.recv_barrier(),
        Err(CommsError::BadLength { .. })
    ));
    a.send_tlv(tags::STRING, &[0xff, 0xfe]).unwrap();
    assert!(matches!(
        b.recv_string(),
        Err(CommsError::InvalidValue {
            tag: tags::STRING,
            ..
        })
    ));
    a.send_i16(-9).unwrap();
    assert_eq!(b.recv_i16().unwrap(), -9);
}

#[test]
fn strings_round_trip() {
    let (mut a, mut b) = pair();
    for s in [
        "",
        "hello",
        "nul\0inside",
        "ünïcødé ✓",
        &"x".repeat(100_000),
    ] {
        a.send_string(s).unwrap();
        assert_eq!(b.recv_string().unwrap(), s);
    }
}

#[test]
fn bytes_round_trip_including_empty_and_large() {
    let (mut a, mut b) = pair();
    a.send_bytes(&[]).unwrap();
    assert_eq!(b.recv_bytes().unwrap(), Vec::<u8>::new());
    a.send_bytes(&[1, 2, 3]).unwrap();
    assert_eq!(b.recv_bytes().unwrap(), vec![1, 2, 3]);
    // 4 MiB does not fit the socket buffer: the sender needs its own thread.
    let big: Vec<u8> = (0..4u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::thread::scope(|s| {
        s.spawn(|| a.send_bytes(&big).unwrap());
        assert_eq!(b.recv_bytes().unwrap(), big);
    });
}

#[test]
fn distinct_buffers_for_consecutive_messages() {
    let (mut a, mut b) = pair();
    let one = vec![0x11u8; 1 << 20];
    let two = vec![0x22u8; 1 << 20];
    std::thread::scope(|s| {
        s.spawn(|| {
            a.send_bytes(&one).unwrap();
            a.send_bytes(&two).unwrap();
        });
        let r1 = b.recv_bytes().unwrap();
        let r2 = b.recv_bytes().unwrap();
        assert_eq!(r1, one);
        assert_eq!(r2, two);
    });
}

#[test]
fn empty_tlv_and_custom_tags() {
    let (mut a, mut b) = pair();
    a.send_tlv(0x42, &[]).unwrap();
    assert_eq!(b.recv_tlv().unwrap(), (0x42, vec![]));
    a.send_custom(tags::MAX_CUSTOM, b"top").unwrap();
    assert_eq!(b.recv_custom(tags::MAX_CUSTOM).unwrap(), b"top");
    a.send_custom(0, b"").unwrap();
    assert_eq!(b.recv_custom(0).unwrap(), b"");
    // Reserved tags are refused before anything is sent or read.
    assert_eq!(
        a.send_custom(0x8000_0000, b"no"),
        Err(CommsError::BadCustomTag(0x8000_0000))
    );
    assert_eq!(
        a.send_custom(tags::STRING, b"no"),
        Err(CommsError::BadCustomTag(tags::STRING))
    );
    assert_eq!(
        b.recv_custom(tags::FD),
        Err(CommsError::BadCustomTag(tags::FD))
    );
    a.send_custom(7, b"seven").unwrap();
    assert_eq!(
        b.recv_custom(8),
        Err(CommsError::TagMismatch {
            expected: 8,
            got: 7
        })
    );
    a.send_custom(9, b"nine").unwrap();
    assert_eq!(b.recv_tlv().unwrap(), (9, b"nine".to_vec()));
}

#[test]
fn barrier_round_trip() {
    let (mut a, mut b) = pair();
    a.send_barrier().unwrap();
    b.recv_barrier().unwrap();
    b.send_barrier().unwrap();
    a.recv_barrier().unwrap();
}

// ----- descriptors --------------------------------------------------------------------------

#[test]
#[allow(clippy::many_single_char_names)] // a, b: the channel's two ends; r, w: a pipe's
fn fd_round_trip_and_received_fd_works() {
    let (mut a, mut b) = pair();
    let (r, w) = nix::unistd::pipe().unwrap();
    a.send_fd(w.as_fd()).unwrap();
    drop(w);
    let got = b.recv_fd().unwrap();
    // SAFETY: F_GETFD only reads flags of a descriptor we own.
    let flags = unsafe { libc::fcntl(got.as_raw_fd(), libc::F_GETFD) };
    assert!(
        flags & libc::FD_CLOEXEC != 0,
        "received fds must be close-on-exec"
    );
    let mut wf = std::fs::File::from(got);
    wf.write_all(b"through the fd").unwrap();
    drop(wf);
    let mut s = String::new();
    std::fs::File::from(r).read_to_string(&mut s).unwrap();
    assert_eq!(s, "through the fd");
}

#[test]
fn recv_fd_fails_on_tag_mismatch_and_stays_usable() {
    let (mut a, mut b) = pair();
    a.send_u32(1).unwrap();
    assert_eq!(
        b.recv_fd().unwrap_err(),
        CommsError::TagMismatch {
            expected: tags::FD,
            got: tags::UINT32
        }
    );
    // A forged fd header without a descriptor.
    a.send_tlv(tags::FD, &[]).unwrap();
    assert_eq!(b.recv_fd().unwrap_err(), CommsError::FdCount { got: 0 });
    let m = memfd("ok");
    a.send_fd(m.as_fd()).unwrap();
    b.recv_fd().unwrap();
}

#[test]
fn recv_fd_closes_extra_fds() {
    let name = unique("extra");
    let (a, mut b) = pair();
    {
        let fds: Vec<OwnedFd> = (0..3).map(|_| memfd(&name)).collect();
        let raws: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
        raw_sendmsg(a.as_raw_fd(), &header(tags::FD, 0), &control(&raws, None)).unwrap();
    }
    assert_eq!(open_links(&name), 0, "only in flight now");
    assert_eq!(b.recv_fd().unwrap_err(), CommsError::FdCount { got: 3 });
    assert_eq!(open_links(&name), 0, "smuggled fds must be closed");
    assert!(!b.is_terminated());
}

#[test]
fn recv_fd_closes_extra_fds_multiple_headers() {
    // One sendmsg carrying a whole STRING message and an FD header: the descriptor rides on the
    // STRING header's bytes and must not be credited to the FD message.
    let name = unique("multi");
    let (a, mut b) = pair();
    let mut data = header(tags::STRING, 3).to_vec();
    data.extend_from_slice(b"abc");
    data.extend_from_slice(&header(tags::FD, 0));
    {
        let m = memfd(&name);
        raw_sendmsg(a.as_raw_fd(), &data, &control(&[m.as_raw_fd()], None)).unwrap();
    }
    assert_eq!(b.recv_string().unwrap(), "abc");
    assert_eq!(open_links(&name), 0);
    assert_eq!(b.recv_fd().unwrap_err(), CommsError::FdCount { got: 0 });
    assert_eq!(open_links(&name), 0);
}

#[test]
fn fds_on_non_fd_messages_are_closed() {
    let name = unique("string");
    let (mut a, mut b) = pair();
    {
        let fds: Vec<OwnedFd> = (0..3).map(|_| memfd(&name)).collect();
        let raws: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
        let mut data = header(tags::STRING, 2).to_vec();
        data.extend_from_slice(b"hi");
        raw_sendmsg(a.as_raw_fd(), &data, &control(&raws, None)).unwrap();
        // Also on a payload (the header went alone, the fds ride on the payload bytes).
        raw_sendmsg(a.as_raw_fd(), &header(tags::BYTES, 4), &[]).unwrap();
        raw_sendmsg(a.as_raw_fd(), b"data", &control(&raws, None)).unwrap();
        // And via recv_tlv on an FD message.
        raw_sendmsg(
            a.as_raw_fd(),
            &header(tags::FD, 0),
            &control(&raws[..1], None),
        )
        .unwrap();
    }
    assert_eq!(b.recv_string().unwrap(), "hi");
    assert_eq!(b.recv_bytes().unwrap(), b"data");
    assert_eq!(b.recv_tlv().unwrap(), (tags::FD, vec![]));
    assert_eq!(open_links(&name), 0);
    a.send_u8(1).unwrap();
    assert_eq!(b.recv_u8().unwrap(), 1);
}

#[test]
fn recv_fd_closes_fds_on_wrong_tag() {
    let name = unique("wrongtag");
    let (a, mut b) = pair();
    {
        let m = memfd(&name);
        let mut data = header(tags::UINT32, 4).to_vec();
        data.extend_from_slice(&5u32.to_ne_bytes());
        raw_sendmsg(a.as_raw_fd(), &data, &control(&[m.as_raw_fd()], None)).unwrap();
        // A fd header with a payload is not an fd message either.
        let mut data = header(tags::FD, 1).to_vec();
        data.push(0);
        raw_sendmsg(a.as_raw_fd(), &data, &control(&[m.as_raw_fd()], None)).unwrap();
    }
    assert_eq!(
        b.recv_fd().unwrap_err(),
        CommsError::TagMismatch {
            expected: tags::FD,
            got: tags::UINT32
        }
    );
    assert_eq!(
        b.recv_fd().unwrap_err(),
        CommsError::BadLength {
            tag: tags::FD,
            expected: 0,
            got: 1
        }
    );
    assert_eq!(open_links(&name), 0);
}

#[test]
fn recv_fd_closes_fds_on_truncation() {
    let name = unique("trunc");
    let (a, mut b) = pair();
    {
        let m = memfd(&name);
        // A header that promises 100 bytes, 10 sent, then the peer goes away.
        let mut data = header(tags::BYTES, 100).to_vec();
        data.extend_from_slice(&[7; 10]);
        raw_sendmsg(a.as_raw_fd(), &data, &control(&[m.as_raw_fd()], None)).unwrap();
    }
    drop(a);
    assert_eq!(
        b.recv_bytes().unwrap_err(),
        CommsError::Truncated {
            expected: 112,
            got: 22
        }
    );
    assert!(b.is_terminated());
    assert_eq!(open_links(&name), 0);

    // A header cut short, with an fd on it.
    let (a, mut b) = pair();
    {
        let m = memfd(&name);
        raw_sendmsg(
            a.as_raw_fd(),
            &header(tags::FD, 0)[..5],
            &control(&[m.as_raw_fd()], None),
        )
        .unwrap();
    }
    drop(a);
    assert_eq!(
        b.recv_fd().unwrap_err(),
        CommsError::Truncated {
            expected: 12,
            got: 5
        }
    );
    assert_eq!(open_links(&name), 0);
}

#[test]
fn control_truncation_closes_everything() {
    if crate::sys::skipped_under_qemu(
        "qemu-user's recvmsg hands the kernel a larger control buffer than the caller's, so \
         descriptors past the caller's room are installed and MSG_CTRUNC comes out differently",
    ) {
        return;
    }
    // More descriptors than one read accepts: the kernel drops the excess, reports MSG_CTRUNC,
    // and we close the ones it did install.
    let name = unique("ctrunc");
    let (a, mut b) = pair();
    {
        let fds: Vec<OwnedFd> = (0..40).map(|_| memfd(&name)).collect();
        let raws: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
        raw_sendmsg(a.as_raw_fd(), &header(tags::FD, 0), &control(&raws, None)).unwrap();
    }
    assert_eq!(b.recv_fd().unwrap_err(), CommsError::ControlTruncated);
    assert_eq!(open_links(&name), 0);
    assert!(!b.is_terminated());
}

#[test]
fn malformed_cmsg_from_the_kernel_path() {
    // SCM_RIGHTS whose cmsg_len is not a whole number of descriptors: the kernel accepts it and
    // passes the whole ones; the receiver must cope.
    let name = unique("oddlen");
    let (a, mut b) = pair();
    {
        let fds: Vec<OwnedFd> = (0..2).map(|_| memfd(&name)).collect();
        let mut ctl = control(&[fds[0].as_raw_fd(), fds[1].as_raw_fd()], None);
        // cmsg_len covers two fds plus two stray bytes (CMSG_SPACE still has room for them).
        let hdr_len = std::mem::size_of::<libc::cmsghdr>();
        let odd = (hdr_len + 8 + 2) as libc::size_t;
        ctl.resize(hdr_len + 16, 0);
        ctl[..std::mem::size_of::<libc::size_t>()].copy_from_slice(&odd.to_ne_bytes());
        match raw_sendmsg(a.as_raw_fd(), &header(tags::FD, 0), &ctl) {
            Ok(_) => assert_eq!(b.recv_fd().unwrap_err(), CommsError::FdCount { got: 2 }),
            Err(e) => panic!("kernel refused the odd length: errno {e}"),
        }
    }
    assert_eq!(open_links(&name), 0);
}

#[test]
fn control_parser_is_bounded_on_malformed_input() {
    let hdr_len = std::mem::size_of::<libc::cmsghdr>();
    let mut found = Vec::new();
    let mut parse = |buf: &[u8]| {
        found.clear();
        let s = fd::parse_control(buf, |f| found.push(f));
        (s, found.clone())
    };
    // Empty, shorter than a header.
    assert_eq!(parse(&[]).1, Vec::<RawFd>::new());
    assert_eq!(parse(&[1, 2, 3]).1, Vec::<RawFd>::new());
    // A well-formed SCM_RIGHTS with two fds.
    let good = write_to_vec(
        libc::SCM_RIGHTS,
        &[5i32.to_ne_bytes(), 6i32.to_ne_bytes()].concat(),
    );
    assert_eq!(parse(&good).1, vec![5, 6]);
    // cmsg_len of 0 and below the header size: no infinite loop, nothing read.
    for bad in [0usize, 1, hdr_len - 1] {
        let mut b = good.clone();
        b[..8].copy_from_slice(&(bad as u64).to_ne_bytes());
        assert_eq!(parse(&b).1, Vec::<RawFd>::new());
    }
    // cmsg_len far beyond the buffer (as the kernel writes on MSG_CTRUNC), and at usize::MAX.
    for bad in [hdr_len + 4096, usize::MAX, usize::MAX - 3] {
        let mut b = good.clone();
        b[..8].copy_from_slice(&(bad as u64).to_ne_bytes());
        assert_eq!(parse(&b).1, vec![5, 6], "clipped to the buffer");
    }
    // A credentials message too short to hold a ucred is ignored.
    let short = write_to_vec(libc::SCM_CREDENTIALS, &[1, 2, 3, 4]);
    assert_eq!(parse(&short).0.creds, None);
    let creds = write_to_vec(
        libc::SCM_CREDENTIALS,
        &[7i32.to_ne_bytes(), 8u32.to_ne_bytes(), 9u32.to_ne_bytes()].concat(),
    );
    assert_eq!(
        parse(&creds).0.creds,
        Some(Creds {
            pid: 7,
            uid: 8,
            gid: 9
        })
    );
    // Two disagreeing credentials messages are flagged.
    let other = write_to_vec(
        libc::SCM_CREDENTIALS,
        &[1i32.to_ne_bytes(), 8u32.to_ne_bytes(), 9u32.to_ne_bytes()].concat(),
    );
    assert!(parse(&[creds.clone(), other].concat()).0.creds_conflict);
    // Rights after credentials, with a stray tail.
    let mut both = [creds, good].concat();
    both.extend_from_slice(&[0xff; 7]);
    let (s, f) = parse(&both);
    assert_eq!((s.creds.map(|c| c.pid), f), (Some(7), vec![5, 6]));
}

fn write_to_vec(ty: libc::c_int, data: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 256];
    let n = write_cmsg(&mut out, libc::SOL_SOCKET, ty, data);
    out.truncate(n);
    out
}

// ----- credentials ------------------------------------------------------------------------------

#[test]
fn creds_round_trip() {
    let (mut a, mut b) = pair();
    a.send_creds().unwrap();
    assert_eq!(b.recv_creds().unwrap(), my_creds());
    assert_eq!(
        a.peer_creds().unwrap(),
        my_creds(),
        "SO_PEERCRED of a socketpair is its creator"
    );
}

#[test]
fn creds_fail_without_passcred() {
    let (x, y) = raw_pair();
    let (mut a, mut b) = (Comms::from_fd(x), Comms::from_fd(y));
    a.send_creds().unwrap();
    assert_eq!(b.recv_creds().unwrap_err(), CommsError::NoCredentials);
    assert!(!b.is_terminated());
    b.set_pass_creds(true).unwrap();
    a.send_creds().unwrap();
    assert_eq!(b.recv_creds().unwrap(), my_creds());
}

#[test]
fn recv_creds_fails_on_tag_mismatch_and_closes_fds() {
    let name = unique("creds");
    let (mut a, mut b) = pair();
    a.send_bool(true).unwrap();
    assert_eq!(
        b.recv_creds().unwrap_err(),
        CommsError::TagMismatch {
            expected: tags::CREDS,
            got: tags::BOOL
        }
    );
    {
        let fds: Vec<OwnedFd> = (0..2).map(|_| memfd(&name)).collect();
        let raws: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
        raw_sendmsg(
            a.as_raw_fd(),
            &header(tags::CREDS, 0),
            &control(&raws, Some(my_creds())),
        )
        .unwrap();
    }
    assert_eq!(b.recv_creds().unwrap(), my_creds());
    assert_eq!(
        open_links(&name),
        0,
        "fds smuggled with credentials are closed"
    );
}

// ----- limits, closing, termination -------------------------------------------------------

#[test]
fn send_too_much_data_is_rejected_before_sending() {
    let (mut a, mut b) = pair();
    let len = HARD_MAX_MESSAGE_SIZE as usize + 1;
    // A huge read-only reservation; never touched, so it costs no memory.
    // SAFETY: anonymous private mapping with no address hint; checked for failure below.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    assert_ne!(p, libc::MAP_FAILED);
    // SAFETY: the mapping is `len` readable bytes and lives until the munmap below.
    let huge = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) };
    assert_eq!(
        a.send_bytes(huge),
        Err(CommsError::TooLarge {
            len: len as u64,
            max: HARD_MAX_MESSAGE_SIZE
        })
    );
    // SAFETY: unmapping exactly what we mapped; `huge` is not used afterwards.
    unsafe { libc::munmap(p, len) };
    assert!(!a.is_terminated());
    a.send_u8(3).unwrap();
    assert_eq!(
        b.recv_u8().unwrap(),
        3,
        "nothing of the rejected message went out"
    );
}

// Memory is measured in a child process running only this scenario: in the shared test binary
// other tests (and the backtraces of failing ones) move VmPeak on their own.

#[test]
fn absurd_length_is_rejected_without_allocating() {
    if crate::sys::skipped_under_qemu(
        "the test re-executes its own (aarch64) binary, which the host kernel cannot run",
    ) {
        return;
    }
    let st = run_child("absurd", &[], vec![]).wait().unwrap();
    assert!(st.success(), "{st}");
}

fn absurd_length_scenario() {
    let (a, mut b) = pair();
    let before = vm_peaks();
    let t = Instant::now();
    raw_sendmsg(a.as_raw_fd(), &header(tags::BYTES, 1 << 40), &[]).unwrap();
    assert_eq!(
        b.recv_bytes().unwrap_err(),
        CommsError::TooLarge {
            len: 1 << 40,
            max: DEFAULT_MAX_MESSAGE_SIZE
        }
    );
    assert!(t.elapsed().as_secs() < 2);
    assert!(b.is_terminated(), "the stream cannot be resynchronised");
    assert_eq!(b.recv_u8(), Err(CommsError::Closed));
    let after = vm_peaks();
    assert!(
        after.0 - before.0 < 64 << 10,
        "VmPeak grew by {} KiB",
        after.0 - before.0
    );
    assert!(
        after.1 - before.1 < 16 << 10,
        "VmHWM grew by {} KiB",
        after.1 - before.1
    );
}

#[test]
fn lying_length_within_the_limit_allocates_only_what_arrives() {
    if crate::sys::skipped_under_qemu(
        "the test re-executes its own (aarch64) binary, which the host kernel cannot run",
    ) {
        return;
    }
    let st = run_child("lying", &[], vec![]).wait().unwrap();
    assert!(st.success(), "{st}");
}

fn lying_length_scenario() {
    // The header claims 2 GiB - 1 (accepted: the limit is raised to the hard maximum), 3 MiB
    // arrive, then the peer closes. Memory must follow the 3 MiB, not the claim.
    let (a, mut b) = pair();
    b.set_max_message_size(u64::MAX);
    assert_eq!(b.max_message_size(), HARD_MAX_MESSAGE_SIZE);
    let block = vec![0x5au8; 1 << 20];
    let before = vm_peaks();
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut f = std::fs::File::from(a.into_fd().unwrap());
            f.write_all(&header(tags::BYTES, HARD_MAX_MESSAGE_SIZE))
                .unwrap();
            for _ in 0..3 {
                f.write_all(&block).unwrap();
            }
        });
        let e = b.recv_bytes().unwrap_err();
        assert_eq!(
            e,
            CommsError::Truncated {
                expected: HEADER_LEN as u64 + HARD_MAX_MESSAGE_SIZE,
                got: 12 + (3 << 20)
            }
        );
    });
    let after = vm_peaks();
    // KiB. A buffer of the claimed size would add 2 GiB of address space; the sender thread
    // accounts for a stack and possibly a malloc arena.
    assert!(
        after.0 - before.0 < 512 << 10,
        "VmPeak grew by {} KiB",
        after.0 - before.0
    );
    assert!(
        after.1 - before.1 < 64 << 10,
        "VmHWM grew by {} KiB",
        after.1 - before.1
    );
}

#[test]
fn fill_target_grows_by_chunks() {
    assert_eq!(wire::next_fill_target(0, 10), 10);
    assert_eq!(wire::next_fill_target(0, 1 << 30), wire::READ_CHUNK);
    assert_eq!(wire::next_fill_target(5, 1 << 30), 5 + wire::READ_CHUNK);
    assert_eq!(
        wire::next_fill_target(usize::MAX - 1, usize::MAX),
        usize::MAX
    );
}

#[test]
fn message_size_limit_is_per_receiver() {
    let (mut a, mut b) = pair();
    b.set_max_message_size(4);
    a.send_bytes(&[1, 2, 3, 4]).unwrap();
    assert_eq!(b.recv_bytes().unwrap(), vec![1, 2, 3, 4]);
    a.send_bytes(&[1, 2, 3, 4, 5]).unwrap();
    assert_eq!(
        b.recv_bytes().unwrap_err(),
        CommsError::TooLarge { len: 5, max: 4 }
    );
    assert!(b.is_terminated());
}

#[test]
fn closed_peer_is_reported() {
    let (mut a, b) = pair();
    drop(b);
    assert_eq!(a.recv_u32(), Err(CommsError::Closed));
    assert!(a.is_terminated());

    let (mut a, b) = pair();
    drop(b);
    // MSG_NOSIGNAL: EPIPE, not SIGPIPE (which would kill the test binary).
    assert_eq!(a.send_u32(1), Err(CommsError::Closed));
    assert!(a.is_terminated());

    // Messages sent before the close are still delivered.
    let (mut a, mut b) = pair();
    a.send_string("last words").unwrap();
    drop(a);
    assert_eq!(b.recv_string().unwrap(), "last words");
    assert_eq!(b.recv_string(), Err(CommsError::Closed));
}

#[test]
fn every_operation_fails_after_terminate() {
    let (mut a, mut b) = pair();
    a.terminate();
    assert!(a.is_terminated());
    assert_eq!(a.as_raw_fd(), -1);
    let m = memfd("term");
    assert_eq!(a.send_bool(true), Err(CommsError::Closed));
    assert_eq!(a.send_u64(1), Err(CommsError::Closed));
    assert_eq!(a.send_string("x"), Err(CommsError::Closed));
    assert_eq!(a.send_bytes(b"x"), Err(CommsError::Closed));
    assert_eq!(a.send_custom(1, b"x"), Err(CommsError::Closed));
    assert_eq!(a.send_barrier(), Err(CommsError::Closed));
    assert_eq!(a.send_fd(m.as_fd()), Err(CommsError::Closed));
    assert_eq!(a.send_creds(), Err(CommsError::Closed));
    assert_eq!(a.recv_bool(), Err(CommsError::Closed));
    assert_eq!(a.recv_i8(), Err(CommsError::Closed));
    assert_eq!(a.recv_string(), Err(CommsError::Closed));
    assert_eq!(a.recv_bytes(), Err(CommsError::Closed));
    assert_eq!(a.recv_tlv(), Err(CommsError::Closed));
    assert_eq!(a.recv_fd().unwrap_err(), CommsError::Closed);
    assert_eq!(a.recv_creds(), Err(CommsError::Closed));
    assert_eq!(a.peer_creds(), Err(CommsError::Closed));
    assert_eq!(a.set_timeout(None), Err(CommsError::Closed));
    assert!(a.into_fd().is_none());
    // The peer sees the end of the stream.
    assert_eq!(b.recv_tlv(), Err(CommsError::Closed));
}

#[test]
fn timeouts_keep_the_channel_between_messages_only() {
    let (a, mut b) = pair();
    b.set_timeout(Some(Duration::from_millis(30))).unwrap();
    assert_eq!(b.recv_u32(), Err(CommsError::Timeout));
    assert!(!b.is_terminated(), "nothing was read: still in sync");
    let mut a = a;
    a.send_u32(5).unwrap();
    assert_eq!(b.recv_u32().unwrap(), 5);
    // Half a header, then silence: the stream position is lost, so the channel ends.
    raw_sendmsg(a.as_raw_fd(), &header(tags::UINT32, 4)[..5], &[]).unwrap();
    assert_eq!(b.recv_u32(), Err(CommsError::Timeout));
    assert!(b.is_terminated());
}

#[test]
fn error_codes_are_stable_and_distinct() {
    let all = [
        (CommsError::Closed, 1),
        (
            CommsError::Truncated {
                expected: 1,
                got: 0,
            },
            2,
        ),
        (
            CommsError::TagMismatch {
                expected: 1,
                got: 2,
            },
            3,
        ),
        (
            CommsError::BadLength {
                tag: 1,
                expected: 1,
                got: 2,
            },
            4,
        ),
        (CommsError::TooLarge { len: 2, max: 1 }, 5),
        (CommsError::BadCustomTag(0x8000_0000), 6),
        (CommsError::FdCount { got: 2 }, 7),
        (CommsError::ControlTruncated, 8),
        (CommsError::NoCredentials, 9),
        (
            CommsError::InvalidValue {
                tag: 1,
                reason: "r",
            },
            10,
        ),
        (CommsError::Timeout, 11),
        (CommsError::InvalidFd { fd: 3, reason: "r" }, 12),
        (CommsError::Io(libc::EIO), 13),
    ];
    for (e, code) in &all {
        assert_eq!(e.code(), *code, "{e:?}");
        assert!(!e.to_string().is_empty());
    }
    assert_eq!(CommsError::Io(libc::EIO).errno(), Some(libc::EIO));
    let top: crate::Error = CommsError::Closed.into();
    assert_eq!(top.to_string(), "comms: channel closed");
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
