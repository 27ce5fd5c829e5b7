//! Groups for what language runtimes need before and around `main`: a static or dynamic
//! glibc's start-up, glibc's `malloc`, and restartable sequences (TCMalloc).

use super::{ARCH_SET_FS, KERNEL_SIGRTMIN, MAP_ANON_PRIVATE, PROT_NONE, PROT_R, PROT_RW, PROT_RX};
use crate::policy::builder::PolicyBuilder;
use crate::policy::rule::{c, Action, Arg};

impl PolicyBuilder {
    /// Allows what a statically linked glibc program does before `main`:
    /// [`allow_get_rlimit`](Self::allow_get_rlimit), `uname`, `brk`, `set_tid_address`,
    /// `set_robust_list`, `rseq` (registered by glibc 2.35+; not in sandbox2's set),
    /// `futex(FUTEX_WAIT_BITSET)`, `rt_sigaction` for signals 32 and 33 (glibc's internal ones),
    /// `rt_sigprocmask`, `arch_prctl(ARCH_SET_FS)` (x86-64, thread pointer) and
    /// `mprotect(PROT_READ)` (RELRO), `getrandom(GRND_NONBLOCK)` (glibc 2.34+ seeds malloc's
    /// tcache with it; not in sandbox2's set), and sandbox2's overridable `readlink`/`readlinkat`
    /// → ENOENT (glibc asks for its own path): a fallback that applies only when no rule of the
    /// user's decides `readlink` and the default action is a violation, so a later
    /// [`allow_readlink`](Self::allow_readlink) still wins.
    pub fn allow_static_startup(&mut self) -> &mut Self {
        self.allow_get_rlimit()
            .allow_names(&["uname", "brk", "set_tid_address", "set_robust_list", "rseq"])
            .allow_futex_op(libc::FUTEX_WAIT_BITSET as u32)
            .allow_names(&["rt_sigprocmask"]);
        for sig in [KERNEL_SIGRTMIN, KERNEL_SIGRTMIN + 1] {
            self.rule_names(&["rt_sigaction"], &[Arg::eq32(0, sig)], Action::Allow);
        }
        // glibc's static startup resolves its own path (readlink of /proc/self/exe) and seeds
        // malloc's tcache with getrandom(GRND_NONBLOCK); ENOENT for readlink is what sandbox2
        // answers too, as a fallback the user can override with allow_readlink().
        self.fallback_names(
            &["readlink", "readlinkat"],
            Action::Errno(crate::sys::errno16(libc::ENOENT)),
        )
        .rule_names(
            &["getrandom"],
            &[Arg::eq32(2, u64::from(libc::GRND_NONBLOCK))],
            Action::Allow,
        );
        self.rule_names(&["arch_prctl"], &[Arg::eq32(0, ARCH_SET_FS)], Action::Allow)
            .rule_names(&["mprotect"], &[Arg::eq32(2, PROT_R)], Action::Allow)
    }

    /// Allows what the dynamic loader does before `main`: [`allow_static_startup`](Self::allow_static_startup),
    /// [`allow_access`](Self::allow_access), [`allow_open`](Self::allow_open),
    /// [`allow_read`](Self::allow_read), [`allow_stat`](Self::allow_stat), `lseek`, `_llseek`,
    /// `close`, `munmap`, and `mmap`/`mmap2`/`mprotect` with protection exactly `PROT_READ`,
    /// `PROT_READ|PROT_WRITE`, `PROT_READ|PROT_EXEC` or `PROT_NONE` (never writable and executable
    /// at once). Simpler than sandbox2's set, which also pins the `mmap` flags.
    pub fn allow_dynamic_startup(&mut self) -> &mut Self {
        self.allow_static_startup()
            .allow_access()
            .allow_open()
            .allow_read()
            .allow_stat()
            .allow_names(&["lseek", "_llseek", "close", "munmap"]);
        for prot in [PROT_R, PROT_RW, PROT_RX, PROT_NONE] {
            self.rule_names(
                &["mmap", "mmap2", "mprotect"],
                &[Arg::eq32(2, prot)],
                Action::Allow,
            );
        }
        self
    }

    /// Allows what glibc's `malloc` needs: `munmap`, `brk`, `futex(FUTEX_WAKE)`,
    /// `mremap(..., MREMAP_MAYMOVE)`, `mmap` of read-write anonymous private memory and of
    /// `PROT_NONE` anonymous private `MAP_NORESERVE` reservations (arena heaps), and, beyond
    /// sandbox2's set, `mprotect(PROT_READ|PROT_WRITE)` (glibc grows non-main arenas with it) and
    /// `getrandom(GRND_NONBLOCK)` (glibc 2.34+ seeds its tcache key with it).
    pub fn allow_system_malloc(&mut self) -> &mut Self {
        self.allow_names(&["munmap", "brk"])
            .allow_futex_op(libc::FUTEX_WAKE as u32)
            .rule_names(
                &["mremap"],
                &[Arg::eq32(3, c(libc::MREMAP_MAYMOVE))],
                Action::Allow,
            )
            .rule_names(
                &["mmap", "mmap2"],
                &[Arg::eq32(2, PROT_RW), Arg::eq32(3, MAP_ANON_PRIVATE)],
                Action::Allow,
            )
            .rule_names(
                &["mmap", "mmap2"],
                &[
                    Arg::eq32(2, PROT_NONE),
                    Arg::eq32(3, MAP_ANON_PRIVATE | c(libc::MAP_NORESERVE)),
                ],
                Action::Allow,
            )
            .rule_names(&["mprotect"], &[Arg::eq32(2, PROT_RW)], Action::Allow)
            .rule_names(
                &["getrandom"],
                &[Arg::eq32(2, u64::from(libc::GRND_NONBLOCK))],
                Action::Allow,
            )
    }

    /// Allows restartable sequences as allocators such as TCMalloc use them: `rseq`, `getcpu`,
    /// `membarrier`, `close`, `futex(FUTEX_WAIT)` and `futex(FUTEX_WAKE)`,
    /// `rt_sigprocmask(SIG_SETMASK, ...)`, read-write anonymous private `mmap`,
    /// [`allow_read`](Self::allow_read), [`allow_open`](Self::allow_open),
    /// [`allow_poll`](Self::allow_poll) and [`allow_prctl_set_vma`](Self::allow_prctl_set_vma)
    /// (the library reads `/proc` and `/sys/devices/system/cpu`, which the mount view must offer).
    pub fn allow_restartable_sequences(&mut self) -> &mut Self {
        self.allow_names(&["rseq", "getcpu", "membarrier", "close"])
            .allow_futex_op(libc::FUTEX_WAIT as u32)
            .allow_futex_op(libc::FUTEX_WAKE as u32)
            .rule_names(
                &["rt_sigprocmask"],
                &[Arg::eq32(0, c(libc::SIG_SETMASK))],
                Action::Allow,
            )
            .rule_names(
                &["mmap", "mmap2"],
                &[Arg::eq32(2, PROT_RW), Arg::eq32(3, MAP_ANON_PRIVATE)],
                Action::Allow,
            )
            .allow_read()
            .allow_open()
            .allow_poll()
            .allow_prctl_set_vma()
    }
}
