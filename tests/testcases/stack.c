/* The stack trace tests' sandboxee: a forbidden call (getppid, or STACK_SYSCALL) or a crash
 * three frames deep, in functions that are neither inlined nor tail calls, so each keeps a frame of its own;
 * or, for the traces of a timeout and a kill, "ready" printed there and then a wait: `spin` in a
 * busy loop of stack_level3 itself, `sleep` in pause() called from it, `vfork` in vfork() (the
 * parent cannot stop for a trace until its child, which prints "ready" and spins, execs or ends). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef STACK_SYSCALL
#define STACK_SYSCALL SYS_getppid
#endif

/* `crash`: stack_level3 writes through a null pointer instead (SIGSEGV, not handled). The
 * pointer is volatile so that the compiler cannot see the null and drop the store. */
static long *volatile crash_at;
static int crash;

/* 1: spin, 2: sleep, 3: vfork. `stop` is never set: the loop is not provably endless, so the calls to
 * stack_level3 stay ordinary calls. */
static int waiting;
static volatile int stop;
static volatile unsigned long spins;

__attribute__((noinline)) long stack_level3(long x) {
    if (crash) *crash_at = x;
    if (waiting == 3 && vfork() == 0) waiting = 1;
    if (waiting) {
        static const char ready[] = "ready\n";
        if (write(1, ready, sizeof ready - 1) < 0) return -1;
        while (!stop) {
            if (waiting == 2) pause();
            else spins++;
            __asm__ volatile("" ::: "memory");
        }
    }
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
    if (argc > 1) {
        static const char *const modes[] = {"spin", "sleep", "vfork"};
        for (int i = 0; i < 3; i++)
            if (strcmp(argv[1], modes[i]) == 0) waiting = i + 1;
    }
    return (int)stack_level1(argc);
}
