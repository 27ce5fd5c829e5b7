/* Shared helpers of the C and C++ tests: the tight policy the test sandboxee runs under, and the
 * sandboxee's path (SBX_TESTEE, defined by CMakeLists.txt). */
#ifndef SBX_TEST_UTIL_H
#define SBX_TEST_UTIL_H

#include <errno.h>
#include <sbx.h>
#include <stddef.h>

#ifndef SBX_TESTEE
#error "SBX_TESTEE must name the test sandboxee"
#endif

/* The sandboxee's policy rules: a static glibc program that reads, writes, sleeps and exits.
 * glibc's static start-up also reads /proc/self/exe (answered with ENOENT) and seeds malloc
 * with getrandom. The sandbox's filesystem holds the sandboxee and nothing else. Returns the
 * builder, or NULL on failure. */
static inline sbx_policy_builder *sbx_test_builder(void) {
    static const uint32_t groups[] = {SBX_GROUP_STATIC_STARTUP, SBX_GROUP_EXIT, SBX_GROUP_READ,
                                      SBX_GROUP_WRITE,          SBX_GROUP_SLEEP, SBX_GROUP_GET_RANDOM};
    sbx_policy_builder *b = sbx_policy_builder_new();
    size_t i;
#if defined(__aarch64__)
    const char *readlink_name = "readlinkat"; /* aarch64 has only the *at form */
#else
    const char *readlink_name = "readlink";
#endif
    if (b == NULL) return NULL;
    for (i = 0; i < sizeof groups / sizeof groups[0]; i++) {
        if (sbx_policy_builder_allow_group(b, groups[i], NULL) != SBX_STATUS_OK) {
            sbx_policy_builder_free(b);
            return NULL;
        }
    }
    if (sbx_policy_builder_errno_syscall(b, readlink_name, ENOENT, NULL) != SBX_STATUS_OK ||
        sbx_policy_builder_allow_syscall(b, "getcwd", NULL) != SBX_STATUS_OK ||
        sbx_policy_builder_add_file(b, SBX_TESTEE, NULL) != SBX_STATUS_OK) {
        sbx_policy_builder_free(b);
        return NULL;
    }
    return b;
}

/* The sandboxee's policy (sbx_test_builder's, built). Returns NULL on failure. */
static inline const sbx_policy *sbx_test_policy(void) {
    sbx_policy_builder *b = sbx_test_builder();
    const sbx_policy *p = NULL;
    if (b == NULL) return NULL;
    if (sbx_policy_builder_build(b, &p, NULL) != SBX_STATUS_OK) return NULL;
    return p;
}

/* An executor for the test sandboxee with argv = { "testee", args[0], ..., args[n-1] }. */
static inline sbx_executor *sbx_test_executor(const char *const *args, size_t n) {
    const char *argv[16];
    sbx_executor *e = NULL;
    size_t i;
    if (n > 15) return NULL;
    argv[0] = "testee";
    for (i = 0; i < n; i++) argv[i + 1] = args[i];
    if (sbx_executor_new(SBX_TESTEE, &e, NULL) != SBX_STATUS_OK) return NULL;
    if (sbx_executor_set_argv(e, argv, n + 1, NULL) != SBX_STATUS_OK) {
        sbx_executor_free(e);
        return NULL;
    }
    return e;
}

#endif /* SBX_TEST_UTIL_H */
