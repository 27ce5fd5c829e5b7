//! Descriptors and credentials: fds sent and received, extra or stray fds closed on every
//! failure path, a bounded control-message parser, `SCM_CREDENTIALS`.

// Audited unsafe: raw fds and socketpairs in tests.
#![allow(unsafe_code)]

use super::*;

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
