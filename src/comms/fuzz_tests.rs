//! A bounded, deterministic mutation fuzzer of the receive path, run by `cargo test`.
//!
//! Each input is a byte stream built from well-formed messages and then mutated (bit flips,
//! interesting lengths and tags, insertions, deletions, splices, truncation). It is written into a
//! real socketpair in one to four `sendmsg` calls, each optionally carrying memfds (`SCM_RIGHTS`,
//! sometimes more than one read accepts) and credentials; then the sender closes, so every read
//! ends and nothing can hang. The receiver runs random typed receives until the channel ends.
//!
//! The expected result of every receive is computed independently from the bytes, the chunk
//! boundaries and the kernel's rule for descriptors (they arrive with the read that consumes the
//! first byte of the `sendmsg` that carried them), so the fuzzer checks framing, tag and length
//! checks, descriptor accounting and termination, not just the absence of panics. At the end no
//! memfd from the pool and no socket from any input may still be open in this process.
//!
//! A second, cheaper loop feeds random control buffers straight to the cmsg parser.

// Tests: their casts are of constants and of values the tests make themselves.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]
// Audited unsafe: raw fds in the fuzz driver.
#![allow(unsafe_code)]

use super::fd::{parse_control, write_cmsg, MAX_FDS_PER_READ};
use super::tests::util::{control, memfd, my_creds, open_links, raw_sendmsg, unique};
use super::wire::Header;
use super::*;
use std::collections::{BTreeMap, HashSet};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::Instant;

/// xorshift64*: small, fast, and the same sequence on every run.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    /// Between 0 and `n - 1` random bytes.
    fn bytes_upto(&mut self, n: u64) -> Vec<u8> {
        let k = self.below(n) as usize;
        self.bytes(k)
    }
}

const SEEDS: [u64; 4] = [
    0x5eed_0001,
    0xc0ff_ee00_1234,
    0x0dd_ba11,
    0x1234_5678_9abc_def0,
];
/// Inputs per seed under `cargo test`; `SBX_COMMS_FUZZ_INPUTS` sets another count for a longer
/// campaign (the same deterministic streams, continued).
const INPUTS_PER_SEED: usize = 5_000;
const MAX_INPUT: usize = 4096;
const POOL: usize = 12;

const ALL_TAGS: [u32; 21] = [
    tags::BOOL,
    tags::INT8,
    tags::UINT8,
    tags::INT16,
    tags::UINT16,
    tags::INT32,
    tags::UINT32,
    tags::INT64,
    tags::UINT64,
    tags::STRING,
    tags::BYTES,
    tags::PROTO2,
    tags::BARRIER,
    tags::VERSION,
    tags::FD,
    tags::CREDS,
    tags::COMMS_UPGRADE,
    0,
    1,
    tags::MAX_CUSTOM,
    0xffff_ffff,
];

const INTERESTING_LENS: [u64; 14] = [
    0,
    1,
    2,
    4,
    8,
    11,
    12,
    13,
    63,
    64,
    HARD_MAX_MESSAGE_SIZE,
    HARD_MAX_MESSAGE_SIZE + 1,
    1 << 40,
    u64::MAX,
];

/// One well-formed message of a random kind.
fn seed_message(rng: &mut Rng) -> Vec<u8> {
    let (tag, payload): (u32, Vec<u8>) = match rng.below(14) {
        0 => (tags::BOOL, vec![rng.below(3) as u8]),
        1 => (tags::INT8, rng.bytes(1)),
        2 => (tags::UINT8, rng.bytes(1)),
        3 => (rng.pick(&[tags::INT16, tags::UINT16]), rng.bytes(2)),
        4 => (rng.pick(&[tags::INT32, tags::UINT32]), rng.bytes(4)),
        5 => (rng.pick(&[tags::INT64, tags::UINT64]), rng.bytes(8)),
        6 => {
            let n = rng.below(24) as usize;
            let s: String = (0..n)
                .map(|_| rng.pick(&['a', 'z', ' ', 'é', '✓', '\0']))
                .collect();
            (tags::STRING, s.into_bytes())
        }
        7 => (tags::STRING, rng.bytes_upto(8)),
        8 => (tags::BYTES, rng.bytes_upto(64)),
        9 => (tags::BARRIER, vec![]),
        10 => (tags::FD, vec![]),
        11 => (tags::CREDS, vec![]),
        12 => (
            rng.below(u64::from(tags::MAX_CUSTOM) + 1) as u32 % 4,
            rng.bytes_upto(16),
        ),
        _ => {
            // A header whose length lies.
            let mut m = Header {
                tag: rng.pick(&ALL_TAGS),
                len: rng.pick(&INTERESTING_LENS),
            }
            .encode()
            .to_vec();
            m.extend(rng.bytes_upto(16));
            return m;
        }
    };
    let mut m = Header {
        tag,
        len: payload.len() as u64,
    }
    .encode()
    .to_vec();
    m.extend(payload);
    m
}

fn mutate(rng: &mut Rng, data: &mut Vec<u8>) {
    for _ in 0..rng.below(6) {
        let len = data.len() as u64;
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len) as usize;
                data[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len) as usize;
                let r = rng.next() as u8;
                data[i] = rng.pick(&[0, 1, 0x7f, 0x80, 0xff, r]);
            }
            2 => {
                let i = rng.below(len + 1) as usize;
                let ins = rng
                    .bytes_upto(16)
                    .into_iter()
                    .chain([0x41])
                    .collect::<Vec<u8>>();
                data.splice(i..i, ins);
            }
            3 if len > 0 => {
                let i = rng.below(len) as usize;
                let j = (i + 1 + rng.below(16) as usize).min(data.len());
                data.drain(i..j);
            }
            4 if len >= 8 => {
                let i = rng.below(len - 7) as usize;
                data[i..i + 8].copy_from_slice(&rng.pick(&INTERESTING_LENS).to_ne_bytes());
            }
            5 if len >= 4 => {
                let i = rng.below(len - 3) as usize;
                data[i..i + 4].copy_from_slice(&rng.pick(&ALL_TAGS).to_ne_bytes());
            }
            6 if len > 0 => {
                let i = rng.below(len) as usize;
                let j = (i + 1 + rng.below(32) as usize).min(data.len());
                let at = rng.below(len + 1) as usize;
                let copy = data[i..j].to_vec();
                data.splice(at..at, copy);
            }
            7 if len > 0 => data.truncate(rng.below(len) as usize),
            _ => {}
        }
    }
    data.truncate(MAX_INPUT);
}

fn make_input(rng: &mut Rng) -> Vec<u8> {
    if rng.chance(8) {
        let n = rng.below(256) as usize;
        return rng.bytes(n);
    }
    let mut data = Vec::new();
    for _ in 0..=rng.below(5) {
        data.extend(seed_message(rng));
    }
    if rng.chance(85) {
        mutate(rng, &mut data);
    }
    data
}

/// What the reference decoder expects next in the stream.
#[derive(Debug, Clone)]
enum Item {
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

/// A `sendmsg` of the input: its first byte's offset and how many descriptors rode on it.
#[derive(Debug, Clone, Copy)]
struct Chunk {
    start: usize,
    len: usize,
    fds: usize,
    creds: bool,
}

/// Decodes `data` as the receiver must: whole messages until the end, an oversize length, or a
/// cut. Descriptors belong to a message if their `sendmsg` began inside its header; those that
/// began inside a payload are closed by the receiver and credited to nobody.
fn reference(data: &[u8], chunks: &[Chunk], max: u64) -> Vec<Item> {
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
fn message_starts(data: &[u8], max: u64) -> Vec<(usize, u32)> {
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
enum Op {
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
fn matching_op(item: &Item) -> Op {
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

fn pick_op(rng: &mut Rng) -> Op {
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
type Outcome = Result<Vec<u8>, CommsError>;

fn creds_bytes(c: Creds) -> Vec<u8> {
    [
        c.pid.to_ne_bytes(),
        c.uid.to_ne_bytes(),
        c.gid.to_ne_bytes(),
    ]
    .concat()
}

fn run_op(op: Op, c: &mut Comms, pool_name: &str) -> Outcome {
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

fn expect(op: Op, item: &Item) -> Outcome {
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

fn socket_inode(fd: RawFd) -> u64 {
    // SAFETY: fstat writes into a zeroed stat buffer we own; `fd` is open (owned by a live Comms).
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    assert_eq!(unsafe { libc::fstat(fd, &mut st) }, 0);
    st.st_ino
}

fn open_socket_inodes(of: &HashSet<u64>) -> usize {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return 0;
    };
    dir.filter_map(std::result::Result::ok)
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter_map(|t| {
            let t = t.to_string_lossy().into_owned();
            t.strip_prefix("socket:[")?
                .strip_suffix(']')?
                .parse::<u64>()
                .ok()
        })
        .filter(|ino| of.contains(ino))
        .count()
}

struct Stats {
    inputs: usize,
    bytes: usize,
    fds_sent: usize,
    fds_received: usize,
    ops: usize,
    outcomes: BTreeMap<&'static str, usize>,
}

fn outcome_name(o: &Outcome) -> &'static str {
    match o {
        Ok(_) => "ok",
        Err(CommsError::Closed) => "closed",
        Err(CommsError::Truncated { .. }) => "truncated",
        Err(CommsError::TagMismatch { .. }) => "tag_mismatch",
        Err(CommsError::BadLength { .. }) => "bad_length",
        Err(CommsError::TooLarge { .. }) => "too_large",
        Err(CommsError::FdCount { .. }) => "fd_count",
        Err(CommsError::ControlTruncated) => "control_truncated",
        Err(CommsError::InvalidValue { .. }) => "invalid_value",
        Err(_) => "other",
    }
}

/// One input, end to end. Panics (with the details needed to replay it) on any disagreement.
fn one_input(
    rng: &mut Rng,
    pool: &[OwnedFd],
    pool_name: &str,
    inodes: &mut HashSet<u64>,
    stats: &mut Stats,
) {
    let data = make_input(rng);
    let max = if rng.chance(25) {
        rng.below(64)
    } else {
        DEFAULT_MAX_MESSAGE_SIZE
    };
    // Where whole messages start (descriptors play no part in framing): cuts land there often,
    // so that fd messages get their descriptor on their own header as a real sender does.
    let msg_starts = message_starts(&data, max);
    let mut cuts: Vec<usize> = (0..rng.below(4))
        .map(|_| rng.below(data.len() as u64 + 1) as usize)
        .collect();
    cuts.extend(
        msg_starts
            .iter()
            .filter(|_| rng.chance(50))
            .map(|&(at, _)| at),
    );
    cuts.extend([0, data.len()]);
    cuts.sort_unstable();
    cuts.dedup();
    let chunks: Vec<Chunk> = cuts
        .windows(2)
        .map(|w| {
            let fd_header = msg_starts
                .iter()
                .any(|&(at, tag)| at == w[0] && tag == tags::FD);
            let fds = match rng.below(20) {
                _ if fd_header && rng.chance(70) => 1,
                0..=10 => 0,
                11..=15 => 1,
                16..=17 => 2 + rng.below(3) as usize,
                _ => MAX_FDS_PER_READ + 1 + rng.below(3) as usize,
            };
            Chunk {
                start: w[0],
                len: w[1] - w[0],
                fds,
                creds: rng.chance(15),
            }
        })
        .collect();

    let (tx, mut rx) = Comms::pair().unwrap();
    inodes.insert(socket_inode(tx.as_raw_fd()));
    inodes.insert(socket_inode(rx.as_raw_fd()));
    rx.set_max_message_size(max);
    // A safety net only: the sender is closed before reading starts, so no read can block.
    rx.set_timeout(Some(Duration::from_secs(5))).unwrap();
    for c in &chunks {
        let fds: Vec<RawFd> = (0..c.fds)
            .map(|i| pool[(c.start + i) % pool.len()].as_raw_fd())
            .collect();
        let ctl = control(&fds, c.creds.then(my_creds));
        let n = raw_sendmsg(tx.as_raw_fd(), &data[c.start..c.start + c.len], &ctl).unwrap();
        assert_eq!(n, c.len, "short sendmsg");
        stats.fds_sent += c.fds;
    }
    drop(tx);

    let items = reference(&data, &chunks, max);
    let mut idx = 0;
    let mut ended = false;
    // One receive per expected item, plus one more that must find the channel closed.
    for step in 0..=items.len() {
        let op = match items.get(idx) {
            Some(item) if rng.chance(60) => matching_op(item),
            _ => pick_op(rng),
        };
        let want = if ended {
            Err(CommsError::Closed)
        } else {
            expect(op, &items[idx])
        };
        let got = run_op(op, &mut rx, pool_name);
        *stats.outcomes.entry(outcome_name(&got)).or_default() += 1;
        if op == Op::Fd && got.is_ok() {
            stats.fds_received += 1;
        }
        stats.ops += 1;
        assert_eq!(
            got,
            want,
            "step {step}, op {op:?}, item {:?}",
            items.get(idx)
        );
        if !ended {
            ended = !matches!(items[idx], Item::Msg { .. });
            idx += 1;
        }
        assert_eq!(
            rx.is_terminated(),
            ended,
            "termination state after step {step}"
        );
    }
    assert!(rx.is_terminated());
    stats.inputs += 1;
    stats.bytes += data.len();
}

#[test]
fn fuzz_decoder_through_a_real_socketpair() {
    if crate::sys::skipped_under_qemu(
        "qemu-user's recvmsg hands the kernel a larger control buffer than the caller's, so \
         descriptors past the caller's room are installed and MSG_CTRUNC comes out differently",
    ) {
        return;
    }
    let pool_name = unique("fuzzpool");
    let pool: Vec<OwnedFd> = (0..POOL).map(|_| memfd(&pool_name)).collect();
    assert_eq!(open_links(&pool_name), POOL);
    let mut inodes = HashSet::new();
    let mut stats = Stats {
        inputs: 0,
        bytes: 0,
        fds_sent: 0,
        fds_received: 0,
        ops: 0,
        outcomes: BTreeMap::new(),
    };
    let per_seed = std::env::var("SBX_COMMS_FUZZ_INPUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(INPUTS_PER_SEED);
    let t = Instant::now();
    for seed in SEEDS {
        let mut rng = Rng::new(seed);
        for i in 0..per_seed {
            let before = rng.0;
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                one_input(&mut rng, &pool, &pool_name, &mut inodes, &mut stats);
            }));
            if let Err(p) = r {
                eprintln!(
                    "comms fuzz: failure at seed {seed:#x}, input {i}, rng state {before:#x}"
                );
                std::panic::resume_unwind(p);
            }
            if i % 1000 == 999 {
                assert_eq!(
                    open_links(&pool_name),
                    POOL,
                    "descriptors leaked (seed {seed:#x}, input {i})"
                );
            }
        }
    }
    let elapsed = t.elapsed();
    assert_eq!(open_links(&pool_name), POOL, "received descriptors leaked");
    assert_eq!(open_socket_inodes(&inodes), 0, "sockets leaked");
    eprintln!(
        "comms fuzz: {} inputs, {} bytes, {} fds sent, {} received by recv_fd, {} receives \
         in {:.2?}; outcomes {:?}",
        stats.inputs,
        stats.bytes,
        stats.fds_sent,
        stats.fds_received,
        stats.ops,
        elapsed,
        stats.outcomes
    );
    // Every kind of outcome was reached, so the fuzzer is not stuck in one corner.
    for kind in [
        "ok",
        "closed",
        "truncated",
        "tag_mismatch",
        "bad_length",
        "too_large",
        "fd_count",
        "control_truncated",
        "invalid_value",
    ] {
        assert!(
            stats.outcomes.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} outcome"
        );
    }
    assert!(stats.fds_received > 0, "no descriptor was ever received");
    assert!(elapsed.as_secs() < 120, "fuzz run took {elapsed:?}");
}

#[test]
fn fuzz_control_parser() {
    let hdr = std::mem::size_of::<libc::cmsghdr>();
    let mut rng = Rng::new(0xc0_5e_ed);
    let mut total_fds = 0usize;
    for _ in 0..20_000 {
        // Start from one to three valid control messages, then corrupt.
        let mut buf = vec![0u8; 512];
        let mut len = 0;
        for _ in 0..=rng.below(3) {
            let (ty, data) = match rng.below(3) {
                0 => (libc::SCM_RIGHTS, {
                    let k = 4 * rng.below(6) as usize;
                    rng.bytes(k)
                }),
                1 => (libc::SCM_CREDENTIALS, rng.bytes(12)),
                _ => (rng.below(8) as libc::c_int, rng.bytes_upto(20)),
            };
            len += write_cmsg(&mut buf[len..], libc::SOL_SOCKET, ty, &data);
        }
        buf.truncate(len);
        for _ in 0..rng.below(4) {
            let l = buf.len() as u64;
            match rng.below(4) {
                0 if l >= 8 => {
                    let i = (rng.below(l / 8) * 8) as usize;
                    let r = rng.next();
                    let v = rng.pick(&[
                        0u64,
                        1,
                        hdr as u64 - 1,
                        hdr as u64,
                        4096,
                        u64::MAX,
                        u64::MAX - 6,
                        r,
                    ]);
                    buf[i..i + 8].copy_from_slice(&v.to_ne_bytes());
                }
                1 if l > 0 => {
                    let i = rng.below(l) as usize;
                    buf[i] = rng.next() as u8;
                }
                2 => buf.truncate(rng.below(l + 1) as usize),
                _ => buf.extend(rng.bytes_upto(24)),
            }
        }
        let mut n = 0usize;
        let _ = parse_control(&buf, |_| n += 1);
        assert!(n * 4 <= buf.len(), "more descriptors than bytes");
        total_fds += n;
    }
    assert!(total_fds > 0);
}
