/* sbx.h compiles as C11 with -Wall -Wextra -Wpedantic -Werror, also when included twice, and
 * its version macros are usable in #if. */
#include "sbx.h"
#include "sbx.h"

#include <string.h>

#if SBX_VERSION_NUMBER != ((SBX_VERSION_MAJOR << 16) | (SBX_VERSION_MINOR << 8) | SBX_VERSION_PATCH)
#error "SBX_VERSION_NUMBER does not match its components"
#endif

int main(void) {
    sbx_status st = SBX_STATUS_OK;
    sbx_run_status rs = SBX_RUN_STATUS_OK;
    sbx_arg arg = {0, SBX_WIDTH_W32, SBX_CMP_EQ, 0, 0};
    sbx_usage usage;
    sbx_sock_filter insn = {0, 0, 0, 0};
    uint32_t enums[] = {SBX_GROUP_EXIT, SBX_ACTION_ALLOW, SBX_STDIO_NULL, SBX_LIMIT_CORE, SBX_CMP_MASKED_EQ};
    memset(&usage, 0, sizeof usage);
    (void)rs;
    (void)arg;
    (void)insn;
    (void)enums;
    return (int)st + (strcmp(sbx_version(), SBX_VERSION_STRING) != 0);
}
