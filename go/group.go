package sbx

// #include <sbx.h>
import "C"

import "strconv"

// Group is a named set of syscalls that PolicyBuilder.AllowGroup opens at once (the C ABI's
// sbx_group). Some groups carry argument conditions; integer arguments the kernel reads as an
// int are compared on 32 bits. Syscalls a group names that the running architecture lacks are
// skipped. Values never change.
type Group uint32

// The groups of the C ABI, in the header's order.
const (
	// GroupExit allows exit, exit_group.
	GroupExit Group = C.SBX_GROUP_EXIT
	// GroupRead allows read, readv, pread64, preadv, preadv2.
	GroupRead Group = C.SBX_GROUP_READ
	// GroupWrite allows write, writev, pwrite64, pwritev, pwritev2.
	GroupWrite Group = C.SBX_GROUP_WRITE
	// GroupOpen allows open, openat, creat.
	GroupOpen Group = C.SBX_GROUP_OPEN
	// GroupStat allows stat, lstat, fstat, newfstatat, statx, statfs, fstatfs, ustat and 32-bit
	// variants.
	GroupStat Group = C.SBX_GROUP_STAT
	// GroupAccess allows access, faccessat, faccessat2.
	GroupAccess Group = C.SBX_GROUP_ACCESS
	// GroupDup allows dup, dup2, dup3.
	GroupDup Group = C.SBX_GROUP_DUP
	// GroupPipe allows pipe, pipe2.
	GroupPipe Group = C.SBX_GROUP_PIPE
	// GroupChmod allows chmod, fchmod, fchmodat, fchmodat2.
	GroupChmod Group = C.SBX_GROUP_CHMOD
	// GroupChown allows chown, lchown, fchown, fchownat (and i386 *32).
	GroupChown Group = C.SBX_GROUP_CHOWN
	// GroupReaddir allows getdents, getdents64.
	GroupReaddir Group = C.SBX_GROUP_READDIR
	// GroupReadlink allows readlink, readlinkat.
	GroupReadlink Group = C.SBX_GROUP_READLINK
	// GroupLink allows link, linkat.
	GroupLink Group = C.SBX_GROUP_LINK
	// GroupSymlink allows symlink, symlinkat.
	GroupSymlink Group = C.SBX_GROUP_SYMLINK
	// GroupMkdir allows mkdir, mkdirat.
	GroupMkdir Group = C.SBX_GROUP_MKDIR
	// GroupUtime allows utime, utimes, futimesat, utimensat.
	GroupUtime Group = C.SBX_GROUP_UTIME
	// GroupUnlink allows unlink, unlinkat, rmdir.
	GroupUnlink Group = C.SBX_GROUP_UNLINK
	// GroupRename allows rename, renameat, renameat2.
	GroupRename Group = C.SBX_GROUP_RENAME
	// GroupEventfd allows eventfd, eventfd2.
	GroupEventfd Group = C.SBX_GROUP_EVENTFD
	// GroupPoll allows poll, ppoll.
	GroupPoll Group = C.SBX_GROUP_POLL
	// GroupSelect allows select, _newselect, pselect6.
	GroupSelect Group = C.SBX_GROUP_SELECT
	// GroupEpollWait allows epoll_wait, epoll_pwait, epoll_pwait2.
	GroupEpollWait Group = C.SBX_GROUP_EPOLL_WAIT
	// GroupEpoll allows GroupEpollWait plus epoll_create, epoll_create1, epoll_ctl.
	GroupEpoll Group = C.SBX_GROUP_EPOLL
	// GroupInotify allows inotify_init, inotify_init1, inotify_add_watch, inotify_rm_watch.
	GroupInotify Group = C.SBX_GROUP_INOTIFY
	// GroupFork allows fork, vfork, clone (never with namespace flags; clone3 gets ENOSYS).
	GroupFork Group = C.SBX_GROUP_FORK
	// GroupWait allows wait4, waitid, waitpid.
	GroupWait Group = C.SBX_GROUP_WAIT
	// GroupAlarm allows alarm, setitimer, getitimer.
	GroupAlarm Group = C.SBX_GROUP_ALARM
	// GroupPosixTimers allows timer_create, timer_delete, timer_settime, timer_gettime,
	// timer_getoverrun.
	GroupPosixTimers Group = C.SBX_GROUP_POSIX_TIMERS
	// GroupHandleSignals allows rt_sigaction, rt_sigprocmask, rt_sigreturn, sigaltstack,
	// restart_syscall.
	GroupHandleSignals Group = C.SBX_GROUP_HANDLE_SIGNALS
	// GroupKill allows kill, tgkill, tkill.
	GroupKill Group = C.SBX_GROUP_KILL
	// GroupTcgets allows ioctl(fd, TCGETS, ...) (what isatty() does).
	GroupTcgets Group = C.SBX_GROUP_TCGETS
	// GroupTime allows time, gettimeofday, clock_gettime, clock_getres.
	GroupTime Group = C.SBX_GROUP_TIME
	// GroupSleep allows nanosleep, clock_nanosleep.
	GroupSleep Group = C.SBX_GROUP_SLEEP
	// GroupGetIds allows getuid, geteuid, getresuid, getgid, getegid, getresgid, getgroups.
	GroupGetIds Group = C.SBX_GROUP_GET_IDS
	// GroupGetPids allows getpid, getppid, gettid.
	GroupGetPids Group = C.SBX_GROUP_GET_PIDS
	// GroupGetPgids allows getpgid, getpgrp.
	GroupGetPgids Group = C.SBX_GROUP_GET_PGIDS
	// GroupGetRlimit allows getrlimit, ugetrlimit, prlimit64 with a NULL new limit.
	GroupGetRlimit Group = C.SBX_GROUP_GET_RLIMIT
	// GroupSetRlimit allows setrlimit, prlimit64.
	GroupSetRlimit Group = C.SBX_GROUP_SET_RLIMIT
	// GroupGetRandom allows getrandom with flags 0 or GRND_NONBLOCK.
	GroupGetRandom Group = C.SBX_GROUP_GET_RANDOM
	// GroupWipeOnFork allows madvise(..., MADV_WIPEONFORK) (and advice -1, a support probe).
	GroupWipeOnFork Group = C.SBX_GROUP_WIPE_ON_FORK
	// GroupSafeFcntl allows fcntl/fcntl64 with F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_GETLK,
	// F_SETLK, F_SETLKW, F_DUPFD, F_DUPFD_CLOEXEC.
	GroupSafeFcntl Group = C.SBX_GROUP_SAFE_FCNTL
	// GroupMlock allows mlock, munlock, mlock2.
	GroupMlock Group = C.SBX_GROUP_MLOCK
	// GroupMmap allows mmap, mmap2 with any protection, executable included.
	GroupMmap Group = C.SBX_GROUP_MMAP
	// GroupMmapWithoutExec allows mmap, mmap2 unless the protection includes PROT_EXEC.
	GroupMmapWithoutExec Group = C.SBX_GROUP_MMAP_WITHOUT_EXEC
	// GroupMprotect allows mprotect with any protection, executable included.
	GroupMprotect Group = C.SBX_GROUP_MPROTECT
	// GroupMprotectWithoutExec allows mprotect unless the protection includes PROT_EXEC.
	GroupMprotectWithoutExec Group = C.SBX_GROUP_MPROTECT_WITHOUT_EXEC
	// GroupPrctlSetName allows prctl(PR_SET_NAME, ...).
	GroupPrctlSetName Group = C.SBX_GROUP_PRCTL_SET_NAME
	// GroupPrctlSetVma allows prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, ...).
	GroupPrctlSetVma Group = C.SBX_GROUP_PRCTL_SET_VMA
	// GroupStaticStartup allows what a statically linked glibc program does before main (brk,
	// uname, set_tid_address, set_robust_list, rseq, arch_prctl(ARCH_SET_FS), mprotect(PROT_READ),
	// ...).
	GroupStaticStartup Group = C.SBX_GROUP_STATIC_STARTUP
	// GroupDynamicStartup allows what the dynamic loader does before main: GroupStaticStartup,
	// open, read, stat, access, close, lseek, munmap, and mmap/mprotect never writable and
	// executable at once.
	GroupDynamicStartup Group = C.SBX_GROUP_DYNAMIC_STARTUP
	// GroupSystemMalloc allows what glibc's malloc needs (brk, munmap, mremap, anonymous mmap,
	// futex(FUTEX_WAKE), ...).
	GroupSystemMalloc Group = C.SBX_GROUP_SYSTEM_MALLOC
	// GroupLimitedMadvise allows madvise with advice that only affects the caller's memory
	// (MADV_DONTNEED, MADV_HUGEPAGE, ...).
	GroupLimitedMadvise Group = C.SBX_GROUP_LIMITED_MADVISE
	// GroupSharedMemory allows mmap of MAP_SHARED read-write memory received from the host,
	// munmap, close, stat.
	GroupSharedMemory Group = C.SBX_GROUP_SHARED_MEMORY
	// GroupRestartableSequences allows rseq, getcpu, membarrier and what TCMalloc-style allocators
	// use with them.
	GroupRestartableSequences Group = C.SBX_GROUP_RESTARTABLE_SEQUENCES
	// GroupExec allows execve, execveat (for execs after the one that starts the target).
	GroupExec Group = C.SBX_GROUP_EXEC
)

var groupNames = map[Group]string{
	GroupExit:                 "EXIT",
	GroupRead:                 "READ",
	GroupWrite:                "WRITE",
	GroupOpen:                 "OPEN",
	GroupStat:                 "STAT",
	GroupAccess:               "ACCESS",
	GroupDup:                  "DUP",
	GroupPipe:                 "PIPE",
	GroupChmod:                "CHMOD",
	GroupChown:                "CHOWN",
	GroupReaddir:              "READDIR",
	GroupReadlink:             "READLINK",
	GroupLink:                 "LINK",
	GroupSymlink:              "SYMLINK",
	GroupMkdir:                "MKDIR",
	GroupUtime:                "UTIME",
	GroupUnlink:               "UNLINK",
	GroupRename:               "RENAME",
	GroupEventfd:              "EVENTFD",
	GroupPoll:                 "POLL",
	GroupSelect:               "SELECT",
	GroupEpollWait:            "EPOLL_WAIT",
	GroupEpoll:                "EPOLL",
	GroupInotify:              "INOTIFY",
	GroupFork:                 "FORK",
	GroupWait:                 "WAIT",
	GroupAlarm:                "ALARM",
	GroupPosixTimers:          "POSIX_TIMERS",
	GroupHandleSignals:        "HANDLE_SIGNALS",
	GroupKill:                 "KILL",
	GroupTcgets:               "TCGETS",
	GroupTime:                 "TIME",
	GroupSleep:                "SLEEP",
	GroupGetIds:               "GET_IDS",
	GroupGetPids:              "GET_PIDS",
	GroupGetPgids:             "GET_PGIDS",
	GroupGetRlimit:            "GET_RLIMIT",
	GroupSetRlimit:            "SET_RLIMIT",
	GroupGetRandom:            "GET_RANDOM",
	GroupWipeOnFork:           "WIPE_ON_FORK",
	GroupSafeFcntl:            "SAFE_FCNTL",
	GroupMlock:                "MLOCK",
	GroupMmap:                 "MMAP",
	GroupMmapWithoutExec:      "MMAP_WITHOUT_EXEC",
	GroupMprotect:             "MPROTECT",
	GroupMprotectWithoutExec:  "MPROTECT_WITHOUT_EXEC",
	GroupPrctlSetName:         "PRCTL_SET_NAME",
	GroupPrctlSetVma:          "PRCTL_SET_VMA",
	GroupStaticStartup:        "STATIC_STARTUP",
	GroupDynamicStartup:       "DYNAMIC_STARTUP",
	GroupSystemMalloc:         "SYSTEM_MALLOC",
	GroupLimitedMadvise:       "LIMITED_MADVISE",
	GroupSharedMemory:         "SHARED_MEMORY",
	GroupRestartableSequences: "RESTARTABLE_SEQUENCES",
	GroupExec:                 "EXEC",
}

// String returns the group's name as in the C ABI without its prefix ("DYNAMIC_STARTUP"), or
// "Group(N)" for a value libsbx does not define.
func (g Group) String() string {
	if n, ok := groupNames[g]; ok {
		return n
	}
	return "Group(" + strconv.FormatUint(uint64(g), 10) + ")"
}
