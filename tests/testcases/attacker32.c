/*
 * 32-bit (i386) helper for the libsbx integration tests, built with `gcc -m32 -static`.
 *
 * Usage: attacker32 --expect-ns=0|1|LIST --host-ns=LIST
 *
 * On x86-64 every syscall of a 32-bit program goes through the i386 ABI, which the mandatory
 * rules treat as a violation, so inside a sandbox the C library's first syscall ends the run.
 * Outside a sandbox the check below finds no seccomp filter, prints NOT SANDBOXED and exits 99;
 * the program never attacks anything in any case (so it takes the namespace arguments of
 * attacker.c for uniformity but does not need to check them).
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    static char buf[8192];
    if (argc < 3 || strncmp(argv[1], "--expect-ns=", 12) != 0 || strncmp(argv[2], "--host-ns=", 10) != 0) {
        write(2, "BAD USAGE\n", 10);
        return 98;
    }
    int fd = open("/proc/self/status", O_RDONLY);
    int n = fd < 0 ? 0 : (int)read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    if (!strstr(buf, "\nSeccomp:\t2\n")) {
        write(1, "NOT SANDBOXED\n", 14);
        return 99;
    }
    /* Sandboxed and still running: the i386 ABI was let through. Say so, harmlessly. */
    write(1, "I386 SYSCALLS ALLOWED\n", 22);
    return 50;
}
