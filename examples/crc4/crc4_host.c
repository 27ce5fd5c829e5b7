/*
 * The host of the crc4 example (after sandbox2's crc4 example): runs crc4_bin, a sandbox-aware
 * program, under a tight policy, sends it buffers over comms and prints the CRC-32 it returns.
 * Then it sends a buffer far larger than the sandboxee's fixed 64-byte one, which crashes the
 * sandboxee (a deliberate memory bug) and only the sandboxee: the host reads the result, prints
 * it, and goes on.
 *
 *   crc4_host [--no-crash] [PATH_TO_CRC4_BIN]
 *
 * --no-crash ends the sandboxee with an empty buffer instead (the run is then OK, exit code 0).
 * Exit status: 0 when everything went as expected, 1 otherwise.
 */
#define _DEFAULT_SOURCE /* realpath */
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sbx.h>

#ifndef CRC4_BIN_PATH
#define CRC4_BIN_PATH "./crc4_bin"
#endif

static int fail(const char *what, sbx_status st, sbx_error *err) {
    fprintf(stderr, "crc4_host: %s: %s (%s)\n", what, err ? sbx_error_message(err) : "", sbx_status_message(st));
    sbx_error_free(err);
    return 1;
}

/* The same CRC-32 as the sandboxee's, to check its answers. */
static uint32_t crc32_ieee(const uint8_t *p, size_t n) {
    uint32_t crc = 0xffffffffu;
    size_t i;
    int bit;
    for (i = 0; i < n; i++) {
        crc ^= p[i];
        for (bit = 0; bit < 8; bit++) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

/* The policy for what crc4_bin does after sbx_client_sandbox_me_here: receive and send on its
 * channel, allocate and free buffers (glibc's malloc), close it, exit. Start-up happens before
 * the policy applies; the filesystem holds the program and nothing else. */
static sbx_status build_policy(const char *program, const sbx_policy **out, sbx_error **err) {
    static const char *const calls[] = {"recvmsg", "sendmsg", "close"};
    sbx_policy_builder *b = sbx_policy_builder_new();
    if (b == NULL) return SBX_STATUS_PANIC;
    /* Errors of these calls are remembered by the builder and reported by the build. */
    sbx_policy_builder_allow_group(b, SBX_GROUP_STATIC_STARTUP, NULL);
    sbx_policy_builder_allow_group(b, SBX_GROUP_READ, NULL);
    sbx_policy_builder_allow_group(b, SBX_GROUP_WRITE, NULL);
    sbx_policy_builder_allow_group(b, SBX_GROUP_EXIT, NULL);
    sbx_policy_builder_allow_group(b, SBX_GROUP_SYSTEM_MALLOC, NULL);
    sbx_policy_builder_allow_syscalls(b, calls, sizeof calls / sizeof calls[0], NULL);
    sbx_policy_builder_add_file(b, program, NULL);
    return sbx_policy_builder_build(b, out, err); /* consumes b */
}

/* Sends `len` bytes and reads the answer; returns 1 when it is the right CRC-32. */
static int ask(sbx_comms *comms, const char *label, const uint8_t *data, size_t len) {
    uint32_t got = 0, want = crc32_ieee(data, len);
    sbx_error *err = NULL;
    sbx_status st;
    if ((st = sbx_comms_send_bytes(comms, data, len, &err)) != SBX_STATUS_OK) return fail("send", st, err), 0;
    if ((st = sbx_comms_recv_uint32(comms, &got, &err)) != SBX_STATUS_OK) return fail("receive", st, err), 0;
    printf("crc4_host: CRC-32(%s) = %08x (%s)\n", label, got, got == want ? "correct" : "WRONG");
    return got == want;
}

int main(int argc, char **argv) {
    static const char check[] = "123456789", fox[] = "The quick brown fox jumps over the lazy dog";
    const char *path = CRC4_BIN_PATH;
    char program[PATH_MAX];
    int crash = 1, ok = 1, i;
    const sbx_policy *policy = NULL;
    sbx_executor *exec = NULL;
    sbx_sandbox *sandbox = NULL;
    sbx_comms *comms = NULL;
    const sbx_result *result = NULL;
    sbx_error *err = NULL;
    sbx_status st;
    uint8_t block[64];
    uint32_t answer = 0;
    int32_t sig = 0, code = -1;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-crash") == 0) crash = 0;
        else path = argv[i];
    }
    printf("crc4_host: libsbx %s\n", sbx_version());
    if (realpath(path, program) == NULL) {
        perror(path);
        return 1;
    }
    if ((st = build_policy(program, &policy, &err)) != SBX_STATUS_OK) return fail("policy", st, err);
    if ((st = sbx_executor_new(program, &exec, &err)) != SBX_STATUS_OK) return fail("executor", st, err);
    /* crc4_bin applies the policy itself (sbx_client_sandbox_me_here), which gives it comms. */
    if ((st = sbx_executor_set_sandbox_before_exec(exec, false, &err)) != SBX_STATUS_OK ||
        (st = sbx_executor_set_limit(exec, SBX_LIMIT_WALL_TIME_MS, 10000, &err)) != SBX_STATUS_OK)
        return fail("executor setup", st, err);
    if ((st = sbx_sandbox_new(exec, policy, &sandbox, &err)) != SBX_STATUS_OK) return fail("sandbox", st, err);
    sbx_policy_free(policy); /* the sandbox holds its own reference */
    if ((st = sbx_sandbox_start(sandbox, &err)) != SBX_STATUS_OK) return fail("start", st, err);
    if ((st = sbx_sandbox_take_comms(sandbox, &comms, &err)) != SBX_STATUS_OK) return fail("comms", st, err);

    ok &= ask(comms, "\"123456789\"", (const uint8_t *)check, sizeof check - 1);
    ok &= ask(comms, "\"The quick brown fox jumps over the lazy dog\"", (const uint8_t *)fox, sizeof fox - 1);
    memset(block, 'x', sizeof block);
    ok &= ask(comms, "64 bytes of 'x'", block, sizeof block);

    if (crash) {
        size_t big_len = 1u << 20;
        uint8_t *big = malloc(big_len);
        if (big == NULL) return 1;
        memset(big, 'A', big_len);
        printf("crc4_host: sending %zu bytes to the sandboxee's 64-byte buffer\n", big_len);
        st = sbx_comms_send_bytes(comms, big, big_len, &err);
        if (st == SBX_STATUS_OK) st = sbx_comms_recv_uint32(comms, &answer, &err);
        free(big);
        if (st == SBX_STATUS_OK) {
            printf("crc4_host: UNEXPECTED answer %08x\n", answer);
            ok = 0;
        } else {
            printf("crc4_host: no answer: %s (comms error %u)\n", sbx_error_message(err),
                   (unsigned)sbx_error_comms_code(err));
            ok &= st == SBX_STATUS_COMMS && sbx_error_comms_code(err) == SBX_COMMS_ERROR_CLOSED;
            sbx_error_free(err);
            err = NULL;
        }
    } else if ((st = sbx_comms_send_bytes(comms, NULL, 0, &err)) != SBX_STATUS_OK) {
        return fail("send", st, err);
    }

    if ((st = sbx_sandbox_wait(sandbox, &result, &err)) != SBX_STATUS_OK) return fail("wait", st, err);
    printf("crc4_host: result: %s\n", sbx_result_description(result));
    if (crash) {
        ok &= sbx_result_status(result) == SBX_RUN_STATUS_SIGNALED && sbx_result_signal(result, &sig) &&
              sig == SIGSEGV;
        printf("crc4_host: the sandboxee crashed%s; the host is still running\n", sig == SIGSEGV ? " with SIGSEGV" : "");
    } else {
        ok &= sbx_result_exit_code(result, &code) && code == 0;
    }
    sbx_result_free(result);
    sbx_comms_free(comms);
    sbx_sandbox_free(sandbox);
    printf("crc4_host: %s\n", ok ? "as expected" : "UNEXPECTED");
    return ok ? 0 : 1;
}
