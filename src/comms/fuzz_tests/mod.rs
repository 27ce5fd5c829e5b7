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
//!
//! Here: the random source, the driver (`one_input`), the leak checks and both loops;
//! `inputs.rs` builds and mutates the byte streams; `reference.rs` the reference decoder, the
//! receives and their expected results.

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

mod inputs;
mod reference;

use inputs::make_input;
use reference::{
    expect, matching_op, message_starts, pick_op, reference, run_op, Item, Op, Outcome,
};

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

/// A `sendmsg` of the input: its first byte's offset and how many descriptors rode on it.
#[derive(Debug, Clone, Copy)]
struct Chunk {
    start: usize,
    len: usize,
    fds: usize,
    creds: bool,
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
