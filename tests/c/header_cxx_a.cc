// sbx.h compiles as C++17 with -Wall -Wextra -Wpedantic -Werror, included twice in each of two
// translation units linked into one program (no duplicate definitions).
#include "sbx.h"
#include "sbx.h"

#include <cstdio>
#include <cstring>

const char *version_from_other_unit();

int main() {
    static_assert(sizeof(sbx_status) == 4, "sbx_status is a 32-bit enum");
    static_assert(SBX_STATUS_OK == 0, "success is 0");
    sbx_status st = SBX_STATUS_INVALID_ARGUMENT;
    if (std::strcmp(sbx_status_message(st), "invalid argument") != 0) return 1;
    if (std::strcmp(version_from_other_unit(), SBX_VERSION_STRING) != 0) return 2;
    if (sbx_version_number() != SBX_VERSION_NUMBER) return 3;
    std::printf("header_cxx: libsbx %s\n", sbx_version());
    return 0;
}
