//! `sbx_policy_builder`: collects syscall rules and builds an `sbx_policy`.
//!
//! The builder's handle and its creation live here; what it collects is split by concern, in the
//! order the functions appear in sbx.h: `group.rs` (`sbx_group`), `rules.rs` (syscall rules), `file.rs` (a builder from a policy file),
//! `monitor.rs` (monitor, audit, network allow-list), `view.rs` (namespaces and mounts) and
//! `finish.rs` (build and free).

use super::handle::{box_into_ptr, castable};
use super::panic::boundary;
use crate::policy::presets;
use crate::PolicyBuilder;

// cbindgen writes a module's functions before its submodules', and those in the order declared
// here: sbx.h's order. One per paragraph, so that rustfmt does not sort them.
mod group;

mod rules;

mod file;

mod monitor;

mod view;

mod finish;

pub use group::sbx_group;
pub use monitor::sbx_monitor;
pub use rules::{sbx_action, sbx_arg, sbx_cmp, sbx_width};
pub use view::sbx_netns;

/// Collects what a policy is made of, and `sbx_policy_builder_build` turns it into an
/// `sbx_policy`: syscall rules, and the sandbox's view of the system (namespaces and the
/// filesystem, which by default is an empty read-only tmpfs with `/proc` and a minimal `/dev`:
/// add the program and what it needs with `sbx_policy_builder_add_file` and friends).
///
/// Rules are kept per syscall in call order and the first matching one decides; once a
/// syscall has an unconditional rule, later rules for it are ignored. The mandatory rules
/// (foreign architectures, x32, `ptrace`, `bpf`, namespace flags, `io_uring`, ...) always come
/// first and cannot be allowed.
///
/// Setters check what C can get wrong on its own (NULL pointers, UTF-8, enum values, numbers
/// that do not fit) and fail at once, leaving the builder unchanged. Other problems (unknown
/// syscall name, errno outside 1..4095, argument index above 5, a 32-bit comparison with a
/// 64-bit value, a syscall the mandatory rules deny, a relative or missing mount path) are
/// remembered by the builder and the first one is returned by `sbx_policy_builder_build`, as
/// the Rust builder does, so setters can be chained without checking each.
///
/// Not thread-safe: one thread at a time.
pub struct sbx_policy_builder {
    _private: [u8; 0],
}

castable!(sbx_policy_builder => PolicyBuilder, OwnershipBox, super::handle::kind::POLICY_BUILDER);

impl sbx_policy_builder {
    /// Creates an empty builder: only the mandatory rules, every other syscall a violation.
    ///
    /// The caller owns the result and passes it to `sbx_policy_builder_build` (which consumes
    /// it) or `sbx_policy_builder_free`. Returns NULL only if libsbx panicked.
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_new() -> *mut sbx_policy_builder {
        boundary(|| box_into_ptr::<sbx_policy_builder>(PolicyBuilder::new()))
    }

    /// Creates a builder holding `sbx-run`'s embedded default policy: enough for ordinary
    /// dynamically linked tools (coreutils, `sh -c`, `python3 -c`) as an allow-list; add rules to
    /// it as to any builder.
    ///
    /// The caller owns the result, as with `sbx_policy_builder_new`. Returns NULL only if libsbx
    /// panicked.
    #[no_mangle]
    pub extern "C" fn sbx_policy_builder_new_tool_default() -> *mut sbx_policy_builder {
        boundary(|| box_into_ptr::<sbx_policy_builder>(presets::tool_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::status::sbx_status;

    #[test]
    fn null_builder_is_reported() {
        let st = sbx_policy_builder::sbx_policy_builder_allow_group(
            std::ptr::null_mut(),
            1,
            std::ptr::null_mut(),
        );
        assert_eq!(st, sbx_status::NullParameter);
    }
}
