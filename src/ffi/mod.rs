//! The C ABI (`libsbx.so`, `libsbx.a`, `include/sbx.h`). Every `extern "C"` item lives under this
//! module and nothing else does; it only converts arguments, catches panics and delegates.
//!
//! One file per C object: version, status, error, policy builder (and `oci.rs`, its OCI profile
//! import), policy, executor, sandbox,
//! result (with its violation and syscall views), notify (callbacks), comms (the channel) and
//! client (the sandboxee's side); a large object is a directory split by concern
//! (`policy_builder/`, `result/`, `comms/`). `handle/` types the ownership of every
//! handle and is the only part that casts pointers; `panic.rs` is the boundary every export runs
//! in. `include/sbx.h` is generated from these files by cbindgen (`cbindgen.toml`), so the `///`
//! comments here are written for a C reader.

#![allow(non_camel_case_types)]

pub(crate) mod failure;
pub(crate) mod handle;
pub(crate) mod panic;
mod registry;

pub mod client;
pub mod comms;
pub mod error;
pub mod executor;
pub mod notify;
pub mod oci;
pub mod policy;
pub mod policy_builder;
pub mod result;
pub mod sandbox;
pub mod status;
pub mod version;

/// The C spelling of a Rust variant name, as cbindgen's `rename_variants = "ScreamingSnakeCase"`
/// writes it (`EpollWait` → `EPOLL_WAIT`), for tests that compare the two sides.
#[cfg(test)]
pub(crate) fn screaming_snake(name: &str) -> String {
    let mut out = String::new();
    for (i, ch) in name.chars().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(ch.to_ascii_uppercase());
    }
    out
}
