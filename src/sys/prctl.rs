//! prctl(2) speculation control (linux/prctl.h), which the `libc` crate has for x86-64 only.

/// `PR_GET_SPECULATION_CTRL`.
pub const PR_GET_SPECULATION_CTRL: i32 = 52;
/// `PR_SET_SPECULATION_CTRL`.
pub const PR_SET_SPECULATION_CTRL: i32 = 53;
/// `PR_SPEC_STORE_BYPASS`: speculative store bypass (Spectre v4).
pub const PR_SPEC_STORE_BYPASS: u64 = 0;
/// `PR_SPEC_INDIRECT_BRANCH`: indirect branch speculation (Spectre v2, user space).
pub const PR_SPEC_INDIRECT_BRANCH: u64 = 1;
/// `PR_SPEC_PRCTL`: the mitigation is controllable per task with prctl.
pub const PR_SPEC_PRCTL: i32 = 1 << 0;
/// `PR_SPEC_FORCE_DISABLE`: speculation disabled, and it cannot be enabled again.
pub const PR_SPEC_FORCE_DISABLE: u64 = 1 << 3;
