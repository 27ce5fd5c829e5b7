//! Groups for memory and synchronisation: `mmap` and `mprotect` with or without exec, locking,
//! advice, shared memory from the host, futex operations and naming anonymous mappings.

use super::{
    FUTEX_CMD_MASK, MADV_COLLAPSE, MADV_DONTNEED_LOCKED, MADV_WIPEONFORK, PROT_RW, PR_SET_VMA,
    PR_SET_VMA_ANON_NAME,
};
use crate::policy::builder::PolicyBuilder;
use crate::policy::rule::{c, Action, Arg};

impl PolicyBuilder {
    /// Allows `madvise(..., MADV_WIPEONFORK)`, and advice -1, which allocators use to probe for
    /// `madvise` support.
    pub fn allow_wipe_on_fork(&mut self) -> &mut Self {
        for advice in [MADV_WIPEONFORK, u64::from(u32::MAX)] {
            self.rule_names(&["madvise"], &[Arg::eq32(2, advice)], Action::Allow);
        }
        self
    }

    /// Allows `futex` with operation `op` (`FUTEX_WAIT`, `FUTEX_WAKE`, ...), with or without
    /// `FUTEX_PRIVATE_FLAG` and `FUTEX_CLOCK_REALTIME`. An `op` that includes those flags itself is
    /// an error reported by `build`.
    pub fn allow_futex_op(&mut self, op: u32) -> &mut Self {
        self.rule_names(
            &["futex"],
            &[Arg::masked_eq32(1, FUTEX_CMD_MASK, u64::from(op))],
            Action::Allow,
        )
    }

    /// Allows locking memory: `mlock`, `munlock`, `mlock2` (bounded by `RLIMIT_MEMLOCK`).
    pub fn allow_mlock(&mut self) -> &mut Self {
        self.allow_names(&["mlock", "munlock", "mlock2"])
    }

    /// Allows `mmap` (and `mmap2`) with any protection, executable included (what sandbox2
    /// calls `AllowMmap(MapExec)`).
    pub fn allow_mmap(&mut self) -> &mut Self {
        self.allow_names(&["mmap", "mmap2"])
    }

    /// Allows `mmap`/`mmap2` unless the protection (arg 2) includes `PROT_EXEC`.
    pub fn allow_mmap_without_exec(&mut self) -> &mut Self {
        let no_exec = Arg::masked_eq32(2, c(libc::PROT_EXEC), 0);
        self.rule_names(&["mmap", "mmap2"], &[no_exec], Action::Allow)
    }

    /// Allows `mprotect` with any protection, executable included.
    pub fn allow_mprotect(&mut self) -> &mut Self {
        self.allow_names(&["mprotect"])
    }

    /// Allows `mprotect` unless the protection (arg 2) includes `PROT_EXEC`.
    pub fn allow_mprotect_without_exec(&mut self) -> &mut Self {
        let no_exec = Arg::masked_eq32(2, c(libc::PROT_EXEC), 0);
        self.rule_names(&["mprotect"], &[no_exec], Action::Allow)
    }

    /// Allows `prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, ...)` (naming anonymous mappings).
    pub fn allow_prctl_set_vma(&mut self) -> &mut Self {
        let args = [Arg::eq32(0, PR_SET_VMA), Arg::eq64(1, PR_SET_VMA_ANON_NAME)];
        self.rule_names(&["prctl"], &args, Action::Allow)
    }

    /// Allows `madvise` with the advice values that only affect the caller's own memory
    /// accounting: `MADV_SEQUENTIAL`, `MADV_DONTNEED`, `MADV_DONTNEED_LOCKED`, `MADV_REMOVE`,
    /// `MADV_HUGEPAGE`, `MADV_NOHUGEPAGE`, `MADV_DONTDUMP`, `MADV_COLLAPSE`.
    pub fn allow_limited_madvise(&mut self) -> &mut Self {
        for advice in [
            c(libc::MADV_SEQUENTIAL),
            c(libc::MADV_DONTNEED),
            MADV_DONTNEED_LOCKED,
            c(libc::MADV_REMOVE),
            c(libc::MADV_HUGEPAGE),
            c(libc::MADV_NOHUGEPAGE),
            c(libc::MADV_DONTDUMP),
            MADV_COLLAPSE,
        ] {
            self.rule_names(&["madvise"], &[Arg::eq32(2, advice)], Action::Allow);
        }
        self
    }

    /// Allows mapping shared memory received from the host: `mmap` with `PROT_READ|PROT_WRITE`
    /// and exactly `MAP_SHARED`, `munmap`, `close`, and [`allow_stat`](Self::allow_stat) (to learn
    /// the size).
    pub fn allow_shared_memory(&mut self) -> &mut Self {
        self.rule_names(
            &["mmap", "mmap2"],
            &[Arg::eq32(2, PROT_RW), Arg::eq32(3, c(libc::MAP_SHARED))],
            Action::Allow,
        )
        .allow_names(&["munmap", "close"])
        .allow_stat()
    }
}
