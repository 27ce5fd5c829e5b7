#!/usr/bin/env bash
# The C ABI's test command:
#   1. the committed include/sbx.h equals a fresh one from the pinned cbindgen 0.29.4;
#   2. scripts/install.sh builds libsbx and installs it into a temporary prefix;
#   3. the installed package: soname and symlinks, pkg-config metadata;
#   4. CTest over tests/c (C and GoogleTest suites, the header as C11/C++17, exported symbols,
#      the whole API linked statically and under ASan/UBSan/LSan);
#   5. Valgrind (memcheck, leak check) over the plain C API test and the in-process comms test;
#   6. out-of-tree builds of the examples (static, cpp, crc4) with pkg-config and with CMake, each
#      linked dynamically and statically, and runs of them (the static example's sandboxee is a
#      static PIE whose code and heap move between runs).
# Installs missing system packages (cmake, g++, pkg-config, GoogleTest, Valgrind) when run as
# root. Runs every check even after a failure and ends with "test-c: N passed, M failed".
#
# Environment: CARGO (default cargo), CARGO_TARGET_DIR, SBX_TEST_KEEP=1 keeps the scratch dir.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)
cargo=${CARGO:-cargo}
target_dir=${CARGO_TARGET_DIR:-$repo/target}
cbindgen_version=0.29.4
cbindgen=$target_dir/tools/bin/cbindgen

passed=0
failed=0
failures=()

ok() {
    passed=$((passed + 1))
    echo "ok   $1"
}
bad() {
    failed=$((failed + 1))
    failures+=("$1")
    echo "FAIL $1"
}
# check DESCRIPTION COMMAND...: runs the command, records the outcome, never stops the script.
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}
die() {
    echo "test-c: $*" >&2
    exit 1
}

scratch=$(mktemp -d "${TMPDIR:-/tmp}/sbx-test-c.XXXXXX")
# Traversable by others: a root caller's sandboxee runs as an unprivileged host id of its own,
# and must reach the test programs built in here.
chmod 755 "$scratch"
cleanup() {
    if [[ ${SBX_TEST_KEEP:-0} == 1 ]]; then
        echo "test-c: kept $scratch"
    else
        rm -rf "$scratch"
    fi
}
trap cleanup EXIT

# --- System packages -------------------------------------------------------------------------
missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
command -v nm >/dev/null 2>&1 || missing+=(binutils)
[[ -f /usr/include/gtest/gtest.h ]] || missing+=(libgtest-dev)
[[ -f /usr/lib/x86_64-linux-gnu/libc.a || -f /usr/lib/aarch64-linux-gnu/libc.a || -f /usr/lib/libc.a ]] ||
    missing+=(libc6-dev)
if ((${#missing[@]})); then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "test-c: installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        if ! apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; then
            apt-get update -qq >/dev/null
            apt-get install -y -qq "${missing[@]}" >/dev/null
        fi
    else
        die "missing ${missing[*]}; install them (as root: apt-get install ${missing[*]})"
    fi
fi

# --- 1. Header -------------------------------------------------------------------------------
echo "=== header: include/sbx.h vs cbindgen $cbindgen_version ==="
if ! [[ -x $cbindgen ]] || [[ $("$cbindgen" --version 2>/dev/null) != "cbindgen $cbindgen_version" ]]; then
    echo "test-c: installing cbindgen $cbindgen_version into $target_dir/tools"
    "$cargo" install --locked cbindgen --version "$cbindgen_version" --root "$target_dir/tools" --force -q
fi
"$cbindgen" --quiet --config cbindgen.toml --output "$scratch/sbx.h" src/ffi/mod.rs
if diff -u include/sbx.h "$scratch/sbx.h" >"$scratch/header.diff"; then
    ok "include/sbx.h is what cbindgen $cbindgen_version generates"
else
    cat "$scratch/header.diff"
    bad "include/sbx.h is stale: regenerate with $cbindgen --config cbindgen.toml --output include/sbx.h src/ffi/mod.rs"
fi
# Every declaration of a function starts right below the end of its /** ... */ comment.
undocumented=$(awk '/^[A-Za-z].*[ *]sbx_[a-z0-9_]+\(/ && prev !~ /\*\/$/ { print } NF { prev = $0 }' include/sbx.h)
if [[ -z $undocumented ]]; then
    ok "every function in sbx.h has a comment"
else
    echo "$undocumented"
    bad "functions without a comment in sbx.h"
fi

# --- 2. Build and install --------------------------------------------------------------------
echo "=== install: scripts/install.sh --prefix $scratch/prefix ==="
prefix=$scratch/prefix
bash scripts/install.sh --prefix "$prefix" || die "scripts/install.sh failed"
version=$(awk -F'"' '/^\[/{pkg=($0=="[package]")} pkg && /^version *=/{print $2; exit}' Cargo.toml)
major=${version%%.*}

# --- 3. The installed package ----------------------------------------------------------------
echo "=== package ==="
lib=$prefix/lib
check "libsbx.so.$version is a file with soname libsbx.so.$major" \
    bash -c "[[ -f '$lib/libsbx.so.$version' && ! -L '$lib/libsbx.so.$version' ]] &&
             readelf -d '$lib/libsbx.so.$version' | grep -q 'SONAME.*\[libsbx.so.$major\]'"
check "libsbx.so -> libsbx.so.$major -> libsbx.so.$version" \
    bash -c "[[ \$(readlink '$lib/libsbx.so') == libsbx.so.$major && \$(readlink '$lib/libsbx.so.$major') == libsbx.so.$version ]]"
check "libsbx.a and sbx.h installed" test -f "$lib/libsbx.a" -a -f "$prefix/include/sbx.h"
export PKG_CONFIG_PATH=$lib/pkgconfig
check "pkg-config --modversion sbx is $version" bash -c "[[ \$(pkg-config --modversion sbx) == '$version' ]]"
check "pkg-config --static --libs sbx carries the system libraries" \
    bash -c "pkg-config --static --libs sbx | grep -q -- '-lpthread' && pkg-config --static --libs sbx | grep -q -- '-ldl'"
check "sbx-static.pc links libsbx.a" bash -c "pkg-config --libs sbx-static | grep -q 'libsbx.a'"
# Straight from the build tree: -L target/release -lsbx with an rpath finds the soname there.
printf '#include "sbx.h"\nint main(void){ return sbx_version() == 0; }\n' >"$scratch/tree.c"
check "a program linked from target/release runs (libsbx.so.$major beside libsbx.so)" \
    bash -c "gcc -I include '$scratch/tree.c' -L target/release -lsbx -Wl,-rpath,'$PWD/target/release' -o '$scratch/tree' && '$scratch/tree'"

# --- 4. CTest --------------------------------------------------------------------------------
echo "=== ctest: tests/c ==="
build=$scratch/build-tests
cmake -S tests/c -B "$build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Debug >"$scratch/cmake-tests.log" 2>&1 ||
    { cat "$scratch/cmake-tests.log"; die "configuring tests/c failed"; }
cmake --build "$build" -j "$(nproc)" >"$scratch/build-tests.log" 2>&1 ||
    { cat "$scratch/build-tests.log"; die "building tests/c failed"; }
if ctest --test-dir "$build" --output-on-failure -j "$(nproc)" --timeout 300 >"$scratch/ctest.log" 2>&1; then
    ctest_rc=0
else
    ctest_rc=$?
fi
# The sandbox and notify tests again under the ptrace monitor (the default, auto, is
# user-notify for namespaced sandboxes; sbx_test_cxx.h's Build() applies SBX_TEST_MONITOR).
if ! SBX_TEST_MONITOR=ptrace ctest --test-dir "$build" --output-on-failure -j "$(nproc)" --timeout 300 \
    -R '^(Sandbox|Notify)\.' >>"$scratch/ctest.log" 2>&1; then
    ctest_rc=1
fi
# Only the interesting part: failures and the summary (the full log is in the scratch dir).
grep -E '\*\*\*Failed|\*\*\*Timeout|Exception|tests passed|tests failed|Total Test time' "$scratch/ctest.log" || true
if ((ctest_rc != 0)); then
    sed -n '/The following tests FAILED/,$p' "$scratch/ctest.log"
    grep -B2 -A30 'Output from these tests' "$scratch/ctest.log" | head -200 || true
fi
ctest_total=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$scratch/ctest.log" | tail -n 1)
ctest_failed=$(sed -n 's/.*, \([0-9]*\) tests failed out of.*/\1/p' "$scratch/ctest.log" | tail -n 1)
ctest_total=${ctest_total:-0}
ctest_failed=${ctest_failed:-0}
if ((ctest_rc != 0 && ctest_failed == 0)); then
    ctest_failed=1 # ctest failed without a summary line
    failures+=("ctest (exit $ctest_rc)")
elif ((ctest_failed > 0)); then
    failures+=("ctest: $ctest_failed of $ctest_total tests")
fi
ctest_passed=$((ctest_total - ctest_failed))
((ctest_passed >= 0)) || ctest_passed=0

# --- 4b. The sandbox tests again as an unprivileged user -------------------------------------
# Users are usually not root. Every CTest program that starts sandboxes runs once more as
# uid/gid 65534 without capabilities (directly, not through ctest, which writes into the
# root-owned build directory). Only when started as root, where setpriv can switch.
if [[ $(id -u) == 0 ]] && command -v setpriv >/dev/null 2>&1; then
    echo "=== C sandbox tests as uid 65534 ==="
    chmod -R o+rX "$scratch"
    chmod o+x "$(dirname "$scratch")" 2>/dev/null || true
    unpriv_tmp=$(mktemp -d "${TMPDIR:-/tmp}/sbx-test-c-unpriv.XXXXXX")
    chmod 1777 "$unpriv_tmp"
    for t in test_api test_api_static test_handles test_sandbox test_notify test_client test_stacktrace; do
        if [[ -x "$build/$t" ]]; then
            check "$t as uid 65534" env -i PATH=/usr/bin:/bin TMPDIR="$unpriv_tmp" \
                setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
                bash -c "cd '$build' && ./$t >'$unpriv_tmp/$t.log' 2>&1 || { tail -30 '$unpriv_tmp/$t.log'; exit 1; }"
        else
            bad "$t as uid 65534 (not built)"
        fi
    done
    rm -rf "$unpriv_tmp"
fi

# --- 5. Valgrind -----------------------------------------------------------------------------
# libsbx starts sandboxees with clone(CLONE_VM) (no CLONE_VFORK/CLONE_THREAD), which Valgrind
# cannot emulate, so the run skips the parts that spawn (SBX_TEST_NO_SPAWN=1); those run under
# ASan/LSan in CTest (test_api_asan). As root it runs in a private PID namespace, so a Valgrind
# abort cannot disturb anything else.
echo "=== valgrind: test_api, test_comms, test_handles ==="
wrap=()
if [[ $(id -u) == 0 ]] && unshare --pid --fork --kill-child true 2>/dev/null; then
    wrap=(unshare --pid --fork --kill-child)
fi
# valgrind_check NAME: runs $build/NAME under memcheck and records the outcome.
valgrind_check() {
    local name=$1 rc
    local vg=(valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect,possible
        --errors-for-leak-kinds=definite,indirect,possible --suppressions="$repo/tests/c/valgrind.supp"
        --log-file="$scratch/valgrind-$name.log")
    if SBX_TEST_NO_SPAWN=1 timeout -k 10 300 "${wrap[@]}" "${vg[@]}" "$build/$name" >"$scratch/valgrind-$name.out" 2>&1; then
        rc=0
    else
        rc=$?
    fi
    tail -n 1 "$scratch/valgrind-$name.out"
    grep -E 'ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|Invalid' "$scratch/valgrind-$name.log" | sed 's/^==[0-9]*== *//' || true
    if ((rc == 0)) && grep -q 'ERROR SUMMARY: 0 errors' "$scratch/valgrind-$name.log"; then
        ok "valgrind $name: no invalid access, no leak"
    else
        cat "$scratch/valgrind-$name.log"
        bad "valgrind $name (exit $rc)"
    fi
}
valgrind_check test_api
valgrind_check test_comms
valgrind_check test_handles

# --- 6. Out-of-tree builds and examples --------------------------------------------------------
echo "=== examples: out of tree, pkg-config and CMake, dynamic and static ==="
needs_libsbx() { readelf -d "$1" | grep -q 'NEEDED.*libsbx\.so'; }
# static_pie BINARY: an ELF of type ET_DYN without a PT_INTERP (a static PIE, not a plain
# static executable, ET_EXEC, nor a dynamically linked PIE, which has an interpreter).
static_pie() {
    readelf -h "$1" | grep -Eq 'Type:[[:space:]]+DYN' && ! readelf -l "$1" | grep -q INTERP
}
# aslr_differs HOST: two --addresses runs report another main and another heap block.
aslr_differs() {
    local a b
    a=$("$1" --addresses | grep -E '^(main|heap) 0x') || return 1
    b=$("$1" --addresses | grep -E '^(main|heap) 0x') || return 1
    echo "$a" | paste -sd' ' -; echo "$b" | paste -sd' ' -
    [[ $(grep -c . <<<"$a") == 2 ]] &&
        [[ $(grep '^main' <<<"$a") != $(grep '^main' <<<"$b") ]] &&
        [[ $(grep '^heap' <<<"$a") != $(grep '^heap' <<<"$b") ]]
}
static_checks() { # static_checks DIR LINKAGE: runs the static example both ways
    local dir=$1 linkage=$2
    check "static example ($linkage): OK run" "$dir/static_host"
    check "static example ($linkage): write to fd 3 is a violation" "$dir/static_host" --misbehave
    check "static example ($linkage): static_bin is a static PIE" static_pie "$dir/static_bin"
    check "static example ($linkage): its main and heap move between runs" aslr_differs "$dir/static_host"
    if [[ $linkage == *dynamic* ]]; then
        check "static example ($linkage): needs libsbx.so.$major" needs_libsbx "$dir/static_host"
    else
        check "static example ($linkage): does not need libsbx.so" bash -c "! readelf -d '$dir/static_host' | grep -q libsbx"
    fi
}

# pkg-config + make, dynamic (sbx.pc) and static (sbx-static.pc).
for pc in sbx sbx-static; do
    dir=$scratch/static-pkgconfig-$pc
    cp -r examples/static "$dir"
    if make -s -C "$dir" SBX_PC="$pc" >"$dir/build.log" 2>&1; then
        static_checks "$dir" "pkg-config $pc, $([[ $pc == sbx ]] && echo dynamic || echo static)"
    else
        cat "$dir/build.log"
        bad "static example: make with pkg-config $pc"
    fi
done
# pkg-config --static (Libs.private) with libsbx.a picked explicitly.
dir=$scratch/static-pkgconfig-private
cp -r examples/static "$dir"
if cc -O2 -Wall -Wextra -Werror -static-pie -o "$dir/static_bin" "$dir/static_bin.c" &&
    cc -O2 -Wall -Wextra -Werror $(pkg-config --cflags sbx) -DSTATIC_BIN_PATH="\"$dir/static_bin\"" \
        -o "$dir/static_host" "$dir/static_host.c" \
        $(pkg-config --static --libs sbx | sed 's/-lsbx\b/-l:libsbx.a/'); then
    static_checks "$dir" "pkg-config --static, static"
else
    bad "static example: cc with pkg-config --static --libs sbx"
fi

# CMake find_package(sbx), dynamic (sbx::sbx) and static (sbx::sbx_static), both examples.
for linkage in OFF ON; do
    kind=$([[ $linkage == ON ]] && echo static || echo dynamic)
    dir=$scratch/static-cmake-$kind
    if cmake -S examples/static -B "$dir" -DCMAKE_PREFIX_PATH="$prefix" -DSBX_LINK_STATIC=$linkage \
        >"$scratch/static-cmake-$kind.log" 2>&1 && cmake --build "$dir" >>"$scratch/static-cmake-$kind.log" 2>&1; then
        static_checks "$dir" "CMake sbx::$([[ $kind == static ]] && echo sbx_static || echo sbx), $kind"
    else
        cat "$scratch/static-cmake-$kind.log"
        bad "static example: CMake build ($kind)"
    fi

    dir=$scratch/cpp-cmake-$kind
    if cmake -S examples/cpp -B "$dir" -DCMAKE_PREFIX_PATH="$prefix" -DSBX_LINK_STATIC=$linkage \
        >"$scratch/cpp-cmake-$kind.log" 2>&1 && cmake --build "$dir" >>"$scratch/cpp-cmake-$kind.log" 2>&1; then
        run=$dir/run_with_timeout
        check "cpp example ($kind): echo runs and prints the result" \
            bash -c "out=\$('$run' --timeout-ms 10000 -- echo hello-from-cpp 2>/dev/null) &&
                     grep -q '^hello-from-cpp\$' <<<\"\$out\" && grep -q 'OK - exit code 0' <<<\"\$out\""
        check "cpp example ($kind): exit code passes through" \
            bash -c "'$run' -- sh -c 'exit 7' >/dev/null 2>&1; [[ \$? == 7 ]]"
        check "cpp example ($kind): time limit gives TIMEOUT and 124" \
            bash -c "out=\$('$run' --timeout-ms 300 -- sleep 10 2>/dev/null); rc=\$?; [[ \$rc == 124 ]] && grep -q TIMEOUT <<<\"\$out\""
        check "cpp example ($kind): --json result" \
            bash -c "'$run' --json -- true 2>/dev/null | grep -q '\"status\":\"OK\"'"
        if [[ $kind == dynamic ]]; then
            check "cpp example (dynamic): needs libsbx.so.$major" needs_libsbx "$run"
        else
            check "cpp example (static): does not need libsbx.so" bash -c "! readelf -d '$run' | grep -q libsbx"
        fi
    else
        cat "$scratch/cpp-cmake-$kind.log"
        bad "cpp example: CMake build ($kind)"
    fi
done
# The crc4 example: a sandbox-aware sandboxee (static, with libsbx.a) that computes CRC-32 over
# comms, and a memory bug that crashes only the sandboxee.
crc4_checks() { # crc4_checks DIR LINKAGE
    local dir=$1 linkage=$2
    check "crc4 example ($linkage): answers, then only the sandboxee dies of SIGSEGV" \
        bash -c "out=\$('$dir/crc4_host') && grep -q 'CRC-32(\"123456789\") = cbf43926 (correct)' <<<\"\$out\" &&
                 grep -q 'result: SIGNALED - signal 11 (SIGSEGV)' <<<\"\$out\" &&
                 grep -q 'the host is still running' <<<\"\$out\" && grep -q 'as expected' <<<\"\$out\""
    check "crc4 example ($linkage): --no-crash ends OK" \
        bash -c "'$dir/crc4_host' --no-crash | grep -q 'result: OK - exit code 0'"
    check "crc4 example ($linkage): crc4_bin is static" bash -c "! readelf -d '$dir/crc4_bin' | grep -q NEEDED"
}
for pc in sbx sbx-static; do
    dir=$scratch/crc4-pkgconfig-$pc
    cp -r examples/crc4 "$dir"
    if make -s -C "$dir" SBX_PC="$pc" >"$dir/build.log" 2>&1; then
        crc4_checks "$dir" "pkg-config $pc"
    else
        cat "$dir/build.log"
        bad "crc4 example: make with pkg-config $pc"
    fi
done
for linkage in OFF ON; do
    kind=$([[ $linkage == ON ]] && echo static || echo dynamic)
    dir=$scratch/crc4-cmake-$kind
    if cmake -S examples/crc4 -B "$dir" -DCMAKE_PREFIX_PATH="$prefix" -DSBX_LINK_STATIC=$linkage \
        >"$scratch/crc4-cmake-$kind.log" 2>&1 && cmake --build "$dir" >>"$scratch/crc4-cmake-$kind.log" 2>&1; then
        crc4_checks "$dir" "CMake, host $kind"
    else
        cat "$scratch/crc4-cmake-$kind.log"
        bad "crc4 example: CMake build ($kind)"
    fi
done

# The built examples show their output once, for the log.
echo "--- examples/static (CMake, static link):"
"$scratch/static-cmake-static/static_host" --misbehave || true
echo "--- examples/crc4 (CMake, dynamic):"
"$scratch/crc4-cmake-dynamic/crc4_host" || true
echo "--- examples/cpp: run_with_timeout --timeout-ms 2000 -- uname -s"
"$scratch/cpp-cmake-dynamic/run_with_timeout" --timeout-ms 2000 -- uname -s 2>/dev/null || true

# --- Summary -----------------------------------------------------------------------------------
echo
echo "=== summary ==="
grep -E 'tests passed|tests failed out of' "$scratch/ctest.log" | tail -n 1 || true
if ((${#failures[@]})); then
    printf '  failed: %s\n' "${failures[@]}"
fi
echo "test-c: $((passed + ctest_passed)) passed, $((failed + ctest_failed)) failed"
((failed + ctest_failed == 0))
