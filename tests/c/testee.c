/*
 * The sandboxee of the C tests: a statically linked program whose behaviour is chosen by argv[1].
 * It uses raw write(2) rather than stdio, so the tests' tight policy (static startup, read, write,
 * exit, sleep) is all it needs unless a mode is meant to break it.
 *
 *   exit N           exit with status N
 *   echo             copy stdin to stdout until EOF
 *   write FD TEXT    write TEXT to descriptor FD (a violation when the policy forbids it)
 *   argv             print argv[2..] separated by spaces
 *   env NAME         print the value of NAME, or "(unset)"
 *   cwd              print the working directory (needs getcwd)
 *   violation        call getpriority with six recognisable arguments (not allowed)
 *   int80            make an i386 syscall through int 0x80 (x86-64 only)
 *   segv             crash with SIGSEGV
 *   personality      call personality(0xffffffff) (a query) and print "personality ok" or
 *                    "personality failed: errno N" (traced by the notify tests)
 *   sleep MS         sleep MS milliseconds, then exit 0
 *   spin             sleep forever
 *   prctl            call prctl(PR_GET_DUMPABLE) and prctl(PR_GET_NAME) (raw syscalls), exit 0
 *   hog MIB          allocate and touch MIB MiB in 1 MiB chunks, then exit 0
 *   connect4 PORT    connect to 127.0.0.1:PORT and copy what the peer sends first to stdout, or
 *                    print "connect failed: errno N"
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void put(int fd, const char *s) {
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w <= 0) _exit(70);
        s += w;
        n -= (size_t)w;
    }
}

static void nap(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

int main(int argc, char **argv) {
    if (argc < 2) return 64;
    const char *mode = argv[1];
    if (!strcmp(mode, "exit") && argc > 2) return atoi(argv[2]);
    if (!strcmp(mode, "echo")) {
        char buf[4096];
        ssize_t n;
        while ((n = read(0, buf, sizeof buf)) > 0) {
            buf[n] = 0;
            if (write(1, buf, (size_t)n) != n) return 71;
        }
        return n < 0 ? 72 : 0;
    }
    if (!strcmp(mode, "prctl")) {
        char name[16];
        syscall(SYS_prctl, 3L /* PR_GET_DUMPABLE */, 0L, 0L, 0L, 0L);
        syscall(SYS_prctl, 16L /* PR_GET_NAME */, name, 0L, 0L, 0L);
        syscall(SYS_prctl, 3L, 0L, 0L, 0L, 0L);
        return 0;
    }
    if (!strcmp(mode, "hog") && argc > 2) {
        long mib = atol(argv[2]);
        for (long i = 0; i < mib; i++) {
            char *p = malloc(1 << 20);
            if (p == NULL) return 74;
            memset(p, 0x5a, 1 << 20);
        }
        return 0;
    }
    if (!strcmp(mode, "connect4") && argc > 2) {
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0) return 73;
        struct sockaddr_in sa;
        memset(&sa, 0, sizeof sa);
        sa.sin_family = AF_INET;
        sa.sin_port = htons((unsigned short)atoi(argv[2]));
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(s, (struct sockaddr *)&sa, sizeof sa) != 0) {
            char msg[64];
            snprintf(msg, sizeof msg, "connect failed: errno %d", errno);
            put(1, msg);
            return 0;
        }
        char buf[64];
        ssize_t n = read(s, buf, sizeof buf - 1);
        if (n > 0) {
            buf[n] = 0;
            put(1, buf);
        }
        return 0;
    }
    if (!strcmp(mode, "write") && argc > 3) {
        put(atoi(argv[2]), argv[3]);
        return 0;
    }
    if (!strcmp(mode, "argv")) {
        for (int i = 2; i < argc; i++) {
            if (i > 2) put(1, " ");
            put(1, argv[i]);
        }
        return 0;
    }
    if (!strcmp(mode, "env") && argc > 2) {
        const char *v = getenv(argv[2]);
        put(1, v ? v : "(unset)");
        return 0;
    }
    if (!strcmp(mode, "cwd")) {
        char buf[4096];
        if (syscall(SYS_getcwd, buf, sizeof buf) < 0) return 73;
        put(1, buf);
        return 0;
    }
    if (!strcmp(mode, "violation")) {
        syscall(SYS_getpriority, 0x11UL, 0x22UL, 0x33UL, 0x44UL, 0x55UL, 0x66UL);
        return 74; /* not reached: the call ends the sandbox */
    }
    if (!strcmp(mode, "int80")) {
#if defined(__x86_64__)
        long ret;
        __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory"); /* i386 getpid */
        (void)ret;
#endif
        return 75;
    }
    if (!strcmp(mode, "personality")) {
        char buf[64];
        /* personality [PERSONA]: the query (0xffffffff) unless a persona is given. */
        unsigned long persona = argc > 2 ? strtoul(argv[2], NULL, 0) : 0xffffffffUL;
        long r = syscall(SYS_personality, persona);
        if (r == -1) {
            int e = errno, i = 0;
            char digits[16];
            put(1, "personality failed: errno ");
            do digits[i++] = (char)('0' + e % 10); while ((e /= 10) > 0);
            while (i > 0) {
                buf[0] = digits[--i];
                buf[1] = 0;
                put(1, buf);
            }
            put(1, "\n");
        } else {
            put(1, "personality ok\n");
        }
        return 0;
    }
    if (!strcmp(mode, "segv")) {
        volatile int *volatile p = NULL;
        *p = 1;
        return 76;
    }
    if (!strcmp(mode, "sleep") && argc > 2) {
        nap(atol(argv[2]));
        return 0;
    }
    if (!strcmp(mode, "spin")) {
        for (;;) nap(1000);
    }
    return 64;
}
