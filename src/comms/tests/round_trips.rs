//! Typed round trips: integers, bools, strings, bytes, custom tags and barriers, sandbox2's wire
//! format, and what a type or length mismatch does to the stream.

use super::*;

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
