/*
 * sbx_comms from plain C11, in one process (no sandbox is started, so this also runs under
 * Valgrind): every typed send and receive, the wire format, errors that consume one message
 * (tag mismatch, bad length, invalid value, bad custom tag) and errors that terminate the
 * channel (oversized message, closed peer), descriptor and credential passing, timeouts, the
 * sandboxee's sbx_comms_client and sbx_client_* functions that apply no policy, and NULLs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sbx.h"
#include "sbx_test_check.h"

/* Tags of sandbox2's wire format (comms.h), which libsbx shares. */
#define TAG_BOOL 0x80000001u
#define TAG_UINT32 0x80000007u
#define TAG_STRING 0x80000100u
#define TAG_BYTES 0x80000101u
#define TAG_POLICY 0x80000401u

/* Checks that `call` fails with SBX_STATUS_COMMS and the comms code `want`. */
#define CHECK_COMMS(want, call)                                                                 \
    do {                                                                                        \
        sbx_error *cerr_ = NULL;                                                                \
        sbx_status cst_ = (call);                                                               \
        if (cst_ != SBX_STATUS_COMMS || sbx_error_code(cerr_) != SBX_STATUS_COMMS ||            \
            sbx_error_comms_code(cerr_) != (want)) {                                            \
            failed++;                                                                           \
            fprintf(stderr, "%s:%d: %s gave status %u comms code %u, want comms code %u: %s\n", \
                    __FILE__, __LINE__, #call, (unsigned)cst_,                                  \
                    (unsigned)sbx_error_comms_code(cerr_), (unsigned)(want),                   \
                    cerr_ ? sbx_error_message(cerr_) : "(no error)");                          \
        } else {                                                                                \
            passed++;                                                                           \
        }                                                                                       \
        sbx_error_free(cerr_);                                                                  \
    } while (0)
#define CERR &cerr_

static void pair(sbx_comms **a, sbx_comms **b) {
    *a = *b = NULL;
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_pair(a, b, ERR));
    CHECK(*a != NULL && *b != NULL);
}

static void test_typed_round_trips(void) {
    sbx_comms *a, *b;
    bool vb = false;
    int8_t i8 = 0;
    uint8_t u8 = 0;
    int16_t i16 = 0;
    uint16_t u16 = 0;
    int32_t i32 = 0;
    uint32_t u32 = 0;
    int64_t i64 = 0;
    uint64_t u64 = 0;
    char *str = NULL;
    size_t len = 99;
    uint8_t *data = NULL;
    uint32_t tag = 0;
    static const char utf8[] = "gr\xc3\xbc\xc3\x9f dich, \xe2\x9c\x93";
    static const uint8_t raw[] = {0, 1, 2, 0xff, 0, 0x80};
    uint8_t *big;
    size_t i, big_len = 1u << 20;
    pid_t child;
    int wstatus = 0;

    pair(&a, &b);
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_bool(a, true, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_recv_bool(b, &vb, ERR));
    CHECK(vb == true);
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_bool(a, false, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_recv_bool(b, &vb, ERR));
    CHECK(vb == false);
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_int8(a, INT8_MIN, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_recv_int8(b, &i8, ERR));
    CHECK(i8 == INT8_MIN);
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_uint8(a, UINT8_MAX, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_recv_uint8(b, &u8, ERR));
    CHECK(u8 == UINT8_MAX);
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_int16(a, INT16_MIN, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_recv_int16(b, &i16, ERR));
    CHECK(i16 == INT16_MIN);
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_uint16(a, UINT16_MAX, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_recv_uint16(b, &u16, ERR));
    CHECK(u16 == UINT16_MAX);
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_int32(a, INT32_MIN, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_recv_int32(b, &i32, ERR));
    CHECK(i32 == INT32_MIN);
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_uint32(a, 0xdeadbeefu, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_recv_uint32(b, &u32, ERR));
    CHECK(u32 == 0xdeadbeefu);
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_int64(a, INT64_MIN, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_recv_int64(b, &i64, ERR));
    CHECK(i64 == INT64_MIN);
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_uint64(a, UINT64_MAX, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_recv_uint64(b, &u64, ERR));
    CHECK(u64 == UINT64_MAX);

    /* Strings: UTF-8, empty, with an embedded NUL (received whole, length given). */
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_string(b, utf8, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_recv_string(a, &str, &len, ERR));
    CHECK(str != NULL && strcmp(str, utf8) == 0 && len == strlen(utf8));
    sbx_string_free(str);
    str = NULL;
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_string(b, "", ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_recv_string(a, &str, NULL, ERR)); /* len_out optional */
    CHECK(str != NULL && str[0] == 0);
    sbx_string_free(str);
    str = NULL;
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_tlv(b, TAG_STRING, (const uint8_t *)"a\0b", 3, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_recv_string(a, &str, &len, ERR));
    CHECK(str != NULL && len == 3 && memcmp(str, "a\0b", 4) == 0);
    sbx_string_free(str);

    /* Bytes: binary, empty (a non-NULL buffer all the same), 1 MiB. */
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_bytes(a, raw, sizeof raw, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_recv_bytes(b, &data, &len, ERR));
    CHECK(data != NULL && len == sizeof raw && memcmp(data, raw, sizeof raw) == 0);
    sbx_bytes_free(data);
    data = NULL;
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_bytes(a, NULL, 0, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_recv_bytes(b, &data, &len, ERR));
    CHECK(data != NULL && len == 0);
    sbx_bytes_free(data);
    big = malloc(big_len);
    CHECK(big != NULL);
    for (i = 0; i < big_len; i++) big[i] = (uint8_t)(i * 7);
    /* More than a socket buffer holds: a child process sends while this one receives. */
    child = fork();
    if (child == 0) _exit(sbx_comms_send_bytes(a, big, big_len, NULL) == SBX_STATUS_OK ? 0 : 1);
    CHECK(child > 0);
    data = NULL;
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_recv_bytes(b, &data, &len, ERR));
    CHECK(data != NULL && len == big_len && memcmp(data, big, big_len) == 0);
    CHECK(waitpid(child, &wstatus, 0) == child && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
    sbx_bytes_free(data);
    free(big);

    /* Raw TLV with any tag, custom messages, barriers. */
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_tlv(a, 0x12345678u, raw, 2, ERR));
    data = NULL;
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_recv_tlv(b, &tag, &data, &len, ERR));
    CHECK(tag == 0x12345678u && len == 2 && data != NULL && data[0] == 0 && data[1] == 1);
    sbx_bytes_free(data);
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_custom(a, 42, raw, 3, ERR));
    data = NULL;
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_recv_custom(b, 42, &data, &len, ERR));
    CHECK(len == 3 && data != NULL && data[2] == 2);
    sbx_bytes_free(data);
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_barrier(b, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_recv_barrier(a, ERR));

    sbx_comms_free(a);
    sbx_comms_free(b);
}

static void test_errors_that_keep_the_channel(void) {
    sbx_comms *a, *b;
    int64_t i64 = 0;
    uint32_t u32 = 0;
    bool vb = false;
    char *str = NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    int fd = -1;
    static const uint8_t two = 2, bad_utf8 = 0xff;
    const char bad_str[] = {'x', (char)0xff, 0};

    pair(&a, &b);
    /* A typed receive of another type consumes the message and says so. */
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_uint32(a, 1, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_uint32(a, 2, ERR));
    CHECK_COMMS(SBX_COMMS_ERROR_TAG_MISMATCH, sbx_comms_recv_int64(b, &i64, CERR));
    CHECK(!sbx_comms_is_terminated(b));
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_recv_uint32(b, &u32, ERR));
    CHECK(u32 == 2);
    /* Right tag, wrong length. */
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_tlv(a, TAG_UINT32, (const uint8_t *)"abc", 3, ERR));
    CHECK_COMMS(SBX_COMMS_ERROR_BAD_LENGTH, sbx_comms_recv_uint32(b, &u32, CERR));
    /* Values that are not of their type. */
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_tlv(a, TAG_BOOL, &two, 1, ERR));
    CHECK_COMMS(SBX_COMMS_ERROR_INVALID_VALUE, sbx_comms_recv_bool(b, &vb, CERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_tlv(a, TAG_STRING, &bad_utf8, 1, ERR));
    CHECK_COMMS(SBX_COMMS_ERROR_INVALID_VALUE, sbx_comms_recv_string(b, &str, NULL, CERR));
    CHECK(str == NULL);
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_comms_send_string(a, bad_str, ERR)); /* not sent */
    /* Custom tags stay below 0x80000000; a custom message with another tag is a mismatch. */
    CHECK_COMMS(SBX_COMMS_ERROR_BAD_CUSTOM_TAG, sbx_comms_send_custom(a, 0x80000000u, NULL, 0, CERR));
    CHECK_COMMS(SBX_COMMS_ERROR_BAD_CUSTOM_TAG, sbx_comms_recv_custom(b, TAG_BYTES, &data, &len, CERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_custom(a, 1, NULL, 0, ERR));
    CHECK_COMMS(SBX_COMMS_ERROR_TAG_MISMATCH, sbx_comms_recv_custom(b, 2, &data, &len, CERR));
    CHECK(data == NULL);
    /* A descriptor receive of a plain message. */
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_uint32(a, 3, ERR));
    CHECK_COMMS(SBX_COMMS_ERROR_TAG_MISMATCH, sbx_comms_recv_fd(b, &fd, CERR));
    CHECK(fd == -1);
    /* NULL outputs are checked before anything is received: the message is still there. */
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_uint32(a, 4, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_recv_uint32(b, NULL, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_recv_bytes(b, &data, NULL, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_recv_tlv(b, NULL, &data, &len, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_recv_uint32(b, &u32, ERR));
    CHECK(u32 == 4);
    /* A receive timeout leaves the channel usable. */
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_set_timeout_ms(b, 50, ERR));
    CHECK_COMMS(SBX_COMMS_ERROR_TIMEOUT, sbx_comms_recv_uint32(b, &u32, CERR));
    CHECK(!sbx_comms_is_terminated(b));
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_set_timeout_ms(b, 0, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_uint32(a, 5, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_recv_uint32(b, &u32, ERR));
    CHECK(u32 == 5);
    sbx_comms_free(a);
    sbx_comms_free(b);
}

static void test_errors_that_end_the_channel(void) {
    sbx_comms *a, *b;
    uint8_t *data = NULL;
    size_t len = 0;
    uint32_t u32 = 0;
    static const uint8_t seventeen[17] = {0};

    /* A message above the receiver's limit: refused unread, and the channel is terminated. */
    pair(&a, &b);
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_set_max_message_size(b, 16, ERR));
    CHECK(sbx_comms_max_message_size(b) == 16);
    CHECK(sbx_comms_max_message_size(a) == 64u << 20);
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_bytes(a, seventeen, sizeof seventeen, ERR));
    CHECK_COMMS(SBX_COMMS_ERROR_TOO_LARGE, sbx_comms_recv_bytes(b, &data, &len, CERR));
    CHECK(data == NULL);
    CHECK(sbx_comms_is_terminated(b));
    CHECK(sbx_comms_fd(b) == -1);
    CHECK_COMMS(SBX_COMMS_ERROR_CLOSED, sbx_comms_send_uint32(b, 1, CERR));
    /* ... and the peer sees the end of the stream. */
    CHECK_COMMS(SBX_COMMS_ERROR_CLOSED, sbx_comms_recv_uint32(a, &u32, CERR));
    sbx_comms_free(a);
    sbx_comms_free(b);

    /* A peer that goes away: what it sent still arrives, then CLOSED; sends fail (no SIGPIPE). */
    pair(&a, &b);
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_uint32(a, 7, ERR));
    sbx_comms_free(a);
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_recv_uint32(b, &u32, ERR));
    CHECK(u32 == 7);
    CHECK_COMMS(SBX_COMMS_ERROR_CLOSED, sbx_comms_recv_uint32(b, &u32, CERR));
    CHECK_COMMS(SBX_COMMS_ERROR_CLOSED, sbx_comms_send_uint32(b, 1, CERR));
    CHECK(sbx_comms_is_terminated(b));
    sbx_comms_free(b);

    /* A peer that dies mid-message. */
    pair(&a, &b);
    {
        /* Header {BYTES, 100} and 10 of the 100 bytes, then the end. */
        uint8_t header[12];
        uint32_t t = TAG_BYTES;
        uint64_t l = 100;
        int raw = sbx_comms_fd(a);
        memcpy(header, &t, 4);
        memcpy(header + 4, &l, 8);
        CHECK(write(raw, header, sizeof header) == (ssize_t)sizeof header);
        CHECK(write(raw, seventeen, 10) == 10);
    }
    sbx_comms_free(a);
    CHECK_COMMS(SBX_COMMS_ERROR_TRUNCATED, sbx_comms_recv_bytes(b, &data, &len, CERR));
    CHECK(sbx_comms_is_terminated(b));
    sbx_comms_free(b);

    /* terminate: a local close. */
    pair(&a, &b);
    CHECK(sbx_comms_fd(a) >= 0);
    CHECK(sbx_comms_terminate(a) == SBX_STATUS_OK);
    CHECK(sbx_comms_is_terminated(a));
    CHECK(sbx_comms_fd(a) == -1);
    CHECK_COMMS(SBX_COMMS_ERROR_CLOSED, sbx_comms_send_uint32(a, 1, CERR));
    CHECK_COMMS(SBX_COMMS_ERROR_CLOSED, sbx_comms_set_timeout_ms(a, 10, CERR));
    CHECK_COMMS(SBX_COMMS_ERROR_CLOSED, sbx_comms_recv_uint32(b, &u32, CERR));
    sbx_comms_free(a);
    sbx_comms_free(b);
}

static void test_fds_and_creds(void) {
    sbx_comms *a, *b;
    int p[2], fd = -1;
    char buf[16] = {0};
    sbx_creds creds;

    pair(&a, &b);
    /* Send a pipe's write end; the receiver owns a new descriptor (close-on-exec). */
    CHECK(pipe(p) == 0);
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_fd(a, p[1], ERR));
    CHECK(close(p[1]) == 0); /* the sender keeps and closes its own */
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_recv_fd(b, &fd, ERR));
    CHECK(fd >= 0);
    CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    CHECK(write(fd, "via fd", 6) == 6);
    CHECK(close(fd) == 0);
    CHECK(read(p[0], buf, sizeof buf) == 6 && memcmp(buf, "via fd", 6) == 0);
    CHECK(close(p[0]) == 0);
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_comms_send_fd(a, -1, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_comms_send_fd(a, 999, ERR));

    /* Credentials, as the kernel attaches them: this very process on both ends. */
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_creds(a, ERR));
    memset(&creds, 0, sizeof creds);
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_recv_creds(b, &creds, ERR));
    CHECK(creds.pid == getpid() && creds.uid == getuid() && creds.gid == getgid());
    memset(&creds, 0, sizeof creds);
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_peer_creds(b, &creds, ERR));
    CHECK(creds.pid == getpid() && creds.uid == getuid());
    /* Without SO_PASSCRED the receiver gets no credentials. */
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_set_pass_creds(b, false, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_creds(a, ERR));
    CHECK_COMMS(SBX_COMMS_ERROR_NO_CREDENTIALS, sbx_comms_recv_creds(b, &creds, CERR));
    CHECK(!sbx_comms_is_terminated(b));
    sbx_comms_free(a);
    sbx_comms_free(b);
}

static void test_from_fd_and_wire_format(void) {
    int sv[2];
    sbx_comms *c = NULL;
    uint8_t frame[16];
    uint32_t tag, value;
    uint64_t len;

    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_from_fd(sv[0], &c, ERR));
    CHECK(close(sv[0]) == 0); /* the channel holds a duplicate */
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_uint32(c, 0x01020304u, ERR));
    /* sandbox2's frame: {uint32 tag; uint64 len} packed, native byte order, then the value. */
    CHECK(read(sv[1], frame, sizeof frame) == (ssize_t)sizeof frame);
    memcpy(&tag, frame, 4);
    memcpy(&len, frame + 4, 8);
    memcpy(&value, frame + 12, 4);
    CHECK(tag == TAG_UINT32 && len == 4 && value == 0x01020304u);
    sbx_comms_free(c);
    CHECK(close(sv[1]) == 0);

    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_comms_from_fd(-1, &c, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_comms_from_fd(999, &c, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_from_fd(0, NULL, ERR));
}

/* The sandboxee's entry points, where they apply no policy. */
static void test_client_side(void) {
    sbx_comms *host, *me, *c = NULL;
    int sv[2], p[2];
    char num[32];
    uint32_t u32 = 0;
    sbx_sock_filter prog[4];
    size_t count = 0;
    /* BPF_RET|BPF_K SECCOMP_RET_ALLOW and BPF_LD|BPF_W|BPF_ABS 0, in struct sock_filter layout. */
    static const uint8_t two_insns[16] = {0x06, 0, 0, 0, 0, 0, 0xff, 0x7f, 0x20, 0, 0, 0, 0, 0, 0, 0};

    /* sbx_comms_client: the variable is checked, then the descriptor, then claimed once. */
    CHECK(setenv("SBX_COMMS_FD", "not-a-number", 1) == 0);
    CHECK_COMMS(SBX_COMMS_ERROR_INVALID_FD, sbx_comms_client(&c, CERR));
    CHECK(getenv("SBX_COMMS_FD") == NULL); /* removed after reading */
    CHECK(pipe(p) == 0);
    snprintf(num, sizeof num, "%d", p[0]);
    CHECK(setenv("SBX_COMMS_FD", num, 1) == 0);
    CHECK_COMMS(SBX_COMMS_ERROR_INVALID_FD, sbx_comms_client(&c, CERR)); /* not a socket */
    close(p[0]);
    close(p[1]);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    snprintf(num, sizeof num, "%d", sv[0]);
    CHECK(setenv("SANDBOX2_COMMS_FD", num, 1) == 0); /* sandbox2's name works too */
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_client(NULL, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_client(&c, ERR));
    CHECK(c != NULL && sbx_comms_fd(c) == sv[0]); /* the descriptor itself, now owned by c */
    CHECK(setenv("SBX_COMMS_FD", num, 1) == 0);
    me = NULL;
    CHECK_COMMS(SBX_COMMS_ERROR_INVALID_FD, sbx_comms_client(&me, CERR)); /* claimed once */
    CHECK(me == NULL);
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_from_fd(sv[1], &host, ERR));
    close(sv[1]);
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_uint32(host, 11, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_recv_uint32(c, &u32, ERR));
    CHECK(u32 == 11);

    /* try_sandbox_me_here refuses what is not a policy, and applies nothing. */
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_client_try_sandbox_me_here(NULL, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_string(host, "not a policy", ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_POLICY, sbx_client_try_sandbox_me_here(c, ERR));
    CHECK_STATUS(SBX_STATUS_OK, sbx_comms_send_tlv(host, TAG_POLICY, two_insns, 7, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_POLICY, sbx_client_try_sandbox_me_here(c, ERR));
    sbx_comms_free(host);
    CHECK_COMMS(SBX_COMMS_ERROR_CLOSED, sbx_client_try_sandbox_me_here(c, CERR));
    sbx_comms_free(c);

    /* decode_policy: the same checks, as a pure function. */
    CHECK_STATUS(SBX_STATUS_OK, sbx_client_decode_policy(TAG_POLICY, two_insns, 16, prog, 4, &count, ERR));
    CHECK(count == 2 && prog[0].code == 0x06 && prog[0].k == 0x7fff0000u && prog[1].code == 0x20);
    count = 99;
    CHECK_STATUS(SBX_STATUS_INVALID_POLICY, sbx_client_decode_policy(TAG_BYTES, two_insns, 16, prog, 4, &count, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_POLICY, sbx_client_decode_policy(TAG_POLICY, two_insns, 15, prog, 4, &count, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_POLICY, sbx_client_decode_policy(TAG_POLICY, NULL, 0, prog, 4, &count, ERR));
    CHECK_STATUS(SBX_STATUS_INVALID_ARGUMENT, sbx_client_decode_policy(TAG_POLICY, two_insns, 16, prog, 1, &count, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_client_decode_policy(TAG_POLICY, two_insns, 16, NULL, 4, &count, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_client_decode_policy(TAG_POLICY, two_insns, 16, prog, 4, NULL, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_client_decode_policy(TAG_POLICY, NULL, 16, prog, 4, &count, ERR));
    CHECK(count == 99); /* written only on success */

    /* mapped_fd: names from SBX_FD_MAPPINGS, read on first use, each taken once. */
    CHECK(pipe(p) == 0);
    snprintf(num, sizeof num, "input=%d,other=999", p[0]);
    CHECK(setenv("SBX_FD_MAPPINGS", num, 1) == 0);
    CHECK(sbx_client_mapped_fd(NULL) == -1);
    CHECK(sbx_client_mapped_fd("missing") == -1);
    CHECK(sbx_client_mapped_fd("other") == -1); /* not open */
    CHECK(sbx_client_mapped_fd("input") == p[0]);
    CHECK(sbx_client_mapped_fd("input") == -1);
    close(p[0]);
    close(p[1]);
}

static void test_null_handles(void) {
    sbx_comms *a = NULL;
    uint8_t *data = NULL;
    char *str = NULL;
    size_t len = 0;
    uint32_t tag = 0, u32 = 0;
    bool vb;
    int8_t i8;
    uint8_t u8;
    int16_t i16;
    uint16_t u16;
    int32_t i32, fd;
    int64_t i64;
    uint64_t u64;
    sbx_creds creds;

    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_pair(NULL, &a, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_pair(&a, NULL, ERR));
    CHECK(a == NULL);
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_set_max_message_size(NULL, 1, ERR));
    CHECK(sbx_comms_max_message_size(NULL) == 0);
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_set_timeout_ms(NULL, 1, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_set_pass_creds(NULL, true, ERR));
    CHECK(!sbx_comms_is_terminated(NULL));
    CHECK(sbx_comms_terminate(NULL) == SBX_STATUS_NULL_PARAMETER);
    CHECK(sbx_comms_fd(NULL) == -1);
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_peer_creds(NULL, &creds, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_send_tlv(NULL, 1, NULL, 0, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_recv_tlv(NULL, &tag, &data, &len, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_send_custom(NULL, 1, NULL, 0, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_recv_custom(NULL, 1, &data, &len, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_send_bool(NULL, true, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_recv_bool(NULL, &vb, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_send_int8(NULL, 0, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_recv_int8(NULL, &i8, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_send_uint8(NULL, 0, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_recv_uint8(NULL, &u8, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_send_int16(NULL, 0, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_recv_int16(NULL, &i16, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_send_uint16(NULL, 0, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_recv_uint16(NULL, &u16, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_send_int32(NULL, 0, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_recv_int32(NULL, &i32, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_send_uint32(NULL, 0, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_recv_uint32(NULL, &u32, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_send_int64(NULL, 0, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_recv_int64(NULL, &i64, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_send_uint64(NULL, 0, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_recv_uint64(NULL, &u64, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_send_string(NULL, "x", ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_recv_string(NULL, &str, &len, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_send_bytes(NULL, NULL, 0, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_recv_bytes(NULL, &data, &len, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_send_barrier(NULL, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_recv_barrier(NULL, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_send_fd(NULL, 0, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_recv_fd(NULL, &fd, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_send_creds(NULL, ERR));
    CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_recv_creds(NULL, &creds, ERR));
    CHECK(data == NULL && str == NULL);
    sbx_comms_free(NULL);
    sbx_bytes_free(NULL);
    sbx_string_free(NULL);

    /* NULL data with a length, NULL strings, NULL outputs on a live channel. */
    {
        sbx_comms *x, *y;
        pair(&x, &y);
        CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_send_bytes(x, NULL, 1, ERR));
        CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_send_tlv(x, 1, NULL, 1, ERR));
        CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_send_custom(x, 1, NULL, 1, ERR));
        CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_send_string(x, NULL, ERR));
        CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_recv_string(y, NULL, &len, ERR));
        CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_recv_creds(y, NULL, ERR));
        CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_recv_fd(y, NULL, ERR));
        CHECK_STATUS(SBX_STATUS_NULL_PARAMETER, sbx_comms_peer_creds(y, NULL, ERR));
        sbx_comms_free(x);
        sbx_comms_free(y);
    }
}

int main(void) {
    test_typed_round_trips();
    test_errors_that_keep_the_channel();
    test_errors_that_end_the_channel();
    test_fds_and_creds();
    test_from_fd_and_wire_format();
    test_client_side();
    test_null_handles();
    printf("test_comms: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
