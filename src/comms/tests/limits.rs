//! Limits, closing and termination: size limits (memory measured in a child process), a closed
//! peer, terminate, timeouts and the error codes.

// Audited unsafe: raw fds and socketpairs in tests.
#![allow(unsafe_code)]

use super::*;

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

pub(super) fn absurd_length_scenario() {
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

pub(super) fn lying_length_scenario() {
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
