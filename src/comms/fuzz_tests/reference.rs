//! The reference decoder (what the receiver must make of the bytes, the chunk boundaries and
//! the descriptors), the typed receives the fuzzer runs, and each one's expected outcome.

use super::*;

/// What the reference decoder expects next in the stream.
#[derive(Debug, Clone)]
pub(super) enum Item {
    Msg {
        tag: u32,
        payload: Vec<u8>,
        fds: u32,
        ctrunc: bool,
    },
    TooLarge {
        len: u64,
        max: u64,
    },
    Truncated {
        expected: u64,
        got: u64,
    },
    End,
}

/// Decodes `data` as the receiver must: whole messages until the end, an oversize length, or a
/// cut. Descriptors belong to a message if their `sendmsg` began inside its header; those that
/// began inside a payload are closed by the receiver and credited to nobody.
pub(super) fn reference(data: &[u8], chunks: &[Chunk], max: u64) -> Vec<Item> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    loop {
        let rest = data.len() - pos;
        if rest == 0 {
            out.push(Item::End);
            return out;
        }
        if rest < HEADER_LEN {
            out.push(Item::Truncated {
                expected: HEADER_LEN as u64,
                got: rest as u64,
            });
            return out;
        }
        let raw: [u8; HEADER_LEN] = data[pos..pos + HEADER_LEN].try_into().unwrap();
        let h = Header::decode(&raw);
        if h.len > max {
            out.push(Item::TooLarge { len: h.len, max });
            return out;
        }
        let total = HEADER_LEN as u64 + h.len;
        if (rest as u64) < total {
            out.push(Item::Truncated {
                expected: total,
                got: rest as u64,
            });
            return out;
        }
        let in_header = chunks
            .iter()
            .filter(|c| c.start >= pos && c.start < pos + HEADER_LEN);
        let fds = in_header.clone().map(|c| c.fds).sum::<usize>() as u32;
        let ctrunc = in_header.clone().any(|c| c.fds > MAX_FDS_PER_READ);
        let payload = data[pos + HEADER_LEN..pos + total as usize].to_vec();
        out.push(Item::Msg {
            tag: h.tag,
            payload,
            fds,
            ctrunc,
        });
        pos += total as usize;
    }
}

/// Offsets and tags of the complete messages at the front of `data`.
pub(super) fn message_starts(data: &[u8], max: u64) -> Vec<(usize, u32)> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while data.len() - pos >= HEADER_LEN {
        let h = Header::decode(&data[pos..pos + HEADER_LEN].try_into().unwrap());
        if h.len > max || ((data.len() - pos - HEADER_LEN) as u64) < h.len {
            break;
        }
        out.push((pos, h.tag));
        pos += HEADER_LEN + h.len as usize;
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Tlv,
    Bool,
    Fixed(u32, usize),
    Str,
    Bytes,
    Barrier,
    Fd,
    Creds,
    Custom(u32),
}

/// The receive that matches the next message, so that well-formed messages are often received
/// successfully instead of mostly failing on a tag mismatch.
pub(super) fn matching_op(item: &Item) -> Op {
    let Item::Msg { tag, .. } = item else {
        return Op::Tlv;
    };
    match *tag {
        tags::BOOL => Op::Bool,
        t @ (tags::INT8 | tags::UINT8) => Op::Fixed(t, 1),
        t @ (tags::INT16 | tags::UINT16) => Op::Fixed(t, 2),
        t @ (tags::INT32 | tags::UINT32) => Op::Fixed(t, 4),
        t @ (tags::INT64 | tags::UINT64) => Op::Fixed(t, 8),
        tags::STRING => Op::Str,
        tags::BYTES => Op::Bytes,
        tags::BARRIER => Op::Barrier,
        tags::FD => Op::Fd,
        tags::CREDS => Op::Creds,
        t if t <= tags::MAX_CUSTOM => Op::Custom(t),
        _ => Op::Tlv,
    }
}

pub(super) fn pick_op(rng: &mut Rng) -> Op {
    match rng.below(12) {
        0 | 1 => Op::Tlv,
        2 => Op::Bool,
        3 => {
            let (t, n) = rng.pick(&[
                (tags::INT8, 1),
                (tags::UINT8, 1),
                (tags::INT16, 2),
                (tags::UINT16, 2),
                (tags::INT32, 4),
                (tags::UINT32, 4),
                (tags::INT64, 8),
                (tags::UINT64, 8),
            ]);
            Op::Fixed(t, n)
        }
        4 => Op::Str,
        5 => Op::Bytes,
        6 => Op::Barrier,
        7 | 8 => Op::Fd,
        9 => Op::Creds,
        _ => Op::Custom(rng.pick(&[0, 1, 2, 3, tags::MAX_CUSTOM])),
    }
}

/// A receive's result, reduced to bytes so the expected and actual results compare directly.
pub(super) type Outcome = Result<Vec<u8>, CommsError>;

fn creds_bytes(c: Creds) -> Vec<u8> {
    [
        c.pid.to_ne_bytes(),
        c.uid.to_ne_bytes(),
        c.gid.to_ne_bytes(),
    ]
    .concat()
}

pub(super) fn run_op(op: Op, c: &mut Comms, pool_name: &str) -> Outcome {
    match op {
        Op::Tlv => c
            .recv_tlv()
            .map(|(t, p)| [t.to_ne_bytes().to_vec(), p].concat()),
        Op::Bool => c.recv_bool().map(|b| vec![u8::from(b)]),
        Op::Fixed(t, _) => match t {
            tags::INT8 => c.recv_i8().map(|v| v.to_ne_bytes().to_vec()),
            tags::UINT8 => c.recv_u8().map(|v| v.to_ne_bytes().to_vec()),
            tags::INT16 => c.recv_i16().map(|v| v.to_ne_bytes().to_vec()),
            tags::UINT16 => c.recv_u16().map(|v| v.to_ne_bytes().to_vec()),
            tags::INT32 => c.recv_i32().map(|v| v.to_ne_bytes().to_vec()),
            tags::UINT32 => c.recv_u32().map(|v| v.to_ne_bytes().to_vec()),
            tags::INT64 => c.recv_i64().map(|v| v.to_ne_bytes().to_vec()),
            _ => c.recv_u64().map(|v| v.to_ne_bytes().to_vec()),
        },
        Op::Str => c.recv_string().map(String::into_bytes),
        Op::Bytes => c.recv_bytes(),
        Op::Barrier => c.recv_barrier().map(|()| vec![]),
        Op::Fd => c.recv_fd().map(|f| {
            let target = std::fs::read_link(format!("/proc/self/fd/{}", f.as_raw_fd())).unwrap();
            assert!(
                target.to_string_lossy().contains(pool_name),
                "received fd is not ours: {target:?}"
            );
            vec![]
        }),
        Op::Creds => c.recv_creds().map(creds_bytes),
        Op::Custom(t) => c.recv_custom(t),
    }
}

pub(super) fn expect(op: Op, item: &Item) -> Outcome {
    let (tag, payload, fds, ctrunc) = match item {
        Item::End => return Err(CommsError::Closed),
        Item::TooLarge { len, max } => {
            return Err(CommsError::TooLarge {
                len: *len,
                max: *max,
            })
        }
        Item::Truncated { expected, got } => {
            return Err(CommsError::Truncated {
                expected: *expected,
                got: *got,
            })
        }
        Item::Msg {
            tag,
            payload,
            fds,
            ctrunc,
        } => (*tag, payload, *fds, *ctrunc),
    };
    let want = |t: u32| {
        if tag == t {
            Ok(())
        } else {
            Err(CommsError::TagMismatch {
                expected: t,
                got: tag,
            })
        }
    };
    let sized = |t: u32, n: usize| {
        want(t)?;
        if payload.len() == n {
            Ok(())
        } else {
            Err(CommsError::BadLength {
                tag: t,
                expected: n as u64,
                got: payload.len() as u64,
            })
        }
    };
    match op {
        Op::Tlv => Ok([tag.to_ne_bytes().to_vec(), payload.clone()].concat()),
        Op::Bool => {
            sized(tags::BOOL, 1)?;
            if payload[0] > 1 {
                return Err(CommsError::InvalidValue {
                    tag: tags::BOOL,
                    reason: "bool is neither 0 nor 1",
                });
            }
            Ok(payload.clone())
        }
        Op::Fixed(t, n) => sized(t, n).map(|()| payload.clone()),
        Op::Str => {
            want(tags::STRING)?;
            match std::str::from_utf8(payload) {
                Ok(_) => Ok(payload.clone()),
                Err(_) => Err(CommsError::InvalidValue {
                    tag: tags::STRING,
                    reason: "string is not UTF-8",
                }),
            }
        }
        Op::Bytes => want(tags::BYTES).map(|()| payload.clone()),
        Op::Barrier => sized(tags::BARRIER, 0).map(|()| vec![]),
        Op::Fd => {
            sized(tags::FD, 0)?;
            if ctrunc {
                Err(CommsError::ControlTruncated)
            } else if fds != 1 {
                Err(CommsError::FdCount { got: fds })
            } else {
                Ok(vec![])
            }
        }
        Op::Creds => sized(tags::CREDS, 0).map(|()| creds_bytes(my_creds())),
        Op::Custom(t) => want(t).map(|()| payload.clone()),
    }
}
