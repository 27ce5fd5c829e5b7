/* The stack trace tests' sandboxee: a forbidden call (getppid, or STACK_SYSCALL) three frames
 * deep, in functions that are neither inlined nor tail calls, so each keeps a frame of its own. */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <unistd.h>

#ifndef STACK_SYSCALL
#define STACK_SYSCALL SYS_getppid
#endif

__attribute__((noinline)) long stack_level3(long x) {
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

int main(int argc, char **argv) {
    (void)argv;
    return (int)stack_level1(argc);
}
