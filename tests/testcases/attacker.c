/*
 * Multi-call attacker/helper program for the libsbx integration tests (64-bit, static).
 *
 * Usage: attacker MODE --expect-ns=0|1|NS,NS,... --host-ns=pid:[N],mnt:[N],... [MODE ARGS...]
 *
 * Safety: before doing anything else the program checks that it runs under a seccomp filter
 * (/proc/self/status "Seccomp:\t2") and that none of the namespaces it is told to expect is the
 * host's (--expect-ns=1: all of pid, mnt, net, user, uts, ipc, cgroup; a list such as
 * "pid,mnt,user,uts,ipc,cgroup" for a sandbox sharing the host's network; 0: none). If not, it
 * prints "NOT SANDBOXED" and exits 99 without attacking anything. Every attack aims at a harmless
 * target even if a rule were broken: its own children, invalid arguments, or things the test
 * created for it (a file in a temp dir, a listener on 127.0.0.1, a `sleep` process).
 *
 * Exit codes shared by many modes:
 *   50  the attacked syscall returned success (the sandbox let it through)
 *   51  the attacked syscall failed with EPERM (e.g. a user errno rule)
 *   52  the attacked syscall failed with another errno (printed)
 *   98  bad usage, 99 not sandboxed
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

/* ---- tiny async-signal-safe output helpers (no stdio: fewer syscalls to allow) ---- */

static void out_fd(int fd, const char *s) {
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}
static void out(const char *s) { out_fd(1, s); }

static char *fmt_u(char *buf, unsigned long long v, int base) {
    char tmp[32];
    int i = 0;
    do {
        int d = (int)(v % (unsigned)base);
        tmp[i++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= (unsigned)base;
    } while (v);
    while (i) *buf++ = tmp[--i];
    *buf = 0;
    return buf;
}

static void out_num(const char *label, long long v) {
    char buf[96];
    char *p = buf;
    size_t l = strlen(label);
    memcpy(p, label, l);
    p += l;
    if (v < 0) { *p++ = '-'; v = -v; }
    p = fmt_u(p, (unsigned long long)v, 10);
    *p++ = '\n';
    *p = 0;
    out(buf);
}

/* One line "<pid>\n" in a single write (atomic on a pipe). */
static void report_pid(int fd, long pid) {
    char buf[32];
    char *p = fmt_u(buf, (unsigned long long)pid, 10);
    *p++ = '\n';
    (void)!write(fd, buf, (size_t)(p - buf));
}

static unsigned long long parse_u(const char *s) {
    return strtoull(s, NULL, 0);
}

/* Exit code for "the attacked call came back": 50 success, 51 EPERM, 52 other errno. */
static int verdict(const char *what, long r) {
    if (r >= 0) {
        out("RETURNED "); out(what); out_num(" ok ", r);
        return 50;
    }
    int e = errno;
    out("RETURNED "); out(what); out_num(" errno ", e);
    return e == EPERM ? 51 : 52;
}

/* ---- the sandbox check ---- */

static int read_file(const char *path, char *buf, size_t cap) {
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t n = 0;
    while (n + 1 < cap) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r <= 0) break;
        n += (size_t)r;
    }
    buf[n] = 0;
    close(fd);
    return (int)n;
}

/* Returns the value after "Key:" (tabs skipped) in a /proc status text, copied into val. */
static int status_field(const char *text, const char *key, char *val, size_t cap) {
    size_t kl = strlen(key);
    const char *p = text;
    while (p && *p) {
        if (strncmp(p, key, kl) == 0 && p[kl] == ':') {
            p += kl + 1;
            while (*p == '\t' || *p == ' ') p++;
            size_t i = 0;
            while (p[i] && p[i] != '\n' && i + 1 < cap) { val[i] = p[i]; i++; }
            val[i] = 0;
            return 0;
        }
        p = strchr(p, '\n');
        if (p) p++;
    }
    return -1;
}

static const char *NS_NAMES[] = {"pid", "mnt", "net", "user", "uts", "ipc", "cgroup"};

/* Finds "name:[...]" in the comma-separated host list. */
static int host_ns_value(const char *list, const char *name, char *val, size_t cap) {
    size_t nl = strlen(name);
    const char *p = list;
    while (p && *p) {
        if (strncmp(p, name, nl) == 0 && p[nl] == ':') {
            p += nl + 1;
            size_t i = 0;
            while (p[i] && p[i] != ',' && i + 1 < cap) { val[i] = p[i]; i++; }
            val[i] = 0;
            return 0;
        }
        p = strchr(p, ',');
        if (p) p++;
    }
    return -1;
}

/* "pid,mnt" -> "pid:x,mnt:x" so that host_ns_value can look names up in it. */
static const char *expect_list_as_host(const char *list) {
    static char buf[256];
    char *p = buf;
    for (const char *q = list; *q && p + 4 < buf + sizeof buf; q++) {
        if (*q == ',') { *p++ = ':'; *p++ = 'x'; }
        *p++ = *q;
    }
    *p++ = ':'; *p++ = 'x'; *p = 0;
    return buf;
}

static void require_sandbox(int argc, char **argv) {
    if (argc < 4 || strncmp(argv[2], "--expect-ns=", 12) != 0 || strncmp(argv[3], "--host-ns=", 10) != 0) {
        out_fd(2, "BAD USAGE: attacker MODE --expect-ns=0|1|LIST --host-ns=LIST [ARGS]\n");
        _exit(98);
    }
    const char *expect = argv[2] + 12;
    const char *host = argv[3] + 10;
    if (expect[0] == 0) {
        out_fd(2, "BAD USAGE: empty --expect-ns\n");
        _exit(98);
    }
    /* The host list must be complete even when namespaces are not expected yet. */
    for (unsigned i = 0; i < sizeof NS_NAMES / sizeof NS_NAMES[0]; i++) {
        char hv[64];
        if (host_ns_value(host, NS_NAMES[i], hv, sizeof hv) != 0 || hv[0] == 0) {
            out_fd(2, "BAD USAGE: --host-ns lacks "); out_fd(2, NS_NAMES[i]); out_fd(2, "\n");
            _exit(98);
        }
    }
    static char status[8192];
    char v[64];
    if (read_file("/proc/self/status", status, sizeof status) <= 0 ||
        status_field(status, "Seccomp", v, sizeof v) != 0 || strcmp(v, "2") != 0) {
        out("NOT SANDBOXED (no seccomp filter)\n");
        _exit(99);
    }
    if (strcmp(expect, "0") != 0) {
        for (unsigned i = 0; i < sizeof NS_NAMES / sizeof NS_NAMES[0]; i++) {
            char dummy[8];
            /* "1" expects every namespace; a list expects the ones it names. */
            if (strcmp(expect, "1") != 0 && host_ns_value(expect_list_as_host(expect), NS_NAMES[i], dummy, sizeof dummy) != 0)
                continue;
            char path[64] = "/proc/self/ns/";
            char mine[64], hv[64];
            strcat(path, NS_NAMES[i]);
            long n = syscall(SYS_readlinkat, AT_FDCWD, path, mine, sizeof mine - 1);
            if (n <= 0) { out("NOT SANDBOXED (cannot read "); out(path); out(")\n"); _exit(99); }
            mine[n] = 0;
            /* The link reads "pid:[4026531836]"; the host list maps "pid" to "[4026531836]". */
            const char *id = strchr(mine, ':');
            id = id ? id + 1 : mine;
            host_ns_value(host, NS_NAMES[i], hv, sizeof hv);
            if (strcmp(id, hv) == 0) {
                out("NOT SANDBOXED (host "); out(NS_NAMES[i]); out(" namespace)\n");
                _exit(99);
            }
        }
    }
}

/* ---- attacks on single syscalls, with harmless arguments ---- */

static long do_sys(const char *name) {
    static char zero[512];
    memset(zero, 0, sizeof zero);
    if (!strcmp(name, "bpf")) return syscall(SYS_bpf, 0 /* BPF_MAP_CREATE */, zero, 128);
    if (!strcmp(name, "io_uring_setup")) return syscall(SYS_io_uring_setup, 1, zero);
    if (!strcmp(name, "io_uring_enter")) return syscall(SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0);
    if (!strcmp(name, "io_uring_register")) return syscall(SYS_io_uring_register, -1, 0, NULL, 0);
    if (!strcmp(name, "userfaultfd")) return syscall(SYS_userfaultfd, O_CLOEXEC);
    if (!strcmp(name, "perf_event_open")) return syscall(SYS_perf_event_open, zero, 0, -1, -1, 0);
    if (!strcmp(name, "keyctl")) return syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3 /* session */, 0);
    if (!strcmp(name, "add_key")) return syscall(SYS_add_key, "", "sbx-test", NULL, 0, -2 /* process */);
    if (!strcmp(name, "request_key")) return syscall(SYS_request_key, "user", "sbx-test-none", NULL, 0);
    if (!strcmp(name, "init_module")) return syscall(SYS_init_module, NULL, 0, "");
    if (!strcmp(name, "finit_module")) return syscall(SYS_finit_module, -1, "", 0);
    if (!strcmp(name, "delete_module")) return syscall(SYS_delete_module, "sbx_no_such_module", O_NONBLOCK);
    /* Invalid flags: the kernel rejects them before touching any loaded image. */
    if (!strcmp(name, "kexec_load")) return syscall(SYS_kexec_load, 0, 0, NULL, 0xdead0000UL);
    if (!strcmp(name, "kexec_file_load")) return syscall(SYS_kexec_file_load, -1, -1, 0, NULL, 0xdead0000UL);
    /* ADDR_NO_RANDOMIZE: a persona Docker's default profile refuses. */
    if (!strcmp(name, "personality")) return syscall(SYS_personality, 0x0040000UL);
    if (!strcmp(name, "getuid")) return syscall(SYS_getuid);
    if (!strcmp(name, "getppid")) return syscall(SYS_getppid);
    if (!strcmp(name, "uname")) return syscall(SYS_uname, zero);
    out_fd(2, "BAD USAGE: unknown syscall name\n");
    _exit(98);
}

/* ptrace attempt against a child it forks itself. */
static int mode_ptrace(void) {
    pid_t child = fork();
    if (child < 0) return verdict("fork", -1);
    if (child == 0) {
        for (;;) pause();
    }
    long r = syscall(SYS_ptrace, 0x4206 /* PTRACE_SEIZE */, child, 0, 0);
    int code = verdict("ptrace", r);
    kill(child, SIGKILL);
    waitpid(child, NULL, __WALL);
    return code;
}

/* clone with the given flags, fork-style (no new stack): a child exits at once. */
static int mode_clone(unsigned long flags) {
    long r = syscall(SYS_clone, flags, 0, 0, 0, 0);
    if (r == 0) _exit(0);
    if (r > 0) waitpid((pid_t)r, NULL, __WALL);
    return verdict("clone", r);
}

struct clone_args_v0 {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

/* clone3: 10 = ENOSYS (expected), 11 = created a process, 12 = another errno. */
static int mode_clone3(uint64_t flags) {
    struct clone_args_v0 a;
    memset(&a, 0, sizeof a);
    a.flags = flags;
    a.exit_signal = SIGCHLD;
    long r = syscall(SYS_clone3, &a, sizeof a);
    if (r == 0) _exit(0);
    if (r > 0) { waitpid((pid_t)r, NULL, __WALL); out("CLONE3 CREATED A PROCESS\n"); return 11; }
    out_num("CLONE3 errno ", errno);
    return errno == ENOSYS ? 10 : 12;
}

static void *thread_ok(void *arg) { return arg; }

/* A trivial RET_ALLOW filter, installed with the given flags. */
static long install_allow_filter(unsigned long flags) {
    struct sock_filter insn[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    struct sock_fprog prog = {1, insn};
    return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

static long int80(long nr, long a1) {
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a1), "c"(0), "d"(0) : "memory");
    return ret;
}

static const char *g_sys_name;
static void sigsys_handler(int sig, siginfo_t *si, void *uc) {
    (void)sig; (void)si; (void)uc;
    out("SIGSYS CAUGHT\n");
    _exit(77);
}

static void *thread_sys(void *arg) {
    (void)arg;
    out_num("THREAD ", syscall(SYS_gettid));
    char b;
    (void)!read(0, &b, 1); /* lets the test find the thread from the host first (EOF: go on) */
    do_sys(g_sys_name);
    out("THREAD SYSCALL RETURNED\n");
    _exit(50);
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

static void ignore_all_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    for (int s = 1; s < 65; s++) {
        if (s != SIGKILL && s != SIGSTOP) sigaction(s, &sa, NULL);
    }
}

/* Children that try to outlive the sandbox: they ignore every signal, leave the process group,
 * and one escapes by double fork + setsid (its parent exits, it is reparented away). Every
 * process that stays writes its pid to fd 3. Prints READY when all have reported, then the main
 * process waits for stdin to be readable (EOF or a byte) and exits 0 ("exit") or calls getuid
 * ("violate"), or sleeps forever (anything else). */
static int mode_kids(const char *then) {
    int sync[2];
    if (pipe(sync) != 0) return 97;
    report_pid(3, getpid());
    for (int i = 0; i < 3; i++) {
        pid_t c = fork();
        if (c < 0) return 97;
        if (c == 0) {
            ignore_all_signals();
            setpgid(0, 0);
            if (i == 2) {
                pid_t g = fork();
                if (g != 0) _exit(0); /* the intermediate exits: g is an orphan */
                setsid();
                ignore_all_signals();
            }
            report_pid(3, getpid());
            (void)!write(sync[1], "x", 1);
            for (;;) sleep_ms(1000);
        }
    }
    char b;
    for (int got = 0; got < 3;) {
        if (read(sync[0], &b, 1) == 1) got++;
    }
    out("READY\n");
    /* "exit" and "violate" wait for a byte (or EOF) on stdin first, so that the test can look
     * at the processes from the host before the run ends. */
    if (!strcmp(then, "exit") || !strcmp(then, "violate")) (void)!read(0, &b, 1);
    if (!strcmp(then, "exit")) return 0;
    if (!strcmp(then, "violate")) return verdict("getuid", syscall(SYS_getuid));
    for (;;) sleep_ms(1000);
}

/* Fork bomb: every process forks as fast as it can; each child that runs reports its pid to fd 3
 * once and never exits. The main process stops after `ms` milliseconds and exits 0. */
static int mode_forkbomb(long ms) {
    signal(SIGCHLD, SIG_IGN); /* children are reaped by the kernel: only live tasks count */
    double end = now_ms() + (double)ms;
    int is_main = 1;
    for (;;) {
        if (is_main && now_ms() >= end) return 0;
        pid_t c = fork();
        if (c == 0) {
            is_main = 0;
            report_pid(3, getpid());
        }
        sleep_ms(1);
    }
}

/* Allocates 1 MiB chunks (touched) up to `max_mib`; 3 = allocation failed (prints how far). */
static int mode_memhog(long max_mib) {
    void *big = mmap(NULL, 256UL << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (big != MAP_FAILED) out("MMAP 256MiB OK\n"); else out_num("MMAP 256MiB errno ", errno);
    if (big != MAP_FAILED) munmap(big, 256UL << 20);
    long i;
    for (i = 0; i < max_mib; i++) {
        char *p = malloc(1 << 20);
        if (!p) {
            out_num("ALLOCATED MiB ", i);
            return 3;
        }
        memset(p, 0x5a, 1 << 20);
    }
    out_num("ALLOCATED MiB ", i);
    return 0;
}

static int mode_fds(void) {
    int dfd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return verdict("open /proc/self/fd", -1);
    char buf[4096];
    char line[1024] = "FDS";
    for (;;) {
        long n = syscall(SYS_getdents64, dfd, buf, sizeof buf);
        if (n <= 0) break;
        for (long off = 0; off < n;) {
            unsigned short reclen = *(unsigned short *)(buf + off + 16);
            const char *name = buf + off + 19;
            if (name[0] != '.' && atoi(name) != dfd && strlen(line) + 16 < sizeof line) {
                strcat(line, " ");
                strcat(line, name);
            }
            off += reclen;
        }
    }
    close(dfd);
    strcat(line, "\n");
    out(line);
    return 0;
}

static int mode_status(void) {
    static char status[8192];
    if (read_file("/proc/self/status", status, sizeof status) <= 0) return 97;
    const char *keys[] = {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp",
                          "SigBlk", "SigIgn", "Uid"};
    for (unsigned i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char v[128];
        if (status_field(status, keys[i], v, sizeof v) == 0) {
            out(keys[i]); out("="); out(v); out("\n");
        }
    }
    out_num("Securebits=", prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
    out_num("Pid=", getpid());
    out_num("Sid=", getsid(0));
    out_num("Pgid=", getpgid(0));
    out_num("Dumpable=", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
    return 0;
}

/* ---- filesystem, network and process-view probes (namespaces, issue 3) ---- */

/* "NAME ok" or "NAME errno N" on one line; returns 1 when the call succeeded. */
static int report(const char *name, long r) {
    if (r >= 0) { out(name); out(" ok\n"); return 1; }
    int e = errno;
    out(name); out_num(" errno ", e);
    errno = e;
    return 0;
}

/* Real and effective ids, the UTS hostname and the kernel's view of the ids. */
static int mode_ids(void) {
    out_num("UID=", getuid());
    out_num("EUID=", geteuid());
    out_num("GID=", getgid());
    out_num("EGID=", getegid());
    struct utsname u;
    if (uname(&u) == 0) { out("HOSTNAME="); out(u.nodename); out("\n"); }
    return 0;
}

/* Opens PATH for writing (creating it) and writes TEXT. */
static int mode_write(const char *path, const char *text) {
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return verdict("open", -1);
    long n = write(fd, text, strlen(text));
    close(fd);
    return verdict("write", n);
}

static int mode_tcp(const char *port) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return verdict("socket", -1);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)parse_u(port));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    long r = connect(s, (struct sockaddr *)&sa, sizeof sa);
    int code = verdict("connect", r);
    if (r == 0) (void)!write(s, "PING\n", 5);
    close(s);
    return code;
}

static int mode_abstract(const char *name) {
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return verdict("socket", -1);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    size_t n = strlen(name);
    if (n + 1 > sizeof sa.sun_path) { out_fd(2, "BAD USAGE: name too long\n"); _exit(98); }
    memcpy(sa.sun_path + 1, name, n); /* sun_path[0] = 0: abstract */
    long r = connect(s, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n));
    int code = verdict("connect", r);
    close(s);
    return code;
}

/* ---- network allow-list modes (the targets are the test's own listeners) ---- */

/* Fills `ss` for FAMILY "4", "6" (numeric ADDRESS and PORT) or "unix" (ADDRESS a path; "@name"
 * is abstract). Returns the length, or 0 on bad usage. */
static socklen_t fill_addr(struct sockaddr_storage *ss, const char *family, const char *addr,
                           const char *port) {
    memset(ss, 0, sizeof *ss);
    if (!strcmp(family, "4")) {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)parse_u(port));
        if (inet_pton(AF_INET, addr, &a->sin_addr) != 1) return 0;
        return sizeof *a;
    }
    if (!strcmp(family, "6")) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)parse_u(port));
        if (inet_pton(AF_INET6, addr, &a->sin6_addr) != 1) return 0;
        return sizeof *a;
    }
    struct sockaddr_un *a = (struct sockaddr_un *)ss;
    a->sun_family = AF_UNIX;
    size_t n = strlen(addr);
    if (n + 1 > sizeof a->sun_path) return 0;
    memcpy(a->sun_path, addr, n);
    if (addr[0] == '@') a->sun_path[0] = 0;
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (addr[0] == '@' ? 0 : 1));
}

/* sbxserve PATH HELLO DIR: asks an `sbx-run --serve` at PATH (its socket, bound into the sandbox)
 * to run `touch DIR/escaped` with every syscall allowed and no namespaces, speaking its wire
 * (sbx::Comms TLV: a 12-byte header {u32 tag; u64 len} then the payload; fds as SCM_RIGHTS on
 * an FD message). Exit 50 if the server took the run, 51 if it refused (its reason printed),
 * 52 on any other failure. DIR is the test's own directory. */
static int tlv(int s, uint32_t tag, const void *val, uint64_t len, int fd) {
    unsigned char hdr[12];
    memcpy(hdr, &tag, 4);
    memcpy(hdr + 4, &len, 8);
    struct iovec iov[2] = {{hdr, 12}, {(void *)val, (size_t)len}};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = iov;
    m.msg_iovlen = len ? 2 : 1;
    char ctl[CMSG_SPACE(sizeof(int))];
    if (fd >= 0) {
        memset(ctl, 0, sizeof ctl);
        m.msg_control = ctl;
        m.msg_controllen = sizeof ctl;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    return sendmsg(s, &m, MSG_NOSIGNAL) == (ssize_t)(12 + len) ? 0 : -1;
}

static int mode_sbxserve(const char *path, const char *hello, const char *dir) {
    struct sockaddr_storage ss;
    socklen_t len = fill_addr(&ss, "unix", path, "0");
    if (!len) { out_fd(2, "BAD USAGE: path too long\n"); _exit(98); }
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&ss, len) != 0) return verdict("connect", -1);
    char cmd[512] = "touch ";
    if (strlen(dir) > sizeof cmd - 16) { out_fd(2, "BAD USAGE: dir too long\n"); _exit(98); }
    strcat(cmd, dir);
    strcat(cmd, "/escaped");
    const char *args[] = {"-q", "--allow-all", "--no-namespaces", "--", "/bin/sh", "-c", cmd};
    /* Each list is one BYTES message, every item followed by a NUL; the environment is empty. */
    char packed[1024];
    size_t used = 0;
    for (size_t i = 0; i < sizeof args / sizeof *args; i++) {
        size_t n = strlen(args[i]) + 1;
        memcpy(packed + used, args[i], n);
        used += n;
    }
    int bad = tlv(s, 0x80000100u, hello, strlen(hello), -1) || tlv(s, 0x80000101u, packed, used, -1) ||
              tlv(s, 0x80000101u, "", 0, -1);
    int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    int fds[4] = {0, 1, 2, root};
    for (int i = 0; i < 4 && !bad; i++) bad = tlv(s, 0x80000201u, "", 0, fds[i]);
    /* A refusal may come before the whole request was read: the answer is read anyway. */
    if (bad) out_num("SEND errno ", errno);
    unsigned char hdr[12];
    uint32_t tag, answer = 99;
    uint64_t n;
    if (read(s, hdr, 12) != 12) { out("NO ANSWER\n"); return 52; }
    memcpy(&tag, hdr, 4);
    memcpy(&n, hdr + 4, 8);
    if (tag != 0x80000007u || n != 4 || read(s, &answer, 4) != 4) { out("BAD ANSWER\n"); return 52; }
    if (answer == 0) { out("TAKEN\n"); return 50; }
    char why[512] = {0};
    if (read(s, hdr, 12) == 12) {
        memcpy(&n, hdr + 4, 8);
        ssize_t got = read(s, why, n < sizeof why - 1 ? (size_t)n : sizeof why - 1);
        if (got < 0) got = 0;
        why[got] = 0;
    }
    out("REFUSED "); out(why); out("\n");
    return 51;
}

/* Reads what the peer sends first (up to 63 bytes) and prints "GOT <it>". */
static void print_reply(int s) {
    char buf[64];
    ssize_t n = read(s, buf, sizeof buf - 1);
    if (n < 0) { out_num("READ errno ", errno); return; }
    buf[n] = 0;
    out("GOT "); out(buf); if (n == 0 || buf[n - 1] != '\n') out("\n");
}

/* connect FAMILY ADDRESS PORT [nb] [inherit]: one stream connect (nb: non-blocking, then poll
 * for the result; inherit: without SOCK_CLOEXEC); prints the verdict, the fd's flags right after
 * the call ("FDFLAGS cloexec=C nonblock=N") and, connected, the peer's first line. */
static int mode_connect(const char *family, const char *addr, const char *port, int nb, int inherit) {
    struct sockaddr_storage ss;
    socklen_t len = fill_addr(&ss, family, addr, port);
    if (!len) { out_fd(2, "BAD USAGE: address\n"); _exit(98); }
    int s = socket(ss.ss_family, SOCK_STREAM | (inherit ? 0 : SOCK_CLOEXEC) | (nb ? SOCK_NONBLOCK : 0), 0);
    if (s < 0) return verdict("socket", -1);
    long r = connect(s, (struct sockaddr *)&ss, len);
    int saved = errno;
    out_num("FDFLAGS cloexec=", (fcntl(s, F_GETFD) & FD_CLOEXEC) != 0);
    out_num("nonblock=", (fcntl(s, F_GETFL) & O_NONBLOCK) != 0);
    errno = saved;
    if (r < 0 && nb && errno == EINPROGRESS) {
        struct pollfd p = { .fd = s, .events = POLLOUT };
        if (poll(&p, 1, 5000) != 1) { out("RETURNED connect timeout\n"); return 52; }
        int err = 0; socklen_t el = sizeof err;
        getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) { errno = err; r = -1; } else r = 0;
        int fl = fcntl(s, F_GETFL);
        fcntl(s, F_SETFL, fl & ~O_NONBLOCK);
    } else if (r == 0 && nb) {
        int fl = fcntl(s, F_GETFL);
        fcntl(s, F_SETFL, fl & ~O_NONBLOCK);
    }
    int code = verdict("connect", r);
    if (r == 0) print_reply(s);
    close(s);
    return code;
}

/* unixloop PATH N: N connects to a unix path, counting the peers' first words: "COUNTS
 * allowed=A secret=S failed=F". */
static int mode_unixloop(const char *path, const char *count) {
    long n = (long)parse_u(count), allowed = 0, secret = 0, failed = 0;
    struct sockaddr_storage ss;
    socklen_t len = fill_addr(&ss, "unix", path, "0");
    for (long i = 0; i < n; i++) {
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0) return verdict("socket", -1);
        if (connect(s, (struct sockaddr *)&ss, len) != 0) { failed++; close(s); continue; }
        char buf[16] = {0};
        ssize_t r = read(s, buf, sizeof buf - 1);
        if (r > 0 && !strncmp(buf, "ALLOWED", 7)) allowed++;
        else if (r > 0 && !strncmp(buf, "SECRET", 6)) secret++;
        else failed++;
        close(s);
    }
    out_num("COUNTS allowed=", allowed); out_num("secret=", secret); out_num("failed=", failed);
    return 0;
}

/* dgram ADDRESS: a unix datagram socket sends "LEAKED" to ADDRESS (a path, or @name) with
 * sendto, then connects to it and sends again; prints each verdict. */
static int mode_dgram(const char *addr) {
    struct sockaddr_storage ss;
    socklen_t len = fill_addr(&ss, "unix", addr, "0");
    if (!len) { out_fd(2, "BAD USAGE: address\n"); _exit(98); }
    int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return verdict("socket", -1);
    verdict("sendto", sendto(s, "LEAKED\n", 7, 0, (struct sockaddr *)&ss, len));
    long r = connect(s, (struct sockaddr *)&ss, len);
    int code = verdict("connect", r);
    if (r == 0) verdict("send", send(s, "LEAKED\n", 7, 0));
    close(s);
    return code;
}

/* A thread flips the port in the one sockaddr the main thread keeps connecting with. */
static struct sockaddr_in race_addr;
static volatile int race_stop;
static uint16_t race_ports[2];
static void *race_flipper(void *arg) {
    (void)arg;
    volatile uint16_t *port = &race_addr.sin_port;
    for (unsigned i = 0; !race_stop; i++) *port = htons(race_ports[i & 1]);
    return 0;
}

/* connect_race ALLOWED_PORT DENIED_PORT N: N connects to 127.0.0.1 while a thread rewrites
 * the port between the two; prints "RACE connected=C refused=R". */
static int mode_connect_race(const char *good, const char *bad, const char *count) {
    long n = (long)parse_u(count), connected = 0, refused = 0;
    race_ports[0] = (uint16_t)parse_u(good);
    race_ports[1] = (uint16_t)parse_u(bad);
    race_addr.sin_family = AF_INET;
    race_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    race_addr.sin_port = htons(race_ports[0]);
    pthread_t t;
    if (pthread_create(&t, 0, race_flipper, 0) != 0) return verdict("pthread_create", -1);
    for (long i = 0; i < n; i++) {
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0) break;
        if (connect(s, (struct sockaddr *)&race_addr, sizeof race_addr) == 0) connected++;
        else refused++;
        close(s);
    }
    race_stop = 1;
    pthread_join(t, 0);
    out_num("RACE connected=", connected); out_num("refused=", refused);
    return 0;
}

/* Interfaces seen in /proc/net/dev ("DEV name flags=0x.. up|down") and through SIOCGIFCONF
 * ("IFCONF name"): no `ip`, no /sys needed. */
static int mode_netdevs(void) {
    static char text[16384];
    if (read_file("/proc/net/dev", text, sizeof text) < 0) return verdict("open /proc/net/dev", -1);
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return verdict("socket", -1);
    /* Skip the two header lines; each line is "  name: counters...". */
    char *line = text;
    for (int skip = 0; skip < 2 && line; skip++) { line = strchr(line, '\n'); if (line) line++; }
    while (line && *line) {
        char *end = strchr(line, '\n');
        char *colon = strchr(line, ':');
        if (!colon || (end && colon > end)) break;
        while (*line == ' ') line++;
        char name[IFNAMSIZ];
        size_t l = (size_t)(colon - line);
        if (l >= sizeof name) l = sizeof name - 1;
        memcpy(name, line, l);
        name[l] = 0;
        struct ifreq ifr;
        memset(&ifr, 0, sizeof ifr);
        memcpy(ifr.ifr_name, name, l + 1);
        out("DEV "); out(name);
        if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
            char buf[32] = " flags=0x";
            fmt_u(buf + 9, (unsigned short)ifr.ifr_flags, 16);
            out(buf);
            out((ifr.ifr_flags & IFF_UP) ? " up\n" : " down\n");
        } else {
            out_num(" SIOCGIFFLAGS errno ", errno);
        }
        line = end ? end + 1 : NULL;
    }
    struct ifreq reqs[32];
    struct ifconf ifc;
    ifc.ifc_len = sizeof reqs;
    ifc.ifc_req = reqs;
    if (ioctl(s, SIOCGIFCONF, &ifc) == 0) {
        for (unsigned i = 0; i < ifc.ifc_len / sizeof reqs[0]; i++) {
            out("IFCONF "); out(reqs[i].ifr_name); out("\n");
        }
    } else {
        out_num("SIOCGIFCONF errno ", errno);
    }
    close(s);
    return 0;
}

/* The pids this process sees in /proc, on one line: "PIDS 1 2". */
static int mode_ps(void) {
    int dfd = (int)syscall(SYS_openat, AT_FDCWD, "/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return verdict("open /proc", -1);
    char buf[4096];
    char line[4096] = "PIDS";
    for (;;) {
        long n = syscall(SYS_getdents64, dfd, buf, sizeof buf);
        if (n <= 0) break;
        for (long off = 0; off < n;) {
            unsigned short reclen = *(unsigned short *)(buf + off + 16);
            const char *name = buf + off + 19;
            if (name[0] >= '0' && name[0] <= '9' && strlen(line) + 16 < sizeof line) {
                strcat(line, " ");
                strcat(line, name);
            }
            off += reclen;
        }
    }
    close(dfd);
    strcat(line, "\n");
    out(line);
    return 0;
}

/* Mount-table changes from inside, aimed at DIR (a test directory mounted into the sandbox):
 * every call must fail. Prints one line per call; exits 50 if any succeeded, else 0. */
static int mode_mounts(const char *dir) {
    int any = 0;
    any |= report("MOUNT tmpfs", mount("none", dir, "tmpfs", 0, ""));
    any |= report("MOUNT remount-rw", mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND, NULL));
    any |= report("MOUNT bind", mount(dir, dir, NULL, MS_BIND, NULL));
    any |= report("MOUNT make-shared", mount(NULL, dir, NULL, MS_SHARED, NULL));
    any |= report("UMOUNT2 dir", umount2(dir, MNT_DETACH));
    any |= report("UMOUNT2 proc", umount2("/proc", MNT_DETACH));
    any |= report("FSOPEN tmpfs", syscall(SYS_fsopen, "tmpfs", 0));
    any |= report("OPEN_TREE clone", syscall(SYS_open_tree, AT_FDCWD, dir, 1 /* OPEN_TREE_CLONE */));
    struct { uint64_t set, clr, prop, userns; } attr = {0, 1 /* MOUNT_ATTR_RDONLY */, 0, 0};
    any |= report("MOUNT_SETATTR rw", syscall(SYS_mount_setattr, AT_FDCWD, dir, 0, &attr, sizeof attr));
    if (chdir(dir) == 0) any |= report("PIVOT_ROOT", syscall(SYS_pivot_root, ".", "."));
    else report("CHDIR", -1);
    any |= report("CHROOT", chroot(dir));
    return any ? 50 : 0;
}

/* Namespace link of this process before and after unshare(FLAGS). */
static int mode_unshare_check(unsigned long flags) {
    char before[64], after[64];
    long n = syscall(SYS_readlinkat, AT_FDCWD, "/proc/self/ns/user", before, sizeof before - 1);
    before[n > 0 ? n : 0] = 0;
    long r = syscall(SYS_unshare, flags);
    int e = errno;
    n = syscall(SYS_readlinkat, AT_FDCWD, "/proc/self/ns/user", after, sizeof after - 1);
    after[n > 0 ? n : 0] = 0;
    out("USERNS BEFORE "); out(before); out("\n");
    out("USERNS AFTER "); out(after); out("\n");
    errno = e;
    return verdict("unshare", r);
}

static void out_ino(const char *label, const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) { out(label); out_num(" errno ", errno); return; }
    char buf[96];
    char *p = buf;
    p = fmt_u(p, (unsigned long long)st.st_dev, 10);
    *p++ = ':';
    p = fmt_u(p, (unsigned long long)st.st_ino, 10);
    *p = 0;
    out(label); out(" "); out(buf); out("\n");
}

/* Where the root is: /proc/self/root, and whether ".." climbs above it. HOSTPATH is the absolute
 * host path of a file the test created outside the sandbox's view. */
static int mode_rootcheck(const char *hostpath) {
    char buf[4096];
    long n = syscall(SYS_readlinkat, AT_FDCWD, "/proc/self/root", buf, sizeof buf - 1);
    if (n >= 0) { buf[n] = 0; out("ROOTLINK "); out(buf); out("\n"); } else out_num("ROOTLINK errno ", errno);
    out_ino("INO /", "/");
    out_ino("INO /..", "/..");
    out_ino("INO /../../..", "/../../..");
    out_ino("INO /proc/self/root/..", "/proc/self/root/..");
    int root = (int)syscall(SYS_openat, AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    report("OPEN root/../../etc/shadow", syscall(SYS_openat, root, "../../etc/shadow", O_RDONLY | O_CLOEXEC));
    char up[4200] = "../../../../..";
    strcat(up, hostpath);
    report("OPEN root/../..HOSTPATH", syscall(SYS_openat, root, up, O_RDONLY | O_CLOEXEC));
    char viaproc[4200] = "/proc/self/root/../..";
    strcat(viaproc, hostpath);
    report("OPEN /proc/self/root/../..HOSTPATH", syscall(SYS_openat, AT_FDCWD, viaproc, O_RDONLY | O_CLOEXEC));
    report("OPEN /proc/1/root/etc/shadow", syscall(SYS_openat, AT_FDCWD, "/proc/1/root/etc/shadow", O_RDONLY | O_CLOEXEC));
    close(root);
    return 0;
}

/* A directory fd handed in by the test (fd FD): what can be reached through it with "..". */
static int mode_leakfd(int fd, const char *rel) {
    static char text[4096];
    long r = syscall(SYS_openat, fd, rel, O_RDONLY | O_CLOEXEC);
    if (report("LEAK openat", r)) {
        long n = read((int)r, text, sizeof text - 1);
        text[n > 0 ? n : 0] = 0;
        out("LEAK CONTENT "); out(text); out("\n");
        close((int)r);
    }
    if (report("LEAK fchdir", fchdir(fd))) {
        r = syscall(SYS_openat, AT_FDCWD, rel, O_RDONLY | O_CLOEXEC);
        if (report("LEAK cwd open", r)) close((int)r);
    }
    return 0;
}

/* Prints every path under DIR, one per line with its type ("d", "f", "l -> target", "c", ...),
 * without entering /proc. */
static void walk(char *path, size_t len, size_t cap) {
    int dfd = (int)syscall(SYS_openat, AT_FDCWD, len ? path : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (dfd < 0) { out("E "); out(len ? path : "/"); out_num(" errno ", errno); return; }
    char buf[8192];
    for (;;) {
        long n = syscall(SYS_getdents64, dfd, buf, sizeof buf);
        if (n <= 0) break;
        for (long off = 0; off < n;) {
            unsigned short reclen = *(unsigned short *)(buf + off + 16);
            const char *name = buf + off + 19;
            off += reclen;
            if (!strcmp(name, ".") || !strcmp(name, "..")) continue;
            size_t nl = strlen(name);
            if (len + 1 + nl + 1 > cap) { out("E path too long\n"); continue; }
            path[len] = '/';
            memcpy(path + len + 1, name, nl + 1);
            size_t sub = len + 1 + nl;
            struct stat st;
            if (syscall(SYS_newfstatat, AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) != 0) {
                out("E "); out(path); out_num(" errno ", errno);
            } else if (S_ISDIR(st.st_mode)) {
                out("d "); out(path); out("\n");
                if (strcmp(path, "/proc") != 0) walk(path, sub, cap);
            } else if (S_ISLNK(st.st_mode)) {
                char t[4096];
                long tl = syscall(SYS_readlinkat, AT_FDCWD, path, t, sizeof t - 1);
                t[tl > 0 ? tl : 0] = 0;
                out("l "); out(path); out(" -> "); out(t); out("\n");
            } else {
                out(S_ISREG(st.st_mode) ? "f " : S_ISCHR(st.st_mode) ? "c " : S_ISBLK(st.st_mode) ? "b " : "o ");
                out(path); out("\n");
            }
            path[len] = 0;
        }
    }
    close(dfd);
}

/* The user-notify monitor's reserved fd number is the sandboxee's RLIMIT_NOFILE hard limit or
 * above, and its filter lets sendmsg through on exactly that number: the sandboxee must not be
 * able to get a socket there, nor raise the limit. Prints the limit, then one line per attempt. */
static int mode_reservedfd(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) { out("GETRLIMIT failed\n"); return 12; }
    long h = (long)rl.rlim_max;
    out_num("HARD=", h);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0) { out("SOCKETPAIR failed\n"); return 12; }
    report("DUP2 hard", syscall(SYS_dup2, sv[0], h));
    report("DUP3 hard", syscall(SYS_dup3, sv[0], h, 0));
    report("F_DUPFD hard", syscall(SYS_fcntl, sv[0], F_DUPFD, h));
    struct rlimit up = {rl.rlim_max + 1, rl.rlim_max + 1};
    report("RAISE hard", syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &up, NULL));
    char byte = 'x';
    struct iovec iov = {&byte, 1};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    report("SENDMSG hard", syscall(SYS_sendmsg, h, &m, 0));
    return 0;
}

/* Landlock's filesystem fence (tests/landlock.rs): its own memory through /proc/self/mem.
 * Reading is fine; writing would ignore page protections (FOLL_FORCE) and patch its own code
 * under a W^X policy. The byte written is the one already there, so even a success changes
 * nothing. */
static int mode_selfmem(void) {
    long r = syscall(SYS_openat, AT_FDCWD, "/proc/self/mem", O_RDONLY | O_CLOEXEC);
    report("OPENR /proc/self/mem", r);
    if (r >= 0) close((int)r);
    long fd = syscall(SYS_openat, AT_FDCWD, "/proc/self/mem", O_RDWR | O_CLOEXEC);
    if (!report("OPENW /proc/self/mem", fd)) return 0;
    volatile unsigned char *text = (volatile unsigned char *)(uintptr_t)&mode_selfmem;
    unsigned char b = *text;
    report("WRITE own text", pwrite((int)fd, &b, 1, (off_t)(uintptr_t)text));
    close((int)fd);
    return 0;
}

/* Landlock's filesystem fence: every kind of change beneath DIR, one line each. */
static int mode_fsops(const char *dir) {
    char p[4][512];
    const char *names[4] = {"/f", "/d", "/p", "/s"};
    for (int i = 0; i < 4; i++) {
        size_t l = strlen(dir);
        if (l + 3 > sizeof p[i]) return 98;
        memcpy(p[i], dir, l);
        strcpy(p[i] + l, names[i]);
    }
    long fd = syscall(SYS_openat, AT_FDCWD, p[0], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    report("CREATE file", fd);
    if (fd >= 0) { report("WRITE file", write((int)fd, "x", 1)); close((int)fd); }
    report("TRUNCATE file", syscall(SYS_truncate, p[0], 0));
    report("MKDIR", syscall(SYS_mkdirat, AT_FDCWD, p[1], 0755));
    report("MKFIFO", syscall(SYS_mknodat, AT_FDCWD, p[2], S_IFIFO | 0644, 0));
    report("SYMLINK", syscall(SYS_symlinkat, "f", AT_FDCWD, p[3]));
    char moved[600];
    strcpy(moved, p[1]);
    strcat(moved, "/f");
    report("RENAME into dir", syscall(SYS_renameat, AT_FDCWD, p[0], AT_FDCWD, moved));
    report("UNLINK", syscall(SYS_unlinkat, AT_FDCWD, moved, 0));
    report("RMDIR", syscall(SYS_unlinkat, AT_FDCWD, p[1], AT_REMOVEDIR));
    report("MKNOD char", syscall(SYS_mknodat, AT_FDCWD, p[0], S_IFCHR | 0600, makedev(1, 3)));
    return 0;
}

/* Reopens an inherited fd through /proc/self/fd/N: for reading, then for writing. */
static int mode_reopen(const char *n) {
    char path[64] = "/proc/self/fd/";
    if (strlen(n) > 20) return 98;
    strcat(path, n);
    long r = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    report("REOPEN read", r);
    if (r >= 0) close((int)r);
    r = syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_APPEND | O_CLOEXEC);
    report("REOPEN write", r);
    if (r >= 0) close((int)r);
    return 0;
}

/* Attempts on the sandbox's own executables and the init: each line names the attempt. */
static int mode_selfexe(void) {
    report("OPENW /proc/self/exe", syscall(SYS_openat, AT_FDCWD, "/proc/self/exe", O_WRONLY | O_CLOEXEC));
    report("OPENW /proc/1/exe", syscall(SYS_openat, AT_FDCWD, "/proc/1/exe", O_WRONLY | O_CLOEXEC));
    report("OPENR /proc/1/exe", syscall(SYS_openat, AT_FDCWD, "/proc/1/exe", O_RDONLY | O_CLOEXEC));
    char t[256];
    report("READLINK /proc/1/exe", syscall(SYS_readlinkat, AT_FDCWD, "/proc/1/exe", t, sizeof t));
    report("OPENR /proc/1/mem", syscall(SYS_openat, AT_FDCWD, "/proc/1/mem", O_RDONLY | O_CLOEXEC));
    report("OPENR /proc/1/environ", syscall(SYS_openat, AT_FDCWD, "/proc/1/environ", O_RDONLY | O_CLOEXEC));
    report("KILL0 1", kill(1, 0)); /* signal 0: a permission check only */
    return 0;
}

int main(int argc, char **argv, char **envp) {
    require_sandbox(argc, argv);
    const char *mode = argv[1];
    char **a = argv + 4; /* mode arguments */
    int na = argc - 4;
#define NEED(n) do { if (na < (n)) { out_fd(2, "BAD USAGE: missing argument\n"); _exit(98); } } while (0)

    if (!strcmp(mode, "exit")) { NEED(1); return (int)parse_u(a[0]); }
    if (!strcmp(mode, "echo")) { for (int i = 0; i < na; i++) { out(a[i]); out("\n"); } return 0; }
    if (!strcmp(mode, "sleep")) { NEED(1); sleep_ms((long)parse_u(a[0]) * 1000); return 0; }
    if (!strcmp(mode, "burn")) {
        /* burn MS: spins until this process has used MS ms of CPU time. */
        NEED(1);
        long want_ns = (long)parse_u(a[0]) * 1000000L;
        struct timespec t;
        do {
            for (volatile int i = 0; i < 100000; i++) {}
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
        } while (t.tv_sec * 1000000000L + t.tv_nsec < want_ns);
        return 0;
    }
    if (!strcmp(mode, "segv")) { *(volatile int *)8 = 1; return 0; }
    if (!strcmp(mode, "abort")) { abort(); }
    if (!strcmp(mode, "sys")) {
        /* sys NAME [TIMES]: the call TIMES times (default once); the last one's verdict. */
        NEED(1);
        unsigned long times = na > 1 ? parse_u(a[1]) : 1;
        long r = -1;
        for (unsigned long i = 0; i < times; i++) r = do_sys(a[0]);
        return verdict(a[0], r);
    }
    if (!strcmp(mode, "ptrace")) return mode_ptrace();
    if (!strcmp(mode, "clone")) { NEED(1); return mode_clone((unsigned long)parse_u(a[0])); }
    if (!strcmp(mode, "unshare")) { NEED(1); return verdict("unshare", syscall(SYS_unshare, (unsigned long)parse_u(a[0]))); }
    if (!strcmp(mode, "clone3")) { NEED(1); return mode_clone3(parse_u(a[0])); }
    if (!strcmp(mode, "threads")) {
        pthread_t t;
        int e = pthread_create(&t, NULL, thread_ok, NULL);
        if (e != 0) { out_num("PTHREAD_CREATE errno ", e); return 12; }
        pthread_join(t, NULL);
        out("THREAD OK\n");
        return 0;
    }
    if (!strcmp(mode, "seccomp")) {
        NEED(1);
        return verdict("seccomp", install_allow_filter((unsigned long)parse_u(a[0])));
    }
    if (!strcmp(mode, "seccomp_then_ptrace")) {
        long r = install_allow_filter(0);
        if (r != 0) return verdict("seccomp", r);
        out("STACKED ALLOW FILTER\n");
        return mode_ptrace();
    }
    if (!strcmp(mode, "int80")) {
        NEED(2);
        long r = int80((long)parse_u(a[0]), (long)parse_u(a[1]));
        out_num("INT80 RETURNED ", r);
        return 50;
    }
    if (!strcmp(mode, "wx")) {
        /* wx mmap|mprotect|rw: an anonymous mapping made writable and executable at once
         * (mmap), made executable after being written (mprotect), or only read-write (rw). */
        NEED(1);
        int rw = PROT_READ | PROT_WRITE;
        int first = !strcmp(a[0], "mmap") ? rw | PROT_EXEC : rw;
        void *p = mmap(NULL, 4096, first, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return verdict("mmap", -1);
        if (!strcmp(a[0], "mprotect")) return verdict("mprotect", mprotect(p, 4096, PROT_READ | PROT_EXEC));
        return verdict("mmap", 0);
    }
    if (!strcmp(mode, "x32")) {
        NEED(1);
        return verdict("x32", syscall(0x40000000L | (long)parse_u(a[0])));
    }
    if (!strcmp(mode, "sigsys")) {
        NEED(1);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = sigsys_handler;
        sa.sa_flags = SA_SIGINFO;
        if (sigaction(SIGSYS, &sa, NULL) != 0) return verdict("sigaction", -1);
        out("HANDLER INSTALLED\n");
        return verdict(a[0], do_sys(a[0]));
    }
    if (!strcmp(mode, "ioctl")) {
        NEED(1);
        char buf[256];
        long r = syscall(SYS_ioctl, 0, (unsigned long)parse_u(a[0]), buf);
        out_num("IOCTL ret ", r);
        out_num("IOCTL errno ", r < 0 ? errno : 0);
        return 0;
    }
    if (!strcmp(mode, "exec") || !strcmp(mode, "execmagic")) {
        /* Re-executes this program as "exit 7" (execmagic: with the given 6th register). */
        NEED(!strcmp(mode, "exec") ? 1 : 2);
        char *nargv[] = {a[0], "exit", argv[2], argv[3], "7", NULL};
        char *nenv[] = {NULL};
        long r;
        if (!strcmp(mode, "exec")) r = syscall(SYS_execve, a[0], nargv, nenv);
        else r = syscall(SYS_execveat, AT_FDCWD, a[0], nargv, nenv, 0, (unsigned long)parse_u(a[1]));
        return verdict("exec", r);
    }
    if (!strcmp(mode, "child_execmagic")) {
        NEED(2);
        pid_t c = fork();
        if (c == 0) {
            out_num("CHILD ", getpid());
            char *nargv[] = {a[0], "exit", argv[2], argv[3], "7", NULL};
            char *nenv[] = {NULL};
            _exit(verdict("exec", syscall(SYS_execveat, AT_FDCWD, a[0], nargv, nenv, 0, (unsigned long)parse_u(a[1]))));
        }
        int st = 0;
        waitpid(c, &st, 0);
        return WIFEXITED(st) ? WEXITSTATUS(st) : 60;
    }
    if (!strcmp(mode, "child_sys")) {
        NEED(1);
        pid_t c = fork();
        if (c < 0) return verdict("fork", -1);
        if (c == 0) {
            out_num("CHILD ", getpid());
            char b;
            (void)!read(0, &b, 1); /* lets the test find the child from the host first */
            do_sys(a[0]);
            out("CHILD SYSCALL RETURNED\n");
            _exit(50);
        }
        int st = 0;
        waitpid(c, &st, 0);
        out("PARENT SAW CHILD END\n");
        return 60;
    }
    if (!strcmp(mode, "thread_sys")) {
        NEED(1);
        g_sys_name = a[0];
        pthread_t t;
        int e = pthread_create(&t, NULL, thread_sys, NULL);
        if (e != 0) { out_num("PTHREAD_CREATE errno ", e); return 12; }
        for (;;) sleep_ms(1000);
    }
    if (!strcmp(mode, "kids")) { NEED(1); return mode_kids(a[0]); }
    if (!strcmp(mode, "sbxserve")) { NEED(3); return mode_sbxserve(a[0], a[1], a[2]); }
    if (!strcmp(mode, "forkbomb")) { NEED(1); return mode_forkbomb((long)parse_u(a[0])); }
    if (!strcmp(mode, "memhog")) { NEED(1); return mode_memhog((long)parse_u(a[0])); }
    if (!strcmp(mode, "fds")) return mode_fds();
    if (!strcmp(mode, "readfd")) {
        NEED(1);
        char buf[256];
        long n = read((int)parse_u(a[0]), buf, sizeof buf);
        if (n < 0) return verdict("read", -1);
        (void)!write(1, buf, (size_t)n);
        return 0;
    }
    if (!strcmp(mode, "env")) {
        int n = 0;
        for (char **e = envp; *e; e++, n++) { out("ENV "); out(*e); out("\n"); }
        out_num("ENVC ", n);
        return 0;
    }
    if (!strcmp(mode, "cwd")) {
        char buf[4096];
        long r = syscall(SYS_getcwd, buf, sizeof buf);
        if (r < 0) return verdict("getcwd", r);
        out("CWD "); out(buf); out("\n");
        return 0;
    }
    if (!strcmp(mode, "mark")) {
        NEED(1);
        int fd = (int)syscall(SYS_openat, AT_FDCWD, a[0], O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) return verdict("open", -1);
        close(fd);
        return 0;
    }
    if (!strcmp(mode, "peekmem")) {
        /* Only opens another process's memory read-only (the kernel's ptrace access check); it
         * never reads or writes a byte of it. */
        NEED(1);
        char path[64] = "/proc/";
        strcat(path, a[0]);
        strcat(path, "/mem");
        long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
        int code = verdict("open mem", fd);
        if (fd >= 0) close((int)fd);
        return code;
    }
    if (!strcmp(mode, "selfmem")) return mode_selfmem();
    if (!strcmp(mode, "fsops")) { NEED(1); return mode_fsops(a[0]); }
    if (!strcmp(mode, "reopen")) { NEED(1); return mode_reopen(a[0]); }
    if (!strcmp(mode, "status")) return mode_status();
    if (!strcmp(mode, "cat")) {
        NEED(1);
        static char text[16384];
        if (read_file(a[0], text, sizeof text) < 0) return verdict("open", -1);
        out(text);
        return 0;
    }
    if (!strcmp(mode, "chown")) {
        /* Creates PATH and tries to give it away: needs CAP_CHOWN, which no sandboxee has. */
        NEED(1);
        int fd = (int)syscall(SYS_openat, AT_FDCWD, a[0], O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) return 97;
        long r = syscall(SYS_fchown, fd, 12345, 12345);
        close(fd);
        return verdict("fchown", r);
    }
    if (!strcmp(mode, "forge_trace")) {
        /* Installs a filter of its own that answers SECCOMP_RET_TRACE with libsbx's "user trace"
         * data (6, or the DATA argument: 7 is "audit") for unshare, hoping the monitor lets the
         * call through instead of treating it as the mandatory violation it is; then tries
         * unshare(CLONE_NEWUSER). */
        unsigned long data = na > 0 ? parse_u(a[0]) : 6;
        struct sock_filter f[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_unshare, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | (data & 0xffff)),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = {sizeof f / sizeof f[0], f};
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) return verdict("seccomp", -1);
        return verdict("unshare", syscall(SYS_unshare, CLONE_NEWUSER));
    }
    if (!strcmp(mode, "capset")) {
        /* Tries to raise CAP_CHOWN in the effective and permitted sets. */
        struct { uint32_t version; int pid; } hdr = {0x20080522, 0};
        struct { uint32_t eff, prm, inh; } data[2] = {{1u << 0, 1u << 0, 0}, {0, 0, 0}};
        return verdict("capset", syscall(SYS_capset, &hdr, data));
    }
    if (!strcmp(mode, "ids")) return mode_ids();
    if (!strcmp(mode, "write")) { NEED(2); return mode_write(a[0], a[1]); }
    if (!strcmp(mode, "openw")) {
        NEED(1);
        long fd = syscall(SYS_openat, AT_FDCWD, a[0], O_WRONLY | O_CLOEXEC);
        return verdict("open", fd);
    }
    if (!strcmp(mode, "tcp")) { NEED(1); return mode_tcp(a[0]); }
    if (!strcmp(mode, "abstract")) { NEED(1); return mode_abstract(a[0]); }
    if (!strcmp(mode, "connect")) {
        NEED(3);
        int nb = 0, inherit = 0;
        for (int i = 3; i < na; i++) { nb |= !strcmp(a[i], "nb"); inherit |= !strcmp(a[i], "inherit"); }
        return mode_connect(a[0], a[1], a[2], nb, inherit);
    }
    if (!strcmp(mode, "unixloop")) { NEED(2); return mode_unixloop(a[0], a[1]); }
    if (!strcmp(mode, "dgram")) { NEED(1); return mode_dgram(a[0]); }
    if (!strcmp(mode, "connect_race")) { NEED(3); return mode_connect_race(a[0], a[1], a[2]); }
    if (!strcmp(mode, "netdevs")) return mode_netdevs();
    if (!strcmp(mode, "ps")) return mode_ps();
    if (!strcmp(mode, "kill")) {
        NEED(2);
        return verdict("kill", kill((pid_t)parse_u(a[0]), (int)parse_u(a[1])));
    }
    if (!strcmp(mode, "mounts")) { NEED(1); return mode_mounts(a[0]); }
    if (!strcmp(mode, "unshare_check")) { NEED(1); return mode_unshare_check((unsigned long)parse_u(a[0])); }
    if (!strcmp(mode, "rootcheck")) { NEED(1); return mode_rootcheck(a[0]); }
    if (!strcmp(mode, "leakfd")) { NEED(2); return mode_leakfd((int)parse_u(a[0]), a[1]); }
    if (!strcmp(mode, "walk")) {
        static char path[8192];
        walk(path, 0, sizeof path);
        out("WALK DONE\n");
        return 0;
    }
    if (!strcmp(mode, "selfexe")) return mode_selfexe();
    if (!strcmp(mode, "reservedfd")) return mode_reservedfd();
    out_fd(2, "BAD USAGE: unknown mode\n");
    return 98;
}
