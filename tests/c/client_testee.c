/*
 * A sandbox-aware sandboxee written against the C API: linked statically with libsbx.a, started
 * with sbx_executor_set_sandbox_before_exec(e, false), so it runs under the mandatory rules
 * only until it calls sbx_client_sandbox_me_here. The mode is argv[1]:
 *
 *   tsync      start a thread, sandbox the process, then let that earlier thread call
 *              personality(0xffffffff), which the policy does not allow: the host must see a
 *              VIOLATION from the thread (seccomp's TSYNC). Prints "personality allowed" and
 *              exits 3 if the call went through.
 *   comms      take the fd the host mapped as "input", sandbox, then over comms: receive a
 *              string and answer with the input's text, send the read end of a new pipe and
 *              write into it, receive a uint32 and send it back plus one, send credentials.
 *   plain      (policy applied before exec, comms enabled) send "hello from a sandboxee".
 *   twice      sandbox twice; the host answers the second with a string, and the fail-closed
 *              sbx_client_sandbox_me_here must end the process with status 127.
 *   try_twice  the same with sbx_client_try_sandbox_me_here: exits with the status it returns.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sbx.h>

static int go[2], never[2];

static void put(const char *s) {
    size_t n = strlen(s);
    if (write(1, s, n) != (ssize_t)n) _exit(70);
}

static void *late_caller(void *arg) {
    char c;
    (void)arg;
    if (read(go[0], &c, 1) != 1) _exit(71);
    syscall(SYS_personality, 0xffffffffUL);
    put("personality allowed\n");
    syscall(SYS_exit_group, 3);
    return NULL;
}

static sbx_comms *client(void) {
    sbx_comms *c = NULL;
    if (sbx_comms_client(&c, NULL) != SBX_STATUS_OK) _exit(72);
    return c;
}

static int tsync(void) {
    pthread_t t;
    char c;
    sbx_comms *comms;
    if (pipe(go) != 0 || pipe(never) != 0) return 73;
    comms = client();
    if (pthread_create(&t, NULL, late_caller, NULL) != 0) return 74;
    sbx_client_sandbox_me_here(comms);
    if (write(go[1], "x", 1) != 1) return 75;
    /* Wait without futex (not allowed): the violation ends the sandbox. */
    if (read(never[0], &c, 1) != 1) return 76;
    return 77;
}

static int with_comms(void) {
    int input = sbx_client_mapped_fd("input"), p[2];
    char text[128], *question = NULL, answer[192];
    ssize_t n;
    uint32_t v = 0;
    sbx_comms *comms;
    if (input < 0) return 80;
    if (sbx_client_mapped_fd("input") != -1) return 81; /* taken once */
    comms = client();
    sbx_client_sandbox_me_here(comms);
    n = read(input, text, sizeof text - 1);
    if (n < 0) return 82;
    text[n] = 0;
    if (sbx_comms_recv_string(comms, &question, NULL, NULL) != SBX_STATUS_OK) return 83;
    if (strcmp(question, "question") != 0) return 84;
    sbx_string_free(question);
    strcpy(answer, "answer: ");
    strcat(answer, text);
    if (sbx_comms_send_string(comms, answer, NULL) != SBX_STATUS_OK) return 85;
    if (pipe(p) != 0) return 86;
    if (sbx_comms_send_fd(comms, p[0], NULL) != SBX_STATUS_OK) return 87;
    if (write(p[1], "written inside", 14) != 14) return 88;
    close(p[1]);
    close(p[0]);
    if (sbx_comms_recv_uint32(comms, &v, NULL) != SBX_STATUS_OK) return 89;
    if (sbx_comms_send_uint32(comms, v + 1, NULL) != SBX_STATUS_OK) return 90;
    if (sbx_comms_send_creds(comms, NULL) != SBX_STATUS_OK) return 91;
    sbx_comms_free(comms);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return 64;
    if (!strcmp(argv[1], "tsync")) return tsync();
    if (!strcmp(argv[1], "comms")) return with_comms();
    if (!strcmp(argv[1], "plain")) {
        sbx_comms *c = client();
        return sbx_comms_send_string(c, "hello from a sandboxee", NULL) == SBX_STATUS_OK ? 0 : 92;
    }
    if (!strcmp(argv[1], "twice")) {
        sbx_comms *c = client();
        sbx_client_sandbox_me_here(c);
        sbx_client_sandbox_me_here(c);
        put("went on unconfined\n");
        return 0;
    }
    if (!strcmp(argv[1], "try_twice")) {
        sbx_comms *c = client();
        sbx_status st = sbx_client_try_sandbox_me_here(c, NULL);
        if (st != SBX_STATUS_OK) return 93;
        return (int)sbx_client_try_sandbox_me_here(c, NULL);
    }
    return 64;
}
