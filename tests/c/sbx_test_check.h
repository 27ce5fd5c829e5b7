/* CHECK and CHECK_STATUS: the plain-C test programs' assertions. Each program is one
 * translation unit that includes this once and prints "NAME: N passed, M failed" at the end. */
#ifndef SBX_TEST_CHECK_H
#define SBX_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

#include "sbx.h"

static int passed, failed;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (cond) {                                                                  \
            passed++;                                                                \
        } else {                                                                     \
            failed++;                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

/* Checks that `call` returns `want`, and that the sbx_error it reports agrees. */
#define CHECK_STATUS(want, call)                                                            \
    do {                                                                                    \
        sbx_error *err_ = NULL;                                                             \
        sbx_error **e_ = &err_;                                                             \
        sbx_status got_ = (call);                                                           \
        if (got_ != (want)) {                                                               \
            failed++;                                                                       \
            fprintf(stderr, "%s:%d: %s returned %u (%s), want %u: %s\n", __FILE__, __LINE__, \
                    #call, (unsigned)got_, sbx_status_message(got_), (unsigned)(want),      \
                    err_ ? sbx_error_message(err_) : "(no error)");                         \
        } else if ((want) == SBX_STATUS_OK && err_ != NULL) {                               \
            failed++;                                                                       \
            fprintf(stderr, "%s:%d: err_out written on success\n", __FILE__, __LINE__);     \
        } else if ((want) != SBX_STATUS_OK &&                                               \
                   (err_ == NULL || sbx_error_code(err_) != (want) ||                       \
                    strlen(sbx_error_message(err_)) == 0)) {                                \
            failed++;                                                                       \
            fprintf(stderr, "%s:%d: bad sbx_error for %s\n", __FILE__, __LINE__, #call);    \
        } else {                                                                            \
            passed++;                                                                       \
        }                                                                                   \
        (void)e_;                                                                           \
        sbx_error_free(err_);                                                               \
    } while (0)

/* The error-out parameter inside CHECK_STATUS. */
#define ERR e_

#endif /* SBX_TEST_CHECK_H */
