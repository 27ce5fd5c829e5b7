#!/usr/bin/env bash
# check_exports.sh LIBSBX_SO SBX_H
# Fails when libsbx.so exports a symbol that does not start with sbx_, or when the functions it
# exports and the functions sbx.h declares differ.
set -euo pipefail
lib=$1
header=$2

exported=$(nm -D --defined-only "$lib" | awk 'NF >= 3 {print $3}' | sed 's/@.*//' | sort -u)
others=$(grep -v '^sbx_' <<<"$exported" || true)
if [[ -n $others ]]; then
    echo "check_exports: libsbx.so exports symbols outside the sbx_ namespace:" >&2
    echo "$others" >&2
    exit 1
fi

# Function declarations in the header: an identifier followed by '(' at the start of a
# declaration line (return type first), e.g. "sbx_status sbx_executor_new(".
declared=$(grep -oE '^[A-Za-z_][A-Za-z0-9_ *]*[ *](sbx_[a-z0-9_]+)\(' "$header" |
    grep -oE 'sbx_[a-z0-9_]+\($' | tr -d '(' | sort -u)
if [[ $declared != "$exported" ]]; then
    echo "check_exports: exported functions and sbx.h declarations differ (< header, > library):" >&2
    diff <(echo "$declared") <(echo "$exported") >&2 || true
    exit 1
fi
echo "check_exports: $(wc -l <<<"$exported") symbols, all sbx_*, all declared in sbx.h"
