/*
 * The sandboxee of the static example (after sandbox2's static example): a statically linked
 * program that reads stdin, turns it to upper case and writes it to stdout. It only needs what a
 * static glibc program does at start-up, read, write to fds 1 and 2, and exit.
 *
 * With the argument "--misbehave" it also tries to write to fd 3, which the host's policy does
 * not allow: the sandbox ends with a VIOLATION naming write(3, ...). With "--addresses" it then
 * writes where main and a malloc'd block are ("main 0x... heap 0x..."): built with -static-pie
 * (see the Makefile), both change from run to run, which is what ASLR gives a static program.
 */
#include <stdint.h>
#include <stdlib.h>
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

/* Writes "NAME 0x<hex>" without stdio (which would need more syscalls than the policy allows). */
static void put_address(const char *name, uintptr_t v) {
    char buf[64];
    size_t n = strlen(name);
    memcpy(buf, name, n);
    buf[n++] = ' ';
    buf[n++] = '0';
    buf[n++] = 'x';
    for (int shift = (int)sizeof v * 8 - 4; shift >= 0; shift -= 4) buf[n++] = "0123456789abcdef"[(v >> shift) & 15];
    buf[n++] = '\n';
    write_all(1, buf, n);
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
    if (argc > 1 && strcmp(argv[1], "--addresses") == 0) {
        void *block = malloc(64);
        put_address("main", (uintptr_t)&main);
        put_address("heap", (uintptr_t)block);
        free(block);
    }
    if (argc > 1 && strcmp(argv[1], "--misbehave") == 0) {
        static const char msg[] = "this should never arrive\n";
        write_all(3, msg, sizeof msg - 1);
    }
    return 0;
}
