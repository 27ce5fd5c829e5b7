/*
 * Misuse of the C ABI's handles is an error, never undefined behaviour (issue 16): a freed,
 * consumed, wrong-typed or made-up handle is refused with SBX_STATUS_INVALID_HANDLE and a
 * message naming the parameter and the handle type; double frees are no-ops; a sandbox freed
 * while another thread waits for it stays alive until that wait returns. Runs under Valgrind
 * (scripts/test-c.sh) without the sandbox part (SBX_TEST_NO_SPAWN).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sbx.h"
#include "sbx_test_check.h"

/* Checks that `call` (which passes ERR as its err_out) fails with SBX_STATUS_INVALID_HANDLE
 * and a message containing `needle`. */
#define HERR (&herr_)
#define CHECK_HANDLE(needle, call)                                                             \
    do {                                                                                       \
        sbx_error *herr_ = NULL;                                                               \
        sbx_status hst_ = (call);                                                              \
        CHECK(hst_ == SBX_STATUS_INVALID_HANDLE);                                              \
        CHECK(herr_ != NULL && sbx_error_code(herr_) == SBX_STATUS_INVALID_HANDLE);            \
        if (herr_ != NULL && strstr(sbx_error_message(herr_), (needle)) == NULL) {             \
            failed++;                                                                          \
            fprintf(stderr, "%s:%d: message \"%s\" lacks \"%s\"\n", __FILE__, __LINE__,         \
                    sbx_error_message(herr_), (needle));                                       \
        }                                                                                      \
        sbx_error_free(herr_);                                                                 \
    } while (0)

static sbx_executor *new_executor(const char *path) {
    sbx_executor *e = NULL;
    CHECK_STATUS(SBX_STATUS_OK, sbx_executor_new(path, &e, NULL));
    return e;
}

static const sbx_policy *tool_policy(void) {
    const sbx_policy *p = NULL;
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_build(sbx_policy_builder_new_tool_default(), &p, NULL));
    return p;
}

static void freed_and_double_freed(void) {
    sbx_executor *e = new_executor("/bin/true");
    sbx_executor_free(e);
    /* Use after free: refused, naming the parameter and the type. */
    CHECK_HANDLE("executor is a sbx_executor that was already freed", sbx_executor_add_arg(e, "x", HERR));
    sbx_executor_free(e); /* double free: a no-op */

    const sbx_policy *p = tool_policy();
    sbx_policy_free(p);
    sbx_policy_free(p);
    sbx_executor *e2 = new_executor("/bin/true");
    sbx_sandbox *s = NULL;
    CHECK_HANDLE("policy is a sbx_policy that was already freed", sbx_sandbox_new(e2, p, &s, HERR));
    CHECK(s == NULL);
    sbx_executor_free(e2); /* not consumed: the call failed before taking it */
}

static void consumed(void) {
    sbx_policy_builder *b = sbx_policy_builder_new();
    const sbx_policy *p = NULL;
    CHECK_STATUS(SBX_STATUS_OK, sbx_policy_builder_build(b, &p, NULL));
    CHECK_HANDLE("builder is a sbx_policy_builder that was already freed or consumed",
                 sbx_policy_builder_allow_syscall(b, "read", HERR));
    CHECK_HANDLE("builder", sbx_policy_builder_build(b, &p, HERR));
    sbx_policy_builder_free(b); /* no-op */

    sbx_executor *e = new_executor("/bin/true");
    sbx_sandbox *s = NULL;
    CHECK_STATUS(SBX_STATUS_OK, sbx_sandbox_new(e, p, &s, NULL));
    CHECK_HANDLE("executor is a sbx_executor that was already freed or consumed",
                 sbx_executor_add_arg(e, "x", HERR));
    sbx_executor_free(e); /* no-op */
    sbx_sandbox_free(s);
    sbx_policy_free(p);
}

static void wrong_type_and_made_up(void) {
    sbx_comms *a = NULL, *b = NULL;
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_pair(&a, &b, NULL));
    CHECK_HANDLE("is a handle of another type (sbx_comms), not sbx_executor",
                 sbx_executor_add_arg((sbx_executor *)a, "x", HERR));
    /* Freeing a handle as another type frees nothing. */
    sbx_executor_free((sbx_executor *)a);
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_bool(a, true, NULL));
    sbx_comms_free(a);
    sbx_comms_free(b);

    CHECK_HANDLE("is not a handle libsbx gave out", sbx_executor_add_arg((sbx_executor *)(uintptr_t)0x1234, "x", HERR));
    CHECK_HANDLE("is not a handle libsbx gave out",
                 sbx_executor_add_arg((sbx_executor *)(uintptr_t)0xdeadbeefcafe, "x", HERR));
    int on_stack = 0;
    CHECK_HANDLE("executor", sbx_executor_add_arg((sbx_executor *)&on_stack, "x", HERR));
    sbx_executor_free((sbx_executor *)&on_stack);
    /* Accessors without a status answer their documented default. */
    CHECK(sbx_result_description((const sbx_result *)(uintptr_t)0x1234) == NULL);
    CHECK(sbx_result_pid((const sbx_result *)&on_stack) == 0);
    CHECK(sbx_violation_nr((const sbx_violation *)&on_stack) == 0);
}

/* A result freed, then read: the accessors answer NULL/0. */
static void result_after_free(const sbx_policy *p) {
    sbx_executor *e = new_executor("/bin/true");
    sbx_sandbox *s = NULL;
    const sbx_result *r = NULL;
    CHECK_STATUS(SBX_STATUS_OK, sbx_sandbox_new(e, p, &s, NULL));
    CHECK_STATUS(SBX_STATUS_OK, sbx_sandbox_run(s, &r, NULL));
    CHECK(sbx_result_description(r) != NULL);
    sbx_result_free(r);
    CHECK(sbx_result_description(r) == NULL);
    CHECK(sbx_result_pid(r) == 0);
    sbx_result_free(r); /* double free: no-op */
    sbx_sandbox_free(s);
    CHECK_HANDLE("sandbox is a sbx_sandbox that was already freed", sbx_sandbox_start(s, HERR));
}

struct waiter {
    sbx_sandbox *s;
    sbx_status st;
    const sbx_result *r;
};

static void *wait_thread(void *arg) {
    struct waiter *w = arg;
    w->st = sbx_sandbox_wait(w->s, &w->r, NULL);
    return NULL;
}

/* sbx_sandbox_free while another thread is in sbx_sandbox_wait: the wait returns the run's
 * result (the sandboxee is killed), nothing crashes; repeated to catch the race. */
static void free_during_wait(const sbx_policy *p) {
    for (int i = 0; i < 15; i++) {
        sbx_executor *e = new_executor("/bin/sleep");
        const char *argv[] = {"sleep", "30"};
        CHECK_STATUS(SBX_STATUS_OK, sbx_executor_set_argv(e, argv, 2, NULL));
        struct waiter w = {NULL, SBX_STATUS_OK, NULL};
        CHECK_STATUS(SBX_STATUS_OK, sbx_sandbox_new(e, p, &w.s, NULL));
        CHECK_STATUS(SBX_STATUS_OK, sbx_sandbox_start(w.s, NULL));
        pthread_t t;
        CHECK(pthread_create(&t, NULL, wait_thread, &w) == 0);
        struct timespec d = {0, (i % 5) * 2000000L};
        nanosleep(&d, NULL);
        sbx_sandbox_free(w.s);
        pthread_join(t, NULL);
        /* Either the wait ran first and got the killed run, or it came after the free. */
        CHECK(w.st == SBX_STATUS_OK || w.st == SBX_STATUS_INVALID_HANDLE);
        if (w.st == SBX_STATUS_OK) {
            CHECK(sbx_result_status(w.r) == SBX_RUN_STATUS_EXTERNAL_KILL);
            sbx_result_free(w.r);
        }
    }
}

int main(void) {
    freed_and_double_freed();
    consumed();
    wrong_type_and_made_up();
    if (getenv("SBX_TEST_NO_SPAWN") == NULL) {
        const sbx_policy *p = tool_policy();
        result_after_free(p);
        free_during_wait(p);
        sbx_policy_free(p);
    }
    printf("test_handles: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
