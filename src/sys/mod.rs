//! Kernel UAPI types and constants that the `libc` crate lacks, one file per kernel mechanism,
//! and `raw.rs`, the errno-free raw syscall wrappers of the clone children. Mostly plain data:
//! the calls that use them live with the code that makes them, except where several places make
//! the same call (`seccomp::install_filter`, `install_with_listener`, `action_available`: the
//! clone child, `sandbox_me_here` and the feature probes). Here too, the few conversions between
//! Rust's integer types and the kernel ABI's that are not `From`; and two small helpers several
//! modules share: the thread's signal mask (`signals.rs`), its scheduling class (`sched.rs`)
//! and `/proc/PID/stat` fields (`procfs.rs`). Nothing here imports the rest of the crate.

pub(crate) mod clone3;
pub(crate) mod landlock;
pub(crate) mod mount;
pub(crate) mod prctl;
pub(crate) mod procfs;
pub(crate) mod raw;
pub(crate) mod remote;
pub(crate) mod sched;
pub(crate) mod seccomp;
pub(crate) mod signals;

/// Tests only: whether to skip a test because this test binary runs under qemu-user, which
/// `scripts/test-aarch64.sh` says with `SBX_UNDER_QEMU=1`. There the host kernel serves every
/// call through qemu's translation: no seccomp filters, ptrace or `clone(CLONE_VM)` children,
/// the host's own files (`/etc/ld.so.cache`), and a re-executed test binary is foreign code to
/// the kernel. Prints `skipped under qemu-user: <why>` (the script counts those lines).
#[cfg(test)]
pub(crate) fn skipped_under_qemu(why: &str) -> bool {
    let skip = std::env::var_os("SBX_UNDER_QEMU").is_some_and(|v| v == "1");
    if skip {
        eprintln!("skipped under qemu-user: {why}");
    }
    skip
}

/// An errno constant (`libc::E*`) as the 16-bit value `SECCOMP_RET_ERRNO` and the policy API
/// carry. Every errno is in 1..4096 (the kernel's MAX_ERRNO); the callers pass constants.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // in range: asserted on the line before
pub(crate) const fn errno16(e: libc::c_int) -> u16 {
    assert!(e > 0 && e < 4096, "not an errno constant");
    e as u16
}

/// The low 32 bits of a 64-bit value: of a syscall argument, what the kernel reads as an
/// `unsigned int` parameter (it ignores the upper half).
pub(crate) const fn low_u32(v: u64) -> u32 {
    let [b0, b1, b2, b3, ..] = v.to_le_bytes();
    u32::from_le_bytes([b0, b1, b2, b3])
}

/// The low 32 bits of a 64-bit syscall argument, as the kernel reads an `int` parameter.
pub(crate) const fn low_i32(v: u64) -> i32 {
    i32::from_le_bytes(low_u32(v).to_le_bytes())
}

/// `size_of::<T>()` as the `socklen_t` length argument of a socket call, for `T` a socket
/// address or option (a few bytes: the value always fits).
#[allow(clippy::cast_possible_truncation)] // sockaddr and option structs are far below 4 GiB
pub(crate) const fn socklen_of<T>() -> libc::socklen_t {
    std::mem::size_of::<T>() as libc::socklen_t
}

/// An address family constant (`libc::AF_*`, a `c_int`) as the `sa_family_t` that starts a
/// socket address.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // AF_* constants are 0..AF_MAX
pub(crate) const fn family(af: libc::c_int) -> libc::sa_family_t {
    af as libc::sa_family_t
}

/// The bits of an `i32` read as a `u32` (two's complement): a syscall number or `int` argument
/// where the ABI or a table treats it as unsigned.
pub(crate) const fn bits_u32(v: i32) -> u32 {
    u32::from_ne_bytes(v.to_ne_bytes())
}

/// The rlimit resource numbers as the `u32` the plan carries: glibc declares them unsigned
/// (`__rlimit_resource_t`), musl as `c_int`; both are small non-negative constants.
#[allow(clippy::cast_sign_loss, clippy::unnecessary_cast)] // 0..RLIM_NLIMITS; a no-op on glibc
pub(crate) mod rlimit {
    pub(crate) const AS: u32 = libc::RLIMIT_AS as u32;
    pub(crate) const CPU: u32 = libc::RLIMIT_CPU as u32;
    pub(crate) const FSIZE: u32 = libc::RLIMIT_FSIZE as u32;
    pub(crate) const NOFILE: u32 = libc::RLIMIT_NOFILE as u32;
    pub(crate) const CORE: u32 = libc::RLIMIT_CORE as u32;
    pub(crate) const NPROC: u32 = libc::RLIMIT_NPROC as u32;
}

/// A length field of `msghdr`/`cmsghdr` (`usize` in glibc, `socklen_t` in musl) as `usize`;
/// these are buffer sizes, far below either type's range (0 if one were not).
pub(crate) fn msg_len<T: TryInto<usize>>(v: T) -> usize {
    v.try_into().unwrap_or(0)
}

/// A `usize` buffer size as a `msghdr`/`cmsghdr` length field, whichever type the C library
/// gave it. The sizes here are a few bytes; one that did not fit would become 0, an empty
/// buffer the kernel refuses, never a length beyond the buffer.
pub(crate) fn msg_len_field<T: TryFrom<usize> + Default>(v: usize) -> T {
    T::try_from(v).unwrap_or_default()
}
