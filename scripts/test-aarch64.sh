#!/usr/bin/env bash
# The aarch64 cross check (issue 15 item 4), on an x86-64 host, without an aarch64 kernel:
#   1. cargo build --target aarch64-unknown-linux-gnu --lib --bins (the crate, libsbx.so,
#      libsbx.a, sbx-run), and sbx-run --version under qemu-aarch64-static;
#   2. the init image (src/spawn/init_image.rs): the assembly listings of its doc comment
#      assemble to the bytes it embeds (AArch64, and x86-64 when `as` is here), and, as root, each
#      runs as pid 1 of a pid namespace whose pid 2 exits 7: 'E', then the wait status 0x700 on
#      fd 3, then exit 0 (AArch64 under qemu-aarch64-static, x86-64 natively);
#   3. the library's unit tests under qemu-user (SBX_UNDER_QEMU=1 makes the ones qemu-user
#      cannot host skip, each printing "skipped under qemu-user: <why>");
#   4. C: tests/c/test_api.c compiled for aarch64 against include/sbx.h, linked statically
#      (libsbx.a) and dynamically (libsbx.so), both run under qemu with SBX_TEST_NO_SPAWN=1;
#   5. Go: go build ./... and go vet ./... for GOARCH=arm64 against the aarch64 library (through
#      pkg-config files written here), and the test binary (sbxstatic) run under qemu for the
#      tests that start no sandbox.
# No sandbox is started: qemu-user emulates neither seccomp filters nor ptrace nor CLONE_VM.
#
# Tools: qemu-user-static, binutils-aarch64-linux-gnu, and a C compiler for aarch64:
# gcc-aarch64-linux-gnu, or clang with Debian's arm64 cross libc/libgcc when gcc-multilib is
# installed (Debian's gcc-multilib and gcc cross compilers exclude each other, and test-all.sh
# needs gcc-multilib). Installed with apt-get when run as root; apt is never allowed to remove a
# package. Without them the script says why (its last line) and exits 0, skipped.
#
# Usage: scripts/test-aarch64.sh [--probe]
#   --probe  only get the tools; exit 0 when all are here, else 1 with the reason as last line
#            (test-all.sh skips the suite then).
# Environment: CARGO (default cargo), CARGO_TARGET_DIR (default <repo>/target), GO (default go).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)
cargo=${CARGO:-cargo}
gobin=${GO:-go}
target_dir=${CARGO_TARGET_DIR:-$repo/target}
mkdir -p "$target_dir"
target_dir=$(cd "$target_dir" && pwd)
triple=aarch64-unknown-linux-gnu
sysroot=/usr/aarch64-linux-gnu
out=$target_dir/$triple/debug
work=$target_dir/$triple/test-aarch64
mkdir -p "$work"

probe=0
case ${1:-} in
    --probe) probe=1 ;;
    "") ;;
    *) echo "usage: $0 [--probe]" >&2; exit 2 ;;
esac
skipped() {
    echo "test-aarch64: SKIPPED: $*"
    exit "$probe"
}

# --- 0. Tools --------------------------------------------------------------------------------
have() { command -v "$1" >/dev/null 2>&1; }
apt_install() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-remove "$@" >/dev/null 2>&1 || {
        apt-get update -qq >/dev/null 2>&1
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-remove "$@" >/dev/null 2>&1
    }
}
if [[ $(id -u) == 0 ]] && have apt-get; then
    have qemu-aarch64-static || apt_install qemu-user-static
    have aarch64-linux-gnu-as || apt_install binutils-aarch64-linux-gnu
    multilib=$(dpkg-query -W -f='${Status}' gcc-multilib 2>/dev/null | grep -c 'ok installed')
    if ! have aarch64-linux-gnu-gcc && { ((multilib)) || ! apt_install gcc-aarch64-linux-gnu; }; then
        echo "test-aarch64: no gcc-aarch64-linux-gnu (it cannot sit beside gcc-multilib); clang instead"
        have clang && [[ -f $sysroot/lib/crt1.o ]] ||
            apt_install clang libc6-dev-arm64-cross libgcc-12-dev-arm64-cross
    fi
fi
if ! rustup target list --installed 2>/dev/null | grep -qx "$triple"; then
    rustup target add "$triple" >/dev/null 2>&1 || skipped "no Rust target $triple (rustup target add $triple)"
fi
have qemu-aarch64-static || skipped "no qemu-aarch64-static (Debian: qemu-user-static)"
have aarch64-linux-gnu-as || skipped "no aarch64-linux-gnu-as (Debian: binutils-aarch64-linux-gnu)"
if have aarch64-linux-gnu-gcc; then
    cc=aarch64-linux-gnu-gcc
elif have clang && [[ -f $sysroot/lib/crt1.o ]]; then
    cc=$work/clang-aarch64
    printf '#!/bin/sh\nexec clang --target=aarch64-linux-gnu "$@"\n' >"$cc"
    chmod +x "$cc"
else
    skipped "no C compiler for aarch64 (Debian: gcc-aarch64-linux-gnu, or clang + libc6-dev-arm64-cross)"
fi
qemu=(qemu-aarch64-static -L "$sysroot")
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=$cc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64-static -L $sysroot"
echo "test-aarch64: C compiler $cc ($("$cc" --version | head -n 1))"
if ((probe)); then
    echo "test-aarch64: tools ready"
    exit 0
fi

passed=0
failed=0
declare -a failures=() notes=()
ok() {
    passed=$((passed + 1))
    echo "test-aarch64: ok   $1"
}
bad() {
    failed=$((failed + 1))
    failures+=("$1")
    echo "test-aarch64: FAIL $1"
}
# check DESCRIPTION COMMAND...: runs the command, records the outcome and its time.
check() {
    local what=$1 start=$SECONDS
    shift
    echo
    echo "=== $what: $* ==="
    if "$@"; then ok "$what ($((SECONDS - start))s)"; else bad "$what ($((SECONDS - start))s)"; fi
}

# --- 1. The crate ----------------------------------------------------------------------------
check "cargo build --target $triple --lib --bins" \
    "$cargo" build --target "$triple" --lib --bins --manifest-path "$repo/Cargo.toml"
check "sbx-run --version under qemu" "${qemu[@]}" "$out/sbx-run" --version
# The static sbx-run of scripts/build-cli.sh is built against musl: the crate must compile there
# too (its C-library differences are in src/sys/mod.rs). A type check, where rustup has it.
musl="aarch64-unknown-linux-musl"
if rustup target list --installed 2>/dev/null | grep -qx "$musl" || rustup target add "$musl" >/dev/null 2>&1; then
    check "cargo check --target $musl --lib --bins" \
        "$cargo" check --target "$musl" --lib --bins --manifest-path "$repo/Cargo.toml"
else
    notes+=("cargo check --target $musl: skipped (no Rust target $musl)")
fi

# --- 2. The init image -----------------------------------------------------------------------
src=$repo/src/spawn/init_image.rs
# listing N: the Nth ```text block of the module's doc comment (1, 2: x86-64; 3, 4: AArch64).
listing() {
    awk -v want="$1" '/^\/\/! ```text$/ { n++; inside = (n == want); next }
        /^\/\/! ```$/ { inside = 0 } inside { sub(/^\/\/! ?/, ""); print }' "$src"
}
# embedded NAME FIELD: the bytes of `const NAME: Codes`'s FIELD (code or unotify_code), as hex.
embedded() {
    awk -v name="$1" -v field="$2" '$0 ~ "^const " name ": Codes" { c = 1 }
        c && $1 == field ":" { f = 1; next } f && /\]/ { exit } f { print }' "$src" |
        grep -o '0x[0-9a-f][0-9a-f]' | sed 's/0x//' | tr -d '\n'
}
# assemble AS OBJCOPY N OUT: listing N as OUT.o, its code as hex on stdout.
assemble() {
    { echo '.globl _start'; echo '_start:'; listing "$3"; } >"$4.s"
    "$1" -o "$4.o" "$4.s" && "$2" -O binary -j .text "$4.o" "$4.bin" && od -An -v -tx1 "$4.bin" | tr -d ' \n'
}
same_bytes() { # ARCH AS OBJCOPY N CONST FIELD
    local got want
    got=$(assemble "$2" "$3" "$4" "$work/init-$1-$4") || return 1
    want=$(embedded "$5" "$6")
    [[ -n $want && $got == "$want" ]] || { echo "assembled: $got"; echo "embedded:  $want"; return 1; }
}
check "init image: AArch64 listings = embedded bytes" eval \
    'same_bytes a64 aarch64-linux-gnu-as aarch64-linux-gnu-objcopy 3 AARCH64 code &&
     same_bytes a64 aarch64-linux-gnu-as aarch64-linux-gnu-objcopy 4 AARCH64 unotify_code'
as64() { as --64 "$@"; }
if have as && have objcopy; then
    check "init image: x86-64 listings = embedded bytes" eval \
        'same_bytes x86 as64 objcopy 1 X86_64 code && same_bytes x86 as64 objcopy 2 X86_64 unotify_code'
fi
# As pid 1 with a pid 2 that exits 7: 'E', the status 0x0700 (little-endian), exit 0.
as_pid1() { # LD OBJ [RUNNER...]
    local ld=$1 obj=$2 got
    shift 2
    "$ld" -static -o "$obj.elf" "$obj.o" || return 1
    # shellcheck disable=SC2016 # expanded by the inner shell
    got=$(unshare --pid --fork sh -c 'sh -c "sleep 0.2; exit 7" & exec "$@" 3>&1' sh "$@" "$obj.elf" |
        od -An -v -tx1 | tr -d ' \n')
    [[ $got == 4500070000 ]] || { echo "fd 3 got: $got, want 45 00070000"; return 1; }
}
if [[ $(id -u) == 0 ]] && have unshare; then
    check "init image (AArch64, qemu): pid 1 reports pid 2's status" \
        as_pid1 aarch64-linux-gnu-ld "$work/init-a64-4" "${qemu[@]}"
    if [[ -f $work/init-x86-2.o ]] && have ld; then
        check "init image (x86-64, native): pid 1 reports pid 2's status" as_pid1 ld "$work/init-x86-2"
    fi
else
    notes+=("init image as pid 1: skipped (needs root and unshare for a pid namespace)")
fi

# --- 3. Unit tests under qemu-user -----------------------------------------------------------
unit_log=$work/unit-tests.log
unit_tests() {
    SBX_UNDER_QEMU=1 "$cargo" test --target "$triple" --lib --manifest-path "$repo/Cargo.toml" \
        -- --nocapture --test-threads=2 >"$unit_log" 2>&1
    local rc=$?
    grep -E '^test result:|^failures:|^    [a-z_:]+$|panicked at' "$unit_log" | head -n 40
    return $rc
}
check "cargo test --target $triple --lib under qemu-user" unit_tests
unit_result=$(grep '^test result:' "$unit_log" | tail -n 1)
unit_skips=$(grep -c '^skipped under qemu-user:' "$unit_log")
notes+=("unit tests under qemu-user: ${unit_result#test result: }; of the passed, $unit_skips returned early (skipped under qemu-user):")
while IFS= read -r why; do notes+=("    $why"); done < <(grep '^skipped under qemu-user:' "$unit_log" | sort | uniq -c)
while IFS= read -r why; do notes+=("    partly: $why"); done < <(grep '^skipped: the .* images' "$unit_log" | sort -u)

# --- 4. C ------------------------------------------------------------------------------------
c_flags=(-std=c11 -Wall -Wextra -Wpedantic -Werror -I"$repo/include" -I"$repo/tests/c" -DSBX_TESTEE='"/bin/true"')
c_libs=(-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc)
c_static() {
    "$cc" "${c_flags[@]}" "$repo/tests/c/test_api.c" "$out/libsbx.a" "${c_libs[@]}" -o "$work/test_api_static" &&
        SBX_TEST_NO_SPAWN=1 "${qemu[@]}" "$work/test_api_static" | tail -n 1
}
c_dynamic() {
    "$cc" "${c_flags[@]}" "$repo/tests/c/test_api.c" -L"$out" -lsbx -Wl,-rpath,"$out" -o "$work/test_api_dynamic" &&
        SBX_TEST_NO_SPAWN=1 "${qemu[@]}" "$work/test_api_dynamic" | tail -n 1
}
check "C: test_api.c with libsbx.a under qemu (SBX_TEST_NO_SPAWN=1)" c_static
check "C: test_api.c with libsbx.so under qemu (SBX_TEST_NO_SPAWN=1)" c_dynamic

# --- 5. Go -----------------------------------------------------------------------------------
if have "$gobin" && have pkg-config; then
    gosbx=$work/go-sbx
    mkdir -p "$gosbx/lib" "$gosbx/pkgconfig"
    ln -sfn "$out/libsbx.so" "$gosbx/lib/libsbx.so.0"
    ln -sfn libsbx.so.0 "$gosbx/lib/libsbx.so"
    cat >"$gosbx/pkgconfig/sbx.pc" <<EOF
# libsbx for aarch64 from the build tree $repo (written by scripts/test-aarch64.sh).
libdir=$gosbx/lib
includedir=$repo/include

Name: sbx
Description: libsbx (aarch64 build tree)
Version: 0
Libs: -L\${libdir} -lsbx -Wl,-rpath,\${libdir}
Cflags: -I\${includedir}
EOF
    cat >"$gosbx/pkgconfig/sbx-static.pc" <<EOF
# libsbx.a for aarch64 from the build tree $repo (written by scripts/test-aarch64.sh).
includedir=$repo/include

Name: sbx-static
Description: libsbx as a static library (aarch64 build tree)
Version: 0
Libs: $out/libsbx.a ${c_libs[*]}
Cflags: -I\${includedir}
EOF
    # The Go tests that start no sandbox (policies, builders, errors, versions).
    go_pure='^(TestVersion.*|TestEmptyPolicy|TestToolPolicyAllowsExec|TestPolicyRulesDecide|TestDefaultActionAllow|TestUnknownSyscallName|TestBuilder.*|TestPolicyLifecycle|TestPolicyConcurrentUseAndClose|TestGroupAndActionStrings|TestError.*|TestResultErrTypes|TestStatusNames|TestCommsErrorMatchesItsSentinelOnly)$'
    go_arm() {
        (cd "$repo/go" && env PKG_CONFIG_PATH="$gosbx/pkgconfig" CGO_ENABLED=1 GOOS=linux GOARCH=arm64 CC="$cc" "$@")
    }
    go_pure_tests() {
        go_arm "$gobin" test -c -tags sbxstatic -o "$work/sbx-go.test" . || return 1
        (cd "$repo/go" && "${qemu[@]}" "$work/sbx-go.test" -test.run "$go_pure" -test.v >"$work/go-tests.log" 2>&1)
        local rc=$?
        grep -E '^(--- FAIL|FAIL|ok|PASS)' "$work/go-tests.log"
        go_passed=$(grep -c '^--- PASS' "$work/go-tests.log")
        notes+=("Go tests under qemu (sbxstatic, no sandbox): $go_passed passed")
        return $rc
    }
    check "Go: go build ./... (GOARCH=arm64)" go_arm "$gobin" build ./...
    check "Go: go vet ./... (GOARCH=arm64)" go_arm "$gobin" vet ./...
    check "Go: the no-sandbox tests (sbxstatic) under qemu" go_pure_tests
else
    notes+=("Go: skipped (no $gobin or no pkg-config)")
fi

echo
echo "=== test-aarch64 summary ==="
printf '  %s\n' "${notes[@]}"
for f in "${failures[@]}"; do echo "  FAILED: $f"; done
echo "test-aarch64: $passed passed, $failed failed"
((failed == 0))
