//! `sbx_group`: the convenience groups of `sbx_policy_builder_allow_group`, their numbering
//! and what each one allows. The variants' `///` comments are the one source of the group docs:
//! cbindgen copies them into sbx.h, and a test here renders them into go/group.go.

use crate::ffi::failure::Failure;
use crate::PolicyBuilder;

/// A convenience group of syscalls for `sbx_policy_builder_allow_group`: each opens a named set,
/// some with argument conditions (integer arguments the kernel reads as `int` are compared on 32
/// bits). Names that do not exist on the running architecture are skipped. Values are fixed and
/// never renumbered.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sbx_group {
    /// `exit`, `exit_group`.
    Exit = 1,
    /// `read`, `readv`, `pread64`, `preadv`, `preadv2`.
    Read = 2,
    /// `write`, `writev`, `pwrite64`, `pwritev`, `pwritev2`.
    Write = 3,
    /// `open`, `openat`, `creat`.
    Open = 4,
    /// `stat`, `lstat`, `fstat`, `newfstatat`, `statx`, `statfs`, `fstatfs`, `ustat` and 32-bit variants.
    Stat = 5,
    /// `access`, `faccessat`, `faccessat2`.
    Access = 6,
    /// `dup`, `dup2`, `dup3`.
    Dup = 7,
    /// `pipe`, `pipe2`.
    Pipe = 8,
    /// `chmod`, `fchmod`, `fchmodat`, `fchmodat2`.
    Chmod = 9,
    /// `chown`, `lchown`, `fchown`, `fchownat` (and i386 `*32`).
    Chown = 10,
    /// `getdents`, `getdents64`.
    Readdir = 11,
    /// `readlink`, `readlinkat`.
    Readlink = 12,
    /// `link`, `linkat`.
    Link = 13,
    /// `symlink`, `symlinkat`.
    Symlink = 14,
    /// `mkdir`, `mkdirat`.
    Mkdir = 15,
    /// `utime`, `utimes`, `futimesat`, `utimensat`.
    Utime = 16,
    /// `unlink`, `unlinkat`, `rmdir`.
    Unlink = 17,
    /// `rename`, `renameat`, `renameat2`.
    Rename = 18,
    /// `eventfd`, `eventfd2`.
    Eventfd = 19,
    /// `poll`, `ppoll`.
    Poll = 20,
    /// `select`, `_newselect`, `pselect6`.
    Select = 21,
    /// `epoll_wait`, `epoll_pwait`, `epoll_pwait2`.
    EpollWait = 22,
    /// `SBX_GROUP_EPOLL_WAIT` plus `epoll_create`, `epoll_create1`, `epoll_ctl`.
    Epoll = 23,
    /// `inotify_init`, `inotify_init1`, `inotify_add_watch`, `inotify_rm_watch`.
    Inotify = 24,
    /// `fork`, `vfork`, `clone` (never with namespace flags; `clone3` gets ENOSYS).
    Fork = 25,
    /// `wait4`, `waitid`, `waitpid`.
    Wait = 26,
    /// `alarm`, `setitimer`, `getitimer`.
    Alarm = 27,
    /// `timer_create`, `timer_delete`, `timer_settime`, `timer_gettime`, `timer_getoverrun`.
    PosixTimers = 28,
    /// `rt_sigaction`, `rt_sigprocmask`, `rt_sigreturn`, `sigaltstack`, `restart_syscall`.
    HandleSignals = 29,
    /// `kill`, `tgkill`, `tkill`.
    Kill = 30,
    /// `ioctl(fd, TCGETS, ...)` (what `isatty()` does).
    Tcgets = 31,
    /// `time`, `gettimeofday`, `clock_gettime`, `clock_getres`.
    Time = 32,
    /// `nanosleep`, `clock_nanosleep`.
    Sleep = 33,
    /// `getuid`, `geteuid`, `getresuid`, `getgid`, `getegid`, `getresgid`, `getgroups`.
    GetIds = 34,
    /// `getpid`, `getppid`, `gettid`.
    GetPids = 35,
    /// `getpgid`, `getpgrp`.
    GetPgids = 36,
    /// `getrlimit`, `ugetrlimit`, `prlimit64` with a NULL new limit.
    GetRlimit = 37,
    /// `setrlimit`, `prlimit64`.
    SetRlimit = 38,
    /// `getrandom` with flags 0 or `GRND_NONBLOCK`.
    GetRandom = 39,
    /// `madvise(..., MADV_WIPEONFORK)` (and advice -1, a support probe).
    WipeOnFork = 40,
    /// `fcntl`/`fcntl64` with `F_GETFD`, `F_SETFD`, `F_GETFL`, `F_SETFL`, `F_GETLK`, `F_SETLK`, `F_SETLKW`, `F_DUPFD`, `F_DUPFD_CLOEXEC`.
    SafeFcntl = 41,
    /// `mlock`, `munlock`, `mlock2`.
    Mlock = 42,
    /// `mmap`, `mmap2` with any protection, executable included.
    Mmap = 43,
    /// `mmap`, `mmap2` unless the protection includes `PROT_EXEC`.
    MmapWithoutExec = 44,
    /// `mprotect` with any protection, executable included.
    Mprotect = 45,
    /// `mprotect` unless the protection includes `PROT_EXEC`.
    MprotectWithoutExec = 46,
    /// `prctl(PR_SET_NAME, ...)`.
    PrctlSetName = 47,
    /// `prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, ...)`.
    PrctlSetVma = 48,
    /// What a statically linked glibc program does before `main` (`brk`, `uname`, `set_tid_address`, `set_robust_list`, `rseq`, `arch_prctl(ARCH_SET_FS)`, `mprotect(PROT_READ)`, ...).
    StaticStartup = 49,
    /// What the dynamic loader does before `main`: `SBX_GROUP_STATIC_STARTUP`, open, read, stat, access, `close`, `lseek`, `munmap`, and `mmap`/`mprotect` never writable and executable at once.
    DynamicStartup = 50,
    /// What glibc's `malloc` needs (`brk`, `munmap`, `mremap`, anonymous `mmap`, `futex(FUTEX_WAKE)`, ...).
    SystemMalloc = 51,
    /// `madvise` with advice that only affects the caller's memory (`MADV_DONTNEED`, `MADV_HUGEPAGE`, ...).
    LimitedMadvise = 52,
    /// `mmap` of `MAP_SHARED` read-write memory received from the host, `munmap`, `close`, stat.
    SharedMemory = 53,
    /// `rseq`, `getcpu`, `membarrier` and what TCMalloc-style allocators use with them.
    RestartableSequences = 54,
    /// `execve`, `execveat` (for execs after the one that starts the target).
    Exec = 55,
}

impl sbx_group {
    /// Every group, in numbering order.
    const ALL: [sbx_group; 55] = [
        sbx_group::Exit,
        sbx_group::Read,
        sbx_group::Write,
        sbx_group::Open,
        sbx_group::Stat,
        sbx_group::Access,
        sbx_group::Dup,
        sbx_group::Pipe,
        sbx_group::Chmod,
        sbx_group::Chown,
        sbx_group::Readdir,
        sbx_group::Readlink,
        sbx_group::Link,
        sbx_group::Symlink,
        sbx_group::Mkdir,
        sbx_group::Utime,
        sbx_group::Unlink,
        sbx_group::Rename,
        sbx_group::Eventfd,
        sbx_group::Poll,
        sbx_group::Select,
        sbx_group::EpollWait,
        sbx_group::Epoll,
        sbx_group::Inotify,
        sbx_group::Fork,
        sbx_group::Wait,
        sbx_group::Alarm,
        sbx_group::PosixTimers,
        sbx_group::HandleSignals,
        sbx_group::Kill,
        sbx_group::Tcgets,
        sbx_group::Time,
        sbx_group::Sleep,
        sbx_group::GetIds,
        sbx_group::GetPids,
        sbx_group::GetPgids,
        sbx_group::GetRlimit,
        sbx_group::SetRlimit,
        sbx_group::GetRandom,
        sbx_group::WipeOnFork,
        sbx_group::SafeFcntl,
        sbx_group::Mlock,
        sbx_group::Mmap,
        sbx_group::MmapWithoutExec,
        sbx_group::Mprotect,
        sbx_group::MprotectWithoutExec,
        sbx_group::PrctlSetName,
        sbx_group::PrctlSetVma,
        sbx_group::StaticStartup,
        sbx_group::DynamicStartup,
        sbx_group::SystemMalloc,
        sbx_group::LimitedMadvise,
        sbx_group::SharedMemory,
        sbx_group::RestartableSequences,
        sbx_group::Exec,
    ];

    pub(super) fn from_c(group: u32) -> Result<sbx_group, Failure> {
        sbx_group::ALL
            .into_iter()
            .find(|g| *g as u32 == group)
            .ok_or_else(|| {
                Failure::invalid(format!(
                    "group {group} is not one of the SBX_GROUP_* values"
                ))
            })
    }

    /// Applies the group (exhaustive: a new group must name its builder method here).
    pub(super) fn apply(self, b: &mut PolicyBuilder) {
        match self {
            sbx_group::Exit => b.allow_exit(),
            sbx_group::Read => b.allow_read(),
            sbx_group::Write => b.allow_write(),
            sbx_group::Open => b.allow_open(),
            sbx_group::Stat => b.allow_stat(),
            sbx_group::Access => b.allow_access(),
            sbx_group::Dup => b.allow_dup(),
            sbx_group::Pipe => b.allow_pipe(),
            sbx_group::Chmod => b.allow_chmod(),
            sbx_group::Chown => b.allow_chown(),
            sbx_group::Readdir => b.allow_readdir(),
            sbx_group::Readlink => b.allow_readlink(),
            sbx_group::Link => b.allow_link(),
            sbx_group::Symlink => b.allow_symlink(),
            sbx_group::Mkdir => b.allow_mkdir(),
            sbx_group::Utime => b.allow_utime(),
            sbx_group::Unlink => b.allow_unlink(),
            sbx_group::Rename => b.allow_rename(),
            sbx_group::Eventfd => b.allow_eventfd(),
            sbx_group::Poll => b.allow_poll(),
            sbx_group::Select => b.allow_select(),
            sbx_group::EpollWait => b.allow_epoll_wait(),
            sbx_group::Epoll => b.allow_epoll(),
            sbx_group::Inotify => b.allow_inotify(),
            sbx_group::Fork => b.allow_fork(),
            sbx_group::Wait => b.allow_wait(),
            sbx_group::Alarm => b.allow_alarm(),
            sbx_group::PosixTimers => b.allow_posix_timers(),
            sbx_group::HandleSignals => b.allow_handle_signals(),
            sbx_group::Kill => b.allow_kill(),
            sbx_group::Tcgets => b.allow_tcgets(),
            sbx_group::Time => b.allow_time(),
            sbx_group::Sleep => b.allow_sleep(),
            sbx_group::GetIds => b.allow_get_ids(),
            sbx_group::GetPids => b.allow_get_pids(),
            sbx_group::GetPgids => b.allow_get_pgids(),
            sbx_group::GetRlimit => b.allow_get_rlimit(),
            sbx_group::SetRlimit => b.allow_set_rlimit(),
            sbx_group::GetRandom => b.allow_get_random(),
            sbx_group::WipeOnFork => b.allow_wipe_on_fork(),
            sbx_group::SafeFcntl => b.allow_safe_fcntl(),
            sbx_group::Mlock => b.allow_mlock(),
            sbx_group::Mmap => b.allow_mmap(),
            sbx_group::MmapWithoutExec => b.allow_mmap_without_exec(),
            sbx_group::Mprotect => b.allow_mprotect(),
            sbx_group::MprotectWithoutExec => b.allow_mprotect_without_exec(),
            sbx_group::PrctlSetName => b.allow_prctl_set_name(),
            sbx_group::PrctlSetVma => b.allow_prctl_set_vma(),
            sbx_group::StaticStartup => b.allow_static_startup(),
            sbx_group::DynamicStartup => b.allow_dynamic_startup(),
            sbx_group::SystemMalloc => b.allow_system_malloc(),
            sbx_group::LimitedMadvise => b.allow_limited_madvise(),
            sbx_group::SharedMemory => b.allow_shared_memory(),
            sbx_group::RestartableSequences => b.allow_restartable_sequences(),
            sbx_group::Exec => b.allow_exec(),
        };
    }
}

#[cfg(test)]
// Tests: their casts are of constants and of values the tests make themselves.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]
mod tests {
    use super::*;
    use crate::ffi::screaming_snake;
    use std::fmt::Write as _;

    #[test]
    fn groups_are_numbered_without_gaps() {
        for (i, g) in sbx_group::ALL.iter().enumerate() {
            assert_eq!(*g as u32, i as u32 + 1, "{g:?}");
        }
        assert!(sbx_group::from_c(0).is_err());
        assert!(sbx_group::from_c(sbx_group::ALL.len() as u32 + 1).is_err());
    }

    /// The `///` comment of every `sbx_group` variant, read from this file: the one place the
    /// groups are documented. cbindgen copies the comments into sbx.h, and
    /// `go_group_file_is_generated_from_sbx_group` renders them into go/group.go.
    fn group_docs() -> Vec<(String, String)> {
        let src = include_str!("group.rs");
        let body = src
            .split_once("pub enum sbx_group {")
            .and_then(|(_, rest)| rest.split_once("\n}"))
            .expect("the sbx_group enum in group.rs")
            .0;
        let mut out = Vec::new();
        let mut doc = String::new();
        for line in body.lines().map(str::trim) {
            if let Some(d) = line.strip_prefix("///") {
                if !doc.is_empty() {
                    doc.push(' ');
                }
                doc.push_str(d.trim());
            } else if let Some((name, _)) = line.split_once(" = ") {
                out.push((name.to_owned(), std::mem::take(&mut doc)));
            }
        }
        out
    }

    /// `text` as `//` comment lines indented by one tab, wrapped at 100 columns (tab = 4).
    fn go_comment(text: &str) -> String {
        let mut out = String::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            if !line.is_empty() && 4 + 3 + line.len() + 1 + word.len() > 100 {
                let _ = writeln!(out, "\t// {line}");
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        let _ = writeln!(out, "\t// {line}");
        out
    }

    /// go/group.go as generated from `sbx_group::ALL` and the variants' comments.
    fn go_group_file() -> String {
        let docs = group_docs();
        let names: Vec<String> = sbx_group::ALL.iter().map(|g| format!("{g:?}")).collect();
        let doc_names: Vec<&String> = docs.iter().map(|(n, _)| n).collect();
        assert_eq!(
            doc_names,
            names.iter().collect::<Vec<_>>(),
            "sbx_group::ALL must list the enum's variants in order"
        );
        // C constant -> Go constant, longest first (SBX_GROUP_EPOLL is a prefix of _EPOLL_WAIT).
        let mut renames: Vec<(String, String)> = names
            .iter()
            .map(|n| {
                (
                    format!("SBX_GROUP_{}", screaming_snake(n)),
                    format!("Group{n}"),
                )
            })
            .collect();
        renames.sort_by_key(|(c, _)| std::cmp::Reverse(c.len()));
        let mut consts = String::new();
        for (name, doc) in &docs {
            let mut text = doc.clone();
            // "What the loader does" reads "GroupX allows what the loader does".
            let mut chars = text.chars();
            if let (Some(a), Some(b)) = (chars.next(), chars.next()) {
                if a.is_ascii_uppercase() && b.is_ascii_lowercase() {
                    text.replace_range(..1, &a.to_ascii_lowercase().to_string());
                }
            }
            text = text.replace('`', "");
            for (c, go) in &renames {
                text = text.replace(c.as_str(), go);
            }
            consts.push_str(&go_comment(&format!("Group{name} allows {text}")));
            let _ = writeln!(
                consts,
                "\tGroup{name} Group = C.SBX_GROUP_{}",
                screaming_snake(name)
            );
        }
        let width = names.iter().map(String::len).max().unwrap_or(0) + "Group:".len();
        let mut map = String::new();
        for n in &names {
            let _ = writeln!(
                map,
                "\t{:<width$} \"{}\",",
                format!("Group{n}:"),
                screaming_snake(n)
            );
        }
        format!(
            "// Code generated by `SBX_REGEN=1 cargo test --lib go_group_file`. DO NOT EDIT.
// Source: the sbx_group enum in src/ffi/policy_builder/group.rs (its variants and their comments).

package sbx

// #include <sbx.h>
import \"C\"

import \"strconv\"

// Group is a named set of syscalls that PolicyBuilder.AllowGroup opens at once (the C ABI's
// sbx_group). Some groups carry argument conditions; integer arguments the kernel reads as an
// int are compared on 32 bits. Syscalls a group names that the running architecture lacks are
// skipped. Values never change.
type Group uint32

// The groups of the C ABI, in the header's order.
const (
{consts})

var groupNames = map[Group]string{{
{map}}}

// String returns the group's name as in the C ABI without its prefix (\"DYNAMIC_STARTUP\"), or
// \"Group(N)\" for a value libsbx does not define.
func (g Group) String() string {{
\tif n, ok := groupNames[g]; ok {{
\t\treturn n
\t}}
\treturn \"Group(\" + strconv.FormatUint(uint64(g), 10) + \")\"
}}
"
        )
    }

    /// go/group.go is generated (like include/sbx.h): its constants, their comments and the
    /// names come from `sbx_group`. `SBX_REGEN=1` writes the file instead of comparing.
    #[test]
    fn go_group_file_is_generated_from_sbx_group() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("go/group.go");
        let want = go_group_file();
        if std::env::var_os("SBX_REGEN").is_some_and(|v| v == "1") {
            std::fs::write(&path, &want).expect("write go/group.go");
            return;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "go/group.go is stale: it is generated from the sbx_group enum in \
             src/ffi/policy_builder/group.rs (variants, values, /// comments). Regenerate it with \
             `SBX_REGEN=1 cargo test --lib go_group_file` (and include/sbx.h with cbindgen, see \
             cbindgen.toml), then commit both."
        );
    }
}
