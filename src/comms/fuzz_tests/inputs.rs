//! The fuzzer's inputs: well-formed messages of every kind, then mutated (bit flips, interesting
//! lengths and tags, insertions, deletions, splices, truncation).

use super::*;

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

pub(super) fn make_input(rng: &mut Rng) -> Vec<u8> {
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
