#!/bin/sh
# Runs the sandbox integration test binaries as an unprivileged user (default uid/gid 65534),
# with no capabilities, as most users of libsbx run. Must be started as root (setpriv needs it).
#
#   tests/run-unprivileged.sh [TEST-BINARY-NAME...] [-- TEST-HARNESS-ARGS...]
#
# Builds the test binaries first (`cargo test --no-run`, as the invoking user), then runs each
# one under `setpriv --reuid --regid --clear-groups --inh-caps=-all` with TMPDIR set to a fresh
# world-writable directory. Exits non-zero if any binary fails. With no names it runs every
# integration test binary of tests/*.rs.
#
# The unprivileged user must be able to read the sources (tests/testcases/*.c are compiled at run
# time) and to traverse into target/: this script makes the checkout and target/ world-readable
# (chmod o+rX), which is harmless on a CI runner but worth knowing on a workstation.
#
# Environment: SBX_UNPRIV_UID / SBX_UNPRIV_GID (default 65534), CARGO (default cargo),
# CARGO_TEST_FLAGS (extra flags for cargo test, e.g. --release).
set -eu

uid=${SBX_UNPRIV_UID:-65534}
gid=${SBX_UNPRIV_GID:-65534}
cargo=${CARGO:-cargo}
root=$(cd "$(dirname "$0")/.." && pwd)

if [ "$(id -u)" != 0 ]; then
    echo "run-unprivileged.sh: must run as root (it drops to uid $uid with setpriv)" >&2
    exit 2
fi
command -v setpriv >/dev/null || { echo "run-unprivileged.sh: setpriv not found (util-linux)" >&2; exit 2; }

names=""
while [ $# -gt 0 ]; do
    case "$1" in
        --) shift; break ;;
        *) names="$names $1"; shift ;;
    esac
done
if [ -z "$names" ]; then
    for f in "$root"/tests/*.rs; do
        names="$names $(basename "$f" .rs)"
    done
fi

cd "$root"
# Build and list the test executables. The JSON lines of compiler-artifact messages name them.
# shellcheck disable=SC2086
json=$("$cargo" test --tests --no-run --message-format=json ${CARGO_TEST_FLAGS:-} 2>/dev/null) || {
    echo "run-unprivileged.sh: cargo test --no-run failed:" >&2
    # shellcheck disable=SC2086
    "$cargo" test --tests --no-run ${CARGO_TEST_FLAGS:-} >&2 || true
    exit 1
}

bin_for() {
    printf '%s\n' "$json" | grep '"reason":"compiler-artifact"' | grep "\"name\":\"$1\"" \
        | grep '"test":true' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1
}

# Readable sources and executables for the unprivileged user, all the way down from /.
chmod -R o+rX "$root/tests" "$root/target" 2>/dev/null || true
d=$root
while [ "$d" != "/" ]; do
    chmod o+x "$d" 2>/dev/null || true
    d=$(dirname "$d")
done

tmp=$(mktemp -d /tmp/sbx-unpriv.XXXXXX)
chmod 1777 "$tmp"
trap 'rm -rf "$tmp"' EXIT

failed=""
for name in $names; do
    exe=$(bin_for "$name")
    if [ -z "$exe" ] || [ ! -x "$exe" ]; then
        echo "run-unprivileged.sh: no test executable for '$name'" >&2
        failed="$failed $name"
        continue
    fi
    echo "=== $name as uid $uid ($exe)"
    # The harness runs in the crate root (as cargo does) so the host cwd is readable.
    if ! env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$tmp" TMPDIR="$tmp" \
            ${RUST_BACKTRACE:+RUST_BACKTRACE=$RUST_BACKTRACE} \
            ${SBX_TEST_MONITOR:+SBX_TEST_MONITOR=$SBX_TEST_MONITOR} \
            setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=-all \
            "$exe" "$@"; then
        failed="$failed $name"
    fi
done

if [ -n "$failed" ]; then
    echo "run-unprivileged.sh: FAILED as uid $uid:$failed" >&2
    exit 1
fi
echo "run-unprivileged.sh: all passed as uid $uid"
