//! Landlock (landlock(7)): the ruleset and rule attributes laid out for landlock_create_ruleset(2)
//! and landlock_add_rule(2), and the access and scope bits.

/// `LANDLOCK_CREATE_RULESET_VERSION`: with a NULL attribute and size 0, the call returns the ABI.
pub const CREATE_RULESET_VERSION: u32 = 1;
/// `LANDLOCK_RULE_PATH_BENEATH`.
pub const RULE_PATH_BENEATH: u64 = 1;
/// `LANDLOCK_RULE_NET_PORT` (ABI 4).
pub const RULE_NET_PORT: u64 = 2;

/// `LANDLOCK_ACCESS_NET_*` (ABI 4).
pub mod net {
    /// Bind a TCP socket to a local port.
    pub const BIND_TCP: u64 = 1 << 0;
    /// Connect a TCP socket to a remote port.
    pub const CONNECT_TCP: u64 = 1 << 1;
}

/// `LANDLOCK_ACCESS_FS_*` (ABI 1 unless noted).
pub mod fs {
    /// Execute a file.
    pub const EXECUTE: u64 = 1 << 0;
    /// Open a file with write access.
    pub const WRITE_FILE: u64 = 1 << 1;
    /// Open a file with read access.
    pub const READ_FILE: u64 = 1 << 2;
    /// Open a directory or list its content.
    pub const READ_DIR: u64 = 1 << 3;
    /// Remove an empty directory or rename one.
    pub const REMOVE_DIR: u64 = 1 << 4;
    /// Unlink (or rename) a file.
    pub const REMOVE_FILE: u64 = 1 << 5;
    /// Create (or rename, link) a character device.
    pub const MAKE_CHAR: u64 = 1 << 6;
    /// Create (or rename) a directory.
    pub const MAKE_DIR: u64 = 1 << 7;
    /// Create (or rename, link) a regular file.
    pub const MAKE_REG: u64 = 1 << 8;
    /// Create (or rename, link) a unix domain socket.
    pub const MAKE_SOCK: u64 = 1 << 9;
    /// Create (or rename, link) a named pipe.
    pub const MAKE_FIFO: u64 = 1 << 10;
    /// Create (or rename, link) a block device.
    pub const MAKE_BLOCK: u64 = 1 << 11;
    /// Create (or rename, link) a symbolic link.
    pub const MAKE_SYM: u64 = 1 << 12;
    /// Link or rename a file from or to a different directory (ABI 2).
    pub const REFER: u64 = 1 << 13;
    /// Truncate a file (ABI 3).
    pub const TRUNCATE: u64 = 1 << 14;
    /// ioctl on a character or block device (ABI 5).
    pub const IOCTL_DEV: u64 = 1 << 15;
}

/// `LANDLOCK_SCOPE_*` (ABI 6).
pub mod scope {
    /// Connecting to abstract unix sockets created outside the domain.
    pub const ABSTRACT_UNIX_SOCKET: u64 = 1 << 0;
    /// Sending signals to processes outside the domain.
    pub const SIGNAL: u64 = 1 << 1;
}

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

/// `struct landlock_path_beneath_attr` (packed in the UAPI: 12 bytes).
#[repr(C, packed)]
#[derive(Debug, Clone, Copy)]
pub struct PathBeneathAttr {
    /// Rights granted beneath `parent_fd`.
    pub allowed_access: u64,
    /// A file or directory (an `O_PATH` fd is enough).
    pub parent_fd: i32,
}

/// `struct landlock_net_port_attr` (packed in the UAPI: 16 bytes).
#[repr(C, packed)]
#[derive(Debug, Clone, Copy)]
pub struct NetPortAttr {
    /// Rights granted for the port.
    pub allowed_access: u64,
    /// The port, in host byte order.
    pub port: u64,
}
