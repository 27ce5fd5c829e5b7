// Second translation unit of header_cxx (see header_cxx_a.cc).
#include "sbx.h"
#include "sbx.h"

const char *version_from_other_unit() {
    sbx_policy_builder *b = sbx_policy_builder_new();
    sbx_policy_builder_free(b);
    return sbx_version();
}
