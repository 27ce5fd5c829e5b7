/*
 * The sandboxee of the static example (after sandbox2's static example): a statically linked
 * program that reads stdin, turns it to upper case and writes it to stdout. It only needs what a
 * static glibc program does at start-up, read, write to fds 1 and 2, and exit.
 *
 * With the argument "--misbehave" it also tries to write to fd 3, which the host's policy does
 * not allow: the sandbox ends with a VIOLATION naming write(3, ...).
 */
#include <string.h>
#include <unistd.h>

static int write_all(int fd, const char *buf, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w <= 0) return -1;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

int main(int argc, char **argv) {
    char buf[4096];
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] >= 'a' && buf[i] <= 'z') buf[i] = (char)(buf[i] - 'a' + 'A');
        }
        if (write_all(1, buf, (size_t)n) != 0) return 1;
    }
    if (n < 0) {
        static const char msg[] = "static_bin: read failed\n";
        write_all(2, msg, sizeof msg - 1);
        return 2;
    }
    if (argc > 1 && strcmp(argv[1], "--misbehave") == 0) {
        static const char msg[] = "this should never arrive\n";
        write_all(3, msg, sizeof msg - 1);
    }
    return 0;
}
