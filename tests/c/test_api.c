/*
 * The whole C API from plain C11: every function, its error paths and bad input. This is the
 * program run under Valgrind (with SBX_TEST_NO_SPAWN=1, see below) and under ASan/LSan, and the
 * one linked statically.
 *
 * SBX_TEST_NO_SPAWN=1 skips the parts that start a sandboxee: libsbx spawns with
 * clone(CLONE_VM) without CLONE_VFORK or CLONE_THREAD (so the cost does not grow with the host's
 * size), which Valgrind cannot emulate ("Unsupported clone() flags"). Everything else still runs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sbx.h"
#include "sbx_test_check.h"
#include "sbx_test_util.h"

/* Whether `name` is among the result's fences (which name the monitor that watched the run). */
static int has_fence(const sbx_result *r, const char *name) {
    for (size_t k = 0; k < sbx_result_fence_count(r); k++)
        if (strcmp(sbx_result_fence(r, k), name) == 0) return 1;
    return 0;
}

/* The build target's AUDIT_ARCH_* value, for sbx_policy_decide (numbers from SYS_*). */
#if defined(__x86_64__)
#define NATIVE_ARCH 0xC000003Eu
#elif defined(__aarch64__)
#define NATIVE_ARCH 0xC00000B7u
#else
#error "unknown architecture"
#endif

static int contains(const char *haystack, const char *needle) {
    return haystack != NULL && strstr(haystack, needle) != NULL;
}

static void test_version(void) {
    char spelled[32];
    CHECK(strcmp(sbx_version(), SBX_VERSION_STRING) == 0);
    CHECK(sbx_version_number() == SBX_VERSION_NUMBER);
    CHECK(SBX_VERSION_NUMBER ==
          (((uint32_t)SBX_VERSION_MAJOR << 16) | ((uint32_t)SBX_VERSION_MINOR << 8) | SBX_VERSION_PATCH));
    snprintf(spelled, sizeof spelled, "%d.%d.%d", SBX_VERSION_MAJOR, SBX_VERSION_MINOR, SBX_VERSION_PATCH);
    CHECK(strcmp(spelled, SBX_VERSION_STRING) == 0);
}

static void test_status_and_error(void) {
    static const sbx_status codes[] = {
        SBX_STATUS_OK,           SBX_STATUS_NULL_PARAMETER, SBX_STATUS_INVALID_ARGUMENT,
        SBX_STATUS_PANIC,        SBX_STATUS_INVALID_STATE,  SBX_STATUS_UNKNOWN_SYSCALL,
        SBX_STATUS_INVALID_POLICY, SBX_STATUS_WAIT_TIMEOUT, SBX_STATUS_UNSUPPORTED,
        SBX_STATUS_OS_ERROR,     SBX_STATUS_COMMS};
    const char *unknown = sbx_status_message(12345);
    size_t i, j;
    sbx_error *err = NULL;
    sbx_executor *e = (sbx_executor *)&err; /* must stay untouched */

    CHECK(SBX_STATUS_OK == 0);
    CHECK(strcmp(unknown, "unknown status code") == 0);
    for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        CHECK(sbx_status_message(codes[i]) != NULL);
        CHECK(strcmp(sbx_status_message(codes[i]), unknown) != 0);
        for (j = 0; j < i; j++) CHECK(strcmp(sbx_status_message(codes[i]), sbx_status_message(codes[j])) != 0);
    }
    /* Accessors accept NULL. */
    CHECK(sbx_error_message(NULL) == NULL);
    CHECK(sbx_error_code(NULL) == SBX_STATUS_OK);
    CHECK(sbx_error_errno(NULL) == 0);
    CHECK(sbx_error_comms_code(NULL) == SBX_COMMS_ERROR_NONE);
    sbx_error_free(NULL);

    /* A failure fills err_out and names the parameter; outputs stay untouched. */
    CHECK(sbx_executor_new(NULL, &e, &err) == SBX_STATUS_NULL_PARAMETER);
    CHECK(e == (sbx_executor *)&err);
    CHECK(err != NULL);
    CHECK(sbx_error_code(err) == SBX_STATUS_NULL_PARAMETER);
    CHECK(contains(sbx_error_message(err), "path"));
    CHECK(sbx_error_errno(err) == 0);
    CHECK(sbx_error_comms_code(err) == SBX_COMMS_ERROR_NONE);
    sbx_error_free(err);
    /* err_out is optional. */
    CHECK(sbx_executor_new(NULL, &e, NULL) == SBX_STATUS_NULL_PARAMETER);
}

static void test_policy_builder(void) {
    sbx_policy_builder *b;
    const sbx_policy *p = NULL;
    const sbx_policy *p2;
    sbx_error *err = NULL;
    uint32_t g;
    size_t len = 0;
    const sbx_sock_filter *prog;
    const char *names[] = {"read", "write", NULL};
    const char bad_utf8[] = {'r', (char)0xff, 'd', 0};
    sbx_arg args[2];
    uint64_t regs[6] = {1, 0, 0, 0, 0, 0};

    /* NULL builder everywhere. */
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_policy_builder_allow_group(NULL, SBX_GROUP_EXIT, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_policy_builder_allow_futex_op(NULL, 0, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_policy_builder_allow_syscall(NULL, "read", ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_policy_builder_allow_syscalls(NULL, names, 2, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_policy_builder_allow_syscall_nr(NULL, 0, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_policy_builder_errno_syscall(NULL, "read", EPERM, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_policy_builder_trace_syscall(NULL, "read", ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_policy_builder_violation_syscall(NULL, "read", ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER,
                 sbx_policy_builder_add_rule(NULL, "read", NULL, 0, SBX_ACTION_ALLOW, 0, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_policy_builder_add_rule_nr(NULL, 0, NULL, 0, SBX_ACTION_ALLOW, 0, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_policy_builder_set_default_action(NULL, SBX_ACTION_ALLOW, 0, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_policy_builder_build(NULL, &p, ERR));
    sbx_policy_builder_free(NULL);

    /* Every group, then bad input that leaves the builder unchanged. */
    b = sbx_policy_builder_new();
    CHECK(b != NULL);
    for (g = SBX_GROUP_EXIT; g <= SBX_GROUP_EXEC; g++) CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_allow_group(b, g, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_policy_builder_allow_group(b, 0, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_policy_builder_allow_group(b, SBX_GROUP_EXEC + 1, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_allow_futex_op(b, 0 /* FUTEX_WAIT */, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_policy_builder_allow_syscall(b, NULL, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_policy_builder_allow_syscall(b, bad_utf8, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_policy_builder_allow_syscalls(b, names, 3, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_policy_builder_allow_syscalls(b, NULL, 1, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_allow_syscalls(b, NULL, 0, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_allow_syscalls(b, names, 2, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_allow_syscall_nr(b, 39 /* getpid on x86-64 */, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_policy_builder_errno_syscall(b, "uname", -1, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_policy_builder_errno_syscall(b, "uname", 70000, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_errno_syscall(b, "sethostname", EPERM, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_trace_syscall(b, "setdomainname", ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_violation_syscall(b, "reboot", ERR));
    memset(args, 0, sizeof args);
    args[0].index = 0;
    args[0].width = SBX_WIDTH_W32;
    args[0].cmp = SBX_CMP_EQ;
    args[0].value = 1;
    args[1].index = 2;
    args[1].width = SBX_WIDTH_W64;
    args[1].cmp = SBX_CMP_MASKED_EQ;
    args[1].mask = 0xff;
    args[1].value = 0x10;
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_add_rule(b, "kcmp", args, 2, SBX_ACTION_ALLOW, 0, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_add_rule(b, "kcmp", NULL, 0, SBX_ACTION_ERRNO, EACCES, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_add_rule_nr(b, 99 /* sysinfo */, args, 1, SBX_ACTION_TRACE, 0, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_policy_builder_add_rule(b, "kcmp", NULL, 1, SBX_ACTION_ALLOW, 0, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_policy_builder_add_rule(b, "kcmp", args, 1, 0, 0, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_policy_builder_add_rule(b, "kcmp", args, 1, 99, 0, ERR));
    args[0].width = 16;
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_policy_builder_add_rule(b, "kcmp", args, 1, SBX_ACTION_ALLOW, 0, ERR));
    args[0].width = SBX_WIDTH_W32;
    args[0].cmp = 0;
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_policy_builder_add_rule(b, "kcmp", args, 1, SBX_ACTION_ALLOW, 0, ERR));
    args[0].cmp = SBX_CMP_EQ;
    args[0].index = 300;
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_policy_builder_add_rule(b, "kcmp", args, 1, SBX_ACTION_ALLOW, 0, ERR));
    args[0].index = 0;
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_policy_builder_set_default_action(b, 0, 0, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_policy_builder_set_default_action(b, SBX_ACTION_ERRNO, -5, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_set_default_action(b, SBX_ACTION_VIOLATION, 0, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_policy_builder_build(b, NULL, ERR)); /* consumes b */

    /* A good policy and its accessors. */
    b = sbx_policy_builder_new();
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_allow_group(b, SBX_GROUP_READ, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_errno_syscall(b, "uname", ENOSYS, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_build(b, &p, ERR));
    CHECK(p != NULL);
    CHECK(contains(sbx_policy_disassemble(p), "read"));
    CHECK(sbx_policy_disassemble(p) == sbx_policy_disassemble(p)); /* cached, owned by p */
    prog = sbx_policy_program(p, &len);
    CHECK(prog != NULL && len > 0 && len <= 4096);
    CHECK(sbx_policy_program(p, NULL) == prog);
    CHECK(!sbx_policy_allows_exec(p));
    CHECK(sbx_policy_decide(p, NATIVE_ARCH, SYS_read, regs) == 0x7fff0000u);  /* ALLOW */
    CHECK(sbx_policy_decide(p, NATIVE_ARCH, SYS_uname, NULL) == (0x00050000u | ENOSYS));
    CHECK((sbx_policy_decide(p, NATIVE_ARCH, SYS_write, regs) & 0xffff0000u) == 0x7ff00000u); /* TRACE */
    p2 = sbx_policy_clone(p);
    /* A new handle to the same policy (each handle is freed once). */
    CHECK(p2 != NULL && p2 != p && sbx_policy_program(p2, NULL) == prog);
    sbx_policy_free(p);
    CHECK(contains(sbx_policy_disassemble(p2), "read")); /* the clone keeps it alive */
    sbx_policy_free(p2);
    CHECK(sbx_policy_clone(NULL) == NULL);
    CHECK(sbx_policy_disassemble(NULL) == NULL);
    len = 7;
    CHECK(sbx_policy_program(NULL, &len) == NULL && len == 0);
    CHECK(!sbx_policy_allows_exec(NULL));
    CHECK(sbx_policy_decide(NULL, 0xC000003Eu, 0, NULL) == 0);
    sbx_policy_free(NULL);

    /* Rule problems are reported by build, which still consumes the builder. */
    b = sbx_policy_builder_new();
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_allow_syscall(b, "no_such_syscall", ERR));
    p = NULL;
    CHECK(sbx_policy_builder_build(b, &p, &err) == SBX_STATUS_UNKNOWN_SYSCALL);
    CHECK(p == NULL);
    CHECK(contains(sbx_error_message(err), "no_such_syscall"));
    sbx_error_free(err);
    err = NULL;

    b = sbx_policy_builder_new();
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_errno_syscall(b, "uname", 0, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_policy_builder_build(b, &p, ERR));

    b = sbx_policy_builder_new();
    args[0].index = 6;
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_add_rule(b, "kcmp", args, 1, SBX_ACTION_ALLOW, 0, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_policy_builder_build(b, &p, ERR));
    args[0].index = 0;

    b = sbx_policy_builder_new();
    args[0].value = 1ull << 40; /* does not fit a 32-bit comparison */
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_add_rule(b, "kcmp", args, 1, SBX_ACTION_ALLOW, 0, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_policy_builder_build(b, &p, ERR));

    b = sbx_policy_builder_new();
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_allow_syscall(b, "ptrace", ERR)); /* mandatory-denied */
    CHECK_STATUS(SBX_STATUS_INVALID_POLICY, sbx_policy_builder_build(b, &p, ERR));

    b = sbx_policy_builder_new();
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_allow_syscall_nr(b, 0x40000000u, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_policy_builder_build(b, &p, ERR));

    /* The tool preset and a deny-list default. */
    b = sbx_policy_builder_new_tool_default();
    CHECK(b != NULL);
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_build(b, &p, ERR));
    CHECK(sbx_policy_allows_exec(p));
    sbx_policy_free(p);
    b = sbx_policy_builder_new();
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_set_default_action(b, SBX_ACTION_ALLOW, 0, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_build(b, &p, ERR));
    CHECK(sbx_policy_decide(p, NATIVE_ARCH, SYS_uname, NULL) == 0x7fff0000u);
    sbx_policy_free(p);
    b = sbx_policy_builder_new();
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_set_default_action(b, SBX_ACTION_ERRNO, EPERM, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_build(b, &p, ERR));
    CHECK(sbx_policy_decide(p, NATIVE_ARCH, SYS_uname, NULL) == (0x00050000u | EPERM));
    sbx_policy_free(p);
    b = sbx_policy_builder_new();
    sbx_policy_builder_free(b); /* abandoning a builder */
}

/* The filesystem view and namespace settings on the builder. */
static void test_policy_view(void) {
    sbx_policy_builder *b;
    const sbx_policy *p = NULL;
    const char *dirs[] = {"/usr/lib", NULL};

    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_policy_builder_disable_namespaces(NULL, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_policy_builder_share_network(NULL, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_policy_builder_allow_no_private_proc(NULL, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_policy_builder_set_hostname(NULL, "h", ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_policy_builder_add_file(NULL, "/etc/hostname", ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_policy_builder_add_file_at(NULL, "/a", "/b", false, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_policy_builder_add_directory(NULL, "/usr", ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_policy_builder_add_directory_at(NULL, "/a", "/b", true, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_policy_builder_add_directory_if_exists(NULL, "/lib64", ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_policy_builder_add_tmpfs(NULL, "/tmp", 0, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_policy_builder_set_root_writable(NULL, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_policy_builder_allow_write_exec(NULL, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_policy_builder_add_libraries_for_binary(NULL, "/bin/true", NULL, 0, ERR));

    /* A full view builds. */
    b = sbx_policy_builder_new();
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_share_network(b, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_allow_no_private_proc(b, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_set_hostname(b, "box", ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_add_file(b, "/etc/passwd", ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_add_file_at(b, "/etc/group", "/etc/group2", false, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_add_directory(b, "/usr", ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_add_directory_at(b, "/usr/share", "/share", false, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_add_directory_if_exists(b, "/no/such/dir", ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_add_tmpfs(b, "/tmp", 1 << 20, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_add_tmpfs(b, "/scratch", 0, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_set_root_writable(b, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_allow_write_exec(b, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_add_libraries_for_binary(b, "/bin/true", dirs, 1, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_policy_builder_add_libraries_for_binary(b, "/bin/true", dirs, 2, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_policy_builder_add_libraries_for_binary(b, "/bin/true", NULL, 1, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_build(b, &p, ERR));
    sbx_policy_free(p);

    /* Bad paths and names are reported by build. */
    b = sbx_policy_builder_new();
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_add_file(b, "relative/path", ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_policy_builder_build(b, &p, ERR));
    b = sbx_policy_builder_new();
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_add_file(b, "/no/such/file", ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_policy_builder_build(b, &p, ERR));
    b = sbx_policy_builder_new();
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_add_directory(b, "/etc/passwd", ERR)); /* not a dir */
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_policy_builder_build(b, &p, ERR));
    b = sbx_policy_builder_new();
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_set_hostname(b, "a/b", ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_policy_builder_build(b, &p, ERR));
    b = sbx_policy_builder_new();
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_add_libraries_for_binary(b, "/etc/passwd", NULL, 0, ERR));
    CHECK(sbx_policy_builder_build(b, &p, NULL) != SBX_STATUS_OK);
    b = sbx_policy_builder_new();
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_disable_namespaces(b, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_add_file(b, "/etc/passwd", ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_POLICY, sbx_policy_builder_build(b, &p, ERR));
}

static void test_executor(void) {
    sbx_executor *e = NULL;
    const char *argv[] = {"a", "b"};
    const char *envp[] = {"A=1", "B=2"};
    const char bad_utf8[] = {'x', (char)0xc3, 0};
    int pipefd[2];
    bool limited = true;
    uint64_t value = 1;

    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_executor_new(NULL, &e, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_executor_new("/bin/true", NULL, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_executor_new("", &e, ERR));
    CHECK(e == NULL);
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_executor_set_argv(NULL, argv, 2, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_executor_add_arg(NULL, "x", ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_executor_set_env(NULL, "A", "1", ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_executor_set_envp(NULL, envp, 2, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_executor_set_cwd(NULL, "/", ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_executor_set_stdio(NULL, 0, SBX_STDIO_NULL, -1, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_executor_map_fd(NULL, 0, 3, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_executor_set_limit(NULL, SBX_LIMIT_CORE, 0, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_executor_set_limit_unlimited(NULL, SBX_LIMIT_CORE, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_executor_get_limit(NULL, SBX_LIMIT_CORE, &limited, &value, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_executor_map_fd_named(NULL, 0, 3, "x", ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_executor_enable_comms(NULL, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_executor_set_sandbox_before_exec(NULL, false, ERR));
    sbx_executor_free(NULL);

    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_new("/bin/true", &e, ERR));
    CHECK(e != NULL);
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_set_argv(e, argv, 2, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_executor_set_argv(e, argv, 0, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_executor_set_argv(e, NULL, 2, ERR));
    argv[1] = NULL;
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_executor_set_argv(e, argv, 2, ERR));
    argv[1] = bad_utf8;
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_executor_set_argv(e, argv, 2, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_add_arg(e, "c", ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_executor_add_arg(e, NULL, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_executor_add_arg(e, bad_utf8, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_set_env(e, "A", "1", ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_set_env(e, "A", "", ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_executor_set_env(e, "", "1", ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_executor_set_env(e, "A=B", "1", ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_executor_set_env(e, "A", NULL, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_set_envp(e, envp, 2, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_set_envp(e, NULL, 0, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_executor_set_envp(e, NULL, 1, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_set_cwd(e, "/tmp", ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_executor_set_cwd(e, "relative/dir", ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_executor_set_cwd(e, NULL, ERR));

    CHECK(pipe(pipefd) == 0);
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_set_stdio(e, 0, SBX_STDIO_FD, pipefd[0], ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_set_stdio(e, 1, SBX_STDIO_NULL, -1, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_set_stdio(e, 2, SBX_STDIO_INHERIT, -1, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_executor_set_stdio(e, 3, SBX_STDIO_NULL, -1, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_executor_set_stdio(e, -1, SBX_STDIO_NULL, -1, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_executor_set_stdio(e, 0, 0, -1, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_executor_set_stdio(e, 0, SBX_STDIO_FD, -1, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_executor_set_stdio(e, 0, SBX_STDIO_FD, 1000, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_map_fd(e, pipefd[1], 3, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_executor_map_fd(e, pipefd[1], 2, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_executor_map_fd(e, -3, 4, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_executor_map_fd(e, 1000, 4, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_map_fd_named(e, pipefd[1], 4, "log", ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_executor_map_fd_named(e, pipefd[1], 5, NULL, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_executor_map_fd_named(e, pipefd[1], 5, bad_utf8, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_executor_map_fd_named(e, pipefd[1], 1, "out", ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_executor_map_fd_named(e, -1, 5, "bad", ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_enable_comms(e, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_set_sandbox_before_exec(e, false, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_set_sandbox_before_exec(e, true, ERR));
    /* The executor holds duplicates: the caller's descriptors are its own to close. */
    CHECK(close(pipefd[0]) == 0 && close(pipefd[1]) == 0);

    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_executor_set_limit(e, SBX_LIMIT_FILE_SIZE, -1, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_executor_set_limit(e, 0, 1, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_executor_set_limit(e, SBX_LIMIT_CGROUP_CPU_MILLICORES + 1, 1, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_executor_set_limit_unlimited(e, 99, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_executor_get_limit(e, 99, &limited, &value, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_executor_get_limit(e, SBX_LIMIT_CORE, NULL, &value, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_executor_get_limit(e, SBX_LIMIT_CORE, &limited, NULL, ERR));
    /* Defaults are sandbox2's. */
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_get_limit(e, SBX_LIMIT_CPU_SECONDS, &limited, &value, ERR));
    CHECK(limited && value == 1024);
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_get_limit(e, SBX_LIMIT_ADDRESS_SPACE, &limited, &value, ERR));
    CHECK(!limited && value == 0);
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_get_limit(e, SBX_LIMIT_WALL_TIME_MS, &limited, &value, ERR));
    CHECK(limited && value == 120000);
    /* The cgroup limits: none by default; set, read back, removed. */
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_get_limit(e, SBX_LIMIT_CGROUP_PIDS, &limited, &value, ERR));
    CHECK(!limited && value == 0);
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_set_limit(e, SBX_LIMIT_CGROUP_PIDS, 32, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_get_limit(e, SBX_LIMIT_CGROUP_PIDS, &limited, &value, ERR));
    CHECK(limited && value == 32);
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_set_limit_unlimited(e, SBX_LIMIT_CGROUP_PIDS, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_get_limit(e, SBX_LIMIT_CGROUP_PIDS, &limited, &value, ERR));
    CHECK(!limited);
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_set_limit(e, SBX_LIMIT_ADDRESS_SPACE, 1 << 30, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_get_limit(e, SBX_LIMIT_ADDRESS_SPACE, &limited, &value, ERR));
    CHECK(limited && value == (1u << 30));
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_set_limit_unlimited(e, SBX_LIMIT_ADDRESS_SPACE, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_get_limit(e, SBX_LIMIT_ADDRESS_SPACE, &limited, &value, ERR));
    CHECK(!limited);
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_set_limit(e, SBX_LIMIT_WALL_TIME_MS, 2500, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_get_limit(e, SBX_LIMIT_WALL_TIME_MS, &limited, &value, ERR));
    CHECK(limited && value == 2500);
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_set_limit(e, SBX_LIMIT_WALL_TIME_MS, 0, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_get_limit(e, SBX_LIMIT_WALL_TIME_MS, &limited, &value, ERR));
    CHECK(!limited);
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_set_limit_unlimited(e, SBX_LIMIT_WALL_TIME_MS, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_set_limit(e, SBX_LIMIT_CPU_SECONDS, 10, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_set_limit(e, SBX_LIMIT_FILE_SIZE, 1 << 20, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_set_limit(e, SBX_LIMIT_OPEN_FILES, 64, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_set_limit(e, SBX_LIMIT_PROCESSES, 4, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_set_limit(e, SBX_LIMIT_CORE, 0, ERR));
    sbx_executor_free(e); /* closes its duplicates */
}

static int destroyed;
static void count_destroy(void *user_data) {
    CHECK(user_data == &destroyed);
    destroyed++;
}

/* Sandbox calls that never reach a clone. */
static void test_sandbox_without_spawn(void) {
    const sbx_policy *p = sbx_test_policy();
    sbx_notify_callbacks callbacks;
    sbx_comms *c = NULL;
    sbx_executor *e;
    sbx_sandbox *s = NULL;
    const sbx_result *r = NULL;
    const char *args[] = {"exit", "0"};
    int fd;

    CHECK(p != NULL);
    memset(&callbacks, 0, sizeof callbacks);
    callbacks.destroy = count_destroy;
    callbacks.user_data = &destroyed;
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_sandbox_new(NULL, p, &s, ERR));
    e = sbx_test_executor(args, 2);
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_sandbox_new(e, NULL, &s, ERR)); /* consumes e */
    e = sbx_test_executor(args, 2);
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_sandbox_new(e, p, NULL, ERR)); /* consumes e */
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_sandbox_run(NULL, &r, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_sandbox_start(NULL, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_sandbox_wait(NULL, &r, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_sandbox_wait_timeout(NULL, 1, &r, ERR));
    CHECK(sbx_sandbox_kill(NULL) == SBX_STATUS_NULL_PARAMETER);
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_sandbox_take_comms(NULL, &c, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_sandbox_new_with_notify(NULL, p, &callbacks, &s, ERR));
    e = sbx_test_executor(args, 2);
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_sandbox_new_with_notify(e, p, NULL, &s, ERR)); /* consumes e */
    e = sbx_test_executor(args, 2);
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_sandbox_new_with_notify(e, NULL, &callbacks, &s, ERR));
    e = sbx_test_executor(args, 2);
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_sandbox_new_with_notify(e, p, &callbacks, NULL, ERR));
    CHECK(destroyed == 0); /* a failed call calls nothing */
    CHECK(sbx_sandbox_pid(NULL) == 0);
    CHECK(!sbx_sandbox_is_finished(NULL));
    sbx_sandbox_free(NULL);

    /* Not started yet. */
    e = sbx_test_executor(args, 2);
    CHECK_STATUS(SBX_STATUS_OK, sbx_sandbox_new(e, p, &s, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_sandbox_run(s, NULL, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_sandbox_wait(s, NULL, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_STATE, sbx_sandbox_wait(s, &r, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_STATE, sbx_sandbox_wait_timeout(s, 10, &r, ERR));
    CHECK(r == NULL);
    CHECK(sbx_sandbox_kill(s) == SBX_STATUS_OK);
    CHECK(sbx_sandbox_pid(s) == 0);
    CHECK(!sbx_sandbox_is_finished(s));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_sandbox_take_comms(s, NULL, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_STATE, sbx_sandbox_take_comms(s, &c, ERR));
    CHECK(c == NULL);
    sbx_sandbox_free(s); /* never started */

    /* Callbacks of a sandbox that never starts: only destroy, once, by the free. */
    e = sbx_test_executor(args, 2);
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_enable_comms(e, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_sandbox_new_with_notify(e, p, &callbacks, &s, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_STATE, sbx_sandbox_take_comms(s, &c, ERR)); /* not started */
    CHECK(destroyed == 0);
    sbx_sandbox_free(s);
    CHECK(destroyed == 1);

    /* An executor that fails its checks at start: nothing is spawned, and the sandbox is used. */
    e = sbx_test_executor(args, 2);
    fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_map_fd(e, fd, 5, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_map_fd(e, fd, 5, ERR)); /* the same target twice */
    close(fd);
    CHECK_STATUS(SBX_STATUS_OK, sbx_sandbox_new(e, p, &s, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_sandbox_start(s, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_STATE, sbx_sandbox_start(s, ERR));
    sbx_sandbox_free(s);

    e = sbx_test_executor(args, 2);
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_set_limit(e, SBX_LIMIT_OPEN_FILES, 2, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_sandbox_new(e, p, &s, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_sandbox_run(s, &r, ERR));
    CHECK(r == NULL);
    sbx_sandbox_free(s);

    /* Result accessors accept NULL. */
    CHECK(sbx_result_status(NULL) == SBX_RUN_STATUS_UNSET);
    CHECK(sbx_result_status_name(NULL) == NULL);
    CHECK(sbx_result_reason_code(NULL) == 0);
    CHECK(sbx_result_reason_name(NULL) == NULL);
    CHECK(!sbx_result_exit_code(NULL, NULL));
    CHECK(!sbx_result_signal(NULL, NULL));
    CHECK(sbx_result_violation(NULL) == NULL);
    CHECK(sbx_result_message(NULL) == NULL);
    CHECK(sbx_result_pid(NULL) == 0);
    CHECK(sbx_result_wall_time_ns(NULL) == 0);
    CHECK(!sbx_result_usage(NULL, NULL));
    CHECK(sbx_result_description(NULL) == NULL);
    CHECK(!sbx_result_success(NULL));
    CHECK(sbx_result_setup_step_count(NULL) == 0);
    CHECK(!sbx_result_setup_step(NULL, 0, NULL, NULL));
    sbx_result_free(NULL);
    CHECK(sbx_violation_arch(NULL) == NULL);
    CHECK(sbx_violation_syscall_name(NULL) == NULL);
    CHECK(sbx_violation_nr(NULL) == 0);
    CHECK(!sbx_violation_args(NULL, NULL));
    CHECK(sbx_violation_pid(NULL) == 0);
    CHECK(sbx_violation_ip(NULL) == 0);
    CHECK(sbx_violation_sp(NULL) == 0);

    sbx_policy_free(p);
}

/* Runs the sandboxee with `args` to the end; returns the result (caller frees). */
static const sbx_result *run(const sbx_policy *p, const char *const *args, size_t n) {
    sbx_executor *e = sbx_test_executor(args, n);
    sbx_sandbox *s = NULL;
    const sbx_result *r = NULL;
    CHECK(e != NULL);
    CHECK_STATUS(SBX_STATUS_OK, sbx_sandbox_new(e, p, &s, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_sandbox_run(s, &r, ERR));
    CHECK(sbx_sandbox_is_finished(s));
    {
        /* The completion fd: readable once the result is ready, the same fd every time. */
        int fd = -1, again = -1;
        struct pollfd pfd;
        CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_sandbox_completion_fd(NULL, &fd, ERR));
        CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_sandbox_completion_fd(s, NULL, ERR));
        CHECK_STATUS(SBX_STATUS_OK, sbx_sandbox_completion_fd(s, &fd, ERR));
        CHECK_STATUS(SBX_STATUS_OK, sbx_sandbox_completion_fd(s, &again, ERR));
        CHECK(fd >= 0 && fd == again);
        pfd.fd = fd;
        pfd.events = POLLIN;
        pfd.revents = 0;
        CHECK(poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN));
    }
    sbx_sandbox_free(s);
    return r;
}

static void test_runs(void) {
    const sbx_policy *p = sbx_test_policy();
    const sbx_result *r;
    const sbx_violation *v;
    int32_t code = -1, sig = -1;
    uint64_t a[6];
    sbx_usage usage;

    {
        const char *args[] = {"exit", "3"};
        r = run(p, args, 2);
        CHECK(sbx_result_status(r) == SBX_RUN_STATUS_OK);
        CHECK(strcmp(sbx_result_status_name(r), "OK") == 0);
        CHECK(sbx_result_exit_code(r, &code) && code == 3);
        CHECK(sbx_result_exit_code(r, NULL));
        CHECK(!sbx_result_signal(r, &sig) && sig == -1);
        CHECK(sbx_result_reason_code(r) == 3);
        CHECK(sbx_result_reason_name(r) == NULL);
        CHECK(sbx_result_violation(r) == NULL);
        CHECK(sbx_result_message(r) == NULL);
        CHECK(!sbx_result_success(r));
        CHECK(sbx_result_pid(r) > 0);
        CHECK(sbx_result_wall_time_ns(r) > 0);
        /* Only the ptrace monitor counts tasks (user-notify reports 0). */
        CHECK(sbx_result_usage(r, &usage) && usage.peak_tasks >= (uint32_t)has_fence(r, "ptrace_monitor"));
        CHECK(!sbx_result_usage(r, NULL));
        CHECK(strcmp(sbx_result_description(r), "OK - exit code 3") == 0);
        {
            size_t steps = sbx_result_setup_step_count(r), k;
            const char *name = NULL;
            uint64_t took = 0, total = 0;
            CHECK(steps > 0);
            for (k = 0; k < steps; k++) {
                CHECK(sbx_result_setup_step(r, k, &name, &took) && name != NULL && strlen(name) > 0);
                total += took;
            }
            CHECK(total > 0 && total <= sbx_result_wall_time_ns(r));
            CHECK(sbx_result_setup_step(r, 0, NULL, NULL));
            name = "untouched";
            CHECK(!sbx_result_setup_step(r, steps, &name, &took) && strcmp(name, "untouched") == 0);
        }
        sbx_result_free(r);
    }
    {
        const char *args[] = {"exit", "0"};
        size_t k, n;
        int seccomp = 0;
        r = run(p, args, 2);
        CHECK(sbx_result_success(r));
        /* The fences in force are listed; nothing was left out here. */
        n = sbx_result_fence_count(r);
        CHECK(n > 0);
        for (k = 0; k < n; k++) {
            CHECK(sbx_result_fence(r, k) != NULL);
            seccomp |= strcmp(sbx_result_fence(r, k), "seccomp") == 0;
        }
        CHECK(seccomp);
        CHECK(sbx_result_fence(r, n) == NULL);
        CHECK(sbx_result_degraded_count(r) == 0 && sbx_result_degraded(r, 0) == NULL);
        CHECK(sbx_result_failed_step(r) == NULL && sbx_result_setup_hint(r) == NULL);
        CHECK(sbx_result_fence_count(NULL) == 0 && sbx_result_fence(NULL, 0) == NULL);
        CHECK(sbx_result_degraded_count(NULL) == 0 && sbx_result_failed_step(NULL) == NULL);
        sbx_result_free(r);
    }
    {
        const char *args[] = {"violation"};
        r = run(p, args, 1);
        CHECK(sbx_result_status(r) == SBX_RUN_STATUS_VIOLATION);
        CHECK(strcmp(sbx_result_reason_name(r), "VIOLATION_SYSCALL") == 0);
        v = sbx_result_violation(r);
        CHECK(v != NULL);
        CHECK(strcmp(sbx_violation_arch(v), "X86-64") == 0);
        CHECK(strcmp(sbx_violation_syscall_name(v), "getpriority") == 0);
        CHECK(sbx_violation_nr(v) == 140);
        CHECK(sbx_violation_args(v, a));
        CHECK(a[0] == 0x11 && a[1] == 0x22 && a[2] == 0x33 && a[3] == 0x44 && a[4] == 0x55 && a[5] == 0x66);
        CHECK(!sbx_violation_args(v, NULL));
        CHECK(sbx_violation_pid(v) == sbx_result_pid(r));
        /* The stack pointer is read by ptrace only (user-notify reports 0). */
        CHECK(sbx_violation_ip(v) != 0 && (sbx_violation_sp(v) != 0 || has_fence(r, "unotify_monitor")));
        CHECK(contains(sbx_result_description(r), "getpriority(0x11, 0x22, 0x33, 0x44, 0x55, 0x66)"));
        sbx_result_free(r);
    }
    {
        const char *args[] = {"int80"};
        r = run(p, args, 1);
        CHECK(sbx_result_status(r) == SBX_RUN_STATUS_VIOLATION);
        CHECK(strcmp(sbx_result_reason_name(r), "VIOLATION_ARCH") == 0);
        v = sbx_result_violation(r);
        CHECK(v != NULL && strcmp(sbx_violation_arch(v), "X86-32") == 0);
        CHECK(v != NULL && strcmp(sbx_violation_syscall_name(v), "getpid") == 0);
        sbx_result_free(r);
    }
    {
        const char *args[] = {"segv"};
        r = run(p, args, 1);
        CHECK(sbx_result_status(r) == SBX_RUN_STATUS_SIGNALED);
        CHECK(sbx_result_signal(r, &sig) && sig == SIGSEGV);
        CHECK(!sbx_result_exit_code(r, &code));
        CHECK(contains(sbx_result_description(r), "SIGSEGV"));
        sbx_result_free(r);
    }
    {
        /* A program that does not exist: SETUP_ERROR with a message. */
        sbx_executor *e = NULL;
        sbx_sandbox *s = NULL;
        CHECK_STATUS(SBX_STATUS_OK, sbx_executor_new("/nonexistent/program", &e, ERR));
        CHECK_STATUS(SBX_STATUS_OK, sbx_sandbox_new(e, p, &s, ERR));
        CHECK_STATUS(SBX_STATUS_OK, sbx_sandbox_run(s, &r, ERR));
        CHECK(sbx_result_status(r) == SBX_RUN_STATUS_SETUP_ERROR);
        CHECK(sbx_result_reason_name(r) != NULL);
        CHECK(sbx_result_message(r) != NULL);
        CHECK(contains(sbx_result_description(r), "SETUP_ERROR"));
        {
            int32_t setup_errno = 0;
            CHECK(sbx_result_setup_errno(r, &setup_errno) && setup_errno == ENOENT);
            CHECK(!sbx_result_setup_errno(NULL, &setup_errno));
            /* The failed step is named; a run that never started had no fence. */
            CHECK(sbx_result_failed_step(r) != NULL && strcmp(sbx_result_failed_step(r), "exec") == 0);
            CHECK(sbx_result_fence_count(r) == 0);
        }
        sbx_result_free(r);
        sbx_sandbox_free(s);
    }
    {
        /* The sandbox sees only what the policy adds: a program left out cannot start. */
        const char *args[] = {"exit", "0"};
        sbx_policy_builder *b = sbx_policy_builder_new();
        const sbx_policy *bare = NULL;
        sbx_policy_builder_allow_group(b, SBX_GROUP_STATIC_STARTUP, NULL);
        sbx_policy_builder_allow_group(b, SBX_GROUP_EXIT, NULL);
        CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_build(b, &bare, ERR));
        r = run(bare, args, 2);
        CHECK(sbx_result_status(r) == SBX_RUN_STATUS_SETUP_ERROR);
        CHECK(contains(sbx_result_message(r), "add_file"));
        sbx_result_free(r);
        sbx_policy_free(bare);
    }
    {
        /* Without namespaces the host's filesystem is visible. */
        const char *args[] = {"exit", "5"};
        sbx_policy_builder *b = sbx_policy_builder_new();
        const sbx_policy *plain = NULL;
        sbx_policy_builder_allow_group(b, SBX_GROUP_STATIC_STARTUP, NULL);
        sbx_policy_builder_allow_group(b, SBX_GROUP_EXIT, NULL);
        sbx_policy_builder_allow_group(b, SBX_GROUP_GET_RANDOM, NULL);
        sbx_policy_builder_errno_syscall(b, "readlink", ENOENT, NULL);
        CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_disable_namespaces(b, ERR));
        CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_build(b, &plain, ERR));
        r = run(plain, args, 2);
        CHECK(sbx_result_exit_code(r, &code) && code == 5);
        sbx_result_free(r);
        sbx_policy_free(plain);
    }
    {
        /* A dynamically linked program with exactly its libraries. */
        sbx_policy_builder *b = sbx_policy_builder_new();
        const sbx_policy *dyn = NULL;
        sbx_executor *e = NULL;
        sbx_sandbox *s = NULL;
        sbx_policy_builder_allow_group(b, SBX_GROUP_DYNAMIC_STARTUP, NULL);
        sbx_policy_builder_allow_group(b, SBX_GROUP_EXIT, NULL);
        sbx_policy_builder_allow_group(b, SBX_GROUP_SYSTEM_MALLOC, NULL);
        CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_add_libraries_for_binary(b, "/bin/true", NULL, 0, ERR));
        CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_build(b, &dyn, ERR));
        CHECK_STATUS(SBX_STATUS_OK, sbx_executor_new("/bin/true", &e, ERR));
        CHECK_STATUS(SBX_STATUS_OK, sbx_sandbox_new(e, dyn, &s, ERR));
        CHECK_STATUS(SBX_STATUS_OK, sbx_sandbox_run(s, &r, ERR));
        CHECK(sbx_result_success(r));
        if (!sbx_result_success(r)) fprintf(stderr, "  /bin/true: %s\n", sbx_result_description(r));
        sbx_result_free(r);
        sbx_sandbox_free(s);
        sbx_policy_free(dyn);
    }
    {
        /* stdin from a pipe, stdout to a pipe, an extra fd, environment and cwd. */
        const char *args[] = {"echo"};
        sbx_executor *e = sbx_test_executor(args, 1);
        sbx_sandbox *s = NULL;
        int in[2], out[2];
        char buf[64];
        ssize_t n;
        CHECK(pipe(in) == 0 && pipe(out) == 0);
        CHECK(write(in[1], "hello", 5) == 5);
        close(in[1]);
        CHECK_STATUS(SBX_STATUS_OK, sbx_executor_set_stdio(e, 0, SBX_STDIO_FD, in[0], ERR));
        CHECK_STATUS(SBX_STATUS_OK, sbx_executor_set_stdio(e, 1, SBX_STDIO_FD, out[1], ERR));
        close(in[0]);
        close(out[1]);
        CHECK_STATUS(SBX_STATUS_OK, sbx_sandbox_new(e, p, &s, ERR));
        CHECK_STATUS(SBX_STATUS_OK, sbx_sandbox_run(s, &r, ERR));
        CHECK(sbx_result_success(r));
        n = read(out[0], buf, sizeof buf - 1);
        CHECK(n == 5 && memcmp(buf, "hello", 5) == 0);
        close(out[0]);
        sbx_result_free(r);
        sbx_sandbox_free(s);
    }
    {
        const char *args[] = {"write", "7", "to-fd-7"};
        sbx_executor *e = sbx_test_executor(args, 3);
        sbx_sandbox *s = NULL;
        int out[2];
        char buf[64];
        CHECK(pipe(out) == 0);
        CHECK_STATUS(SBX_STATUS_OK, sbx_executor_map_fd(e, out[1], 7, ERR));
        close(out[1]);
        CHECK_STATUS(SBX_STATUS_OK, sbx_sandbox_new(e, p, &s, ERR));
        CHECK_STATUS(SBX_STATUS_OK, sbx_sandbox_run(s, &r, ERR));
        CHECK(sbx_result_success(r));
        CHECK(read(out[0], buf, sizeof buf) == 7 && memcmp(buf, "to-fd-7", 7) == 0);
        close(out[0]);
        sbx_result_free(r);
        sbx_sandbox_free(s);
    }
    {
        const char *args[] = {"env", "GREETING"};
        sbx_executor *e = sbx_test_executor(args, 2);
        sbx_sandbox *s = NULL;
        int out[2];
        char buf[64];
        const char *envp[] = {"OTHER=1", "GREETING=bonjour"};
        CHECK(pipe(out) == 0);
        CHECK_STATUS(SBX_STATUS_OK, sbx_executor_set_envp(e, envp, 2, ERR));
        CHECK_STATUS(SBX_STATUS_OK, sbx_executor_set_env(e, "GREETING", "hej", ERR));
        CHECK_STATUS(SBX_STATUS_OK, sbx_executor_set_stdio(e, 1, SBX_STDIO_FD, out[1], ERR));
        close(out[1]);
        CHECK_STATUS(SBX_STATUS_OK, sbx_sandbox_new(e, p, &s, ERR));
        CHECK_STATUS(SBX_STATUS_OK, sbx_sandbox_run(s, &r, ERR));
        CHECK(read(out[0], buf, sizeof buf) == 3 && memcmp(buf, "hej", 3) == 0);
        close(out[0]);
        sbx_result_free(r);
        sbx_sandbox_free(s);
    }
    {
        const char *args[] = {"cwd"};
        sbx_executor *e = sbx_test_executor(args, 1);
        sbx_sandbox *s = NULL;
        int out[2];
        char buf[64] = {0};
        CHECK(pipe(out) == 0);
        CHECK_STATUS(SBX_STATUS_OK, sbx_executor_set_cwd(e, "/dev", ERR));
        CHECK_STATUS(SBX_STATUS_OK, sbx_executor_set_stdio(e, 1, SBX_STDIO_FD, out[1], ERR));
        close(out[1]);
        CHECK_STATUS(SBX_STATUS_OK, sbx_sandbox_new(e, p, &s, ERR));
        CHECK_STATUS(SBX_STATUS_OK, sbx_sandbox_run(s, &r, ERR));
        CHECK(read(out[0], buf, sizeof buf - 1) == 4 && strcmp(buf, "/dev") == 0);
        close(out[0]);
        sbx_result_free(r);
        sbx_sandbox_free(s);
    }
    {
        /* Asynchronous: start, a wait that times out, kill, wait; a second start fails. */
        const char *args[] = {"spin"};
        sbx_executor *e = sbx_test_executor(args, 1);
        sbx_sandbox *s = NULL;
        CHECK_STATUS(SBX_STATUS_OK, sbx_sandbox_new(e, p, &s, ERR));
        CHECK_STATUS(SBX_STATUS_OK, sbx_sandbox_start(s, ERR));
        CHECK(sbx_sandbox_pid(s) > 0);
        CHECK(!sbx_sandbox_is_finished(s));
        CHECK_STATUS(SBX_STATUS_INVALID_STATE, sbx_sandbox_start(s, ERR));
        r = NULL;
        CHECK_STATUS(SBX_STATUS_WAIT_TIMEOUT, sbx_sandbox_wait_timeout(s, 50, &r, ERR));
        CHECK(r == NULL);
        CHECK(sbx_sandbox_kill(s) == SBX_STATUS_OK);
        CHECK_STATUS(SBX_STATUS_OK, sbx_sandbox_wait(s, &r, ERR));
        CHECK(sbx_result_status(r) == SBX_RUN_STATUS_EXTERNAL_KILL);
        CHECK(sbx_sandbox_is_finished(s));
        sbx_result_free(r);
        /* Waiting again returns the same outcome. */
        CHECK_STATUS(SBX_STATUS_OK, sbx_sandbox_wait_timeout(s, 0, &r, ERR));
        CHECK(sbx_result_status(r) == SBX_RUN_STATUS_EXTERNAL_KILL);
        sbx_result_free(r);
        CHECK_STATUS(SBX_STATUS_INVALID_STATE, sbx_sandbox_run(s, &r, ERR));
        sbx_sandbox_free(s);
    }
    {
        /* Wall-time limit. */
        const char *args[] = {"spin"};
        sbx_executor *e = sbx_test_executor(args, 1);
        sbx_sandbox *s = NULL;
        CHECK_STATUS(SBX_STATUS_OK, sbx_executor_set_limit(e, SBX_LIMIT_WALL_TIME_MS, 200, ERR));
        CHECK_STATUS(SBX_STATUS_OK, sbx_sandbox_new(e, p, &s, ERR));
        CHECK_STATUS(SBX_STATUS_OK, sbx_sandbox_run(s, &r, ERR));
        CHECK(sbx_result_status(r) == SBX_RUN_STATUS_TIMEOUT);
        CHECK(sbx_result_wall_time_ns(r) >= 200000000u);
        CHECK(contains(sbx_result_description(r), "TIMEOUT"));
        sbx_result_free(r);
        sbx_sandbox_free(s);
    }
    {
        /* Freeing a running sandbox kills it. */
        const char *args[] = {"spin"};
        sbx_executor *e = sbx_test_executor(args, 1);
        sbx_sandbox *s = NULL;
        CHECK_STATUS(SBX_STATUS_OK, sbx_sandbox_new(e, p, &s, ERR));
        CHECK_STATUS(SBX_STATUS_OK, sbx_sandbox_start(s, ERR));
        sbx_sandbox_free(s);
    }
    sbx_policy_free(p);
}

int main(void) {
    const char *no_spawn = getenv("SBX_TEST_NO_SPAWN");
    test_version();
    test_status_and_error();
    test_policy_builder();
    test_policy_view();
    test_executor();
    test_sandbox_without_spawn();
    if (no_spawn != NULL && strcmp(no_spawn, "1") == 0) {
        printf("test_api: SBX_TEST_NO_SPAWN=1: skipping the runs that start a sandboxee\n");
    } else {
        test_runs();
    }
    printf("test_api: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
