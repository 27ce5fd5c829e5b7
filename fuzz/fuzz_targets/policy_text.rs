//! Text and bytes a user or a sandboxee hands the policy layer: policy files
//! (`PolicyBuilder::load_rules`), network allow-list specs (`Endpoint::parse`) and the sockaddr
//! bytes the network proxy copies from a sandboxee (`Target::from_sockaddr`, then a decision).
//! None may panic; a file either applies whole (and builds or fails cleanly) or not at all.
//! Host names are not fuzzed (they would be resolved): specs and files naming one are skipped.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sbx::policy::net::{Endpoint, NetPolicy, OnDenied, Target};
use sbx::PolicyBuilder;

/// Whether `spec` would be looked up in DNS (a host part that is not an address literal).
fn names_a_host(spec: &str) -> bool {
    if spec.starts_with("unix:") || spec.starts_with("abstract:") {
        return false;
    }
    let rest = spec.strip_prefix("tcp:").unwrap_or(spec);
    let host = rest.rsplit_once(':').map_or(rest, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addr = host.split_once('/').map_or(host, |(a, _)| a);
    addr.parse::<std::net::IpAddr>().is_err()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => {
            let text = String::from_utf8_lossy(rest);
            if text.contains("connect") {
                return;
            }
            let mut pb = PolicyBuilder::new();
            let before = format!("{pb:?}");
            match pb.load_rules(&text, "fuzz.toml") {
                Ok(_) => {
                    let _ = pb.build();
                }
                Err(e) => {
                    assert!(e.to_string().starts_with("invalid policy: fuzz.toml:") || e.to_string().contains("fuzz.toml:"), "{e}");
                    assert_eq!(format!("{pb:?}"), before, "a bad file changed the builder");
                }
            }
        }
        1 => {
            let text = String::from_utf8_lossy(rest);
            if names_a_host(&text) {
                return;
            }
            if let Ok(endpoints) = Endpoint::parse(&text) {
                for e in endpoints {
                    // What a spec prints reads back the same.
                    let again = Endpoint::parse(&e.to_spec()).expect("a printed spec parses");
                    assert_eq!(again, vec![e]);
                }
            }
        }
        _ => {
            // The first bytes choose an allow-list, the rest is the sockaddr.
            let (spec_len, rest) = rest.split_first().map_or((0, &[][..]), |(l, r)| (usize::from(*l % 64), r));
            let (spec, addr) = rest.split_at(spec_len.min(rest.len()));
            let spec = String::from_utf8_lossy(spec);
            let allowed = if names_a_host(&spec) { Vec::new() } else { Endpoint::parse(&spec).unwrap_or_default() };
            let policy = NetPolicy { allowed, on_denied: OnDenied::Violation };
            let target = Target::from_sockaddr(&addr[..addr.len().min(128)]);
            let _ = (target.describe(), target.family_name(), policy.allowed(&target));
        }
    }
});
