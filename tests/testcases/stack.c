/* The stack trace tests' sandboxee: a forbidden call (getppid, or STACK_SYSCALL) or a crash
 * three frames deep, in functions that are neither inlined nor tail calls, so each keeps a frame of its own. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef STACK_SYSCALL
#define STACK_SYSCALL SYS_getppid
#endif

/* `crash`: stack_level3 writes through a null pointer instead (SIGSEGV, not handled). The
 * pointer is volatile so that the compiler cannot see the null and drop the store. */
static long *volatile crash_at;
static int crash;

__attribute__((noinline)) long stack_level3(long x) {
    if (crash) *crash_at = x;
    long r = syscall(STACK_SYSCALL);
    __asm__ volatile("" ::: "memory");
    return r + x;
}

__attribute__((noinline)) long stack_level2(long x) {
    long r = stack_level3(x + 1);
    __asm__ volatile("" ::: "memory");
    return r * 3;
}

__attribute__((noinline)) long stack_level1(long x) {
    long r = stack_level2(x + 2);
    __asm__ volatile("" ::: "memory");
    return r - 7;
}

/* `recurse N`: N frames of one function (folded into one frame with a repeat count);
 * `pingpong N`: N frames alternating between two (not folded: the trace stops at its cap). */
__attribute__((noinline)) long stack_recurse(long n) {
    long r = n == 0 ? stack_level1(n) : stack_recurse(n - 1);
    __asm__ volatile("" ::: "memory");
    return r + 1;
}

__attribute__((noinline)) long stack_pong(long n);

__attribute__((noinline)) long stack_ping(long n) {
    long r = n == 0 ? stack_level1(n) : stack_pong(n - 1);
    __asm__ volatile("" ::: "memory");
    return r + 1;
}

__attribute__((noinline)) long stack_pong(long n) {
    long r = n == 0 ? stack_level1(n) : stack_ping(n - 1);
    __asm__ volatile("" ::: "memory");
    return r + 2;
}

int main(int argc, char **argv) {
    if (argc > 2 && argv[1][0] == 'r') return (int)stack_recurse(strtol(argv[2], NULL, 10));
    if (argc > 2 && argv[1][0] == 'p') return (int)stack_ping(strtol(argv[2], NULL, 10));
    crash = argc > 1 && argv[1][0] == 'c';
    return (int)stack_level1(argc);
}
