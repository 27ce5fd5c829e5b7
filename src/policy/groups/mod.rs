//! Convenience groups on [`PolicyBuilder`], after sandbox2's `Allow*` sets: each opens a named,
//! documented set of syscalls, some with argument conditions.
//!
//! Lists name the syscalls of every supported architecture; those missing on the target (e.g.
//! `open` on AArch64, `fstat64` on x86-64) are skipped. Integer arguments the kernel reads as
//! `int` are compared on 32 bits (design §3 item 3). Where this differs from sandbox2's set, the
//! method says so. Groups can be combined and repeated freely: rules already present are not
//! added twice.
//!
//! The groups live by what they open: `files.rs` (files and descriptors), `process.rs` (the
//! process, signals, time, ids), `memory.rs` (mappings, advice, futexes), `runtime.rs` (libc
//! start-up, allocators); here the kernel constants they share and the groups by name.

mod files;
mod memory;
mod process;
mod runtime;

use super::builder::PolicyBuilder;

// Kernel ABI values not (yet) in every `libc` release this crate accepts.
/// `PR_SET_VMA` from `<linux/prctl.h>` (Linux 5.17).
const PR_SET_VMA: u64 = 0x5356_4d41;
/// `PR_SET_VMA_ANON_NAME` from `<linux/prctl.h>`.
const PR_SET_VMA_ANON_NAME: u64 = 0;
/// `MADV_WIPEONFORK` from `<linux/mman.h>` (Linux 4.14).
const MADV_WIPEONFORK: u64 = 18;
/// `MADV_DONTNEED_LOCKED` (Linux 5.18).
const MADV_DONTNEED_LOCKED: u64 = 24;
/// `MADV_COLLAPSE` (Linux 6.1).
const MADV_COLLAPSE: u64 = 25;
/// `ARCH_SET_FS` from `<asm/prctl.h>` (x86-64).
const ARCH_SET_FS: u64 = 0x1002;
/// The kernel's first real-time signal. glibc reserves 32 (thread cancellation) and 33
/// (`setxid` broadcast) for itself, so its `SIGRTMIN` is 34.
const KERNEL_SIGRTMIN: u64 = 32;
/// `FUTEX_CMD_MASK`: the futex operation without the private and clock flags.
const FUTEX_CMD_MASK: u64 =
    crate::sys::bits_u32(!(libc::FUTEX_PRIVATE_FLAG | libc::FUTEX_CLOCK_REALTIME)) as u64;


const PROT_R: u64 = libc::PROT_READ as u64;
const PROT_RW: u64 = (libc::PROT_READ | libc::PROT_WRITE) as u64;
const PROT_RX: u64 = (libc::PROT_READ | libc::PROT_EXEC) as u64;
const PROT_NONE: u64 = libc::PROT_NONE as u64;
const MAP_ANON_PRIVATE: u64 = (libc::MAP_ANONYMOUS | libc::MAP_PRIVATE) as u64;


/// A group's method, as policy files name it (the method's name without `allow_`).
pub(crate) type GroupFn = fn(&mut PolicyBuilder) -> &mut PolicyBuilder;

/// Every group by the name policy files use (`groups = ["static_startup", "exit"]`).
pub(crate) const BY_NAME: &[(&str, GroupFn)] = &[
    ("exit", PolicyBuilder::allow_exit),
    ("read", PolicyBuilder::allow_read),
    ("write", PolicyBuilder::allow_write),
    ("open", PolicyBuilder::allow_open),
    ("stat", PolicyBuilder::allow_stat),
    ("access", PolicyBuilder::allow_access),
    ("dup", PolicyBuilder::allow_dup),
    ("pipe", PolicyBuilder::allow_pipe),
    ("chmod", PolicyBuilder::allow_chmod),
    ("chown", PolicyBuilder::allow_chown),
    ("readdir", PolicyBuilder::allow_readdir),
    ("readlink", PolicyBuilder::allow_readlink),
    ("link", PolicyBuilder::allow_link),
    ("symlink", PolicyBuilder::allow_symlink),
    ("mkdir", PolicyBuilder::allow_mkdir),
    ("utime", PolicyBuilder::allow_utime),
    ("unlink", PolicyBuilder::allow_unlink),
    ("rename", PolicyBuilder::allow_rename),
    ("eventfd", PolicyBuilder::allow_eventfd),
    ("poll", PolicyBuilder::allow_poll),
    ("select", PolicyBuilder::allow_select),
    ("epoll_wait", PolicyBuilder::allow_epoll_wait),
    ("epoll", PolicyBuilder::allow_epoll),
    ("inotify", PolicyBuilder::allow_inotify),
    ("fork", PolicyBuilder::allow_fork),
    ("wait", PolicyBuilder::allow_wait),
    ("alarm", PolicyBuilder::allow_alarm),
    ("posix_timers", PolicyBuilder::allow_posix_timers),
    ("handle_signals", PolicyBuilder::allow_handle_signals),
    ("kill", PolicyBuilder::allow_kill),
    ("tcgets", PolicyBuilder::allow_tcgets),
    ("time", PolicyBuilder::allow_time),
    ("sleep", PolicyBuilder::allow_sleep),
    ("get_ids", PolicyBuilder::allow_get_ids),
    ("get_pids", PolicyBuilder::allow_get_pids),
    ("get_pgids", PolicyBuilder::allow_get_pgids),
    ("get_rlimit", PolicyBuilder::allow_get_rlimit),
    ("set_rlimit", PolicyBuilder::allow_set_rlimit),
    ("get_random", PolicyBuilder::allow_get_random),
    ("wipe_on_fork", PolicyBuilder::allow_wipe_on_fork),
    ("safe_fcntl", PolicyBuilder::allow_safe_fcntl),
    ("mlock", PolicyBuilder::allow_mlock),
    ("mmap", PolicyBuilder::allow_mmap),
    ("mmap_without_exec", PolicyBuilder::allow_mmap_without_exec),
    ("mprotect", PolicyBuilder::allow_mprotect),
    ("mprotect_without_exec", PolicyBuilder::allow_mprotect_without_exec),
    ("prctl_set_name", PolicyBuilder::allow_prctl_set_name),
    ("prctl_set_vma", PolicyBuilder::allow_prctl_set_vma),
    ("static_startup", PolicyBuilder::allow_static_startup),
    ("dynamic_startup", PolicyBuilder::allow_dynamic_startup),
    ("system_malloc", PolicyBuilder::allow_system_malloc),
    ("limited_madvise", PolicyBuilder::allow_limited_madvise),
    ("shared_memory", PolicyBuilder::allow_shared_memory),
    ("restartable_sequences", PolicyBuilder::allow_restartable_sequences),
    ("exec", PolicyBuilder::allow_exec),
];

#[cfg(test)]
mod by_name_tests {
    use super::{PolicyBuilder, BY_NAME};

    #[test]
    fn every_group_name_is_unique_and_builds() {
        let mut names: Vec<&str> = BY_NAME.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), BY_NAME.len(), "a group name is listed twice");
        for (name, add) in BY_NAME {
            let mut b = PolicyBuilder::new();
            add(&mut b);
            b.build().unwrap_or_else(|e| panic!("group {name}: {e}"));
        }
    }
}
