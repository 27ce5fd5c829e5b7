//! The sandboxee's decoder of the policy message the host sends (`client::decode_policy`): any
//! tag and bytes give a program or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (tag, bytes) = match data.split_first_chunk::<4>() {
        Some((t, rest)) => (u32::from_ne_bytes(*t), rest),
        None => (sbx::client::POLICY_TAG, data),
    };
    if let Ok(program) = sbx::client::decode_policy(tag, bytes) {
        assert!(!program.is_empty() && program.len() <= 4096);
    }
    let _ = sbx::client::decode_policy(sbx::client::POLICY_TAG, data);
});
