/*
 * Runs static_bin under a tight policy and prints what happened (after sandbox2's static example).
 *
 *   static_host [--misbehave | --addresses] [PATH_TO_STATIC_BIN]
 *
 * The policy allows only what a static glibc program needs at start-up, read, exit, and write
 * when its first argument (the fd, compared on 32 bits as the kernel reads an int) is 1 or 2.
 * The host feeds text through a pipe on stdin and reads the sandboxee's stdout from another pipe.
 *
 * Exit status: 0 when the run went as expected (OK with the upper-cased text, or, with
 * --misbehave, a VIOLATION on write to fd 3), 1 otherwise. With --addresses the sandboxee also
 * writes where its main and a malloc'd block are (static_bin is a static PIE: they differ from
 * run to run).
 */
#define _DEFAULT_SOURCE /* realpath */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sbx.h>

#ifndef STATIC_BIN_PATH
#define STATIC_BIN_PATH "./static_bin"
#endif

static int fail(const char *what, sbx_status st, sbx_error *err) {
    fprintf(stderr, "static_host: %s: %s (%s)\n", what, err ? sbx_error_message(err) : "", sbx_status_message(st));
    sbx_error_free(err);
    return 1;
}

/* The policy: sandbox2's static example, with write restricted by an argument condition. The
 * sandbox's filesystem holds the program and nothing else. */
static sbx_status build_policy(const char *program, const sbx_policy **out, sbx_error **err) {
    sbx_policy_builder *b = sbx_policy_builder_new();
    sbx_arg fd_is = {0, SBX_WIDTH_W32, SBX_CMP_EQ, 0, 0};
    sbx_status st;
    if (b == NULL) return SBX_STATUS_PANIC;
    /* Errors of these calls are remembered by the builder and reported by the build. */
    sbx_policy_builder_allow_group(b, SBX_GROUP_STATIC_STARTUP, NULL);
    sbx_policy_builder_allow_group(b, SBX_GROUP_EXIT, NULL);
    sbx_policy_builder_allow_group(b, SBX_GROUP_READ, NULL);
    /* glibc's static start-up seeds malloc and asks for /proc/self/exe; ENOENT is fine. */
    sbx_policy_builder_allow_group(b, SBX_GROUP_GET_RANDOM, NULL);
    sbx_policy_builder_errno_syscall(b, "readlink", ENOENT, NULL);
    sbx_policy_builder_add_file(b, program, NULL);
    fd_is.value = 1;
    sbx_policy_builder_add_rule(b, "write", &fd_is, 1, SBX_ACTION_ALLOW, 0, NULL);
    fd_is.value = 2;
    sbx_policy_builder_add_rule(b, "write", &fd_is, 1, SBX_ACTION_ALLOW, 0, NULL);
    st = sbx_policy_builder_build(b, out, err); /* consumes b */
    return st;
}

int main(int argc, char **argv) {
    static const char input[] = "hello from the host\n";
    const char *path = STATIC_BIN_PATH;
    char program[PATH_MAX];
    int misbehave = 0, addresses = 0, in[2], out[2], devnull, i, ok;
    const sbx_policy *policy = NULL;
    sbx_executor *exec = NULL;
    sbx_sandbox *sandbox = NULL;
    const sbx_result *result = NULL;
    sbx_error *err = NULL;
    sbx_status st;
    char buf[512];
    size_t got = 0;
    ssize_t n;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--misbehave") == 0) misbehave = 1;
        else if (strcmp(argv[i], "--addresses") == 0) addresses = 1;
        else path = argv[i];
    }
    printf("static_host: libsbx %s (header %s)\n", sbx_version(), SBX_VERSION_STRING);

    if (realpath(path, program) == NULL) {
        perror(path);
        return 1;
    }
    if ((st = build_policy(program, &policy, &err)) != SBX_STATUS_OK) return fail("policy", st, err);

    if ((st = sbx_executor_new(program, &exec, &err)) != SBX_STATUS_OK) return fail("executor", st, err);
    {
        const char *args[] = {"static_bin", misbehave ? "--misbehave" : "--addresses"};
        if ((st = sbx_executor_set_argv(exec, args, misbehave || addresses ? 2 : 1, &err)) != SBX_STATUS_OK)
            return fail("argv", st, err);
    }
    if (pipe(in) != 0 || pipe(out) != 0) {
        perror("pipe");
        return 1;
    }
    devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    /* The executor duplicates the descriptors; ours are closed right after. */
    if ((st = sbx_executor_set_stdio(exec, 0, SBX_STDIO_FD, in[0], &err)) != SBX_STATUS_OK ||
        (st = sbx_executor_set_stdio(exec, 1, SBX_STDIO_FD, out[1], &err)) != SBX_STATUS_OK ||
        (st = sbx_executor_map_fd(exec, devnull, 3, &err)) != SBX_STATUS_OK ||
        (st = sbx_executor_set_limit(exec, SBX_LIMIT_WALL_TIME_MS, 10000, &err)) != SBX_STATUS_OK)
        return fail("executor setup", st, err);
    close(in[0]);
    close(out[1]);
    close(devnull);
    if (write(in[1], input, sizeof input - 1) != (ssize_t)(sizeof input - 1)) {
        perror("write");
        return 1;
    }
    close(in[1]);

    if ((st = sbx_sandbox_new(exec, policy, &sandbox, &err)) != SBX_STATUS_OK) return fail("sandbox", st, err);
    sbx_policy_free(policy); /* the sandbox holds its own reference */
    if ((st = sbx_sandbox_run(sandbox, &result, &err)) != SBX_STATUS_OK) return fail("run", st, err);

    while (got < sizeof buf - 1 && (n = read(out[0], buf + got, sizeof buf - 1 - got)) > 0) got += (size_t)n;
    buf[got] = 0;
    close(out[0]);
    printf("static_host: sandboxee wrote: %s", buf);
    printf("static_host: result: %s\n", sbx_result_description(result));

    if (misbehave) {
        const sbx_violation *v = sbx_result_violation(result);
        uint64_t args[6] = {0};
        if (v != NULL) {
            sbx_violation_args(v, args);
            printf("static_host: violation: [%s] %s (nr %llu), fd %llu, pid %d\n", sbx_violation_arch(v),
                   sbx_violation_syscall_name(v), (unsigned long long)sbx_violation_nr(v),
                   (unsigned long long)args[0], sbx_violation_pid(v));
        }
        ok = sbx_result_status(result) == SBX_RUN_STATUS_VIOLATION && v != NULL &&
             strcmp(sbx_violation_syscall_name(v), "write") == 0 && args[0] == 3;
    } else {
        static const char upper[] = "HELLO FROM THE HOST\n";
        ok = sbx_result_success(result) &&
             (addresses ? strncmp(buf, upper, sizeof upper - 1) == 0 && strstr(buf, "heap 0x") != NULL
                        : strcmp(buf, upper) == 0);
    }
    sbx_result_free(result);
    sbx_sandbox_free(sandbox);
    printf("static_host: %s\n", ok ? "as expected" : "UNEXPECTED");
    return ok ? 0 : 1;
}
