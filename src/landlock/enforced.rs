//! What a run's Landlock domain enforced ([`Enforced`], in the result) and the names of the
//! rights and scopes, as the result, `--json` and the C API spell them.

use crate::sys::landlock::{fs, net, scope};
use std::ffi::CStr;

/// What a run's Landlock domain enforced: reported in the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Enforced {
    /// The kernel's Landlock ABI version.
    pub abi: u32,
    /// `LANDLOCK_ACCESS_FS_*` rights the domain handles: denied unless a rule grants them.
    pub fs: u64,
    /// `LANDLOCK_ACCESS_NET_*` rights the domain handles (`connect_tcp` under a network
    /// allow-list whose TCP entries all name a port).
    pub net: u64,
    /// `LANDLOCK_SCOPE_*` bits in force.
    pub scoped: u64,
}

impl Enforced {
    /// Names of the handled filesystem rights (`"execute"`, `"write_file"`, ...).
    pub fn fs_rights(&self) -> Vec<&'static str> {
        names(&FS_NAMES, self.fs)
    }

    /// Names of the handled network rights (`"bind_tcp"`, `"connect_tcp"`).
    pub fn net_rights(&self) -> Vec<&'static str> {
        names(&NET_NAMES, self.net)
    }

    /// Names of the scopes in force (`"abstract_unix_socket"`, `"signal"`).
    pub fn scopes(&self) -> Vec<&'static str> {
        names(&SCOPE_NAMES, self.scoped)
    }
}

/// The names of the bits of `bits` in `table`.
fn names(table: &[(u64, &'static CStr)], bits: u64) -> Vec<&'static str> {
    table
        .iter()
        .filter(|(bit, _)| bits & bit != 0)
        .map(|(_, n)| n.to_str().unwrap_or_default())
        .collect()
}

/// The name of one `LANDLOCK_ACCESS_FS_*` bit (`c"write_file"`), `None` for another value.
pub fn fs_right_name(bit: u64) -> Option<&'static CStr> {
    FS_NAMES.iter().find(|(b, _)| *b == bit).map(|(_, n)| *n)
}

/// The name of one `LANDLOCK_ACCESS_NET_*` bit (`c"connect_tcp"`), `None` for another value.
pub fn net_right_name(bit: u64) -> Option<&'static CStr> {
    NET_NAMES.iter().find(|(b, _)| *b == bit).map(|(_, n)| *n)
}

/// The name of one `LANDLOCK_SCOPE_*` bit (`c"signal"`), `None` for another value.
pub fn scope_name(bit: u64) -> Option<&'static CStr> {
    SCOPE_NAMES.iter().find(|(b, _)| *b == bit).map(|(_, n)| *n)
}

const FS_NAMES: [(u64, &CStr); 16] = [
    (fs::EXECUTE, c"execute"),
    (fs::WRITE_FILE, c"write_file"),
    (fs::READ_FILE, c"read_file"),
    (fs::READ_DIR, c"read_dir"),
    (fs::REMOVE_DIR, c"remove_dir"),
    (fs::REMOVE_FILE, c"remove_file"),
    (fs::MAKE_CHAR, c"make_char"),
    (fs::MAKE_DIR, c"make_dir"),
    (fs::MAKE_REG, c"make_reg"),
    (fs::MAKE_SOCK, c"make_sock"),
    (fs::MAKE_FIFO, c"make_fifo"),
    (fs::MAKE_BLOCK, c"make_block"),
    (fs::MAKE_SYM, c"make_sym"),
    (fs::REFER, c"refer"),
    (fs::TRUNCATE, c"truncate"),
    (fs::IOCTL_DEV, c"ioctl_dev"),
];

const NET_NAMES: [(u64, &CStr); 2] = [
    (net::BIND_TCP, c"bind_tcp"),
    (net::CONNECT_TCP, c"connect_tcp"),
];

const SCOPE_NAMES: [(u64, &CStr); 2] = [
    (scope::ABSTRACT_UNIX_SOCKET, c"abstract_unix_socket"),
    (scope::SIGNAL, c"signal"),
];
