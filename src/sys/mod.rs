//! Kernel UAPI types and constants that the `libc` crate lacks, one file per kernel mechanism.
//! Plain data only: the calls that use them live with the code that makes them.

pub(crate) mod landlock;
pub(crate) mod mount;
pub(crate) mod seccomp;
