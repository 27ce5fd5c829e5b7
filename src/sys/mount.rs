//! The new mount API (open_tree(2), move_mount(2), fsopen(2), fsconfig(2), fsmount(2),
//! mount_setattr(2)) and openat2(2): flags and structs from <linux/mount.h> and
//! <linux/openat2.h>.

/// `MOUNT_ATTR_RDONLY`.
pub(crate) const MOUNT_ATTR_RDONLY: u64 = 0x1;
/// `MOUNT_ATTR_NOSUID`.
pub(crate) const MOUNT_ATTR_NOSUID: u64 = 0x2;
/// `MOUNT_ATTR_NODEV`.
pub(crate) const MOUNT_ATTR_NODEV: u64 = 0x4;
/// `MOUNT_ATTR_NOEXEC`.
pub(crate) const MOUNT_ATTR_NOEXEC: u64 = 0x8;
/// `MOUNT_ATTR_IDMAP` (Linux 5.12).
pub(crate) const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;

/// `OPEN_TREE_CLONE`: a detached copy of the tree.
pub(crate) const OPEN_TREE_CLONE: u64 = 1;
/// `AT_RECURSIVE`: with its submounts.
pub(crate) const AT_RECURSIVE: u64 = 0x8000;
/// `MOVE_MOUNT_F_EMPTY_PATH`: the source is the fd itself.
pub(crate) const MOVE_MOUNT_F_EMPTY_PATH: u64 = 0x4;
/// `MOVE_MOUNT_T_EMPTY_PATH`: the target is the fd itself.
pub(crate) const MOVE_MOUNT_T_EMPTY_PATH: u64 = 0x40;
/// `FSOPEN_CLOEXEC`.
pub(crate) const FSOPEN_CLOEXEC: u64 = 1;
/// `FSCONFIG_SET_STRING`.
pub(crate) const FSCONFIG_SET_STRING: u64 = 1;
/// `FSCONFIG_CMD_CREATE`.
pub(crate) const FSCONFIG_CMD_CREATE: u64 = 6;
/// `FSMOUNT_CLOEXEC`.
pub(crate) const FSMOUNT_CLOEXEC: u64 = 1;

/// `RESOLVE_NO_MAGICLINKS` (openat2).
pub(crate) const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
/// `RESOLVE_NO_SYMLINKS` (openat2).
pub(crate) const RESOLVE_NO_SYMLINKS: u64 = 0x04;
/// `RESOLVE_BENEATH` (openat2).
pub(crate) const RESOLVE_BENEATH: u64 = 0x08;

/// `struct open_how` of openat2(2).
#[repr(C)]
pub(crate) struct OpenHow {
    pub flags: u64,
    pub mode: u64,
    pub resolve: u64,
}

/// `struct mount_attr` of mount_setattr(2).
#[repr(C)]
pub(crate) struct MountAttr {
    pub attr_set: u64,
    pub attr_clr: u64,
    pub propagation: u64,
    pub userns_fd: u64,
}
