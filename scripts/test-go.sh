#!/usr/bin/env bash
# The Go package's test command (go/, module "sbx"):
#   1. builds libsbx (cargo build --release --lib) and writes build-tree pkg-config files,
#      <target>/go-sbx/pkgconfig/{sbx,sbx-static}.pc, whose Cflags point at include/ and whose
#      Libs point at target/release (with an rpath, so test binaries find libsbx.so.<major>);
#   2. gofmt check, go vet ./... (also with the sbxstatic and sbxgcstress tags);
#   3. go test -race -count=1 ./...;
#   4. go test -race -tags sbxgcstress (a GC before every C call through a handle);
#   5. the same tests compiled once (go test -c -race) and run as uid/gid 65534 through
#      setpriv, with no capabilities, and the crc4 example likewise (only when started as
#      root);
#   6. builds and runs every go/examples/* program, linked dynamically and (sbxstatic tag)
#      statically against the build tree, and checks the output of those that have a
#      check_example_<name> function below (crc4: the CRC-32 answers, the sandboxee's crash
#      contained, the host going on);
#   7. when scripts/install.sh is present: installs libsbx into a temporary prefix and builds
#      and runs the examples against that installed sbx.pc / sbx-static.pc, as users do.
# Prints go's own output (ok/FAIL lines), then a summary; exits non-zero when anything failed.
#
# Usage: scripts/test-go.sh [--setup-only]
#   --setup-only  only step 1, then print the PKG_CONFIG_PATH to export for working in go/
#                 by hand (go test ./..., go run ./examples/tightpolicy).
# Environment: CARGO (default cargo), CARGO_TARGET_DIR (default <repo>/target), GO (default
# go), SBX_UNPRIV_UID / SBX_UNPRIV_GID (default 65534), SBX_TEST_KEEP=1 keeps the scratch dir.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)
cargo=${CARGO:-cargo}
gobin=${GO:-go}
target_dir=${CARGO_TARGET_DIR:-$repo/target}
mkdir -p "$target_dir"
target_dir=$(cd "$target_dir" && pwd)
release=$target_dir/release
uid=${SBX_UNPRIV_UID:-65534}
gid=${SBX_UNPRIV_GID:-65534}

setup_only=0
case ${1:-} in
    --setup-only) setup_only=1 ;;
    "") ;;
    *) echo "usage: $0 [--setup-only]" >&2; exit 2 ;;
esac

# --- 1. libsbx and the build-tree pkg-config files -------------------------------------------
echo "=== build: $cargo build --release --lib ==="
"$cargo" build --release --lib --manifest-path "$repo/Cargo.toml"
for f in libsbx.so libsbx.a; do
    [[ -f $release/$f ]] || { echo "test-go: $release/$f is missing after the build" >&2; exit 1; }
done

version=$(awk -F'"' '/^\[/{pkg=($0=="[package]")} pkg && /^version *=/{print $2; exit}' "$repo/Cargo.toml")
major=${version%%.*}
soname=$(readelf -d "$release/libsbx.so" 2>/dev/null | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
soname=${soname:-libsbx.so.$major}

gosbx=$target_dir/go-sbx
mkdir -p "$gosbx/lib" "$gosbx/pkgconfig"

# The system libraries a static link of libsbx.a needs, as rustc reports them. Asking rustc
# recompiles the crate, so the answer is cached per toolchain and manifest. The fallback is what
# rustc reports on x86_64 glibc.
libs_private="-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"
key=$( { rustc -vV 2>/dev/null || true; cat "$repo/Cargo.toml" "$repo/Cargo.lock" 2>/dev/null; } | cksum | cut -d' ' -f1)
cache=$gosbx/native-static-libs.$key
if [[ -s $cache ]]; then
    libs_private=$(cat "$cache")
else
    reported=$("$cargo" rustc --release --lib --crate-type staticlib --manifest-path "$repo/Cargo.toml" \
        -- --print native-static-libs 2>&1 | sed -n 's/.*native-static-libs: //p' | tail -n 1 || true)
    if [[ -n $reported ]]; then
        libs_private=$reported
        rm -f "$gosbx"/native-static-libs.*
        printf '%s\n' "$libs_private" >"$cache"
        # cargo rustc rewrote the artifacts with other flags; build them back the usual way.
        "$cargo" build --release --lib --manifest-path "$repo/Cargo.toml"
    fi
fi

# target/release holds libsbx.so but not the soname link the loader looks for, so the build
# tree gets its own lib directory of symlinks into target/release.
ln -sfn "$release/libsbx.so" "$gosbx/lib/$soname"
ln -sfn "$soname" "$gosbx/lib/libsbx.so"
cat >"$gosbx/pkgconfig/sbx.pc" <<EOF
# libsbx from the build tree $repo (written by scripts/test-go.sh; not for installing).
libdir=$gosbx/lib
includedir=$repo/include

Name: sbx
Description: libsbx (build tree)
Version: $version
Libs: -L\${libdir} -lsbx -Wl,-rpath,\${libdir}
Libs.private: $libs_private
Cflags: -I\${includedir}
EOF
cat >"$gosbx/pkgconfig/sbx-static.pc" <<EOF
# libsbx.a from the build tree $repo (written by scripts/test-go.sh; not for installing).
includedir=$repo/include

Name: sbx-static
Description: libsbx as a static library (build tree)
Version: $version
Libs: $release/libsbx.a $libs_private
Cflags: -I\${includedir}
EOF
export PKG_CONFIG_PATH=$gosbx/pkgconfig
echo "test-go: build-tree pkg-config files in $gosbx/pkgconfig (libsbx $version)"
if ((setup_only)); then
    echo "export PKG_CONFIG_PATH=$gosbx/pkgconfig"
    exit 0
fi

# --- The Go checks ---------------------------------------------------------------------------
passed=0
failed=0
declare -a failures=()
# check DESCRIPTION COMMAND...: runs the command (its output goes through), records the outcome,
# never stops the script.
check() {
    local what=$1
    shift
    echo
    echo "=== $what: $* ==="
    if "$@"; then
        passed=$((passed + 1))
        echo "test-go: ok   $what"
    else
        failed=$((failed + 1))
        failures+=("$what")
        echo "test-go: FAIL $what"
    fi
}

scratch=$(mktemp -d "${TMPDIR:-/tmp}/sbx-test-go.XXXXXX")
cleanup() {
    if [[ ${SBX_TEST_KEEP:-0} == 1 ]]; then
        echo "test-go: kept $scratch"
    else
        rm -rf "$scratch"
    fi
}
trap cleanup EXIT

cd "$repo/go"
"$gobin" version

gofmt_clean() {
    local out
    out=$(gofmt -l .)
    [[ -z $out ]] || { echo "gofmt -l lists:"; echo "$out"; return 1; }
}
check "gofmt" gofmt_clean
check "go vet" "$gobin" vet ./...
check "go vet (sbxgcstress)" "$gobin" vet -tags sbxgcstress ./...
check "go vet (sbxstatic)" "$gobin" vet -tags sbxstatic ./...
check "go test -race" "$gobin" test -race -count=1 ./...
check "go test -race (SBX_TEST_MONITOR=ptrace)" env SBX_TEST_MONITOR=ptrace "$gobin" test -race -count=1 ./...
check "go test -race -tags sbxgcstress" "$gobin" test -race -tags sbxgcstress -count=1 ./...

# --- Example output checks --------------------------------------------------------------------
# check_example_<name> BIN runs an example and checks its output beyond its exit status.

# crc4: a Go sandboxee that sandboxes itself (SandboxMeHere) answers CRC-32 requests over
# comms; a deliberate memory bug crashes it and only it. CRC-32("123456789") is cbf43926.
check_example_crc4() {
    local bin=$1 out rc=0
    out=$("$bin") || rc=$?
    printf '%s\n' "$out"
    ((rc == 0)) || return 1
    local want
    for want in 'crc4: CRC-32(mapped input "123456789") = cbf43926 (correct)' \
        'crc4: CRC-32("123456789") = cbf43926 (correct)' \
        'crc4: CRC-32("The quick brown fox jumps over the lazy dog") = 414fa339 (correct)' \
        'crc4: the sandboxee crashed; the host is still running' \
        'crc4: as expected'; do
        grep -qxF "$want" <<<"$out" || { echo "check_example_crc4: no line: $want"; return 1; }
    done
    # The Go runtime makes the fault a fatal error (exit status 2), or SIGABRT under
    # GOTRACEBACK=crash; never a policy violation, and never a hang.
    grep -Eqx 'crc4: result: (OK - exit code 2|.*SIG(SEGV|ABRT).*)' <<<"$out" ||
        { echo "check_example_crc4: the crash was not the sandboxee's own"; return 1; }
    grep -q 'crc4: sandboxee stderr: unexpected fault address' <<<"$out" ||
        { echo "check_example_crc4: no fault report from the sandboxee"; return 1; }
    out=$("$bin" -no-crash) || rc=$?
    printf '%s\n' "$out"
    ((rc == 0)) && grep -qxF 'crc4: result: OK - exit code 0' <<<"$out"
}

# --- Unprivileged pass -----------------------------------------------------------------------
# The suite compiled once (as the invoking user, with its module and build caches), then run as
# uid/gid 65534 without capabilities, the way most users run libsbx. Nothing at run time needs
# HOME or GOCACHE; the binary finds libsbx.so through its rpath into the build tree.
unprivileged() {
    local dir=$scratch/unpriv rc=0
    mkdir -p "$dir/tmp"
    "$gobin" test -c -race -o "$dir/sbx.test" . || return 1
    "$gobin" build -o "$dir/crc4" ./examples/crc4 || return 1
    chmod 0755 "$scratch" "$dir" "$dir/sbx.test" "$dir/crc4"
    chmod 1777 "$dir/tmp"
    # The unprivileged user must reach libsbx.so: make the path to it traversable and readable.
    local d=$gosbx/lib
    while [[ $d != / ]]; do chmod o+x "$d" 2>/dev/null || true; d=$(dirname "$d"); done
    d=$release
    while [[ $d != / ]]; do chmod o+x "$d" 2>/dev/null || true; d=$(dirname "$d"); done
    chmod o+r "$release/libsbx.so" 2>/dev/null || true
    (cd "$dir/tmp" && env -i PATH=/usr/local/bin:/usr/bin:/bin TMPDIR="$dir/tmp" \
        setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=-all \
        "$dir/sbx.test" -test.count=1 -test.timeout=10m) || rc=$?
    if ((rc == 0)); then
        echo "ok  	sbx (compiled test binary, uid $uid)"
    else
        echo "FAIL	sbx (compiled test binary, uid $uid, exit $rc)"
    fi
    # The Go sandboxee of the crc4 example, sandboxing itself without privileges.
    echo "--- crc4 (uid $uid) ---"
    (cd "$dir/tmp" && env -i PATH=/usr/local/bin:/usr/bin:/bin TMPDIR="$dir/tmp" \
        setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=-all \
        bash -c "$(declare -f check_example_crc4)"'; check_example_crc4 "$1"' bash "$dir/crc4") || rc=1
    return $rc
}
if [[ $(id -u) == 0 ]]; then
    if command -v setpriv >/dev/null 2>&1; then
        check "go test -race as uid $uid (setpriv)" unprivileged
    else
        echo "test-go: setpriv not found (util-linux); skipping the unprivileged pass"
    fi
else
    echo "test-go: not root; skipping the unprivileged pass (the run above already was unprivileged)"
fi

# --- Examples --------------------------------------------------------------------------------
# run_examples LABEL [GO BUILD FLAGS...]: builds each go/examples/* program and runs it.
run_examples() {
    local label=$1 ex name bin
    shift
    for ex in examples/*/; do
        name=$(basename "$ex")
        bin=$scratch/examples-$label/$name
        "$gobin" build "$@" -o "$bin" "./$ex" || return 1
        echo "--- $name ($label) ---"
        if declare -F "check_example_$name" >/dev/null; then
            "check_example_$name" "$bin" || return 1
        else
            "$bin" || return 1
        fi
    done
}
not_linked_to_libsbx_so() { # the static build must not need libsbx.so at run time
    local bin=$1
    if ldd "$bin" | grep -q 'libsbx\.so'; then
        echo "$bin still needs libsbx.so:"
        ldd "$bin"
        return 1
    fi
}
check "examples (build tree, dynamic)" run_examples tree-dynamic
check "examples (build tree, static: -tags sbxstatic)" run_examples tree-static -tags sbxstatic
static_examples_not_linked() {
    local bin
    for bin in "$scratch"/examples-tree-static/*; do
        not_linked_to_libsbx_so "$bin" || return 1
    done
}
check "static examples have no libsbx.so dependency" static_examples_not_linked

# --- Against an installed libsbx -------------------------------------------------------------
installed() {
    local prefix=$scratch/prefix
    bash "$repo/scripts/install.sh" --prefix "$prefix" --no-build >/dev/null || return 1
    PKG_CONFIG_PATH=$prefix/lib/pkgconfig LD_LIBRARY_PATH=$prefix/lib run_examples installed-dynamic &&
        PKG_CONFIG_PATH=$prefix/lib/pkgconfig run_examples installed-static -tags sbxstatic
}
if [[ -f $repo/scripts/install.sh ]]; then
    check "examples against an installed libsbx (scripts/install.sh)" installed
else
    echo "test-go: scripts/install.sh not present; skipping the installed-package check"
fi

echo
echo "=== test-go summary: $passed passed, $failed failed ==="
for f in "${failures[@]}"; do
    echo "  FAIL $f"
done
((failed == 0))
