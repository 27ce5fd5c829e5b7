//! The comms decoder against a hostile peer: the input is written raw into one end of a
//! socket pair and every kind of receive runs on the other. Nothing may panic, hang or allocate
//! beyond the channel's maximum message size.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sbx::comms::Comms;
use std::io::Write;
use std::os::fd::{FromRawFd, IntoRawFd};

fuzz_target!(|data: &[u8]| {
    let Ok((host, peer)) = std::os::unix::net::UnixStream::pair() else {
        return;
    };
    // The first byte picks the receive; the rest is the stream the peer sends.
    let Some((&which, stream)) = data.split_first() else {
        return;
    };
    let mut peer = peer;
    if peer.write_all(stream).is_err() {
        return;
    }
    drop(peer);
    // SAFETY: a fresh fd from the pair, owned by the channel from here on.
    let mut c = Comms::from_fd(unsafe { std::os::fd::OwnedFd::from_raw_fd(host.into_raw_fd()) });
    c.set_max_message_size(1 << 16);
    for _ in 0..4 {
        let done = match which % 8 {
            0 => c.recv_tlv().is_err(),
            1 => c.recv_bool().is_err(),
            2 => c.recv_string().is_err(),
            3 => c.recv_bytes().is_err(),
            4 => c.recv_barrier().is_err(),
            5 => c.recv_fd().is_err(),
            6 => c.recv_creds().is_err(),
            _ => c.recv_custom(u32::from(which)).is_err(),
        };
        if done && c.is_terminated() {
            break;
        }
    }
});
