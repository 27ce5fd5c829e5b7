//! Landlock (landlock(7)): the ruleset attribute laid out for landlock_create_ruleset(2).

/// `struct landlock_ruleset_attr` (ABI 6 layout), plus the size the running kernel understands.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct LandlockAttr {
    /// Filesystem rights the ruleset handles.
    pub handled_access_fs: u64,
    /// Network rights the ruleset handles (ABI 4).
    pub handled_access_net: u64,
    /// Scopes (ABI 6: signals, abstract unix sockets).
    pub scoped: u64,
    /// Bytes of the struct the running kernel understands (16 before ABI 6).
    pub size: usize,
}
